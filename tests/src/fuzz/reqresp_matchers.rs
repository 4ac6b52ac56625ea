//! The request/response components of `pipebuf::reqresp` (pipelined and multiplexed,
//! client and server) driven by operations read from the input, with arbitrary bytes from
//! the peer, over the line codec of the request/response tests ([`crate::reqresp_text`]).
//!
//! Clients: every ticket gets at most one outcome (response, failure, timeout, or a
//! cancellation that returned its context), a cancelled request is never reported, a
//! pipelined client reports responses in ticket order, a multiplexed one keeps at most
//! `max_in_flight` in flight; once the incoming side has ended every request not cancelled
//! has its outcome. Servers: requests are numbered 0, 1, 2, … (pipelined) or carry tags
//! that are not already open (multiplexed: a repeated open tag must be
//! `Error::DuplicateTag`); the responses leave in request order (pipelined) or in the order
//! they were finished (multiplexed), each exactly once. Everyone: at most one error, and
//! every call sequence settles.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use pipebuf::PipeBufPair;
use pipebuf::reqresp::{
    ClientEvent, Decoder, Error, LatePolicy, MuxClient, MuxEvent, MuxServer, MuxServerEvent,
    PipelinedClient, PipelinedServer, ServerEvent, Ticket,
};

use super::input::Input;
use crate::reqresp_text::{Msg, PLAIN, TAGGED, TagField, Text};

/// Most operations per input.
const MAX_OPS: usize = 200;
/// Most `process` calls for one settle.
const SETTLE: usize = 200;

/// Runs one input; panics if an invariant breaks.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    match input.below(4) {
        0 => pipelined_client(input),
        1 => mux_client(input),
        2 => pipelined_server(input),
        _ => mux_server(input),
    }
}

/// A short message text from the input, without the codec's special bytes.
fn text(input: &mut Input<'_>) -> String {
    let n = input.below(8);
    input
        .take(n)
        .iter()
        .map(|&b| char::from(b'a' + b % 26))
        .collect()
}

/// The peer writes bytes from the input into `wire`'s lower side, or ends it. (Clients and
/// servers alike take the upper side.)
fn peer_op(input: &mut Input<'_>, wire: &mut PipeBufPair) {
    let mut peer = wire.lower();
    match input.below(8) {
        0 => peer.wr.close(),
        1 => peer.wr.abort(),
        2 => peer.wr.push(),
        _ => {
            let n = input.below(48);
            let bytes = input.take(n);
            if !peer.wr.is_eof() {
                let _ = peer.wr.append_some(bytes);
            }
        }
    }
}

/// Outcomes of a client's tickets.
#[derive(Debug, Default)]
struct Tickets {
    submitted: u64,
    issued: Vec<Ticket>,
    done: BTreeMap<u64, &'static str>,
}

impl Tickets {
    fn submit(&mut self, ticket: Ticket) {
        assert_eq!(
            ticket.get(),
            self.submitted,
            "tickets count up without gaps"
        );
        self.submitted += 1;
        self.issued.push(ticket);
    }

    fn outcome(&mut self, ticket: u64, what: &'static str) {
        assert!(
            ticket < self.submitted,
            "{what} for ticket {ticket} never issued"
        );
        if let Some(before) = self.done.insert(ticket, what) {
            panic!("ticket {ticket}: {what} after {before}");
        }
    }

    fn all_done(&self) {
        for t in 0..self.submitted {
            assert!(self.done.contains_key(&t), "ticket {t} has no outcome");
        }
    }
}

fn pipelined_client(mut input: Input<'_>) {
    let max_in_flight = 1 + input.below(8);
    let mut client: PipelinedClient<Text, Text, u64> =
        PipelinedClient::new(PLAIN, PLAIN, max_in_flight).with_body_limit(1 + input.below(64));
    let mut wire = PipeBufPair::with_limits(64, 64 + input.below(512));
    let mut tickets = Tickets::default();
    let mut last_response: Option<u64> = None;
    let mut errors = 0;
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        match input.below(6) {
            0 | 1 => {
                let msg = Msg::new(&text(&mut input));
                let context = tickets.submitted;
                if let Ok(ticket) = client.submit(&mut wire.upper().wr, msg, context) {
                    tickets.submit(ticket);
                }
            }
            2 if !tickets.issued.is_empty() => {
                let ticket = tickets.issued[input.below(tickets.issued.len())];
                if let Some(context) = client.cancel(ticket) {
                    assert_eq!(context, ticket.get(), "cancel returned another context");
                    tickets.outcome(ticket.get(), "cancel");
                }
            }
            2 => (),
            3 => peer_op(&mut input, &mut wire),
            4 => {
                wire.lower().rd.consume_all();
            }
            _ => {
                if let Some((_, mut body)) = client.response_body() {
                    body.consume_all();
                    body.consume_push();
                    body.consume_eof();
                }
            }
        }
        settle_client(
            &mut client,
            &mut wire,
            &mut tickets,
            &mut last_response,
            &mut errors,
        );
    }
    // The peer's side ends: every request still pending fails.
    wire.lower().wr.close();
    // Read response bodies as they come (a body buffer may hold one byte) until the end.
    for _ in 0..2048 {
        if client.is_finished() {
            break;
        }
        if let Some((_, mut body)) = client.response_body() {
            body.consume_all();
            body.consume_push();
            body.consume_eof();
        }
        settle_client(
            &mut client,
            &mut wire,
            &mut tickets,
            &mut last_response,
            &mut errors,
        );
    }
    assert!(
        client.is_finished(),
        "the incoming side ended and the client is not finished: {client:?}, {wire:?}"
    );
    tickets.all_done();
}

fn settle_client(
    client: &mut PipelinedClient<Text, Text, u64>,
    wire: &mut PipeBufPair,
    tickets: &mut Tickets,
    last_response: &mut Option<u64>,
    errors: &mut usize,
) {
    for _ in 0..SETTLE {
        let mut events = Vec::new();
        let active = match client.process(wire.upper(), |e| {
            events.push(match e {
                ClientEvent::Response {
                    ticket, context, ..
                } => (ticket.get(), context, "response"),
                ClientEvent::Failed {
                    ticket, context, ..
                } => (ticket.get(), context, "failure"),
            })
        }) {
            Ok(active) => active,
            Err(_) => {
                *errors += 1;
                assert_eq!(*errors, 1, "a second error");
                true
            }
        };
        for (ticket, context, what) in events {
            assert_eq!(ticket, context, "the context of another ticket");
            tickets.outcome(ticket, what);
            if what == "response" {
                assert!(
                    last_response.is_none_or(|last| ticket > last),
                    "response to {ticket} after {last_response:?}"
                );
                *last_response = Some(ticket);
            }
        }
        if !active {
            return;
        }
    }
    panic!("the pipelined client never settles");
}

type Mux = MuxClient<Text, Text, TagField, u64>;

fn mux_client(mut input: Input<'_>) {
    let max_tag = input.below(8) as u32;
    let max_in_flight = 1 + input.below(8);
    let policy = if input.bool() {
        LatePolicy::Report
    } else {
        LatePolicy::Drop
    };
    let grace = Duration::from_millis(input.below(50) as u64);
    let mut client: Mux = MuxClient::new(TAGGED, TAGGED, TagField, max_tag, max_in_flight)
        .with_late_policy(policy, grace);
    let mut wire = PipeBufPair::with_limits(64, 64 + input.below(512));
    let mut tickets = Tickets::default();
    let mut now = Duration::ZERO;
    let mut errors = 0;
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        match input.below(7) {
            0 | 1 => {
                let msg = Msg::new(&text(&mut input));
                let deadline = match input.below(4) {
                    0 => None,
                    n => Some(now + Duration::from_millis(n as u64 * 10)),
                };
                let context = tickets.submitted;
                if let Ok(ticket) = client.submit(&mut wire.upper().wr, msg, context, deadline) {
                    tickets.submit(ticket);
                }
            }
            2 if !tickets.issued.is_empty() => {
                let ticket = tickets.issued[input.below(tickets.issued.len())];
                if let Some(context) = client.cancel(ticket) {
                    assert_eq!(context, ticket.get(), "cancel returned another context");
                    tickets.outcome(ticket.get(), "cancel");
                }
            }
            2 => (),
            3 => peer_op(&mut input, &mut wire),
            4 => {
                wire.lower().rd.consume_all();
            }
            5 => {
                now += Duration::from_millis(input.below(40) as u64);
                if let Some(next) = client.next_deadline() {
                    let mut polls = 0;
                    while let Some((ticket, context)) = client.poll_timeout(now) {
                        assert_eq!(context, ticket.get(), "the context of another ticket");
                        tickets.outcome(ticket.get(), "timeout");
                        assert!(next <= now, "a timeout before the next deadline");
                        polls += 1;
                        assert!(polls <= 64, "poll_timeout never stops");
                    }
                }
            }
            _ => {
                // A well-formed tagged response for a tag that may be in flight.
                let tag = input.below(max_tag as usize + 2);
                let line = format!("{tag} {}\n", text(&mut input));
                let mut peer = wire.lower();
                if !peer.wr.is_eof() {
                    let _ = peer.wr.append(line.as_bytes());
                }
            }
        }
        settle_mux(&mut client, &mut wire, &mut tickets, policy, &mut errors);
        assert!(
            client.in_flight() <= max_in_flight,
            "more in flight than allowed"
        );
        assert!(
            client.tags_taken() <= max_in_flight,
            "more tags taken than allowed"
        );
    }
    wire.lower().wr.close();
    settle_mux(&mut client, &mut wire, &mut tickets, policy, &mut errors);
    assert!(
        client.is_finished(),
        "the incoming side ended and the client is not finished"
    );
    assert_eq!(client.in_flight(), 0, "requests in flight after the end");
    tickets.all_done();
}

fn settle_mux(
    client: &mut Mux,
    wire: &mut PipeBufPair,
    tickets: &mut Tickets,
    policy: LatePolicy,
    errors: &mut usize,
) {
    for _ in 0..SETTLE {
        let mut events = Vec::new();
        let active = match client.process(wire.upper(), |e| {
            events.push(match e {
                MuxEvent::Response {
                    ticket, context, ..
                } => Some((ticket.get(), context, "response")),
                MuxEvent::Failed {
                    ticket, context, ..
                } => Some((ticket.get(), context, "failure")),
                MuxEvent::Late { .. } => None,
            })
        }) {
            Ok(active) => active,
            Err(_) => {
                *errors += 1;
                assert_eq!(*errors, 1, "a second error");
                true
            }
        };
        for event in events {
            match event {
                Some((ticket, context, what)) => {
                    assert_eq!(ticket, context, "the context of another ticket");
                    tickets.outcome(ticket, what);
                }
                None => assert_eq!(policy, LatePolicy::Report, "a late response reported"),
            }
        }
        if !active {
            return;
        }
    }
    panic!("the multiplexed client never settles");
}

/// Reads every complete response line the server wrote: (tag or none, text).
fn responses(wire: &mut PipeBufPair, tagged: bool) -> Vec<(Option<u32>, String)> {
    let mut codec = Text {
        tagged,
        max_line: 4096,
    };
    let mut out = Vec::new();
    let mut rd = wire.lower().rd;
    while let Ok(Some(head)) = codec.decode(rd.data()) {
        let (tag, text, len) = (head.message.tag, head.message.text(), head.len);
        out.push((tag, text));
        rd.consume(len).expect("a decoded head");
    }
    out
}

fn pipelined_server(mut input: Input<'_>) {
    let max_in_flight = 1 + input.below(8);
    let max_waiting = 1 + input.below(8);
    let mut server: PipelinedServer<Text, Text> =
        PipelinedServer::new(PLAIN, PLAIN, max_in_flight, max_waiting)
            .with_body_limit(1 + input.below(64));
    let mut wire = PipeBufPair::with_limits(64, 64 + input.below(512));
    let mut next_seq = 0u64;
    let mut open: BTreeSet<u64> = BTreeSet::new();
    let mut next_out = 0u64;
    let mut ended = None;
    let mut errors = 0;
    let mut ops = 0;
    let check_output = |wire: &mut PipeBufPair, next_out: &mut u64| {
        for (_, text) in responses(wire, false) {
            assert_eq!(text, format!("r{next_out}"), "responses out of order");
            *next_out += 1;
        }
    };
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        match input.below(5) {
            0 | 1 if !open.is_empty() => {
                let seq = *open
                    .iter()
                    .nth(input.below(open.len()))
                    .expect("an open request");
                let result = server.finish(seq, Msg::new(&format!("r{seq}")));
                if result.is_ok() {
                    open.remove(&seq);
                }
            }
            0 | 1 => (),
            2 => peer_op(&mut input, &mut wire),
            3 => check_output(&mut wire, &mut next_out),
            _ => {
                if let Some((_, mut body)) = server.request_body() {
                    body.consume_all();
                    body.consume_push();
                    body.consume_eof();
                }
            }
        }
        for _ in 0..=SETTLE {
            let mut events = Vec::new();
            let active = match server.process(wire.upper(), |e| {
                events.push(match e {
                    ServerEvent::Request { seq, .. } => Ok(seq),
                    ServerEvent::End(kind) => Err(kind),
                })
            }) {
                Ok(active) => active,
                Err(_) => {
                    errors += 1;
                    assert_eq!(errors, 1, "a second error");
                    true
                }
            };
            for event in events {
                match event {
                    Ok(seq) => {
                        assert_eq!(seq, next_seq, "requests numbered out of order");
                        assert!(ended.is_none(), "a request after the end");
                        next_seq += 1;
                        open.insert(seq);
                    }
                    Err(kind) => {
                        assert!(ended.is_none(), "a second end");
                        ended = Some(kind);
                    }
                }
            }
            if !active {
                break;
            }
        }
    }
    check_output(&mut wire, &mut next_out);
    assert!(next_out <= next_seq, "more responses than requests");
}

fn mux_server(mut input: Input<'_>) {
    let max_in_flight = 1 + input.below(8);
    let mut server: MuxServer<Text, Text, TagField> =
        MuxServer::new(TAGGED, TAGGED, TagField, max_in_flight);
    let mut wire = PipeBufPair::with_limits(64, 64 + input.below(512));
    let mut open: BTreeSet<u32> = BTreeSet::new();
    let mut finished: Vec<u32> = Vec::new();
    let mut sent = 0;
    let mut errors = 0;
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        match input.below(5) {
            0 | 1 if !open.is_empty() => {
                let tag = *open
                    .iter()
                    .nth(input.below(open.len()))
                    .expect("an open tag");
                if server.finish(tag, Msg::new(&format!("r{tag}"))).is_ok() {
                    open.remove(&tag);
                    finished.push(tag);
                }
            }
            0 | 1 => (),
            2 => peer_op(&mut input, &mut wire),
            3 => {
                // A well-formed request, perhaps with a tag that is open.
                let line = format!("{} {}\n", input.below(12), text(&mut input));
                let mut peer = wire.lower();
                if !peer.wr.is_eof() {
                    let _ = peer.wr.append(line.as_bytes());
                }
            }
            _ => {
                for (tag, text) in responses(&mut wire, true) {
                    let tag = tag.expect("a tagged response");
                    assert_eq!(text, format!("r{tag}"), "a response to another tag");
                    assert_eq!(finished.get(sent), Some(&tag), "responses out of order");
                    sent += 1;
                }
            }
        }
        for _ in 0..=SETTLE {
            let mut events = Vec::new();
            let result = server.process(wire.upper(), |e| {
                events.push(match e {
                    MuxServerEvent::Request { tag, .. } => Some(tag),
                    MuxServerEvent::End(_) => None,
                })
            });
            for tag in events.into_iter().flatten() {
                assert!(open.insert(tag), "request with open tag {tag} accepted");
                assert!(
                    open.len() <= max_in_flight,
                    "more requests open than allowed"
                );
            }
            let active = match result {
                Ok(active) => active,
                Err(e) => {
                    errors += 1;
                    assert_eq!(errors, 1, "a second error");
                    if let Error::DuplicateTag(tag) = e {
                        // Open, or finished and perhaps not written yet.
                        assert!(
                            open.contains(&tag) || finished[sent..].contains(&tag),
                            "duplicate tag {tag} that is not open"
                        );
                    }
                    open.clear();
                    true
                }
            };
            if !active {
                break;
            }
        }
    }
}
