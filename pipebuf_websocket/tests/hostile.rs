//! Hostile and broken peers, in memory: oversized and malformed handshakes, absurd frame
//! lengths, input split at every byte, truncation, resets, garbage, floods and slow
//! readers. Every case must end without a panic, with the right outcome for the peer (an
//! HTTP error or a close frame with the right code) and for the application (a clean close
//! or an abort), and with every buffer within its limit.

mod common;

use std::time::Duration;

use common::*;
use pipebuf::{EofKind, PipeBufPair};
use pipebuf_websocket::frame::FrameError;
use pipebuf_websocket::handshake::{ClientRequest, Decision, HandshakeError};
use pipebuf_websocket::message::{MessageKind, write_chunk, write_message};
use pipebuf_websocket::{RejectReason, WebSocket, WsConfig, WsError};

/// The one error `ep` reported, its close frame with `code` as the last thing written, the
/// byte side closed after it and the application's stream aborted.
fn assert_failed(ep: &mut Endpoint, code: u16) -> WsError {
    assert_eq!(ep.errors.len(), 1, "errors: {:?}", ep.errors);
    let error = ep.errors[0].clone();
    assert_eq!(error.close_code(), Some(code), "{error:?}");
    let t = ep.take_transcript();
    assert_eq!(t.close_code(), Some(code), "{t:?}");
    assert_eq!(t.after_close, 0);
    assert_eq!(ep.net_out_eof(), Some(EofKind::Close));
    assert_eq!(ep.app_in_eof(), Some(EofKind::Abort));
    error
}

/// The server refused the request with an HTTP `status`, closed, and aborted the
/// application's stream.
fn assert_refused(ep: &mut Endpoint, status: u16) -> WsError {
    let response = ep.take_output();
    assert_eq!(
        status_of(&response),
        Some(status),
        "{}",
        String::from_utf8_lossy(&response)
    );
    assert!(split_head(&response).is_some_and(|(_, rest)| rest.is_empty()));
    assert!(!ep.ws.is_open());
    assert_eq!(ep.errors.len(), 1, "errors: {:?}", ep.errors);
    assert_eq!(ep.net_out_eof(), Some(EofKind::Close));
    assert_eq!(ep.app_in_eof(), Some(EofKind::Abort));
    ep.errors[0].clone()
}

fn masked(frame: Frame) -> Frame {
    frame.masked([0x37, 0xfa, 0x21, 0x3d])
}

// ---------------------------------------------------------------------------------------------
// Opening handshake

#[test]
fn a_25_byte_key_is_refused_with_400() {
    let mut ep = Endpoint::server(WsConfig::default());
    ep.feed(&request_with("dGhlIHNhbXBsZSBub25jZQ==A", ""));
    ep.settle();
    let error = assert_refused(&mut ep, 400);
    assert_eq!(error, WsError::Rejected(RejectReason::BadKey));
}

#[test]
fn keys_of_every_wrong_length_up_to_a_kilobyte_are_refused_with_400() {
    for len in (0..=100).chain([127, 128, 255, 256, 1000]) {
        if len == 24 {
            continue;
        }
        let key = "A".repeat(len);
        let mut ep = Endpoint::server(WsConfig::default());
        ep.feed(&request_with(&key, ""));
        ep.settle();
        let error = assert_refused(&mut ep, 400);
        assert_eq!(
            error,
            WsError::Rejected(RejectReason::BadKey),
            "length {len}"
        );
    }
}

#[test]
fn a_24_byte_key_that_is_not_base64_of_16_bytes_is_refused_with_400() {
    for key in [
        "dGhlIHNhbXBsZSBub25jZQ=A",
        "dGhlIHNhbXBsZSBub25jZQ!=",
        "dGhlIHNhbXBsZSBub25jZR==",
        "========================",
    ] {
        let mut ep = Endpoint::server(WsConfig::default());
        ep.feed(&request_with(key, ""));
        ep.settle();
        let error = assert_refused(&mut ep, 400);
        assert_eq!(error, WsError::Rejected(RejectReason::BadKey), "{key}");
    }
}

#[test]
fn a_repeated_key_is_refused_with_400() {
    let mut ep = Endpoint::server(WsConfig::default());
    ep.feed(&request_with(KEY, &format!("Sec-WebSocket-Key: {KEY}\r\n")));
    ep.settle();
    assert_refused(&mut ep, 400);
}

#[test]
fn a_subprotocol_longer_than_24_bytes_can_be_offered_and_chosen() {
    let long = "a-very-long-subprotocol-name-that-goes-on-and-on";
    let server = WebSocket::server(
        WsConfig::default(),
        Box::new(|req| Decision::Accept {
            subprotocol: req.subprotocols().next().map(String::from),
        }),
    );
    let mut ep = Endpoint::new(server, false);
    ep.feed(&request_with(
        KEY,
        &format!("Sec-WebSocket-Protocol: {long}\r\n"),
    ));
    ep.settle();
    assert!(ep.ws.is_open(), "{:?}", ep.errors);
    assert_eq!(ep.ws.subprotocol(), Some(long));
    let response = String::from_utf8(ep.take_output()).unwrap();
    assert!(response.contains(&format!("Sec-WebSocket-Protocol: {long}\r\n")));
}

#[test]
fn ten_thousand_headers_are_refused_with_431() {
    let extra: String = (0..10_000).map(|i| format!("X-H{i}: v\r\n")).collect();
    let mut ep = Endpoint::server(WsConfig::default());
    ep.feed(&request_with(KEY, &extra));
    ep.settle();
    let error = assert_refused(&mut ep, 431);
    assert_eq!(error, WsError::Rejected(RejectReason::TooManyHeaders));
}

#[test]
fn a_one_mib_header_line_is_refused_with_431_before_it_is_all_there() {
    let mut bytes = request_with(KEY, "");
    bytes.truncate(bytes.len() - 2);
    bytes.extend_from_slice(b"X-Long: ");
    bytes.extend(std::iter::repeat_n(b'x', 1 << 20));
    bytes.extend_from_slice(b"\r\n\r\n");
    let mut ep = Endpoint::server(WsConfig::default());
    let mut fed = 0;
    while ep.errors.is_empty() && fed < bytes.len() {
        fed += ep.feed_some(&bytes[fed..(fed + 4096).min(bytes.len())]);
        ep.settle();
    }
    let error = assert_refused(&mut ep, 431);
    assert_eq!(error, WsError::Rejected(RejectReason::HeadTooLarge));
    assert!(fed <= 16 * 1024, "read {fed} bytes of an 8 KiB head");
}

#[test]
fn a_request_head_of_garbage_is_refused_with_400() {
    let mut ep = Endpoint::server(WsConfig::default());
    ep.feed(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n");
    ep.settle();
    let error = assert_refused(&mut ep, 400);
    assert_eq!(error, WsError::Rejected(RejectReason::Malformed));
}

#[test]
fn an_upgrade_by_post_is_refused_with_405() {
    let mut bytes = request();
    bytes.splice(..3, b"POST".iter().copied());
    let mut ep = Endpoint::server(WsConfig::default());
    ep.feed(&bytes);
    ep.settle();
    assert_refused(&mut ep, 405);
}

#[test]
fn a_plain_http_request_is_left_untouched_for_the_application() {
    let get = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut ep = Endpoint::server(WsConfig::default());
    ep.feed(get);
    ep.settle();
    assert!(ep.ws.is_plain_http());
    assert_eq!(ep.net.up.data(), get);
    assert!(ep.take_output().is_empty());
    assert!(ep.errors.is_empty());
}

#[test]
fn a_request_split_at_every_byte_opens_only_once_complete_and_the_same_way() {
    let bytes = request();
    let mut whole = Endpoint::server(WsConfig::default());
    whole.feed(&bytes);
    whole.settle();
    let expected = whole.take_output();
    for cut in 1..bytes.len() {
        let mut ep = Endpoint::server(WsConfig::default());
        ep.feed(&bytes[..cut]);
        ep.settle();
        assert!(!ep.ws.is_open(), "open after {cut} bytes");
        assert!(ep.take_output().is_empty(), "answered after {cut} bytes");
        ep.feed(&bytes[cut..]);
        ep.settle();
        assert!(ep.ws.is_open(), "cut at {cut}: {:?}", ep.errors);
        assert_eq!(ep.take_output(), expected, "cut at {cut}");
    }
}

#[test]
fn a_request_delivered_byte_by_byte_with_a_frame_behind_it_opens_and_delivers_the_frame() {
    let mut bytes = request();
    bytes.extend_from_slice(&masked(Frame::text("first")).encode());
    let mut ep = Endpoint::server(WsConfig::default());
    for b in &bytes {
        ep.feed(&[*b]);
        ep.settle();
    }
    assert!(ep.ws.is_open());
    assert_eq!(
        ep.take_messages(),
        vec![(MessageKind::Text, b"first".to_vec())]
    );
}

#[test]
fn a_response_split_at_every_byte_opens_the_client_only_once_complete() {
    for cut in 1.. {
        let mut ep = Endpoint::client(WsConfig::default());
        ep.settle();
        let request = ep.take_output();
        let response = accept_response(&request);
        if cut >= response.len() {
            break;
        }
        ep.feed(&response[..cut]);
        ep.settle();
        assert!(!ep.ws.is_open(), "open after {cut} bytes");
        ep.feed(&response[cut..]);
        ep.settle();
        assert!(ep.ws.is_open(), "cut at {cut}: {:?}", ep.errors);
    }
}

#[test]
fn a_response_with_the_wrong_accept_value_fails_the_client() {
    let mut ep = Endpoint::client(WsConfig::default());
    ep.settle();
    ep.take_output();
    // The accept value for the RFC's sample key, not for this client's.
    let response = accept_response(&request());
    ep.feed(&response);
    ep.settle();
    assert_eq!(
        ep.errors,
        vec![WsError::Handshake(HandshakeError::BadAccept)]
    );
    assert!(!ep.ws.is_open());
    assert_eq!(ep.net_out_eof(), Some(EofKind::Close));
    assert_eq!(ep.app_in_eof(), Some(EofKind::Abort));
}

#[test]
fn a_404_response_fails_the_client() {
    let mut ep = Endpoint::client(WsConfig::default());
    ep.settle();
    ep.take_output();
    ep.feed(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    ep.settle();
    assert_eq!(
        ep.errors,
        vec![WsError::Handshake(HandshakeError::UnexpectedStatus(404))]
    );
    assert_eq!(ep.app_in_eof(), Some(EofKind::Abort));
}

#[test]
fn a_response_with_ten_thousand_headers_fails_the_client() {
    let mut ep = Endpoint::client(WsConfig::default());
    ep.settle();
    let request = ep.take_output();
    let mut response = accept_response(&request);
    response.truncate(response.len() - 2);
    for i in 0..10_000 {
        response.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    response.extend_from_slice(b"\r\n");
    ep.feed(&response);
    ep.settle();
    assert_eq!(
        ep.errors,
        vec![WsError::Handshake(HandshakeError::TooManyHeaders)]
    );
}

#[test]
fn a_peer_leaving_during_the_handshake_is_an_abort_for_the_application() {
    for kind in [EofKind::Close, EofKind::Abort] {
        let mut ep = Endpoint::server(WsConfig::default());
        ep.feed(&request()[..20]);
        ep.feed_eof(kind);
        ep.settle();
        assert!(!ep.ws.is_open());
        assert_eq!(ep.app_in_eof(), Some(EofKind::Abort));
        assert!(ep.net_out_eof().is_some());
        assert!(
            ep.net.up.state().is_done(),
            "the peer's EOF was not consumed"
        );
    }
}

#[test]
fn a_silent_peer_during_the_handshake_is_dropped_after_the_idle_timeout() {
    let config = WsConfig {
        idle_timeout: Some(Duration::from_secs(30)),
        ..WsConfig::default()
    };
    let mut ep = Endpoint::server(config);
    ep.feed(b"GET / HTTP/1.1\r\n");
    ep.settle();
    ep.now = pipebuf::Time::from_duration(Duration::from_secs(60));
    ep.settle();
    assert!(ep.net_out_eof().is_some(), "connection still held");
}

// ---------------------------------------------------------------------------------------------
// Frame lengths and headers

#[test]
fn a_frame_announcing_2_pow_63_bytes_fails_with_1002() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    ep.feed(&masked(Frame::binary("")).header_as(LenForm::Ext64, 1 << 63));
    ep.settle();
    let error = assert_failed(&mut ep, PROTOCOL_ERROR);
    assert_eq!(error, WsError::Frame(FrameError::LengthTopBitSet));
}

#[test]
fn a_frame_announcing_u64_max_bytes_fails_with_1002_at_its_third_byte() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    let header = masked(Frame::binary("")).header_as(LenForm::Ext64, u64::MAX);
    ep.feed(&header[..3]);
    ep.settle();
    assert_failed(&mut ep, PROTOCOL_ERROR);
}

#[test]
fn a_frame_announcing_2_pow_63_minus_1_bytes_fails_with_1009() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    ep.feed(&masked(Frame::binary("")).header_as(LenForm::Ext64, (1 << 63) - 1));
    ep.settle();
    let error = assert_failed(&mut ep, MESSAGE_TOO_BIG);
    assert_eq!(error, WsError::MessageTooBig);
}

#[test]
fn a_continuation_announcing_more_than_the_maximum_fails_with_1009() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    let mut bytes = masked(Frame::binary("ab").fin(false)).encode();
    bytes.extend(masked(Frame::cont("").fin(false)).header_as(LenForm::Ext64, (1 << 63) - 1));
    ep.feed(&bytes);
    ep.settle();
    assert_failed(&mut ep, MESSAGE_TOO_BIG);
}

/// Frames whose headers use every length form and both opcode classes, and a few that fail.
fn header_cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = Rng::new(5);
    let big = rng.bytes(70_000);
    vec![
        ("7-bit text", masked(Frame::text("Hello")).encode()),
        ("16-bit binary", masked(Frame::binary(&big[..300])).encode()),
        ("64-bit binary", masked(Frame::binary(&big)).encode()),
        (
            "non-minimal 64-bit",
            masked(Frame::text("tiny")).encode_as(LenForm::Ext64),
        ),
        ("ping", masked(Frame::ping("are you there")).encode()),
        ("close", masked(Frame::close(4000, "bye")).encode()),
        (
            "fragments",
            [
                masked(Frame::text("frag").fin(false)).encode(),
                masked(Frame::ping("p")).encode(),
                masked(Frame::cont("ment")).encode(),
            ]
            .concat(),
        ),
        ("reserved opcode", masked(Frame::new(0xB, "x")).encode()),
        ("rsv bit", masked(Frame::text("x").rsv(0b100)).encode()),
        ("unmasked", Frame::text("x").encode()),
        (
            "control too long",
            masked(Frame::ping(&big[..126])).encode(),
        ),
        (
            "top bit",
            masked(Frame::binary("")).header_as(LenForm::Ext64, 1 << 63),
        ),
        ("bad utf-8", masked(Frame::text(b"ok\xc0\xafok")).encode()),
    ]
}

/// What an endpoint shows after input: the messages, the frames it wrote, the errors and
/// both ends of stream.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    messages: Vec<(MessageKind, Vec<u8>)>,
    unfinished: Option<Record>,
    output: Transcript,
    errors: Vec<WsError>,
    net_out_eof: Option<EofKind>,
    app_in_eof: Option<EofKind>,
    peer_close: Option<Option<(u16, String)>>,
}

fn observe(ep: &mut Endpoint) -> Observed {
    let records = ep.take_records();
    let (messages, unfinished) = join_records(&records);
    Observed {
        messages,
        unfinished,
        output: ep.take_transcript(),
        errors: ep.errors.clone(),
        net_out_eof: ep.net_out_eof(),
        app_in_eof: ep.app_in_eof(),
        peer_close: ep
            .ws
            .peer_close()
            .map(|c| c.map(|(code, r)| (code, r.to_string()))),
    }
}

#[test]
fn a_frame_split_at_every_byte_gives_the_same_result_as_whole() {
    for (name, bytes) in header_cases() {
        let mut whole = Endpoint::open_server(WsConfig::default());
        whole.feed(&bytes);
        whole.settle();
        let expected = observe(&mut whole);
        // The header and the first bytes of payload at every cut; further into a large
        // payload every 997th cut.
        let cuts = (1..bytes.len()).filter(|&c| c < 200 || c % 997 == 0);
        for cut in cuts {
            let mut ep = Endpoint::open_server(WsConfig::default());
            ep.feed(&bytes[..cut]);
            ep.settle();
            ep.feed(&bytes[cut..]);
            ep.settle();
            let mut got = observe(&mut ep);
            // A message cut short by an error may have delivered more or less of its valid
            // start, depending on where the input was split: compare the rest exactly.
            let mut expected = expected.clone();
            for o in [&mut got, &mut expected] {
                o.unfinished = None;
            }
            assert_eq!(got, expected, "{name}, cut at {cut}");
        }
    }
}

#[test]
fn frames_delivered_one_byte_at_a_time_give_the_same_result_as_whole() {
    for (name, bytes) in header_cases() {
        if bytes.len() > 1000 {
            continue;
        }
        let mut whole = Endpoint::open_server(WsConfig::default());
        whole.feed(&bytes);
        whole.settle();
        let expected = observe(&mut whole);
        let mut ep = Endpoint::open_server(WsConfig::default());
        for b in &bytes {
            ep.feed(&[*b]);
            ep.settle();
        }
        let got = observe(&mut ep);
        assert_eq!(got.messages, expected.messages, "{name}");
        assert_eq!(got.errors, expected.errors, "{name}");
        assert_eq!(got.output, expected.output, "{name}");
        assert_eq!(got.app_in_eof, expected.app_in_eof, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Truncation, resets, garbage

#[test]
fn truncation_inside_a_payload_then_eof_is_an_abort_for_the_application() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    let bytes = masked(Frame::text("a message cut short")).encode();
    ep.feed(&bytes[..bytes.len() - 5]);
    ep.feed_eof(EofKind::Close);
    ep.settle();
    assert_eq!(ep.app_in_eof(), Some(EofKind::Abort));
    assert!(ep.errors.is_empty());
    assert_eq!(ep.ws.peer_close(), None);
    assert!(
        ep.net.up.state().is_done(),
        "the peer's EOF was not consumed"
    );
    assert_eq!(ep.net_out_eof(), Some(EofKind::Close));
}

#[test]
fn truncation_inside_a_header_then_eof_is_an_abort_for_the_application() {
    let bytes = masked(Frame::binary(vec![7; 300])).encode();
    for cut in 1..8 {
        let mut ep = Endpoint::open_server(WsConfig::default());
        ep.feed(&bytes[..cut]);
        ep.feed_eof(EofKind::Close);
        ep.settle();
        assert_eq!(
            ep.app_in_eof(),
            Some(EofKind::Abort),
            "cut after {cut} header bytes"
        );
        assert!(
            ep.net.up.state().is_done(),
            "the peer's EOF was not consumed"
        );
        assert!(ep.net_out_eof().is_some(), "our side never ended");
    }
}

#[test]
fn eof_between_frames_without_a_close_frame_is_an_abort_after_the_messages() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    ep.feed_frames(&[Frame::text("one"), Frame::binary("two")]);
    ep.feed_eof(EofKind::Close);
    ep.settle();
    assert_eq!(
        ep.take_messages(),
        vec![
            (MessageKind::Text, b"one".to_vec()),
            (MessageKind::Binary, b"two".to_vec())
        ]
    );
    assert_eq!(ep.app_in_eof(), Some(EofKind::Abort));
    assert_eq!(ep.net_out_eof(), Some(EofKind::Close));
}

#[test]
fn a_peer_that_resets_is_an_abort_for_the_application() {
    for fed in [0usize, 9] {
        let mut ep = Endpoint::open_server(WsConfig::default());
        let bytes = masked(Frame::text("partial message")).encode();
        ep.feed(&bytes[..fed]);
        ep.feed_eof(EofKind::Abort);
        ep.settle();
        assert_eq!(ep.app_in_eof(), Some(EofKind::Abort), "after {fed} bytes");
        assert!(ep.errors.is_empty());
        assert!(ep.net_out_eof().is_some());
    }
}

#[test]
fn a_reset_after_the_close_frame_still_counts_as_a_clean_close() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    ep.feed_frames(&[Frame::close(1000, "done")]);
    ep.feed_eof(EofKind::Abort);
    ep.settle();
    assert_eq!(ep.app_in_eof(), Some(EofKind::Close));
    assert_eq!(ep.ws.peer_close(), Some(Some((1000, "done"))));
}

#[test]
fn messages_complete_before_a_protocol_error_still_reach_the_application_before_the_abort() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    ep.feed_frames(&[Frame::text("fine"), Frame::new(3, "bad")]);
    ep.settle();
    assert_eq!(
        ep.take_messages(),
        vec![(MessageKind::Text, b"fine".to_vec())]
    );
    assert_failed(&mut ep, PROTOCOL_ERROR);
}

#[test]
fn input_after_a_failure_is_discarded_and_the_endpoint_settles() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    ep.feed_frames(&[Frame::new(3, "bad")]);
    ep.settle();
    assert_failed(&mut ep, PROTOCOL_ERROR);
    ep.feed(&[0xff; 1000]);
    ep.settle();
    assert!(ep.net.up.is_empty());
    assert_eq!(ep.errors.len(), 1);
    // The application still writing is no error and no panic.
    let _ = write_chunk(&mut ep.msgs.upper().wr, MessageKind::Text, true, b"late");
    ep.settle();
    assert!(!ep.process(), "a finished endpoint reported activity");
}

/// Random bytes after the handshake: never a panic; either a failure with a close frame
/// carrying 1002, 1007 or 1009, or waiting for more input.
fn garbage(ep_for: impl Fn() -> Endpoint, seeds: std::ops::Range<u64>) {
    for seed in seeds {
        let mut rng = Rng::new(seed);
        let len = rng.chunk(300);
        let bytes = rng.bytes(len);
        let mut ep = ep_for();
        let mut at = 0;
        while at < bytes.len() {
            let n = rng.chunk(64).min(bytes.len() - at);
            ep.feed(&bytes[at..at + n]);
            at += n;
            ep.settle();
        }
        match ep.errors.as_slice() {
            [] => {
                assert!(ep.net_out_eof().is_none() || ep.ws.peer_close().is_some());
            }
            [e] => {
                let code = e.close_code().unwrap_or(0);
                assert!(matches!(code, 1002 | 1007 | 1009), "seed {seed}: {e:?}");
                let t = ep.take_transcript();
                assert_eq!(t.close_code(), Some(code), "seed {seed}");
                assert_eq!(ep.app_in_eof(), Some(EofKind::Abort), "seed {seed}");
                assert_eq!(ep.net_out_eof(), Some(EofKind::Close), "seed {seed}");
            }
            more => panic!("seed {seed}: more than one error: {more:?}"),
        }
    }
}

#[test]
fn garbage_after_the_handshake_never_panics_our_server() {
    garbage(|| Endpoint::open_server(WsConfig::default()), 0..3000);
}

#[test]
fn garbage_after_the_handshake_never_panics_our_client() {
    garbage(|| Endpoint::open_client(WsConfig::default()), 0..3000);
}

#[test]
fn garbage_with_valid_looking_masked_headers_never_panics_our_server() {
    // Bytes biased towards plausible first bytes so that more of them get past the header.
    for seed in 0..3000u64 {
        let mut rng = Rng::new(seed);
        let mut bytes = Vec::new();
        for _ in 0..rng.chunk(6) {
            let b0 = [0x81, 0x82, 0x01, 0x00, 0x80, 0x89, 0x8A, 0x88][rng.below(8)];
            let len = rng.below(140) as u8;
            bytes.push(b0);
            bytes.push(0x80 | len.min(127));
            let n = 4 + rng.below(len as usize + 1);
            bytes.extend(rng.bytes(n));
        }
        let mut ep = Endpoint::open_server(WsConfig::default());
        ep.feed(&bytes);
        ep.settle();
        assert!(ep.errors.len() <= 1, "seed {seed}: {:?}", ep.errors);
        if let Some(e) = ep.errors.first().cloned() {
            let t = ep.take_transcript();
            assert_eq!(t.close_code(), e.close_code(), "seed {seed}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Floods and memory

#[test]
fn a_ping_flood_against_a_peer_that_does_not_read_stops_our_reading_and_loses_no_pong() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    // The open connection gets small byte buffers (the handshake left them empty).
    ep.net = PipeBufPair::with_limits(256, 4096);
    let ping = |i: usize| masked(Frame::ping(format!("{i:0>125}"))).encode();
    let total = 2000;
    let mut fed = 0;
    // The peer sends as fast as we read; nobody reads our output.
    for _ in 0..100 {
        while fed < total && ep.net.up.limit() - ep.net.up.len() >= ping(fed).len() {
            ep.feed(&ping(fed));
            fed += 1;
        }
        ep.settle();
    }
    assert!(ep.errors.is_empty(), "{:?}", ep.errors);
    // Reading stopped once the output was full: the pings wait in the input, bounded by
    // its limit like any data our side cannot take yet.
    assert!(
        fed < total,
        "all {total} pings were read with nobody reading the pongs"
    );
    assert!(ep.net.up.len() <= 4096 && ep.net.down.len() <= 4096);
    // Once the peer reads, every ping gets its pong, in order.
    let mut pongs = Vec::new();
    for _ in 0..10_000 {
        let frames = ep.take_frames();
        assert!(frames.iter().all(|f| f.opcode == PONG), "{frames:?}");
        pongs.extend(frames.into_iter().map(|f| f.payload));
        while fed < total && ep.net.up.limit() - ep.net.up.len() >= ping(fed).len() {
            ep.feed(&ping(fed));
            fed += 1;
        }
        ep.settle();
        if pongs.len() == total {
            break;
        }
    }
    let expected: Vec<Vec<u8>> = (0..total)
        .map(|i| format!("{i:0>125}").into_bytes())
        .collect();
    assert_eq!(pongs.len(), total);
    assert!(
        pongs == expected,
        "the pongs are not the pings' payloads in order"
    );
    assert!(ep.errors.is_empty(), "{:?}", ep.errors);
}

#[test]
fn pings_from_the_api_beyond_four_waiting_are_dropped_and_say_so() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    // No room for a ping with a 20-byte payload.
    ep.net = PipeBufPair::with_limits(16, 16);
    for i in 0..4 {
        assert!(ep.ws.ping(&[i; 20]), "ping {i}");
    }
    ep.settle();
    assert!(!ep.ws.ping(b"fifth"));
    assert!(ep.net.down.is_empty());
    // Room at last: the four go out in order, and nothing else.
    ep.net = PipeBufPair::new();
    ep.settle();
    let t = ep.take_transcript();
    assert_eq!(t.pings, (0..4).map(|i| vec![i; 20]).collect::<Vec<_>>());
    assert!(ep.ws.ping(b"sixth"));
    ep.settle();
    assert_eq!(ep.take_transcript().pings, [b"sixth".to_vec()]);
}

#[test]
fn a_message_that_exactly_fills_the_output_room_goes_out_as_one_frame() {
    // Output limits that leave room for the 7-bit, 16-bit and 64-bit length forms; a
    // server's header is 2, 4 or 10 bytes, a client's 4 more (the masking key).
    for (limit, server_header) in [(127, 2), (4096, 4), (70_000, 10)] {
        for client in [false, true] {
            let mut ep = if client {
                Endpoint::open_client(WsConfig::default())
            } else {
                Endpoint::open_server(WsConfig::default())
            };
            ep.net = PipeBufPair::with_limits(limit, limit);
            let header = server_header + if client { 4 } else { 0 };
            let data = Rng::new(limit as u64).bytes(limit - header);
            write_message(&mut ep.msgs.upper().wr, MessageKind::Binary, &data).unwrap();
            ep.settle();
            assert!(ep.errors.is_empty(), "{:?}", ep.errors);
            assert_eq!(ep.net.down.len(), limit, "limit {limit}, client {client}");
            let t = ep.take_transcript();
            assert_eq!(t.frames_per_message, [1], "limit {limit}, client {client}");
            assert!(t.messages[0].1 == data);
        }
    }
}

#[test]
fn a_huge_message_streams_through_small_buffers_to_a_slow_reader() {
    const LIMIT: usize = 16 * 1024;
    let mut ep = Endpoint::open_server(WsConfig::default());
    ep.net = PipeBufPair::with_limits(1024, LIMIT);
    ep.msgs = PipeBufPair::with_limits(1024, LIMIT);
    let data = Rng::new(11).bytes(4 << 20);
    let bytes = masked(Frame::binary(&data)).encode();
    let mut fed = 0;
    let mut received = Vec::new();
    for _ in 0..10_000_000 {
        fed += ep.feed_some(&bytes[fed..]);
        ep.process();
        // The component holds no payload of its own: what it took from the wire (beyond
        // the 14-byte header) is in the records waiting or was read already.
        let taken = fed - ep.net.up.len();
        assert!(
            taken <= 14 + received.len() + ep.msgs.up.len(),
            "{taken} bytes taken, {} delivered",
            received.len() + ep.msgs.up.len()
        );
        // The application reads one record per step.
        let mut app = ep.msgs.upper();
        if let Some(chunk) = pipebuf_websocket::message::read_chunk(&app.rd).unwrap() {
            received.extend_from_slice(chunk.data);
            let n = chunk.record_len;
            let fin = chunk.fin;
            app.rd.consume(n).unwrap();
            if fin {
                break;
            }
        }
    }
    assert!(ep.errors.is_empty(), "{:?}", ep.errors);
    assert!(received == data, "the message arrived changed");
}

#[test]
fn a_huge_outgoing_message_streams_through_small_buffers_to_a_slow_network() {
    const LIMIT: usize = 16 * 1024;
    let mut ep = Endpoint::open_client(WsConfig::default());
    ep.net = PipeBufPair::with_limits(1024, LIMIT);
    ep.msgs = PipeBufPair::with_limits(1024, LIMIT);
    let data = Rng::new(12).bytes(2 << 20);
    let mut written = 0;
    let mut wire = Vec::new();
    for _ in 0..10_000_000 {
        if written < data.len() {
            let n = (data.len() - written).min(LIMIT / 3);
            let fin = written + n == data.len();
            if write_chunk(
                &mut ep.msgs.upper().wr,
                MessageKind::Binary,
                fin,
                &data[written..written + n],
            )
            .is_ok()
            {
                written += n;
            }
        }
        ep.process();
        // The component holds no data of its own: what the application wrote is still in
        // its records, or framed in the output or on the wire.
        assert!(written <= ep.msgs.down.len() + ep.net.down.len() + wire.len());
        // The network takes at most 1000 bytes per step.
        let mut net = ep.net.lower();
        let n = net.rd.len().min(1000);
        wire.extend_from_slice(&net.rd.data()[..n]);
        net.rd.consume(n).unwrap();
        if written == data.len() && ep.msgs.down.is_empty() && ep.net.down.is_empty() {
            break;
        }
    }
    let (frames, n) = parse_frames(&wire);
    assert_eq!(n, wire.len());
    let mut t = Transcript::default();
    for f in frames {
        t.add(f, true);
    }
    assert_eq!(t.messages.len(), 1);
    assert!(t.messages[0].1 == data, "the message sent changed");
    assert!(t.frames_per_message[0] > 1);
}

#[test]
fn a_thousand_tiny_frames_of_one_message_arrive_whole() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    let mut frames = vec![Frame::binary([0]).fin(false)];
    for i in 1..1000u32 {
        frames.push(Frame::cont([(i % 251) as u8]).fin(i == 999));
    }
    ep.feed_frames(&frames);
    ep.settle();
    let messages = ep.take_messages();
    assert_eq!(messages.len(), 1);
    let expected: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(messages[0].1, expected);
}

// ---------------------------------------------------------------------------------------------
// The application misbehaving

#[test]
fn a_malformed_outgoing_record_fails_with_1011() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    ep.msgs
        .upper()
        .wr
        .append(&[0x80, 0, 0, 0, 1, b'x'])
        .unwrap();
    ep.settle();
    let error = assert_failed(&mut ep, INTERNAL_ERROR);
    assert!(matches!(error, WsError::BadChunk(_)), "{error:?}");
}

#[test]
fn an_application_abort_aborts_the_byte_side() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    ep.send_message(MessageKind::Text, b"queued");
    ep.msgs.upper().wr.abort();
    ep.settle();
    assert_eq!(ep.net_out_eof(), Some(EofKind::Abort));
    assert_eq!(ep.app_in_eof(), Some(EofKind::Abort));
    assert!(ep.errors.is_empty());
}

#[test]
fn a_close_code_set_by_the_application_is_sent_with_its_reason_cut_at_123_bytes() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    let reason = "é".repeat(100);
    ep.ws.close(4001, &reason);
    ep.close_app();
    ep.settle();
    let t = ep.take_transcript();
    assert_eq!(t.close_code(), Some(4001));
    let sent = std::str::from_utf8(t.close_reason().unwrap()).unwrap();
    assert_eq!(sent.len(), 122);
    assert!(reason.starts_with(sent));
}

#[test]
fn a_client_built_without_the_os_random_source_masks_with_the_given_one() {
    let random: pipebuf_websocket::RandomSource = Box::new(|out: &mut [u8]| out.fill(0xAB));
    let client = WebSocket::client_with_random(
        WsConfig::default(),
        ClientRequest::new("/", "localhost"),
        random,
    );
    let mut ep = Endpoint::new(client, true);
    ep.settle();
    let request = ep.take_output();
    assert!(
        String::from_utf8_lossy(&request)
            .contains("Sec-WebSocket-Key: q6urq6urq6urq6urq6urqw==\r\n")
    );
    ep.feed(&accept_response(&request));
    ep.settle();
    ep.send_message(MessageKind::Binary, b"masked");
    ep.settle();
    let frames = ep.take_frames();
    assert_eq!(frames[0].mask, Some([0xAB; 4]));
    assert_eq!(frames[0].payload, b"masked");
}

#[test]
fn an_outgoing_record_cut_short_by_the_end_of_stream_fails_with_1011() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    // A record header announcing 9 bytes, one byte of them, then the end of the stream.
    ep.msgs
        .upper()
        .wr
        .append(&[0x02, 0, 0, 0, 9, b'a'])
        .unwrap();
    ep.close_app();
    ep.settle();
    let error = assert_failed(&mut ep, INTERNAL_ERROR);
    assert!(matches!(error, WsError::BadChunk(_)), "{error:?}");
}

#[test]
fn an_accept_callback_choosing_an_unoffered_subprotocol_is_answered_with_500() {
    let server = WebSocket::server(
        WsConfig::default(),
        Box::new(|_| Decision::Accept {
            subprotocol: Some("never-offered".into()),
        }),
    );
    let mut ep = Endpoint::new(server, false);
    ep.feed(&request());
    ep.settle();
    let error = assert_refused(&mut ep, 500);
    assert_eq!(error, WsError::Refused(500));
}

#[test]
fn a_server_with_a_byte_buffer_under_1_kib_still_answers_the_handshake() {
    let mut ep = Endpoint::server(WsConfig::default());
    ep.net = PipeBufPair::with_limits(128, 512);
    ep.feed(&request());
    ep.settle();
    assert!(ep.ws.is_open(), "{:?}", ep.errors);
    assert_eq!(status_of(&ep.take_output()), Some(101));
}

#[test]
fn a_client_with_a_byte_buffer_under_1_kib_still_sends_its_request() {
    let mut ep = Endpoint::client(WsConfig::default());
    ep.net = PipeBufPair::with_limits(128, 512);
    ep.settle();
    assert!(ep.errors.is_empty(), "{:?}", ep.errors);
    let request = ep.take_output();
    assert!(request.starts_with(b"GET / HTTP/1.1\r\n"));
}

#[test]
fn an_invalid_client_request_reports_the_field_at_fault() {
    let client = WebSocket::client(
        WsConfig::default(),
        ClientRequest::new("no-leading-slash", "localhost"),
    );
    let mut ep = Endpoint::new(client, true);
    ep.settle();
    assert_eq!(
        ep.errors,
        vec![WsError::Handshake(HandshakeError::InvalidField("path"))]
    );
    assert!(ep.take_output().is_empty());
}

#[test]
fn a_close_followed_by_fin_still_gets_the_applications_answer_and_the_echoed_code() {
    let mut ep = Endpoint::open_server(WsConfig::default());
    ep.feed_frames(&[Frame::text("hi"), Frame::close(GOING_AWAY, "")]);
    ep.feed_eof(EofKind::Close);
    ep.settle();
    assert_eq!(
        ep.take_messages(),
        vec![(MessageKind::Text, b"hi".to_vec())]
    );
    assert_eq!(ep.app_in_eof(), Some(EofKind::Close));
    // The application answers, then closes: the answer goes before our close frame.
    ep.send_message(MessageKind::Text, b"hi");
    ep.close_app();
    ep.settle();
    let t = ep.take_transcript();
    assert_eq!(t.texts(), vec!["hi".to_string()]);
    assert_eq!(t.close_code(), Some(GOING_AWAY));
    assert_eq!(ep.net_out_eof(), Some(EofKind::Close));
}
