//! The pipelined client: requests go out in order, responses come back in the same order.

use alloc::collections::VecDeque;

use super::body::{BodyIn, BodyWriter, Incoming, body_buf};
use super::{Body, Decoder, Encoded, Encoder, Error, Failure, Head, Refusal, SubmitError, Ticket};
use crate::{PBufRd, PBufRdWr, PBufWr, PipeBuf};

/// What a [`PipelinedClient`] reports from [`process`](PipelinedClient::process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent<C, R> {
    /// The response to the request with this ticket.
    Response {
        /// The request's ticket.
        ticket: Ticket,
        /// The context given to `submit`.
        context: C,
        /// The decoded response head.
        response: R,
        /// Whether a body follows; it arrives through
        /// [`response_body`](PipelinedClient::response_body).
        body: bool,
    },
    /// The request will get no response. Reported exactly once per request not cancelled.
    Failed {
        /// The request's ticket.
        ticket: Ticket,
        /// The context given to `submit`.
        context: C,
        /// Why.
        failure: Failure,
    },
}

/// A request sent and not answered yet; no context means cancelled.
#[derive(Debug)]
struct Pending<C> {
    ticket: Ticket,
    context: Option<C>,
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    Open,
    /// The incoming side ended; every pending request was failed.
    Ended,
    /// `process` failed; every pending request was failed.
    Broken,
}

/// A pipelined request/response client over one connection: any number of requests (up to
/// a maximum) are sent before their responses arrive, and the peer answers them in order.
///
/// - **Input**: [`submit`](PipelinedClient::submit) encodes a request into the outgoing
///   connection buffer at once (or refuses it, handing it back) and returns a [`Ticket`];
///   [`cancel`](PipelinedClient::cancel) drops interest in a response;
///   [`request_body`](PipelinedClient::request_body) is where the application writes a
///   streamed request body.
/// - **Work and output**: [`process`](PipelinedClient::process) moves request body bytes out,
///   decodes responses from the incoming connection buffer, matches each with the oldest
///   pending request and reports it as a [`ClientEvent`]; a response body flows into
///   [`response_body`](PipelinedClient::response_body).
///
/// **Driver obligations.** Call `process` after every change to the connection buffers or the
/// body buffers, until it reports no activity. A response body must be read to its end (its
/// EOF consumed) or its request cancelled before the next response is decoded: that is the
/// backpressure of a slow body consumer, which leaves the connection's bytes unread.
///
/// **Cancellation** drops the context and marks the slot: the response (and its body) is
/// still decoded, in its turn, and skipped, so the responses behind it are not held up.
///
/// **End of stream.** When the incoming side ends (close or abort) every request still
/// pending fails exactly once with [`Failure::Closed`] or [`Failure::Aborted`]; a body being
/// received is aborted; bytes of a truncated response are discarded. The client does not
/// close its outgoing side: the owner of the buffers decides that.
#[derive(Debug)]
pub struct PipelinedClient<E: Encoder, D, C> {
    encoder: E,
    decoder: D,
    max_in_flight: usize,
    next_ticket: u64,
    pending: VecDeque<Pending<C>>,
    conn: Conn,
    /// The request whose body is being sent, and how far it is.
    tx: Option<(Ticket, BodyWriter)>,
    req_body: PipeBuf<u8>,
    /// Response bodies: the one being received and the one the application reads.
    rx: BodyIn<Ticket>,
}

impl<E: Encoder, D: Decoder, C> PipelinedClient<E, D, C> {
    /// A client allowing at most `max_in_flight` requests without a response (at least 1).
    pub fn new(encoder: E, decoder: D, max_in_flight: usize) -> Self {
        PipelinedClient {
            encoder,
            decoder,
            max_in_flight: max_in_flight.max(1),
            next_ticket: 0,
            pending: VecDeque::new(),
            conn: Conn::Open,
            tx: None,
            req_body: body_buf(super::DEFAULT_BODY_LIMIT),
            rx: BodyIn::new(super::DEFAULT_BODY_LIMIT),
        }
    }

    /// Sets the limit of the request and response body buffers (the most body data held at
    /// once; a full response body buffer stops the decoding of the connection).
    pub fn with_body_limit(mut self, limit: usize) -> Self {
        self.req_body = body_buf(limit);
        self.rx = BodyIn::new(limit);
        self
    }

    /// Requests sent whose response has not arrived (cancelled ones included: their response
    /// is still to be skipped).
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Whether the incoming side has ended or `process` failed: nothing more will be sent
    /// or received.
    pub fn is_finished(&self) -> bool {
        self.conn != Conn::Open
    }

    /// Encodes `request` into `wr` (the outgoing connection buffer) and returns its ticket.
    ///
    /// Refuses, handing back request and context, when the maximum in flight is reached
    /// ([`Refusal::Full`]), when `wr` has no room for the whole request ([`Refusal::NoRoom`];
    /// nothing was written), while the previous request's body is still being sent
    /// ([`Refusal::BodyInProgress`]), after the connection ended ([`Refusal::Closed`]) or when
    /// the encoder fails ([`Refusal::Encode`]). If the encoder announces a body, write it
    /// into [`request_body`](PipelinedClient::request_body) and close it.
    pub fn submit(
        &mut self,
        wr: &mut PBufWr<'_>,
        request: E::Item,
        context: C,
    ) -> Result<Ticket, SubmitError<E::Item, C, E::Error>> {
        let reason = if self.conn != Conn::Open || wr.is_eof() {
            Refusal::Closed
        } else if self.tx.is_some() {
            Refusal::BodyInProgress
        } else if self.pending.len() >= self.max_in_flight {
            Refusal::Full
        } else {
            match self.encoder.encode(&request, wr) {
                Err(e) => Refusal::Encode(e),
                Ok(Encoded::Full) => Refusal::NoRoom,
                Ok(Encoded::Written(body)) => {
                    let ticket = Ticket(self.next_ticket);
                    self.next_ticket += 1;
                    self.pending.push_back(Pending {
                        ticket,
                        context: Some(context),
                    });
                    if body != Body::None {
                        self.req_body.reset();
                        self.tx = Some((ticket, BodyWriter::new(body)));
                    }
                    return Ok(ticket);
                }
            }
        };
        Err(SubmitError {
            reason,
            request,
            context,
        })
    }

    /// Drops interest in the response to `ticket`: it will be decoded in its turn and
    /// skipped, body included, without holding up the responses behind it. Returns the
    /// context if the response had not arrived yet. Cancelling a response whose body is
    /// arriving drops the rest of that body (and returns `None`: the context went out with
    /// the response). A request body being sent must still be finished: the request is on
    /// the wire already.
    pub fn cancel(&mut self, ticket: Ticket) -> Option<C> {
        if let Some(slot) = self.pending.iter_mut().find(|p| p.ticket == ticket) {
            return slot.context.take();
        }
        self.rx.drop_body_of(ticket);
        None
    }

    /// The body buffer of the request whose body is being sent, with its ticket: write the
    /// body, push for a chunk boundary, close to end it, abort to break the connection.
    pub fn request_body(&mut self) -> Option<(Ticket, PBufWr<'_>)> {
        let (ticket, _) = self.tx?;
        Some((ticket, self.req_body.wr()))
    }

    /// The body buffer of the latest response with a body, with its ticket, until the
    /// application has consumed its EOF (close: complete; abort: the connection broke
    /// inside it). A push marks a chunk boundary.
    pub fn response_body(&mut self) -> Option<(Ticket, PBufRd<'_>)> {
        self.rx.rd()
    }

    /// Sends request body bytes, decodes responses and handles the end of the incoming
    /// stream, reporting each response or failure to `on_event`. Returns whether anything
    /// happened (bytes moved, state changed, events reported).
    ///
    /// `net` is the connection as the client sees it: `net.rd` the incoming bytes, `net.wr`
    /// the outgoing ones. On error the connection is failed as described in [`Error`].
    pub fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        mut on_event: impl FnMut(ClientEvent<C, D::Item<'_>>),
    ) -> Result<bool, Error<D::Error, E::Error>> {
        if self.conn == Conn::Broken {
            return Ok(net.rd.discard());
        }
        let before = self.tripwires(&net);
        let mut events = false;
        let result = self.run(&mut net, &mut on_event, &mut events);
        if let Err(e) = result {
            self.fail(&mut net, Failure::Broken, &mut on_event);
            self.conn = Conn::Broken;
            return Err(e);
        }
        Ok(events || before != self.tripwires(&net))
    }

    fn tripwires(&self, net: &PBufRdWr<'_>) -> [crate::Tripwire; 4] {
        [
            net.rd.tripwire(),
            net.wr.tripwire(),
            self.req_body.tripwire(),
            self.rx.tripwire(),
        ]
    }

    fn run(
        &mut self,
        net: &mut PBufRdWr<'_>,
        on_event: &mut impl FnMut(ClientEvent<C, D::Item<'_>>),
        events: &mut bool,
    ) -> Result<(), Error<D::Error, E::Error>> {
        if let Some((_, writer)) = &mut self.tx {
            writer.pump(&mut self.encoder, &mut self.req_body.rd(), &mut net.wr)?;
            if writer.is_done() {
                self.tx = None;
            }
        }
        if self.conn != Conn::Open {
            return Ok(());
        }
        let held = loop {
            let held = self.rx.pump(&mut self.decoder, &mut net.rd, events)?;
            if held != Incoming::Free {
                break held;
            }
            let Some(Head { message, len, body }) =
                self.decoder.decode(net.rd.data()).map_err(Error::Decode)?
            else {
                break Incoming::Free;
            };
            let Some(slot) = self.pending.pop_front() else {
                return Err(Error::Desynchronized);
            };
            let wanted = slot.context.is_some().then_some(slot.ticket);
            match slot.context {
                Some(context) => {
                    on_event(ClientEvent::Response {
                        ticket: slot.ticket,
                        context,
                        response: message,
                        body: body != Body::None,
                    });
                    *events = true;
                }
                None => drop(message), // cancelled: skipped
            }
            net.rd.consume(len)?;
            if body != Body::None {
                self.rx.start(wanted, body);
            }
        };
        // The end of the incoming stream, once nothing more can be decoded before it.
        if let Some(kind) = net.rd.pending_eof()
            && held.lets_eof_through(&net.rd)
        {
            net.rd.consume_all();
            net.rd.consume_eof();
            self.fail(net, kind.into(), on_event);
            self.conn = Conn::Ended;
            *events = true;
        }
        Ok(())
    }

    /// Fails every pending request once, aborts a body being received and, for a broken
    /// connection, the outgoing side and a body being sent.
    fn fail(
        &mut self,
        net: &mut PBufRdWr<'_>,
        failure: Failure,
        on_event: &mut impl FnMut(ClientEvent<C, D::Item<'_>>),
    ) {
        self.rx.abort();
        if failure == Failure::Broken {
            net.wr.abort();
            if self.tx.take().is_some() {
                self.req_body.rd().discard();
            }
        }
        for slot in self.pending.drain(..) {
            if let Some(context) = slot.context {
                on_event(ClientEvent::Failed {
                    ticket: slot.ticket,
                    context,
                    failure,
                });
            }
        }
    }
}
