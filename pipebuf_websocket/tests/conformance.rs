//! A conformance suite modelled on the case list of Autobahn|Testsuite (the fuzzing server
//! and client of crossbar.io), run against our server **and** our client over real loopback
//! TCP connections.
//!
//! Each case starts our component in a thread with an echo application (see
//! `common::loopback`); the test thread plays the raw peer: it writes hand-built frames
//! (masked when it plays the client), reads the raw frames back and checks every byte that
//! matters — echoed messages, pongs, the close code — and that the TCP connection ends.
//! Every frame our component sends is also checked against the sender's rules (masking,
//! RSV bits, fragmentation order, control frames at most 125 bytes, nothing after close).
//!
//! Section numbers in the docs name the Autobahn cases a test follows. Where Autobahn
//! accepts two outcomes ("non-strict": a message echoed or not before the connection is
//! failed), the test first waits for the echo, so that the outcome is determined.
//!
//! | section | what |
//! |---|---|
//! | 1 | text and binary messages of the lengths around each length encoding |
//! | 2 | pings and pongs |
//! | 3 | reserved bits |
//! | 4 | reserved opcodes |
//! | 5 | fragmentation |
//! | 6 | UTF-8 handling, fail fast |
//! | 7 | the close handshake and close codes |
//! | 9 | limits: large messages, many frames, many messages, the maximum message size |
//! | 10 | our own sender fragmenting large messages |
//! | – | masking by role, non-minimal length forms, a peer that vanishes |

mod common;

use std::time::Duration;

use common::loopback::{End, Ours, Outcome, RawPeer, Session};
use common::*;
use pipebuf::EofKind;
use pipebuf_websocket::frame::FrameError;
use pipebuf_websocket::{WsConfig, WsError};

/// A pause between writes that gives the component time to act on what it got.
const PAUSE: Duration = Duration::from_millis(10);

/// Generates a module with one test against our server and one against our client.
macro_rules! case {
    ($(#[doc = $doc:expr])* #[ignore = $why:expr] $name:ident($ours:ident) $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn case($ours: Ours) $body

            #[test]
            #[ignore = $why]
            fn against_our_server() {
                case(Ours::Server)
            }

            #[test]
            #[ignore = $why]
            fn against_our_client() {
                case(Ours::Client)
            }
        }
    };
    ($(#[$attr:meta])* $name:ident($ours:ident) $body:block) => {
        $(#[$attr])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn case($ours: Ours) $body

            #[test]
            fn against_our_server() {
                case(Ours::Server)
            }

            #[test]
            fn against_our_client() {
                case(Ours::Client)
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Harness

/// Everything one connection showed.
struct Exchange {
    /// Every frame our component sent after the handshake.
    t: Transcript,
    /// How the TCP connection ended.
    end: End,
    outcome: Outcome,
}

/// Runs one connection with the default config: `script` plays the raw peer, then every
/// frame up to the end of the connection is read.
fn run(ours: Ours, script: impl FnOnce(&mut RawPeer)) -> Exchange {
    run_with(ours, WsConfig::default(), script)
}

fn run_with(ours: Ours, config: WsConfig, script: impl FnOnce(&mut RawPeer)) -> Exchange {
    let mut session = Session::start(ours, config);
    script(&mut session.peer);
    let (t, end) = session.peer.transcript();
    let outcome = session.finish();
    assert!(
        !outcome.timed_out,
        "the connection never finished: {outcome:?}"
    );
    assert!(outcome.opened, "the handshake did not complete");
    assert_eq!(t.after_close, 0, "frames sent after the close frame");
    Exchange { t, end, outcome }
}

/// Compares messages without printing megabytes.
fn assert_messages(actual: &[(u8, Vec<u8>)], expected: &[(u8, Vec<u8>)]) {
    assert_eq!(actual.len(), expected.len(), "number of messages echoed");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(a.0, e.0, "opcode of message {i}");
        assert_eq!(a.1.len(), e.1.len(), "length of message {i}");
        if a.1 != e.1 {
            let at = a.1.iter().zip(&e.1).position(|(x, y)| x != y);
            panic!("message {i} differs first at byte {at:?}");
        }
    }
}

impl Exchange {
    /// The messages came back, then our close frame answered the peer's with `code`, the
    /// connection ended cleanly and nothing failed.
    fn closed_cleanly(&self, code: Option<u16>, echoed: &[(u8, Vec<u8>)]) {
        assert_messages(&self.t.messages, echoed);
        assert!(self.t.close.is_some(), "no close frame");
        assert_eq!(self.t.close_code(), code, "close code");
        assert_eq!(self.end, End::Eof, "TCP connection not ended with a FIN");
        assert_eq!(self.outcome.error, None);
        assert_eq!(self.outcome.app_eof, Some(EofKind::Close));
        assert_eq!(self.outcome.net_out_eof, Some(EofKind::Close));
    }

    /// [`closed_cleanly`](Self::closed_cleanly) after the peer's close 1000.
    fn echoed(&self, echoed: &[(u8, Vec<u8>)]) {
        self.closed_cleanly(Some(NORMAL), echoed);
        assert_eq!(self.outcome.peer_close, Some(Some((NORMAL, String::new()))));
    }

    /// The connection was failed with `code` after echoing `echoed`: a close frame with the
    /// code, then the end of the TCP connection, and the application saw an abort.
    fn failed(&self, code: u16, echoed: &[(u8, Vec<u8>)]) {
        assert_messages(&self.t.messages, echoed);
        assert_eq!(self.t.close_code(), Some(code), "close code: {:?}", self.t);
        assert_eq!(self.end, End::Eof, "TCP connection not ended with a FIN");
        let error = self
            .outcome
            .error
            .as_ref()
            .expect("process() reported an error");
        assert_eq!(error.close_code(), Some(code), "{error:?}");
        assert_eq!(self.outcome.app_eof, Some(EofKind::Abort));
    }
}

fn text(s: impl AsRef<[u8]>) -> (u8, Vec<u8>) {
    (TEXT, s.as_ref().to_vec())
}

fn binary(b: impl AsRef<[u8]>) -> (u8, Vec<u8>) {
    (BINARY, b.as_ref().to_vec())
}

/// A payload of `len` bytes for `opcode`: ASCII text, or binary with bytes that are never
/// valid UTF-8.
fn payload(opcode: u8, len: usize) -> Vec<u8> {
    match opcode {
        TEXT => ascii(len),
        _ => (0..len).map(|i| (i as u8).wrapping_mul(7) ^ 0xFE).collect(),
    }
}

/// Sends one message of `len` bytes as one frame (in writes of `chop` bytes, if given),
/// then a close; expects the echo.
fn echo_one(ours: Ours, opcode: u8, len: usize, chop: Option<usize>) {
    let data = payload(opcode, len);
    let ex = run(ours, |peer| {
        let bytes = peer.wire(&[Frame::new(opcode, &data)]);
        match chop {
            Some(n) => peer.send_chopped(&bytes, n, Duration::ZERO),
            None => peer.send_raw(&bytes),
        }
        peer.close_after(1);
    });
    ex.echoed(&[(opcode, data.clone())]);
}

/// Sends `frames` in one write (no close) and expects the connection failed with `code`.
fn fails_with(ours: Ours, code: u16, frames: &[Frame]) -> Exchange {
    let ex = run(ours, |peer| peer.send(frames));
    ex.failed(code, &[]);
    ex
}

/// Sends "Hello", waits for its echo, then sends `frames` (no close): the echo stays the
/// only message and the connection is failed with `code`.
fn fails_after_hello(ours: Ours, code: u16, frames: &[Frame]) -> Exchange {
    let ex = run(ours, |peer| {
        peer.send(&[Frame::text("Hello")]);
        peer.wait_messages(1);
        peer.send(frames);
    });
    ex.failed(code, &[text("Hello")]);
    ex
}

// ---------------------------------------------------------------------------------------------
// 1 Framing: every length encoding, text and binary

case! {
    /// 1.1.1
    an_empty_text_message_is_echoed(ours) { echo_one(ours, TEXT, 0, None) }
}
case! {
    /// 1.1.2: the longest 7-bit length.
    a_text_message_of_125_bytes_is_echoed(ours) { echo_one(ours, TEXT, 125, None) }
}
case! {
    /// 1.1.3: the shortest 16-bit length.
    a_text_message_of_126_bytes_is_echoed(ours) { echo_one(ours, TEXT, 126, None) }
}
case! {
    /// 1.1.4
    a_text_message_of_127_bytes_is_echoed(ours) { echo_one(ours, TEXT, 127, None) }
}
case! {
    /// 1.1.5
    a_text_message_of_128_bytes_is_echoed(ours) { echo_one(ours, TEXT, 128, None) }
}
case! {
    /// 1.1.6: the longest 16-bit length.
    a_text_message_of_65535_bytes_is_echoed(ours) { echo_one(ours, TEXT, 65535, None) }
}
case! {
    /// 1.1.7: the shortest 64-bit length.
    a_text_message_of_65536_bytes_is_echoed(ours) { echo_one(ours, TEXT, 65536, None) }
}
case! {
    /// 1.1.8
    a_text_message_of_65536_bytes_sent_in_997_byte_writes_is_echoed(ours) {
        echo_one(ours, TEXT, 65536, Some(997))
    }
}
case! {
    /// 1.2.1
    an_empty_binary_message_is_echoed(ours) { echo_one(ours, BINARY, 0, None) }
}
case! {
    /// 1.2.2
    a_binary_message_of_125_bytes_is_echoed(ours) { echo_one(ours, BINARY, 125, None) }
}
case! {
    /// 1.2.3
    a_binary_message_of_126_bytes_is_echoed(ours) { echo_one(ours, BINARY, 126, None) }
}
case! {
    /// 1.2.4
    a_binary_message_of_127_bytes_is_echoed(ours) { echo_one(ours, BINARY, 127, None) }
}
case! {
    /// 1.2.5
    a_binary_message_of_128_bytes_is_echoed(ours) { echo_one(ours, BINARY, 128, None) }
}
case! {
    /// 1.2.6
    a_binary_message_of_65535_bytes_is_echoed(ours) { echo_one(ours, BINARY, 65535, None) }
}
case! {
    /// 1.2.7
    a_binary_message_of_65536_bytes_is_echoed(ours) { echo_one(ours, BINARY, 65536, None) }
}
case! {
    /// 1.2.8
    a_binary_message_of_65536_bytes_sent_in_997_byte_writes_is_echoed(ours) {
        echo_one(ours, BINARY, 65536, Some(997))
    }
}
case! {
    /// Every 7-bit length, and each message sent byte by byte in one connection.
    messages_of_every_length_up_to_130_bytes_are_echoed_in_order(ours) {
        let messages: Vec<(u8, Vec<u8>)> = (0..=130)
            .map(|len| if len % 2 == 0 { (TEXT, payload(TEXT, len)) } else { (BINARY, payload(BINARY, len)) })
            .collect();
        let ex = run(ours, |peer| {
            let frames: Vec<Frame> = messages.iter().map(|(op, d)| Frame::new(*op, d)).collect();
            let bytes = peer.wire(&frames);
            peer.send_chopped(&bytes, 1, Duration::ZERO);
            peer.close_after(messages.len());
        });
        ex.echoed(&messages);
    }
}

// ---------------------------------------------------------------------------------------------
// 2 Pings and pongs

case! {
    /// 2.1
    a_ping_without_payload_is_answered_with_an_empty_pong(ours) {
        let ex = run(ours, |peer| peer.send(&[Frame::ping(""), Frame::close(NORMAL, "")]));
        ex.echoed(&[]);
        assert_eq!(ex.t.pongs, vec![Vec::<u8>::new()]);
    }
}
case! {
    /// 2.2
    a_ping_with_text_payload_is_answered_with_a_pong_carrying_it(ours) {
        let ex = run(ours, |peer| {
            peer.send(&[Frame::ping("Hello, world!"), Frame::close(NORMAL, "")]);
        });
        ex.echoed(&[]);
        assert_eq!(ex.t.pongs, vec![b"Hello, world!".to_vec()]);
    }
}
case! {
    /// 2.3
    a_ping_with_binary_payload_is_answered_with_a_pong_carrying_it(ours) {
        let bytes = [0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff];
        let ex = run(ours, |peer| peer.send(&[Frame::ping(bytes), Frame::close(NORMAL, "")]));
        ex.echoed(&[]);
        assert_eq!(ex.t.pongs, vec![bytes.to_vec()]);
    }
}
case! {
    /// 2.4
    a_ping_with_125_bytes_of_payload_is_answered(ours) {
        let p = payload(BINARY, 125);
        let ex = run(ours, |peer| peer.send(&[Frame::ping(&p), Frame::close(NORMAL, "")]));
        ex.echoed(&[]);
        assert_eq!(ex.t.pongs, vec![p.clone()]);
    }
}
case! {
    /// 2.5
    a_ping_with_126_bytes_of_payload_fails_with_1002(ours) {
        let ex = fails_with(ours, PROTOCOL_ERROR, &[Frame::ping(payload(BINARY, 126))]);
        assert!(ex.t.pongs.is_empty());
        assert_eq!(ex.outcome.error, Some(WsError::Frame(FrameError::ControlFrameTooLong(126))));
    }
}
case! {
    /// 2.6
    a_ping_with_125_bytes_sent_byte_by_byte_is_answered(ours) {
        let p = payload(BINARY, 125);
        let ex = run(ours, |peer| {
            let bytes = peer.wire(&[Frame::ping(&p), Frame::close(NORMAL, "")]);
            peer.send_chopped(&bytes, 1, Duration::from_micros(200));
        });
        ex.echoed(&[]);
        assert_eq!(ex.t.pongs, vec![p.clone()]);
    }
}
case! {
    /// 2.7
    an_unsolicited_empty_pong_is_ignored(ours) {
        let ex = run(ours, |peer| peer.send(&[Frame::pong(""), Frame::close(NORMAL, "")]));
        ex.echoed(&[]);
        assert!(ex.t.pongs.is_empty() && ex.t.pings.is_empty());
    }
}
case! {
    /// 2.8
    an_unsolicited_pong_with_payload_is_ignored(ours) {
        let ex = run(ours, |peer| {
            peer.send(&[Frame::pong("unsolicited pong payload"), Frame::close(NORMAL, "")]);
        });
        ex.echoed(&[]);
        assert!(ex.t.pongs.is_empty() && ex.t.pings.is_empty());
    }
}
case! {
    /// 2.9
    a_ping_after_an_unsolicited_pong_is_answered(ours) {
        let ex = run(ours, |peer| {
            peer.send(&[
                Frame::pong("unsolicited pong payload"),
                Frame::ping("ping payload"),
                Frame::close(NORMAL, ""),
            ]);
        });
        ex.echoed(&[]);
        assert_eq!(ex.t.pongs, vec![b"ping payload".to_vec()]);
    }
}

/// Every ping got its own pong, in order (Autobahn 2.10 and 2.11 count them; RFC 6455 §5.5.3
/// would allow answering only the latest, which keepalive accounting does not like).
fn answers_every_ping_in_order(pongs: &[Vec<u8>], pings: &[Vec<u8>]) {
    assert_eq!(pongs, pings, "pongs do not answer each ping in order");
}

case! {
    /// 2.10
    ten_pings_in_one_write_are_each_answered_in_order(ours) {
        let pings: Vec<Vec<u8>> = (0..10).map(|i| format!("payload-{i}").into_bytes()).collect();
        let ex = run(ours, |peer| {
            let mut frames: Vec<Frame> = pings.iter().map(Frame::ping).collect();
            frames.push(Frame::close(NORMAL, ""));
            peer.send(&frames);
        });
        ex.echoed(&[]);
        answers_every_ping_in_order(&ex.t.pongs, &pings);
    }
}
case! {
    /// 2.11
    ten_pings_sent_byte_by_byte_are_each_answered_in_order(ours) {
        let pings: Vec<Vec<u8>> = (0..10).map(|i| format!("payload-{i}").into_bytes()).collect();
        let ex = run(ours, |peer| {
            let mut frames: Vec<Frame> = pings.iter().map(Frame::ping).collect();
            frames.push(Frame::close(NORMAL, ""));
            let bytes = peer.wire(&frames);
            peer.send_chopped(&bytes, 1, Duration::ZERO);
        });
        ex.echoed(&[]);
        answers_every_ping_in_order(&ex.t.pongs, &pings);
    }
}
case! {
    every_ping_is_answered_when_the_peer_waits_for_each_pong(ours) {
        let ex = run(ours, |peer| {
            for i in 0..10 {
                peer.send(&[Frame::ping(format!("ping {i}"))]);
                peer.wait_pongs(i + 1);
            }
            peer.send(&[Frame::close(NORMAL, "")]);
        });
        ex.echoed(&[]);
        let expected: Vec<Vec<u8>> = (0..10).map(|i| format!("ping {i}").into_bytes()).collect();
        assert_eq!(ex.t.pongs, expected);
    }
}

// ---------------------------------------------------------------------------------------------
// 3 Reserved bits

case! {
    /// 3.1
    a_text_frame_with_rsv3_fails_with_1002(ours) {
        let ex = fails_with(ours, PROTOCOL_ERROR, &[Frame::text("Hello, world!").rsv(0b001)]);
        assert_eq!(ex.outcome.error, Some(WsError::ReservedBits));
    }
}
case! {
    /// 3.2
    a_text_frame_with_rsv2_after_an_echoed_message_fails_with_1002_and_the_ping_behind_it_is_not_answered(ours) {
        let ex = fails_after_hello(ours, PROTOCOL_ERROR, &[Frame::text("Hello, world!").rsv(0b010), Frame::ping("")]);
        assert!(ex.t.pongs.is_empty());
    }
}
case! {
    /// 3.3
    a_text_frame_with_rsv2_and_rsv3_fails_with_1002(ours) {
        fails_after_hello(ours, PROTOCOL_ERROR, &[Frame::text("Hello, world!").rsv(0b011), Frame::ping("")]);
    }
}
case! {
    /// 3.4
    a_text_frame_with_rsv1_fails_with_1002(ours) {
        fails_after_hello(ours, PROTOCOL_ERROR, &[Frame::text("Hello, world!").rsv(0b100), Frame::ping("")]);
    }
}
case! {
    /// 3.5
    a_binary_frame_with_rsv1_and_rsv3_fails_with_1002(ours) {
        fails_with(ours, PROTOCOL_ERROR, &[Frame::binary([0, 0xff, 0xfe]).rsv(0b101)]);
    }
}
case! {
    /// 3.6
    a_ping_with_rsv1_and_rsv2_fails_with_1002_unanswered(ours) {
        let ex = fails_with(ours, PROTOCOL_ERROR, &[Frame::ping("Hello").rsv(0b110)]);
        assert!(ex.t.pongs.is_empty());
    }
}
case! {
    /// 3.7
    a_close_with_all_reserved_bits_fails_with_1002(ours) {
        let ex = fails_with(ours, PROTOCOL_ERROR, &[Frame::close(NORMAL, "").rsv(0b111)]);
        assert_eq!(ex.outcome.peer_close, None);
    }
}
case! {
    a_continuation_frame_with_rsv1_fails_with_1002(ours) {
        fails_with(ours, PROTOCOL_ERROR, &[Frame::text("frag").fin(false), Frame::cont("ment").rsv(0b100)]);
    }
}

// ---------------------------------------------------------------------------------------------
// 4 Reserved opcodes

case! {
    /// 4.1.1
    an_empty_frame_with_reserved_data_opcode_3_fails_with_1002(ours) {
        let ex = fails_with(ours, PROTOCOL_ERROR, &[Frame::new(3, "")]);
        assert_eq!(ex.outcome.error, Some(WsError::Frame(FrameError::ReservedOpcode(3))));
    }
}
case! {
    /// 4.1.2
    a_frame_with_reserved_data_opcode_4_and_payload_fails_with_1002(ours) {
        fails_with(ours, PROTOCOL_ERROR, &[Frame::new(4, "reserved opcode payload")]);
    }
}
case! {
    /// 4.1.3
    reserved_data_opcode_5_after_an_echoed_message_fails_with_1002(ours) {
        let ex = fails_after_hello(ours, PROTOCOL_ERROR, &[Frame::new(5, ""), Frame::ping("")]);
        assert!(ex.t.pongs.is_empty());
    }
}
case! {
    /// 4.1.4
    reserved_data_opcode_6_with_payload_after_an_echoed_message_fails_with_1002(ours) {
        fails_after_hello(ours, PROTOCOL_ERROR, &[Frame::new(6, "payload"), Frame::ping("")]);
    }
}
case! {
    /// 4.1.5
    reserved_data_opcode_7_with_payload_after_an_echoed_message_fails_with_1002(ours) {
        fails_after_hello(ours, PROTOCOL_ERROR, &[Frame::new(7, "payload"), Frame::ping("")]);
    }
}
case! {
    /// 4.2.1
    an_empty_frame_with_reserved_control_opcode_11_fails_with_1002(ours) {
        fails_with(ours, PROTOCOL_ERROR, &[Frame::new(11, "")]);
    }
}
case! {
    /// 4.2.2
    a_frame_with_reserved_control_opcode_12_and_payload_fails_with_1002(ours) {
        fails_with(ours, PROTOCOL_ERROR, &[Frame::new(12, "reserved opcode payload")]);
    }
}
case! {
    /// 4.2.3
    reserved_control_opcode_13_after_an_echoed_message_fails_with_1002(ours) {
        fails_after_hello(ours, PROTOCOL_ERROR, &[Frame::new(13, ""), Frame::ping("")]);
    }
}
case! {
    /// 4.2.4
    reserved_control_opcode_14_with_payload_after_an_echoed_message_fails_with_1002(ours) {
        fails_after_hello(ours, PROTOCOL_ERROR, &[Frame::new(14, "payload"), Frame::ping("")]);
    }
}
case! {
    /// 4.2.5
    reserved_control_opcode_15_with_payload_after_an_echoed_message_fails_with_1002(ours) {
        fails_after_hello(ours, PROTOCOL_ERROR, &[Frame::new(15, "payload"), Frame::ping("")]);
    }
}
case! {
    a_reserved_opcode_fails_before_its_payload_arrives(ours) {
        let ex = run(ours, |peer| {
            // Only the header of a frame announcing 1000 bytes.
            let mut frame = Frame::new(3, "");
            if peer.is_client {
                frame = frame.masked([1, 2, 3, 4]);
            }
            peer.send_raw(&frame.header_as(LenForm::Minimal, 1000));
        });
        ex.failed(PROTOCOL_ERROR, &[]);
    }
}

// ---------------------------------------------------------------------------------------------
// 5 Fragmentation

/// Five fragments of one text message.
fn fragments(n: usize) -> Vec<Frame> {
    (1..=n)
        .map(|i| {
            let data = format!("fragment{i}");
            let frame = if i == 1 {
                Frame::text(data)
            } else {
                Frame::cont(data)
            };
            frame.fin(i == n)
        })
        .collect()
}

fn joined(n: usize) -> (u8, Vec<u8>) {
    text((1..=n).map(|i| format!("fragment{i}")).collect::<String>())
}

case! {
    /// 5.1
    a_fragmented_ping_fails_with_1002(ours) {
        let ex = fails_with(ours, PROTOCOL_ERROR, &[Frame::ping("fragment1").fin(false), Frame::cont("fragment2")]);
        assert!(ex.t.pongs.is_empty());
        assert_eq!(ex.outcome.error, Some(WsError::Frame(FrameError::FragmentedControlFrame)));
    }
}
case! {
    /// 5.2
    a_fragmented_pong_fails_with_1002(ours) {
        fails_with(ours, PROTOCOL_ERROR, &[Frame::pong("fragment1").fin(false), Frame::cont("fragment2")]);
    }
}
case! {
    a_fragmented_close_fails_with_1002(ours) {
        let ex = fails_with(ours, PROTOCOL_ERROR, &[Frame::close(NORMAL, "").fin(false)]);
        assert_eq!(ex.outcome.peer_close, None);
    }
}
case! {
    /// 5.3
    a_text_message_in_two_fragments_is_echoed_whole(ours) {
        let ex = run(ours, |peer| {
            peer.send(&fragments(2));
            peer.close_after(1);
        });
        ex.echoed(&[joined(2)]);
    }
}
case! {
    /// 5.4
    a_text_message_in_two_fragments_sent_apart_is_echoed_whole(ours) {
        let ex = run(ours, |peer| {
            peer.send_each(&fragments(2), PAUSE);
            peer.close_after(1);
        });
        ex.echoed(&[joined(2)]);
    }
}
case! {
    /// 5.5
    a_text_message_in_two_fragments_sent_byte_by_byte_is_echoed_whole(ours) {
        let ex = run(ours, |peer| {
            let bytes = peer.wire(&fragments(2));
            peer.send_chopped(&bytes, 1, Duration::from_micros(100));
            peer.close_after(1);
        });
        ex.echoed(&[joined(2)]);
    }
}
case! {
    /// 5.6
    a_ping_between_two_fragments_is_answered_and_the_message_echoed(ours) {
        let ex = run(ours, |peer| {
            let f = fragments(2);
            peer.send(&[f[0].clone(), Frame::ping("ping payload"), f[1].clone()]);
            peer.close_after(1);
        });
        ex.echoed(&[joined(2)]);
        assert_eq!(ex.t.pongs, vec![b"ping payload".to_vec()]);
    }
}
case! {
    /// 5.7
    a_ping_between_two_fragments_sent_apart_is_answered_and_the_message_echoed(ours) {
        let ex = run(ours, |peer| {
            let f = fragments(2);
            peer.send_each(&[f[0].clone(), Frame::ping("ping payload"), f[1].clone()], PAUSE);
            peer.close_after(1);
        });
        ex.echoed(&[joined(2)]);
        assert_eq!(ex.t.pongs, vec![b"ping payload".to_vec()]);
    }
}
case! {
    /// 5.8
    a_ping_between_two_fragments_sent_byte_by_byte_is_answered(ours) {
        let ex = run(ours, |peer| {
            let f = fragments(2);
            let bytes = peer.wire(&[f[0].clone(), Frame::ping("ping payload"), f[1].clone()]);
            peer.send_chopped(&bytes, 1, Duration::from_micros(100));
            peer.close_after(1);
        });
        ex.echoed(&[joined(2)]);
        assert_eq!(ex.t.pongs, vec![b"ping payload".to_vec()]);
    }
}
case! {
    /// 5.9
    a_final_continuation_without_a_message_fails_with_1002(ours) {
        let ex = fails_with(ours, PROTOCOL_ERROR, &[Frame::cont("non-continuation payload"), Frame::text("Hello, world!")]);
        assert_eq!(ex.outcome.error, Some(WsError::Fragmentation));
    }
}
case! {
    /// 5.10
    a_final_continuation_without_a_message_sent_apart_fails_with_1002(ours) {
        let ex = run(ours, |peer| {
            peer.send_each(&[Frame::cont("non-continuation payload"), Frame::text("Hello, world!")], PAUSE);
        });
        ex.failed(PROTOCOL_ERROR, &[]);
    }
}
case! {
    /// 5.11
    a_final_continuation_without_a_message_sent_byte_by_byte_fails_with_1002(ours) {
        let ex = run(ours, |peer| {
            let bytes = peer.wire(&[Frame::cont("non-continuation payload"), Frame::text("Hello, world!")]);
            peer.send_chopped(&bytes, 1, Duration::from_micros(100));
        });
        ex.failed(PROTOCOL_ERROR, &[]);
    }
}
case! {
    /// 5.12
    an_unfinished_continuation_without_a_message_fails_with_1002(ours) {
        fails_with(ours, PROTOCOL_ERROR, &[Frame::cont("non-continuation payload").fin(false), Frame::text("Hello, world!")]);
    }
}
case! {
    /// 5.13
    an_unfinished_continuation_without_a_message_sent_apart_fails_with_1002(ours) {
        let ex = run(ours, |peer| {
            peer.send_each(&[Frame::cont("non-continuation payload").fin(false), Frame::text("Hello, world!")], PAUSE);
        });
        ex.failed(PROTOCOL_ERROR, &[]);
    }
}
case! {
    /// 5.15
    a_continuation_after_a_finished_message_fails_with_1002_after_its_echo(ours) {
        let ex = run(ours, |peer| {
            let f = fragments(2);
            peer.send(&f);
            peer.wait_messages(1);
            peer.send(&[Frame::cont("fragment3").fin(false), Frame::text("fragment4")]);
        });
        ex.failed(PROTOCOL_ERROR, &[joined(2)]);
    }
}
case! {
    /// 5.16
    a_message_starting_with_a_continuation_fails_with_1002(ours) {
        let round = [Frame::cont("fragment1").fin(false), Frame::text("fragment2").fin(false), Frame::cont("fragment3")];
        let frames: Vec<Frame> = round.iter().chain(round.iter()).cloned().collect();
        fails_with(ours, PROTOCOL_ERROR, &frames);
    }
}
case! {
    /// 5.17
    a_message_starting_with_a_final_continuation_fails_with_1002(ours) {
        let round = [Frame::cont("fragment1"), Frame::text("fragment2").fin(false), Frame::cont("fragment3")];
        let frames: Vec<Frame> = round.iter().chain(round.iter()).cloned().collect();
        fails_with(ours, PROTOCOL_ERROR, &frames);
    }
}
case! {
    /// 5.18
    a_new_text_frame_inside_an_unfinished_message_fails_with_1002(ours) {
        let ex = fails_with(ours, PROTOCOL_ERROR, &[Frame::text("fragment1").fin(false), Frame::text("fragment2")]);
        assert_eq!(ex.outcome.error, Some(WsError::Fragmentation));
    }
}
case! {
    a_new_binary_frame_inside_an_unfinished_text_message_fails_with_1002(ours) {
        fails_with(ours, PROTOCOL_ERROR, &[Frame::text("fragment1").fin(false), Frame::binary("fragment2")]);
    }
}
case! {
    /// 5.19
    pings_between_five_fragments_are_answered_and_the_message_echoed(ours) {
        let ex = run(ours, |peer| {
            let f = fragments(5);
            peer.send(&f[..2]);
            peer.send(&[Frame::ping("pongme 1!")]);
            peer.wait_pongs(1);
            peer.send(&f[2..4]);
            thread_sleep(PAUSE);
            peer.send(&[Frame::ping("pongme 2!")]);
            peer.wait_pongs(2);
            peer.send(&f[4..]);
            peer.close_after(1);
        });
        ex.echoed(&[joined(5)]);
        assert_eq!(ex.t.pongs, vec![b"pongme 1!".to_vec(), b"pongme 2!".to_vec()]);
    }
}
case! {
    /// 5.20
    pings_between_five_fragments_sent_apart_are_answered(ours) {
        let ex = run(ours, |peer| {
            let f = fragments(5);
            let frames = [
                f[0].clone(), f[1].clone(), Frame::ping("pongme 1!"), f[2].clone(), f[3].clone(),
                Frame::ping("pongme 2!"), f[4].clone(),
            ];
            peer.send_each(&frames, PAUSE);
            peer.close_after(1);
        });
        ex.echoed(&[joined(5)]);
        assert_eq!(ex.t.pongs, vec![b"pongme 1!".to_vec(), b"pongme 2!".to_vec()]);
    }
}
case! {
    binary_messages_in_many_fragments_with_empty_ones_between_are_echoed_whole(ours) {
        let ex = run(ours, |peer| {
            peer.send(&[
                Frame::binary([1, 2]).fin(false),
                Frame::cont([]).fin(false),
                Frame::cont([3]).fin(false),
                Frame::pong("between"),
                Frame::cont([]).fin(false),
                Frame::cont([4, 5, 6]),
            ]);
            peer.close_after(1);
        });
        ex.echoed(&[binary([1, 2, 3, 4, 5, 6])]);
    }
}

fn thread_sleep(d: Duration) {
    std::thread::sleep(d);
}

// ---------------------------------------------------------------------------------------------
// 6 UTF-8

/// Valid UTF-8 from Autobahn's 6.2 cases.
const HELLO_UTF8: &str = "Hello-µ@ßöäüàá-UTF-8!!";
/// Invalid UTF-8 from Autobahn's 6.3 cases: a surrogate inside Greek text.
const KOSME_INVALID: &[u8] =
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";

/// One frame per byte of `data` (a text frame, then continuations).
fn bytewise_text(data: &[u8]) -> Vec<Frame> {
    if data.is_empty() {
        return vec![Frame::text("")];
    }
    data.iter()
        .enumerate()
        .map(|(i, b)| {
            let frame = if i == 0 {
                Frame::text([*b])
            } else {
                Frame::cont([*b])
            };
            frame.fin(i + 1 == data.len())
        })
        .collect()
}

case! {
    /// 6.1.2
    three_empty_text_fragments_are_echoed_as_an_empty_message(ours) {
        let ex = run(ours, |peer| {
            peer.send(&[Frame::text("").fin(false), Frame::cont("").fin(false), Frame::cont("")]);
            peer.close_after(1);
        });
        ex.echoed(&[text("")]);
    }
}
case! {
    /// 6.1.3
    empty_fragments_around_a_payload_are_echoed_as_the_payload(ours) {
        let ex = run(ours, |peer| {
            peer.send(&[
                Frame::text("").fin(false),
                Frame::cont("middle frame payload").fin(false),
                Frame::cont(""),
            ]);
            peer.close_after(1);
        });
        ex.echoed(&[text("middle frame payload")]);
    }
}
case! {
    /// 6.2.1
    valid_utf8_in_one_frame_is_echoed(ours) {
        let ex = run(ours, |peer| {
            peer.send(&[Frame::text(HELLO_UTF8)]);
            peer.close_after(1);
        });
        ex.echoed(&[text(HELLO_UTF8)]);
    }
}
case! {
    /// 6.2.2, every split point: one message per split, all in one connection.
    valid_utf8_split_into_two_frames_at_every_byte_is_echoed(ours) {
        let data = HELLO_UTF8.as_bytes();
        let ex = run(ours, |peer| {
            let mut frames = Vec::new();
            for k in 0..=data.len() {
                frames.push(Frame::text(&data[..k]).fin(false));
                frames.push(Frame::cont(&data[k..]));
            }
            peer.send(&frames);
            peer.close_after(data.len() + 1);
        });
        let expected = vec![text(HELLO_UTF8); data.len() + 1];
        ex.echoed(&expected);
    }
}
case! {
    valid_utf8_split_into_three_frames_at_every_pair_of_bytes_is_echoed(ours) {
        let data = "κόσμε-𝄞€".as_bytes();
        let n = (data.len() + 1) * (data.len() + 2) / 2;
        let ex = run(ours, |peer| {
            let mut frames = Vec::new();
            for i in 0..=data.len() {
                for j in i..=data.len() {
                    frames.push(Frame::text(&data[..i]).fin(false));
                    frames.push(Frame::cont(&data[i..j]).fin(false));
                    frames.push(Frame::cont(&data[j..]));
                }
            }
            peer.send(&frames);
            peer.close_after(n);
        });
        ex.echoed(&vec![text(data); n]);
    }
}
case! {
    /// 6.2.3
    valid_utf8_in_one_byte_frames_is_echoed(ours) {
        let ex = run(ours, |peer| {
            peer.send(&bytewise_text(HELLO_UTF8.as_bytes()));
            peer.close_after(1);
        });
        ex.echoed(&[text(HELLO_UTF8)]);
    }
}
case! {
    /// 6.2.4
    greek_text_in_one_byte_frames_is_echoed(ours) {
        let ex = run(ours, |peer| {
            peer.send(&bytewise_text("κόσμε".as_bytes()));
            peer.close_after(1);
        });
        ex.echoed(&[text("κόσμε")]);
    }
}
case! {
    /// 6.3.1
    invalid_utf8_in_one_frame_fails_with_1007(ours) {
        let ex = fails_with(ours, INVALID_PAYLOAD, &[Frame::text(KOSME_INVALID)]);
        assert_eq!(ex.outcome.error, Some(WsError::Frame(FrameError::InvalidUtf8)));
    }
}
case! {
    /// 6.3.2
    invalid_utf8_in_one_byte_frames_fails_with_1007(ours) {
        fails_with(ours, INVALID_PAYLOAD, &bytewise_text(KOSME_INVALID));
    }
}
case! {
    /// 6.3.2, every split point: one connection per split.
    invalid_utf8_split_into_two_frames_at_every_byte_fails_with_1007(ours) {
        for k in 0..=KOSME_INVALID.len() {
            let frames = [Frame::text(&KOSME_INVALID[..k]).fin(false), Frame::cont(&KOSME_INVALID[k..])];
            let ex = run(ours, |peer| peer.send(&frames));
            assert_eq!(ex.t.close_code(), Some(INVALID_PAYLOAD), "split at {k}");
            ex.failed(INVALID_PAYLOAD, &[]);
        }
    }
}

/// Sends `parts` as the fragments of one text message, waiting after the second for the
/// connection to fail with 1007 before the third is sent.
fn fails_fast_across_frames(ours: Ours, parts: [&[u8]; 3]) {
    let ex = run(ours, |peer| {
        peer.send(&[Frame::text(parts[0]).fin(false)]);
        thread_sleep(PAUSE);
        peer.send(&[Frame::cont(parts[1]).fin(false)]);
        peer.wait_close();
        peer.send(&[Frame::cont(parts[2])]);
    });
    ex.failed(INVALID_PAYLOAD, &[]);
}

/// Sends `parts` as pieces of one text frame, waiting after the second for the connection
/// to fail with 1007 before the third is sent.
fn fails_fast_within_a_frame(ours: Ours, parts: [&[u8]; 3]) {
    let ex = run(ours, |peer| {
        let whole = parts.concat();
        let bytes = peer.wire(&[Frame::text(&whole)]);
        let header = bytes.len() - whole.len();
        let (a, b) = (
            header + parts[0].len(),
            header + parts[0].len() + parts[1].len(),
        );
        peer.send_raw(&bytes[..a]);
        thread_sleep(PAUSE);
        peer.send_raw(&bytes[a..b]);
        peer.wait_close();
        peer.send_raw(&bytes[b..]);
    });
    ex.failed(INVALID_PAYLOAD, &[]);
}

case! {
    /// 6.4.1
    a_code_point_above_u10ffff_fails_fast_before_the_last_fragment(ours) {
        fails_fast_across_frames(ours, ["κόσμε".as_bytes(), b"\xf4\x90\x80\x80", b"edited"]);
    }
}
case! {
    /// 6.4.2
    an_invalid_second_byte_fails_fast_before_the_last_fragment(ours) {
        fails_fast_across_frames(ours, [b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4", b"\x90", b"\x80\x80edited"]);
    }
}
case! {
    /// 6.4.3
    a_code_point_above_u10ffff_fails_fast_inside_one_frame(ours) {
        fails_fast_within_a_frame(ours, ["κόσμε".as_bytes(), b"\xf4\x90\x80\x80", b"edited"]);
    }
}
case! {
    /// 6.4.4
    an_invalid_second_byte_fails_fast_inside_one_frame(ours) {
        fails_fast_within_a_frame(ours, [b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4", b"\x90", b"\x80\x80edited"]);
    }
}
case! {
    an_invalid_byte_early_in_a_long_message_fails_before_the_rest_arrives(ours) {
        let ex = run(ours, |peer| {
            let mut start = Frame::text("");
            if peer.is_client {
                start = start.masked([0, 0, 0, 0]);
            }
            // A 1 MiB text frame announced; only its first 16 bytes are sent.
            let mut bytes = start.header_as(LenForm::Minimal, 1 << 20);
            bytes.extend_from_slice(b"valid start \xc0\xaf..");
            peer.send_raw(&bytes);
            peer.wait_close();
        });
        ex.failed(INVALID_PAYLOAD, &[]);
    }
}
case! {
    a_message_ending_inside_a_character_fails_with_1007(ours) {
        fails_with(ours, INVALID_PAYLOAD, &[Frame::text(b"abc\xce").fin(false), Frame::cont("")]);
    }
}
case! {
    a_character_split_across_a_ping_is_valid(ours) {
        let ex = run(ours, |peer| {
            peer.send(&[
                Frame::text(b"\xce").fin(false),
                Frame::ping("in between"),
                Frame::cont(b"\xba"),
            ]);
            peer.close_after(1);
        });
        ex.echoed(&[text("κ")]);
        assert_eq!(ex.t.pongs, vec![b"in between".to_vec()]);
    }
}
case! {
    binary_messages_are_not_checked_for_utf8(ours) {
        let ex = run(ours, |peer| {
            peer.send(&[Frame::binary(KOSME_INVALID)]);
            peer.close_after(1);
        });
        ex.echoed(&[binary(KOSME_INVALID)]);
    }
}

/// Sequences every UTF-8 decoder must accept (Autobahn 6.5–6.22: boundary code points and
/// noncharacters, which are valid UTF-8).
const VALID_SEQUENCES: &[&[u8]] = &[
    b"\x00",                                         // U+0000
    b"\xc2\x80",                                     // U+0080
    b"\xe0\xa0\x80",                                 // U+0800
    b"\xf0\x90\x80\x80",                             // U+10000
    b"\x7f",                                         // U+007F
    b"\xdf\xbf",                                     // U+07FF
    b"\xef\xbf\xbf",                                 // U+FFFF (noncharacter)
    b"\xf4\x8f\xbf\xbf",                             // U+10FFFF
    b"\xed\x9f\xbf",                                 // U+D7FF
    b"\xee\x80\x80",                                 // U+E000
    b"\xef\xbf\xbd",                                 // U+FFFD
    b"\xef\xbf\xbe",                                 // U+FFFE (noncharacter)
    b"\xf0\x9f\xbf\xbe",                             // U+1FFFE (noncharacter)
    b"\xf4\x8f\xbf\xbe",                             // U+10FFFE (noncharacter)
    b"\xef\xb7\x90",                                 // U+FDD0 (noncharacter)
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", // κόσμε
];

fn invalid_sequences_fail_with_1007(ours: Ours, sequences: &[&[u8]]) {
    for seq in sequences {
        for bytewise in [false, true] {
            let mut data = b"ab".to_vec();
            data.extend_from_slice(seq);
            let frames = if bytewise {
                bytewise_text(&data)
            } else {
                vec![Frame::text(&data)]
            };
            let ex = run(ours, |peer| peer.send(&frames));
            assert_eq!(
                ex.t.close_code(),
                Some(INVALID_PAYLOAD),
                "{seq:x?} (one frame per byte: {bytewise})"
            );
            ex.failed(INVALID_PAYLOAD, &[]);
        }
    }
}

case! {
    /// 6.5–6.22: all in one connection, once in one frame each and once byte by byte.
    boundary_code_points_and_noncharacters_are_echoed(ours) {
        let ex = run(ours, |peer| {
            let mut frames = Vec::new();
            for seq in VALID_SEQUENCES {
                frames.push(Frame::text(seq));
                frames.extend(bytewise_text(seq));
            }
            peer.send(&frames);
            peer.close_after(2 * VALID_SEQUENCES.len());
        });
        let expected: Vec<(u8, Vec<u8>)> = VALID_SEQUENCES.iter().flat_map(|s| [text(s), text(s)]).collect();
        ex.echoed(&expected);
    }
}
case! {
    /// 6.8: five- and six-byte forms, and code points above U+10FFFF.
    code_points_beyond_unicode_fail_with_1007(ours) {
        invalid_sequences_fail_with_1007(ours, &[
            b"\xf8\x88\x80\x80\x80",
            b"\xfc\x84\x80\x80\x80\x80",
            b"\xf4\x90\x80\x80",
            b"\xf7\xbf\xbf\xbf",
            b"\xf5\x80\x80\x80",
        ]);
    }
}
case! {
    /// 6.9–6.10
    lone_continuation_bytes_fail_with_1007(ours) {
        invalid_sequences_fail_with_1007(ours, &[b"\x80", b"\xbf", b"\x80\xbf", b"\x80\xbf\x80\xbf"]);
    }
}
case! {
    /// 6.11–6.13
    lead_bytes_followed_by_a_space_fail_with_1007(ours) {
        invalid_sequences_fail_with_1007(ours, &[b"\xc0 ", b"\xdf ", b"\xe0 ", b"\xef ", b"\xf0 ", b"\xf4 "]);
    }
}
case! {
    /// 6.14–6.15: sequences cut short at the end of the message.
    sequences_missing_their_last_byte_fail_with_1007(ours) {
        invalid_sequences_fail_with_1007(ours, &[b"\xc2", b"\xe0\xa0", b"\xef\xbf", b"\xf0\x90\x80", b"\xf4\x8f\xbf"]);
    }
}
case! {
    /// 6.16
    impossible_bytes_fail_with_1007(ours) {
        invalid_sequences_fail_with_1007(ours, &[b"\xfe", b"\xff", b"\xfe\xfe\xff\xff", b"\xc0", b"\xc1"]);
    }
}
case! {
    /// 6.17–6.19
    overlong_encodings_fail_with_1007(ours) {
        invalid_sequences_fail_with_1007(ours, &[
            b"\xc0\xaf",
            b"\xe0\x80\xaf",
            b"\xf0\x80\x80\xaf",
            b"\xc1\xbf",
            b"\xe0\x9f\xbf",
            b"\xf0\x8f\xbf\xbf",
            b"\xc0\x80",
            b"\xe0\x80\x80",
        ]);
    }
}
case! {
    /// 6.20–6.21
    utf16_surrogates_fail_with_1007(ours) {
        invalid_sequences_fail_with_1007(ours, &[
            b"\xed\xa0\x80",
            b"\xed\xad\xbf",
            b"\xed\xbf\xbf",
            b"\xed\xa0\x80\xed\xb0\x80",
            b"\xed\xaf\xbf\xed\xbf\xbf",
        ]);
    }
}

// ---------------------------------------------------------------------------------------------
// 7 Close handling

case! {
    /// 7.1.1, with the peer waiting for the echo before it closes.
    a_message_then_a_close_is_echoed_then_closed(ours) {
        let ex = run(ours, |peer| {
            peer.send(&[Frame::text("Hello World!")]);
            peer.close_after(1);
        });
        ex.echoed(&[text("Hello World!")]);
    }
}
case! {
    /// 7.1.1 as Autobahn sends it: the message and the close frame back to back, in one
    /// write. The application must get the chance to answer the message before our close
    /// frame ends what we may send.
    a_message_and_a_close_in_one_write_get_the_echo_before_the_close(ours) {
        let ex = run(ours, |peer| peer.send(&[Frame::text("Hello World!"), Frame::close(NORMAL, "")]));
        ex.echoed(&[text("Hello World!")]);
    }
}
case! {
    a_thousand_messages_and_a_close_in_one_write_are_all_echoed_before_the_close(ours) {
        let messages: Vec<(u8, Vec<u8>)> = (0..1000).map(|i| text(format!("message {i}"))).collect();
        let ex = run(ours, |peer| {
            let mut frames: Vec<Frame> = messages.iter().map(|(op, d)| Frame::new(*op, d)).collect();
            frames.push(Frame::close(NORMAL, ""));
            peer.send(&frames);
        });
        ex.echoed(&messages);
    }
}
case! {
    /// A peer that half-closes TCP right after its close frame can still read our answer.
    a_message_and_a_close_followed_by_fin_get_the_echo_and_the_code_back(ours) {
        let ex = run(ours, |peer| {
            peer.send(&[Frame::text("Hello World!"), Frame::close(NORMAL, "")]);
            peer.shutdown_write();
        });
        ex.echoed(&[text("Hello World!")]);
    }
}
case! {
    /// 7.1.2
    a_second_close_frame_gets_no_second_answer(ours) {
        let ex = run(ours, |peer| peer.send(&[Frame::close(NORMAL, ""), Frame::close(NORMAL, "")]));
        ex.echoed(&[]);
    }
}
case! {
    /// 7.1.3
    a_ping_after_the_close_frame_is_not_answered(ours) {
        let ex = run(ours, |peer| peer.send(&[Frame::close(NORMAL, ""), Frame::ping("Hello World!")]));
        ex.echoed(&[]);
        assert!(ex.t.pongs.is_empty());
    }
}
case! {
    /// 7.1.4
    a_message_after_the_close_frame_is_not_echoed(ours) {
        let ex = run(ours, |peer| peer.send(&[Frame::close(NORMAL, ""), Frame::text("Hello World!")]));
        ex.echoed(&[]);
    }
}
case! {
    /// 7.1.5
    a_message_interrupted_by_the_close_frame_is_not_finished(ours) {
        let ex = run(ours, |peer| {
            peer.send(&[Frame::text("fragment1").fin(false), Frame::close(NORMAL, ""), Frame::cont("fragment2")]);
        });
        ex.echoed(&[]);
        if let Some((op, data)) = &ex.t.unfinished {
            assert_eq!((*op, data.as_slice()), (TEXT, &b"fragment1"[..]));
        }
    }
}
case! {
    /// 7.1.6
    a_large_message_before_the_close_frame_is_echoed_and_the_ping_after_it_ignored(ours) {
        let data = payload(BINARY, 256 * 1024);
        let ex = run(ours, |peer| {
            let bytes = peer.wire(&[Frame::binary(&data), Frame::close(NORMAL, ""), Frame::ping("")]);
            peer.send_in_background(bytes, 64 * 1024);
        });
        // Informational in Autobahn; the application answers before it closes, so the whole
        // message comes back before our close frame.
        ex.echoed(&[binary(&data)]);
        assert!(ex.t.pongs.is_empty());
    }
}
case! {
    /// 7.3.1
    a_close_without_payload_is_answered_without_payload(ours) {
        let ex = run(ours, |peer| peer.send(&[Frame::close_empty()]));
        ex.closed_cleanly(None, &[]);
        assert_eq!(ex.t.close, Some(Vec::new()));
        assert_eq!(ex.outcome.peer_close, Some(None));
    }
}
case! {
    /// 7.3.2
    a_close_with_a_one_byte_payload_fails_with_1002(ours) {
        let ex = fails_with(ours, PROTOCOL_ERROR, &[Frame::new(CLOSE, [0x03])]);
        assert_eq!(ex.outcome.error, Some(WsError::Frame(FrameError::CloseFrameTooShort)));
    }
}
case! {
    /// 7.3.3
    a_close_with_code_1000_and_no_reason_is_answered_with_1000(ours) {
        let ex = run(ours, |peer| peer.send(&[Frame::close(NORMAL, "")]));
        ex.echoed(&[]);
    }
}
case! {
    /// 7.3.4
    a_close_reason_reaches_the_application(ours) {
        let ex = run(ours, |peer| peer.send(&[Frame::close(NORMAL, "Hello World!")]));
        ex.closed_cleanly(Some(NORMAL), &[]);
        assert_eq!(ex.outcome.peer_close, Some(Some((NORMAL, "Hello World!".into()))));
    }
}
case! {
    /// 7.3.5
    a_close_with_the_longest_reason_is_answered(ours) {
        let reason = "*".repeat(123);
        let ex = run(ours, |peer| peer.send(&[Frame::close(NORMAL, &reason)]));
        ex.closed_cleanly(Some(NORMAL), &[]);
        assert_eq!(ex.outcome.peer_close, Some(Some((NORMAL, reason.clone()))));
    }
}
case! {
    /// 7.3.6
    a_close_with_a_reason_one_byte_too_long_fails_with_1002(ours) {
        let ex = fails_with(ours, PROTOCOL_ERROR, &[Frame::close(NORMAL, "*".repeat(124))]);
        assert_eq!(ex.outcome.error, Some(WsError::Frame(FrameError::ControlFrameTooLong(126))));
    }
}
case! {
    /// 7.5.1
    a_close_reason_that_is_not_utf8_fails_with_1007(ours) {
        let ex = fails_with(ours, INVALID_PAYLOAD, &[Frame::close(NORMAL, KOSME_INVALID)]);
        assert_eq!(ex.outcome.peer_close, None);
    }
}
case! {
    a_close_with_a_valid_code_after_a_fragment_ends_the_message_unfinished(ours) {
        let ex = run(ours, |peer| peer.send(&[Frame::binary([1]).fin(false), Frame::close(3000, "bye")]));
        ex.closed_cleanly(Some(3000), &[]);
    }
}

/// 7.7.x: the close code comes back in our answer and reaches the application.
fn valid_code_is_echoed(ours: Ours, code: u16) {
    let ex = run(ours, |peer| peer.send(&[Frame::close(code, "")]));
    ex.closed_cleanly(Some(code), &[]);
    assert_eq!(ex.outcome.peer_close, Some(Some((code, String::new()))));
}

/// 7.9.x, 7.13.x: the code may not be sent on the wire.
fn invalid_code_fails_with_1002(ours: Ours, code: u16) {
    let ex = fails_with(ours, PROTOCOL_ERROR, &[Frame::close(code, "")]);
    assert_eq!(
        ex.outcome.error,
        Some(WsError::Frame(FrameError::InvalidCloseCode(code)))
    );
    assert_eq!(ex.outcome.peer_close, None);
}

macro_rules! close_codes {
    ($check:ident: $($name:ident = $code:expr;)*) => {
        $(case! { $name(ours) { $check(ours, $code) } })*
    };
}

close_codes! { valid_code_is_echoed:
    a_close_with_code_1000_is_echoed = 1000;
    a_close_with_code_1001_is_echoed = 1001;
    a_close_with_code_1002_is_echoed = 1002;
    a_close_with_code_1003_is_echoed = 1003;
    a_close_with_code_1007_is_echoed = 1007;
    a_close_with_code_1008_is_echoed = 1008;
    a_close_with_code_1009_is_echoed = 1009;
    a_close_with_code_1010_is_echoed = 1010;
    a_close_with_code_1011_is_echoed = 1011;
    a_close_with_code_1012_is_echoed = 1012;
    a_close_with_code_1013_is_echoed = 1013;
    a_close_with_code_1014_is_echoed = 1014;
    a_close_with_code_3000_is_echoed = 3000;
    a_close_with_code_3999_is_echoed = 3999;
    a_close_with_code_4000_is_echoed = 4000;
    a_close_with_code_4999_is_echoed = 4999;
}

close_codes! { invalid_code_fails_with_1002:
    a_close_with_code_0_fails_with_1002 = 0;
    a_close_with_code_999_fails_with_1002 = 999;
    a_close_with_code_1004_fails_with_1002 = 1004;
    a_close_with_code_1005_fails_with_1002 = 1005;
    a_close_with_code_1006_fails_with_1002 = 1006;
    a_close_with_code_1015_fails_with_1002 = 1015;
    a_close_with_code_1016_fails_with_1002 = 1016;
    a_close_with_code_1100_fails_with_1002 = 1100;
    a_close_with_code_2000_fails_with_1002 = 2000;
    a_close_with_code_2999_fails_with_1002 = 2999;
    a_close_with_code_5000_fails_with_1002 = 5000;
    a_close_with_code_65535_fails_with_1002 = 65535;
}

// ---------------------------------------------------------------------------------------------
// 9 Limits

/// Sends one message of `len` bytes in frames of `frame` bytes (from a background writer in
/// writes of `chop` bytes), then a close; expects the echo.
fn echo_large(ours: Ours, opcode: u8, len: usize, frame: usize, chop: usize) -> Exchange {
    let data = payload(opcode, len);
    let ex = run(ours, |peer| {
        let pieces: Vec<&[u8]> = if data.is_empty() {
            vec![&[][..]]
        } else {
            data.chunks(frame).collect()
        };
        let n = pieces.len();
        let frames: Vec<Frame> = pieces
            .iter()
            .enumerate()
            .map(|(i, p)| Frame::new(if i == 0 { opcode } else { CONT }, p).fin(i + 1 == n))
            .collect();
        let bytes = peer.wire(&frames);
        peer.send_in_background(bytes, chop);
        peer.close_after(1);
    });
    ex.echoed(&[(opcode, data.clone())]);
    ex
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

case! {
    /// 9.1.1
    a_64_kib_text_message_in_one_frame_is_echoed(ours) { echo_large(ours, TEXT, 64 * KIB, usize::MAX, 64 * KIB); }
}
case! {
    /// 9.1.2
    a_256_kib_text_message_in_one_frame_is_echoed(ours) { echo_large(ours, TEXT, 256 * KIB, usize::MAX, 64 * KIB); }
}
case! {
    /// 9.1.3
    a_1_mib_text_message_in_one_frame_is_echoed(ours) { echo_large(ours, TEXT, MIB, usize::MAX, 64 * KIB); }
}
case! {
    /// 9.1.4
    a_4_mib_text_message_in_one_frame_is_echoed(ours) { echo_large(ours, TEXT, 4 * MIB, usize::MAX, 64 * KIB); }
}
case! {
    /// 9.1.6: the default maximum message size exactly.
    a_16_mib_text_message_in_one_frame_is_echoed(ours) { echo_large(ours, TEXT, 16 * MIB, usize::MAX, 256 * KIB); }
}
case! {
    /// 9.2.1
    a_64_kib_binary_message_in_one_frame_is_echoed(ours) { echo_large(ours, BINARY, 64 * KIB, usize::MAX, 64 * KIB); }
}
case! {
    /// 9.2.3
    a_1_mib_binary_message_in_one_frame_is_echoed(ours) { echo_large(ours, BINARY, MIB, usize::MAX, 64 * KIB); }
}
case! {
    /// 9.2.4
    a_4_mib_binary_message_in_one_frame_is_echoed(ours) { echo_large(ours, BINARY, 4 * MIB, usize::MAX, 64 * KIB); }
}
case! {
    /// 9.2.6
    a_16_mib_binary_message_in_one_frame_is_echoed(ours) { echo_large(ours, BINARY, 16 * MIB, usize::MAX, 256 * KIB); }
}
case! {
    /// 9.3.1
    a_4_mib_text_message_in_64_byte_frames_is_echoed(ours) { echo_large(ours, TEXT, 4 * MIB, 64, 64 * KIB); }
}
case! {
    /// 9.3.3
    a_4_mib_text_message_in_1_kib_frames_is_echoed(ours) { echo_large(ours, TEXT, 4 * MIB, KIB, 64 * KIB); }
}
case! {
    /// 9.3.5
    a_4_mib_text_message_in_16_kib_frames_is_echoed(ours) { echo_large(ours, TEXT, 4 * MIB, 16 * KIB, 64 * KIB); }
}
case! {
    /// 9.3.7
    a_4_mib_text_message_in_256_kib_frames_is_echoed(ours) { echo_large(ours, TEXT, 4 * MIB, 256 * KIB, 64 * KIB); }
}
case! {
    /// 9.3.8
    a_4_mib_text_message_in_1_mib_frames_is_echoed(ours) { echo_large(ours, TEXT, 4 * MIB, MIB, 64 * KIB); }
}
case! {
    /// 9.4.2
    a_4_mib_binary_message_in_256_byte_frames_is_echoed(ours) { echo_large(ours, BINARY, 4 * MIB, 256, 64 * KIB); }
}
case! {
    /// 9.4.4
    a_4_mib_binary_message_in_4_kib_frames_is_echoed(ours) { echo_large(ours, BINARY, 4 * MIB, 4 * KIB, 64 * KIB); }
}
case! {
    /// 9.4.6
    a_4_mib_binary_message_in_64_kib_frames_is_echoed(ours) { echo_large(ours, BINARY, 4 * MIB, 64 * KIB, 64 * KIB); }
}
case! {
    /// 9.5.1
    a_1_mib_text_message_sent_in_64_byte_writes_is_echoed(ours) { echo_large(ours, TEXT, MIB, usize::MAX, 64); }
}
case! {
    /// 9.6.3
    a_1_mib_binary_message_sent_in_997_byte_writes_is_echoed(ours) { echo_large(ours, BINARY, MIB, usize::MAX, 997); }
}

/// 9.7, 9.8: `n` messages of `len` bytes in one go, echoed in order.
fn many_messages(ours: Ours, opcode: u8, n: usize, len: usize) {
    let messages: Vec<(u8, Vec<u8>)> = (0..n)
        .map(|i| {
            let mut data = payload(opcode, len);
            if len >= 4 {
                data[..4].copy_from_slice(format!("{:04}", i % 10_000).as_bytes());
            }
            (opcode, data)
        })
        .collect();
    let ex = run(ours, |peer| {
        let frames: Vec<Frame> = messages.iter().map(|(op, d)| Frame::new(*op, d)).collect();
        let bytes = peer.wire(&frames);
        peer.send_in_background(bytes, 64 * KIB);
        peer.close_after(n);
    });
    ex.echoed(&messages);
}

case! {
    /// 9.7.1
    a_thousand_empty_text_messages_are_echoed_in_order(ours) { many_messages(ours, TEXT, 1000, 0) }
}
case! {
    /// 9.7.2
    a_thousand_16_byte_text_messages_are_echoed_in_order(ours) { many_messages(ours, TEXT, 1000, 16) }
}
case! {
    /// 9.7.4
    a_thousand_256_byte_text_messages_are_echoed_in_order(ours) { many_messages(ours, TEXT, 1000, 256) }
}
case! {
    /// 9.8.6
    a_thousand_4_kib_binary_messages_are_echoed_in_order(ours) { many_messages(ours, BINARY, 1000, 4 * KIB) }
}

fn small_max() -> WsConfig {
    WsConfig {
        max_message: 64 * KIB,
        ..WsConfig::default()
    }
}

case! {
    a_message_of_exactly_the_maximum_size_is_echoed(ours) {
        let data = payload(BINARY, 64 * KIB);
        let ex = run_with(ours, small_max(), |peer| {
            peer.send(&[Frame::binary(&data)]);
            peer.close_after(1);
        });
        ex.echoed(&[binary(&data)]);
    }
}
case! {
    a_frame_announcing_one_byte_over_the_maximum_fails_with_1009_before_its_payload(ours) {
        let ex = run_with(ours, small_max(), |peer| {
            let mut frame = Frame::binary("");
            if peer.is_client {
                frame = frame.masked([9, 9, 9, 9]);
            }
            peer.send_raw(&frame.header_as(LenForm::Minimal, 64 * KIB as u64 + 1));
        });
        ex.failed(MESSAGE_TOO_BIG, &[]);
        assert_eq!(ex.outcome.error, Some(WsError::MessageTooBig));
    }
}
case! {
    a_fragmented_message_growing_past_the_maximum_fails_with_1009(ours) {
        let half = payload(TEXT, 32 * KIB);
        let ex = run_with(ours, small_max(), |peer| {
            peer.send(&[Frame::text(&half).fin(false), Frame::cont(&half).fin(false)]);
            thread_sleep(PAUSE);
            peer.send(&[Frame::cont("x")]);
        });
        ex.failed(MESSAGE_TOO_BIG, &[]);
        // What had arrived within the limit may have been echoed as an unfinished message.
        if let Some((op, data)) = &ex.t.unfinished {
            assert_eq!(*op, TEXT);
            assert!(data.len() <= 64 * KIB);
        }
    }
}
case! {
    the_incoming_message_buffer_stays_within_its_limit_while_16_mib_stream_through(ours) {
        let ex = echo_large(ours, BINARY, 16 * MIB, usize::MAX, 256 * KIB);
        assert!(ex.outcome.msg_high_water <= pipebuf::PipeBuf::<u8>::DEFAULT_MAX_CAPACITY);
    }
}

// ---------------------------------------------------------------------------------------------
// 10 Our sender

case! {
    /// 10.1.1
    a_64_kib_message_in_1300_byte_frames_is_echoed(ours) {
        echo_large(ours, TEXT, 64 * KIB, 1300, 64 * KIB);
    }
}
case! {
    a_message_larger_than_the_buffers_is_sent_back_in_several_well_formed_frames(ours) {
        let ex = echo_large(ours, BINARY, 2 * MIB, usize::MAX, 64 * KIB);
        assert!(
            ex.t.frames_per_message[0] > 1,
            "2 MiB through 256 KiB buffers in one frame"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Masking by role, length forms, a vanishing peer

#[test]
fn an_unmasked_frame_from_a_client_fails_our_server_with_1002() {
    let ex = run(Ours::Server, |peer| {
        peer.send_raw(&Frame::text("unmasked").encode())
    });
    ex.failed(PROTOCOL_ERROR, &[]);
    assert_eq!(ex.outcome.error, Some(WsError::Masking));
}

#[test]
fn a_masked_frame_from_a_server_fails_our_client_with_1002() {
    let ex = run(Ours::Client, |peer| {
        peer.send_raw(&Frame::text("masked").masked([1, 2, 3, 4]).encode());
    });
    ex.failed(PROTOCOL_ERROR, &[]);
    assert_eq!(ex.outcome.error, Some(WsError::Masking));
}

#[test]
fn a_masked_ping_from_a_server_fails_our_client_unanswered() {
    let ex = run(Ours::Client, |peer| {
        peer.send_raw(&Frame::ping("masked").masked([1, 2, 3, 4]).encode());
    });
    ex.failed(PROTOCOL_ERROR, &[]);
    assert!(ex.t.pongs.is_empty());
}

case! {
    lengths_written_in_longer_forms_than_needed_are_accepted(ours) {
        let ex = run(ours, |peer| {
            let mut bytes = Vec::new();
            for (form, data) in [(LenForm::Ext16, "five!"), (LenForm::Ext64, "six!!!"), (LenForm::Ext64, "")] {
                let mut frame = Frame::text(data);
                if peer.is_client {
                    frame = frame.masked(key_for(7));
                }
                bytes.extend_from_slice(&frame.encode_as(form));
            }
            peer.send_raw(&bytes);
            peer.close_after(3);
        });
        ex.echoed(&[text("five!"), text("six!!!"), text("")]);
    }
}
case! {
    a_64_bit_length_with_its_top_bit_set_fails_with_1002(ours) {
        let ex = run(ours, |peer| {
            let mut frame = Frame::binary("");
            if peer.is_client {
                frame = frame.masked([1, 1, 1, 1]);
            }
            peer.send_raw(&frame.header_as(LenForm::Ext64, 1 << 63));
        });
        ex.failed(PROTOCOL_ERROR, &[]);
        assert_eq!(ex.outcome.error, Some(WsError::Frame(FrameError::LengthTopBitSet)));
    }
}
case! {
    a_peer_that_ends_tcp_without_a_close_frame_is_an_abort(ours) {
        let mut session = Session::start(ours, WsConfig::default());
        session.peer.send(&[Frame::text("last words")]);
        session.peer.wait_messages(1);
        let outcome = session.finish();
        assert!(!outcome.timed_out, "{outcome:?}");
        assert_eq!(outcome.error, None);
        assert_eq!(outcome.peer_close, None);
        assert_eq!(outcome.app_eof, Some(EofKind::Abort));
    }
}
case! {
    a_peer_that_half_closes_after_a_message_gets_the_echo_and_our_close(ours) {
        let mut session = Session::start(ours, WsConfig::default());
        session.peer.send(&[Frame::text("then FIN")]);
        session.peer.wait_messages(1);
        session.peer.shutdown_write();
        let (t, end) = session.peer.transcript();
        let outcome = session.finish();
        assert_eq!(t.texts(), vec!["then FIN".to_string()]);
        assert_eq!(end, End::Eof);
        assert_eq!(outcome.app_eof, Some(EofKind::Abort));
        assert!(!outcome.timed_out, "{outcome:?}");
    }
}
