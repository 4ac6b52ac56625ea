//! Handler-driven request/response servers as driver chains.
//!
//! A [`Service`] (`PipelinedService` or `MuxService` from `pipebuf::reqresp::service`) is a
//! whole connection chain: the driver's clock is its `now`, its next deadline wakes the
//! connection, and a graceful [`Driver::close`](crate::Driver::close) lets it answer what it
//! has received before closing. A chain factory that returns one per connection is a
//! complete server:
//!
//! ```no_run
//! # use pipebuf::reqresp::{Decoder, Encoder, PipelinedServer};
//! # use pipebuf::reqresp::service::{Handler, PipelinedService};
//! # fn example<C, H>(
//! #     codec: impl Fn() -> C + Send + Sync + 'static,
//! #     handler: impl Fn() -> H + Send + Sync + 'static,
//! # ) -> std::io::Result<()>
//! # where
//! #     C: Decoder<Error = pipebuf::Error> + Encoder<Error = pipebuf::Error> + Send + 'static,
//! #     <C as Encoder>::Item: Send,
//! #     H: Handler<C, C> + Send + 'static,
//! # {
//! let _running = pipebuf_mio::Server::bind("127.0.0.1:0".parse().unwrap())
//!     .serve(move |_| {
//!         let server = PipelinedServer::new(codec(), codec(), 1024, 1024);
//!         Some(PipelinedService::new(server, handler()))
//!     })?;
//! # Ok(()) }
//! ```

use pipebuf::reqresp::service::{Handler, Served, ServedError, Service};
use pipebuf::reqresp::{Decoder, Encoder};
use pipebuf::{PBufRdWr, Time};

use crate::{Chain, Context};

impl<S, H> Chain for Service<S, H>
where
    S: Served,
    H: Handler<S::Decoder, S::Encoder>,
    <S::Decoder as Decoder>::Error: std::error::Error + Send + Sync + 'static,
    <S::Encoder as Encoder>::Error: std::error::Error + Send + Sync + 'static,
{
    type Msg = ();
    type Error = ServedError<S>;

    fn process(
        &mut self,
        net: PBufRdWr<'_>,
        cx: &mut Context<'_, ()>,
    ) -> Result<bool, Self::Error> {
        Service::process(self, net, cx.now())
    }

    fn close(&mut self, _: PBufRdWr<'_>) {
        Service::close(self);
    }

    fn next_deadline(&self) -> Option<Time> {
        Service::next_deadline(self)
    }
}
