//! The pipelined client: ordering, cancellation, desync, end of stream, refusals, leftover
//! bytes and streamed bodies.

use pipebuf::reqresp::{Body, Error, Failure, Refusal, Ticket};
use pipebuf::{EofKind, PipeBufPair};
use pipebuf_tests::reqresp_text::*;

fn client(max: usize) -> Client {
    Client::new(PLAIN, PLAIN, max)
}

fn submit(c: &mut Client, wire: &mut PipeBufPair, text: &str, ctx: u32) -> Ticket {
    c.submit(&mut wire.upper().wr, Msg::new(text), ctx).unwrap()
}

fn resp(t: Ticket, ctx: u32, text: &str) -> Ev {
    Ev::Resp(t.get(), ctx, text.into(), false)
}

#[test]
fn tickets_count_up_and_are_never_reused() {
    let (mut c, mut wire, mut evs) = (client(1), PipeBufPair::new(), Vec::new());
    for n in 0..3 {
        let t = submit(&mut c, &mut wire, "q", n);
        assert_eq!(t.get(), u64::from(n));
        assert_eq!(t.to_string(), format!("#{n}"));
        reply(&mut wire, "r\n");
        drive(&mut c, &mut wire, &mut evs).unwrap();
    }
    assert_eq!(evs.len(), 3);
}

#[test]
fn process_without_news_reports_no_activity() {
    let (mut c, mut wire, mut evs) = (client(4), PipeBufPair::new(), Vec::new());
    submit(&mut c, &mut wire, "q", 0);
    assert!(!c.process(wire.upper(), |_| ()).unwrap());
    reply(&mut wire, "par");
    assert!(
        !c.process(wire.upper(), |_| ()).unwrap(),
        "a partial head is no activity"
    );
    reply(&mut wire, "t\n");
    assert!(c.process(wire.upper(), |e| evs.push(ev(e))).unwrap());
    assert_eq!(evs, [Ev::Resp(0, 0, "part".into(), false)]);
}

#[test]
fn responses_are_matched_to_requests_in_order() {
    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "get a", 10);
    let b = submit(&mut c, &mut wire, "get b", 11);
    assert_eq!((a.get(), b.get()), (0, 1));
    assert_eq!(sent(&mut wire), "get a\nget b\n");
    reply(&mut wire, "A\nB\n");
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [resp(a, 10, "A"), resp(b, 11, "B")]);
    assert_eq!(c.in_flight(), 0);
}

#[test]
fn cancelled_request_does_not_stall_the_ones_behind_it() {
    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1);
    let b = submit(&mut c, &mut wire, "b", 2);
    let d = submit(&mut c, &mut wire, "c", 3);
    assert_eq!(c.cancel(b), Some(2));
    assert_eq!(c.cancel(b), None, "a second cancel finds nothing");
    reply(&mut wire, "A\nB\nC\n");
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [resp(a, 1, "A"), resp(d, 3, "C")]);
    assert!(wire.up.is_empty(), "the cancelled response was consumed");
}

#[test]
fn cancelling_the_last_requests_in_flight_lets_the_client_settle_and_take_new_ones() {
    // The dropped tail: every request but the first is cancelled, the peer answers them
    // all, and the client must neither wait for the cancelled ones nor stay "full".
    let (mut c, mut wire, mut evs) = (client(3), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1);
    let b = submit(&mut c, &mut wire, "b", 2);
    let d = submit(&mut c, &mut wire, "c", 3);
    let refused = c
        .submit(&mut wire.upper().wr, Msg::new("d"), 4)
        .unwrap_err();
    assert_eq!(refused.reason, Refusal::Full);
    c.cancel(b);
    c.cancel(d);
    reply(&mut wire, "A\n");
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [resp(a, 1, "A")]);
    reply(&mut wire, "B\nC\n");
    let passes = drive(&mut c, &mut wire, &mut evs).unwrap();
    assert!(passes <= 3, "settles promptly, took {passes} passes");
    assert_eq!(evs.len(), 1, "cancelled responses are not reported");
    assert_eq!(c.in_flight(), 0);
    let e = submit(&mut c, &mut wire, "e", 5);
    reply(&mut wire, "E\n");
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(evs[1], resp(e, 5, "E"));
}

#[test]
fn cancelled_requests_whose_answers_never_come_still_count_against_the_limit() {
    let (mut c, mut wire) = (client(1), PipeBufPair::new());
    let a = submit(&mut c, &mut wire, "a", 1);
    c.cancel(a);
    let refused = c
        .submit(&mut wire.upper().wr, Msg::new("b"), 2)
        .unwrap_err();
    assert_eq!(refused.reason, Refusal::Full);
}

#[test]
fn response_with_nothing_pending_is_a_desync_error_not_a_panic() {
    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    reply(&mut wire, "surprise\n");
    let err = drive(&mut c, &mut wire, &mut evs).unwrap_err();
    assert_eq!(err, pipebuf::SettleError::Component(Error::Desynchronized));
    assert_eq!(
        wire.down.state(),
        pipebuf::PBufState::Aborting,
        "output aborted"
    );
    assert!(c.is_finished());
    let refused = c
        .submit(&mut wire.upper().wr, Msg::new("x"), 0)
        .unwrap_err();
    assert_eq!(refused.reason, Refusal::Closed);
    // Later calls only discard what comes in.
    reply(&mut wire, "more\n");
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert!(wire.up.is_empty());
    assert!(evs.is_empty());
}

#[test]
fn desync_after_answered_requests_fails_the_ones_still_pending_as_broken() {
    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1);
    reply(&mut wire, "A\nbad #x\n");
    assert!(drive(&mut c, &mut wire, &mut evs).is_err());
    let b = c.submit(&mut wire.upper().wr, Msg::new("b"), 2);
    assert!(b.is_err());
    assert_eq!(evs, [resp(a, 1, "A")]);

    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1);
    reply(&mut wire, "bad #x\n");
    assert!(drive(&mut c, &mut wire, &mut evs).is_err());
    assert_eq!(evs, [Ev::Failed(a.get(), 1, Failure::Broken)]);
}

fn eof_fails_each_pending_request_exactly_once(kind: EofKind, failure: Failure) {
    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1);
    let b = submit(&mut c, &mut wire, "b", 2);
    let d = submit(&mut c, &mut wire, "c", 3);
    let e = submit(&mut c, &mut wire, "d", 4);
    c.cancel(d);
    reply(&mut wire, "A\nhalf a respo");
    match kind {
        EofKind::Close => wire.lower().wr.close(),
        EofKind::Abort => wire.lower().wr.abort(),
    }
    drive(&mut c, &mut wire, &mut evs).unwrap();
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(
        evs,
        [
            resp(a, 1, "A"),
            Ev::Failed(b.get(), 2, failure),
            Ev::Failed(e.get(), 4, failure),
        ]
    );
    assert!(c.is_finished());
    assert!(wire.up.is_empty() && wire.up.state().is_done());
    let refused = c
        .submit(&mut wire.upper().wr, Msg::new("x"), 9)
        .unwrap_err();
    assert_eq!((refused.reason, refused.context), (Refusal::Closed, 9));
}

#[test]
fn close_with_requests_pending_fails_each_exactly_once_as_closed() {
    eof_fails_each_pending_request_exactly_once(EofKind::Close, Failure::Closed);
}

#[test]
fn abort_with_requests_pending_fails_each_exactly_once_as_aborted() {
    eof_fails_each_pending_request_exactly_once(EofKind::Abort, Failure::Aborted);
}

#[test]
fn submit_into_a_full_output_buffer_is_refused_without_writing_or_losing_the_request() {
    let mut c = client(8);
    let mut wire = PipeBufPair::with_limits(8, 8);
    submit(&mut c, &mut wire, "12345", 1);
    let refused = c
        .submit(&mut wire.upper().wr, Msg::new("abc"), 2)
        .unwrap_err();
    assert_eq!(refused.reason, Refusal::NoRoom);
    assert_eq!((refused.request, refused.context), (Msg::new("abc"), 2));
    assert_eq!(sent(&mut wire), "12345\n");
    assert_eq!(c.in_flight(), 1);
    let t = submit(&mut c, &mut wire, "abc", 2);
    assert_eq!(t.get(), 1);
}

#[test]
fn encoder_refusal_hands_the_request_back() {
    let (mut c, mut wire) = (client(8), PipeBufPair::new());
    let refused = c
        .submit(&mut wire.upper().wr, Msg::new("bad\nline"), 7)
        .unwrap_err();
    assert_eq!(refused.reason, Refusal::Encode(TextError::BadText));
    assert_eq!(refused.context, 7);
    assert_eq!(c.in_flight(), 0);
    assert!(wire.down.is_empty());
}

#[test]
fn responses_cut_at_every_byte_boundary_decode_the_same_and_lose_no_leftover() {
    let stream = "one\ntwo #3\nxyzthree #*\n2\nab;1\nc;0\nfour\n";
    for cut in 0..=stream.len() {
        let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
        let ts: Vec<_> = (0..4).map(|i| submit(&mut c, &mut wire, "q", i)).collect();
        let mut bodies = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            reply(&mut wire, part);
            loop {
                drive(&mut c, &mut wire, &mut evs).unwrap();
                let Some((t, mut rd)) = c.response_body() else {
                    break;
                };
                let data = rd.data().to_vec();
                rd.consume_all();
                let pushed = rd.consume_push();
                let end = rd.consume_eof();
                bodies.push((t.get(), data, pushed, end));
                if bodies
                    .last()
                    .is_some_and(|b| b.1.is_empty() && !b.2 && b.3.is_none())
                {
                    bodies.pop();
                    break;
                }
            }
        }
        assert_eq!(
            evs,
            [
                resp(ts[0], 0, "one"),
                Ev::Resp(ts[1].get(), 1, "two".into(), true),
                Ev::Resp(ts[2].get(), 2, "three".into(), true),
                resp(ts[3], 3, "four"),
            ],
            "cut at {cut}"
        );
        let mut per_ticket = std::collections::BTreeMap::<u64, Vec<u8>>::new();
        for (t, data, _, _) in &bodies {
            per_ticket.entry(*t).or_default().extend_from_slice(data);
        }
        assert_eq!(per_ticket[&1], b"xyz", "cut at {cut}");
        assert_eq!(per_ticket[&2], b"abc", "cut at {cut}");
        let ends: Vec<_> = bodies
            .iter()
            .filter_map(|b| b.3.map(|k| (b.0, k)))
            .collect();
        assert_eq!(
            ends,
            [(1, EofKind::Close), (2, EofKind::Close)],
            "cut at {cut}"
        );
        assert!(wire.up.is_empty(), "cut at {cut}");
    }
}

#[test]
fn chunked_response_body_pushes_at_each_chunk_boundary() {
    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    let t = submit(&mut c, &mut wire, "q", 0);
    reply(&mut wire, "r #*\n3\nabc");
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [Ev::Resp(t.get(), 0, "r".into(), true)]);
    let (bt, mut rd) = c.response_body().unwrap();
    assert_eq!(bt, t);
    assert_eq!(rd.data(), b"abc");
    rd.consume_all();
    assert!(rd.consume_push(), "the chunk's end is a push");
    reply(&mut wire, ";2\nde;0\n");
    drive(&mut c, &mut wire, &mut evs).unwrap();
    let (_, mut rd) = c.response_body().unwrap();
    assert_eq!(rd.data(), b"de");
    rd.consume_all();
    assert!(rd.consume_push());
    assert_eq!(rd.consume_eof(), Some(EofKind::Close));
    assert!(c.response_body().is_none());
}

#[test]
fn slow_response_body_reader_leaves_the_connection_bytes_unread() {
    let mut c = client(8).with_body_limit(4);
    let (mut wire, mut evs) = (PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1);
    let b = submit(&mut c, &mut wire, "b", 2);
    reply(&mut wire, "A #10\n0123456789B\n");
    drive(&mut c, &mut wire, &mut evs).unwrap();
    // The body buffer holds 4 bytes; the other 6 and the next response wait in the
    // connection's buffer.
    assert_eq!(wire.up.data(), b"456789B\n");
    assert_eq!(evs, [Ev::Resp(a.get(), 1, "A".into(), true)]);
    let mut body = Vec::new();
    while let Some((_, mut rd)) = c.response_body() {
        body.extend_from_slice(rd.data());
        rd.consume_all();
        rd.consume_eof();
        drive(&mut c, &mut wire, &mut evs).unwrap();
    }
    assert_eq!(body, b"0123456789");
    assert_eq!(evs[1..], [resp(b, 2, "B")]);
    assert!(wire.up.is_empty());
}

#[test]
fn next_response_waits_until_the_body_before_it_is_read_to_its_end() {
    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1);
    let b = submit(&mut c, &mut wire, "b", 2);
    reply(&mut wire, "A #2\nxyB\n");
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(wire.up.data(), b"B\n");
    let (_, mut rd) = c.response_body().unwrap();
    rd.consume_all();
    assert_eq!(rd.consume_eof(), Some(EofKind::Close));
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(
        evs,
        [Ev::Resp(a.get(), 1, "A".into(), true), resp(b, 2, "B")]
    );
}

#[test]
fn cancelling_a_response_while_its_body_arrives_skips_the_rest_of_the_body() {
    let mut c = client(8).with_body_limit(4);
    let (mut wire, mut evs) = (PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1);
    let b = submit(&mut c, &mut wire, "b", 2);
    reply(&mut wire, "A #10\n0123456789B\n");
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(c.cancel(a), None, "the context went out with the response");
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert!(c.response_body().is_none());
    assert_eq!(evs[1..], [resp(b, 2, "B")]);
}

#[test]
fn connection_end_inside_a_response_body_aborts_the_body() {
    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1);
    let b = submit(&mut c, &mut wire, "b", 2);
    reply(&mut wire, "A #10\n0123");
    wire.lower().wr.close();
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(
        evs,
        [
            Ev::Resp(a.get(), 1, "A".into(), true),
            Ev::Failed(b.get(), 2, Failure::Closed)
        ]
    );
    let (_, mut rd) = c.response_body().unwrap();
    assert_eq!(rd.data(), b"0123");
    rd.consume_all();
    assert_eq!(
        rd.consume_eof(),
        Some(EofKind::Abort),
        "a truncated body is an abort"
    );
}

fn end_of_stream_inside_a_chunk_header(kind: EofKind, failure: Failure) {
    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1);
    let b = submit(&mut c, &mut wire, "b", 2);
    // One chunk, then the separator of the next chunk header and nothing more.
    reply(&mut wire, "A #*\n3\nabc;");
    match kind {
        EofKind::Close => wire.lower().wr.close(),
        EofKind::Abort => wire.lower().wr.abort(),
    }
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(
        evs,
        [
            Ev::Resp(a.get(), 1, "A".into(), true),
            Ev::Failed(b.get(), 2, failure)
        ]
    );
    assert!(c.is_finished());
    assert!(wire.up.is_empty() && wire.up.state().is_done());
    let (_, mut rd) = c.response_body().unwrap();
    assert_eq!(rd.data(), b"abc");
    rd.consume_all();
    assert!(
        rd.consume_push(),
        "the chunk before the cut ended with a push"
    );
    assert_eq!(
        rd.consume_eof(),
        Some(EofKind::Abort),
        "a truncated body is an abort"
    );
}

#[test]
fn end_of_stream_inside_a_chunk_header_fails_the_pending_requests_and_aborts_the_body() {
    end_of_stream_inside_a_chunk_header(EofKind::Close, Failure::Closed);
    end_of_stream_inside_a_chunk_header(EofKind::Abort, Failure::Aborted);
}

#[test]
fn end_of_stream_inside_the_chunk_header_of_a_cancelled_response_still_ends_the_client() {
    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    let a = submit(&mut c, &mut wire, "a", 1);
    let b = submit(&mut c, &mut wire, "b", 2);
    c.cancel(a);
    reply(&mut wire, "A #*\n3\nabc;1");
    wire.lower().wr.close();
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(evs, [Ev::Failed(b.get(), 2, Failure::Closed)]);
    assert!(c.is_finished());
    assert!(c.response_body().is_none());
}

#[test]
fn request_bodies_stream_length_delimited_and_chunked() {
    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    let a = c
        .submit(
            &mut wire.upper().wr,
            Msg::with_body("put", Body::Length(5)),
            1,
        )
        .unwrap();
    let refused = c
        .submit(&mut wire.upper().wr, Msg::new("next"), 2)
        .unwrap_err();
    assert_eq!(refused.reason, Refusal::BodyInProgress);
    {
        let (t, mut wr) = c.request_body().unwrap();
        assert_eq!(t, a);
        wr.append(b"hel").unwrap();
    }
    drive(&mut c, &mut wire, &mut evs).unwrap();
    {
        let (_, mut wr) = c.request_body().unwrap();
        wr.append(b"lo").unwrap();
        wr.close();
    }
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert!(c.request_body().is_none());
    let _b = c
        .submit(&mut wire.upper().wr, Msg::with_body("up", Body::Chunked), 2)
        .unwrap();
    {
        let (_, mut wr) = c.request_body().unwrap();
        wr.append(b"abc").unwrap();
        wr.push();
    }
    drive(&mut c, &mut wire, &mut evs).unwrap();
    {
        let (_, mut wr) = c.request_body().unwrap();
        wr.append(b"de").unwrap();
        wr.close();
    }
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert!(
        wire.down.has_pending_push(),
        "the body's push reaches the connection"
    );
    assert_eq!(sent(&mut wire), "put #5\nhelloup #*\n3\nabc;2\nde;0\n");
}

#[test]
fn request_body_longer_or_shorter_than_announced_breaks_the_connection() {
    for (write, got) in [(&b"toolong"[..], 7), (&b"ab"[..], 2)] {
        let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
        let a = c
            .submit(
                &mut wire.upper().wr,
                Msg::with_body("put", Body::Length(4)),
                1,
            )
            .unwrap();
        let (_, mut wr) = c.request_body().unwrap();
        wr.append(write).unwrap();
        wr.close();
        let err = drive(&mut c, &mut wire, &mut evs).unwrap_err();
        assert_eq!(
            err,
            pipebuf::SettleError::Component(Error::BodyLength { expected: 4, got })
        );
        assert_eq!(evs, [Ev::Failed(a.get(), 1, Failure::Broken)]);
        assert!(wire.down.state().eof_kind() == Some(EofKind::Abort));
    }
}

#[test]
fn aborted_request_body_aborts_the_connection() {
    let (mut c, mut wire, mut evs) = (client(8), PipeBufPair::new(), Vec::new());
    c.submit(&mut wire.upper().wr, Msg::with_body("up", Body::Chunked), 1)
        .unwrap();
    c.request_body().unwrap().1.abort();
    let err = drive(&mut c, &mut wire, &mut evs).unwrap_err();
    assert_eq!(err, pipebuf::SettleError::Component(Error::BodyAborted));
    assert_eq!(wire.down.state().eof_kind(), Some(EofKind::Abort));
}

#[test]
fn chunked_request_body_waits_for_room_instead_of_writing_part_of_a_chunk() {
    let mut c = client(8);
    let mut wire = PipeBufPair::with_limits(32, 32);
    c.submit(&mut wire.upper().wr, Msg::with_body("u", Body::Chunked), 1)
        .unwrap();
    assert_eq!(sent(&mut wire), "u #*\n");
    let mut evs = Vec::new();
    wire.upper().wr.append(&[b'.'; 20]).unwrap();
    c.request_body().unwrap().1.append(b"0123456789").unwrap();
    // 12 bytes of room: "10\n" and 9 of the 10 bytes would fit, but the writer reserves
    // the codec's largest chunk header (22 bytes) with the data, so nothing goes out.
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(sent(&mut wire), ".".repeat(20), "no part of a chunk");
    // 32 bytes of room: the chunk goes out whole.
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(sent(&mut wire), "10\n0123456789");
    c.request_body().unwrap().1.close();
    drive(&mut c, &mut wire, &mut evs).unwrap();
    assert_eq!(sent(&mut wire), ";0\n");
    assert!(c.request_body().is_none());
}
