//! In-memory client ⇄ server tests of [`pipebuf_rustls::Tls`], in the manner of quinn-proto's
//! pair tests: two `Tls` components, a scripted application on each side and a wire between
//! them that the test delivers whole, byte by byte or in seeded random chunks. Deterministic:
//! no sockets, no threads, no clock; every run is bounded so a livelock fails the test.
//!
//! Covered: data, push, close and abort in every combination on both sides; data written
//! before the handshake; truncation (FIN without close_notify) and aborts; bounded output
//! with small encrypted buffers; ALPN, SNI, TLS 1.2 and 1.3, client certificates.

mod common;

use std::sync::{Arc, LazyLock};

use common::{App, Basic, Ca, Op, Pair, Rng, Schedule};
use pipebuf::{EofKind, PBufState};
use pipebuf_rustls::{RustlsApi, Tls, TlsError, config};
use proptest::prelude::*;
use rustls::ProtocolVersion;

/// One CA, leaf and config set shared by the tests that do not need their own.
static BASIC: LazyLock<Basic> = LazyLock::new(Basic::new);

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

fn bytes(seed: u64, n: usize) -> Vec<u8> {
    Rng::new(seed).bytes(n)
}

// ---------------------------------------------------------------------------------------------
// Harness sanity

#[test]
fn handshake_completes_under_every_schedule() {
    for schedule in SCHEDULES {
        let mut pair = BASIC.pair(schedule);
        pair.handshake();
        assert_eq!(pair.server.tls.server_name(), Some("localhost"));
        assert_eq!(
            pair.client.tls.protocol_version(),
            Some(ProtocolVersion::TLSv1_3)
        );
        assert!(pair.client.tls.peer_certificates().is_some());
        // Nothing ended: no EOF anywhere.
        assert_eq!(pair.client_app.eof, None);
        assert_eq!(pair.server_app.eof, None);
    }
}

#[test]
fn settled_pair_stays_settled() {
    let mut pair = BASIC.pair(Schedule::Whole);
    pair.handshake();
    for _ in 0..10 {
        assert!(!pair.step(), "a settled pair reported activity");
    }
}

// ---------------------------------------------------------------------------------------------
// Data, push, close, abort in every combination

/// How one application ends its side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Open,
    Close,
    Abort,
}

/// One application's script: optional data, optional push, then how it ends.
#[derive(Debug, Clone, Copy)]
struct Script {
    data: usize,
    push: bool,
    end: End,
}

impl Script {
    fn ops(&self, seed: u64) -> Vec<Op> {
        let mut ops = Vec::new();
        if self.data > 0 {
            ops.push(Op::Data(bytes(seed, self.data)));
        }
        if self.push {
            ops.push(Op::Push);
        }
        match self.end {
            End::Open => (),
            End::Close => ops.push(Op::Close),
            End::Abort => ops.push(Op::Abort),
        }
        ops
    }

    fn all(data_len: usize, aborts: bool) -> Vec<Script> {
        let mut all = Vec::new();
        for data in [0, data_len] {
            for push in [false, true] {
                for end in [End::Open, End::Close, End::Abort] {
                    if end != End::Abort || aborts {
                        all.push(Script { data, push, end });
                    }
                }
            }
        }
        all
    }
}

/// Checks what `receiver` got from a peer that ran `script` (`sent` being its data).
fn check_delivery(who: &str, script: Script, sent: &[u8], receiver: &App, wire_pushes: usize) {
    match script.end {
        End::Abort => {
            // An abort may drop data still queued, never corrupt it.
            assert!(
                sent.starts_with(&receiver.received),
                "{who}: received data is not a prefix of what was sent"
            );
            assert_eq!(
                receiver.eof,
                Some(EofKind::Abort),
                "{who}: abort must arrive"
            );
        }
        End::Close => {
            assert!(receiver.received == sent, "{who}: data differs");
            assert_eq!(
                receiver.eof,
                Some(EofKind::Close),
                "{who}: close must arrive"
            );
        }
        End::Open => {
            assert!(receiver.received == sent, "{who}: data differs");
            assert_eq!(receiver.eof, None, "{who}: no EOF was sent");
        }
    }
    if script.push && script.end != End::Abort {
        assert!(
            wire_pushes > 0,
            "{who}: plaintext push did not reach the wire"
        );
    }
    if script.push && script.end == End::Open {
        // The push crossed the receiving Tls too, after all the data it followed. (With a
        // close the push may merge into the close: a push after EOF is a no-op.)
        assert_eq!(
            receiver.pushes.last(),
            Some(&sent.len()),
            "{who}: push did not reach the peer application"
        );
    }
    if !script.push {
        assert!(receiver.pushes.is_empty(), "{who}: push out of nowhere");
    }
}

/// Runs every client script against every server script under `schedule`, with `data_len`
/// bytes where a script sends data. The scripts start after the handshake, or before it
/// (then without aborts: an abort before the handshake ends leaves the other direction
/// without one).
fn every_combination(schedule: Schedule, data_len: usize, before_handshake: bool) {
    let scripts = Script::all(data_len, !before_handshake);
    for (i, &c) in scripts.iter().enumerate() {
        for (j, &s) in scripts.iter().enumerate() {
            let mut pair = BASIC.pair(schedule);
            if !before_handshake {
                pair.handshake();
                // Count only what the scripts cause, not the handshake.
                pair.c2s = Default::default();
                pair.s2c = Default::default();
            }
            let (c_ops, s_ops) = (c.ops(i as u64), s.ops(100 + j as u64));
            pair.client_app.script(c_ops.clone());
            pair.server_app.script(s_ops.clone());
            pair.settle();
            let ctx = format!("{schedule:?} early={before_handshake} client {c:?} server {s:?}");
            pair.assert_no_failures();
            assert!(!pair.client.tls.is_handshaking(), "{ctx}");
            assert!(!pair.server.tls.is_handshaking(), "{ctx}");
            check_delivery(
                &format!("{ctx}: client→server"),
                c,
                &App::all_data(&c_ops),
                &pair.server_app,
                pair.c2s.pushes,
            );
            check_delivery(
                &format!("{ctx}: server→client"),
                s,
                &App::all_data(&s_ops),
                &pair.client_app,
                pair.s2c.pushes,
            );
            if c.end != End::Open && s.end != End::Open {
                assert!(pair.all_done(), "{ctx}: some EOF was never consumed");
            }
            // Close sends close_notify and closes the wire; abort aborts the wire.
            let wire_eof = |end: End| match end {
                End::Open => None,
                End::Close => Some(EofKind::Close),
                End::Abort => Some(EofKind::Abort),
            };
            assert_eq!(pair.c2s.eof, wire_eof(c.end), "{ctx}: client wire EOF");
            assert_eq!(pair.s2c.eof, wire_eof(s.end), "{ctx}: server wire EOF");
        }
    }
}

#[test]
fn every_combination_of_data_push_close_abort_arrives_whole() {
    every_combination(Schedule::Whole, 3000, false);
}

#[test]
fn every_combination_of_data_push_close_abort_arrives_in_random_chunks() {
    every_combination(Schedule::Random { seed: 42, max: 700 }, 3000, false);
}

#[test]
fn every_combination_of_data_push_close_abort_arrives_byte_by_byte() {
    every_combination(Schedule::ByteByByte, 100, false);
}

#[test]
fn every_combination_written_before_the_handshake_arrives_after_it() {
    every_combination(Schedule::Whole, 3000, true);
    every_combination(Schedule::Random { seed: 43, max: 200 }, 3000, true);
}

#[test]
fn small_exchange_arrives_byte_by_byte() {
    let mut pair = BASIC.pair(Schedule::ByteByByte);
    let (c, s) = (bytes(1, 300), bytes(2, 200));
    pair.client_app
        .script([Op::Data(c.clone()), Op::Push, Op::Close]);
    pair.server_app
        .script([Op::Data(s.clone()), Op::Push, Op::Close]);
    pair.settle();
    pair.assert_no_failures();
    assert_eq!(pair.server_app.received, c);
    assert_eq!(pair.client_app.received, s);
    assert_eq!(pair.server_app.eof, Some(EofKind::Close));
    assert_eq!(pair.client_app.eof, Some(EofKind::Close));
    assert!(pair.all_done());
}

#[test]
fn plaintext_push_becomes_an_encrypted_push() {
    let mut pair = BASIC.pair(Schedule::Whole);
    pair.handshake();
    pair.c2s = Default::default();
    pair.client_app
        .script([Op::Data(b"ping".to_vec()), Op::Push]);
    pair.settle();
    assert_eq!(pair.server_app.received, b"ping");
    assert_eq!(
        pair.c2s.pushes, 1,
        "the client's push did not reach the wire"
    );
    // A push alone, with no data, crosses too.
    pair.client_app.script([Op::Push]);
    pair.settle();
    assert_eq!(pair.c2s.pushes, 2);
}

#[test]
fn push_crosses_to_the_peer_application() {
    let mut pair = BASIC.pair(Schedule::Whole);
    pair.handshake();
    pair.client_app
        .script([Op::Data(b"ping".to_vec()), Op::Push]);
    pair.settle();
    assert_eq!(pair.c2s.pushes, 1);
    assert_eq!(pair.server_app.received, b"ping");
    assert_eq!(
        pair.server_app.pushes,
        vec![4],
        "the push stopped at the server's encrypted input: {:?}",
        pair.server.wire.up
    );
}

// ---------------------------------------------------------------------------------------------
// Before the handshake

#[test]
fn data_written_before_the_handshake_is_delivered_after_it() {
    for schedule in SCHEDULES {
        let mut pair = BASIC.pair(schedule);
        let (c, s) = (bytes(3, 5000), bytes(4, 700));
        // Both applications write (and the client closes) before any byte was exchanged.
        pair.client_app
            .script([Op::Data(c.clone()), Op::Push, Op::Close]);
        pair.server_app.script([Op::Data(s.clone())]);
        assert!(pair.client_app.pump(pair.client.plain.upper()));
        assert!(pair.server_app.pump(pair.server.plain.upper()));
        pair.settle();
        pair.assert_no_failures();
        assert!(!pair.client.tls.is_handshaking());
        assert_eq!(pair.server_app.received, c, "{schedule:?}");
        assert_eq!(pair.server_app.eof, Some(EofKind::Close), "{schedule:?}");
        assert_eq!(pair.client_app.received, s, "{schedule:?}");
        assert_eq!(pair.client_app.eof, None, "{schedule:?}");
    }
}

#[test]
fn no_application_data_leaves_before_the_handshake() {
    let mut pair = BASIC.pair(Schedule::Whole);
    pair.client_app
        .script([Op::Data(b"early".to_vec()), Op::Close]);
    pair.client_app.pump(pair.client.plain.upper());
    // The first call writes only the ClientHello: one handshake record.
    pair.client.process().unwrap();
    let hello = pair.client.take_output();
    let records = common::records(&hello);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].0, 22, "not a handshake record");
    assert_eq!(
        pair.client.crypt_out_eof(),
        None,
        "closed before the handshake"
    );
    // The data still waits in the plaintext buffer.
    assert_eq!(pair.client.plain.down.data(), b"early");
}

// ---------------------------------------------------------------------------------------------
// Truncation and aborts

#[test]
fn fin_without_close_notify_is_an_abort_not_a_close() {
    for schedule in SCHEDULES {
        let mut pair = BASIC.pair(schedule);
        pair.handshake();
        let data = bytes(5, 1000);
        pair.client_app.script([Op::Data(data.clone())]);
        pair.settle();
        assert_eq!(pair.server_app.received, data);
        // The network delivers a FIN that no close_notify preceded.
        pair.server.wire.up.wr().close();
        pair.settle();
        pair.assert_no_failures();
        assert_eq!(pair.server_app.received, data);
        assert_eq!(pair.server_app.eof, Some(EofKind::Abort), "{schedule:?}");
        assert!(pair.server.wire.up.state().is_done(), "FIN not consumed");
    }
}

#[test]
fn fin_in_the_middle_of_a_record_is_an_abort() {
    let mut pair = BASIC.pair(Schedule::ByteByByte);
    pair.handshake();
    let data = bytes(6, 2000);
    pair.client_app.script([Op::Data(data.clone()), Op::Close]);
    // Let part of the record (and none of the close_notify) through, then cut the wire.
    pair.step_until(|p| p.c2s.bytes > 700);
    pair.server.wire.up.wr().close();
    pair.settle();
    pair.assert_no_failures();
    assert!(pair.c2s.dropped > 0);
    assert!(data.starts_with(&pair.server_app.received));
    assert!(pair.server_app.received.len() < data.len());
    assert_eq!(pair.server_app.eof, Some(EofKind::Abort));
}

#[test]
fn aborting_application_whose_abort_becomes_a_fin_is_still_an_abort() {
    for schedule in SCHEDULES {
        let mut pair = BASIC.pair(schedule);
        pair.abort_as_fin = true;
        pair.handshake();
        let data = bytes(7, 800);
        pair.server_app.script([Op::Data(data.clone())]);
        pair.settle();
        pair.server_app.script([Op::Abort]);
        pair.settle();
        pair.assert_no_failures();
        assert_eq!(pair.s2c.eof, Some(EofKind::Close), "the wire carried a FIN");
        assert_eq!(pair.client_app.received, data);
        assert_eq!(pair.client_app.eof, Some(EofKind::Abort), "{schedule:?}");
    }
}

#[test]
fn encrypted_abort_is_a_plaintext_abort() {
    for schedule in SCHEDULES {
        let mut pair = BASIC.pair(schedule);
        pair.handshake();
        let data = bytes(8, 800);
        pair.client_app.script([Op::Data(data.clone())]);
        pair.settle();
        // An RST from the network.
        pair.server.wire.up.wr().abort();
        pair.settle();
        pair.assert_no_failures();
        assert_eq!(pair.server_app.received, data);
        assert_eq!(pair.server_app.eof, Some(EofKind::Abort), "{schedule:?}");
        assert!(pair.server.wire.up.state().is_done(), "abort not consumed");
        // The other direction still works.
        pair.server_app
            .script([Op::Data(b"bye".to_vec()), Op::Close]);
        pair.settle();
        assert_eq!(pair.client_app.received, b"bye");
        assert_eq!(pair.client_app.eof, Some(EofKind::Close));
    }
}

#[test]
fn abort_before_the_handshake_reaches_the_peer_as_abort() {
    for schedule in SCHEDULES {
        let mut pair = BASIC.pair(schedule);
        pair.client_app
            .script([Op::Data(b"never sent".to_vec()), Op::Abort]);
        pair.settle();
        pair.assert_no_failures();
        assert_eq!(pair.c2s.eof, Some(EofKind::Abort), "{schedule:?}");
        assert!(pair.server_app.received.is_empty());
        assert_eq!(pair.server_app.eof, Some(EofKind::Abort), "{schedule:?}");
    }
}

#[test]
fn close_notify_then_fin_is_a_close_even_after_an_abort_is_requested_late() {
    let mut pair = BASIC.pair(Schedule::Whole);
    pair.handshake();
    pair.client_app
        .script([Op::Data(b"all of it".to_vec()), Op::Close]);
    pair.settle();
    assert_eq!(pair.server_app.eof, Some(EofKind::Close));
    // An abort after the EOF was delivered does not turn the close into an abort.
    pair.server.wire.up.wr().abort();
    pair.settle();
    assert_eq!(pair.server_app.eof, Some(EofKind::Close));
    assert_eq!(pair.server.plain.up.state(), PBufState::Closed);
}

#[test]
fn close_notify_arrives_as_close_while_the_reply_keeps_flowing() {
    // Half-close: the client closes, the server still answers, then closes too.
    let mut pair = BASIC.pair(Schedule::Random { seed: 9, max: 100 });
    pair.handshake();
    pair.client_app
        .script([Op::Data(b"request".to_vec()), Op::Close]);
    pair.settle();
    assert_eq!(pair.server_app.eof, Some(EofKind::Close));
    let reply = bytes(10, 20_000);
    pair.server_app.script([Op::Data(reply.clone()), Op::Close]);
    pair.settle();
    pair.assert_no_failures();
    assert_eq!(pair.client_app.received, reply);
    assert_eq!(pair.client_app.eof, Some(EofKind::Close));
    assert!(pair.all_done());
}

#[test]
fn encrypted_abort_with_input_still_buffered_finishes_the_encrypted_input() {
    // The server application does not read; the client sends more than the server's
    // plaintext buffer and rustls take, so records wait in the server's encrypted input
    // when the RST arrives.
    let mut pair = BASIC.pair(Schedule::Whole).with_plain_limits(4096, 4096);
    pair.server_app.read_limit = Some(0);
    pair.handshake();
    pair.client_app.script([Op::Data(bytes(11, 100_000))]);
    pair.settle();
    assert!(!pair.server.wire.up.is_empty(), "test setup: nothing waits");
    pair.server.wire.up.wr().abort();
    pair.settle();
    pair.server_app.read_limit = None;
    pair.settle();
    assert_eq!(pair.server_app.eof, Some(EofKind::Abort));
    assert!(
        pair.server.wire.up.state().is_done(),
        "the encrypted input's abort was never consumed: {:?}",
        pair.server.wire.up
    );
}

#[test]
fn key_update_mid_stream_is_written_and_understood() {
    let mut pair = BASIC.pair(Schedule::Random { seed: 11, max: 300 });
    pair.handshake();
    let (a, b) = (bytes(30, 5000), bytes(31, 5000));
    pair.client_app.script([Op::Data(a.clone())]);
    pair.settle();
    let before = pair.c2s.bytes;
    pair.client.tls.refresh_traffic_keys().unwrap();
    // The key update is queued in rustls: the next process() must write it (activity).
    assert!(
        pair.client.process().unwrap(),
        "queued key update not reported as activity"
    );
    pair.settle();
    assert!(pair.c2s.bytes > before);
    pair.client_app.script([Op::Data(b.clone()), Op::Close]);
    pair.server_app.script([Op::Data(b.clone()), Op::Close]);
    pair.settle();
    pair.assert_no_failures();
    assert!(pair.server_app.received == [a, b.clone()].concat());
    assert!(pair.client_app.received == b);
    assert_eq!(pair.server_app.eof, Some(EofKind::Close));
    assert_eq!(pair.client_app.eof, Some(EofKind::Close));
}

// ---------------------------------------------------------------------------------------------
// Bounded output

#[test]
fn output_is_bounded_with_small_encrypted_buffers() {
    const MIB: usize = 1 << 20;
    let mut pair = BASIC
        .pair(Schedule::Whole)
        .with_wire_limits(1024, 4096)
        .with_plain_limits(1024, 16 * 1024);
    // The server application reads slowly, so backpressure reaches back to the client.
    pair.server_app.read_limit = Some(3000);
    let (c, s) = (bytes(12, MIB), bytes(13, MIB));
    pair.client_app
        .script([Op::Data(c.clone()), Op::Push, Op::Close]);
    pair.server_app.script([Op::Data(s.clone()), Op::Push]);
    pair.settle();
    // The server's push waited behind a full encrypted buffer, then crossed after the data.
    assert_eq!(pair.client_app.pushes, vec![MIB]);
    pair.server_app.script([Op::Close]);
    pair.settle();
    pair.assert_no_failures();
    assert!(pair.server_app.received == c, "client→server data differs");
    assert!(pair.client_app.received == s, "server→client data differs");
    assert_eq!(pair.server_app.eof, Some(EofKind::Close));
    assert_eq!(pair.client_app.eof, Some(EofKind::Close));
    assert!(pair.all_done());
    for (high, limit) in pair.high_water {
        assert!(high <= limit, "{high} > {limit}");
    }
    // The encrypted buffers were really used up to (near) their limit.
    assert!(pair.high_water[1].0 > 3000, "{:?}", pair.high_water);
}

#[test]
fn tiny_encrypted_buffers_still_carry_the_handshake_and_data_on_the_buffered_api() {
    // A handshake flight is larger than these buffers: it must cross in pieces. (The
    // unbuffered API decrypts records in place, so it needs room for a whole record.)
    let mut pair = Pair::new(
        Tls::client_using(
            Arc::clone(&BASIC.client),
            common::name("localhost"),
            RustlsApi::Buffered,
        )
        .unwrap(),
        Tls::server_using(Arc::clone(&BASIC.server), RustlsApi::Buffered).unwrap(),
        Schedule::Random { seed: 3, max: 64 },
    )
    .with_wire_limits(256, 256);
    let data = bytes(14, 10_000);
    pair.client_app.script([Op::Data(data.clone()), Op::Close]);
    pair.settle();
    pair.assert_no_failures();
    assert!(pair.server_app.received == data);
    assert_eq!(pair.server_app.eof, Some(EofKind::Close));
}

// ---------------------------------------------------------------------------------------------
// Random schedules and scripts

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..3000, any::<u64>()).prop_map(|(n, seed)| Op::Data(bytes(seed, n))),
        1 => Just(Op::Push),
    ]
}

fn end_strategy() -> impl Strategy<Value = Option<Op>> {
    prop_oneof![Just(None), Just(Some(Op::Close)), Just(Some(Op::Abort))]
}

fn check_random(who: &str, ops: &[Op], receiver: &App) {
    let sent = App::all_data(ops);
    match ops.last() {
        Some(Op::Abort) => {
            assert!(sent.starts_with(&receiver.received), "{who}: not a prefix");
            assert_eq!(receiver.eof, Some(EofKind::Abort), "{who}");
        }
        Some(Op::Close) => {
            assert!(receiver.received == sent, "{who}: data differs");
            assert_eq!(receiver.eof, Some(EofKind::Close), "{who}");
        }
        _ => {
            assert!(receiver.received == sent, "{who}: data differs");
            assert_eq!(receiver.eof, None, "{who}");
        }
    }
    // Pushes: none out of nowhere; with the stream left open, the pushes arrive (several
    // written in one go may merge into one) and none overtakes the data before it.
    let first_push_at = ops
        .iter()
        .position(|op| *op == Op::Push)
        .map(|i| App::all_data(&ops[..i]).len());
    match first_push_at {
        None => assert!(receiver.pushes.is_empty(), "{who}: push out of nowhere"),
        Some(at) => {
            if ops
                .last()
                .is_none_or(|op| matches!(op, Op::Data(_) | Op::Push))
            {
                assert!(!receiver.pushes.is_empty(), "{who}: push lost");
            }
            for &p in &receiver.pushes {
                assert!(
                    p >= at && p <= sent.len(),
                    "{who}: push at {p}, first at {at}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random scripts on both sides, started before the handshake, under random chunking.
    #[test]
    fn random_scripts_under_random_chunking(
        seed in any::<u64>(),
        max in 1usize..2000,
        mut c_ops in prop::collection::vec(op_strategy(), 0..6),
        c_end in end_strategy(),
        mut s_ops in prop::collection::vec(op_strategy(), 0..6),
        s_end in end_strategy(),
    ) {
        // An abort before the handshake finishes leaves the other direction without a
        // handshake; start aborting scripts after it.
        let aborts = matches!(c_end, Some(Op::Abort)) || matches!(s_end, Some(Op::Abort));
        c_ops.extend(c_end);
        s_ops.extend(s_end);
        let mut pair = BASIC.pair(Schedule::Random { seed, max });
        if aborts {
            pair.handshake();
        }
        pair.client_app.script(c_ops.clone());
        pair.server_app.script(s_ops.clone());
        pair.settle();
        pair.assert_no_failures();
        check_random("client→server", &c_ops, &pair.server_app);
        check_random("server→client", &s_ops, &pair.client_app);
    }
}

// ---------------------------------------------------------------------------------------------
// Negotiation: ALPN, SNI, versions, client certificates

fn alpn(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|s| s.as_bytes().to_vec()).collect()
}

#[test]
fn alpn_agreement_is_visible_on_both_sides() {
    let server = common::server_config(
        &BASIC.leaf,
        &config::ServerOptions {
            alpn: alpn(&["h2", "http/1.1"]),
            ..Default::default()
        },
    );
    let client = common::client_config(
        &BASIC.ca.pem,
        &config::ClientOptions {
            alpn: alpn(&["h2", "http/1.1"]),
            ..Default::default()
        },
    );
    let mut pair = Pair::new(
        common::tls_client(client, common::name("localhost")).unwrap(),
        common::tls_server(server).unwrap(),
        Schedule::Whole,
    );
    pair.handshake();
    assert_eq!(pair.client.tls.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(pair.server.tls.alpn_protocol(), Some(&b"h2"[..]));
}

#[test]
fn alpn_partial_overlap_picks_the_common_protocol() {
    let server = common::server_config(
        &BASIC.leaf,
        &config::ServerOptions {
            alpn: alpn(&["h2", "http/1.1"]),
            ..Default::default()
        },
    );
    let client = common::client_config(
        &BASIC.ca.pem,
        &config::ClientOptions {
            alpn: alpn(&["http/1.1"]),
            ..Default::default()
        },
    );
    let mut pair = Pair::new(
        common::tls_client(client, common::name("localhost")).unwrap(),
        common::tls_server(server).unwrap(),
        Schedule::Whole,
    );
    pair.handshake();
    assert_eq!(pair.client.tls.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(pair.server.tls.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[test]
fn alpn_without_overlap_fails_the_handshake() {
    let server = common::server_config(
        &BASIC.leaf,
        &config::ServerOptions {
            alpn: alpn(&["h2"]),
            ..Default::default()
        },
    );
    let client = common::client_config(
        &BASIC.ca.pem,
        &config::ClientOptions {
            alpn: alpn(&["http/1.1"]),
            ..Default::default()
        },
    );
    let mut pair = Pair::new(
        common::tls_client(client, common::name("localhost")).unwrap(),
        common::tls_server(server).unwrap(),
        Schedule::Whole,
    );
    pair.client_app.script([Op::Data(b"GET /".to_vec())]);
    pair.settle();
    assert_eq!(pair.server_failures.len(), 1, "{:?}", pair.server_failures);
    let f = &pair.server_failures[0];
    assert!(
        matches!(
            f.error,
            TlsError::Handshake(rustls::Error::NoApplicationProtocol)
        ),
        "{:?}",
        f.error
    );
    assert!(f.written_in_call > 0 && f.last_record.is_some_and(common::is_alert_record));
    assert_eq!(f.plain_in_eof, Some(EofKind::Abort));
    assert_eq!(pair.client_failures.len(), 1, "{:?}", pair.client_failures);
    assert!(
        matches!(
            pair.client_failures[0].error,
            TlsError::AlertReceived(rustls::Error::AlertReceived(
                rustls::AlertDescription::NoApplicationProtocol
            ))
        ),
        "{:?}",
        pair.client_failures[0].error
    );
    assert_eq!(pair.client_app.eof, Some(EofKind::Abort));
    assert_eq!(pair.server_app.eof, Some(EofKind::Abort));
    assert!(pair.server_app.received.is_empty());
}

#[test]
fn sni_is_visible_on_the_server() {
    let ca = Ca::new("sni CA");
    let leaf = ca.leaf(&["app.example.test", "127.0.0.1"]);
    let server = common::server_config(&leaf, &Default::default());
    let client = common::client_config(&ca.pem, &Default::default());

    let mut pair = Pair::new(
        common::tls_client(Arc::clone(&client), common::name("app.example.test")).unwrap(),
        common::tls_server(Arc::clone(&server)).unwrap(),
        Schedule::Whole,
    );
    pair.handshake();
    assert_eq!(pair.server.tls.server_name(), Some("app.example.test"));
    assert_eq!(
        pair.client.tls.server_name(),
        None,
        "client side has no SNI"
    );

    // An IP address is not sent as SNI.
    let mut pair = Pair::new(
        common::tls_client(client, common::name("127.0.0.1")).unwrap(),
        common::tls_server(server).unwrap(),
        Schedule::Whole,
    );
    pair.handshake();
    assert_eq!(pair.server.tls.server_name(), None);
}

fn versioned_configs(
    server_versions: &[&'static rustls::SupportedProtocolVersion],
    client_versions: &[&'static rustls::SupportedProtocolVersion],
) -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let provider = config::crypto_provider().unwrap();
    let certs = config::certs_from_pem(BASIC.leaf.cert_pem.as_bytes()).unwrap();
    let key = config::key_from_pem(BASIC.leaf.key_pem.as_bytes()).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(server_versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in config::certs_from_pem(BASIC.ca.pem.as_bytes()).unwrap() {
        roots.add(cert).unwrap();
    }
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(client_versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

#[test]
fn tls12_and_tls13_both_carry_data_push_and_close() {
    let versions: [(&'static rustls::SupportedProtocolVersion, ProtocolVersion); 2] = [
        (&rustls::version::TLS12, ProtocolVersion::TLSv1_2),
        (&rustls::version::TLS13, ProtocolVersion::TLSv1_3),
    ];
    for (version, expected) in versions {
        for schedule in SCHEDULES {
            let (server, client) = versioned_configs(&[version], &[version]);
            let mut pair = Pair::new(
                common::tls_client(client, common::name("localhost")).unwrap(),
                common::tls_server(server).unwrap(),
                schedule,
            );
            let (c, s) = (bytes(20, 4000), bytes(21, 30_000));
            pair.client_app
                .script([Op::Data(c.clone()), Op::Push, Op::Close]);
            pair.server_app
                .script([Op::Data(s.clone()), Op::Push, Op::Close]);
            pair.settle();
            pair.assert_no_failures();
            let ctx = format!("{expected:?} {schedule:?}");
            assert_eq!(pair.client.tls.protocol_version(), Some(expected), "{ctx}");
            assert_eq!(pair.server.tls.protocol_version(), Some(expected), "{ctx}");
            assert!(pair.client.tls.cipher_suite().is_some());
            assert!(pair.server_app.received == c, "{ctx}");
            assert!(pair.client_app.received == s, "{ctx}");
            assert_eq!(pair.server_app.eof, Some(EofKind::Close), "{ctx}");
            assert_eq!(pair.client_app.eof, Some(EofKind::Close), "{ctx}");
            assert!(pair.all_done(), "{ctx}");
        }
    }
}

#[test]
fn tls12_truncation_is_an_abort() {
    let (server, client) =
        versioned_configs(&[&rustls::version::TLS12], &[&rustls::version::TLS12]);
    let mut pair = Pair::new(
        common::tls_client(client, common::name("localhost")).unwrap(),
        common::tls_server(server).unwrap(),
        Schedule::Whole,
    );
    pair.abort_as_fin = true;
    pair.handshake();
    pair.server_app
        .script([Op::Data(b"partial".to_vec()), Op::Abort]);
    pair.settle();
    assert_eq!(pair.client_app.eof, Some(EofKind::Abort));
}

#[test]
fn version_mismatch_fails_the_handshake() {
    let (server, client) =
        versioned_configs(&[&rustls::version::TLS12], &[&rustls::version::TLS13]);
    let mut pair = Pair::new(
        common::tls_client(client, common::name("localhost")).unwrap(),
        common::tls_server(server).unwrap(),
        Schedule::Whole,
    );
    pair.settle();
    assert_eq!(pair.server_failures.len(), 1, "{:?}", pair.server_failures);
    let f = &pair.server_failures[0];
    assert!(matches!(f.error, TlsError::Handshake(_)), "{:?}", f.error);
    assert!(f.last_record.is_some_and(common::is_alert_record));
    assert_eq!(pair.client_failures.len(), 1, "{:?}", pair.client_failures);
    assert!(
        matches!(pair.client_failures[0].error, TlsError::AlertReceived(_)),
        "{:?}",
        pair.client_failures[0].error
    );
}

/// Server requiring client certificates from `client_ca`, client presenting `client_leaf`.
fn client_auth_pair(client_ca: &Ca, client_leaf: Option<&common::Leaf>, tls12: bool) -> Pair {
    let server = common::server_config(
        &BASIC.leaf,
        &config::ServerOptions {
            client_ca_pem: Some(client_ca.pem.as_bytes().to_vec()),
            ..Default::default()
        },
    );
    let mut client = common::client_config(
        &BASIC.ca.pem,
        &config::ClientOptions {
            client_cert_pem: client_leaf.map(|l| {
                (
                    l.cert_pem.as_bytes().to_vec(),
                    l.key_pem.as_bytes().to_vec(),
                )
            }),
            ..Default::default()
        },
    );
    if tls12 {
        // Same config, restricted to TLS 1.2 on the client side.
        let mut roots = rustls::RootCertStore::empty();
        for cert in config::certs_from_pem(BASIC.ca.pem.as_bytes()).unwrap() {
            roots.add(cert).unwrap();
        }
        let builder =
            rustls::ClientConfig::builder_with_provider(config::crypto_provider().unwrap())
                .with_protocol_versions(&[&rustls::version::TLS12])
                .unwrap()
                .with_root_certificates(roots);
        client = Arc::new(match client_leaf {
            None => builder.with_no_client_auth(),
            Some(l) => builder
                .with_client_auth_cert(
                    config::certs_from_pem(l.cert_pem.as_bytes()).unwrap(),
                    config::key_from_pem(l.key_pem.as_bytes()).unwrap(),
                )
                .unwrap(),
        });
    }
    Pair::new(
        common::tls_client(client, common::name("localhost")).unwrap(),
        common::tls_server(server).unwrap(),
        Schedule::Random { seed: 5, max: 300 },
    )
}

#[test]
fn client_certificate_accepted() {
    let client_ca = Ca::new("client CA");
    let leaf = client_ca.leaf(&["client.example.test"]);
    for tls12 in [false, true] {
        let mut pair = client_auth_pair(&client_ca, Some(&leaf), tls12);
        pair.client_app
            .script([Op::Data(b"hello".to_vec()), Op::Close]);
        pair.settle();
        pair.assert_no_failures();
        let certs = pair
            .server
            .tls
            .peer_certificates()
            .expect("client cert seen");
        assert_eq!(certs.len(), 1);
        assert_eq!(pair.server_app.received, b"hello");
        assert_eq!(pair.server_app.eof, Some(EofKind::Close));
    }
}

/// The server rejects the client: `BadCertificate` there, an alert at the client.
fn check_client_rejected(pair: &mut Pair, ctx: &str) {
    pair.client_app
        .script([Op::Data(b"hello".to_vec()), Op::Close]);
    pair.settle();
    assert_eq!(
        pair.server_failures.len(),
        1,
        "{ctx}: {:?}",
        pair.server_failures
    );
    let f = &pair.server_failures[0];
    assert!(
        matches!(f.error, TlsError::BadCertificate(_)),
        "{ctx}: {:?}",
        f.error
    );
    assert!(
        f.last_record.is_some_and(common::is_alert_record),
        "{ctx}: no alert in the failing call: {f:?}"
    );
    assert_eq!(f.plain_in_eof, Some(EofKind::Abort), "{ctx}");
    assert!(
        pair.server_app.received.is_empty(),
        "{ctx}: data from a rejected client"
    );
    assert_eq!(pair.server_app.eof, Some(EofKind::Abort), "{ctx}");
    assert_eq!(
        pair.client_failures.len(),
        1,
        "{ctx}: {:?}",
        pair.client_failures
    );
    assert!(
        matches!(pair.client_failures[0].error, TlsError::AlertReceived(_)),
        "{ctx}: {:?}",
        pair.client_failures[0].error
    );
    assert_eq!(pair.client_app.eof, Some(EofKind::Abort), "{ctx}");
}

#[test]
fn client_without_certificate_rejected() {
    let client_ca = Ca::new("client CA");
    for tls12 in [false, true] {
        let mut pair = client_auth_pair(&client_ca, None, tls12);
        check_client_rejected(&mut pair, &format!("no cert, tls12={tls12}"));
    }
}

#[test]
fn client_certificate_from_another_ca_rejected() {
    let client_ca = Ca::new("client CA");
    let other = Ca::new("other CA").leaf(&["client.example.test"]);
    for tls12 in [false, true] {
        let mut pair = client_auth_pair(&client_ca, Some(&other), tls12);
        check_client_rejected(&mut pair, &format!("foreign cert, tls12={tls12}"));
    }
}

#[test]
fn random_chunking_under_tls12_via_seeds() {
    for seed in 0..8u64 {
        let (server, client) =
            versioned_configs(&[&rustls::version::TLS12], &[&rustls::version::TLS12]);
        let mut pair = Pair::new(
            common::tls_client(client, common::name("localhost")).unwrap(),
            common::tls_server(server).unwrap(),
            Schedule::Random {
                seed,
                max: 1 + (seed as usize * 97) % 500,
            },
        );
        let data = bytes(seed, 6000);
        pair.client_app.script([Op::Data(data.clone()), Op::Close]);
        pair.server_app.script([Op::Data(data.clone()), Op::Close]);
        pair.settle();
        pair.assert_no_failures();
        assert!(pair.server_app.received == data && pair.client_app.received == data);
        assert_eq!(pair.server_app.eof, Some(EofKind::Close));
        assert_eq!(pair.client_app.eof, Some(EofKind::Close));
    }
}

// ---------------------------------------------------------------------------------------------
// What separates the two rustls APIs (the reason for the default, see the crate docs)

/// The client sends `request` bytes while the server application reads nothing; once they
/// are in, the server application sends 512 KiB. Returns how much of that the client had
/// received before the server application started reading, and checks that everything
/// arrives once it does.
fn reply_while_not_reading(api: RustlsApi, request: usize) -> usize {
    let mut pair = Pair::new(
        Tls::client_using(Arc::clone(&BASIC.client), common::name("localhost"), api).unwrap(),
        Tls::server_using(Arc::clone(&BASIC.server), api).unwrap(),
        Schedule::Whole,
    );
    pair.handshake();
    let (request, reply) = (bytes(40, request), bytes(41, 512 * 1024));
    pair.server_app.read_limit = Some(0);
    pair.client_app.script([Op::Data(request.clone())]);
    pair.settle();
    pair.server_app.script([Op::Data(reply.clone())]);
    pair.settle();
    let before_reading = pair.client_app.received.len();
    pair.server_app.read_limit = None;
    pair.settle();
    pair.assert_no_failures();
    assert!(pair.server_app.received == request);
    assert!(pair.client_app.received == reply);
    before_reading
}

#[test]
fn buffered_sending_goes_on_while_the_application_does_not_read() {
    assert_eq!(
        reply_while_not_reading(RustlsApi::Buffered, 1 << 20),
        512 * 1024
    );
}

#[test]
fn unbuffered_sending_waits_for_the_application_to_read_once_64_kib_are_set_aside() {
    // The server's plaintext buffer takes 256 KiB (its limit); rustls offers its write state
    // only once the records behind them are taken too, which the component does up to
    // 64 KiB. Less than that behind the full buffer: sending goes on.
    let plain_limit = pipebuf::PipeBuf::<u8>::DEFAULT_MAX_CAPACITY;
    assert_eq!(
        reply_while_not_reading(RustlsApi::Unbuffered, plain_limit + 48 * 1024),
        512 * 1024
    );
    // Far more: nothing goes out until the application reads.
    assert_eq!(reply_while_not_reading(RustlsApi::Unbuffered, 1 << 20), 0);
}
