//! A multiplexed server driven by a handler.

use alloc::vec::Vec;
use core::time::Duration;

use super::deadlines::Promises;
use super::{Handler, Reply, Serving};
use crate::reqresp::{Decoder, Encoder, Error, MuxServer, MuxServerEvent, Tagging};
use crate::{PBufRdWr, Time};

/// A [`MuxServer`] that calls a [`Handler`] for every request and writes each answer, tagged,
/// as soon as the handler gives it: answers leave in the order they are ready, not in
/// request order.
///
/// The handler's ids are the requests' tags. A tag is free for the peer to reuse once its
/// answer is written, so an answer handed out after its request timed out is dropped rather
/// than sent under a tag that may already name another request.
///
/// **Driver obligations.** As for [`PipelinedService`](super::PipelinedService): call
/// [`process`](MuxService::process) after every change to the connection buffers, whenever
/// [`next_deadline`](MuxService::next_deadline) has passed and whenever the handler may have
/// an answer, until it reports no activity.
#[derive(Debug)]
pub struct MuxService<E: Encoder, D, T, H> {
    server: MuxServer<E, D, T>,
    handler: H,
    promises: Promises,
    answers: Vec<(u64, E::Item)>,
    state: Serving,
}

impl<E: Encoder, D: Decoder, T: Tagging<E, D>, H: Handler<D, E>> MuxService<E, D, T, H> {
    /// Serves the requests `server` decodes with `handler`, without deadlines.
    pub fn new(server: MuxServer<E, D, T>, handler: H) -> Self {
        MuxService {
            server,
            handler,
            promises: Promises::new(None),
            answers: Vec::new(),
            state: Serving::Open,
        }
    }

    /// Gives each request `timeout` from its arrival to be answered; after that it gets the
    /// handler's [`timed_out`](Handler::timed_out) answer.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.promises.set_timeout(Some(timeout));
        self
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The handler, to hand it what it needs for its later answers.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// The server underneath (for its counters).
    pub fn server(&self) -> &MuxServer<E, D, T> {
        &self.server
    }

    /// Answers promised by the handler and not given yet.
    pub fn promised(&self) -> usize {
        self.promises.len()
    }

    /// Ends the service gracefully: requests already received are answered, then the
    /// outgoing side is closed.
    pub fn close(&mut self) {
        if self.state == Serving::Open {
            self.state = Serving::Closing;
        }
    }

    /// Whether nothing more will be sent.
    pub fn is_finished(&self) -> bool {
        self.state == Serving::Done
    }

    /// When `process` must run again without other events: the handler's next ready answer
    /// or the earliest deadline of a promised answer.
    pub fn next_deadline(&self) -> Option<Time> {
        match (self.handler.next_ready(), self.promises.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Decodes requests and calls the handler, collects answers given later and those timed
    /// out at `now`, and writes them. Returns whether anything happened. An error is the
    /// server's ([`MuxServer::process`]): the connection is aborted and the service
    /// finished.
    pub fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        now: Time,
    ) -> Result<bool, Error<D::Error, E::Error>> {
        if self.state == Serving::Done {
            return Ok(net.rd.discard());
        }
        let mut active = self.pass(net.reborrow(), now)?;
        if self.collect(now) {
            self.pass(net.reborrow(), now)?;
            self.collect(now);
            active = true;
        }
        if self.server.is_finished() {
            self.promises.clear();
            self.state = Serving::Done;
            active = true;
        } else if self.state == Serving::Closing
            && self.promises.len() == 0
            && self.server.in_flight() == 0
        {
            net.wr.close();
            self.state = Serving::Done;
            active = true;
        }
        Ok(active)
    }

    fn pass(&mut self, net: PBufRdWr<'_>, now: Time) -> Result<bool, Error<D::Error, E::Error>> {
        let MuxService {
            server,
            handler,
            promises,
            answers,
            state,
        } = self;
        let result = server.process(net, |event| {
            if let MuxServerEvent::Request { tag, request } = event {
                let id = u64::from(tag);
                match handler.call(id, request, now) {
                    Reply::Now(answer) => answers.push((id, answer)),
                    Reply::Later => promises.promise(id, now),
                }
            }
        });
        if result.is_err() {
            promises.clear();
            answers.clear();
            *state = Serving::Done;
        }
        result
    }

    fn collect(&mut self, now: Time) -> bool {
        let mut any = !self.answers.is_empty();
        for (id, answer) in self.answers.drain(..) {
            finish(&mut self.server, id, answer);
        }
        while let Some((id, answer)) = self.handler.poll(now) {
            if self.promises.keep(id) {
                finish(&mut self.server, id, answer);
                any = true;
            }
        }
        while let Some(id) = self.promises.expired(now) {
            let answer = self.handler.timed_out(id);
            finish(&mut self.server, id, answer);
            any = true;
        }
        any
    }
}

/// Hands `answer` to the server for tag `id`. Ids come from the server's own events, so the
/// only refusal is that nothing more will be sent: the answer has nowhere to go then.
fn finish<E: Encoder, D: Decoder, T: Tagging<E, D>>(
    server: &mut MuxServer<E, D, T>,
    id: u64,
    answer: E::Item,
) {
    if let Ok(tag) = u32::try_from(id) {
        let _ = server.finish(tag, answer);
    }
}
