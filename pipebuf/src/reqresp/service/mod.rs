//! Handler-driven servers: give the codec and a [`Handler`], get a component that decodes,
//! calls the handler, enforces deadlines and writes the answers.
//!
//! [`PipelinedServer`](super::PipelinedServer) and [`MuxServer`](super::MuxServer) leave the
//! loop decode → handle → `finish` to the caller. The services here run that loop:
//! [`PipelinedService`] answers in request order, [`MuxService`] as answers are ready; both
//! are a [`Service`] over the server they drive. The handler answers a request at once
//! ([`Reply::Now`]) or later ([`Reply::Later`], handing the answer out from
//! [`Handler::poll`]); work in flight is bounded by the server's `max_in_flight` (beyond it
//! the connection is not read), and a request still unanswered at its deadline gets the
//! handler's [`Handler::timed_out`] answer instead, on the caller's clock ([`Time`]). An
//! answer handed out after that is dropped.

mod deadlines;
mod driven;
mod served;

pub use driven::{MuxService, PipelinedService, Service};
pub use served::{Served, ServedError};

use super::{Decoder, Encoder};
use crate::Time;

/// What a [`Handler`] does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<R> {
    /// This is the answer.
    Now(R),
    /// The answer comes later, from [`Handler::poll`].
    Later,
}

/// Serves the requests of one connection for a [`PipelinedService`] or a [`MuxService`].
///
/// Requests are named by an id: the sequence number for a pipelined service (0, 1, 2, … in
/// arrival order), the tag for a multiplexed one.
pub trait Handler<D: Decoder, E: Encoder> {
    /// Answers the request `id`, now or later. `request` borrows the connection's buffer.
    fn call(&mut self, id: u64, request: D::Item<'_>, now: Time) -> Reply<E::Item>;

    /// Hands out one answer promised with [`Reply::Later`] that is ready at `now`; the
    /// service calls it until it returns `None` on every pass. The default has none.
    fn poll(&mut self, now: Time) -> Option<(u64, E::Item)> {
        let _ = now;
        None
    }

    /// When [`poll`](Handler::poll) will next have an answer without any other event (a
    /// timer of the handler's own); `None` if only outside events make answers ready.
    fn next_ready(&self) -> Option<Time> {
        None
    }

    /// The answer for request `id`, whose deadline has passed without an answer (a timeout
    /// error in the protocol's terms). A later answer for `id` from `poll` is dropped.
    fn timed_out(&mut self, id: u64) -> E::Item;
}
