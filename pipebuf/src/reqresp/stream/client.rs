//! The streaming client: each request opens a stream with a tag of its own; requests and
//! responses stream their bodies, all interleaved on one connection.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use super::flow::{Inbound, Outbound, clamp_limit};
use super::frame::{Emitted, Frame, FrameDecoder, FrameEncoder};
use super::send::{Bodies, Finished, RoundRobin, send_credits, send_resets};
use super::{StreamFailure, StreamFault, code};
use crate::reqresp::tags::TagSpace;
use crate::reqresp::{DEFAULT_BODY_LIMIT, Error, Failure, Refusal, SubmitError, Ticket};
use crate::{PBufRd, PBufRdWr, PBufWr};

/// What a [`StreamClient`] reports from [`process`](StreamClient::process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamClientEvent<C, R> {
    /// The response head for the request with this ticket.
    Response {
        /// The request's ticket.
        ticket: Ticket,
        /// The context given to `submit`.
        context: C,
        /// The decoded response head.
        response: R,
        /// Whether a body follows; it arrives through
        /// [`response_body`](StreamClient::response_body).
        body: bool,
    },
    /// The stream ended without completing; its last event. A response body that was
    /// arriving is aborted (and stays readable until its EOF is consumed).
    Failed {
        /// The request's ticket.
        ticket: Ticket,
        /// The context given to `submit`, unless the response was reported already.
        context: Option<C>,
        /// Why.
        failure: StreamFailure,
    },
    /// The server broke a rule on this stream. If
    /// [`fault.ends_stream()`](StreamFault::ends_stream) the client reset the stream and
    /// this is its last event (with the context, unless the response was reported
    /// already; a response body that was arriving is aborted); otherwise the stream goes
    /// on and `context` is `None`.
    StreamError {
        /// The request's ticket.
        ticket: Ticket,
        /// The context given to `submit`, if this ends the stream before its response.
        context: Option<C>,
        /// What the server did.
        fault: StreamFault,
    },
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    Open,
    /// The incoming side ended; every stream not complete failed.
    Ended,
    /// `process` failed; every stream not complete failed.
    Broken,
}

/// What a taken tag stands for.
#[derive(Debug)]
enum Slot<M, C> {
    /// A stream in progress.
    Live(Live<M, C>),
    /// The client reset the stream (cancel, fault, aborted body) and ignores its frames
    /// until the server's reset arrives.
    Cancelling,
}

#[derive(Debug)]
struct Live<M, C> {
    ticket: Ticket,
    request: Request<M>,
    response: Response<C>,
}

/// The request side of a stream.
#[derive(Debug)]
enum Request<M> {
    /// The head waits to be written; the application may write the body already.
    Queued { head: M, body: Option<Outbound> },
    /// The head is written; the body is being sent.
    Sending(Outbound),
    /// The body's end is written.
    Ended,
    /// The head is written and announced no body.
    NoBody,
}

/// The response side of a stream.
#[derive(Debug)]
enum Response<C> {
    /// No response head yet; the context waits for it.
    Awaited(C),
    /// The response head was reported; its body is arriving.
    Body(Inbound),
}

/// What a ticket stands for.
#[derive(Debug)]
enum Ticketed {
    /// A stream in progress on this tag.
    Tag(u32),
    /// The stream is over; its response body waits for the application to read it to its
    /// end (complete, or aborted).
    Reading(Inbound),
}

impl<M, C> Bodies for Slot<M, C> {
    fn outbound(&mut self) -> Option<(&mut Outbound, bool)> {
        match self {
            Slot::Live(Live {
                request: Request::Sending(out),
                ..
            }) => Some((out, true)),
            _ => None,
        }
    }

    fn inbound(&mut self) -> Option<&mut Inbound> {
        match self {
            Slot::Live(Live {
                response: Response::Body(inbound),
                ..
            }) => Some(inbound),
            _ => None,
        }
    }
}

/// A request/response client over one connection whose requests and responses stream
/// their bodies, many at once, interleaved by tag (see the [module docs](super) for the
/// frames, the flow control and the rules for tags).
///
/// - **Input**: [`submit`](StreamClient::submit) queues a request head with a free tag and
///   returns a [`Ticket`]; its body is written into
///   [`request_body`](StreamClient::request_body) (close it to end the body, abort it to
///   reset the stream). [`cancel`](StreamClient::cancel) resets a stream.
/// - **Work and output**: [`process`](StreamClient::process) writes resets, credit, request
///   heads and body data (in that order of priority), decodes frames and reports
///   [`StreamClientEvent`]s; a response body flows into
///   [`response_body`](StreamClient::response_body).
///
/// **Tags** come from `0..=max_tag`, round-robin, and are never reused while taken: from
/// `submit` until the response's end arrives, or after a reset until the server's reset
/// arrives (and the client's answer to it is written).
///
/// **Bounds.** At most `max_in_flight` tickets (streams in progress, and finished streams
/// whose response body the application has not read to its end) and tags at once; beyond
/// that `submit` refuses ([`Refusal::Full`]). Body bytes held never exceed
/// [`max_buffered`](StreamClient::max_buffered). A response body the application does not
/// read stalls its own stream only.
///
/// **End of stream.** When the incoming side ends (close or abort) every stream not
/// complete fails exactly once ([`StreamFailure::Connection`]); response bodies arriving
/// are aborted. The client does not close its outgoing side: the owner of the buffers
/// decides that.
///
/// **Driver obligations.** Call `process` after every `submit` or `cancel` and every
/// change to the connection or body buffers, until it reports no activity. The incoming
/// connection buffer must hold the largest frame the decoder accepts.
#[derive(Debug)]
pub struct StreamClient<E: FrameEncoder, D, C> {
    encoder: E,
    decoder: D,
    space: TagSpace,
    max_in_flight: usize,
    in_limit: usize,
    out_limit: usize,
    max_data: usize,
    next_ticket: u64,
    tags: BTreeMap<u32, Slot<E::Item, C>>,
    tickets: BTreeMap<Ticket, Ticketed>,
    /// Tags whose request head waits to be written, in the order of `submit`.
    heads: VecDeque<u32>,
    /// Resets to write: tag → code. A tag stays taken until its reset is written.
    resets: BTreeMap<u32, u32>,
    turns: RoundRobin,
    conn: Conn,
}

impl<E: FrameEncoder, D: FrameDecoder, C> StreamClient<E, D, C> {
    /// A client with tags `0..=max_tag`, at most `max_in_flight` streams (at least 1; also
    /// limited by the number of tags) and body buffers of [`DEFAULT_BODY_LIMIT`] each way.
    pub fn new(encoder: E, decoder: D, max_tag: u32, max_in_flight: usize) -> Self {
        let space = TagSpace::new(max_tag);
        let max_data = encoder.max_data_len().max(1);
        StreamClient {
            encoder,
            decoder,
            max_in_flight: max_in_flight.clamp(1, space.size()),
            space,
            in_limit: clamp_limit(DEFAULT_BODY_LIMIT),
            out_limit: clamp_limit(DEFAULT_BODY_LIMIT),
            max_data,
            next_ticket: 0,
            tags: BTreeMap::new(),
            tickets: BTreeMap::new(),
            heads: VecDeque::new(),
            resets: BTreeMap::new(),
            turns: RoundRobin::new(),
            conn: Conn::Open,
        }
    }

    /// Sets the limit of each response body buffer (`incoming`: the most credit the server
    /// gets per stream) and of each request body buffer (`outgoing`), at least 1 byte each.
    pub fn with_body_limits(mut self, incoming: usize, outgoing: usize) -> Self {
        self.in_limit = clamp_limit(incoming);
        self.out_limit = clamp_limit(outgoing);
        self
    }

    /// Tickets not finished: streams in progress, and response bodies not read to their
    /// end.
    pub fn in_flight(&self) -> usize {
        self.tickets.len()
    }

    /// Tags taken: streams in progress, streams being reset, resets not written yet.
    pub fn tags_taken(&self) -> usize {
        let answers = self
            .resets
            .keys()
            .filter(|t| !self.tags.contains_key(t))
            .count();
        self.tags.len() + answers
    }

    /// Body bytes held in the body buffers now.
    pub fn buffered(&self) -> usize {
        let live: usize = self
            .tags
            .values()
            .map(|slot| match slot {
                Slot::Live(live) => {
                    let outgoing = match &live.request {
                        Request::Queued {
                            body: Some(out), ..
                        }
                        | Request::Sending(out) => out.buffered(),
                        _ => 0,
                    };
                    let incoming = match &live.response {
                        Response::Body(inbound) => inbound.buffered(),
                        Response::Awaited(_) => 0,
                    };
                    outgoing + incoming
                }
                Slot::Cancelling => 0,
            })
            .sum();
        let reading: usize = self
            .tickets
            .values()
            .map(|t| match t {
                Ticketed::Reading(inbound) => inbound.buffered(),
                Ticketed::Tag(_) => 0,
            })
            .sum();
        live + reading
    }

    /// The most body bytes the client ever holds: `max_in_flight × (incoming + outgoing
    /// limit)`.
    pub fn max_buffered(&self) -> usize {
        self.max_in_flight
            .saturating_mul(self.in_limit.saturating_add(self.out_limit))
    }

    /// Whether the incoming side has ended or `process` failed: no stream will be sent or
    /// received again.
    pub fn is_finished(&self) -> bool {
        self.conn != Conn::Open
    }

    /// Queues `request` with a free tag and returns its ticket; `body` announces a request
    /// body, to be written into [`request_body`](StreamClient::request_body). The head goes
    /// out in `process`.
    ///
    /// Refuses, handing back request and context, when `max_in_flight` tickets or tags are
    /// taken ([`Refusal::Full`]) and after the connection ended ([`Refusal::Closed`]).
    pub fn submit(
        &mut self,
        request: E::Item,
        body: bool,
        context: C,
    ) -> Result<Ticket, SubmitError<E::Item, C, E::Error>> {
        let (tags, resets) = (&self.tags, &self.resets);
        let tag = if self.conn != Conn::Open {
            Err(Refusal::Closed)
        } else if self.tags_taken() >= self.max_in_flight
            || self.tickets.len() >= self.max_in_flight
        {
            Err(Refusal::Full)
        } else {
            self.space
                .alloc(|t| tags.contains_key(&t) || resets.contains_key(&t))
                .ok_or(Refusal::Full)
        };
        let tag = match tag {
            Ok(tag) => tag,
            Err(reason) => {
                return Err(SubmitError {
                    reason,
                    request,
                    context,
                });
            }
        };
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        let live = Live {
            ticket,
            request: Request::Queued {
                head: request,
                body: body.then(|| Outbound::new(self.out_limit)),
            },
            response: Response::Awaited(context),
        };
        self.tags.insert(tag, Slot::Live(live));
        self.tickets.insert(ticket, Ticketed::Tag(tag));
        self.heads.push_back(tag);
        Ok(ticket)
    }

    /// The request body of `ticket`, from `submit` (with a body) until its end is written:
    /// write, close to end the body, abort to reset the stream ([`code::ABORTED`]).
    pub fn request_body(&mut self, ticket: Ticket) -> Option<PBufWr<'_>> {
        let Some(Ticketed::Tag(tag)) = self.tickets.get(&ticket) else {
            return None;
        };
        match self.tags.get_mut(tag)? {
            Slot::Live(Live {
                request:
                    Request::Queued {
                        body: Some(out), ..
                    }
                    | Request::Sending(out),
                ..
            }) => Some(out.wr()),
            _ => None,
        }
    }

    /// The response body of `ticket`, from its response event until the application has
    /// consumed its EOF: a close when complete, an abort when the stream or the connection
    /// failed inside it.
    pub fn response_body(&mut self, ticket: Ticket) -> Option<PBufRd<'_>> {
        match self.tickets.get_mut(&ticket)? {
            Ticketed::Reading(inbound) => inbound.rd(),
            Ticketed::Tag(tag) => match self.tags.get_mut(tag)? {
                Slot::Live(Live {
                    response: Response::Body(inbound),
                    ..
                }) => inbound.rd(),
                _ => None,
            },
        }
    }

    /// Drops `ticket`: a request not sent yet is forgotten, a stream in progress is reset
    /// ([`code::CANCEL`]) and its buffers dropped, a response body not read to its end is
    /// dropped. Returns the context if the response had not been reported yet. No event
    /// follows for the ticket.
    pub fn cancel(&mut self, ticket: Ticket) -> Option<C> {
        let Ticketed::Tag(tag) = self.tickets.remove(&ticket)? else {
            return None;
        };
        let Some(Slot::Live(live)) = self.tags.remove(&tag) else {
            return None;
        };
        if let Request::Queued { .. } = live.request {
            // Never on the wire: the tag is free at once.
            self.heads.retain(|&t| t != tag);
        } else {
            self.tags.insert(tag, Slot::Cancelling);
            self.resets.insert(tag, code::CANCEL);
        }
        match live.response {
            Response::Awaited(context) => Some(context),
            Response::Body(_) => None,
        }
    }

    /// Writes resets, credit, request heads and body data, decodes frames and handles the
    /// end of the incoming stream, reporting to `on_event`. Returns whether anything
    /// happened. On error the connection is failed as described in [`Error`]: the
    /// outgoing side is aborted and every stream not complete fails with
    /// [`Failure::Broken`].
    pub fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        mut on_event: impl FnMut(StreamClientEvent<C, D::Item<'_>>),
    ) -> Result<bool, Error<D::Error, E::Error>> {
        if self.conn == Conn::Broken {
            return Ok(net.rd.discard());
        }
        let before = (net.rd.tripwire(), net.wr.tripwire());
        let mut changed = false;
        if let Err(e) = self.run(&mut net, &mut on_event, &mut changed) {
            net.wr.abort();
            self.fail_all(Failure::Broken, &mut on_event);
            self.conn = Conn::Broken;
            return Err(e);
        }
        Ok(changed || before != (net.rd.tripwire(), net.wr.tripwire()))
    }

    fn run(
        &mut self,
        net: &mut PBufRdWr<'_>,
        on_event: &mut impl FnMut(StreamClientEvent<C, D::Item<'_>>),
        changed: &mut bool,
    ) -> Result<(), Error<D::Error, E::Error>> {
        // Response bodies read to their end are done with.
        let before = self.tickets.len();
        self.tickets
            .retain(|_, t| !matches!(t, Ticketed::Reading(inbound) if inbound.is_consumed()));
        *changed |= self.tickets.len() != before;
        if self.conn != Conn::Open {
            return Ok(());
        }
        self.write(&mut net.wr, on_event)?;
        self.read(net, on_event, changed)?;
        if self.conn == Conn::Open {
            self.write(&mut net.wr, on_event)?;
        }
        Ok(())
    }

    fn write(
        &mut self,
        wr: &mut PBufWr<'_>,
        on_event: &mut impl FnMut(StreamClientEvent<C, D::Item<'_>>),
    ) -> Result<(), Error<D::Error, E::Error>> {
        // Resets first: a reset must precede the head that reuses its tag.
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
                Finished::Ended(tag) => {
                    if let Some(Slot::Live(live)) = self.tags.get_mut(&tag) {
                        live.request = Request::Ended;
                    }
                }
                Finished::Aborted(tag) => {
                    if let Some(Slot::Live(live)) = self.tags.remove(&tag) {
                        self.tags.insert(tag, Slot::Cancelling);
                        self.resets.insert(tag, code::ABORTED);
                        let ticket = live.ticket;
                        let context = self.settle_ticket(live, true);
                        on_event(StreamClientEvent::Failed {
                            ticket,
                            context,
                            failure: StreamFailure::BodyAborted,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes the queued request heads in the order of `submit`. Returns `false` if the
    /// output filled up first.
    fn write_heads(&mut self, wr: &mut PBufWr<'_>) -> Result<bool, Error<D::Error, E::Error>> {
        while let Some(&tag) = self.heads.front() {
            let Some(Slot::Live(live)) = self.tags.get_mut(&tag) else {
                self.heads.pop_front();
                continue;
            };
            let Request::Queued { head, body } = &live.request else {
                self.heads.pop_front();
                continue;
            };
            match self
                .encoder
                .encode_head(tag, head, body.is_some(), wr)
                .map_err(Error::Encode)?
            {
                Emitted::Full => return Ok(false),
                Emitted::Written => {}
            }
            self.heads.pop_front();
            live.request = match core::mem::replace(&mut live.request, Request::NoBody) {
                Request::Queued {
                    body: Some(out), ..
                } => Request::Sending(out),
                _ => Request::NoBody,
            };
        }
        Ok(true)
    }

    fn read(
        &mut self,
        net: &mut PBufRdWr<'_>,
        on_event: &mut impl FnMut(StreamClientEvent<C, D::Item<'_>>),
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
            self.fail_all(kind.into(), on_event);
            self.conn = Conn::Ended;
            *changed = true;
        }
        Ok(())
    }

    fn on_frame(
        &mut self,
        frame: Frame<'_, D::Item<'_>>,
        on_event: &mut impl FnMut(StreamClientEvent<C, D::Item<'_>>),
        changed: &mut bool,
    ) -> Result<(), Error<D::Error, E::Error>> {
        let tag = frame.tag();
        let live = match self.tags.get_mut(&tag) {
            // Only a tag the client took can carry frames.
            None => return Err(Error::Desynchronized),
            // Sent before the server saw the reset: ignored.
            Some(Slot::Cancelling) => {
                if let Frame::Reset { .. } = frame {
                    // The answer to ours, or the server's crossing it: the tag is free.
                    self.tags.remove(&tag);
                    *changed = true;
                }
                return Ok(());
            }
            Some(Slot::Live(live)) => live,
        };
        // The server cannot know a tag whose head is not written yet.
        if let Request::Queued { .. } = live.request {
            return Err(Error::Desynchronized);
        }
        *changed = true;
        match frame {
            Frame::Head { message, body, .. } => {
                if let Response::Body(_) = live.response {
                    return Err(Error::Desynchronized);
                }
                let ticket = live.ticket;
                let inbound = Response::Body(Inbound::new(self.in_limit));
                let Response::Awaited(context) = core::mem::replace(&mut live.response, inbound)
                else {
                    return Err(Error::Desynchronized);
                };
                on_event(StreamClientEvent::Response {
                    ticket,
                    context,
                    response: message,
                    body,
                });
                if !body {
                    self.response_ended(tag, false, on_event);
                }
            }
            Frame::Data { data, end, .. } => {
                let taken = match &mut live.response {
                    Response::Body(inbound) => inbound.on_data(data, end),
                    Response::Awaited(_) => Err(StreamFault::UnexpectedData),
                };
                match taken {
                    Ok(()) if end => self.response_ended(tag, true, on_event),
                    Ok(()) => {}
                    Err(fault) => self.fault(tag, fault, on_event),
                }
            }
            Frame::Credit { bytes, .. } => {
                let taken = match &mut live.request {
                    Request::Sending(out) => out.add_credit(bytes),
                    // Granted before the server saw the end: stale.
                    Request::Ended => Ok(()),
                    _ => Err(StreamFault::UnexpectedCredit),
                };
                if let Err(fault) = taken {
                    self.fault(tag, fault, on_event);
                }
            }
            Frame::Reset { code, .. } => {
                // The server reset the stream: answer, and the stream is over.
                if let Some(Slot::Live(live)) = self.tags.remove(&tag) {
                    self.resets.insert(tag, code);
                    let ticket = live.ticket;
                    let context = self.settle_ticket(live, true);
                    on_event(StreamClientEvent::Failed {
                        ticket,
                        context,
                        failure: StreamFailure::Reset(code),
                    });
                }
            }
        }
        Ok(())
    }

    /// The response on `tag` has ended: the stream is over and its tag free, unless the
    /// request body is still being sent (a server must not end its response first).
    fn response_ended(
        &mut self,
        tag: u32,
        body: bool,
        on_event: &mut impl FnMut(StreamClientEvent<C, D::Item<'_>>),
    ) {
        let Some(Slot::Live(live)) = self.tags.remove(&tag) else {
            return;
        };
        let ticket = live.ticket;
        let early = !matches!(live.request, Request::Ended | Request::NoBody);
        if early {
            self.tags.insert(tag, Slot::Cancelling);
            self.resets.insert(tag, StreamFault::EarlyEnd.code());
        }
        // The response is complete: its body (if any) stays readable.
        if body {
            let _ = self.settle_ticket(live, false);
        } else {
            self.tickets.remove(&ticket);
        }
        if early {
            on_event(StreamClientEvent::StreamError {
                ticket,
                context: None,
                fault: StreamFault::EarlyEnd,
            });
        }
    }

    /// Reports a fault on the live stream `tag`, resetting the stream if the fault ends it.
    fn fault(
        &mut self,
        tag: u32,
        fault: StreamFault,
        on_event: &mut impl FnMut(StreamClientEvent<C, D::Item<'_>>),
    ) {
        if !fault.ends_stream() {
            if let Some(Slot::Live(live)) = self.tags.get(&tag) {
                on_event(StreamClientEvent::StreamError {
                    ticket: live.ticket,
                    context: None,
                    fault,
                });
            }
            return;
        }
        let Some(Slot::Live(live)) = self.tags.remove(&tag) else {
            return;
        };
        self.tags.insert(tag, Slot::Cancelling);
        self.resets.insert(tag, fault.code());
        let ticket = live.ticket;
        let context = self.settle_ticket(live, true);
        on_event(StreamClientEvent::StreamError {
            ticket,
            context,
            fault,
        });
    }

    /// The stream of `live` is over for its ticket: returns the context if no response was
    /// reported; a response body stays readable (aborted first if `cut`) until its EOF is
    /// consumed.
    fn settle_ticket(&mut self, live: Live<E::Item, C>, cut: bool) -> Option<C> {
        match live.response {
            Response::Awaited(context) => {
                self.tickets.remove(&live.ticket);
                Some(context)
            }
            Response::Body(mut inbound) => {
                if cut {
                    inbound.abort();
                }
                self.tickets.insert(live.ticket, Ticketed::Reading(inbound));
                None
            }
        }
    }

    /// Fails every stream not complete once, in ticket order, with `failure`.
    fn fail_all(
        &mut self,
        failure: Failure,
        on_event: &mut impl FnMut(StreamClientEvent<C, D::Item<'_>>),
    ) {
        let live: Vec<u32> = self
            .tickets
            .values()
            .filter_map(|t| match t {
                Ticketed::Tag(tag) => Some(*tag),
                Ticketed::Reading(_) => None,
            })
            .collect();
        for tag in live {
            if let Some(Slot::Live(live)) = self.tags.remove(&tag) {
                let ticket = live.ticket;
                let context = self.settle_ticket(live, true);
                on_event(StreamClientEvent::Failed {
                    ticket,
                    context,
                    failure: StreamFailure::Connection(failure),
                });
            }
        }
        self.tags.clear();
        self.heads.clear();
        self.resets.clear();
    }
}

#[cfg(test)]
mod tests;
