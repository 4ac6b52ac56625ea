//! The streaming client against frames written by hand (see `testing`).

use super::*;
use crate::reqresp::stream::testing::{frames, read_all, wire};
use crate::reqresp::stream::{StreamFrames, WireError};
use crate::{PipeBufPair, SettleError, settle};
use alloc::string::String;

type Client = StreamClient<StreamFrames, StreamFrames, u32>;
type E = Error<WireError, WireError>;

/// A client with tags 0..=max_tag and body buffers of 8 bytes each way.
fn client(max_tag: u32, max_in_flight: usize) -> (Client, PipeBufPair) {
    let codec = StreamFrames::default();
    let c = StreamClient::new(codec, codec, max_tag, max_in_flight).with_body_limits(8, 8);
    (c, PipeBufPair::new())
}

fn t(n: u64) -> Ticket {
    Ticket(n)
}

/// Feeds the server's frames (see `testing`), runs the client until it settles and
/// returns its events and the frames it wrote.
fn step(c: &mut Client, net: &mut PipeBufPair, input: &str) -> Result<(Vec<String>, String), E> {
    if !input.is_empty() {
        net.lower().wr.append(&wire(input)).unwrap();
    }
    let mut events = Vec::new();
    let settled = settle(50, || {
        c.process(net.upper(), |ev| {
            events.push(match ev {
                StreamClientEvent::Response {
                    ticket,
                    context,
                    response,
                    body,
                } => format!(
                    "resp {ticket} {context} {}{}",
                    String::from_utf8_lossy(response),
                    if body { "+" } else { "" }
                ),
                StreamClientEvent::Failed {
                    ticket,
                    context,
                    failure,
                } => format!("failed {ticket} {context:?} {failure:?}"),
                StreamClientEvent::StreamError {
                    ticket,
                    context,
                    fault,
                } => format!("fault {ticket} {context:?} {fault:?}"),
            })
        })
    });
    match settled {
        Ok(_) => Ok((events, frames(&mut net.lower().rd))),
        Err(SettleError::Component(e)) => Err(e),
        Err(e) => panic!("{e:?}"),
    }
}

fn out(c: &mut Client, net: &mut PipeBufPair, input: &str) -> String {
    step(c, net, input).unwrap().1
}

fn submit(c: &mut Client, text: &str, body: bool, context: u32) -> Ticket {
    c.submit(text.as_bytes().to_vec(), body, context).unwrap()
}

#[test]
fn requests_go_out_in_submit_order_with_tags_round_robin() {
    let (mut c, mut net) = client(9, 8);
    assert_eq!(submit(&mut c, "a", false, 1), t(0));
    assert_eq!(submit(&mut c, "b", false, 2), t(1));
    assert_eq!(submit(&mut c, "c", true, 3), t(2));
    assert_eq!(out(&mut c, &mut net, ""), "H0:a H1:b H2+:c");
    let (evs, _) = step(&mut c, &mut net, "H1:B H0:A").unwrap();
    assert_eq!(evs, ["resp #1 2 B", "resp #0 1 A"]);
    assert_eq!((c.in_flight(), c.tags_taken()), (1, 1));
}

#[test]
fn submit_refuses_when_full_and_hands_the_request_back() {
    let (mut c, _) = client(9, 2);
    submit(&mut c, "a", false, 1);
    submit(&mut c, "b", false, 2);
    let refused = c.submit(b"c".to_vec(), false, 3).unwrap_err();
    assert_eq!(
        (refused.reason, refused.request, refused.context),
        (Refusal::Full, b"c".to_vec(), 3)
    );
}

#[test]
fn a_frame_for_a_tag_not_taken_is_a_connection_error_that_fails_every_stream() {
    let (mut c, mut net) = client(9, 8);
    submit(&mut c, "a", false, 1);
    out(&mut c, &mut net, "");
    let mut evs = Vec::new();
    net.lower().wr.append(&wire("H5:x")).unwrap();
    let r = c.process(net.upper(), |ev| evs.push(format!("{ev:?}")));
    assert_eq!(r, Err(Error::Desynchronized));
    assert_eq!(evs.len(), 1);
    assert!(evs[0].contains("Connection(Broken)"), "{evs:?}");
    assert_eq!(net.down.state(), crate::PBufState::Aborting);
}

#[test]
fn a_frame_for_a_request_not_written_yet_is_a_connection_error() {
    // 16-byte buffers: the 30-byte head cannot be written.
    let mut net = PipeBufPair::with_limits(16, 16);
    let codec = StreamFrames::default();
    let mut c: Client = StreamClient::new(codec, codec, 9, 8);
    submit(&mut c, "too long for the wire", false, 1);
    assert!(!c.process(net.upper(), |_| ()).unwrap());
    net.lower().wr.append(&wire("R0:8")).unwrap();
    assert_eq!(
        c.process(net.upper(), |_| ()),
        Err(Error::Desynchronized),
        "the server cannot know tag 0 yet"
    );
}

#[test]
fn cancelling_a_request_not_written_yet_forgets_it_and_frees_its_tag() {
    let (mut c, mut net) = client(9, 8);
    let a = submit(&mut c, "a", true, 1);
    assert_eq!(c.cancel(a), Some(1));
    assert_eq!((c.in_flight(), c.tags_taken()), (0, 0));
    assert!(c.request_body(a).is_none());
    assert_eq!(out(&mut c, &mut net, ""), "");
}

#[test]
fn a_cancelled_stream_keeps_its_tag_until_the_servers_reset() {
    let (mut c, mut net) = client(0, 1);
    let a = submit(&mut c, "a", false, 1);
    out(&mut c, &mut net, "");
    assert_eq!(c.cancel(a), Some(1));
    assert_eq!(out(&mut c, &mut net, ""), "R0:8");
    assert_eq!(c.tags_taken(), 1);
    let refused = c.submit(b"b".to_vec(), false, 2).unwrap_err();
    assert_eq!(refused.reason, Refusal::Full, "the only tag is taken");
    // The response crossed the cancel: ignored, the tag still waits for the reset.
    let (evs, wrote) = step(&mut c, &mut net, "H0+:A D0:late$").unwrap();
    assert!(evs.is_empty() && wrote.is_empty());
    assert_eq!(c.tags_taken(), 1);
    let (evs, wrote) = step(&mut c, &mut net, "R0:8").unwrap();
    assert!(
        evs.is_empty() && wrote.is_empty(),
        "the answer is not answered"
    );
    assert_eq!(c.tags_taken(), 0);
    submit(&mut c, "b", false, 2);
    assert_eq!(out(&mut c, &mut net, ""), "H0:b");
}

#[test]
fn a_servers_reset_is_answered_and_reported_with_the_context() {
    let (mut c, mut net) = client(9, 8);
    submit(&mut c, "a", false, 1);
    out(&mut c, &mut net, "");
    let (evs, wrote) = step(&mut c, &mut net, "R0:7").unwrap();
    assert_eq!(evs, ["failed #0 Some(1) Reset(7)"]);
    assert_eq!(wrote, "R0:7");
    assert_eq!((c.in_flight(), c.tags_taken()), (0, 0));
}

#[test]
fn a_tag_owing_a_reset_is_not_reused_until_the_reset_is_written() {
    let codec = StreamFrames::default();
    let mut c: Client = StreamClient::new(codec, codec, 1, 2);
    let mut net = PipeBufPair::with_limits(16, 16);
    submit(&mut c, "a", false, 1);
    c.process(net.upper(), |_| ()).unwrap();
    // The head (10 bytes) is still unread: no room for the 13-byte answer.
    net.lower().wr.append(&wire("R0:7")).unwrap();
    c.process(net.upper(), |_| ()).unwrap();
    assert_eq!(c.tags_taken(), 1, "tag 0 owes its answer");
    submit(&mut c, "b", false, 2);
    assert_eq!(frames(&mut net.lower().rd), "H0:a");
    c.process(net.upper(), |_| ()).unwrap();
    assert_eq!(frames(&mut net.lower().rd), "R0:7");
    c.process(net.upper(), |_| ()).unwrap();
    assert_eq!(frames(&mut net.lower().rd), "H1:b", "b took the other tag");
}

#[test]
fn data_beyond_credit_resets_the_stream_and_aborts_its_body() {
    let (mut c, mut net) = client(9, 8);
    let a = submit(&mut c, "a", false, 1);
    out(&mut c, &mut net, "");
    assert_eq!(out(&mut c, &mut net, "H0+:A"), "C0:8");
    let (evs, wrote) = step(&mut c, &mut net, "D0:123 D0:456789").unwrap();
    assert_eq!(evs, ["fault #0 None CreditExceeded { credit: 5, got: 6 }"]);
    assert_eq!(wrote, "R0:3");
    assert_eq!(read_all(c.response_body(a)), "123!");
    assert_eq!(c.tags_taken(), 1);
    out(&mut c, &mut net, "R0:3");
    assert_eq!((c.in_flight(), c.tags_taken()), (0, 0));
}

#[test]
fn data_before_the_response_head_resets_the_stream_with_its_context() {
    let (mut c, mut net) = client(9, 8);
    submit(&mut c, "a", false, 1);
    out(&mut c, &mut net, "");
    let (evs, wrote) = step(&mut c, &mut net, "D0:x").unwrap();
    assert_eq!(evs, ["fault #0 Some(1) UnexpectedData"]);
    assert_eq!(wrote, "R0:1");
}

#[test]
fn a_response_ending_before_the_request_body_is_a_stream_error() {
    let (mut c, mut net) = client(9, 8);
    submit(&mut c, "a", true, 1);
    assert_eq!(out(&mut c, &mut net, ""), "H0+:a");
    let (evs, wrote) = step(&mut c, &mut net, "H0:A").unwrap();
    assert_eq!(evs, ["resp #0 1 A", "fault #0 None EarlyEnd"]);
    assert_eq!(wrote, "R0:1");
}

#[test]
fn credit_for_a_request_without_body_is_reported_and_the_stream_goes_on() {
    let (mut c, mut net) = client(9, 8);
    submit(&mut c, "a", false, 1);
    out(&mut c, &mut net, "");
    let (evs, wrote) = step(&mut c, &mut net, "C0:5").unwrap();
    assert_eq!(evs, ["fault #0 None UnexpectedCredit"]);
    assert_eq!(wrote, "");
    let (evs, _) = step(&mut c, &mut net, "H0:A").unwrap();
    assert_eq!(evs, ["resp #0 1 A"]);
}

#[test]
fn the_request_body_waits_for_credit_and_never_exceeds_it() {
    let (mut c, mut net) = client(9, 8);
    let a = submit(&mut c, "a", true, 1);
    c.request_body(a).unwrap().append(b"abcdefgh").unwrap();
    assert_eq!(out(&mut c, &mut net, ""), "H0+:a");
    assert_eq!(out(&mut c, &mut net, "C0:3"), "D0:abc");
    c.request_body(a).unwrap().close();
    assert_eq!(out(&mut c, &mut net, "C0:10"), "D0:defgh$");
    assert!(c.request_body(a).is_none());
    let (evs, _) = step(&mut c, &mut net, "C0:4 H0:A").unwrap();
    assert_eq!(
        evs,
        ["resp #0 1 A"],
        "credit after the end is stale, ignored"
    );
    assert_eq!((c.in_flight(), c.tags_taken()), (0, 0));
}

#[test]
fn an_aborted_request_body_resets_the_stream_and_fails_it() {
    let (mut c, mut net) = client(9, 8);
    let a = submit(&mut c, "a", true, 1);
    out(&mut c, &mut net, "");
    c.request_body(a).unwrap().abort();
    let (evs, wrote) = step(&mut c, &mut net, "").unwrap();
    assert_eq!(evs, ["failed #0 Some(1) BodyAborted"]);
    assert_eq!(wrote, "R0:2");
}

#[test]
fn the_end_of_the_connection_fails_each_stream_once_and_aborts_bodies_arriving() {
    let (mut c, mut net) = client(9, 8);
    let a = submit(&mut c, "a", false, 1);
    submit(&mut c, "b", false, 2);
    let done = submit(&mut c, "c", false, 3);
    out(&mut c, &mut net, "");
    let (mut evs, _) = step(&mut c, &mut net, "H2+:C H0+:A").unwrap();
    net.lower().wr.append(&wire("D2:ok$ D0:par")).unwrap();
    net.lower().wr.close();
    evs.extend(step(&mut c, &mut net, "").unwrap().0);
    assert_eq!(
        evs,
        [
            "resp #2 3 C+",
            "resp #0 1 A+",
            "failed #0 None Connection(Closed)",
            "failed #1 Some(2) Connection(Closed)",
        ]
    );
    assert_eq!(read_all(c.response_body(a)), "par!");
    assert_eq!(
        read_all(c.response_body(done)),
        "ok$",
        "complete: untouched"
    );
    let refused = c.submit(b"d".to_vec(), false, 4).unwrap_err();
    assert_eq!(refused.reason, Refusal::Closed);
    assert!(c.is_finished());
}

#[test]
fn a_response_body_stays_readable_while_its_tag_is_reused() {
    let (mut c, mut net) = client(1, 3);
    let a = submit(&mut c, "a", false, 1);
    let b = submit(&mut c, "b", false, 2);
    out(&mut c, &mut net, "");
    step(&mut c, &mut net, "H0+:A H1:B").unwrap();
    step(&mut c, &mut net, "D0:xy$").unwrap();
    assert_eq!((c.in_flight(), c.tags_taken()), (1, 0));
    let d = submit(&mut c, "d", false, 3);
    assert_eq!(out(&mut c, &mut net, ""), "H0:d", "tag 0 again");
    step(&mut c, &mut net, "H0+:D").unwrap();
    step(&mut c, &mut net, "D0:zz$").unwrap();
    assert_eq!(read_all(c.response_body(d)), "zz$");
    assert_eq!(read_all(c.response_body(a)), "xy$");
    assert!(c.response_body(b).is_none());
    out(&mut c, &mut net, "");
    assert_eq!(c.in_flight(), 0);
}

#[test]
fn cancelling_a_response_body_being_read_drops_it() {
    let (mut c, mut net) = client(9, 8);
    let a = submit(&mut c, "a", false, 1);
    out(&mut c, &mut net, "");
    step(&mut c, &mut net, "H0+:A").unwrap();
    step(&mut c, &mut net, "D0:x").unwrap();
    assert_eq!(c.cancel(a), None, "the context went out with the response");
    assert!(c.response_body(a).is_none());
    assert_eq!(out(&mut c, &mut net, ""), "R0:8");
}

#[test]
fn process_without_news_reports_no_activity() {
    let (mut c, mut net) = client(9, 8);
    submit(&mut c, "a", false, 1);
    out(&mut c, &mut net, "");
    assert!(!c.process(net.upper(), |_| ()).unwrap());
}

#[test]
fn buffered_bytes_are_counted_against_the_bound() {
    let (mut c, mut net) = client(9, 2);
    assert_eq!(c.max_buffered(), 2 * (8 + 8));
    let a = submit(&mut c, "a", true, 1);
    c.request_body(a).unwrap().append(b"abc").unwrap();
    out(&mut c, &mut net, "");
    assert_eq!(out(&mut c, &mut net, "H0+:A"), "C0:8");
    step(&mut c, &mut net, "D0:12345").unwrap();
    assert_eq!(c.buffered(), 8);
}
