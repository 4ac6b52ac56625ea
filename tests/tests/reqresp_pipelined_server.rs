//! The pipelined server: numbering, out-of-order finishing, in-order sending, backpressure,
//! end of stream and streamed bodies.

use pipebuf::reqresp::{Body, Error, FinishError};
use pipebuf::{EofKind, PBufState, PipeBuf, PipeBufPair, SettleError};
use pipebuf_tests::reqresp_text::*;

fn server(max_in_flight: usize, max_waiting: usize) -> Server {
    Server::new(PLAIN, PLAIN, max_in_flight, max_waiting)
}

fn request(wire: &mut PipeBufPair, bytes: &str) {
    wire.upper().wr.append(bytes.as_bytes()).unwrap();
}

fn req(seq: u64, text: &str) -> SEv {
    SEv::Req(seq, text.into(), false)
}

#[test]
fn sequence_numbers_count_up_in_arrival_order() {
    let (mut s, mut wire, mut evs) = (server(8, 8), PipeBufPair::new(), Vec::new());
    request(&mut wire, "x\ny\n");
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [req(0, "x"), req(1, "y")]);
    assert_eq!(s.in_flight(), 2);
    s.finish(1, Msg::new("Y")).unwrap();
    assert_eq!(s.waiting(), 1);
}

#[test]
fn full_output_holds_the_response_until_there_is_room() {
    let mut s = server(8, 8);
    let (mut wire, mut evs) = (PipeBufPair::with_limits(4, 4), Vec::new());
    request(&mut wire, "x\n");
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    s.finish(0, Msg::new("long")).unwrap();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert!(wire.up.is_empty());
    assert_eq!(s.waiting(), 1);
    // A bigger outgoing buffer, as if the peer had read: now it fits.
    wire.up = PipeBuf::new();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(wire.up.data(), b"long\n");
    assert_eq!(s.waiting(), 0);
}

#[test]
fn responses_leave_in_request_order_whatever_the_finish_order() {
    let (mut s, mut wire, mut evs) = (server(8, 8), PipeBufPair::new(), Vec::new());
    request(&mut wire, "a\nb\nc\n");
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [req(0, "a"), req(1, "b"), req(2, "c")]);
    s.finish(2, Msg::new("C")).unwrap();
    s.finish(1, Msg::new("B")).unwrap();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(answered(&mut wire), "", "B and C wait for A");
    assert_eq!(s.waiting(), 2);
    s.finish(0, Msg::new("A")).unwrap();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(answered(&mut wire), "A\nB\nC\n");
    assert_eq!((s.in_flight(), s.waiting()), (0, 0));
}

#[test]
fn finishing_an_unknown_or_already_finished_request_is_a_typed_error() {
    let (mut s, mut wire, mut evs) = (server(8, 8), PipeBufPair::new(), Vec::new());
    request(&mut wire, "a\nb\n");
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(s.finish(2, Msg::new("x")), Err(FinishError::Unknown(2)));
    s.finish(1, Msg::new("B")).unwrap();
    assert_eq!(
        s.finish(1, Msg::new("x")),
        Err(FinishError::AlreadyFinished(1))
    );
    s.finish(0, Msg::new("A")).unwrap();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(
        s.finish(0, Msg::new("x")),
        Err(FinishError::AlreadyFinished(0))
    );
    assert_eq!(answered(&mut wire), "A\nB\n");
}

#[test]
fn server_stops_decoding_while_too_many_finished_responses_wait_for_a_slow_one() {
    let (mut s, mut wire, mut evs) = (server(100, 2), PipeBufPair::new(), Vec::new());
    request(&mut wire, "slow\nq1\nq2\nq3\nq4\n");
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs.len(), 5);
    s.finish(1, Msg::new("r1")).unwrap();
    s.finish(2, Msg::new("r2")).unwrap();
    request(&mut wire, "q5\n");
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs.len(), 5, "two responses wait: no more decoding");
    assert_eq!(wire.down.data(), b"q5\n", "the request stays unread");
    s.finish(0, Msg::new("r0")).unwrap();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs.last(), Some(&req(5, "q5")));
    assert_eq!(answered(&mut wire), "r0\nr1\nr2\n");
}

#[test]
fn server_stops_decoding_at_its_maximum_in_flight() {
    let (mut s, mut wire, mut evs) = (server(2, 8), PipeBufPair::new(), Vec::new());
    request(&mut wire, "a\nb\nc\n");
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs.len(), 2);
    assert_eq!(wire.down.data(), b"c\n");
    s.finish(0, Msg::new("A")).unwrap();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs.last(), Some(&req(2, "c")));
}

#[test]
fn server_closes_after_answering_everything_once_the_peer_closed() {
    let (mut s, mut wire, mut evs) = (server(8, 8), PipeBufPair::new(), Vec::new());
    request(&mut wire, "a\nb\n");
    wire.upper().wr.close();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [req(0, "a"), req(1, "b"), SEv::End(EofKind::Close)]);
    s.finish(1, Msg::new("B")).unwrap();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(wire.up.state(), PBufState::Open);
    s.finish(0, Msg::new("A")).unwrap();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(answered(&mut wire), "A\nB\n");
    assert_eq!(
        wire.up.state(),
        PBufState::Closing,
        "closed after the last answer"
    );
    assert!(s.is_finished());
}

#[test]
fn peer_abort_aborts_the_output_and_drops_the_pending_answers() {
    let (mut s, mut wire, mut evs) = (server(8, 8), PipeBufPair::new(), Vec::new());
    request(&mut wire, "a\npartial");
    wire.upper().wr.abort();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [req(0, "a"), SEv::End(EofKind::Abort)]);
    assert_eq!(wire.up.state(), PBufState::Aborting);
    assert_eq!(s.finish(0, Msg::new("A")), Err(FinishError::Closed));
}

#[test]
fn request_body_streams_to_the_application_with_backpressure() {
    let mut s = server(8, 8).with_body_limit(4);
    let (mut wire, mut evs) = (PipeBufPair::new(), Vec::new());
    request(&mut wire, "put #*\n6\nabcdef;0\nnext\n");
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [SEv::Req(0, "put".into(), true)]);
    assert_eq!(
        wire.down.data(),
        b"ef;0\nnext\n",
        "a full body buffer stops reading"
    );
    let mut body = Vec::new();
    let mut pushes = 0;
    while let Some((seq, mut rd)) = s.request_body() {
        assert_eq!(seq, 0);
        body.extend_from_slice(rd.data());
        rd.consume_all();
        pushes += usize::from(rd.consume_push());
        rd.consume_eof();
        drive_server(&mut s, &mut wire, &mut evs).unwrap();
    }
    assert_eq!((body.as_slice(), pushes), (&b"abcdef"[..], 1));
    assert_eq!(evs[1..], [req(1, "next")]);
}

#[test]
fn end_of_stream_inside_a_chunk_header_reports_the_end_and_aborts_the_request_body() {
    for kind in [EofKind::Close, EofKind::Abort] {
        let (mut s, mut wire, mut evs) = (server(8, 8), PipeBufPair::new(), Vec::new());
        // One chunk, then the separator of the next chunk header and nothing more.
        request(&mut wire, "put #*\n3\nabc;");
        match kind {
            EofKind::Close => wire.upper().wr.close(),
            EofKind::Abort => wire.upper().wr.abort(),
        }
        drive_server(&mut s, &mut wire, &mut evs).unwrap();
        assert_eq!(evs, [SEv::Req(0, "put".into(), true), SEv::End(kind)]);
        assert!(wire.down.is_empty() && wire.down.state().is_done());
        let (_, mut rd) = s.request_body().unwrap();
        assert_eq!(rd.data(), b"abc");
        rd.consume_all();
        assert!(rd.consume_push());
        assert_eq!(
            rd.consume_eof(),
            Some(EofKind::Abort),
            "a truncated body is an abort"
        );
        match kind {
            EofKind::Close => {
                s.finish(0, Msg::new("P")).unwrap();
                drive_server(&mut s, &mut wire, &mut evs).unwrap();
                assert_eq!(answered(&mut wire), "P\n");
                assert_eq!(
                    wire.up.state(),
                    PBufState::Closing,
                    "closed after the answer"
                );
            }
            EofKind::Abort => assert_eq!(wire.up.state(), PBufState::Aborting),
        }
        assert!(s.is_finished());
    }
}

#[test]
fn response_body_streams_after_its_head_and_holds_the_next_response() {
    let (mut s, mut wire, mut evs) = (server(8, 8), PipeBufPair::new(), Vec::new());
    request(&mut wire, "a\nb\n");
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    s.finish(0, Msg::with_body("A", Body::Length(3))).unwrap();
    s.finish(1, Msg::new("B")).unwrap();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(answered(&mut wire), "A #3\n");
    let (seq, mut wr) = s.response_body().unwrap();
    assert_eq!(seq, 0);
    wr.append(b"xyz").unwrap();
    wr.close();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    assert_eq!(answered(&mut wire), "xyzB\n");
    assert!(s.response_body().is_none());
}

#[test]
fn aborted_response_body_aborts_the_connection() {
    let (mut s, mut wire, mut evs) = (server(8, 8), PipeBufPair::new(), Vec::new());
    request(&mut wire, "a\n");
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    s.finish(0, Msg::with_body("A", Body::Chunked)).unwrap();
    drive_server(&mut s, &mut wire, &mut evs).unwrap();
    s.response_body().unwrap().1.abort();
    let err = drive_server(&mut s, &mut wire, &mut evs).unwrap_err();
    assert_eq!(err, SettleError::Component(Error::BodyAborted));
    assert_eq!(wire.up.state().eof_kind(), Some(EofKind::Abort));
    assert!(s.is_finished());
}

#[test]
fn undecodable_request_fails_the_connection() {
    let (mut s, mut wire, mut evs) = (server(8, 8), PipeBufPair::new(), Vec::new());
    request(&mut wire, "bad #x\n");
    let err = drive_server(&mut s, &mut wire, &mut evs).unwrap_err();
    assert_eq!(
        err,
        SettleError::Component(Error::Decode(TextError::BadNumber))
    );
    assert_eq!(wire.up.state(), PBufState::Aborting);
}
