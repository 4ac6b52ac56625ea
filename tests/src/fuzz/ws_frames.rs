//! The shared body of `ws_server_frames` and `ws_client_frames`: a WebSocket fed arbitrary
//! frames from its peer, once as one piece and once cut at points the input chooses, with an
//! application that reads every record (and may echo each message).
//!
//! Checked in each run: the records the component writes for the application are well
//! formed, every chunk of a message has its kind, a complete text message is valid UTF-8 and
//! no message exceeds `max_message`; `process` reports at most one error, after which the
//! application's incoming stream has ended (aborted unless it had ended before) and the byte
//! side ends once the peer has been told; every frame the component writes parses, masked
//! exactly when it is a client; an error with a close code sends a close frame; the chain
//! settles within a bounded number of calls; the messages written to the peer are the echoes,
//! unchanged and in order. Across the two runs: the same complete messages, the same error,
//! the same end of the incoming stream, the same control frames written to the peer and the
//! same end of the byte stream.

use std::sync::OnceLock;

use pipebuf::{EofKind, PBufRd, PipeBufPair, Time};
use pipebuf_websocket::frame::{FrameHeader, OpCode, apply_mask};
use pipebuf_websocket::handshake::{
    ClientRequest, HandshakeLimits, RequestStatus, parse_request, write_accept,
};
use pipebuf_websocket::message::{CHUNK_HEADER_LEN, MessageKind, read_chunk, write_message};
use pipebuf_websocket::{WebSocket, WsConfig, WsError, accept_all};

use super::input::{Input, pieces};
use super::wire::{Wire, check_ends_after_error, first_error, settle};

/// A valid upgrade request, put before the fuzzed frames of a server unless the input asks
/// for the bare bytes.
pub(crate) const UPGRADE_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: localhost\r\n\
Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// Most fuzzed bytes used per input.
const MAX_DATA: usize = 32 * 1024;

/// The random source of fuzzed clients: a fixed xorshift stream, so that the nonce (and the
/// 101 response that matches it) is the same in every run.
fn fixed_random() -> pipebuf_websocket::RandomSource {
    let mut state: u64 = 0x853c_49e6_748f_ea9b;
    Box::new(move |out: &mut [u8]| {
        for b in out {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
    })
}

/// A client as the fuzz bodies build it.
pub(crate) fn fuzz_client(config: WsConfig) -> WebSocket {
    WebSocket::client_with_random(
        config,
        ClientRequest::new("/chat", "localhost"),
        fixed_random(),
    )
}

/// The server's 101 answer to [`fuzz_client`]'s request: made once, by running the client
/// until it has written its request and answering that with the library's server side.
pub(crate) fn accept_response() -> &'static [u8] {
    static RESPONSE: OnceLock<Vec<u8>> = OnceLock::new();
    RESPONSE.get_or_init(|| {
        let mut client = fuzz_client(WsConfig::default());
        let (mut wire, mut app) = (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
        client
            .process(Time::ZERO, wire.upper(), app.lower())
            .expect("a client writes its request");
        let request = wire.lower().rd.data().to_vec();
        let Ok(RequestStatus::Complete(req, _)) =
            parse_request(&request, &HandshakeLimits::default())
        else {
            panic!("the client's own request does not parse");
        };
        let mut out = vec![0u8; 1024];
        let n = write_accept(&req, None, &[], &mut out).expect("accept response");
        out.truncate(n);
        out
    })
}

/// Assembles the messages a WebSocket writes for its application, checking its records:
/// each well formed, every chunk of a message of that message's kind, no message over
/// `max_message`, a complete text message valid UTF-8.
pub(crate) struct Messages {
    max_message: usize,
    /// The message being assembled from records.
    partial: Option<(MessageKind, Vec<u8>)>,
}

impl Messages {
    pub(crate) fn new(max_message: usize) -> Messages {
        Messages {
            max_message,
            partial: None,
        }
    }

    /// Consumes every whole record waiting in `rd`; returns the messages they complete and
    /// how many message bytes they carried.
    pub(crate) fn read(&mut self, rd: &mut PBufRd<'_>) -> (Vec<(MessageKind, Vec<u8>)>, usize) {
        let (mut complete, mut bytes) = (Vec::new(), 0);
        loop {
            let chunk = match read_chunk(rd) {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => panic!("the component wrote a bad record: {e:?}"),
            };
            let (kind, fin, len) = (chunk.kind, chunk.fin, chunk.record_len);
            let partial = self.partial.get_or_insert_with(|| (kind, Vec::new()));
            assert_eq!(partial.0, kind, "a chunk changed its message's kind");
            partial.1.extend_from_slice(chunk.data);
            bytes += chunk.data.len();
            assert!(
                partial.1.len() <= self.max_message,
                "a message of {} bytes passed the maximum of {}",
                partial.1.len(),
                self.max_message
            );
            rd.consume(len).expect("consume a whole record");
            if fin {
                let message = self.partial.take().expect("a message in progress");
                if message.0 == MessageKind::Text {
                    assert!(
                        std::str::from_utf8(&message.1).is_ok(),
                        "a text message that is not UTF-8"
                    );
                }
                complete.push(message);
            }
        }
        (complete, bytes)
    }
}

/// After [`Messages::read`]: consumes the push and, once no data waits, the end of the
/// incoming stream into `incoming_end`; no data may follow that end.
pub(crate) fn read_end(rd: &mut PBufRd<'_>, incoming_end: &mut Option<EofKind>) {
    rd.consume_push();
    if rd.is_empty()
        && let Some(kind) = rd.consume_eof()
    {
        *incoming_end = Some(kind);
    }
    if incoming_end.is_some() {
        assert!(rd.is_empty(), "data after the end of the incoming stream");
    }
}

/// The frames a WebSocket wrote to its peer after its handshake head, each checked: whole,
/// masked exactly when a client wrote it, no reserved bits. Returns each header and its
/// unmasked payload.
pub(crate) fn own_frames(mut rest: &[u8], server: bool) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let (header, len) = match FrameHeader::parse(rest) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => panic!("the component wrote a truncated frame"),
            Err(e) => panic!("the component wrote a bad frame: {e:?}"),
        };
        assert_eq!(header.mask.is_some(), !server, "masking of our own frame");
        assert_eq!(header.rsv, 0, "reserved bits in our own frame");
        let end = len
            .checked_add(usize::try_from(header.payload_len).expect("payload length"))
            .expect("frame end");
        assert!(end <= rest.len(), "the component wrote a truncated payload");
        let mut payload = rest[len..end].to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        rest = &rest[end..];
        frames.push((header, payload));
    }
    frames
}

/// What one run of a WebSocket body saw.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Complete messages delivered to the application.
    pub(crate) messages: Vec<(MessageKind, Vec<u8>)>,
    /// The error `process` reported.
    pub(crate) error: Option<WsError>,
    /// How the application's incoming stream ended.
    pub(crate) incoming_end: Option<EofKind>,
    /// Control frames written to the peer, in order.
    pub(crate) sent_controls: Vec<(OpCode, Vec<u8>)>,
    /// How the byte stream to the peer ended.
    pub(crate) outgoing_end: Option<EofKind>,
}

/// The connection under test and what the fake application and peer have seen.
struct Run {
    server: bool,
    ws: WebSocket,
    wire: Wire,
    app: PipeBufPair,
    messages: Messages,
    echo: bool,
    /// Messages to echo that did not fit yet.
    to_echo: Vec<(MessageKind, Vec<u8>)>,
    /// Messages the application wrote back.
    echoed: Vec<(MessageKind, Vec<u8>)>,
    /// Data messages written to the peer (frames joined): echoes, so they depend on when the
    /// application ran, and are only checked against what was received.
    sent_messages: Vec<(OpCode, Vec<u8>)>,
    outcome: Outcome,
    /// How the incoming stream had ended when the error came.
    end_before_error: Option<Option<EofKind>>,
    calls: usize,
}

impl Run {
    fn new(server: bool, config: WsConfig, app_limit: usize, echo: bool) -> Run {
        let ws = if server {
            WebSocket::server(config, accept_all())
        } else {
            fuzz_client(config)
        };
        Run {
            server,
            ws,
            wire: Wire::keeping(),
            app: PipeBufPair::with_limits(app_limit.min(4096), app_limit),
            messages: Messages::new(config.max_message),
            echo,
            to_echo: Vec::new(),
            echoed: Vec::new(),
            sent_messages: Vec::new(),
            outcome: Outcome::default(),
            end_before_error: None,
            calls: 0,
        }
    }

    /// Calls the component until it and the application settle.
    fn settle(&mut self, budget: usize) {
        settle(budget, || {
            self.calls += 1;
            let active = first_error(
                self.ws
                    .process(Time::ZERO, self.wire.upper(), self.app.lower()),
                &mut self.outcome.error,
                &mut self.end_before_error,
                self.outcome.incoming_end,
            );
            let app_active = self.application();
            let peer_active = self.wire.take();
            (active || app_active || peer_active, true)
        });
    }

    /// The application: reads every record, echoes whole messages if asked, closes its
    /// outgoing stream once the incoming one has closed.
    fn application(&mut self) -> bool {
        let mut app = self.app.upper();
        let before = (app.rd.tripwire(), app.wr.tripwire());
        for message in self.messages.read(&mut app.rd).0 {
            if self.echo {
                self.to_echo.push(message.clone());
            }
            self.outcome.messages.push(message);
        }
        read_end(&mut app.rd, &mut self.outcome.incoming_end);
        if self.outcome.incoming_end == Some(EofKind::Close) && !app.wr.is_eof() {
            // Echo what is still queued, then answer the close.
            for (kind, data) in self.to_echo.drain(..) {
                if write_message(&mut app.wr, kind, &data).is_ok() {
                    self.echoed.push((kind, data));
                }
            }
            app.wr.close();
        }
        while let Some((kind, data)) = self.to_echo.first() {
            if app.wr.is_eof() {
                break;
            }
            if write_message(&mut app.wr, *kind, data).is_ok() {
                self.echoed.push(self.to_echo.remove(0));
            } else if data.len() + CHUNK_HEADER_LEN > app.wr.limit() {
                // Never fits as one record: not echoed.
                self.to_echo.remove(0);
            } else {
                break;
            }
        }
        if app.wr.is_eof() {
            self.to_echo.clear();
        }
        before != (app.rd.tripwire(), app.wr.tripwire())
    }

    /// Feeds `piece` from the peer, then settles.
    fn feed(&mut self, piece: &[u8]) {
        self.wire.feed(piece);
        self.settle(4 * piece.len() + 64);
    }

    /// Ends the peer's byte stream (if asked), settles, and checks what was written.
    fn finish(mut self, end: Option<EofKind>) -> Outcome {
        self.wire.end(end);
        self.settle(4 * self.wire.out.len() + 256);
        self.outcome.outgoing_end = self.wire.ended;
        check_ends_after_error(
            &self.outcome.error,
            self.end_before_error,
            self.outcome.incoming_end,
            self.outcome.outgoing_end,
        );
        self.parse_output();
        // What went out are the application's echoes, in order, each unchanged.
        assert!(
            self.sent_messages.len() <= self.echoed.len(),
            "more messages sent than echoed"
        );
        for ((op, data), (kind, received)) in self.sent_messages.iter().zip(&self.echoed) {
            let expected = match kind {
                MessageKind::Text => OpCode::Text,
                MessageKind::Binary => OpCode::Binary,
            };
            assert_eq!((*op, data), (expected, received), "an echo differs");
        }
        self.outcome
    }

    /// Splits what was written into the handshake head and frames, checking each frame.
    fn parse_output(&mut self) {
        let out = &self.wire.out;
        let Some(head_end) = out.windows(4).position(|w| w == b"\r\n\r\n") else {
            return;
        };
        // A server's frames follow its 101 answer (none follow a refusal); a client's
        // follow its request once the answer came.
        if self.server && !out.starts_with(b"HTTP/1.1 101 ") {
            return;
        }
        let mut message: Option<(OpCode, Vec<u8>)> = None;
        for (header, payload) in own_frames(&out[head_end + 4..], self.server) {
            if header.opcode.is_control() {
                self.outcome.sent_controls.push((header.opcode, payload));
                continue;
            }
            match (&mut message, header.opcode) {
                (None, OpCode::Text | OpCode::Binary) => message = Some((header.opcode, payload)),
                (Some(m), OpCode::Continuation) => m.1.extend_from_slice(&payload),
                _ => panic!("the component fragmented wrongly: {:?}", header.opcode),
            }
            if header.fin {
                self.sent_messages.push(message.take().expect("a message"));
            }
        }
        if let Some(code) = self.outcome.error.as_ref().and_then(WsError::close_code) {
            assert!(
                self.outcome
                    .sent_controls
                    .iter()
                    .any(|(op, _)| *op == OpCode::Close),
                "an error with close code {code} sent no close frame"
            );
        }
    }
}

/// Runs one input against a server (`server`) or a client.
pub(crate) fn run(data: &[u8], server: bool) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let max_message = [125, 1024, 64 * 1024][usize::from(flags % 3)];
    let app_limit = [64, 1024, 256 * 1024][usize::from(flags / 3 % 3)];
    let end = [None, Some(EofKind::Close), Some(EofKind::Abort)][usize::from(flags / 9 % 3)];
    let echo = flags / 27 % 2 == 1;
    let bare = flags / 54 % 4 == 3;
    let choice_count = input.below(16);
    let choices = input.take(choice_count);
    let frames = input.rest();
    let frames = &frames[..frames.len().min(MAX_DATA)];

    let mut stream = Vec::with_capacity(frames.len() + 256);
    if !bare {
        if server {
            stream.extend_from_slice(UPGRADE_REQUEST);
        } else {
            stream.extend_from_slice(accept_response());
        }
    }
    stream.extend_from_slice(frames);

    let config = WsConfig {
        max_message,
        ..WsConfig::default()
    };
    let mut whole = Run::new(server, config, app_limit, echo);
    whole.feed(&stream);
    let whole = whole.finish(end);

    let mut split = Run::new(server, config, app_limit, echo);
    for piece in pieces(&stream, &mut Input::new(choices)) {
        split.feed(piece);
    }
    let split = split.finish(end);
    assert_eq!(whole, split, "one piece and many pieces differ");
}
