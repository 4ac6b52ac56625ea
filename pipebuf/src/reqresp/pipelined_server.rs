//! The pipelined server: requests are numbered in arrival order, answered in any order, and
//! the responses leave in request order.

use alloc::collections::BTreeMap;

use super::body::{BodyIn, BodyWriter, Incoming, body_buf};
use super::{Body, Decoder, Encoded, Encoder, Error, FinishError, Head};
use crate::{EofKind, PBufRd, PBufRdWr, PBufWr, PipeBuf};

/// What a [`PipelinedServer`] reports from [`process`](PipelinedServer::process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent<R> {
    /// A request, numbered in arrival order from 0; answer it with
    /// [`finish`](PipelinedServer::finish).
    Request {
        /// The request's sequence number.
        seq: u64,
        /// The decoded request head.
        request: R,
        /// Whether a body follows; it arrives through
        /// [`request_body`](PipelinedServer::request_body).
        body: bool,
    },
    /// The incoming side ended. After a close the server still sends the responses to the
    /// requests already reported and then closes its outgoing side; after an abort it
    /// aborts its outgoing side and drops them.
    End(EofKind),
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    Open,
    /// The peer closed; the outgoing side closes once every request is answered.
    Draining,
    /// Nothing more goes out: the outgoing side was closed or aborted.
    Ended,
    /// `process` failed.
    Broken,
}

/// A pipelined request/response server over one connection.
///
/// - **Input**: [`process`](PipelinedServer::process) decodes requests from the incoming
///   connection buffer and reports each as [`ServerEvent::Request`] with a sequence number
///   (0, 1, 2, … in arrival order); a request body flows into
///   [`request_body`](PipelinedServer::request_body).
/// - **Output**: [`finish`](PipelinedServer::finish) takes the response to any sequence
///   number, in any order; `process` encodes the responses strictly in request order into
///   the outgoing connection buffer. A response body is written into
///   [`response_body`](PipelinedServer::response_body) once that response has gone out.
///
/// **Backpressure.** The server stops decoding new requests — leaving their bytes unread in
/// the incoming buffer, so the socket is not read either — while `max_in_flight` requests
/// are reported and their responses not written yet, while `max_waiting` finished
/// responses wait to be written (for an earlier slow request, or for room in the outgoing
/// buffer), and while the application has not read a request body to its end. Memory is
/// therefore bounded by `max_in_flight` responses and two body buffers.
///
/// **Driver obligations.** Call `process` after every `finish` and every change to the
/// connection or body buffers, until it reports no activity.
#[derive(Debug)]
pub struct PipelinedServer<E: Encoder, D> {
    encoder: E,
    decoder: D,
    max_in_flight: u64,
    max_waiting: usize,
    /// Sequence number of the next request decoded.
    next_seq: u64,
    /// Sequence number of the next response to write.
    out_seq: u64,
    /// Finished responses not written yet, by sequence number.
    finished: BTreeMap<u64, E::Item>,
    conn: Conn,
    /// The body of the last response written (number `out_seq - 1`), while it is sent.
    tx: Option<BodyWriter>,
    resp_body: PipeBuf<u8>,
    /// Request bodies: the one being received and the one the application reads.
    rx: BodyIn<u64>,
}

impl<E: Encoder, D: Decoder> PipelinedServer<E, D> {
    /// A server with at most `max_in_flight` requests reported and not yet answered on the
    /// wire, and at most `max_waiting` finished responses waiting (both at least 1).
    pub fn new(encoder: E, decoder: D, max_in_flight: usize, max_waiting: usize) -> Self {
        PipelinedServer {
            encoder,
            decoder,
            max_in_flight: max_in_flight.max(1) as u64,
            max_waiting: max_waiting.max(1),
            next_seq: 0,
            out_seq: 0,
            finished: BTreeMap::new(),
            conn: Conn::Open,
            tx: None,
            resp_body: body_buf(super::DEFAULT_BODY_LIMIT),
            rx: BodyIn::new(super::DEFAULT_BODY_LIMIT),
        }
    }

    /// Sets the limit of the request and response body buffers.
    pub fn with_body_limit(mut self, limit: usize) -> Self {
        self.rx = BodyIn::new(limit);
        self.resp_body = body_buf(limit);
        self
    }

    /// Requests reported whose response has not been written yet.
    pub fn in_flight(&self) -> u64 {
        self.next_seq - self.out_seq
    }

    /// Finished responses not written yet.
    pub fn waiting(&self) -> usize {
        self.finished.len()
    }

    /// Whether every request reported has its whole response written: nothing in flight,
    /// nothing waiting, no response body being sent.
    pub fn is_idle(&self) -> bool {
        self.in_flight() == 0 && self.finished.is_empty() && self.tx.is_none()
    }

    /// Whether nothing more will be sent: the outgoing side was closed or aborted, or
    /// `process` failed.
    pub fn is_finished(&self) -> bool {
        matches!(self.conn, Conn::Ended | Conn::Broken)
    }

    /// Hands over the response to request `seq`; it goes out once every earlier response
    /// has. Fails for a number not reported yet ([`FinishError::Unknown`]), for one already
    /// finished ([`FinishError::AlreadyFinished`]) and once nothing more will be sent
    /// ([`FinishError::Closed`]); the response is dropped then.
    pub fn finish(&mut self, seq: u64, response: E::Item) -> Result<(), FinishError> {
        if self.is_finished() {
            return Err(FinishError::Closed);
        }
        if seq >= self.next_seq {
            return Err(FinishError::Unknown(seq));
        }
        if seq < self.out_seq || self.finished.contains_key(&seq) {
            return Err(FinishError::AlreadyFinished(seq));
        }
        self.finished.insert(seq, response);
        Ok(())
    }

    /// The body buffer of the latest request with a body, with its sequence number, until
    /// the application has consumed its EOF. Decoding waits until then.
    pub fn request_body(&mut self) -> Option<(u64, PBufRd<'_>)> {
        self.rx.rd()
    }

    /// The body buffer of the response being sent, with its sequence number: write the
    /// body, push for a chunk boundary, close to end it, abort to break the connection.
    /// The responses behind it wait until it is closed.
    pub fn response_body(&mut self) -> Option<(u64, PBufWr<'_>)> {
        self.tx?;
        Some((self.out_seq - 1, self.resp_body.wr()))
    }

    /// Writes finished responses (and response body bytes) in order, decodes requests and
    /// handles the end of the incoming stream, reporting to `on_event`. Returns whether
    /// anything happened.
    pub fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        mut on_event: impl FnMut(ServerEvent<D::Item<'_>>),
    ) -> Result<bool, Error<D::Error, E::Error>> {
        if self.conn == Conn::Broken {
            return Ok(net.rd.discard());
        }
        let before = self.tripwires(&net);
        let mut events = false;
        if let Err(e) = self.run(&mut net, &mut on_event, &mut events) {
            net.wr.abort();
            self.rx.abort();
            self.tx = None;
            self.finished.clear();
            self.conn = Conn::Broken;
            return Err(e);
        }
        Ok(events || before != self.tripwires(&net))
    }

    fn tripwires(&self, net: &PBufRdWr<'_>) -> [crate::Tripwire; 4] {
        [
            net.rd.tripwire(),
            net.wr.tripwire(),
            self.rx.tripwire(),
            self.resp_body.tripwire(),
        ]
    }

    fn run(
        &mut self,
        net: &mut PBufRdWr<'_>,
        on_event: &mut impl FnMut(ServerEvent<D::Item<'_>>),
        events: &mut bool,
    ) -> Result<(), Error<D::Error, E::Error>> {
        if matches!(self.conn, Conn::Open | Conn::Draining) {
            self.write(net)?;
        }
        if self.conn == Conn::Open {
            self.read(net, on_event, events)?;
        }
        if self.conn == Conn::Draining && self.in_flight() == 0 && self.tx.is_none() {
            net.wr.close();
            self.conn = Conn::Ended;
        }
        Ok(())
    }

    fn write(&mut self, net: &mut PBufRdWr<'_>) -> Result<(), Error<D::Error, E::Error>> {
        loop {
            if let Some(writer) = &mut self.tx {
                writer.pump(&mut self.encoder, &mut self.resp_body.rd(), &mut net.wr)?;
                if !writer.is_done() {
                    return Ok(());
                }
                self.tx = None;
            }
            // Every waiting response is for `out_seq` or later: the first is the next one,
            // or the next one is not finished yet.
            let Some(next) = self
                .finished
                .first_entry()
                .filter(|e| *e.key() == self.out_seq)
            else {
                return Ok(());
            };
            let body = match self.encoder.encode(next.get(), &mut net.wr) {
                Err(e) => return Err(Error::Encode(e)),
                Ok(Encoded::Full) => return Ok(()),
                Ok(Encoded::Written(body)) => body,
            };
            next.remove();
            if body != Body::None {
                self.resp_body.reset();
                self.tx = Some(BodyWriter::new(body));
            }
            self.out_seq += 1;
        }
    }

    fn read(
        &mut self,
        net: &mut PBufRdWr<'_>,
        on_event: &mut impl FnMut(ServerEvent<D::Item<'_>>),
        events: &mut bool,
    ) -> Result<(), Error<D::Error, E::Error>> {
        let held = loop {
            let held = self.rx.pump(&mut self.decoder, &mut net.rd, events)?;
            if held != Incoming::Free {
                break held;
            }
            if self.in_flight() >= self.max_in_flight || self.finished.len() >= self.max_waiting {
                // Backpressure: the requests stay unread until the application answers.
                break Incoming::App;
            }
            let Some(Head { message, len, body }) =
                self.decoder.decode(net.rd.data()).map_err(Error::Decode)?
            else {
                break Incoming::Free;
            };
            let seq = self.next_seq;
            self.next_seq += 1;
            on_event(ServerEvent::Request {
                seq,
                request: message,
                body: body != Body::None,
            });
            *events = true;
            net.rd.consume(len)?;
            if body != Body::None {
                self.rx.start(Some(seq), body);
            }
        };
        // The end of the incoming stream, once nothing more can be decoded before it.
        if let Some(kind) = net.rd.pending_eof()
            && held.lets_eof_through(&net.rd)
        {
            net.rd.consume_all();
            net.rd.consume_eof();
            self.rx.abort();
            on_event(ServerEvent::End(kind));
            *events = true;
            match kind {
                EofKind::Close => self.conn = Conn::Draining,
                EofKind::Abort => {
                    net.wr.abort();
                    self.finished.clear();
                    self.tx = None;
                    self.conn = Conn::Ended;
                }
            }
        }
        Ok(())
    }
}
