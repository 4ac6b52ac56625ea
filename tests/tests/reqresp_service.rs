//! Handler-driven servers: the pipelined and multiplexed services call a handler for each
//! request, take its answers now or later, time out the late ones on an explicit clock and
//! close gracefully.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use pipebuf::reqresp::service::{Handler, MuxService, PipelinedService, Reply};
use pipebuf::reqresp::{Error, MuxServer, PipelinedServer};
use pipebuf::{PipeBufPair, SettleError, Time, settle};
use pipebuf_tests::reqresp_text::*;

/// Answers `now X` at once with `X` upper-cased, `later MS X` after MS milliseconds, and
/// `never X` not at all (until its deadline).
#[derive(Debug, Default)]
struct Scripted {
    due: BinaryHeap<Reverse<(Time, u64, String)>>,
    calls: Vec<u64>,
    timeouts: Vec<u64>,
}

impl Handler<Text, Text> for Scripted {
    fn call(&mut self, id: u64, request: Line<'_>, now: Time) -> Reply<Msg> {
        self.calls.push(id);
        let text = request.text();
        let mut words = text.split(' ');
        match (words.next(), words.next(), words.next()) {
            (Some("now"), Some(x), None) => Reply::Now(Msg::new(&x.to_uppercase())),
            (Some("later"), Some(ms), Some(x)) => {
                let at = now + Duration::from_millis(ms.parse().unwrap_or(0));
                self.due.push(Reverse((at, id, x.to_uppercase())));
                Reply::Later
            }
            _ => Reply::Later,
        }
    }

    fn poll(&mut self, now: Time) -> Option<(u64, Msg)> {
        let Reverse((at, ..)) = self.due.peek()?;
        if *at > now {
            return None;
        }
        let Reverse((_, id, text)) = self.due.pop()?;
        Some((id, Msg::new(&text)))
    }

    fn next_ready(&self) -> Option<Time> {
        self.due.peek().map(|Reverse((at, ..))| *at)
    }

    fn timed_out(&mut self, id: u64) -> Msg {
        self.timeouts.push(id);
        Msg::new("timeout")
    }
}

type Pipelined = PipelinedService<Text, Text, Scripted>;
type Mux = MuxService<Text, Text, TagField, Scripted>;
type Failed = SettleError<Error<TextError, TextError>>;

fn pipelined(max_in_flight: usize) -> Pipelined {
    PipelinedService::new(
        PipelinedServer::new(PLAIN, PLAIN, max_in_flight, max_in_flight),
        Scripted::default(),
    )
}

fn mux(max_in_flight: usize) -> Mux {
    MuxService::new(
        MuxServer::new(TAGGED, TAGGED, TagField, max_in_flight),
        Scripted::default(),
    )
}

fn run_pipelined(s: &mut Pipelined, wire: &mut PipeBufPair, ms: u64) -> Result<usize, Failed> {
    settle(1000, || s.process(wire.lower(), Time::from_millis(ms)))
}

fn run_mux(s: &mut Mux, wire: &mut PipeBufPair, ms: u64) -> Result<usize, Failed> {
    settle(1000, || s.process(wire.lower(), Time::from_millis(ms)))
}

fn ask(wire: &mut PipeBufPair, text: &str) {
    wire.upper().wr.append(text.as_bytes()).unwrap();
}

#[test]
fn answers_given_later_still_leave_in_request_order() {
    let (mut s, mut wire) = (pipelined(8), PipeBufPair::new());
    ask(&mut wire, "later 20 a\nnow b\nlater 10 c\n");
    run_pipelined(&mut s, &mut wire, 0).unwrap();
    assert_eq!(
        answered(&mut wire),
        "",
        "the first answer holds up the others"
    );
    assert_eq!(s.next_deadline(), Some(Time::from_millis(10)));
    run_pipelined(&mut s, &mut wire, 10).unwrap();
    assert_eq!(answered(&mut wire), "");
    run_pipelined(&mut s, &mut wire, 20).unwrap();
    assert_eq!(answered(&mut wire), "A\nB\nC\n");
    assert_eq!(s.promised(), 0);
    assert_eq!(s.handler().calls, [0, 1, 2]);
}

#[test]
fn a_request_unanswered_at_its_deadline_gets_the_timed_out_answer_and_its_late_answer_is_dropped() {
    let mut s = pipelined(8).with_timeout(Duration::from_millis(100));
    let mut wire = PipeBufPair::new();
    ask(&mut wire, "later 150 slow\nnow fast\n");
    run_pipelined(&mut s, &mut wire, 0).unwrap();
    assert_eq!(s.next_deadline(), Some(Time::from_millis(100)));
    run_pipelined(&mut s, &mut wire, 100).unwrap();
    assert_eq!(answered(&mut wire), "timeout\nFAST\n");
    assert_eq!(s.handler().timeouts, [0]);
    run_pipelined(&mut s, &mut wire, 150).unwrap();
    assert_eq!(answered(&mut wire), "", "the late answer is not sent");
    assert_eq!(s.next_deadline(), None);
}

#[test]
fn work_in_flight_is_bounded_and_the_rest_stays_unread_until_answered() {
    let (mut s, mut wire) = (pipelined(2), PipeBufPair::new());
    ask(&mut wire, "never a\nnever b\nnow c\n");
    run_pipelined(&mut s, &mut wire, 0).unwrap();
    assert_eq!(s.handler().calls, [0, 1]);
    assert_eq!(
        sent(&mut wire),
        "now c\n",
        "the third request is left unread"
    );
}

#[test]
fn closing_answers_what_was_received_then_closes() {
    let (mut s, mut wire) = (pipelined(8), PipeBufPair::new());
    ask(&mut wire, "later 5 a\n");
    run_pipelined(&mut s, &mut wire, 0).unwrap();
    s.close();
    run_pipelined(&mut s, &mut wire, 0).unwrap();
    assert!(!s.is_finished());
    run_pipelined(&mut s, &mut wire, 5).unwrap();
    assert!(s.is_finished());
    assert_eq!(answered(&mut wire), "A\n");
    assert!(
        wire.up.state().eof_kind().is_some(),
        "the outgoing side is closed"
    );
}

#[test]
fn the_peer_closing_after_its_requests_still_gets_every_answer() {
    let (mut s, mut wire) = (pipelined(8), PipeBufPair::new());
    ask(&mut wire, "later 5 a\nnow b\n");
    wire.upper().wr.close();
    run_pipelined(&mut s, &mut wire, 0).unwrap();
    run_pipelined(&mut s, &mut wire, 5).unwrap();
    assert_eq!(answered(&mut wire), "A\nB\n");
    assert!(s.is_finished());
}

#[test]
fn a_bad_request_fails_the_service_and_aborts_the_connection() {
    let (mut s, mut wire) = (pipelined(8), PipeBufPair::new());
    ask(&mut wire, "x #zz\n");
    assert!(run_pipelined(&mut s, &mut wire, 0).is_err());
    assert!(s.is_finished());
    assert_eq!(wire.up.state().eof_kind(), Some(pipebuf::EofKind::Abort));
    ask(&mut wire, "now more\n");
    run_pipelined(&mut s, &mut wire, 0).unwrap();
    assert_eq!(sent(&mut wire), "", "input after the failure is discarded");
    assert!(s.handler().calls.is_empty());
}

#[test]
fn multiplexed_answers_leave_as_they_are_ready_with_their_tags() {
    let (mut s, mut wire) = (mux(8), PipeBufPair::new());
    ask(&mut wire, "1 later 20 a\n2 later 10 b\n3 now c\n");
    run_mux(&mut s, &mut wire, 0).unwrap();
    assert_eq!(answered(&mut wire), "3 C\n");
    run_mux(&mut s, &mut wire, 10).unwrap();
    assert_eq!(answered(&mut wire), "2 B\n");
    run_mux(&mut s, &mut wire, 25).unwrap();
    assert_eq!(answered(&mut wire), "1 A\n");
    assert_eq!(s.handler().calls, [1, 2, 3]);
}

#[test]
fn a_reused_tag_is_not_timed_out_by_its_earlier_request() {
    let mut s = mux(8).with_timeout(Duration::from_millis(100));
    let mut wire = PipeBufPair::new();
    ask(&mut wire, "4 later 10 a\n");
    run_mux(&mut s, &mut wire, 0).unwrap();
    run_mux(&mut s, &mut wire, 10).unwrap();
    assert_eq!(answered(&mut wire), "4 A\n");
    ask(&mut wire, "4 never b\n");
    run_mux(&mut s, &mut wire, 90).unwrap();
    run_mux(&mut s, &mut wire, 100).unwrap();
    assert_eq!(
        answered(&mut wire),
        "",
        "the first request's deadline is gone"
    );
    run_mux(&mut s, &mut wire, 190).unwrap();
    assert_eq!(answered(&mut wire), "4 timeout\n");
}

#[test]
fn multiplexed_closing_waits_for_every_promised_answer() {
    let (mut s, mut wire) = (mux(8), PipeBufPair::new());
    ask(&mut wire, "1 later 30 a\n2 now b\n");
    run_mux(&mut s, &mut wire, 0).unwrap();
    s.close();
    run_mux(&mut s, &mut wire, 0).unwrap();
    assert!(!s.is_finished());
    assert_eq!(s.promised(), 1);
    run_mux(&mut s, &mut wire, 30).unwrap();
    assert!(s.is_finished());
    assert_eq!(answered(&mut wire), "2 B\n1 A\n");
}
