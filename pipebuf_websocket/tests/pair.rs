//! In-memory client ⇄ server tests of [`pipebuf_websocket::WebSocket`], in the manner of
//! quinn-proto's pair tests: our client and our server, a scripted application on each side
//! and a wire between them that the test delivers whole, byte by byte or in seeded random
//! chunks, with a fake clock. Deterministic: no sockets, no threads, no real time; every run
//! is bounded, so a livelock fails the test.
//!
//! Covered: messages of many sizes and both types both ways, streamed messages, pings from
//! the API, the close handshake started by either side or both, aborts, keepalive, idle and
//! close timeouts, pushes, small buffers, subprotocols and refusal.

mod common;

use std::time::Duration;

use common::*;
use pipebuf::{EofKind, PipeBufPair};
use pipebuf_websocket::handshake::{ClientRequest, Decision, HandshakeError};
use pipebuf_websocket::message::MessageKind;
use pipebuf_websocket::{WebSocket, WsConfig, WsError};

/// The schedules every behaviour is checked under (random ones with fixed seeds).
const SCHEDULES: [Schedule; 4] = [
    Schedule::Whole,
    Schedule::ByteByByte,
    Schedule::Random { seed: 7, max: 40 },
    Schedule::Random {
        seed: 0xDEAD_BEEF,
        max: 1500,
    },
];

/// A message of `len` bytes: valid text of mixed character widths, or random bytes.
fn message(rng: &mut Rng, kind: MessageKind, len: usize) -> (MessageKind, Vec<u8>) {
    match kind {
        MessageKind::Text => (kind, rng.text(len).into_bytes()),
        MessageKind::Binary => (kind, rng.bytes(len)),
    }
}

/// Messages of the sizes around every length encoding, alternating types, up to `max` bytes.
fn messages(seed: u64, max: usize) -> Vec<(MessageKind, Vec<u8>)> {
    let mut rng = Rng::new(seed);
    [
        0, 1, 2, 3, 4, 5, 100, 125, 126, 127, 128, 1000, 65535, 65536, 70_000, 300_000,
    ]
    .into_iter()
    .filter(|&len| len <= max)
    .enumerate()
    .map(|(i, len)| {
        let kind = if i % 2 == 0 {
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        message(&mut rng, kind, len)
    })
    .collect()
}

fn script_messages(app: &mut App, messages: &[(MessageKind, Vec<u8>)]) {
    app.script(messages.iter().map(|(k, d)| Op::Message(*k, d.clone())));
}

/// Compares messages without printing megabytes.
fn assert_same(who: &str, got: &[(MessageKind, Vec<u8>)], sent: &[(MessageKind, Vec<u8>)]) {
    assert_eq!(got.len(), sent.len(), "{who}: number of messages");
    for (i, (g, s)) in got.iter().zip(sent).enumerate() {
        assert_eq!(g.0, s.0, "{who}: type of message {i}");
        assert!(
            g.1 == s.1,
            "{who}: message {i} differs ({} bytes, {} sent)",
            g.1.len(),
            s.1.len()
        );
    }
}

/// Both sides closed cleanly: each saw the other's close, every buffer ended, no errors.
fn assert_closed_cleanly(pair: &Pair) {
    pair.assert_no_errors();
    assert_eq!(pair.client.app.eof, Some(EofKind::Close), "client app");
    assert_eq!(pair.server.app.eof, Some(EofKind::Close), "server app");
    assert_eq!(pair.c2s_eof, Some(EofKind::Close));
    assert_eq!(pair.s2c_eof, Some(EofKind::Close));
    assert!(pair.all_done(), "some buffer never ended");
    assert_eq!(pair.client_frames().after_close, 0);
    assert_eq!(pair.server_frames().after_close, 0);
}

// ---------------------------------------------------------------------------------------------
// Handshake and harness

#[test]
fn the_handshake_completes_under_every_schedule() {
    for schedule in SCHEDULES {
        let pair = Pair::open(schedule);
        assert_eq!(pair.client.app.eof, None);
        assert_eq!(pair.server.app.eof, None);
        assert_eq!(pair.server.ep.ws.request().map(|r| r.path()), Some("/"));
        assert_eq!(pair.client.ep.ws.subprotocol(), None);
    }
}

#[test]
fn a_settled_pair_stays_settled() {
    let mut pair = Pair::open(Schedule::Whole);
    for _ in 0..10 {
        assert!(!pair.step(), "a settled pair reported activity");
    }
}

#[test]
fn a_subprotocol_offered_by_the_client_and_picked_by_the_server_is_agreed_on_both_sides() {
    let mut request = ClientRequest::new("/chat?room=1", "chat.example");
    request.subprotocols = vec!["chat.v2".into(), "chat".into()];
    let client = Endpoint::new(WebSocket::client(WsConfig::default(), request), true);
    let server = Endpoint::new(
        WebSocket::server(
            WsConfig::default(),
            Box::new(|req| Decision::Accept {
                subprotocol: req.pick_subprotocol(&["chat"]).map(String::from),
            }),
        ),
        false,
    );
    let mut pair = Pair::with_endpoints(client, server, Schedule::Random { seed: 3, max: 17 });
    pair.handshake();
    assert_eq!(pair.client.ep.ws.subprotocol(), Some("chat"));
    assert_eq!(pair.server.ep.ws.subprotocol(), Some("chat"));
    assert_eq!(
        pair.server.ep.ws.request().map(|r| r.path()),
        Some("/chat?room=1")
    );
}

#[test]
fn a_refused_upgrade_fails_both_sides_and_aborts_both_applications() {
    let server = Endpoint::new(
        WebSocket::server(WsConfig::default(), Box::new(|_| Decision::Reject(403))),
        false,
    );
    let mut pair = Pair::with_endpoints(
        Endpoint::client(WsConfig::default()),
        server,
        Schedule::Whole,
    );
    pair.settle();
    assert_eq!(pair.server.ep.errors, vec![WsError::Refused(403)]);
    assert_eq!(
        pair.client.ep.errors,
        vec![WsError::Handshake(HandshakeError::UnexpectedStatus(403))]
    );
    assert_eq!(pair.client.app.eof, Some(EofKind::Abort));
    assert_eq!(pair.server.app.eof, Some(EofKind::Abort));
}

// ---------------------------------------------------------------------------------------------
// Messages

#[test]
fn messages_of_many_sizes_and_both_types_cross_both_ways_under_every_schedule() {
    for schedule in SCHEDULES {
        // Byte by byte, one step per byte: small messages only.
        let max = if schedule == Schedule::ByteByByte {
            1000
        } else {
            300_000
        };
        let mut pair = Pair::open(schedule);
        let to_server = messages(1, max);
        let to_client = messages(2, max);
        script_messages(&mut pair.client.app, &to_server);
        script_messages(&mut pair.server.app, &to_client);
        pair.settle();
        pair.assert_no_errors();
        assert_same("server", &pair.server.app.messages, &to_server);
        assert_same("client", &pair.client.app.messages, &to_client);
        // Every frame on the wire kept the rules for its sender (checked while parsing).
        assert_eq!(pair.client_frames().messages.len(), to_server.len());
        assert_eq!(pair.server_frames().messages.len(), to_client.len());
    }
}

#[test]
fn a_whole_session_closes_cleanly_under_every_schedule() {
    for schedule in SCHEDULES {
        let mut pair = Pair::open(schedule);
        let to_server = messages(3, 2000);
        script_messages(&mut pair.client.app, &to_server);
        pair.client.app.script([Op::Close]);
        pair.settle();
        assert_same("server", &pair.server.app.messages, &to_server);
        assert_closed_cleanly(&pair);
    }
}

#[test]
fn a_message_larger_than_every_buffer_streams_through_both_ways() {
    let mut rng = Rng::new(9);
    let big_text = message(&mut rng, MessageKind::Text, 3 << 20);
    let big_binary = message(&mut rng, MessageKind::Binary, 3 << 20);
    let mut pair = Pair::open(Schedule::Random {
        seed: 4,
        max: 64 * 1024,
    });
    script_messages(&mut pair.client.app, std::slice::from_ref(&big_text));
    script_messages(&mut pair.server.app, std::slice::from_ref(&big_binary));
    pair.settle();
    pair.assert_no_errors();
    assert_same("server", &pair.server.app.messages, &[big_text]);
    assert_same("client", &pair.client.app.messages, &[big_binary]);
    assert!(pair.server.app.records > 1, "3 MiB arrived in one record");
    let limit = pipebuf::PipeBuf::<u8>::DEFAULT_MAX_CAPACITY;
    assert!(pair.high_water.iter().all(|&hw| hw <= limit));
}

#[test]
fn small_buffers_on_both_sides_carry_large_messages_both_ways() {
    let small = |ep: &mut Endpoint| {
        ep.net = PipeBufPair::with_limits(512, 4096);
        ep.msgs = PipeBufPair::with_limits(512, 4096);
    };
    let mut client = Endpoint::client(WsConfig::default());
    let mut server = Endpoint::server(WsConfig::default());
    small(&mut client);
    small(&mut server);
    let mut pair = Pair::with_endpoints(client, server, Schedule::Random { seed: 5, max: 700 });
    pair.handshake();
    let to_server = messages(6, 100_000);
    let to_client = messages(7, 100_000);
    script_messages(&mut pair.client.app, &to_server);
    script_messages(&mut pair.server.app, &to_client);
    pair.settle();
    pair.assert_no_errors();
    assert_same("server", &pair.server.app.messages, &to_server);
    assert_same("client", &pair.client.app.messages, &to_client);
    assert!(pair.high_water.iter().all(|&hw| hw <= 4096));
}

#[test]
fn streamed_messages_arrive_with_their_content_and_type() {
    for schedule in SCHEDULES {
        let mut pair = Pair::open(schedule);
        let text = "κόσμε 𝄞 €uro ".repeat(20);
        let bytes = text.as_bytes();
        // Chunks that cut characters apart: only the whole message is UTF-8.
        let mut ops = Vec::new();
        let mut at = 0;
        for (i, n) in [1, 2, 3, 0, 5, 7, 11, 13].iter().cycle().enumerate() {
            let end = (at + n).min(bytes.len());
            let fin = end == bytes.len();
            ops.push(Op::Chunk(MessageKind::Text, fin, bytes[at..end].to_vec()));
            at = end;
            if fin || i > 10_000 {
                break;
            }
        }
        let blob = Rng::new(8).bytes(5000);
        ops.push(Op::Chunk(MessageKind::Binary, false, blob[..1].to_vec()));
        ops.push(Op::Chunk(MessageKind::Binary, false, Vec::new()));
        ops.push(Op::Chunk(
            MessageKind::Binary,
            false,
            blob[1..4000].to_vec(),
        ));
        ops.push(Op::Chunk(MessageKind::Binary, true, blob[4000..].to_vec()));
        ops.push(Op::Chunk(MessageKind::Binary, true, Vec::new()));
        pair.client.app.script(ops);
        pair.settle();
        pair.assert_no_errors();
        assert_same(
            "server",
            &pair.server.app.messages,
            &[
                (MessageKind::Text, bytes.to_vec()),
                (MessageKind::Binary, blob),
                (MessageKind::Binary, Vec::new()),
            ],
        );
    }
}

#[test]
fn a_message_pushes_the_wire_and_the_push_reaches_the_peer_application_after_it() {
    let mut pair = Pair::open(Schedule::Whole);
    pair.client
        .app
        .script([Op::Message(MessageKind::Text, b"flush me".to_vec())]);
    pair.settle();
    assert_eq!(pair.server.app.messages.len(), 1);
    assert!(
        pair.server.app.pushes.contains(&1),
        "no push after the message: {:?}",
        pair.server.app.pushes
    );
}

// ---------------------------------------------------------------------------------------------
// Pings

#[test]
fn a_ping_from_the_api_is_answered_with_a_pong_carrying_its_payload() {
    for schedule in SCHEDULES {
        let mut pair = Pair::open(schedule);
        pair.client.ep.ws.ping(b"client asks");
        pair.server.ep.ws.ping(b"server asks");
        pair.settle();
        pair.assert_no_errors();
        let (c, s) = (pair.client_frames(), pair.server_frames());
        assert_eq!(c.pings, vec![b"client asks".to_vec()]);
        assert_eq!(s.pongs, vec![b"client asks".to_vec()]);
        assert_eq!(s.pings, vec![b"server asks".to_vec()]);
        assert_eq!(c.pongs, vec![b"server asks".to_vec()]);
        // Pings are no messages.
        assert!(pair.client.app.messages.is_empty() && pair.server.app.messages.is_empty());
    }
}

#[test]
fn a_ping_payload_over_125_bytes_is_cut_to_125() {
    let mut pair = Pair::open(Schedule::Whole);
    pair.client.ep.ws.ping(&[7u8; 300]);
    pair.settle();
    pair.assert_no_errors();
    assert_eq!(pair.client_frames().pings, vec![vec![7u8; 125]]);
    assert_eq!(pair.server_frames().pongs, vec![vec![7u8; 125]]);
}

#[test]
fn a_ping_between_the_chunks_of_a_streamed_message_is_answered() {
    let mut pair = Pair::open(Schedule::Random { seed: 2, max: 9 });
    pair.client
        .app
        .script([Op::Chunk(MessageKind::Binary, false, vec![1; 300])]);
    pair.settle();
    pair.client.ep.ws.ping(b"mid-message");
    pair.settle();
    pair.client
        .app
        .script([Op::Chunk(MessageKind::Binary, true, vec![2; 300])]);
    pair.settle();
    pair.assert_no_errors();
    assert_eq!(pair.server_frames().pongs, vec![b"mid-message".to_vec()]);
    let mut expected = vec![1u8; 300];
    expected.extend([2u8; 300]);
    assert_same(
        "server",
        &pair.server.app.messages,
        &[(MessageKind::Binary, expected)],
    );
}

// ---------------------------------------------------------------------------------------------
// Closing

#[test]
fn a_close_from_the_client_with_code_and_reason_reaches_the_server() {
    for schedule in SCHEDULES {
        let mut pair = Pair::open(schedule);
        pair.client.ep.ws.close(4000, "bye now");
        pair.client.app.script([Op::Close]);
        pair.settle();
        assert_eq!(
            pair.server.ep.ws.peer_close(),
            Some(Some((4000, "bye now")))
        );
        // The answer echoes the code.
        assert_eq!(pair.client.ep.ws.peer_close(), Some(Some((4000, ""))));
        assert_closed_cleanly(&pair);
    }
}

#[test]
fn a_close_from_the_server_with_code_and_reason_reaches_the_client() {
    for schedule in SCHEDULES {
        let mut pair = Pair::open(schedule);
        pair.server.ep.ws.close(1001, "restarting");
        pair.server.app.script([Op::Close]);
        pair.settle();
        assert_eq!(
            pair.client.ep.ws.peer_close(),
            Some(Some((1001, "restarting")))
        );
        assert_eq!(pair.server.ep.ws.peer_close(), Some(Some((1001, ""))));
        assert_closed_cleanly(&pair);
    }
}

#[test]
fn a_close_without_a_code_set_sends_1000_without_a_reason() {
    let mut pair = Pair::open(Schedule::Whole);
    pair.client.app.script([Op::Close]);
    pair.settle();
    assert_eq!(pair.server.ep.ws.peer_close(), Some(Some((1000, ""))));
    assert_eq!(pair.client_frames().close, Some(vec![0x03, 0xE8]));
    assert_closed_cleanly(&pair);
}

#[test]
fn both_sides_closing_at_once_each_see_the_others_code() {
    for schedule in SCHEDULES {
        let mut pair = Pair::open(schedule);
        pair.client.ep.ws.close(4001, "client leaves");
        pair.server.ep.ws.close(4002, "server leaves");
        pair.client.app.script([Op::Close]);
        pair.server.app.script([Op::Close]);
        pair.settle();
        assert_eq!(
            pair.server.ep.ws.peer_close(),
            Some(Some((4001, "client leaves")))
        );
        assert_eq!(
            pair.client.ep.ws.peer_close(),
            Some(Some((4002, "server leaves")))
        );
        assert_closed_cleanly(&pair);
    }
}

#[test]
fn messages_sent_before_the_close_arrive_and_the_peer_may_still_answer_before_its_own() {
    for schedule in SCHEDULES {
        let mut pair = Pair::open(schedule);
        let to_server = messages(10, 1000);
        script_messages(&mut pair.client.app, &to_server);
        pair.client.app.script([Op::Close]);
        // The server's application has something to say before it answers the close.
        let last_words = (MessageKind::Text, b"and one more thing".to_vec());
        script_messages(&mut pair.server.app, std::slice::from_ref(&last_words));
        pair.settle();
        assert_same("server", &pair.server.app.messages, &to_server);
        assert_same("client", &pair.client.app.messages, &[last_words]);
        assert_closed_cleanly(&pair);
    }
}

#[test]
fn an_application_abort_reaches_the_peer_as_an_abort() {
    for schedule in SCHEDULES {
        for client_aborts in [true, false] {
            let mut pair = Pair::open(schedule);
            let aborter = if client_aborts {
                &mut pair.client
            } else {
                &mut pair.server
            };
            aborter.app.script([Op::Abort]);
            pair.settle();
            pair.assert_no_errors();
            let (aborter, peer, wire) = if client_aborts {
                (&pair.client, &pair.server, pair.c2s_eof)
            } else {
                (&pair.server, &pair.client, pair.s2c_eof)
            };
            assert_eq!(wire, Some(EofKind::Abort));
            assert_eq!(peer.app.eof, Some(EofKind::Abort), "{schedule:?}");
            assert_eq!(aborter.app.eof, Some(EofKind::Abort));
            assert_eq!(peer.ep.ws.peer_close(), None);
        }
    }
}

#[test]
fn an_abort_after_messages_may_lose_them_but_never_corrupts_them() {
    for schedule in SCHEDULES {
        let mut pair = Pair::open(schedule);
        let sent = messages(11, 2000);
        script_messages(&mut pair.client.app, &sent);
        pair.client.app.script([Op::Abort]);
        pair.settle();
        let got = &pair.server.app.messages;
        assert!(got.len() <= sent.len());
        assert_same("server", got, &sent[..got.len()]);
        assert_eq!(pair.server.app.eof, Some(EofKind::Abort));
    }
}

// ---------------------------------------------------------------------------------------------
// Timers, on the fake clock

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn a_keepalive_ping_goes_out_after_the_quiet_interval_and_is_answered() {
    let client = WsConfig {
        keepalive: Some(10 * SECOND),
        ..WsConfig::default()
    };
    let mut pair = Pair::new(client, WsConfig::default(), Schedule::Whole);
    pair.handshake();
    assert_eq!(
        pair.client.ep.ws.next_deadline(),
        Some(pipebuf::Time::ZERO + 10 * SECOND)
    );
    assert_eq!(pair.server.ep.ws.next_deadline(), None);
    pair.advance(9 * SECOND);
    assert!(pair.client_frames().pings.is_empty());
    pair.advance(SECOND);
    assert_eq!(pair.client_frames().pings, vec![Vec::<u8>::new()]);
    assert_eq!(pair.server_frames().pongs, vec![Vec::<u8>::new()]);
    // The pong counts as hearing from the server: the next ping is due 10 s later.
    assert_eq!(
        pair.client.ep.ws.next_deadline(),
        Some(pipebuf::Time::ZERO + 20 * SECOND)
    );
    pair.advance(10 * SECOND);
    assert_eq!(pair.client_frames().pings.len(), 2);
    pair.assert_no_errors();
}

#[test]
fn traffic_from_the_peer_postpones_the_keepalive_ping() {
    let client = WsConfig {
        keepalive: Some(10 * SECOND),
        ..WsConfig::default()
    };
    let mut pair = Pair::new(client, WsConfig::default(), Schedule::Whole);
    pair.handshake();
    pair.advance(6 * SECOND);
    pair.server
        .app
        .script([Op::Message(MessageKind::Text, b"tick".to_vec())]);
    pair.settle();
    assert_eq!(
        pair.client.ep.ws.next_deadline(),
        Some(pipebuf::Time::ZERO + 16 * SECOND)
    );
    pair.advance(6 * SECOND);
    assert!(
        pair.client_frames().pings.is_empty(),
        "pinged a talking peer"
    );
}

#[test]
fn an_idle_peer_is_dropped_with_1001_after_the_idle_timeout() {
    let server = WsConfig {
        idle_timeout: Some(30 * SECOND),
        ..WsConfig::default()
    };
    let mut pair = Pair::new(WsConfig::default(), server, Schedule::Whole);
    pair.handshake();
    assert_eq!(
        pair.server.ep.ws.next_deadline(),
        Some(pipebuf::Time::ZERO + 30 * SECOND)
    );
    pair.advance(29 * SECOND);
    assert!(pair.server.ep.errors.is_empty());
    pair.advance(SECOND);
    assert_eq!(pair.server.ep.errors, vec![WsError::IdleTimeout]);
    assert_eq!(pair.server_frames().close_code(), Some(GOING_AWAY));
    assert_eq!(pair.client.ep.ws.peer_close(), Some(Some((GOING_AWAY, ""))));
    assert_eq!(pair.client.app.eof, Some(EofKind::Close));
    assert_eq!(pair.server.app.eof, Some(EofKind::Abort));
    assert!(pair.client.ep.errors.is_empty());
}

#[test]
fn keepalive_on_one_side_keeps_the_other_sides_idle_timeout_from_firing() {
    let client = WsConfig {
        keepalive: Some(10 * SECOND),
        ..WsConfig::default()
    };
    let server = WsConfig {
        idle_timeout: Some(25 * SECOND),
        ..WsConfig::default()
    };
    let mut pair = Pair::new(client, server, Schedule::Random { seed: 1, max: 3 });
    pair.handshake();
    for _ in 0..20 {
        pair.advance(5 * SECOND);
    }
    pair.assert_no_errors();
    assert!(pair.client_frames().pings.len() >= 9);
    assert_eq!(pair.server.app.eof, None);
}

#[test]
fn a_close_that_is_never_answered_aborts_after_the_close_timeout() {
    let mut pair = Pair::open(Schedule::Whole);
    pair.stalled = true;
    pair.client.app.script([Op::Close]);
    pair.settle();
    assert_eq!(
        pair.client.ep.ws.next_deadline(),
        Some(pipebuf::Time::ZERO + 5 * SECOND)
    );
    pair.advance(4 * SECOND);
    assert_eq!(pair.client.ep.net_out_eof(), None);
    pair.advance(SECOND);
    assert_eq!(pair.client.ep.net_out_eof(), Some(EofKind::Abort));
    assert_eq!(pair.client.app.eof, Some(EofKind::Abort));
}

#[test]
fn an_application_that_never_closes_after_the_peer_did_gets_the_reply_sent_after_the_close_timeout()
{
    let client = WsConfig {
        close_timeout: 10 * SECOND,
        ..WsConfig::default()
    };
    let mut pair = Pair::new(client, WsConfig::default(), Schedule::Whole);
    pair.handshake();
    pair.server.app.stays_open_after_peer_close = true;
    pair.client.ep.ws.close(4003, "");
    pair.client.app.script([Op::Close]);
    pair.settle();
    assert_eq!(pair.server.app.eof, Some(EofKind::Close));
    assert_eq!(
        pair.server_frames().close,
        None,
        "answered before the app closed"
    );
    pair.advance(5 * SECOND);
    assert_eq!(pair.server_frames().close_code(), Some(4003));
    assert_eq!(pair.client.ep.ws.peer_close(), Some(Some((4003, ""))));
    pair.assert_no_errors();
    // Both byte streams ended; only the server application's own stream stays open.
    assert!(pair.client.ep.net.is_done() && pair.server.ep.net.is_done());
    assert!(pair.client.ep.msgs.is_done());
}

#[test]
fn a_peer_held_back_by_our_slow_application_is_not_idle() {
    let server = WsConfig {
        idle_timeout: Some(30 * SECOND),
        ..WsConfig::default()
    };
    let mut pair = Pair::new(WsConfig::default(), server, Schedule::Whole);
    pair.handshake();
    pair.server.app.read_limit = Some(0);
    pair.client
        .app
        .script([Op::Message(MessageKind::Binary, vec![1; 2 << 20])]);
    pair.settle();
    for _ in 0..40 {
        pair.advance(SECOND);
    }
    pair.assert_no_errors();
    // Once the application reads again, everything arrives.
    pair.server.app.read_limit = None;
    pair.settle();
    assert_eq!(pair.server.app.messages.len(), 1);
}

#[test]
fn a_chunk_changing_type_inside_a_message_is_refused_by_our_side() {
    let mut pair = Pair::open(Schedule::Whole);
    pair.client.app.script([
        Op::Chunk(MessageKind::Text, false, b"abc".to_vec()),
        Op::Chunk(MessageKind::Binary, true, vec![0xff]),
    ]);
    pair.settle();
    assert!(
        matches!(pair.client.ep.errors.as_slice(), [WsError::BadChunk(_)]),
        "client {:?}, server {:?}",
        pair.client.ep.errors,
        pair.server.ep.errors
    );
}
