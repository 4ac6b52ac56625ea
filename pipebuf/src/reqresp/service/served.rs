//! What a [`Service`](super::Service) needs of the server it drives.

use super::super::{
    Decoder, Encoder, Error, MuxServer, MuxServerEvent, PipelinedServer, ServerEvent, Tagging,
};
use crate::PBufRdWr;

mod sealed {
    pub trait Sealed {}
}

/// A request/response server a [`Service`](super::Service) can drive:
/// [`PipelinedServer`] (ids are sequence numbers) and [`MuxServer`] (ids are tags).
/// Sealed: the services rely on how these two report requests and take answers.
pub trait Served: sealed::Sealed {
    /// The server's request decoder.
    type Decoder: Decoder;
    /// The server's answer encoder.
    type Encoder: Encoder;

    /// One pass of the server, reporting each request decoded to `on_request`.
    #[doc(hidden)]
    fn pass(
        &mut self,
        net: PBufRdWr<'_>,
        on_request: impl FnMut(u64, <Self::Decoder as Decoder>::Item<'_>),
    ) -> Result<bool, ServedError<Self>>;

    /// Hands the server the answer to request `id`. The ids come from the server's own
    /// reports, so the only refusal is that nothing more will be sent; the answer has
    /// nowhere to go then and is dropped.
    #[doc(hidden)]
    fn give(&mut self, id: u64, answer: <Self::Encoder as Encoder>::Item);

    /// Whether nothing more will be sent.
    #[doc(hidden)]
    fn ended(&self) -> bool;

    /// Whether every request reported has its whole answer written.
    #[doc(hidden)]
    fn idle(&self) -> bool;
}

/// The error of a served server's `process`.
pub type ServedError<S> =
    Error<<<S as Served>::Decoder as Decoder>::Error, <<S as Served>::Encoder as Encoder>::Error>;

impl<E: Encoder, D: Decoder> sealed::Sealed for PipelinedServer<E, D> {}

impl<E: Encoder, D: Decoder> Served for PipelinedServer<E, D> {
    type Decoder = D;
    type Encoder = E;

    fn pass(
        &mut self,
        net: PBufRdWr<'_>,
        mut on_request: impl FnMut(u64, D::Item<'_>),
    ) -> Result<bool, Error<D::Error, E::Error>> {
        self.process(net, |event| {
            if let ServerEvent::Request { seq, request, .. } = event {
                on_request(seq, request);
            }
        })
    }

    fn give(&mut self, id: u64, answer: E::Item) {
        let _ = self.finish(id, answer);
    }

    fn ended(&self) -> bool {
        self.is_finished()
    }

    fn idle(&self) -> bool {
        self.is_idle()
    }
}

impl<E: Encoder, D: Decoder, T: Tagging<E, D>> sealed::Sealed for MuxServer<E, D, T> {}

impl<E: Encoder, D: Decoder, T: Tagging<E, D>> Served for MuxServer<E, D, T> {
    type Decoder = D;
    type Encoder = E;

    fn pass(
        &mut self,
        net: PBufRdWr<'_>,
        mut on_request: impl FnMut(u64, D::Item<'_>),
    ) -> Result<bool, Error<D::Error, E::Error>> {
        self.process(net, |event| {
            if let MuxServerEvent::Request { tag, request } = event {
                on_request(u64::from(tag), request);
            }
        })
    }

    fn give(&mut self, id: u64, answer: E::Item) {
        if let Ok(tag) = u32::try_from(id) {
            let _ = self.finish(tag, answer);
        }
    }

    fn ended(&self) -> bool {
        self.is_finished()
    }

    fn idle(&self) -> bool {
        self.in_flight() == 0
    }
}
