//! A whole server stack with TLS off, `Stack<Option<Tls>, WebSocket>` with `None` (what a
//! `ws://` endpoint runs), fed arbitrary bytes from its peer while the application sends,
//! pings, closes or aborts, and the clock moves on (keepalive, idle, handshake and close
//! timeouts are short and chosen by the input).
//!
//! Checked: every step settles within a bounded number of calls, and once settled the
//! stack's next deadline lies in the future (a driver that waits for it does not spin); the
//! stack reports at most one error, after which the application's incoming stream is
//! aborted (unless it had ended) and the byte stream to the peer ends; the records it writes
//! for the application are well formed and a complete text message is UTF-8; a peer that
//! aborts before its close frame is an abort for the application, never a close; and once
//! the peer has ended and every timeout has passed, both the byte stream to the peer and the
//! application's incoming stream have ended.

use std::time::Duration;

use pipebuf::{EofKind, Layer, PipeBufPair, Stack, Time};
use pipebuf_rustls::Tls;
use pipebuf_websocket::message::{MessageKind, write_close, write_message, write_ping};
use pipebuf_websocket::{WebSocket, WsConfig, accept_all};

use super::input::Input;
use super::wire::{Wire, check_ends_after_error, first_error, settle};
use super::ws_frames::{Messages, UPGRADE_REQUEST};

/// Most operations per input.
const MAX_OPS: usize = 300;
/// Most `process` calls for one settle.
const SETTLE: usize = 1000;

type WsStack = Stack<Option<Tls>, WebSocket>;

struct Harness {
    stack: WsStack,
    net: Wire,
    app: PipeBufPair,
    now: Time,
    /// The error the stack reported.
    error: Option<String>,
    incoming_end: Option<EofKind>,
    end_before_error: Option<Option<EofKind>>,
    /// How the peer ended its bytes, and how the application's stream stood then.
    peer_end: Option<(EofKind, Option<EofKind>)>,
    messages: Messages,
}

impl Harness {
    fn settle(&mut self) {
        settle(SETTLE, || {
            let active = first_error(
                self.stack
                    .process(self.now, self.net.upper(), self.app.lower())
                    .map_err(|e| format!("{e:?}")),
                &mut self.error,
                &mut self.end_before_error,
                self.incoming_end,
            );
            let read = self.read();
            (active || read, true)
        });
        if let Some(deadline) = self.stack.next_deadline() {
            assert!(
                deadline > self.now,
                "settled at {:?} with a deadline at {deadline:?}: {:?}, {:?}, {:?}, {:?}",
                self.now,
                self.stack.upper(),
                self.stack.pair(),
                self.net.pair,
                self.app
            );
        }
    }

    /// The application reads its records; the peer takes every byte.
    fn read(&mut self) -> bool {
        let mut app = self.app.upper();
        let before = app.rd.tripwire();
        self.messages.read(&mut app.rd);
        app.rd.consume_push();
        if let Some(kind) = app.rd.consume_eof() {
            self.incoming_end = Some(kind);
        }
        let app_active = before != app.rd.tripwire();
        let peer_active = self.net.take();
        app_active || peer_active
    }

    fn peer_ends(&mut self, kind: EofKind) {
        if self.net.end(Some(kind)) {
            self.peer_end = Some((kind, self.incoming_end));
        }
    }
}

/// Runs one input; panics if an invariant breaks.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let ms = |n: usize| Duration::from_millis(n as u64);
    let config = WsConfig {
        max_message: [125, 4096, 1 << 20][usize::from(flags % 3)],
        handshake_timeout: ms(50 + 50 * input.below(4)),
        keepalive: (flags & 4 != 0).then(|| ms(20 + 20 * input.below(8))),
        idle_timeout: (flags & 8 != 0).then(|| ms(50 + 50 * input.below(8))),
        close_timeout: ms(20 + 20 * input.below(8)),
        ..WsConfig::default()
    };
    let app_limit = [64, 1024, 64 * 1024][usize::from(flags / 16 % 3)];
    let mut h = Harness {
        stack: Stack::new(None, WebSocket::server(config, accept_all())),
        net: Wire::new(),
        app: PipeBufPair::with_limits(app_limit.min(4096), app_limit),
        now: Time::ZERO,
        error: None,
        incoming_end: None,
        end_before_error: None,
        peer_end: None,
        messages: Messages::new(usize::MAX),
    };
    if flags & 64 == 0 {
        h.net.feed(UPGRADE_REQUEST);
    }
    h.settle();
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        match input.below(12) {
            0..=3 => {
                let n = input.below(64);
                h.net.feed(input.take(n));
            }
            4 => h.peer_ends(EofKind::Close),
            5 => h.peer_ends(EofKind::Abort),
            6 | 7 => {
                let n = input.below(200);
                let kind = if input.bool() {
                    MessageKind::Binary
                } else {
                    MessageKind::Text
                };
                let text: String = input.take(n).iter().map(|&b| char::from(b % 128)).collect();
                let mut app = h.app.upper();
                if !app.wr.is_eof() {
                    let _ = write_message(&mut app.wr, kind, text.as_bytes());
                }
            }
            8 => {
                let n = input.below(130);
                let payload = input.take(n);
                let mut app = h.app.upper();
                if !app.wr.is_eof() {
                    let _ = write_ping(&mut app.wr, payload);
                }
            }
            9 => {
                let code = [1000, 1001, 1011, 4000, 999, 1005][input.below(6)];
                let mut app = h.app.upper();
                if !app.wr.is_eof() {
                    if input.bool() {
                        let _ = write_close(&mut app.wr, code, "bye");
                        app.wr.close();
                    } else {
                        app.wr.abort();
                    }
                }
            }
            _ => h.now += ms(input.below(100)),
        }
        h.settle();
    }
    // The peer leaves and time passes: everything must end.
    h.peer_ends(EofKind::Close);
    for _ in 0..4 {
        h.now += Duration::from_secs(30);
        h.settle();
    }
    if h.stack.upper().is_plain_http() {
        // Left for the application to serve, as documented: the stack does nothing more.
        return;
    }
    assert!(
        h.net.ended.is_some(),
        "the byte stream to the peer never ended: {:?}, {:?}",
        h.stack.upper(),
        h.net.pair
    );
    assert!(
        h.incoming_end.is_some(),
        "the application's incoming stream never ended: {:?}, {:?}",
        h.stack.upper(),
        h.app
    );
    check_ends_after_error(&h.error, h.end_before_error, h.incoming_end, h.net.ended);
    if let Some((EofKind::Abort, None)) = h.peer_end {
        assert_eq!(
            h.incoming_end,
            Some(EofKind::Abort),
            "the peer's abort reached the application as a close"
        );
    }
}
