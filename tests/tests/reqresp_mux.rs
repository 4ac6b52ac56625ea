//! The multiplexed client and server: matching by tag, tag exhaustion and reuse, timeouts
//! on an explicit clock, late responses and end of stream.

use std::time::Duration;

use pipebuf::reqresp::{
    Error, Failure, FinishError, LatePolicy, MuxClient, MuxEvent, MuxServer, MuxServerEvent,
    Refusal, Ticket,
};
use pipebuf::{EofKind, PBufState, PipeBufPair, SettleError, settle};
use pipebuf_tests::reqresp_text::*;

type Mux = MuxClient<Text, Text, TagField, u32>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum MEv {
    Resp(u64, u32, String),
    Failed(u64, u32, Failure),
    Late(u32, String),
}

fn mux(max_tag: u32, max_in_flight: usize) -> Mux {
    MuxClient::new(TAGGED, TAGGED, TagField, max_tag, max_in_flight)
}

fn run(
    c: &mut Mux,
    wire: &mut PipeBufPair,
    evs: &mut Vec<MEv>,
) -> Result<usize, SettleError<Error<TextError, TextError>>> {
    settle(100, || {
        c.process(wire.upper(), |e| {
            evs.push(match e {
                MuxEvent::Response {
                    ticket,
                    context,
                    response,
                } => MEv::Resp(ticket.get(), context, response.text()),
                MuxEvent::Failed {
                    ticket,
                    context,
                    failure,
                } => MEv::Failed(ticket.get(), context, failure),
                MuxEvent::Late { tag, response } => MEv::Late(tag, response.text()),
            })
        })
    })
}

fn submit(
    c: &mut Mux,
    wire: &mut PipeBufPair,
    text: &str,
    ctx: u32,
    deadline: Option<u64>,
) -> Ticket {
    c.submit(
        &mut wire.upper().wr,
        Msg::new(text),
        ctx,
        deadline.map(Duration::from_secs),
    )
    .unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn responses_are_matched_by_tag_in_any_order() {
    let (mut c, mut wire, mut evs) = (mux(100, 8), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1, None);
    let b = submit(&mut c, &mut wire, "b", 2, None);
    let d = submit(&mut c, &mut wire, "c", 3, None);
    assert_eq!(sent(&mut wire), "0 a\n1 b\n2 c\n");
    reply(&mut wire, "2 C\n0 A\n1 B\n");
    run(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(
        evs,
        [
            MEv::Resp(d.get(), 3, "C".into()),
            MEv::Resp(a.get(), 1, "A".into()),
            MEv::Resp(b.get(), 2, "B".into()),
        ]
    );
    assert_eq!((c.in_flight(), c.tags_taken()), (0, 0));
}

#[test]
fn submit_reports_full_when_the_tag_space_is_exhausted() {
    let (mut c, mut wire) = (mux(1, 100), PipeBufPair::new());
    submit(&mut c, &mut wire, "a", 1, None);
    submit(&mut c, &mut wire, "b", 2, None);
    let refused = c
        .submit(&mut wire.upper().wr, Msg::new("c"), 3, None)
        .unwrap_err();
    assert_eq!((refused.reason, refused.context), (Refusal::Full, 3));
    assert_eq!(sent(&mut wire), "0 a\n1 b\n");
}

#[test]
fn a_tag_is_reused_only_after_its_response() {
    let (mut c, mut wire, mut evs) = (mux(2, 3), PipeBufPair::new(), Vec::new());
    for i in 0..3 {
        submit(&mut c, &mut wire, "x", i, None);
    }
    assert_eq!(sent(&mut wire), "0 x\n1 x\n2 x\n");
    reply(&mut wire, "1 done\n");
    run(&mut c, &mut wire, &mut evs).unwrap();
    submit(&mut c, &mut wire, "y", 9, None);
    assert_eq!(sent(&mut wire), "1 y\n", "the only free tag");
}

#[test]
fn a_timed_out_tag_is_reused_only_after_its_grace_or_its_late_response() {
    let mut c = mux(1, 2).with_late_policy(LatePolicy::Drop, secs(10));
    let mut wire = PipeBufPair::new();
    let a = submit(&mut c, &mut wire, "a", 1, Some(5));
    submit(&mut c, &mut wire, "b", 2, None);
    sent(&mut wire);
    assert_eq!(c.poll_timeout(secs(4)), None);
    assert_eq!(c.poll_timeout(secs(5)), Some((a, 1)));
    assert_eq!(c.poll_timeout(secs(5)), None);
    assert_eq!((c.in_flight(), c.tags_taken()), (1, 2));
    let refused = c
        .submit(&mut wire.upper().wr, Msg::new("c"), 3, None)
        .unwrap_err();
    assert_eq!(refused.reason, Refusal::Full, "tag 0 is still remembered");
    assert_eq!(c.next_deadline(), Some(secs(15)));
    assert_eq!(
        c.poll_timeout(secs(15)),
        None,
        "grace over: forgotten, nothing to report"
    );
    assert_eq!(c.tags_taken(), 1);
    submit(&mut c, &mut wire, "c", 3, None);
    assert_eq!(sent(&mut wire), "0 c\n");

    // And after the late response instead of the grace:
    let mut c = mux(0, 1).with_late_policy(LatePolicy::Drop, secs(10));
    let (mut wire, mut evs) = (PipeBufPair::new(), Vec::new());
    submit(&mut c, &mut wire, "a", 1, Some(5));
    assert!(c.poll_timeout(secs(6)).is_some());
    reply(&mut wire, "0 late\n");
    run(&mut c, &mut wire, &mut evs).unwrap();
    assert!(evs.is_empty(), "dropped by policy");
    assert_eq!(c.tags_taken(), 0);
    assert_eq!(c.next_deadline(), None);
    submit(&mut c, &mut wire, "b", 2, None);
}

#[test]
fn late_response_is_reported_with_the_report_policy() {
    let mut c = mux(7, 4).with_late_policy(LatePolicy::Report, secs(10));
    let (mut wire, mut evs) = (PipeBufPair::new(), Vec::new());
    submit(&mut c, &mut wire, "a", 1, Some(1));
    assert!(c.poll_timeout(secs(2)).is_some());
    reply(&mut wire, "0 late\n");
    run(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [MEv::Late(0, "late".into())]);
    reply(&mut wire, "0 again\n");
    assert_eq!(
        run(&mut c, &mut wire, &mut evs).unwrap_err(),
        SettleError::Component(Error::Desynchronized),
        "a tag not taken is a desync, not a crash"
    );
}

#[test]
fn timeouts_fire_with_only_now_advancing_and_a_silent_peer_grows_no_state() {
    let grace = secs(3);
    let mut c = mux(u32::MAX, 16).with_late_policy(LatePolicy::Drop, grace);
    let mut wire = PipeBufPair::new();
    let mut now = 0;
    let (mut submitted, mut failed) = (0, 0);
    for round in 0..1000u32 {
        while c
            .submit(
                &mut wire.upper().wr,
                Msg::new("q"),
                round,
                Some(secs(now + 2)),
            )
            .is_ok()
        {
            submitted += 1;
        }
        sent(&mut wire);
        now += 1;
        while let Some((_, ctx)) = c.poll_timeout(secs(now)) {
            assert!(ctx <= round);
            failed += 1;
        }
        if let Some(next) = c.next_deadline() {
            assert!(next > secs(now));
        }
    }
    assert!(failed > 1000, "requests kept timing out: {failed}");
    // The last requests' deadline is now + 1; a grace later every tag is free again.
    while c.poll_timeout(secs(now + 1) + grace).is_some() {
        failed += 1;
    }
    assert_eq!(failed, submitted, "each request timed out once");
    assert_eq!((c.in_flight(), c.tags_taken()), (0, 0));
    assert_eq!(c.next_deadline(), None);
}

#[test]
fn cancelled_request_keeps_its_tag_until_its_response_is_dropped() {
    let (mut c, mut wire, mut evs) = (mux(0, 1), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1, None);
    assert_eq!(c.cancel(a), Some(1));
    assert_eq!(c.cancel(a), None);
    assert!(
        c.submit(&mut wire.upper().wr, Msg::new("b"), 2, None)
            .is_err()
    );
    reply(&mut wire, "0 A\n");
    run(&mut c, &mut wire, &mut evs).unwrap();
    assert!(evs.is_empty());
    submit(&mut c, &mut wire, "b", 2, None);
}

#[test]
fn unknown_tag_is_a_desync_error_and_fails_the_requests_in_flight() {
    let (mut c, mut wire, mut evs) = (mux(9, 4), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1, Some(5));
    reply(&mut wire, "7 who\n");
    let err = run(&mut c, &mut wire, &mut evs).unwrap_err();
    assert_eq!(err, SettleError::Component(Error::Desynchronized));
    assert_eq!(evs, [MEv::Failed(a.get(), 1, Failure::Broken)]);
    assert_eq!(wire.down.state(), PBufState::Aborting);
    assert_eq!(c.next_deadline(), None, "no timer left behind");
}

#[test]
fn end_of_stream_fails_each_request_in_flight_once_close_and_abort_told_apart() {
    for (kind, failure) in [
        (EofKind::Close, Failure::Closed),
        (EofKind::Abort, Failure::Aborted),
    ] {
        let (mut c, mut wire, mut evs) = (mux(9, 4), PipeBufPair::new(), Vec::new());
        let a = submit(&mut c, &mut wire, "a", 1, Some(5));
        let b = submit(&mut c, &mut wire, "b", 2, None);
        let d = submit(&mut c, &mut wire, "c", 3, None);
        c.cancel(d);
        reply(&mut wire, "1 B\n0 ha");
        match kind {
            EofKind::Close => wire.lower().wr.close(),
            EofKind::Abort => wire.lower().wr.abort(),
        }
        run(&mut c, &mut wire, &mut evs).unwrap();
        run(&mut c, &mut wire, &mut evs).unwrap();
        assert_eq!(
            evs,
            [
                MEv::Resp(b.get(), 2, "B".into()),
                MEv::Failed(a.get(), 1, failure)
            ]
        );
        assert_eq!(
            c.poll_timeout(secs(100)),
            None,
            "failed once, not again on timeout"
        );
        assert!(c.is_finished());
    }
}

// ---------------------------------------------------------------------------------------------
// Server

type MuxSrv = MuxServer<Text, Text, TagField>;

fn serve(
    s: &mut MuxSrv,
    wire: &mut PipeBufPair,
    evs: &mut Vec<(u32, String)>,
) -> Result<usize, SettleError<Error<TextError, TextError>>> {
    settle(100, || {
        s.process(wire.lower(), |e| match e {
            MuxServerEvent::Request { tag, request } => evs.push((tag, request.text())),
            MuxServerEvent::End(kind) => evs.push((u32::MAX, format!("{kind:?}"))),
        })
    })
}

#[test]
fn server_writes_each_response_as_soon_as_it_is_finished() {
    let mut s = MuxServer::new(TAGGED, TAGGED, TagField, 8);
    let (mut wire, mut evs) = (PipeBufPair::new(), Vec::new());
    wire.upper().wr.append(b"5 a\n9 b\n").unwrap();
    serve(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [(5, "a".into()), (9, "b".into())]);
    s.finish(9, Msg::new("B")).unwrap();
    serve(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(answered(&mut wire), "9 B\n");
    assert_eq!(s.finish(9, Msg::new("x")), Err(FinishError::Unknown(9)));
    s.finish(5, Msg::new("A")).unwrap();
    assert_eq!(
        s.finish(5, Msg::new("x")),
        Err(FinishError::AlreadyFinished(5))
    );
    serve(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(answered(&mut wire), "5 A\n");
    assert_eq!(s.in_flight(), 0);
}

#[test]
fn server_refuses_a_tag_still_in_flight() {
    let mut s = MuxServer::new(TAGGED, TAGGED, TagField, 8);
    let (mut wire, mut evs) = (PipeBufPair::new(), Vec::new());
    wire.upper().wr.append(b"5 a\n5 b\n").unwrap();
    let err = serve(&mut s, &mut wire, &mut evs).unwrap_err();
    assert_eq!(err, SettleError::Component(Error::DuplicateTag(5)));
    assert_eq!(wire.up.state(), PBufState::Aborting);
}

#[test]
fn server_leaves_requests_unread_beyond_its_maximum_in_flight_and_closes_after_the_last_answer() {
    let mut s = MuxServer::new(TAGGED, TAGGED, TagField, 1);
    let (mut wire, mut evs) = (PipeBufPair::new(), Vec::new());
    wire.upper().wr.append(b"1 a\n2 b\n").unwrap();
    wire.upper().wr.close();
    serve(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [(1, "a".into())]);
    assert_eq!(wire.down.data(), b"2 b\n");
    s.finish(1, Msg::new("A")).unwrap();
    serve(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs[1..], [(2, "b".into()), (u32::MAX, "Close".into())]);
    s.finish(2, Msg::new("B")).unwrap();
    serve(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(answered(&mut wire), "1 A\n2 B\n");
    assert_eq!(wire.up.state(), PBufState::Closing);
}
