//! The streaming server against frames written by hand (see `testing`).

use super::*;
use crate::reqresp::stream::testing::{frames, read_all, wire};
use crate::reqresp::stream::{StreamFrames, WireError};
use crate::{PBufState, PipeBufPair, SettleError, settle};
use alloc::string::String;
use alloc::vec::Vec;

type Server = StreamServer<StreamFrames, StreamFrames>;
type E = Error<WireError, WireError>;

/// A server with body buffers of 8 bytes each way.
fn server(max_streams: usize) -> (Server, PipeBufPair) {
    let codec = StreamFrames::default();
    let s = StreamServer::new(codec, codec, max_streams).with_body_limits(8, 8);
    (s, PipeBufPair::new())
}

/// Feeds the client's frames (see `testing`), runs the server until it settles and
/// returns its events and the frames it wrote.
fn step(s: &mut Server, net: &mut PipeBufPair, input: &str) -> Result<(Vec<String>, String), E> {
    if !input.is_empty() {
        net.upper().wr.append(&wire(input)).unwrap();
    }
    let mut events = Vec::new();
    let settled = settle(50, || {
        s.process(net.lower(), |ev| {
            events.push(match ev {
                StreamServerEvent::Request { tag, request, body } => format!(
                    "req {tag} {}{}",
                    String::from_utf8_lossy(request),
                    if body { "+" } else { "" }
                ),
                StreamServerEvent::Reset { tag, code } => format!("reset {tag} {code}"),
                StreamServerEvent::StreamError { tag, fault } => {
                    format!("fault {tag} {fault:?}")
                }
                StreamServerEvent::End(kind) => format!("end {kind:?}"),
            })
        })
    });
    match settled {
        Ok(_) => Ok((events, frames(&mut net.upper().rd))),
        Err(SettleError::Component(e)) => Err(e),
        Err(e) => panic!("{e:?}"),
    }
}

fn out(s: &mut Server, net: &mut PipeBufPair, input: &str) -> String {
    step(s, net, input).unwrap().1
}

#[test]
fn a_request_head_opens_a_stream_whose_body_gets_its_buffer_as_credit() {
    let (mut s, mut net) = server(4);
    let (evs, wrote) = step(&mut s, &mut net, "H0+:put").unwrap();
    assert_eq!(
        (evs, wrote),
        (vec!["req 0 put+".to_string()], "C0:8".into())
    );
    assert_eq!(
        out(&mut s, &mut net, "D0:abcd"),
        "",
        "half the buffer still granted"
    );
    assert_eq!(read_all(s.request_body(0)), "abcd");
    assert_eq!(out(&mut s, &mut net, ""), "C0:4", "read: granted again");
}

#[test]
fn the_end_of_a_response_waits_until_the_request_body_is_read_to_its_end() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H0+:put");
    s.respond(0, b"ok".to_vec(), true).unwrap();
    let mut body = s.response_body(0).unwrap();
    body.append(b"xy").unwrap();
    body.close();
    assert_eq!(out(&mut s, &mut net, ""), "H0+:ok");
    assert_eq!(
        out(&mut s, &mut net, "C0:8"),
        "D0:xy",
        "the data goes, the end waits"
    );
    assert_eq!(out(&mut s, &mut net, "D0:ab$"), "");
    assert_eq!(read_all(s.request_body(0)), "ab$");
    assert_eq!(out(&mut s, &mut net, ""), "D0:$");
    assert_eq!(s.open_streams(), 0);
}

#[test]
fn a_head_without_body_is_the_end_and_waits_for_the_request_body() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H1+:put");
    s.respond(1, b"no".to_vec(), false).unwrap();
    assert_eq!(out(&mut s, &mut net, ""), "");
    assert_eq!(out(&mut s, &mut net, "D1:$"), "");
    assert_eq!(read_all(s.request_body(1)), "$");
    assert_eq!(out(&mut s, &mut net, ""), "H1:no");
    assert_eq!(s.open_streams(), 0);
}

#[test]
fn data_beyond_credit_resets_that_stream_only_and_is_reported() {
    let (mut s, mut net) = server(4);
    assert_eq!(out(&mut s, &mut net, "H0+:a H1+:b"), "C0:8 C1:8");
    let (evs, wrote) = step(&mut s, &mut net, "D0:123456789 D1:ok").unwrap();
    assert_eq!(evs, ["fault 0 CreditExceeded { credit: 8, got: 9 }"]);
    assert_eq!(wrote, "R0:3");
    assert!(s.request_body(0).is_none());
    assert_eq!(read_all(s.request_body(1)), "ok");
    let (evs, wrote) = step(&mut s, &mut net, "D0:late R0:3").unwrap();
    assert!(evs.is_empty() && wrote.is_empty(), "{evs:?} {wrote}");
    let (evs, _) = step(&mut s, &mut net, "H0:again").unwrap();
    assert_eq!(evs, ["req 0 again"], "the tag is free again");
}

#[test]
fn a_head_beyond_max_streams_is_refused_with_a_reset_and_not_reported() {
    let (mut s, mut net) = server(1);
    let (evs, wrote) = step(&mut s, &mut net, "H0:a H1:b").unwrap();
    assert_eq!((evs, wrote), (vec!["req 0 a".to_string()], "R1:7".into()));
    assert_eq!(
        out(&mut s, &mut net, "R1:7"),
        "",
        "the client's answer ends it"
    );
    s.respond(0, b"A".to_vec(), false).unwrap();
    assert_eq!(out(&mut s, &mut net, ""), "H0:A");
    let (evs, _) = step(&mut s, &mut net, "H1:b").unwrap();
    assert_eq!(evs, ["req 1 b"], "sent again, now taken");
}

#[test]
fn a_clients_reset_of_an_open_stream_is_answered_and_reported() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H0+:a");
    let (evs, wrote) = step(&mut s, &mut net, "R0:8").unwrap();
    assert_eq!((evs, wrote), (vec!["reset 0 8".to_string()], "R0:8".into()));
    assert!(s.request_body(0).is_none());
    assert_eq!(
        s.respond(0, b"A".to_vec(), false),
        Err(FinishError::Unknown(0))
    );
}

#[test]
fn a_reset_for_a_stream_already_answered_is_answered() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H0:a");
    s.respond(0, b"A".to_vec(), false).unwrap();
    assert_eq!(out(&mut s, &mut net, ""), "H0:A");
    let (evs, wrote) = step(&mut s, &mut net, "R0:8").unwrap();
    assert!(evs.is_empty());
    assert_eq!(wrote, "R0:8", "the client's cancel crossed the response");
}

#[test]
fn resets_that_cross_are_each_others_answer() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H0:a");
    assert!(s.cancel(0));
    assert!(!s.cancel(0), "not open any more");
    let (evs, wrote) = step(&mut s, &mut net, "R0:8").unwrap();
    assert!(evs.is_empty());
    assert_eq!(
        wrote, "R0:8",
        "one reset: the cancel, no answer to the client's"
    );
    let (evs, _) = step(&mut s, &mut net, "H0:b").unwrap();
    assert_eq!(evs, ["req 0 b"]);
}

#[test]
fn a_reset_streams_frames_are_ignored_until_the_clients_reset() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H0+:a");
    s.cancel(0);
    assert_eq!(out(&mut s, &mut net, ""), "R0:8");
    let (evs, wrote) = step(&mut s, &mut net, "D0:late C0:5 R0:8").unwrap();
    assert!(evs.is_empty() && wrote.is_empty());
    assert_eq!(
        step(&mut s, &mut net, "D0:x").unwrap_err(),
        Error::Desynchronized,
        "after the answer the tag is unknown"
    );
}

#[test]
fn a_head_for_an_open_tag_is_a_connection_error() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H0:a");
    assert_eq!(
        step(&mut s, &mut net, "H0:b").unwrap_err(),
        Error::DuplicateTag(0)
    );
    assert_eq!(net.up.state(), PBufState::Aborting);
    assert!(s.is_finished());
}

#[test]
fn a_head_for_a_tag_being_reset_is_a_connection_error() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H0:a");
    s.cancel(0);
    assert_eq!(
        step(&mut s, &mut net, "H0:b").unwrap_err(),
        Error::DuplicateTag(0)
    );
}

#[test]
fn data_for_an_unknown_tag_is_a_connection_error() {
    let (mut s, mut net) = server(4);
    assert_eq!(
        step(&mut s, &mut net, "D5:x").unwrap_err(),
        Error::Desynchronized
    );
}

#[test]
fn data_for_a_request_without_body_resets_the_stream() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H0:a");
    let (evs, wrote) = step(&mut s, &mut net, "D0:x").unwrap();
    assert_eq!(
        (evs, wrote),
        (vec!["fault 0 UnexpectedData".into()], "R0:1".into())
    );
}

#[test]
fn credit_for_a_response_not_started_is_reported_and_the_stream_goes_on() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H0:a");
    let (evs, wrote) = step(&mut s, &mut net, "C0:5").unwrap();
    assert_eq!(
        (evs, wrote),
        (vec!["fault 0 UnexpectedCredit".into()], "".into())
    );
    s.respond(0, b"A".to_vec(), false).unwrap();
    assert_eq!(out(&mut s, &mut net, ""), "H0:A");
}

#[test]
fn stale_credit_after_the_response_ended_is_ignored() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H0:a");
    s.respond(0, b"A".to_vec(), false).unwrap();
    out(&mut s, &mut net, "");
    let (evs, wrote) = step(&mut s, &mut net, "C0:9").unwrap();
    assert!(evs.is_empty() && wrote.is_empty());
}

#[test]
fn an_aborted_response_body_resets_that_stream_only() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H0:a H1:b");
    s.respond(0, b"A".to_vec(), true).unwrap();
    s.respond(1, b"B".to_vec(), true).unwrap();
    s.response_body(0).unwrap().abort();
    let mut body = s.response_body(1).unwrap();
    body.append(b"y").unwrap();
    body.close();
    assert_eq!(out(&mut s, &mut net, ""), "H0+:A H1+:B R0:2");
    assert_eq!(out(&mut s, &mut net, "R0:2 C1:8"), "D1:y$");
    assert_eq!(s.open_streams(), 0);
}

#[test]
fn more_tags_alive_than_max_tags_is_a_connection_error() {
    let (s, mut net) = server(1);
    let mut s = s.with_max_tags(2);
    out(&mut s, &mut net, "H0:a H1:b");
    assert_eq!(
        step(&mut s, &mut net, "H2:c").unwrap_err(),
        Error::TooManyStreams
    );
}

#[test]
fn after_the_clients_close_complete_requests_are_answered_then_the_server_closes() {
    let (mut s, mut net) = server(4);
    let (mut evs, _) = step(&mut s, &mut net, "H0+:a H1+:b").unwrap();
    net.upper().wr.append(&wire("D0:x$ D1:par")).unwrap();
    net.upper().wr.close();
    evs.extend(step(&mut s, &mut net, "").unwrap().0);
    assert_eq!(evs, ["req 0 a+", "req 1 b+", "end Close"]);
    assert_eq!(read_all(s.request_body(1)), "par!", "cut off: aborted");
    assert_eq!(
        s.respond(1, b"B".to_vec(), false),
        Err(FinishError::Unknown(1))
    );
    assert_eq!(read_all(s.request_body(0)), "x$");
    s.respond(0, b"A".to_vec(), false).unwrap();
    assert_eq!(out(&mut s, &mut net, ""), "H0:A");
    assert_eq!(net.up.state(), PBufState::Closing);
    assert!(s.is_finished());
}

#[test]
fn after_the_clients_close_a_response_body_that_needs_credit_is_dropped() {
    let (mut s, mut net) = server(4);
    net.upper().wr.append(&wire("H0:a")).unwrap();
    net.upper().wr.close();
    step(&mut s, &mut net, "").unwrap();
    s.respond(0, b"A".to_vec(), true).unwrap();
    s.response_body(0).unwrap().append(b"data").unwrap();
    assert_eq!(out(&mut s, &mut net, ""), "H0+:A");
    assert!(s.response_body(0).is_none());
    assert_eq!(net.up.state(), PBufState::Closing);
}

#[test]
fn the_clients_abort_aborts_request_bodies_and_the_outgoing_side() {
    let (mut s, mut net) = server(4);
    let (mut evs, _) = step(&mut s, &mut net, "H0+:a H1:b").unwrap();
    net.upper().wr.append(&wire("D0:par")).unwrap();
    net.upper().wr.abort();
    evs.extend(step(&mut s, &mut net, "").unwrap().0);
    assert_eq!(evs, ["req 0 a+", "req 1 b", "end Abort"]);
    assert_eq!(net.up.state(), PBufState::Aborting);
    assert_eq!(read_all(s.request_body(0)), "par!");
    assert_eq!(s.respond(1, b"B".to_vec(), false), Err(FinishError::Closed));
}

#[test]
fn process_without_news_reports_no_activity() {
    let (mut s, mut net) = server(4);
    out(&mut s, &mut net, "H0+:a");
    assert!(!s.process(net.lower(), |_| ()).unwrap());
    let partial = wire("D0:abc");
    net.upper().wr.append(&partial[..5]).unwrap();
    assert!(
        !s.process(net.lower(), |_| ()).unwrap(),
        "a partial frame is no activity"
    );
}

#[test]
fn buffered_bytes_are_counted_against_the_bound() {
    let (mut s, mut net) = server(2);
    assert_eq!(s.max_buffered(), 2 * (8 + 8));
    out(&mut s, &mut net, "H0+:a");
    out(&mut s, &mut net, "D0:12345678");
    s.respond(0, b"A".to_vec(), true).unwrap();
    s.response_body(0).unwrap().append(b"xyz").unwrap();
    assert_eq!(s.buffered(), 11);
}
