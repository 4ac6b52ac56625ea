//! The driven server: a server, a handler, and the answers promised between them.

use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use super::deadlines::Promises;
use super::served::{Served, ServedError};
use super::{Handler, Reply};
use crate::reqresp::{Encoder, MuxServer, PipelinedServer};
use crate::{PBufRd, PBufRdWr, PBufWr, Time};

/// A server that calls a [`Handler`] for every request it decodes and writes the handler's
/// answers: in request order for a [`PipelinedService`], as they are ready for a
/// [`MuxService`].
///
/// The handler's ids are the server's sequence numbers (pipelined) or the requests' tags
/// (multiplexed). A tag is free for the peer to reuse once its answer is written, and a
/// sequence number's answer can only be written once, so an answer handed out after its
/// request timed out is dropped.
///
/// **Driver obligations.** Call [`process`](Service::process) after every change to the
/// connection buffers, whenever [`next_deadline`](Service::next_deadline) has passed, and
/// after the handler may have an answer for other reasons (an outside event), until it
/// reports no activity.
///
/// ```
/// use pipebuf::framing::{FrameError, Lines};
/// use pipebuf::reqresp::service::{Handler, PipelinedService, Reply};
/// use pipebuf::reqresp::{Body, Decoder, Encoded, Encoder, Head, PipelinedServer};
/// use pipebuf::{PBufWr, PipeBufPair, Time};
///
/// struct LineCodec(Lines);
///
/// impl Decoder for LineCodec {
///     type Item<'d> = &'d [u8];
///     type Error = FrameError;
///     fn decode<'d>(&mut self, data: &'d [u8]) -> Result<Option<Head<&'d [u8]>>, FrameError> {
///         let rec = self.0.decode(data)?;
///         Ok(rec.map(|r| Head { message: r.body, len: r.frame_len, body: Body::None }))
///     }
/// }
///
/// impl Encoder for LineCodec {
///     type Item = Vec<u8>;
///     type Error = FrameError;
///     fn encode(&mut self, line: &Vec<u8>, wr: &mut PBufWr<'_>) -> Result<Encoded, FrameError> {
///         match self.0.encode(wr, line) {
///             Ok(()) => Ok(Encoded::Written(Body::None)),
///             Err(FrameError::Buffer(_)) => Ok(Encoded::Full),
///             Err(e) => Err(e),
///         }
///     }
/// }
///
/// /// Shouts every line back.
/// struct Shout;
///
/// impl Handler<LineCodec, LineCodec> for Shout {
///     fn call(&mut self, _id: u64, line: &[u8], _now: Time) -> Reply<Vec<u8>> {
///         Reply::Now(line.to_ascii_uppercase())
///     }
///     fn timed_out(&mut self, _id: u64) -> Vec<u8> {
///         b"timeout".to_vec()
///     }
/// }
///
/// let codec = || LineCodec(Lines::new(b'\n', 64));
/// let mut service = PipelinedService::new(PipelinedServer::new(codec(), codec(), 16, 16), Shout);
/// let mut wire = PipeBufPair::<u8>::new();
/// wire.upper().wr.append(b"one\ntwo\n").unwrap();
/// while service.process(wire.lower(), Time::ZERO).unwrap() {}
/// assert_eq!(wire.upper().rd.data(), b"ONE\nTWO\n");
/// ```
pub struct Service<S: Served, H> {
    server: S,
    handler: H,
    promises: Promises,
    /// Answers given during the server's pass, handed to it right after.
    answers: Vec<(u64, <S::Encoder as Encoder>::Item)>,
    state: Serving,
}

impl<S: Served + fmt::Debug, H: fmt::Debug> fmt::Debug for Service<S, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("server", &self.server)
            .field("handler", &self.handler)
            .field("promised", &self.promises.len())
            .field("answers", &self.answers.len())
            .field("state", &self.state)
            .finish()
    }
}

/// A [`PipelinedServer`] driven by a [`Handler`]: answers leave in request order.
pub type PipelinedService<E, D, H> = Service<PipelinedServer<E, D>, H>;

/// A [`MuxServer`] driven by a [`Handler`]: each answer leaves, tagged, as soon as it is
/// ready.
pub type MuxService<E, D, T, H> = Service<MuxServer<E, D, T>, H>;

/// Where a service stands with its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Serving {
    /// Reading requests and answering them.
    Open,
    /// Asked to end: answers what it has received, then closes its outgoing side.
    Closing,
    /// Nothing more goes out.
    Done,
}

impl<S: Served, H: Handler<S::Decoder, S::Encoder>> Service<S, H> {
    /// Serves the requests `server` decodes with `handler`, without deadlines.
    pub fn new(server: S, handler: H) -> Self {
        Service {
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
    pub fn server(&self) -> &S {
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
    /// out at `now`, and writes the answers. Returns whether anything happened. An error is
    /// the server's: the connection is aborted and the service finished.
    pub fn process(&mut self, mut net: PBufRdWr<'_>, now: Time) -> Result<bool, ServedError<S>> {
        if self.state == Serving::Done {
            return Ok(net.rd.discard());
        }
        let mut active = self.pass(net.reborrow(), now)?;
        if self.collect(now) {
            // Write what was just answered in the same call.
            self.pass(net.reborrow(), now)?;
            self.collect(now);
            active = true;
        }
        if self.server.ended() {
            self.promises.clear();
            self.state = Serving::Done;
            active = true;
        } else if self.state == Serving::Closing && self.promises.len() == 0 && self.server.idle() {
            net.wr.close();
            self.state = Serving::Done;
            active = true;
        }
        Ok(active)
    }

    /// One pass of the server, calling the handler for each request decoded.
    fn pass(&mut self, net: PBufRdWr<'_>, now: Time) -> Result<bool, ServedError<S>> {
        let Service {
            server,
            handler,
            promises,
            answers,
            state,
        } = self;
        let result = server.pass(net, |id, request| match handler.call(id, request, now) {
            Reply::Now(answer) => answers.push((id, answer)),
            Reply::Later => promises.promise(id, now),
        });
        if result.is_err() {
            promises.clear();
            answers.clear();
            *state = Serving::Done;
        }
        result
    }

    /// Hands the server every answer available at `now`: given during the pass, ready from
    /// the handler, or timed out. Returns whether there was any.
    fn collect(&mut self, now: Time) -> bool {
        let mut any = !self.answers.is_empty();
        for (id, answer) in self.answers.drain(..) {
            self.server.give(id, answer);
        }
        while let Some((id, answer)) = self.handler.poll(now) {
            // An answer for a request that timed out (or was never promised) is dropped.
            if self.promises.keep(id) {
                self.server.give(id, answer);
                any = true;
            }
        }
        while let Some(id) = self.promises.expired(now) {
            let answer = self.handler.timed_out(id);
            self.server.give(id, answer);
            any = true;
        }
        any
    }
}

impl<E: Encoder, D: crate::reqresp::Decoder, H: Handler<D, E>> PipelinedService<E, D, H> {
    /// See [`PipelinedServer::request_body`].
    pub fn request_body(&mut self) -> Option<(u64, PBufRd<'_>)> {
        self.server.request_body()
    }

    /// See [`PipelinedServer::response_body`].
    pub fn response_body(&mut self) -> Option<(u64, PBufWr<'_>)> {
        self.server.response_body()
    }
}
