//! Hostile input and bad certificates for [`pipebuf_rustls::Tls`].
//!
//! Every failure must come back as a typed [`TlsError`], with the alert already written to
//! the encrypted output by the failing `process()` call, the plaintext side towards the
//! application aborted, and no panic — neither in that call nor in any later one, which
//! return `Ok` and only drain and discard.

mod common;

use std::sync::{Arc, LazyLock};

use common::{Basic, Endpoint, Op, Pair, Schedule, is_alert_record, name, records};
use pipebuf::EofKind;
use pipebuf_rustls::TlsError;
use proptest::prelude::*;
use rustls::{AlertDescription, CertificateError, Error as RError, InvalidMessage};

static BASIC: LazyLock<Basic> = LazyLock::new(Basic::new);

fn server() -> Endpoint {
    Endpoint::new(common::tls_server(Arc::clone(&BASIC.server)).unwrap())
}

fn client() -> Endpoint {
    Endpoint::new(common::tls_client(Arc::clone(&BASIC.client), name("localhost")).unwrap())
}

/// A real ClientHello for `localhost`.
fn client_hello() -> Vec<u8> {
    let mut c = client();
    c.process().unwrap();
    c.take_output()
}

/// Runs `ep` until it fails (at most a few calls) and checks the failure contract: alert in
/// the failing call's output, plaintext aborted, encrypted output closed, later calls `Ok`.
/// Returns the error.
fn expect_failure(ep: &mut Endpoint, expect_alert: bool) -> TlsError {
    let mut error = None;
    for _ in 0..4 {
        // Output of earlier calls is not what we check.
        ep.take_output();
        match ep.process() {
            Ok(_) => continue,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let error = error.expect("process() never failed");
    let out = ep.take_output();
    if expect_alert {
        let last = records(&out).last().copied();
        assert!(
            last.is_some_and(is_alert_record),
            "no alert written in the failing call ({error:?}): {out:02x?}"
        );
    }
    assert_eq!(
        ep.plain_in_eof(),
        Some(EofKind::Abort),
        "plaintext not aborted"
    );
    assert_eq!(
        ep.crypt_out_eof(),
        Some(EofKind::Close),
        "encrypted output not closed after the alert"
    );
    // Later calls: Ok, even with more input, an application write and a FIN.
    for round in 0..3 {
        if round == 1 {
            ep.feed(b"\x16\x03\x01\x00\x05more garbage");
            ep.plain.upper().wr.append(b"late app data").unwrap();
        }
        if round == 2 {
            ep.wire.lower().wr.close();
            ep.plain.upper().wr.close();
        }
        ep.process().expect("a call after the failure failed");
    }
    assert!(ep.take_output().is_empty(), "wrote after the alert");
    error
}

#[test]
fn plain_http_to_a_tls_server() {
    let mut s = server();
    s.feed(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let e = expect_failure(&mut s, true);
    assert!(
        matches!(e, TlsError::ProtocolViolation(RError::InvalidMessage(_))),
        "{e:?}"
    );
}

#[test]
fn random_garbage_to_a_server() {
    let mut s = server();
    s.feed(
        &common::Rng::new(99)
            .bytes(500)
            .iter()
            .map(|b| b | 0x80)
            .collect::<Vec<_>>(),
    );
    let e = expect_failure(&mut s, true);
    assert!(matches!(e, TlsError::ProtocolViolation(_)), "{e:?}");
}

#[test]
fn record_header_with_a_huge_length() {
    let mut s = server();
    let mut input = vec![0x16, 0x03, 0x01, 0xFF, 0xFF];
    input.extend_from_slice(&[0u8; 64]);
    s.feed(&input);
    let e = expect_failure(&mut s, true);
    assert!(
        matches!(
            e,
            TlsError::ProtocolViolation(RError::InvalidMessage(InvalidMessage::MessageTooLarge))
        ),
        "{e:?}"
    );
}

/// A handshake record announcing a 64 KiB handshake message (over rustls' limit).
const OVERSIZED_HANDSHAKE: &[u8] = &[22, 3, 1, 0, 4, 0, 1, 0, 0];

#[test]
fn oversized_handshake_message_is_a_protocol_violation() {
    let mut s = server();
    s.feed(OVERSIZED_HANDSHAKE);
    let e = s
        .process()
        .expect_err("oversized handshake message accepted");
    assert!(
        matches!(
            e,
            TlsError::ProtocolViolation(RError::InvalidMessage(
                InvalidMessage::HandshakePayloadTooLarge
            ))
        ),
        "{e:?}"
    );
    assert_eq!(s.plain_in_eof(), Some(EofKind::Abort));
    // No alert (see below), but the encrypted output ends in the same call.
    assert!(s.crypt_out_eof().is_some());
    for _ in 0..3 {
        s.process().unwrap();
    }
}

/// rustls 0.23 queues no alert for this error; without one, the peer must still learn that
/// the session broke rather than ended: the encrypted output is aborted, not closed.
#[test]
fn oversized_handshake_message_without_an_alert_aborts_the_output() {
    let mut s = server();
    s.feed(OVERSIZED_HANDSHAKE);
    let e = s
        .process()
        .expect_err("oversized handshake message accepted");
    assert!(matches!(e, TlsError::ProtocolViolation(_)), "{e:?}");
    assert_eq!(s.crypt_out_eof(), Some(EofKind::Abort));
    assert_eq!(s.plain_in_eof(), Some(EofKind::Abort));
}

#[test]
fn application_data_before_the_handshake() {
    let mut s = server();
    s.feed(b"\x17\x03\x03\x00\x05hello");
    let e = expect_failure(&mut s, true);
    assert!(matches!(e, TlsError::ProtocolViolation(_)), "{e:?}");
}

#[test]
fn client_hello_then_garbage_in_one_read() {
    let mut s = server();
    let mut input = client_hello();
    input.extend_from_slice(&[0xAB; 300]);
    s.feed(&input);
    // The server flight goes out first (rustls reads one record at a time during the
    // handshake); the garbage behind it fails a later step, whose alert leaves with it.
    let e = (0..4)
        .find_map(|_| s.process().err())
        .expect("garbage after the ClientHello accepted");
    assert!(matches!(e, TlsError::ProtocolViolation(_)), "{e:?}");
    let out = s.take_output();
    let recs = records(&out);
    assert!(recs.len() >= 2, "{recs:?}");
    assert_eq!(recs[0].0, 22, "ServerHello first");
    assert!(is_alert_record(*recs.last().unwrap()), "{recs:?}");
    assert_eq!(s.plain_in_eof(), Some(EofKind::Abort));
    for _ in 0..3 {
        s.process().unwrap();
    }
}

#[test]
fn client_hello_then_garbage_in_a_later_read() {
    let mut s = server();
    s.feed(&client_hello());
    s.process().unwrap();
    assert!(!s.take_output().is_empty(), "no server flight");
    // Looks like a handshake record but is not a valid client Finished.
    s.feed(b"\x16\x03\x03\x00\x04\x14\x00\x00\x00");
    let e = expect_failure(&mut s, true);
    assert!(
        matches!(
            e,
            TlsError::ProtocolViolation(_) | TlsError::Decrypt(_) | TlsError::Handshake(_)
        ),
        "{e:?}"
    );
}

#[test]
fn garbage_from_a_server_to_a_client() {
    let mut c = client();
    c.process().unwrap();
    c.take_output();
    c.feed(&[0xEE; 200]);
    let e = expect_failure(&mut c, true);
    assert!(matches!(e, TlsError::ProtocolViolation(_)), "{e:?}");
}

#[test]
fn fatal_alert_from_the_peer_is_alert_received() {
    let mut s = server();
    // A plaintext fatal handshake_failure alert.
    s.feed(b"\x15\x03\x03\x00\x02\x02\x28");
    // No alert is owed in answer to a fatal alert.
    let e = expect_failure(&mut s, false);
    assert!(
        matches!(
            e,
            TlsError::AlertReceived(RError::AlertReceived(AlertDescription::HandshakeFailure))
        ),
        "{e:?}"
    );
}

#[test]
fn corrupted_record_is_a_decrypt_error_and_the_peer_hears_of_it() {
    let mut pair = BASIC.pair(Schedule::Whole);
    pair.handshake();
    pair.client_app
        .script([Op::Data(b"tamper with me".to_vec()), Op::Push]);
    pair.client_app.pump(pair.client.plain.upper());
    pair.client.process().unwrap();
    // Flip a bit in the last byte (AEAD tag) of the record on its way.
    let mut wire = pair.client.wire.down.rd();
    let last = wire.data_mut().last_mut().expect("no record written");
    *last ^= 1;
    pair.settle();
    assert!(pair.server_app.received.is_empty(), "forged data delivered");
    assert_eq!(pair.server_failures.len(), 1, "{:?}", pair.server_failures);
    let f = &pair.server_failures[0];
    assert!(
        matches!(f.error, TlsError::Decrypt(RError::DecryptError)),
        "{:?}",
        f.error
    );
    assert!(f.last_record.is_some_and(is_alert_record), "{f:?}");
    assert_eq!(f.plain_in_eof, Some(EofKind::Abort));
    assert_eq!(pair.server_app.eof, Some(EofKind::Abort));
    assert_eq!(pair.client_failures.len(), 1, "{:?}", pair.client_failures);
    assert!(
        matches!(
            pair.client_failures[0].error,
            TlsError::AlertReceived(RError::AlertReceived(AlertDescription::BadRecordMac))
        ),
        "{:?}",
        pair.client_failures[0].error
    );
    assert_eq!(pair.client_app.eof, Some(EofKind::Abort));
}

#[test]
fn bytes_after_close_notify_do_not_wedge_the_encrypted_input() {
    let mut pair = BASIC.pair(Schedule::Whole);
    pair.handshake();
    pair.client_app
        .script([Op::Data(b"done".to_vec()), Op::Close]);
    pair.settle();
    assert_eq!(pair.server_app.eof, Some(EofKind::Close));
    assert!(pair.server.wire.up.state().is_done());

    // Again, but a misbehaving client sends more after its close_notify, then the FIN.
    let mut pair = BASIC.pair(Schedule::Whole);
    pair.handshake();
    pair.client_app
        .script([Op::Data(b"done".to_vec()), Op::Close]);
    pair.client_app.pump(pair.client.plain.upper());
    pair.client.process().unwrap();
    // Hold the client's FIN back: take its bytes, add garbage, deliver by hand.
    let mut bytes = pair.client.take_output();
    assert_eq!(
        pair.client.wire.down.rd().consume_eof(),
        Some(EofKind::Close)
    );
    let close_notify_end = bytes.len();
    bytes.extend_from_slice(&[0x17, 0x03, 0x03, 0x00, 0x03, 1, 2, 3]);
    // Deliver the close_notify first, the trailing record in a later read.
    pair.server.feed(&bytes[..close_notify_end]);
    pair.settle();
    pair.server.feed(&bytes[close_notify_end..]);
    pair.server.wire.up.wr().close();
    pair.settle();
    assert_eq!(pair.server_app.received, b"done");
    assert_eq!(pair.server_app.eof, Some(EofKind::Close));
    assert!(
        pair.server.wire.up.state().is_done(),
        "the FIN after trailing bytes was never consumed: {:?}",
        pair.server.wire.up
    );
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// Client connecting to `server_leaf` as `host`, trusting `ca_pem`: the client must reject
/// the certificate with `BadCertificate` and tell the server, which reports `AlertReceived`.
fn check_rejected_by_client(
    server_leaf: &common::Leaf,
    ca_pem: &str,
    host: &str,
    expected: impl Fn(&CertificateError) -> bool,
) {
    for schedule in [Schedule::Whole, Schedule::Random { seed: 1, max: 200 }] {
        let mut pair = Pair::new(
            common::tls_client(
                common::client_config(ca_pem, &Default::default()),
                name(host),
            )
            .unwrap(),
            common::tls_server(common::server_config(server_leaf, &Default::default())).unwrap(),
            schedule,
        );
        // The client wants to send something: it must not leave.
        pair.client_app
            .script([Op::Data(b"secret".to_vec()), Op::Close]);
        pair.server_app.script([Op::Data(b"hello".to_vec())]);
        pair.settle();

        assert_eq!(pair.client_failures.len(), 1, "{:?}", pair.client_failures);
        let f = &pair.client_failures[0];
        match &f.error {
            TlsError::BadCertificate(RError::InvalidCertificate(ce)) => {
                assert!(expected(ce), "unexpected certificate error {ce:?}")
            }
            other => panic!("expected BadCertificate, got {other:?}"),
        }
        assert!(f.written_in_call > 0, "no alert in the failing call");
        assert!(f.last_record.is_some_and(is_alert_record), "{f:?}");
        assert_eq!(f.plain_in_eof, Some(EofKind::Abort));
        assert_eq!(pair.client_app.eof, Some(EofKind::Abort));
        assert!(pair.client_app.received.is_empty());

        assert_eq!(pair.server_failures.len(), 1, "{:?}", pair.server_failures);
        assert!(
            matches!(
                pair.server_failures[0].error,
                TlsError::AlertReceived(RError::AlertReceived(_))
            ),
            "{:?}",
            pair.server_failures[0].error
        );
        assert!(
            pair.server_app.received.is_empty(),
            "data left an unverified client"
        );
        assert_eq!(pair.server_app.eof, Some(EofKind::Abort));
    }
}

#[test]
fn self_signed_server_certificate_is_not_trusted() {
    let leaf = common::self_signed(&["localhost"]);
    check_rejected_by_client(&leaf, &BASIC.ca.pem, "localhost", |e| {
        matches!(
            e,
            CertificateError::UnknownIssuer | CertificateError::BadSignature
        )
    });
}

#[test]
fn certificate_for_another_host_is_rejected() {
    let leaf = BASIC.ca.leaf(&["other.example.test"]);
    check_rejected_by_client(&leaf, &BASIC.ca.pem, "localhost", |e| {
        matches!(
            e,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    });
}

#[test]
fn expired_certificate_is_rejected() {
    let leaf = BASIC.ca.leaf_with(&["localhost"], |p| {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    check_rejected_by_client(&leaf, &BASIC.ca.pem, "localhost", |e| {
        matches!(
            e,
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        )
    });
}

#[test]
fn not_yet_valid_certificate_is_rejected() {
    let leaf = BASIC.ca.leaf_with(&["localhost"], |p| {
        p.not_before = rcgen::date_time_ymd(2999, 1, 1);
        p.not_after = rcgen::date_time_ymd(3000, 1, 1);
    });
    check_rejected_by_client(&leaf, &BASIC.ca.pem, "localhost", |e| {
        matches!(
            e,
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }
        )
    });
}

// ---------------------------------------------------------------------------------------------
// Fuzz-style properties

/// Errors for which rustls 0.23 itself queues no alert: a fatal alert from the peer (none is
/// owed), and a few deframer errors it returns without `send_fatal_alert` (see
/// `oversized_handshake_message_gets_an_alert`).
fn rustls_sends_no_alert(e: &TlsError) -> bool {
    use rustls::PeerMisbehaved as P;
    matches!(
        e.rustls_error(),
        RError::AlertReceived(_)
            | RError::InvalidMessage(InvalidMessage::HandshakePayloadTooLarge)
            | RError::PeerMisbehaved(
                P::MessageInterleavedWithHandshakeMessage
                    | P::TooManyEmptyFragments
                    | P::RejectedEarlyDataInterleavedWithHandshakeMessage
            )
    )
}

/// Feeds `input` to `ep` in `chunk`-sized pieces; then a FIN. Checks the failure contract
/// whenever a call fails, and that nothing panics.
fn feed_and_check(mut ep: Endpoint, input: &[u8], chunk: usize) {
    let mut failed = None;
    for piece in input.chunks(chunk.max(1)) {
        if ep.wire.lower().wr.append(piece).is_err() {
            break; // the Tls ended its input? (it never does) — keep going regardless
        }
        let before = ep.wire.down.len();
        match ep.process() {
            Ok(_) => (),
            Err(e) => {
                assert!(failed.is_none(), "second error after {failed:?}: {e:?}");
                let out = &ep.wire.down.data()[before..];
                if !rustls_sends_no_alert(&e) {
                    assert!(
                        records(out).last().copied().is_some_and(is_alert_record),
                        "no alert for {e:?}: {out:02x?}"
                    );
                }
                assert_eq!(ep.plain_in_eof(), Some(EofKind::Abort));
                // Alert or not, the encrypted output ends in the failing call.
                assert!(ep.crypt_out_eof().is_some(), "output left open after {e:?}");
                failed = Some(e);
            }
        }
    }
    ep.wire.lower().wr.close();
    for _ in 0..3 {
        match ep.process() {
            Ok(_) => (),
            Err(e) => {
                assert!(failed.is_none(), "second error after {failed:?}: {e:?}");
                failed = Some(e);
            }
        }
    }
    // Whatever happened, the application learns the stream is broken (never a clean close:
    // no close_notify can be in random bytes before a handshake).
    assert_eq!(ep.plain_in_eof(), Some(EofKind::Abort));
}

fn record_like() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(20u8), Just(21), Just(22), Just(23), any::<u8>()],
        prop_oneof![Just(0x0301u16), Just(0x0303), any::<u16>()],
        prop::collection::vec(any::<u8>(), 0..300),
        any::<bool>(),
    )
        .prop_map(|(ty, ver, body, honest_len)| {
            let len = if honest_len {
                body.len() as u16
            } else {
                0xFFFF - body.len() as u16
            };
            let mut r = vec![ty];
            r.extend_from_slice(&ver.to_be_bytes());
            r.extend_from_slice(&len.to_be_bytes());
            r.extend_from_slice(&body);
            r
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        // Integration tests have no lib.rs for proptest's regression files.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_to_a_server(input in prop::collection::vec(any::<u8>(), 1..2000), chunk in 1usize..600) {
        feed_and_check(server(), &input, chunk);
    }

    #[test]
    fn random_records_to_a_server(recs in prop::collection::vec(record_like(), 1..6), chunk in 1usize..600) {
        feed_and_check(server(), &recs.concat(), chunk);
    }

    #[test]
    fn client_hello_then_random_records(recs in prop::collection::vec(record_like(), 1..4), chunk in 1usize..600) {
        let mut input = client_hello();
        input.extend(recs.concat());
        feed_and_check(server(), &input, chunk);
    }

    #[test]
    fn random_records_to_a_client(recs in prop::collection::vec(record_like(), 1..6), chunk in 1usize..600) {
        let mut c = client();
        c.process().unwrap();
        c.take_output();
        feed_and_check(c, &recs.concat(), chunk);
    }
}
