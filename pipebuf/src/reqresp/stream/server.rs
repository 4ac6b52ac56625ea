//! The streaming server: requests open streams by tag; each request and each response may
//! stream a body, all interleaved on one connection.

use alloc::collections::{BTreeMap, VecDeque};

use super::flow::{Inbound, Outbound, clamp_limit};
use super::frame::{Emitted, Frame, FrameDecoder, FrameEncoder};
use super::send::{Bodies, Finished, RoundRobin, send_credits, send_resets};
use super::{StreamFault, code};
use crate::reqresp::{DEFAULT_BODY_LIMIT, Error, FinishError};
use crate::{EofKind, PBufRd, PBufRdWr, PBufWr};

/// What a [`StreamServer`] reports from [`process`](StreamServer::process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamServerEvent<R> {
    /// A request opened the stream `tag`; answer it with
    /// [`respond`](StreamServer::respond).
    Request {
        /// The stream's tag.
        tag: u32,
        /// The decoded request head.
        request: R,
        /// Whether a body follows; it arrives through
        /// [`request_body`](StreamServer::request_body).
        body: bool,
    },
    /// The client reset (cancelled) the open stream `tag`; its buffers are gone.
    Reset {
        /// The stream's tag.
        tag: u32,
        /// The client's reset code (see [`code`]).
        code: u32,
    },
    /// The client broke a rule on stream `tag`. If
    /// [`fault.ends_stream()`](StreamFault::ends_stream) the server reset the stream and
    /// its buffers are gone; otherwise the stream goes on.
    StreamError {
        /// The stream's tag.
        tag: u32,
        /// What the client did.
        fault: StreamFault,
    },
    /// The incoming side ended. Request bodies still arriving are aborted (and stay
    /// readable until their EOF is consumed). After a close the server still sends the
    /// responses to complete requests — as far as the credit the client granted lets
    /// their bodies go — and then closes its outgoing side; after an abort it aborts its
    /// outgoing side and drops them.
    End(EofKind),
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    Open,
    /// The client closed its side: answering the complete requests, then closing.
    Draining,
    /// Nothing more goes out: the outgoing side was closed or aborted.
    Ended,
    /// `process` failed.
    Broken,
}

/// What the server knows of a tag.
#[derive(Debug)]
enum Slot<M> {
    /// An open stream.
    Open(Open<M>),
    /// The server reset the stream (cancel, refusal, fault, aborted body) and ignores its
    /// frames until the client's reset arrives.
    Resetting,
    /// Cut off by the end of the connection: only the aborted request body is left, until
    /// the application consumed its EOF.
    Orphan(Inbound),
}

#[derive(Debug)]
struct Open<M> {
    request: Request,
    response: Response<M>,
}

/// The request side of an open stream.
#[derive(Debug)]
enum Request {
    /// The body is arriving, or ended and not read to its end yet.
    Body(Inbound),
    /// No body, or the application consumed its EOF.
    Done,
}

/// The response side of an open stream.
#[derive(Debug)]
enum Response<M> {
    /// The application has not responded yet.
    Awaited,
    /// The head waits to be written; the application may write the body already.
    Head { head: M, body: Option<Outbound> },
    /// The head is written; the body is being sent.
    Body(Outbound),
}

impl<M> Bodies for Slot<M> {
    fn outbound(&mut self) -> Option<(&mut Outbound, bool)> {
        match self {
            Slot::Open(Open {
                request,
                response: Response::Body(out),
            }) => Some((out, matches!(request, Request::Done))),
            _ => None,
        }
    }

    fn inbound(&mut self) -> Option<&mut Inbound> {
        match self {
            Slot::Open(Open {
                request: Request::Body(inbound),
                ..
            }) => Some(inbound),
            _ => None,
        }
    }
}

/// A request/response server over one connection whose requests and responses stream
/// their bodies, many at once, interleaved by tag (see the [module docs](super) for the
/// frames, the flow control and the rules for tags).
///
/// - **Input**: [`process`](StreamServer::process) decodes frames and reports each new
///   stream as [`StreamServerEvent::Request`]; its body flows into
///   [`request_body`](StreamServer::request_body).
/// - **Output**: [`respond`](StreamServer::respond) takes the response head for a tag, in
///   any order; its body is written into [`response_body`](StreamServer::response_body)
///   (close it to end the body, abort it to reset that stream only).
///   [`cancel`](StreamServer::cancel) resets a stream. `process` writes resets, credit,
///   heads and data frames, in that order of priority.
///
/// **Backpressure and bounds.** At most `max_streams` streams are open; a request beyond
/// that is refused with a [`code::REFUSED`] reset and not reported (the client may send it
/// again). Decoding never stops for a full body buffer, since the client sends no more
/// than the credit it was granted, so a request body the application does not read stalls
/// its own stream only. Body bytes held never exceed
/// [`max_buffered`](StreamServer::max_buffered). More than `max_tags` tags known at once
/// (open, resetting, owing a reset) is [`Error::TooManyStreams`].
///
/// **The end of a response** (its last data frame, or a head without body) waits until
/// the application has read the request body to its end (consumed its EOF): a client may
/// only reuse a tag once no frame of the old stream can follow.
///
/// **Driver obligations.** Call `process` after every `respond` or `cancel` and every
/// change to the connection or body buffers, until it reports no activity. The incoming
/// connection buffer must hold the largest frame the decoder accepts.
#[derive(Debug)]
pub struct StreamServer<E: FrameEncoder, D> {
    encoder: E,
    decoder: D,
    max_streams: usize,
    max_tags: usize,
    in_limit: usize,
    out_limit: usize,
    max_data: usize,
    tags: BTreeMap<u32, Slot<E::Item>>,
    /// Tags whose response head waits to be written, in the order of `respond`.
    heads: VecDeque<u32>,
    /// Resets to write: tag → code.
    resets: BTreeMap<u32, u32>,
    turns: RoundRobin,
    conn: Conn,
}

impl<E: FrameEncoder, D: FrameDecoder> StreamServer<E, D> {
    /// A server with at most `max_streams` streams open (at least 1), body buffers of
    /// [`DEFAULT_BODY_LIMIT`] each way and state for at most `max(1024, 2 × max_streams)`
    /// tags.
    pub fn new(encoder: E, decoder: D, max_streams: usize) -> Self {
        let max_streams = max_streams.max(1);
        let max_data = encoder.max_data_len().max(1);
        StreamServer {
            encoder,
            decoder,
            max_streams,
            max_tags: max_streams.saturating_mul(2).max(1024),
            in_limit: clamp_limit(DEFAULT_BODY_LIMIT),
            out_limit: clamp_limit(DEFAULT_BODY_LIMIT),
            max_data,
            tags: BTreeMap::new(),
            heads: VecDeque::new(),
            resets: BTreeMap::new(),
            turns: RoundRobin::new(),
            conn: Conn::Open,
        }
    }

    /// Sets the limit of each request body buffer (`incoming`: the most credit a client
    /// gets per stream) and of each response body buffer (`outgoing`), at least 1 byte
    /// each.
    pub fn with_body_limits(mut self, incoming: usize, outgoing: usize) -> Self {
        self.in_limit = clamp_limit(incoming);
        self.out_limit = clamp_limit(outgoing);
        self
    }

    /// Sets how many tags the server keeps state for at once (at least `max_streams`).
    pub fn with_max_tags(mut self, max_tags: usize) -> Self {
        self.max_tags = max_tags.max(self.max_streams);
        self
    }

    /// Streams open: reported and not finished.
    pub fn open_streams(&self) -> usize {
        self.tags
            .values()
            .filter(|s| matches!(s, Slot::Open(_)))
            .count()
    }

    /// Body bytes held in the body buffers now.
    pub fn buffered(&self) -> usize {
        self.tags
            .values()
            .map(|slot| match slot {
                Slot::Open(open) => {
                    let incoming = match &open.request {
                        Request::Body(inbound) => inbound.buffered(),
                        Request::Done => 0,
                    };
                    let outgoing = match &open.response {
                        Response::Head {
                            body: Some(out), ..
                        }
                        | Response::Body(out) => out.buffered(),
                        _ => 0,
                    };
                    incoming + outgoing
                }
                Slot::Orphan(inbound) => inbound.buffered(),
                Slot::Resetting => 0,
            })
            .sum()
    }

    /// The most body bytes the server ever holds: `max_streams × (incoming + outgoing
    /// limit)`.
    pub fn max_buffered(&self) -> usize {
        self.max_streams
            .saturating_mul(self.in_limit.saturating_add(self.out_limit))
    }

    /// Whether nothing more will be sent: the outgoing side was closed or aborted, or
    /// `process` failed.
    pub fn is_finished(&self) -> bool {
        matches!(self.conn, Conn::Ended | Conn::Broken)
    }

    /// The request body of stream `tag`, until the application has consumed its EOF: a
    /// close when complete, an abort when the connection ended inside it.
    pub fn request_body(&mut self, tag: u32) -> Option<PBufRd<'_>> {
        match self.tags.get_mut(&tag)? {
            Slot::Open(Open {
                request: Request::Body(inbound),
                ..
            })
            | Slot::Orphan(inbound) => inbound.rd(),
            _ => None,
        }
    }

    /// Hands over the response head for stream `tag`; with `body`, write the body into
    /// [`response_body`](StreamServer::response_body). Fails for a stream not open
    /// ([`FinishError::Unknown`]), one already answered ([`FinishError::AlreadyFinished`])
    /// and once nothing more will be sent ([`FinishError::Closed`]).
    pub fn respond(&mut self, tag: u32, head: E::Item, body: bool) -> Result<(), FinishError> {
        if self.is_finished() {
            return Err(FinishError::Closed);
        }
        let Some(Slot::Open(open)) = self.tags.get_mut(&tag) else {
            return Err(FinishError::Unknown(u64::from(tag)));
        };
        if !matches!(open.response, Response::Awaited) {
            return Err(FinishError::AlreadyFinished(u64::from(tag)));
        }
        open.response = Response::Head {
            head,
            body: body.then(|| Outbound::new(self.out_limit)),
        };
        self.heads.push_back(tag);
        Ok(())
    }

    /// The response body of stream `tag`, from `respond` (with a body) until its end is
    /// written: write, close to end the body, abort to reset the stream
    /// ([`code::ABORTED`]).
    pub fn response_body(&mut self, tag: u32) -> Option<PBufWr<'_>> {
        match self.tags.get_mut(&tag)? {
            Slot::Open(Open {
                response:
                    Response::Head {
                        body: Some(out), ..
                    }
                    | Response::Body(out),
                ..
            }) => Some(out.wr()),
            _ => None,
        }
    }

    /// Resets the open stream `tag` ([`code::CANCEL`]): its buffers are dropped and its
    /// frames ignored until the client answers. Returns whether it was open.
    pub fn cancel(&mut self, tag: u32) -> bool {
        if !matches!(self.tags.get(&tag), Some(Slot::Open(_))) || self.is_finished() {
            return false;
        }
        self.reset(tag, code::CANCEL);
        true
    }

    /// Writes resets, credit, response heads and body data, decodes frames and handles the
    /// end of the incoming stream, reporting to `on_event`. Returns whether anything
    /// happened. On error the connection is failed as described in [`Error`]: the
    /// outgoing side is aborted, request bodies arriving are aborted, the rest is dropped.
    pub fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        mut on_event: impl FnMut(StreamServerEvent<D::Item<'_>>),
    ) -> Result<bool, Error<D::Error, E::Error>> {
        if self.conn == Conn::Broken {
            return Ok(net.rd.discard());
        }
        let before = (net.rd.tripwire(), net.wr.tripwire());
        let mut changed = false;
        if let Err(e) = self.run(&mut net, &mut on_event, &mut changed) {
            net.wr.abort();
            self.cut_off();
            self.conn = Conn::Broken;
            return Err(e);
        }
        Ok(changed || before != (net.rd.tripwire(), net.wr.tripwire()))
    }

    fn run(
        &mut self,
        net: &mut PBufRdWr<'_>,
        on_event: &mut impl FnMut(StreamServerEvent<D::Item<'_>>),
        changed: &mut bool,
    ) -> Result<(), Error<D::Error, E::Error>> {
        self.tidy(changed);
        if self.conn == Conn::Open {
            self.write(&mut net.wr)?;
            self.read(net, on_event, changed)?;
        }
        if matches!(self.conn, Conn::Open | Conn::Draining) {
            self.write(&mut net.wr)?;
        }
        if self.conn == Conn::Draining {
            self.drain(&mut net.wr, changed);
        }
        Ok(())
    }

    /// Notes request bodies read to their end and drops orphans read to their end.
    fn tidy(&mut self, changed: &mut bool) {
        let before = self.tags.len();
        self.tags.retain(|_, slot| match slot {
            Slot::Open(open) => {
                if let Request::Body(inbound) = &open.request
                    && inbound.is_consumed()
                {
                    open.request = Request::Done;
                    *changed = true;
                }
                true
            }
            Slot::Orphan(inbound) => !inbound.is_consumed(),
            Slot::Resetting => true,
        });
        *changed |= self.tags.len() != before;
    }

    fn write(&mut self, wr: &mut PBufWr<'_>) -> Result<(), Error<D::Error, E::Error>> {
        if !send_resets(&mut self.resets, &mut self.encoder, wr)?
            || !send_credits(&mut self.tags, &mut self.encoder, wr)?
            || !self.write_heads(wr)?
        {
            return Ok(());
        }
        while let Some(finished) =
            self.turns
                .send(&mut self.tags, &mut self.encoder, wr, self.max_data)?
        {
            match finished {
                // The end went out, after the request was read to its end: done.
                Finished::Ended(tag) => {
                    self.tags.remove(&tag);
                }
                Finished::Aborted(tag) => self.reset(tag, code::ABORTED),
            }
        }
        Ok(())
    }

    /// Writes the response heads that may go, in the order of `respond`. Returns `false`
    /// if the output filled up first.
    fn write_heads(&mut self, wr: &mut PBufWr<'_>) -> Result<bool, Error<D::Error, E::Error>> {
        let mut i = 0;
        while let Some(&tag) = self.heads.get(i) {
            let Some(Slot::Open(open)) = self.tags.get_mut(&tag) else {
                self.heads.remove(i);
                continue;
            };
            let Response::Head { head, body } = &open.response else {
                self.heads.remove(i);
                continue;
            };
            if body.is_none() && !matches!(open.request, Request::Done) {
                // A head without body is the response's end: it waits for the request.
                i += 1;
                continue;
            }
            match self
                .encoder
                .encode_head(tag, head, body.is_some(), wr)
                .map_err(Error::Encode)?
            {
                Emitted::Full => return Ok(false),
                Emitted::Written => {}
            }
            self.heads.remove(i);
            match core::mem::replace(&mut open.response, Response::Awaited) {
                Response::Head {
                    body: Some(out), ..
                } => open.response = Response::Body(out),
                _ => {
                    self.tags.remove(&tag);
                }
            }
        }
        Ok(true)
    }

    fn read(
        &mut self,
        net: &mut PBufRdWr<'_>,
        on_event: &mut impl FnMut(StreamServerEvent<D::Item<'_>>),
        changed: &mut bool,
    ) -> Result<(), Error<D::Error, E::Error>> {
        loop {
            let decoded = self.decoder.decode(net.rd.data());
            let Some((frame, len)) = decoded.map_err(Error::Decode)? else {
                break;
            };
            self.on_frame(frame, on_event, changed)?;
            net.rd.consume(len)?;
        }
        if let Some(kind) = net.rd.pending_eof() {
            // A partial frame before the end is a truncation: dropped.
            net.rd.consume_all();
            net.rd.consume_eof();
            self.on_end(kind, &mut net.wr);
            on_event(StreamServerEvent::End(kind));
            *changed = true;
        }
        Ok(())
    }

    fn on_frame(
        &mut self,
        frame: Frame<'_, D::Item<'_>>,
        on_event: &mut impl FnMut(StreamServerEvent<D::Item<'_>>),
        changed: &mut bool,
    ) -> Result<(), Error<D::Error, E::Error>> {
        match frame {
            Frame::Head { tag, message, body } => {
                if self.tags.contains_key(&tag) || self.resets.contains_key(&tag) {
                    return Err(Error::DuplicateTag(tag));
                }
                if self.known_tags() >= self.max_tags {
                    return Err(Error::TooManyStreams);
                }
                *changed = true;
                if self.open_streams() >= self.max_streams {
                    self.reset(tag, code::REFUSED);
                    return Ok(());
                }
                let request = if body {
                    Request::Body(Inbound::new(self.in_limit))
                } else {
                    Request::Done
                };
                let open = Open {
                    request,
                    response: Response::Awaited,
                };
                self.tags.insert(tag, Slot::Open(open));
                on_event(StreamServerEvent::Request {
                    tag,
                    request: message,
                    body,
                });
            }
            Frame::Data { tag, data, end } => match self.tags.get_mut(&tag) {
                None => return Err(Error::Desynchronized),
                Some(Slot::Open(open)) => {
                    let taken = match &mut open.request {
                        Request::Body(inbound) => inbound.on_data(data, end),
                        Request::Done => Err(StreamFault::UnexpectedData),
                    };
                    if let Err(fault) = taken {
                        self.fault(tag, fault, on_event);
                        *changed = true;
                    }
                }
                // Sent before the client saw the reset.
                Some(Slot::Resetting | Slot::Orphan(_)) => {}
            },
            Frame::Credit { tag, bytes } => {
                // Credit for a tag not open is stale (granted before the response ended or
                // the stream was reset): ignored.
                if let Some(Slot::Open(open)) = self.tags.get_mut(&tag) {
                    let taken = match &mut open.response {
                        Response::Body(out) => out.add_credit(bytes),
                        _ => Err(StreamFault::UnexpectedCredit),
                    };
                    if let Err(fault) = taken {
                        self.fault(tag, fault, on_event);
                        *changed = true;
                    }
                }
            }
            Frame::Reset { tag, code } => match self.tags.get(&tag) {
                Some(Slot::Open(_)) => {
                    // The client cancelled: answer, and the stream is over.
                    self.tags.remove(&tag);
                    self.heads.retain(|&t| t != tag);
                    self.resets.insert(tag, code);
                    on_event(StreamServerEvent::Reset { tag, code });
                    *changed = true;
                }
                Some(Slot::Resetting) => {
                    // The answer to our reset, or the client's crossing ours: over.
                    self.tags.remove(&tag);
                    *changed = true;
                }
                Some(Slot::Orphan(_)) => {}
                None if self.resets.contains_key(&tag) => {}
                None => {
                    // A cancel that crossed the response's end: the client waits for an
                    // answer.
                    if self.known_tags() >= self.max_tags {
                        return Err(Error::TooManyStreams);
                    }
                    self.resets.insert(tag, code);
                    *changed = true;
                }
            },
        }
        Ok(())
    }

    /// Reports a fault on the open stream `tag`, resetting the stream if the fault ends it.
    fn fault(
        &mut self,
        tag: u32,
        fault: StreamFault,
        on_event: &mut impl FnMut(StreamServerEvent<D::Item<'_>>),
    ) {
        if fault.ends_stream() {
            self.reset(tag, fault.code());
        }
        on_event(StreamServerEvent::StreamError { tag, fault });
    }

    /// Resets stream `tag`: its buffers go, a reset is queued, its frames are ignored until
    /// the client's reset arrives.
    fn reset(&mut self, tag: u32, code: u32) {
        self.tags.insert(tag, Slot::Resetting);
        self.heads.retain(|&t| t != tag);
        self.resets.insert(tag, code);
    }

    /// Tags the server keeps state for: streams open or resetting, and resets to write.
    fn known_tags(&self) -> usize {
        let slots = self
            .tags
            .values()
            .filter(|s| !matches!(s, Slot::Orphan(_)))
            .count();
        let answers = self
            .resets
            .keys()
            .filter(|t| !self.tags.contains_key(t))
            .count();
        slots + answers
    }

    /// The incoming side ended with `kind`.
    fn on_end(&mut self, kind: EofKind, wr: &mut PBufWr<'_>) {
        self.cut_requests();
        match kind {
            EofKind::Close => self.conn = Conn::Draining,
            EofKind::Abort => {
                wr.abort();
                self.tags.retain(|_, slot| matches!(slot, Slot::Orphan(_)));
                self.heads.clear();
                self.resets.clear();
                self.conn = Conn::Ended;
            }
        }
    }

    /// Request bodies still arriving are aborted and left to the application as orphans;
    /// streams being reset are dropped (no answer will come).
    fn cut_requests(&mut self) {
        let tags = core::mem::take(&mut self.tags);
        for (tag, slot) in tags {
            match slot {
                Slot::Open(Open {
                    request: Request::Body(mut inbound),
                    ..
                }) if !inbound.is_ended() => {
                    inbound.abort();
                    self.tags.insert(tag, Slot::Orphan(inbound));
                }
                Slot::Resetting => {}
                slot => {
                    self.tags.insert(tag, slot);
                }
            }
        }
        let tags = &self.tags;
        self.heads.retain(|t| tags.contains_key(t));
    }

    /// The connection failed: only aborted request bodies are left.
    fn cut_off(&mut self) {
        self.cut_requests();
        self.tags.retain(|_, slot| matches!(slot, Slot::Orphan(_)));
        self.heads.clear();
        self.resets.clear();
    }

    /// After the client's close: drops streams that can never finish (their body waits
    /// for credit that will not come) and closes the outgoing side once nothing is left
    /// to send.
    fn drain(&mut self, wr: &mut PBufWr<'_>, changed: &mut bool) {
        let before = self.tags.len();
        self.tags.retain(|_, slot| match slot {
            Slot::Open(Open {
                response:
                    Response::Head {
                        body: Some(out), ..
                    }
                    | Response::Body(out),
                ..
            }) => !out.starved(),
            _ => true,
        });
        *changed |= self.tags.len() != before;
        let open = self.tags.values().any(|s| matches!(s, Slot::Open(_)));
        if !open && self.resets.is_empty() {
            wr.close();
            self.conn = Conn::Ended;
            *changed = true;
        }
    }
}

#[cfg(test)]
mod tests;
