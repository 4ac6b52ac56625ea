//! Handler-driven request/response servers as driver chains.
//!
//! [`PipelinedService`] and [`MuxService`] (from `pipebuf::reqresp::service`) are whole
//! connection chains: the driver's clock is their `now`, their next deadline wakes the
//! connection, and a graceful [`Driver::close`](crate::Driver::close) lets them answer what
//! they have received before closing. A chain factory that returns one per connection is a
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

use pipebuf::reqresp::service::{Handler, MuxService, PipelinedService};
use pipebuf::reqresp::{Decoder, Encoder, Error, Tagging};
use pipebuf::{PBufRdWr, Time};

use crate::{Chain, Context};

impl<E, D, H> Chain for PipelinedService<E, D, H>
where
    E: Encoder,
    D: Decoder,
    H: Handler<D, E>,
    D::Error: std::error::Error + Send + Sync + 'static,
    E::Error: std::error::Error + Send + Sync + 'static,
{
    type Msg = ();
    type Error = Error<D::Error, E::Error>;

    fn process(
        &mut self,
        net: PBufRdWr<'_>,
        cx: &mut Context<'_, ()>,
    ) -> Result<bool, Self::Error> {
        PipelinedService::process(self, net, cx.now())
    }

    fn close(&mut self, _: PBufRdWr<'_>) {
        PipelinedService::close(self);
    }

    fn next_deadline(&self) -> Option<Time> {
        PipelinedService::next_deadline(self)
    }
}

impl<E, D, T, H> Chain for MuxService<E, D, T, H>
where
    E: Encoder,
    D: Decoder,
    T: Tagging<E, D>,
    H: Handler<D, E>,
    D::Error: std::error::Error + Send + Sync + 'static,
    E::Error: std::error::Error + Send + Sync + 'static,
{
    type Msg = ();
    type Error = Error<D::Error, E::Error>;

    fn process(
        &mut self,
        net: PBufRdWr<'_>,
        cx: &mut Context<'_, ()>,
    ) -> Result<bool, Self::Error> {
        MuxService::process(self, net, cx.now())
    }

    fn close(&mut self, _: PBufRdWr<'_>) {
        MuxService::close(self);
    }

    fn next_deadline(&self) -> Option<Time> {
        MuxService::next_deadline(self)
    }
}
