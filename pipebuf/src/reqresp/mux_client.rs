//! The multiplexed client: requests carry tags, responses come back in any order.

use alloc::collections::{BTreeMap, BTreeSet};
use core::time::Duration;

use super::tags::TagSpace;
use super::{
    Body, Decoder, Encoded, Encoder, Error, Failure, Head, LatePolicy, Refusal, SubmitError,
    Tagging, Ticket,
};
use crate::{PBufRdWr, PBufWr};

/// What a [`MuxClient`] reports from [`process`](MuxClient::process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MuxEvent<C, R> {
    /// The response to the request with this ticket.
    Response {
        /// The request's ticket.
        ticket: Ticket,
        /// The context given to `submit`.
        context: C,
        /// The decoded response.
        response: R,
    },
    /// The request will get no response (the connection ended or failed). Timeouts are
    /// reported by [`poll_timeout`](MuxClient::poll_timeout) instead.
    Failed {
        /// The request's ticket.
        ticket: Ticket,
        /// The context given to `submit`.
        context: C,
        /// Why.
        failure: Failure,
    },
    /// A response to a request that had timed out, with [`LatePolicy::Report`].
    Late {
        /// The tag it carried (now free again).
        tag: u32,
        /// The decoded response.
        response: R,
    },
}

/// What a tag in use stands for.
#[derive(Debug)]
enum Slot<C> {
    /// A request waiting for its response.
    Waiting {
        ticket: Ticket,
        context: C,
        deadline: Option<Duration>,
    },
    /// A request timed out or cancelled: its tag stays taken until the response arrives or
    /// until `forget_at`, so a late response cannot be taken for a newer request's.
    Gone {
        forget_at: Option<Duration>,
        report: bool,
    },
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    Open,
    Ended,
    Broken,
}

/// A multiplexed request/response client: each request carries a tag (put in by the
/// caller's [`Tagging`]), and responses are matched by tag in whatever order they come.
///
/// - **Input**: [`submit`](MuxClient::submit) picks a free tag, puts it into the request,
///   encodes the request into the outgoing connection buffer and returns a [`Ticket`];
///   [`cancel`](MuxClient::cancel) drops interest in a response.
/// - **Work and output**: [`process`](MuxClient::process) decodes responses and reports them
///   as [`MuxEvent`]s; [`poll_timeout`](MuxClient::poll_timeout) reports requests whose
///   deadline has passed, on the caller's clock (`now`), with no I/O needed.
///
/// **Tags** come from `0..=max_tag`, round-robin, and are never reused while taken. A tag is
/// taken from `submit` until its response arrives; after a timeout or a cancellation it
/// stays taken — *remembered* — until the late response arrives (dropped or reported by the
/// [`LatePolicy`]) or until `late_grace` after the deadline has passed, so a late response
/// is never taken for a newer request's. Remembered tags count towards `max_in_flight`:
/// all the client's state is bounded by `max_in_flight` entries, however silent the peer.
/// A cancelled request without a deadline stays remembered until its response arrives.
/// A response whose tag is not taken is [`Error::Desynchronized`].
///
/// **Driver obligations.** Call `process` after every change to the connection buffers and
/// `poll_timeout` until it returns `None` whenever [`next_deadline`](MuxClient::next_deadline)
/// has passed. Bodies are not supported here: a codec announcing one is
/// [`Error::UnexpectedBody`].
#[derive(Debug)]
pub struct MuxClient<E: Encoder, D, T, C> {
    encoder: E,
    decoder: D,
    tagging: T,
    tags: TagSpace,
    max_in_flight: usize,
    late_policy: LatePolicy,
    late_grace: Duration,
    next_ticket: u64,
    slots: BTreeMap<u32, Slot<C>>,
    tickets: BTreeMap<Ticket, u32>,
    /// When something happens to a tag: a deadline, or the end of a remembered tag's grace.
    timers: BTreeSet<(Duration, u32)>,
    conn: Conn,
}

impl<E: Encoder, D: Decoder, T: Tagging<E, D>, C> MuxClient<E, D, T, C> {
    /// A client with tags `0..=max_tag` and at most `max_in_flight` tags taken (at least 1;
    /// also limited by the number of tags). Late responses are dropped and timed-out tags
    /// remembered for 30 s; see [`with_late_policy`](MuxClient::with_late_policy).
    pub fn new(encoder: E, decoder: D, tagging: T, max_tag: u32, max_in_flight: usize) -> Self {
        let tags = TagSpace::new(max_tag);
        MuxClient {
            encoder,
            decoder,
            tagging,
            max_in_flight: max_in_flight.clamp(1, tags.size()),
            tags,
            late_policy: LatePolicy::Drop,
            late_grace: Duration::from_secs(30),
            next_ticket: 0,
            slots: BTreeMap::new(),
            tickets: BTreeMap::new(),
            timers: BTreeSet::new(),
            conn: Conn::Open,
        }
    }

    /// Sets what happens to a response after its request timed out, and how long after the
    /// deadline its tag stays remembered (taken) waiting for it.
    pub fn with_late_policy(mut self, policy: LatePolicy, grace: Duration) -> Self {
        self.late_policy = policy;
        self.late_grace = grace;
        self
    }

    /// Requests waiting for their response.
    pub fn in_flight(&self) -> usize {
        self.tickets.len()
    }

    /// Tags taken: requests in flight plus remembered tags of timed-out or cancelled ones.
    pub fn tags_taken(&self) -> usize {
        self.slots.len()
    }

    /// Whether the incoming side has ended or `process` failed.
    pub fn is_finished(&self) -> bool {
        self.conn != Conn::Open
    }

    /// Tags `request` with a free tag, encodes it into `wr` and returns its ticket. With a
    /// `deadline` (on the caller's clock), [`poll_timeout`](MuxClient::poll_timeout) fails
    /// it once `now` reaches the deadline without a response.
    ///
    /// Refuses, handing back request and context, when `max_in_flight` tags are taken
    /// ([`Refusal::Full`]), when `wr` has no room ([`Refusal::NoRoom`]), after the
    /// connection ended ([`Refusal::Closed`]) or when the encoder fails. An encoder that
    /// announces a body has put a head on the wire whose body cannot follow: the client
    /// aborts `wr`, refuses with [`Refusal::Closed`] and is finished.
    pub fn submit(
        &mut self,
        wr: &mut PBufWr<'_>,
        mut request: E::Item,
        context: C,
        deadline: Option<Duration>,
    ) -> Result<Ticket, SubmitError<E::Item, C, E::Error>> {
        let slots = &self.slots;
        let tag = if self.conn != Conn::Open || wr.is_eof() {
            Err(Refusal::Closed)
        } else if slots.len() >= self.max_in_flight {
            Err(Refusal::Full)
        } else {
            self.tags
                .alloc(|t| slots.contains_key(&t))
                .ok_or(Refusal::Full)
        };
        let reason = match tag {
            Err(reason) => reason,
            Ok(tag) => {
                self.tagging.set_tag(&mut request, tag);
                match self.encoder.encode(&request, wr) {
                    Err(e) => Refusal::Encode(e),
                    Ok(Encoded::Full) => Refusal::NoRoom,
                    Ok(Encoded::Written(Body::None)) => {
                        let ticket = Ticket(self.next_ticket);
                        self.next_ticket += 1;
                        self.slots.insert(
                            tag,
                            Slot::Waiting {
                                ticket,
                                context,
                                deadline,
                            },
                        );
                        self.tickets.insert(ticket, tag);
                        if let Some(at) = deadline {
                            self.timers.insert((at, tag));
                        }
                        return Ok(ticket);
                    }
                    Ok(Encoded::Written(_)) => {
                        // The head is on the wire and its body cannot follow: the stream
                        // is broken.
                        wr.abort();
                        self.conn = Conn::Broken;
                        Refusal::Closed
                    }
                }
            }
        };
        Err(SubmitError {
            reason,
            request,
            context,
        })
    }

    /// Drops interest in the response to `ticket` and returns its context, or `None` if it
    /// is not in flight. Its tag stays remembered as after a timeout (the response, when it
    /// comes, is dropped).
    pub fn cancel(&mut self, ticket: Ticket) -> Option<C> {
        let tag = self.tickets.remove(&ticket)?;
        let slot = self.slots.get_mut(&tag)?;
        let forget_at = match slot {
            Slot::Waiting {
                deadline: Some(at), ..
            } => {
                self.timers.remove(&(*at, tag));
                let forget = at.saturating_add(self.late_grace);
                self.timers.insert((forget, tag));
                Some(forget)
            }
            _ => None,
        };
        let old = core::mem::replace(
            slot,
            Slot::Gone {
                forget_at,
                report: false,
            },
        );
        match old {
            Slot::Waiting { context, .. } => Some(context),
            Slot::Gone { .. } => None,
        }
    }

    /// The earliest moment at which [`poll_timeout`](MuxClient::poll_timeout) has work: a
    /// request's deadline or the end of a remembered tag's grace.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.timers.first().map(|&(at, _)| at)
    }

    /// Reports one request whose deadline is at or before `now`, with its context, and
    /// remembers its tag; frees remembered tags whose grace has passed on the way. Call it
    /// until it returns `None`.
    pub fn poll_timeout(&mut self, now: Duration) -> Option<(Ticket, C)> {
        while let Some(&(at, tag)) = self.timers.first() {
            if at > now {
                return None;
            }
            self.timers.pop_first();
            match self.slots.remove(&tag) {
                Some(Slot::Waiting {
                    ticket, context, ..
                }) => {
                    self.tickets.remove(&ticket);
                    let forget = at.saturating_add(self.late_grace);
                    self.slots.insert(
                        tag,
                        Slot::Gone {
                            forget_at: Some(forget),
                            report: self.late_policy == LatePolicy::Report,
                        },
                    );
                    self.timers.insert((forget, tag));
                    return Some((ticket, context));
                }
                // A remembered tag's grace is over: the tag is free again.
                Some(Slot::Gone { .. }) | None => {}
            }
        }
        None
    }

    /// Decodes responses, matches them by tag and reports them to `on_event`; handles the
    /// end of the incoming stream (every request in flight fails once with
    /// [`Failure::Closed`] or [`Failure::Aborted`]). Returns whether anything happened.
    pub fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        mut on_event: impl FnMut(MuxEvent<C, D::Item<'_>>),
    ) -> Result<bool, Error<D::Error, E::Error>> {
        if self.conn != Conn::Open {
            return Ok(net.rd.discard());
        }
        let before = (net.rd.tripwire(), net.wr.tripwire());
        let mut events = false;
        if let Err(e) = self.run(&mut net, &mut on_event, &mut events) {
            net.wr.abort();
            self.fail(Failure::Broken, &mut on_event);
            self.conn = Conn::Broken;
            return Err(e);
        }
        Ok(events || before != (net.rd.tripwire(), net.wr.tripwire()))
    }

    fn run(
        &mut self,
        net: &mut PBufRdWr<'_>,
        on_event: &mut impl FnMut(MuxEvent<C, D::Item<'_>>),
        events: &mut bool,
    ) -> Result<(), Error<D::Error, E::Error>> {
        loop {
            let Some(Head { message, len, body }) =
                self.decoder.decode(net.rd.data()).map_err(Error::Decode)?
            else {
                break;
            };
            if body != Body::None {
                return Err(Error::UnexpectedBody);
            }
            let tag = self.tagging.tag_of(&message);
            match self.slots.remove(&tag) {
                None => return Err(Error::Desynchronized),
                Some(Slot::Waiting {
                    ticket,
                    context,
                    deadline,
                }) => {
                    self.tickets.remove(&ticket);
                    if let Some(at) = deadline {
                        self.timers.remove(&(at, tag));
                    }
                    on_event(MuxEvent::Response {
                        ticket,
                        context,
                        response: message,
                    });
                    *events = true;
                }
                Some(Slot::Gone { forget_at, report }) => {
                    if let Some(at) = forget_at {
                        self.timers.remove(&(at, tag));
                    }
                    if report {
                        on_event(MuxEvent::Late {
                            tag,
                            response: message,
                        });
                        *events = true;
                    } else {
                        drop(message);
                    }
                }
            }
            net.rd.consume(len)?;
        }
        if let Some(kind) = net.rd.pending_eof() {
            net.rd.consume_all();
            net.rd.consume_eof();
            self.fail(kind.into(), on_event);
            self.conn = Conn::Ended;
            *events = true;
        }
        Ok(())
    }

    /// Fails every request in flight once, in ticket order, and forgets all tags.
    fn fail(&mut self, failure: Failure, on_event: &mut impl FnMut(MuxEvent<C, D::Item<'_>>)) {
        for (ticket, tag) in core::mem::take(&mut self.tickets) {
            if let Some(Slot::Waiting { context, .. }) = self.slots.remove(&tag) {
                on_event(MuxEvent::Failed {
                    ticket,
                    context,
                    failure,
                });
            }
        }
        self.slots.clear();
        self.timers.clear();
    }
}
