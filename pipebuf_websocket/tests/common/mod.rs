//! Shared helpers for the `pipebuf_websocket` integration tests.
//!
//! - An independent oracle for the wire format: [`Frame`] encodes and parses RFC 6455
//!   frames without the crate's own frame layer, so a bug there cannot hide itself, and
//!   [`Transcript`] checks a stream of frames against the sender's rules (masking,
//!   fragmentation order, control frames) while collecting what it carried.
//! - The opening handshake as raw bytes (RFC 6455's sample key).
//! - [`Endpoint`]: one `WebSocket` with its byte pair and message pair, stepped in memory.
//! - [`Pair`]: our client ⇄ our server over an in-memory wire delivered whole, byte by byte
//!   or in seeded random chunks, with a fake clock and a tap of every byte delivered.
//! - [`loopback`]: the component in a thread over a real TCP connection on 127.0.0.1, with
//!   the test thread as the raw peer (the conformance suite).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code, unreachable_pub)]

pub mod loopback;

use std::collections::VecDeque;
use std::time::Duration;

use pipebuf::{EofKind, PipeBuf, PipeBufPair};
use pipebuf_websocket::handshake::ClientRequest;
use pipebuf_websocket::message::{MessageKind, read_chunk, write_chunk, write_message};
use pipebuf_websocket::{WebSocket, WsConfig, WsError, accept_all};

// ---------------------------------------------------------------------------------------------
// Opcodes and close codes (wire values, written out rather than taken from the crate)

pub const CONT: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

pub const NORMAL: u16 = 1000;
pub const GOING_AWAY: u16 = 1001;
pub const PROTOCOL_ERROR: u16 = 1002;
pub const INVALID_PAYLOAD: u16 = 1007;
pub const MESSAGE_TOO_BIG: u16 = 1009;
pub const INTERNAL_ERROR: u16 = 1011;

// ---------------------------------------------------------------------------------------------
// Frames

/// How a frame's payload length is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LenForm {
    /// The shortest form (what a conforming sender writes).
    Minimal,
    /// The 16-bit extended form, whatever the length.
    Ext16,
    /// The 64-bit extended form, whatever the length.
    Ext64,
}

/// One frame as on the wire, with its payload unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    /// RSV1 = 0b100, RSV2 = 0b010, RSV3 = 0b001.
    pub rsv: u8,
    /// Any four-bit value, reserved ones included.
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub payload: Vec<u8>,
}

impl Frame {
    /// A final, unmasked frame.
    pub fn new(opcode: u8, payload: impl AsRef<[u8]>) -> Frame {
        Frame {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload: payload.as_ref().to_vec(),
        }
    }

    pub fn text(payload: impl AsRef<[u8]>) -> Frame {
        Frame::new(TEXT, payload)
    }

    pub fn binary(payload: impl AsRef<[u8]>) -> Frame {
        Frame::new(BINARY, payload)
    }

    pub fn cont(payload: impl AsRef<[u8]>) -> Frame {
        Frame::new(CONT, payload)
    }

    pub fn ping(payload: impl AsRef<[u8]>) -> Frame {
        Frame::new(PING, payload)
    }

    pub fn pong(payload: impl AsRef<[u8]>) -> Frame {
        Frame::new(PONG, payload)
    }

    /// A close frame with a status code and a reason.
    pub fn close(code: u16, reason: impl AsRef<[u8]>) -> Frame {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_ref());
        Frame::new(CLOSE, payload)
    }

    /// A close frame without a status code.
    pub fn close_empty() -> Frame {
        Frame::new(CLOSE, [])
    }

    /// The same frame with FIN set as given.
    pub fn fin(mut self, fin: bool) -> Frame {
        self.fin = fin;
        self
    }

    /// The same frame with these RSV bits.
    pub fn rsv(mut self, rsv: u8) -> Frame {
        self.rsv = rsv;
        self
    }

    /// The same frame masked with `key`.
    pub fn masked(mut self, key: [u8; 4]) -> Frame {
        self.mask = Some(key);
        self
    }

    /// The close status code, if this is a close frame with one.
    pub fn close_code(&self) -> Option<u16> {
        match (self.opcode, self.payload.as_slice()) {
            (CLOSE, [hi, lo, ..]) => Some(u16::from_be_bytes([*hi, *lo])),
            _ => None,
        }
    }

    /// The wire bytes, length in the minimal form.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_as(LenForm::Minimal)
    }

    /// The wire bytes with the length written in `form`.
    pub fn encode_as(&self, form: LenForm) -> Vec<u8> {
        let mut out = self.header_as(form, self.payload.len() as u64);
        let start = out.len();
        out.extend_from_slice(&self.payload);
        if let Some(key) = self.mask {
            mask_bytes(&mut out[start..], key, 0);
        }
        out
    }

    /// Just the header, announcing `len` payload bytes (which need not follow).
    pub fn header_as(&self, form: LenForm, len: u64) -> Vec<u8> {
        let mut out =
            vec![(u8::from(self.fin) << 7) | ((self.rsv & 7) << 4) | (self.opcode & 0x0F)];
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let form = match form {
            LenForm::Minimal if len <= 125 => None,
            LenForm::Minimal if len <= 0xFFFF => Some(LenForm::Ext16),
            LenForm::Minimal => Some(LenForm::Ext64),
            other => Some(other),
        };
        match form {
            None => out.push(mask_bit | len as u8),
            Some(LenForm::Ext16) => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            Some(_) => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
        }
        out
    }
}

/// XORs `buf` with `key`, `buf[0]` being payload byte number `offset`.
pub fn mask_bytes(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(offset + i) % 4];
    }
}

/// Parses the frame at the start of `buf`: the frame (payload unmasked) and its length on
/// the wire, or `None` if it is not complete. Takes any field value, legal or not.
pub fn parse_frame(buf: &[u8]) -> Option<(Frame, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, mut at) = match b1 & 0x7F {
        126 => (
            u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => (u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?), 10),
        n => (u64::from(n), 2),
    };
    let mask = if b1 & 0x80 != 0 {
        let key: [u8; 4] = buf.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(key)
    } else {
        None
    };
    let end = at.checked_add(usize::try_from(len).ok()?)?;
    let mut payload = buf.get(at..end)?.to_vec();
    if let Some(key) = mask {
        mask_bytes(&mut payload, key, 0);
    }
    let frame = Frame {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 7,
        opcode: b0 & 0x0F,
        mask,
        payload,
    };
    Some((frame, end))
}

/// Every complete frame in `buf`, and how many bytes they took.
pub fn parse_frames(buf: &[u8]) -> (Vec<Frame>, usize) {
    let mut frames = Vec::new();
    let mut at = 0;
    while let Some((frame, n)) = parse_frame(&buf[at..]) {
        frames.push(frame);
        at += n;
    }
    (frames, at)
}

/// Splits `bytes` into `(head, rest)` after the first empty line, if there is one.
pub fn split_head(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    Some(bytes.split_at(end))
}

// ---------------------------------------------------------------------------------------------
// What a stream of frames from one of our endpoints carried

/// The frames one of our endpoints sent, checked against the sender's rules of RFC 6455
/// and sorted into what they carried.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// Complete data messages: opcode (TEXT or BINARY) and payload.
    pub messages: Vec<(u8, Vec<u8>)>,
    /// A data message whose last frame never came (the close interrupted it).
    pub unfinished: Option<(u8, Vec<u8>)>,
    /// Data frames (the first and the continuations) per complete message.
    pub frames_per_message: Vec<usize>,
    pub pings: Vec<Vec<u8>>,
    pub pongs: Vec<Vec<u8>>,
    /// The close frame's payload.
    pub close: Option<Vec<u8>>,
    /// Frames after the close frame (a sender must not send any).
    pub after_close: usize,
}

impl Transcript {
    /// Adds one frame sent by an endpoint that masks (`masked`: a client) or does not.
    /// Panics where the sender broke a rule.
    pub fn add(&mut self, frame: Frame, masked: bool) {
        assert_eq!(
            frame.mask.is_some(),
            masked,
            "frame masking does not match the sender's role: {frame:?}"
        );
        assert_eq!(frame.rsv, 0, "RSV bits set on a sent frame: {frame:?}");
        if self.close.is_some() {
            self.after_close += 1;
            return;
        }
        match frame.opcode {
            TEXT | BINARY => {
                assert!(
                    self.unfinished.is_none(),
                    "a new data message inside an unfinished one"
                );
                self.unfinished = Some((frame.opcode, frame.payload));
                self.frames_per_message.push(1);
            }
            CONT => {
                let Some((_, data)) = &mut self.unfinished else {
                    panic!("a continuation frame outside a message");
                };
                data.extend_from_slice(&frame.payload);
                if let Some(n) = self.frames_per_message.last_mut() {
                    *n += 1;
                }
            }
            PING | PONG | CLOSE => {
                assert!(frame.fin, "a fragmented control frame was sent");
                assert!(frame.payload.len() <= 125, "a control frame over 125 bytes");
                match frame.opcode {
                    PING => self.pings.push(frame.payload),
                    PONG => self.pongs.push(frame.payload),
                    _ => self.close = Some(frame.payload),
                }
                return;
            }
            other => panic!("a frame with a reserved opcode {other:#x} was sent"),
        }
        if frame.fin
            && let Some(message) = self.unfinished.take()
        {
            self.messages.push(message);
        }
    }

    /// The close frame's status code (`None`: no close frame, or one without a code).
    pub fn close_code(&self) -> Option<u16> {
        match self.close.as_deref() {
            Some([hi, lo, ..]) => Some(u16::from_be_bytes([*hi, *lo])),
            _ => None,
        }
    }

    /// The close frame's reason.
    pub fn close_reason(&self) -> Option<&[u8]> {
        self.close.as_deref().and_then(|p| p.get(2..))
    }

    /// The text messages, as strings.
    pub fn texts(&self) -> Vec<String> {
        self.messages
            .iter()
            .map(|(op, data)| {
                assert_eq!(*op, TEXT, "not a text message");
                String::from_utf8(data.clone()).expect("text message is UTF-8")
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The opening handshake as raw bytes

/// The sample key of RFC 6455 §1.3 and its accept value.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A valid upgrade request for `/` with `key` and any `extra` header lines (each ending in
/// CRLF).
pub fn request_with(key: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// A valid upgrade request with the sample key.
pub fn request() -> Vec<u8> {
    request_with(KEY, "")
}

/// The HTTP status of a response head, if it starts like one.
pub fn status_of(response: &[u8]) -> Option<u16> {
    let line = response.strip_prefix(b"HTTP/1.1 ")?;
    std::str::from_utf8(line.get(..3)?).ok()?.parse().ok()
}

/// A 101 response accepting a client that sent `key`, computed with the crate's server-side
/// handshake from the request bytes.
pub fn accept_response(request: &[u8]) -> Vec<u8> {
    use pipebuf_websocket::handshake::{
        HandshakeLimits, RequestStatus, parse_request, write_accept,
    };
    let RequestStatus::Complete(req, _) =
        parse_request(request, &HandshakeLimits::default()).expect("a valid request")
    else {
        panic!("not a complete upgrade request");
    };
    let mut out = vec![0u8; 1024];
    let n = write_accept(&req, None, &[], &mut out).expect("response fits");
    out.truncate(n);
    out
}

/// A fixed but varying masking key for the `n`th frame.
pub fn key_for(n: u32) -> [u8; 4] {
    (n.wrapping_mul(0x9E37_79B9) ^ 0x5A5A_1234).to_be_bytes()
}

// ---------------------------------------------------------------------------------------------
// Random numbers

/// xorshift64*: small, seeded, good enough for chunk sizes and payloads.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `1..=max`.
    pub fn chunk(&mut self, max: usize) -> usize {
        1 + (self.next() % max.max(1) as u64) as usize
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// Valid UTF-8 of exactly `n` bytes, mixing 1- to 4-byte characters.
    pub fn text(&mut self, n: usize) -> String {
        const CHARS: [char; 6] = ['a', 'Z', 'é', 'κ', '€', '𝄞'];
        let mut s = String::with_capacity(n);
        while s.len() < n {
            let c = CHARS[self.below(CHARS.len())];
            if s.len() + c.len_utf8() <= n {
                s.push(c);
            } else {
                s.push('.');
            }
        }
        s
    }
}

/// `n` bytes of printable ASCII (valid text), cheap to make for large messages.
pub fn ascii(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'a' + (i % 26) as u8).collect()
}

// ---------------------------------------------------------------------------------------------
// One endpoint in memory

/// A chunk record received by the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: MessageKind,
    pub fin: bool,
    pub data: Vec<u8>,
}

/// A `WebSocket` with its byte pair (the WebSocket takes `net.upper()`, the network
/// `net.lower()`) and its message pair (the WebSocket takes `msgs.lower()`, the application
/// `msgs.upper()`).
#[derive(Debug)]
pub struct Endpoint {
    pub ws: WebSocket,
    pub net: PipeBufPair,
    pub msgs: PipeBufPair,
    /// The clock passed to `process()`.
    pub now: pipebuf::Time,
    /// Every error `process()` returned, in order.
    pub errors: Vec<WsError>,
    /// Calls of `process()` so far.
    pub calls: usize,
    /// A client (masks what it sends) or a server.
    pub is_client: bool,
}

/// The most `process()` calls one [`Endpoint::settle`] may make.
pub const MAX_CALLS: usize = 100_000;

impl Endpoint {
    pub fn new(ws: WebSocket, is_client: bool) -> Endpoint {
        Endpoint {
            ws,
            is_client,
            net: PipeBufPair::new(),
            msgs: PipeBufPair::new(),
            now: pipebuf::Time::ZERO,
            errors: Vec::new(),
            calls: 0,
        }
    }

    pub fn server(config: WsConfig) -> Endpoint {
        Endpoint::new(WebSocket::server(config, accept_all()), false)
    }

    pub fn client(config: WsConfig) -> Endpoint {
        Endpoint::new(
            WebSocket::client(config, ClientRequest::new("/", "localhost")),
            true,
        )
    }

    /// A server that has accepted the sample request (its 101 response taken).
    pub fn open_server(config: WsConfig) -> Endpoint {
        let mut ep = Endpoint::server(config);
        ep.feed(&request());
        ep.settle();
        let response = ep.take_output();
        assert_eq!(status_of(&response), Some(101), "{response:?}");
        assert!(ep.ws.is_open());
        ep
    }

    /// A client whose request was answered with a 101 (the request taken).
    pub fn open_client(config: WsConfig) -> Endpoint {
        let mut ep = Endpoint::client(config);
        ep.settle();
        let request = ep.take_output();
        ep.feed(&accept_response(&request));
        ep.settle();
        assert!(ep.ws.is_open(), "client did not open: {:?}", ep.errors);
        ep
    }

    /// Whether this endpoint masks what it sends (a client).
    pub fn masks(&self) -> bool {
        self.is_client
    }

    /// Puts bytes on the wire towards the WebSocket, as the network would. Panics if they
    /// do not fit (use [`feed_some`](Self::feed_some) for that).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.net.lower().wr.append(bytes).expect("fed bytes fit");
    }

    /// Puts as many of `bytes` as fit on the wire; returns how many.
    pub fn feed_some(&mut self, bytes: &[u8]) -> usize {
        self.net.lower().wr.append_some(bytes).expect("wire open")
    }

    /// Frames as the peer would send them: masked with varying keys towards a server.
    pub fn peer_bytes(&self, frames: &[Frame]) -> Vec<u8> {
        let towards_server = !self.masks();
        let mut out = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            let mut frame = frame.clone();
            if towards_server && frame.mask.is_none() {
                frame.mask = Some(key_for(i as u32 + 1));
            }
            out.extend_from_slice(&frame.encode());
        }
        out
    }

    /// Feeds frames as the peer would send them.
    pub fn feed_frames(&mut self, frames: &[Frame]) {
        let bytes = self.peer_bytes(frames);
        self.feed(&bytes);
    }

    /// Ends the byte stream from the peer.
    pub fn feed_eof(&mut self, kind: EofKind) {
        let mut net = self.net.lower();
        match kind {
            EofKind::Close => net.wr.close(),
            EofKind::Abort => net.wr.abort(),
        }
    }

    /// One `process()` call; an error is recorded and counts as activity.
    pub fn process(&mut self) -> bool {
        self.calls += 1;
        match self
            .ws
            .process(self.now, self.net.upper(), self.msgs.lower())
        {
            Ok(act) => act,
            Err(e) => {
                self.errors.push(e);
                true
            }
        }
    }

    /// Calls `process()` until it reports no activity; panics after [`MAX_CALLS`].
    pub fn settle(&mut self) {
        for _ in 0..MAX_CALLS {
            if !self.process() {
                return;
            }
        }
        panic!("endpoint did not settle within {MAX_CALLS} calls: {self:?}");
    }

    /// Takes everything the WebSocket has written towards the network.
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut net = self.net.lower();
        let out = net.rd.data().to_vec();
        net.rd.consume_all();
        out
    }

    /// Takes the WebSocket's output and parses it as frames (all must be complete).
    pub fn take_frames(&mut self) -> Vec<Frame> {
        let out = self.take_output();
        let (frames, n) = parse_frames(&out);
        assert_eq!(n, out.len(), "output ends inside a frame");
        frames
    }

    /// The WebSocket's frames so far, sorted and checked (the output is taken).
    pub fn take_transcript(&mut self) -> Transcript {
        let masks = self.masks();
        let mut t = Transcript::default();
        for frame in self.take_frames() {
            t.add(frame, masks);
        }
        t
    }

    /// How the WebSocket ended its byte output so far (`None`: still open).
    pub fn net_out_eof(&self) -> Option<EofKind> {
        self.net.down.state().eof_kind()
    }

    /// How the WebSocket ended the application's incoming message stream (`None`: open).
    pub fn app_in_eof(&self) -> Option<EofKind> {
        self.msgs.up.state().eof_kind()
    }

    /// Takes every complete chunk record the application has received.
    pub fn take_records(&mut self) -> Vec<Record> {
        let mut app = self.msgs.upper();
        let mut out = Vec::new();
        while let Some(chunk) = read_chunk(&app.rd).expect("well-formed records") {
            out.push(Record {
                kind: chunk.kind,
                fin: chunk.fin,
                data: chunk.data.to_vec(),
            });
            let n = chunk.record_len;
            app.rd.consume(n).expect("record is there");
        }
        out
    }

    /// Takes the records and joins them into messages; panics on an unfinished one.
    pub fn take_messages(&mut self) -> Vec<(MessageKind, Vec<u8>)> {
        let records = self.take_records();
        let (messages, rest) = join_records(&records);
        assert!(rest.is_none(), "an unfinished message: {rest:?}");
        messages
    }

    /// The application writes a whole message.
    pub fn send_message(&mut self, kind: MessageKind, data: &[u8]) {
        write_message(&mut self.msgs.upper().wr, kind, data).expect("message fits");
    }

    /// The application closes its outgoing message stream.
    pub fn close_app(&mut self) {
        self.msgs.upper().wr.close();
    }
}

/// Joins records into messages, checking that each message keeps its kind; also returns an
/// unfinished message at the end, if any.
pub fn join_records(records: &[Record]) -> (Vec<(MessageKind, Vec<u8>)>, Option<Record>) {
    let mut messages = Vec::new();
    let mut current: Option<Record> = None;
    for r in records {
        match &mut current {
            Some(c) => {
                assert_eq!(c.kind, r.kind, "a message changed kind between chunks");
                c.data.extend_from_slice(&r.data);
            }
            None => current = Some(r.clone()),
        }
        if r.fin
            && let Some(c) = current.take()
        {
            messages.push((c.kind, c.data));
        }
    }
    (messages, current)
}

// ---------------------------------------------------------------------------------------------
// The application on each side of a pair

/// What an application does with its outgoing message stream, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A whole message: one record if it fits the buffer, else streamed in chunks.
    Message(MessageKind, Vec<u8>),
    /// One chunk of a streamed message.
    Chunk(MessageKind, bool, Vec<u8>),
    Close,
    Abort,
}

/// A scripted application: writes its `ops` as fast as the buffer allows and records what
/// it receives.
#[derive(Debug, Default)]
pub struct App {
    pub ops: VecDeque<Op>,
    /// Bytes of the front `Op::Message` already written (when streamed).
    offset: usize,
    /// Complete messages received.
    pub messages: Vec<(MessageKind, Vec<u8>)>,
    /// The message being received.
    partial: Option<(MessageKind, Vec<u8>)>,
    /// Records received.
    pub records: usize,
    pub eof: Option<EofKind>,
    /// For each push received: how many messages had been received at that moment.
    pub pushes: Vec<usize>,
    /// Reads at most this many records per step (`None`: all).
    pub read_limit: Option<usize>,
    /// Keep the outgoing stream open when the incoming one closes (by default the
    /// application closes it after its remaining operations, as most applications would).
    pub stays_open_after_peer_close: bool,
}

impl App {
    pub fn script(&mut self, ops: impl IntoIterator<Item = Op>) {
        self.ops.extend(ops);
    }

    /// The unfinished message received so far.
    pub fn partial(&self) -> Option<&(MessageKind, Vec<u8>)> {
        self.partial.as_ref()
    }

    /// One step: write what fits, read what is there. Returns activity.
    pub fn pump(&mut self, msgs: &mut PipeBufPair) -> bool {
        let mut act = false;
        let mut app = msgs.upper();
        while let Some(op) = self.ops.front() {
            match op {
                Op::Message(kind, data) => {
                    let limit = app.wr.limit();
                    if self.offset == 0 && data.len() + 5 <= limit {
                        if write_message(&mut app.wr, *kind, data).is_err() {
                            break;
                        }
                    } else {
                        // Too big for one record: stream it in chunks of a quarter buffer.
                        let n = (data.len() - self.offset).min(limit / 4);
                        let fin = self.offset + n == data.len();
                        let part = &data[self.offset..self.offset + n];
                        if write_chunk(&mut app.wr, *kind, fin, part).is_err() {
                            break;
                        }
                        act = true;
                        self.offset += n;
                        if !fin {
                            continue;
                        }
                        self.offset = 0;
                    }
                }
                Op::Chunk(kind, fin, data) => {
                    if write_chunk(&mut app.wr, *kind, *fin, data).is_err() {
                        break;
                    }
                }
                Op::Close => app.wr.close(),
                Op::Abort => app.wr.abort(),
            }
            self.ops.pop_front();
            act = true;
        }
        let mut read = 0;
        while self.read_limit.is_none_or(|limit| read < limit) {
            let Some(chunk) = read_chunk(&app.rd).expect("well-formed records") else {
                break;
            };
            let (kind, fin, n) = (chunk.kind, chunk.fin, chunk.record_len);
            let partial = self.partial.get_or_insert_with(|| (kind, Vec::new()));
            assert_eq!(partial.0, kind, "a message changed kind between chunks");
            partial.1.extend_from_slice(chunk.data);
            app.rd.consume(n).expect("record is there");
            self.records += 1;
            read += 1;
            act = true;
            if fin && let Some(m) = self.partial.take() {
                self.messages.push(m);
            }
        }
        if app.rd.is_empty() {
            if app.rd.consume_push() {
                self.pushes.push(self.messages.len());
                act = true;
            }
            if let Some(kind) = app.rd.consume_eof() {
                assert!(self.eof.is_none(), "second EOF seen");
                self.eof = Some(kind);
                if kind == EofKind::Close && !self.stays_open_after_peer_close {
                    self.ops.push_back(Op::Close);
                }
                act = true;
            }
        }
        act
    }
}

// ---------------------------------------------------------------------------------------------
// Our client ⇄ our server in memory

/// How the wire delivers bytes between the two endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Everything queued moves at once (as far as the receiving buffer takes it).
    Whole,
    /// One byte per direction per step.
    ByteByByte,
    /// A random number of bytes in `1..=max` per direction per step, from a seeded RNG.
    Random { seed: u64, max: usize },
}

/// One side of a pair: the endpoint and its application.
#[derive(Debug)]
pub struct Side {
    pub ep: Endpoint,
    pub app: App,
}

/// The client ⇄ server pair with a scheduled wire between them and a fake clock.
#[derive(Debug)]
pub struct Pair {
    pub client: Side,
    pub server: Side,
    pub schedule: Schedule,
    rng: Rng,
    /// Every byte delivered client → server and server → client.
    pub c2s: Vec<u8>,
    pub s2c: Vec<u8>,
    /// The end of stream delivered each way.
    pub c2s_eof: Option<EofKind>,
    pub s2c_eof: Option<EofKind>,
    /// While set, the wire delivers nothing (a stalled network).
    pub stalled: bool,
    pub now: pipebuf::Time,
    pub steps: usize,
    /// Largest amount of data seen in each of the eight buffers.
    pub high_water: [usize; 8],
}

/// The most steps one `settle()` may take before the pair counts as livelocked.
pub const MAX_STEPS: usize = 2_000_000;

impl Pair {
    pub fn new(client: WsConfig, server: WsConfig, schedule: Schedule) -> Pair {
        Pair::with_endpoints(Endpoint::client(client), Endpoint::server(server), schedule)
    }

    /// A pair of given endpoints (custom requests, accept callbacks, buffer limits).
    pub fn with_endpoints(client: Endpoint, server: Endpoint, schedule: Schedule) -> Pair {
        let seed = match schedule {
            Schedule::Random { seed, .. } => seed,
            _ => 1,
        };
        Pair {
            client: Side {
                ep: client,
                app: App::default(),
            },
            server: Side {
                ep: server,
                app: App::default(),
            },
            schedule,
            rng: Rng::new(seed),
            c2s: Vec::new(),
            s2c: Vec::new(),
            c2s_eof: None,
            s2c_eof: None,
            stalled: false,
            now: pipebuf::Time::ZERO,
            steps: 0,
            high_water: [0; 8],
        }
    }

    /// A pair with default configs, its handshake done.
    pub fn open(schedule: Schedule) -> Pair {
        let mut pair = Pair::new(WsConfig::default(), WsConfig::default(), schedule);
        pair.handshake();
        pair
    }

    fn chunk(&mut self) -> usize {
        match self.schedule {
            Schedule::Whole => usize::MAX,
            Schedule::ByteByByte => 1,
            Schedule::Random { max, .. } => self.rng.chunk(max),
        }
    }

    fn note_high_water(&mut self) {
        let bufs = [
            &self.client.ep.net.up,
            &self.client.ep.net.down,
            &self.client.ep.msgs.up,
            &self.client.ep.msgs.down,
            &self.server.ep.net.up,
            &self.server.ep.net.down,
            &self.server.ep.msgs.up,
            &self.server.ep.msgs.down,
        ];
        for (hw, b) in self.high_water.iter_mut().zip(bufs) {
            assert!(b.len() <= b.limit(), "buffer over its limit: {b:?}");
            assert!(b.capacity() <= b.limit(), "storage over its limit: {b:?}");
            *hw = (*hw).max(b.len());
        }
    }

    /// One step: both applications, both WebSockets, then the wire both ways.
    pub fn step(&mut self) -> bool {
        self.steps += 1;
        self.client.ep.now = self.now;
        self.server.ep.now = self.now;
        let mut act = self.client.app.pump(&mut self.client.ep.msgs);
        act |= self.server.app.pump(&mut self.server.ep.msgs);
        act |= self.client.ep.process();
        act |= self.server.ep.process();
        self.note_high_water();
        if !self.stalled {
            let k = self.chunk();
            act |= transfer(
                &mut self.client.ep.net.down,
                &mut self.server.ep.net.up,
                k,
                &mut self.c2s,
                &mut self.c2s_eof,
            );
            let k = self.chunk();
            act |= transfer(
                &mut self.server.ep.net.down,
                &mut self.client.ep.net.up,
                k,
                &mut self.s2c,
                &mut self.s2c_eof,
            );
        }
        self.note_high_water();
        act
    }

    /// Steps until a whole step does nothing; panics (livelock) after [`MAX_STEPS`].
    pub fn settle(&mut self) {
        for _ in 0..MAX_STEPS {
            if !self.step() {
                return;
            }
        }
        panic!("pair did not settle within {MAX_STEPS} steps");
    }

    /// Moves the clock on by `d` and settles.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.settle();
    }

    /// Settles the handshake and checks that it succeeded on both sides.
    pub fn handshake(&mut self) {
        self.settle();
        self.assert_no_errors();
        assert!(self.client.ep.ws.is_open(), "client not open");
        assert!(self.server.ep.ws.is_open(), "server not open");
    }

    pub fn assert_no_errors(&self) {
        assert!(
            self.client.ep.errors.is_empty() && self.server.ep.errors.is_empty(),
            "unexpected errors: client {:?}, server {:?}",
            self.client.ep.errors,
            self.server.ep.errors
        );
    }

    /// The frames the client sent so far (after its handshake request), checked.
    pub fn client_frames(&self) -> Transcript {
        transcript_of(&self.c2s, true)
    }

    /// The frames the server sent so far (after its handshake response), checked.
    pub fn server_frames(&self) -> Transcript {
        transcript_of(&self.s2c, false)
    }

    /// Whether every one of the eight buffers has had its EOF consumed.
    pub fn all_done(&self) -> bool {
        self.client.ep.net.is_done()
            && self.client.ep.msgs.is_done()
            && self.server.ep.net.is_done()
            && self.server.ep.msgs.is_done()
    }
}

/// The transcript of the frames in `bytes` after the handshake head.
fn transcript_of(bytes: &[u8], masked: bool) -> Transcript {
    let frames = split_head(bytes).map_or(&[][..], |(_, rest)| rest);
    let (frames, _) = parse_frames(frames);
    let mut t = Transcript::default();
    for f in frames {
        t.add(f, masked);
    }
    t
}

/// Moves at most `k` bytes from `src` to `dst`, then the push and EOF once `src` is empty;
/// records what moved. If `dst` has ended, what is in flight is lost.
fn transfer(
    src: &mut PipeBuf,
    dst: &mut PipeBuf,
    k: usize,
    tap: &mut Vec<u8>,
    eof: &mut Option<EofKind>,
) -> bool {
    let mut rd = src.rd();
    let mut wr = dst.wr();
    if wr.is_eof() {
        return rd.discard();
    }
    let mut act = false;
    if !rd.is_empty() {
        let n = k.min(rd.len());
        let moved = wr.append_some(&rd.data()[..n]).expect("wire open");
        tap.extend_from_slice(&rd.data()[..moved]);
        rd.consume(moved).expect("moved bytes are there");
        act |= moved > 0;
    }
    if rd.is_empty() {
        if rd.consume_push() {
            wr.push();
            act = true;
        }
        if let Some(kind) = rd.consume_eof() {
            match kind {
                EofKind::Close => wr.close(),
                EofKind::Abort => wr.abort(),
            }
            *eof = Some(kind);
            act = true;
        }
    }
    act
}
