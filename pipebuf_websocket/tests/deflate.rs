//! permessage-deflate (RFC 7692): our client and our server against each other in memory
//! (the pair of `tests/pair.rs`), and our server against a scripted peer.
//!
//! The conformance part follows Autobahn's 12.x (compressed echo of messages of many sizes,
//! whole and fragmented) and 13.x (the same under each parameter set: context takeover kept
//! or reset on either side, window bits offered): every message must arrive unchanged, and
//! the wire must show RSV1 on the first frame of each compressed message only. The rest:
//! negotiation, the RFC's own examples, per-message opt-out, the threshold, bad compressed
//! data (1007), misplaced RSV1 (1002), and a deflate bomb (1009, bounded memory).

mod common;

use common::*;
use pipebuf::PipeBufPair;
use pipebuf_websocket::deflate::{Agreed, ContextTakeover, DeflateConfig};
use pipebuf_websocket::handshake::HandshakeError;
use pipebuf_websocket::message::{Compression, MessageKind, write_chunk_with};
use pipebuf_websocket::{WsConfig, WsError};
use proptest::prelude::{ProptestConfig, any, proptest};

const RSV1: u8 = 0b100;

fn config(own: ContextTakeover, peer: ContextTakeover) -> WsConfig {
    WsConfig {
        deflate: Some(DeflateConfig {
            own_context: own,
            peer_context: peer,
            ..DeflateConfig::default()
        }),
        ..WsConfig::default()
    }
}

fn deflating() -> WsConfig {
    config(ContextTakeover::Keep, ContextTakeover::Keep)
}

/// Messages of many sizes, alternating text and binary, compressible and not.
fn messages(seed: u64, sizes: &[usize]) -> Vec<(MessageKind, Vec<u8>)> {
    let mut rng = Rng::new(seed);
    sizes
        .iter()
        .enumerate()
        .map(|(i, &len)| match i % 3 {
            0 => (MessageKind::Text, ascii(len)),
            1 => (MessageKind::Binary, rng.bytes(len)),
            _ => (MessageKind::Text, rng.text(len).into_bytes()),
        })
        .collect()
}

const SIZES: [usize; 16] = [
    0, 1, 16, 63, 64, 65, 125, 126, 1000, 4096, 16_384, 65_535, 65_536, 100_000, 131_072, 300_000,
];

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

/// The frames in one direction of a pair's wire, after the handshake head.
fn frames(bytes: &[u8]) -> Vec<Frame> {
    let (_, rest) = split_head(bytes).expect("a handshake head");
    let (frames, _) = parse_frames(rest);
    frames
}

/// Checks the RSV bits of a direction: RSV1 only on the first frame of a message, and
/// there exactly when `compressed(index, payload_len_of_message)` says. Returns how many
/// messages were compressed.
fn rsv1_per_message(frames: &[Frame]) -> Vec<bool> {
    let mut compressed = Vec::new();
    for f in frames {
        match f.opcode {
            TEXT | BINARY => compressed.push(f.rsv == RSV1),
            _ => assert_eq!(f.rsv, 0, "RSV1 on a continuation or control frame: {f:?}"),
        }
        assert_eq!(f.rsv & !RSV1, 0, "RSV2/RSV3 set: {f:?}");
    }
    compressed
}

// ---------------------------------------------------------------------------------------------
// Negotiation between our client and our server

#[test]
fn our_client_and_server_agree_on_permessage_deflate_with_the_default_config() {
    let mut pair = Pair::new(deflating(), deflating(), Schedule::Whole);
    pair.handshake();
    let plain = Agreed {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: None,
        client_max_window_bits: None,
    };
    assert_eq!(pair.client.ep.ws.deflate(), Some(&plain));
    assert_eq!(pair.server.ep.ws.deflate(), Some(&plain));
    let (request, _) = split_head(&pair.c2s).expect("request");
    let request = String::from_utf8_lossy(request);
    assert!(
        request.contains("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
        "{request}"
    );
}

#[test]
fn each_sides_no_context_takeover_preference_reaches_the_agreement() {
    use ContextTakeover::{Keep, Reset};
    for (client_own, client_peer, server_own, server_peer) in [
        (Reset, Keep, Keep, Keep),
        (Keep, Reset, Keep, Keep),
        (Keep, Keep, Reset, Keep),
        (Keep, Keep, Keep, Reset),
        (Reset, Reset, Reset, Reset),
    ] {
        let mut pair = Pair::new(
            config(client_own, client_peer),
            config(server_own, server_peer),
            Schedule::Whole,
        );
        pair.handshake();
        let agreed = *pair.server.ep.ws.deflate().expect("agreed");
        assert_eq!(pair.client.ep.ws.deflate(), Some(&agreed));
        assert_eq!(
            agreed.client_no_context_takeover,
            client_own == Reset || server_peer == Reset
        );
        assert_eq!(
            agreed.server_no_context_takeover,
            server_own == Reset || client_peer == Reset
        );
    }
}

#[test]
fn a_side_without_deflate_leaves_the_connection_uncompressed() {
    for (client, server) in [
        (deflating(), WsConfig::default()),
        (WsConfig::default(), deflating()),
    ] {
        let mut pair = Pair::new(client, server, Schedule::Whole);
        pair.handshake();
        assert_eq!(pair.client.ep.ws.deflate(), None);
        assert_eq!(pair.server.ep.ws.deflate(), None);
        let sent = messages(1, &[1000, 5000]);
        pair.client
            .app
            .script(sent.iter().map(|(k, d)| Op::Message(*k, d.clone())));
        pair.settle();
        pair.assert_no_errors();
        assert_same("server", &pair.server.app.messages, &sent);
        assert_eq!(rsv1_per_message(&frames(&pair.c2s)), [false, false]);
    }
}

// ---------------------------------------------------------------------------------------------
// Conformance: compressed echo (Autobahn 12.x / 13.x)

/// Sends `sent` both ways under `schedule` and checks what arrived and the RSV bits.
fn echo_both_ways(client: WsConfig, server: WsConfig, schedule: Schedule, sizes: &[usize]) {
    let mut pair = Pair::new(client, server, schedule);
    pair.handshake();
    let to_server = messages(11, sizes);
    let to_client = messages(12, sizes);
    pair.client
        .app
        .script(to_server.iter().map(|(k, d)| Op::Message(*k, d.clone())));
    pair.server
        .app
        .script(to_client.iter().map(|(k, d)| Op::Message(*k, d.clone())));
    pair.settle();
    pair.assert_no_errors();
    assert_same("server", &pair.server.app.messages, &to_server);
    assert_same("client", &pair.client.app.messages, &to_client);
    let threshold = DeflateConfig::default().threshold;
    for (who, wire, sent) in [
        ("client", &pair.c2s, &to_server),
        ("server", &pair.s2c, &to_client),
    ] {
        let expected: Vec<bool> = sent.iter().map(|(_, d)| d.len() >= threshold).collect();
        assert_eq!(rsv1_per_message(&frames(wire)), expected, "{who}'s frames");
    }
}

#[test]
fn compressed_messages_of_many_sizes_cross_both_ways_under_every_context_takeover_setting() {
    use ContextTakeover::{Keep, Reset};
    for own in [Keep, Reset] {
        for peer in [Keep, Reset] {
            echo_both_ways(
                config(own, peer),
                config(peer, own),
                Schedule::Random { seed: 5, max: 3000 },
                &SIZES,
            );
        }
    }
}

#[test]
fn compressed_messages_cross_byte_by_byte() {
    echo_both_ways(deflating(), deflating(), Schedule::ByteByByte, &SIZES[..10]);
}

#[test]
fn a_multi_megabyte_message_is_compressed_and_streamed_in_many_frames() {
    let mut pair = Pair::new(deflating(), deflating(), Schedule::Whole);
    pair.handshake();
    let big = vec![(MessageKind::Binary, {
        let mut rng = Rng::new(3);
        // Half compressible, half not.
        let mut data = ascii(2 << 20);
        data.extend(rng.bytes(1 << 20));
        data
    })];
    pair.client
        .app
        .script(big.iter().map(|(k, d)| Op::Message(*k, d.clone())));
    pair.settle();
    pair.assert_no_errors();
    assert_same("server", &pair.server.app.messages, &big);
    let wire = frames(&pair.c2s);
    assert_eq!(rsv1_per_message(&wire), [true]);
    assert!(wire.len() > 10, "{} frames", wire.len());
}

#[test]
fn small_buffers_on_both_sides_carry_compressed_messages_in_many_frames() {
    let small = |mut ep: Endpoint| {
        ep.net = PipeBufPair::with_limits(512, 4096);
        ep.msgs = PipeBufPair::with_limits(512, 4096);
        ep
    };
    let mut pair = Pair::with_endpoints(
        small(Endpoint::client(deflating())),
        small(Endpoint::server(deflating())),
        Schedule::Random { seed: 9, max: 700 },
    );
    pair.handshake();
    let sent = messages(4, &[100, 5000, 70_000, 200_000]);
    pair.client
        .app
        .script(sent.iter().map(|(k, d)| Op::Message(*k, d.clone())));
    pair.server
        .app
        .script(sent.iter().map(|(k, d)| Op::Message(*k, d.clone())));
    pair.settle();
    pair.assert_no_errors();
    assert_same("server", &pair.server.app.messages, &sent);
    assert_same("client", &pair.client.app.messages, &sent);
    let wire = frames(&pair.s2c);
    assert!(wire.len() > 20, "{} frames", wire.len());
    assert_eq!(rsv1_per_message(&wire), [true; 4]);
}

#[test]
fn a_message_streamed_in_chunks_is_one_compressed_message() {
    let mut pair = Pair::new(
        deflating(),
        deflating(),
        Schedule::Random { seed: 2, max: 99 },
    );
    pair.handshake();
    let parts: Vec<Vec<u8>> = (0..20).map(|i| ascii(10 + i * 100)).collect();
    pair.client.app.script(
        parts
            .iter()
            .enumerate()
            .map(|(i, p)| Op::Chunk(MessageKind::Text, i == parts.len() - 1, p.clone())),
    );
    pair.settle();
    pair.assert_no_errors();
    assert_same(
        "server",
        &pair.server.app.messages,
        &[(MessageKind::Text, parts.concat())],
    );
    assert_eq!(rsv1_per_message(&frames(&pair.c2s)), [true]);
}

#[test]
fn context_takeover_makes_a_repeated_message_cheaper_and_reset_does_not() {
    use ContextTakeover::{Keep, Reset};
    for (own, cheaper) in [(Keep, true), (Reset, false)] {
        let mut pair = Pair::new(config(own, Keep), config(Keep, Keep), Schedule::Whole);
        pair.handshake();
        let text = ascii(2000);
        pair.client.app.script([
            Op::Message(MessageKind::Text, text.clone()),
            Op::Message(MessageKind::Text, text.clone()),
        ]);
        pair.settle();
        pair.assert_no_errors();
        assert_eq!(pair.server.app.messages.len(), 2);
        let wire = frames(&pair.c2s);
        let (first, second) = (wire[0].payload.len(), wire[1].payload.len());
        assert_eq!(second < first, cheaper, "{first} then {second} bytes");
    }
}

#[test]
fn messages_under_the_threshold_and_messages_marked_never_go_uncompressed() {
    let mut pair = Pair::new(deflating(), deflating(), Schedule::Whole);
    pair.handshake();
    {
        let mut app = pair.client.ep.msgs.upper();
        write_chunk_with(
            &mut app.wr,
            MessageKind::Binary,
            true,
            &ascii(5000),
            Compression::Never,
        )
        .expect("fits");
        write_chunk_with(
            &mut app.wr,
            MessageKind::Text,
            true,
            &ascii(10),
            Compression::Auto,
        )
        .expect("fits");
        write_chunk_with(
            &mut app.wr,
            MessageKind::Text,
            true,
            &ascii(5000),
            Compression::Auto,
        )
        .expect("fits");
    }
    pair.settle();
    pair.assert_no_errors();
    assert_eq!(rsv1_per_message(&frames(&pair.c2s)), [false, false, true]);
    let got: Vec<usize> = pair.server.app.messages.iter().map(|m| m.1.len()).collect();
    assert_eq!(got, [5000, 10, 5000]);
}

// ---------------------------------------------------------------------------------------------
// Our server against a scripted client

/// A server that accepted `offer`; returns it and its 101 response.
fn server_offered(config: WsConfig, offer: &str) -> (Endpoint, String) {
    let mut ep = Endpoint::server(config);
    ep.feed(&request_with(
        KEY,
        &format!("Sec-WebSocket-Extensions: {offer}\r\n"),
    ));
    ep.settle();
    let response = String::from_utf8(ep.take_output()).expect("ASCII");
    assert_eq!(status_of(response.as_bytes()), Some(101), "{response}");
    (ep, response)
}

fn extensions_line(response: &str) -> Option<&str> {
    response
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Extensions: "))
}

/// Raw deflate of `data` ending in a sync flush, without the trailing `00 00 ff ff`.
fn deflate_raw(data: &[u8]) -> Vec<u8> {
    use miniz_oxide::deflate::core::{
        CompressorOxide, TDEFLFlush, compress_to_output, create_comp_flags_from_zip_params,
    };
    let mut c = Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(
        9, -15, 0,
    )));
    let mut out = Vec::new();
    compress_to_output(&mut c, data, TDEFLFlush::Sync, |b| {
        out.extend_from_slice(b);
        true
    });
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

#[test]
fn the_server_answers_the_offers_autobahn_13_makes() {
    for (offer, answer) in [
        ("permessage-deflate", Some("permessage-deflate")),
        (
            "permessage-deflate; client_max_window_bits",
            Some("permessage-deflate"),
        ),
        (
            "permessage-deflate; client_max_window_bits=9",
            Some("permessage-deflate"),
        ),
        (
            "permessage-deflate; server_max_window_bits=15",
            Some("permessage-deflate; server_max_window_bits=15"),
        ),
        (
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ),
        ("permessage-deflate; server_max_window_bits=9", None),
        (
            "permessage-deflate; server_max_window_bits=9, permessage-deflate",
            Some("permessage-deflate"),
        ),
        ("permessage-deflate; bogus", None),
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            None,
        ),
    ] {
        let (ep, response) = server_offered(deflating(), offer);
        assert_eq!(extensions_line(&response), answer, "{offer}");
        assert_eq!(ep.ws.deflate().is_some(), answer.is_some(), "{offer}");
    }
}

#[test]
fn the_rfc_7692_examples_inflate() {
    // §7.2.3.1 "Hello", §7.2.3.2 "Hello" again with the shared window, §7.2.3.3 stored,
    // §7.2.3.4 two blocks, then "Hello" in a final block followed by a byte (§7.2.3.5).
    let payloads: [&[u8]; 5] = [
        &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        &[0xf2, 0x00, 0x11, 0x00, 0x00],
        &[
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ],
        &[
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ],
        &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
    ];
    let (mut ep, _) = server_offered(deflating(), "permessage-deflate");
    for (i, p) in payloads.iter().enumerate() {
        ep.feed_frames(&[Frame::text(p).rsv(RSV1).masked(key_for(i as u32))]);
    }
    // And one more after the final block: a new stream.
    ep.feed_frames(&[Frame::text(deflate_raw(b"Hello"))
        .rsv(RSV1)
        .masked(key_for(9))]);
    ep.settle();
    assert!(ep.errors.is_empty(), "{:?}", ep.errors);
    let got = ep.take_messages();
    assert_eq!(got, vec![(MessageKind::Text, b"Hello".to_vec()); 6]);
}

#[test]
fn a_compressed_message_fragmented_by_the_peer_with_a_ping_between_inflates() {
    let (mut ep, _) = server_offered(deflating(), "permessage-deflate");
    let text = ascii(20_000);
    let compressed = deflate_raw(&text);
    let third = compressed.len() / 3;
    let frames = [
        Frame::text(&compressed[..third])
            .rsv(RSV1)
            .fin(false)
            .masked(key_for(1)),
        Frame::ping(b"between").masked(key_for(2)),
        Frame::cont(&compressed[third..2 * third])
            .fin(false)
            .masked(key_for(3)),
        Frame::cont(&compressed[2 * third..]).masked(key_for(4)),
    ];
    let bytes = ep.peer_bytes(&frames);
    for b in bytes.chunks(7) {
        ep.feed(b);
        ep.settle();
    }
    assert!(ep.errors.is_empty(), "{:?}", ep.errors);
    assert_eq!(ep.take_messages(), [(MessageKind::Text, text)]);
    let out = ep.take_frames();
    assert_eq!(out[0].opcode, PONG);
}

fn fails_with(offer: Option<&str>, frames: &[Frame], error: WsError, code: u16) {
    let mut ep = match offer {
        Some(offer) => server_offered(deflating(), offer).0,
        None => Endpoint::open_server(deflating()),
    };
    ep.feed_frames(frames);
    ep.settle();
    assert_eq!(ep.errors, [error]);
    let close = ep.take_frames().pop().expect("a close frame");
    assert_eq!(close.close_code(), Some(code));
}

#[test]
fn compressed_data_that_does_not_inflate_fails_with_1007() {
    // BTYPE 11 is reserved.
    let frames = [Frame::binary([0xff, 0xff, 0xff])
        .rsv(RSV1)
        .masked(key_for(1))];
    fails_with(
        Some("permessage-deflate"),
        &frames,
        WsError::BadCompressedData,
        1007,
    );
}

#[test]
fn invalid_utf8_inside_a_compressed_text_message_fails_with_1007() {
    let frames = [Frame::text(deflate_raw(b"ok \xff\xfe"))
        .rsv(RSV1)
        .masked(key_for(1))];
    let utf8 = WsError::Frame(pipebuf_websocket::frame::FrameError::InvalidUtf8);
    fails_with(Some("permessage-deflate"), &frames, utf8, 1007);
}

#[test]
fn rsv1_out_of_place_fails_with_1002() {
    let compressed = deflate_raw(&ascii(100));
    let on_continuation = [
        Frame::text(&compressed[..10])
            .rsv(RSV1)
            .fin(false)
            .masked(key_for(1)),
        Frame::cont(&compressed[10..]).rsv(RSV1).masked(key_for(2)),
    ];
    let on_ping = [Frame::ping(b"x").rsv(RSV1).masked(key_for(1))];
    let rsv2 = [Frame::text(&compressed).rsv(0b010).masked(key_for(1))];
    for frames in [&on_continuation[..], &on_ping, &rsv2] {
        fails_with(
            Some("permessage-deflate"),
            frames,
            WsError::ReservedBits,
            1002,
        );
    }
    // Not negotiated: the client offered nothing.
    let unnegotiated = [Frame::text(&compressed).rsv(RSV1).masked(key_for(1))];
    fails_with(None, &unnegotiated, WsError::ReservedBits, 1002);
}

#[test]
fn a_deflate_bomb_fails_with_1009_holding_no_more_than_the_message_buffer() {
    let max_message = 256 * 1024;
    let config = WsConfig {
        max_message,
        ..deflating()
    };
    let (mut ep, _) = server_offered(config, "permessage-deflate");
    ep.msgs = PipeBufPair::with_limits(4096, 64 * 1024);
    // 16 MiB of zeros: about 16 KiB compressed.
    let bomb = deflate_raw(&vec![0u8; 16 << 20]);
    assert!(bomb.len() < 32 * 1024, "{}", bomb.len());
    ep.feed_frames(&[Frame::binary(&bomb).rsv(RSV1).masked(key_for(1))]);
    let mut delivered = 0;
    for _ in 0..10_000 {
        ep.process();
        let records = ep.take_records();
        delivered += records.iter().map(|r| r.data.len()).sum::<usize>();
        assert!(ep.msgs.up.capacity() <= 64 * 1024);
        if !ep.errors.is_empty() {
            break;
        }
    }
    assert_eq!(ep.errors, [WsError::MessageTooBig]);
    assert!(delivered <= max_message, "{delivered} bytes delivered");
    let close = ep.take_frames().pop().expect("a close frame");
    assert_eq!(close.close_code(), Some(1009));
}

#[test]
fn a_deflate_bomb_the_application_does_not_read_stops_at_the_message_buffer() {
    let (mut ep, _) = server_offered(deflating(), "permessage-deflate");
    ep.msgs = PipeBufPair::with_limits(4096, 64 * 1024);
    let bomb = deflate_raw(&vec![0u8; 4 << 20]);
    ep.feed_frames(&[Frame::binary(&bomb).rsv(RSV1).masked(key_for(1))]);
    ep.settle();
    assert!(ep.errors.is_empty(), "{:?}", ep.errors);
    assert!(ep.msgs.up.len() <= 64 * 1024);
    // Reading it all lets the rest through: backpressure, not an error.
    let mut total = 0;
    for _ in 0..10_000 {
        total += ep
            .take_records()
            .iter()
            .map(|r| r.data.len())
            .sum::<usize>();
        if !ep.process() && ep.msgs.up.is_empty() {
            break;
        }
    }
    assert_eq!(total, 4 << 20);
}

// ---------------------------------------------------------------------------------------------
// Our client against a scripted server

#[test]
fn the_client_fails_the_handshake_on_an_answer_it_did_not_offer() {
    for answer in [
        "permessage-deflate; client_max_window_bits=10",
        "permessage-deflate; server_max_window_bits=99",
        "permessage-deflate; bogus",
        "permessage-deflate, permessage-deflate",
        "x-webkit-deflate-frame",
    ] {
        let mut ep = Endpoint::client(deflating());
        ep.settle();
        let request = ep.take_output();
        let mut response = accept_response(&request);
        let at = response.len() - 2;
        let line = format!("Sec-WebSocket-Extensions: {answer}\r\n");
        response.splice(at..at, line.bytes());
        ep.feed(&response);
        ep.settle();
        assert_eq!(
            ep.errors,
            [WsError::Handshake(HandshakeError::BadExtensions)],
            "{answer}"
        );
    }
}

#[test]
fn the_client_accepts_a_server_that_limits_its_own_window() {
    let mut ep = Endpoint::client(deflating());
    ep.settle();
    let mut response = accept_response(&ep.take_output());
    let at = response.len() - 2;
    let line = "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n";
    response.splice(at..at, line.bytes());
    ep.feed(&response);
    ep.settle();
    assert!(ep.errors.is_empty(), "{:?}", ep.errors);
    assert_eq!(
        ep.ws.deflate().and_then(|a| a.server_max_window_bits),
        Some(10)
    );
    ep.feed_frames(&[Frame::text(deflate_raw(b"from the server")).rsv(RSV1)]);
    ep.settle();
    assert_eq!(
        ep.take_messages(),
        [(MessageKind::Text, b"from the server".to_vec())]
    );
}

// ---------------------------------------------------------------------------------------------
// Round trip, any messages, any settings

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_messages_round_trip_compressed_under_any_settings(
        sizes in proptest::collection::vec(0usize..20_000, 1..6),
        own_reset in any::<bool>(),
        peer_reset in any::<bool>(),
        level in 0u8..=9,
        threshold in 0usize..200,
        seed in any::<u64>(),
        max in 1usize..5000,
    ) {
        let takeover = |reset: bool| if reset { ContextTakeover::Reset } else { ContextTakeover::Keep };
        let config = WsConfig {
            deflate: Some(DeflateConfig {
                own_context: takeover(own_reset),
                peer_context: takeover(peer_reset),
                threshold,
                level,
            }),
            ..WsConfig::default()
        };
        let mut pair = Pair::new(config, config, Schedule::Random { seed, max });
        pair.handshake();
        let sent = messages(seed, &sizes);
        pair.client.app.script(sent.iter().map(|(k, d)| Op::Message(*k, d.clone())));
        pair.server.app.script(sent.iter().map(|(k, d)| Op::Message(*k, d.clone())));
        pair.settle();
        pair.assert_no_errors();
        assert_same("server", &pair.server.app.messages, &sent);
        assert_same("client", &pair.client.app.messages, &sent);
    }
}
