//! A pipelined server driven by a handler.

use alloc::vec::Vec;
use core::time::Duration;

use super::deadlines::Promises;
use super::{Handler, Reply, Serving};
use crate::reqresp::{Decoder, Encoder, Error, PipelinedServer, ServerEvent};
use crate::{PBufRd, PBufRdWr, PBufWr, Time};

/// A [`PipelinedServer`] that calls a [`Handler`] for every request and writes the answers
/// in request order, whenever the handler gives them.
///
/// The handler's ids are the server's sequence numbers. Request and response bodies, when
/// the codec announces them, are read and written through
/// [`request_body`](PipelinedService::request_body) and
/// [`response_body`](PipelinedService::response_body) as with the bare server.
///
/// **Driver obligations.** Call [`process`](PipelinedService::process) after every change to
/// the connection buffers, whenever [`next_deadline`](PipelinedService::next_deadline) has
/// passed, and after the handler may have an answer for other reasons (an outside event),
/// until it reports no activity.
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
#[derive(Debug)]
pub struct PipelinedService<E: Encoder, D, H> {
    server: PipelinedServer<E, D>,
    handler: H,
    promises: Promises,
    /// Answers given during the server's pass, handed to it right after.
    answers: Vec<(u64, E::Item)>,
    state: Serving,
}

impl<E: Encoder, D: Decoder, H: Handler<D, E>> PipelinedService<E, D, H> {
    /// Serves the requests `server` decodes with `handler`, without deadlines.
    pub fn new(server: PipelinedServer<E, D>, handler: H) -> Self {
        PipelinedService {
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
    pub fn server(&self) -> &PipelinedServer<E, D> {
        &self.server
    }

    /// Answers promised by the handler and not given yet.
    pub fn promised(&self) -> usize {
        self.promises.len()
    }

    /// See [`PipelinedServer::request_body`].
    pub fn request_body(&mut self) -> Option<(u64, PBufRd<'_>)> {
        self.server.request_body()
    }

    /// See [`PipelinedServer::response_body`].
    pub fn response_body(&mut self) -> Option<(u64, PBufWr<'_>)> {
        self.server.response_body()
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
    /// out at `now`, and writes answers in request order. Returns whether anything
    /// happened. An error is the server's ([`PipelinedServer::process`]): the connection is
    /// aborted and the service finished.
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
            // Write what was just answered in the same call.
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
            && self.server.is_idle()
        {
            net.wr.close();
            self.state = Serving::Done;
            active = true;
        }
        Ok(active)
    }

    /// One pass of the server, calling the handler for each request decoded.
    fn pass(&mut self, net: PBufRdWr<'_>, now: Time) -> Result<bool, Error<D::Error, E::Error>> {
        let PipelinedService {
            server,
            handler,
            promises,
            answers,
            state,
        } = self;
        let result = server.process(net, |event| {
            if let ServerEvent::Request { seq, request, .. } = event {
                match handler.call(seq, request, now) {
                    Reply::Now(answer) => answers.push((seq, answer)),
                    Reply::Later => promises.promise(seq, now),
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

    /// Hands the server every answer available at `now`: given during the pass, ready from
    /// the handler, or timed out. Returns whether there was any.
    fn collect(&mut self, now: Time) -> bool {
        let mut any = !self.answers.is_empty();
        for (seq, answer) in self.answers.drain(..) {
            // The numbers come from the server's own events: the only refusal is that
            // nothing more will be sent, and then the answer has nowhere to go.
            let _ = self.server.finish(seq, answer);
        }
        while let Some((seq, answer)) = self.handler.poll(now) {
            // An answer for a request that timed out (or was never promised) is dropped.
            if self.promises.keep(seq) {
                let _ = self.server.finish(seq, answer);
                any = true;
            }
        }
        while let Some(seq) = self.promises.expired(now) {
            let answer = self.handler.timed_out(seq);
            let _ = self.server.finish(seq, answer);
            any = true;
        }
        any
    }
}
