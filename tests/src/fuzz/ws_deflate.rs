//! A WebSocket server (or, chosen by the first input byte, a client) that has negotiated
//! permessage-deflate (RFC 7692) with parameters the input picks (context takeover kept or
//! reset on either side, window bits offered or answered), fed frames from its peer: either
//! arbitrary bytes, or messages the body builds from input-chosen content, compresses with
//! its own deflate writer (stored and fixed-Huffman blocks, literals, back-references into
//! this and, with context takeover, earlier messages, long runs that inflate far past the
//! limit, sync flushes inside a message, final blocks with bytes behind them), optionally
//! corrupts or truncates, and cuts into fragments with pings between them. Each input runs
//! once as one piece and once cut at points the input chooses, under a small `max_message`.
//!
//! Checked in each run: the agreement is what RFC 7692's rules give for the offer and answer
//! (and a server's 101 names it); the records for the application are well formed, each
//! message one kind, complete text UTF-8, no message over `max_message` (inflated); the
//! message buffer never grows past its limit, however far a message inflates; `process`
//! reports at most one error, one that a peer's bytes can cause (1002, 1007 or 1009), after
//! which the incoming stream is aborted and the byte side ends, and the close frame we send
//! carries that error's code; every frame we write parses, masked exactly when we are a
//! client, RSV bits clear; calls that deliver nothing are bounded by the input's length.
//! Reference check: a message built from known content arrives as exactly that content (the
//! writer knows what its stream inflates to), and a known message that must fail fails with
//! one of the errors its content, size and wire size predict (never 1007 for bad data);
//! without an error every built message arrives.
//!
//! Across the two runs: the same messages, the same end of both streams, the same pongs, and
//! the same error, except where the cut legitimately decides between errors: miniz_oxide
//! inflates up to 32 KiB ahead of the output room it is given and, on corrupt data, reports
//! the corruption without letting out what it decoded before it. So when one run reports
//! corrupt data, the other may instead have seen that output first and reported the
//! message's size (1009) or its UTF-8 (1007); both are content errors of the same message.

use pipebuf::{EofKind, PipeBufPair, Time};
use pipebuf_websocket::deflate::{Agreed, ContextTakeover, DeflateConfig};
use pipebuf_websocket::frame::{FrameError, FrameHeader, MAX_HEADER_LEN, OpCode, apply_mask};
use pipebuf_websocket::message::MessageKind;
use pipebuf_websocket::{WebSocket, WsConfig, WsError, accept_all};

use super::input::{Input, pieces};
use super::wire::{Wire, check_ends_after_error, first_error, settle};
use super::ws_frames::{
    Messages, Outcome, UPGRADE_REQUEST, accept_response, fuzz_client, own_frames, read_end,
};

/// Most fuzzed bytes used per input in raw mode.
const MAX_DATA: usize = 32 * 1024;
/// Most messages built per input.
const MAX_MESSAGES: usize = 8;
/// A built message stops growing once its inflated content passes this: it is over every
/// `max_message` the body picks, so more content would change nothing but the run time.
const MAX_CONTENT: usize = 70_000;
/// RSV1: a compressed message's first frame.
const RSV1: u8 = 0b100;

// -------------------------------------------------------------------------------------------
// A deflate writer (RFC 1951)
//
// Written here rather than borrowed from miniz_oxide (which the receiver under test inflates
// with): what each message inflates to is then known by construction, from code that shares
// nothing with the receiver, and the input steers the stream's structure directly (block
// kinds, flushes, final blocks, distances into earlier messages).

/// Base lengths of the length codes 257..=285, and their extra bits.
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base distances of the distance codes 0..=29, and their extra bits.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Bits written least significant first, as deflate packs them.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u32,
    count: u32,
}

impl Bits {
    /// The low `n` bits of `value` (`n` at most 16).
    fn put(&mut self, value: u32, n: u32) {
        self.acc |= (value & ((1 << n) - 1)) << self.count;
        self.count += n;
        while self.count >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.count -= 8;
        }
    }

    /// A Huffman code of `len` bits: codes go most significant bit first.
    fn put_code(&mut self, code: u32, len: u32) {
        let reversed = (0..len).fold(0, |r, i| r | (((code >> i) & 1) << (len - 1 - i)));
        self.put(reversed, len);
    }

    /// Pads to a byte boundary with zeros.
    fn align(&mut self) {
        if self.count > 0 {
            self.put(0, 8 - self.count);
        }
    }
}

/// A fixed-Huffman literal/length symbol (RFC 1951 §3.2.6).
fn put_fixed(bits: &mut Bits, symbol: u32) {
    match symbol {
        0..=143 => bits.put_code(0x30 + symbol, 8),
        144..=255 => bits.put_code(0x190 + symbol - 144, 9),
        256..=279 => bits.put_code(symbol - 256, 7),
        _ => bits.put_code(0xc0 + symbol - 280, 8),
    }
}

/// The block being written.
enum Block {
    /// A stored block's bytes, written when it closes (its length goes first).
    Stored { last: bool, data: Vec<u8> },
    /// A fixed-Huffman block: its header is written, symbols follow.
    Fixed { last: bool },
}

/// One peer's compressor: writes a message's payload from literals and back-references and
/// knows what it inflates to, because it keeps the stream's output (the window) itself.
struct Deflater {
    /// Largest distance the peer may use (its agreed window).
    window: usize,
    /// The stream's output so far: what back-references reach.
    history: Vec<u8>,
    bits: Bits,
    block: Option<Block>,
    /// A final block closed: the stream is over, and what follows in the message is
    /// written as is (the receiver skips it).
    ended: bool,
    /// The current message's inflated content.
    content: Vec<u8>,
}

impl Deflater {
    fn new(window: usize) -> Self {
        Deflater {
            window,
            history: Vec::new(),
            bits: Bits::default(),
            block: None,
            ended: false,
            content: Vec::new(),
        }
    }

    /// Starts a message; `reset`: the peer's context does not carry over (agreed, or the
    /// last stream ended with a final block).
    fn start(&mut self, reset: bool) {
        if reset || self.ended {
            self.history.clear();
            self.ended = false;
        }
        self.bits = Bits::default();
        self.block = None;
        self.content.clear();
    }

    fn full(&self) -> bool {
        self.content.len() > MAX_CONTENT
    }

    fn output(&mut self, byte: u8) {
        self.history.push(byte);
        self.content.push(byte);
        if self.history.len() > 2 * 32 * 1024 {
            // Only the last 32 KiB can be referred to.
            self.history.drain(..32 * 1024);
        }
    }

    /// Opens a block if none is open.
    fn ensure_block(&mut self) {
        if self.block.is_none() {
            self.open(false, false);
        }
    }

    fn open(&mut self, stored: bool, last: bool) {
        self.close();
        if self.ended {
            return;
        }
        self.block = Some(if stored {
            Block::Stored {
                last,
                data: Vec::new(),
            }
        } else {
            self.bits.put(u32::from(last), 1);
            self.bits.put(1, 2);
            Block::Fixed { last }
        });
    }

    /// Closes the open block; a final one ends the stream.
    fn close(&mut self) {
        let last = match self.block.take() {
            None => return,
            Some(Block::Stored { last, data }) => {
                self.bits.put(u32::from(last), 1);
                self.bits.put(0, 2);
                self.bits.align();
                let len = data.len() as u16;
                self.bits.out.extend_from_slice(&len.to_le_bytes());
                self.bits.out.extend_from_slice(&(!len).to_le_bytes());
                self.bits.out.extend_from_slice(&data);
                last
            }
            Some(Block::Fixed { last }) => {
                put_fixed(&mut self.bits, 256);
                last
            }
        };
        if last {
            self.ended = true;
            self.bits.align();
        }
    }

    fn literals(&mut self, bytes: &[u8]) {
        if self.ended {
            self.bits.out.extend_from_slice(bytes);
            return;
        }
        if self.full() {
            return;
        }
        self.ensure_block();
        for &b in bytes {
            match &mut self.block {
                Some(Block::Stored { data, .. }) => {
                    if data.len() == usize::from(u16::MAX) {
                        break;
                    }
                    data.push(b);
                }
                _ => put_fixed(&mut self.bits, u32::from(b)),
            }
            self.output(b);
        }
    }

    /// A back-reference of `len` (3 to 258) bytes `dist` back, brought within the output so
    /// far and the window; nothing if there is no output yet.
    fn copy(&mut self, len: usize, dist: usize) {
        if self.ended || self.full() || self.history.is_empty() {
            return;
        }
        if let Some(Block::Stored { last, .. }) = &mut self.block {
            // A stored block cannot hold one: it closes, and a fixed block as final as it
            // was goes on.
            let was_last = std::mem::replace(last, false);
            self.open(false, was_last);
        }
        self.ensure_block();
        let len = len.clamp(3, 258);
        let dist = dist.clamp(1, self.history.len().min(self.window));
        let code = LENGTH_BASE
            .iter()
            .rposition(|&b| usize::from(b) <= len)
            .unwrap_or(0);
        put_fixed(&mut self.bits, 257 + code as u32);
        self.bits.put(
            (len - usize::from(LENGTH_BASE[code])) as u32,
            u32::from(LENGTH_EXTRA[code]),
        );
        let dcode = DIST_BASE
            .iter()
            .rposition(|&b| usize::from(b) <= dist)
            .unwrap_or(0);
        self.bits.put_code(dcode as u32, 5);
        self.bits.put(
            (dist - usize::from(DIST_BASE[dcode])) as u32,
            u32::from(DIST_EXTRA[dcode]),
        );
        for _ in 0..len {
            let byte = self.history[self.history.len() - dist];
            self.output(byte);
        }
    }

    /// A sync flush inside the message: the block closes and an empty stored block follows,
    /// `00 00 ff ff` and all, which the receiver must take as data, not as the end.
    fn flush(&mut self) {
        self.close();
        if self.ended {
            return;
        }
        self.bits.put(0, 3);
        self.bits.align();
        self.bits.out.extend_from_slice(&[0, 0, 0xff, 0xff]);
    }

    /// Ends the message as RFC 7692 §7.2.1 says: a sync flush without its last four bytes
    /// (unless the stream ended). Returns the payload; the content is in `content`.
    fn finish(&mut self) -> Vec<u8> {
        self.close();
        if !self.ended {
            self.bits.put(0, 3);
            self.bits.align();
        }
        std::mem::take(&mut self.bits.out)
    }
}

// -------------------------------------------------------------------------------------------
// The connection's parameters

/// What the input chose for the connection, and what must come of the handshake.
struct Setup {
    server: bool,
    max_message: usize,
    app_limit: usize,
    /// How the peer's byte stream ends after everything was fed.
    end: Option<EofKind>,
    config: WsConfig,
    /// The peer's handshake head: an upgrade request (to a server) or a 101 (to a client).
    head: Vec<u8>,
    /// What both sides must agree on, by RFC 7692 §7.1 and our documented choices.
    agreed: Option<Agreed>,
}

/// `head` (an HTTP head ending in an empty line) with `line` added as its last field.
fn with_field(head: &[u8], line: &str) -> Vec<u8> {
    let mut out = head[..head.len() - 2].to_vec();
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

impl Setup {
    fn read(input: &mut Input<'_>) -> Setup {
        let b0 = input.byte();
        let server = b0 & 3 != 3;
        let max_message = [125, 1024, 4096, 64 * 1024][usize::from(b0 >> 2 & 3)];
        let app_limit = [64, 1024, 16 * 1024, 256 * 1024][usize::from(b0 >> 4 & 3)];
        let end = [None, Some(EofKind::Close), Some(EofKind::Abort), None][usize::from(b0 >> 6)];
        let (b1, b2) = (input.byte(), input.byte());
        let takeover = |reset: bool| {
            if reset {
                ContextTakeover::Reset
            } else {
                ContextTakeover::Keep
            }
        };
        let own = takeover(b1 & 1 != 0);
        let peer = takeover(b1 & 2 != 0);
        let (cnct, snct) = (b1 & 4 != 0, b1 & 8 != 0);
        let config = WsConfig {
            max_message,
            deflate: Some(DeflateConfig {
                own_context: own,
                peer_context: peer,
                ..DeflateConfig::default()
            }),
            ..WsConfig::default()
        };
        let client_bits = 8 + (b2 & 7);
        let mut params = String::new();
        if snct {
            params.push_str("; server_no_context_takeover");
        }
        if cnct {
            params.push_str("; client_no_context_takeover");
        }
        let (head, agreed) = if server {
            // The client's offer; a server window under 15 bits is declined (our
            // compressor's is always 15), and then the plain fallback offer, if any, wins.
            match b1 >> 4 & 3 {
                0 => (),
                1 => params.push_str("; client_max_window_bits"),
                _ => params.push_str(&format!("; client_max_window_bits={client_bits}")),
            }
            let server_bits = (b1 & 0x40 != 0).then(|| {
                if b2 & 0x40 != 0 {
                    8 + (b2 >> 3 & 7)
                } else {
                    15
                }
            });
            if let Some(bits) = server_bits {
                params.push_str(&format!("; server_max_window_bits={bits}"));
            }
            let fallback = b1 & 0x80 != 0;
            let mut offer = format!("permessage-deflate{params}");
            if fallback {
                offer.push_str(", permessage-deflate");
            }
            let reset = |own: ContextTakeover| own == ContextTakeover::Reset;
            let agreed = if server_bits.is_none_or(|bits| bits == 15) {
                Some(Agreed {
                    server_no_context_takeover: snct || reset(own),
                    client_no_context_takeover: cnct || reset(peer),
                    server_max_window_bits: server_bits,
                    client_max_window_bits: None,
                })
            } else {
                fallback.then_some(Agreed {
                    server_no_context_takeover: reset(own),
                    client_no_context_takeover: reset(peer),
                    server_max_window_bits: None,
                    client_max_window_bits: None,
                })
            };
            let line = format!("Sec-WebSocket-Extensions: {offer}\r\n");
            (with_field(UPGRADE_REQUEST, &line), agreed)
        } else if b1 & 0x80 != 0 && b2 & 0x80 != 0 {
            // The server declines: no extension in its answer.
            (accept_response().to_vec(), None)
        } else {
            // The server's answer, with whatever valid parameters it likes (a client takes
            // any of them, `client_max_window_bits` aside, which it never offers).
            let server_bits = (b1 & 0x40 != 0).then_some(8 + (b2 >> 3 & 7));
            if let Some(bits) = server_bits {
                params.push_str(&format!("; server_max_window_bits={bits}"));
            }
            let line = format!("Sec-WebSocket-Extensions: permessage-deflate{params}\r\n");
            let agreed = Agreed {
                server_no_context_takeover: snct,
                client_no_context_takeover: cnct,
                server_max_window_bits: server_bits,
                client_max_window_bits: None,
            };
            (with_field(accept_response(), &line), Some(agreed))
        };
        Setup {
            server,
            max_message,
            app_limit,
            end,
            config,
            head,
            agreed,
        }
    }

    /// Whether the peer resets its compressor after every message, as agreed.
    fn peer_resets(&self) -> bool {
        self.agreed.is_some_and(|a| {
            if self.server {
                a.client_no_context_takeover
            } else {
                a.server_no_context_takeover
            }
        })
    }

    /// The peer compressor's largest distance: a server's as it announced it, a client's
    /// 32 KiB (our server never limits it).
    fn peer_window(&self) -> usize {
        let bits = match self.agreed {
            Some(a) if !self.server => a.server_max_window_bits.unwrap_or(15),
            _ => 15,
        };
        1 << bits
    }

    /// Largest wire size of a message, as the receiver documents it.
    fn max_wire(&self, compressed: bool) -> usize {
        if compressed {
            self.max_message + self.max_message / 4096 + 64
        } else {
            self.max_message
        }
    }
}

// -------------------------------------------------------------------------------------------
// Building the peer's frames

/// A message the body built, and what must become of it.
struct Built {
    kind: MessageKind,
    /// Its content when known: what the payload inflates to (or is, uncompressed). `None`
    /// after a corruption, and for later messages whose context it spoiled.
    content: Option<Vec<u8>>,
    /// The errors it must fail with, one of them (empty: it must arrive), when known.
    errors: Vec<WsError>,
}

/// Appends one frame from the peer.
fn put_frame(
    out: &mut Vec<u8>,
    fin: bool,
    rsv: u8,
    opcode: OpCode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let header = FrameHeader {
        fin,
        rsv,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    let mut buf = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut buf);
    out.extend_from_slice(&buf[..n]);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
}

/// The errors a known message must fail with, one of them: its wire size, its inflated
/// size and its UTF-8 each decide one; when several apply, which comes first depends on how
/// the inflated bytes fall into records.
fn predicted_errors(
    setup: &Setup,
    kind: MessageKind,
    compressed: bool,
    wire: usize,
    content: &[u8],
) -> Vec<WsError> {
    if compressed && setup.agreed.is_none() {
        return vec![WsError::ReservedBits];
    }
    let max = setup.max_message;
    let mut errors = Vec::new();
    if wire > setup.max_wire(compressed) || content.len() > max {
        errors.push(WsError::MessageTooBig);
    }
    if kind == MessageKind::Text
        && let Err(e) = std::str::from_utf8(content)
    {
        // Found where it is (before the size passes the limit), or at the end for a
        // sequence cut short.
        let found = if e.error_len().is_some() {
            e.valid_up_to() < max
        } else {
            content.len() <= max
        };
        if found {
            errors.push(WsError::Frame(FrameError::InvalidUtf8));
        }
    }
    errors
}

/// Builds the peer's messages from the input into `out`; returns what each must become.
fn build(setup: &Setup, input: &mut Input<'_>, count: usize, out: &mut Vec<u8>) -> Vec<Built> {
    let mut deflater = Deflater::new(setup.peer_window());
    let mut built = Vec::new();
    // Whether the peer's compression context is still known to the body.
    let mut context_known = true;
    for _ in 0..count {
        if input.is_empty() {
            break;
        }
        let m0 = input.byte();
        let kind = if m0 & 1 == 0 {
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        let compressed = m0 >> 1 & 3 != 0;
        let ascii = kind == MessageKind::Text && m0 & 8 == 0;
        let corruption = m0 >> 5;
        let m1 = input.byte();
        let fragments = 1 + usize::from(m1 & 3);
        let pings = m1 & 4 != 0;
        let k = input.byte();
        let mask = setup
            .server
            .then_some([k, k ^ 0x5a, k.wrapping_add(0x33), !k]);

        if compressed {
            deflater.start(setup.peer_resets());
            if setup.peer_resets() {
                context_known = true;
            }
        }
        let mut plain = Vec::new();
        for _ in 0..=input.below(8) {
            let t = input.byte();
            match t & 7 {
                0..=2 => {
                    let n = input.below(256);
                    let bytes: Vec<u8> = input
                        .take(n)
                        .iter()
                        .map(|&b| if ascii { b & 0x7f } else { b })
                        .collect();
                    if compressed {
                        deflater.literals(&bytes);
                    } else if plain.len() <= MAX_CONTENT {
                        plain.extend_from_slice(&bytes);
                    }
                }
                3 | 4 => {
                    let len = 3 + usize::from(input.byte());
                    let dist = 1 + input.below(32 * 1024);
                    if compressed {
                        deflater.copy(len, dist);
                    }
                }
                5 => {
                    // A run: up to 256 copies of 258 bytes, far more than the limit.
                    let copies = 1 + usize::from(input.byte());
                    let dist = 1 + usize::from(t >> 3);
                    for _ in 0..copies {
                        if compressed {
                            deflater.copy(258, dist);
                        }
                    }
                }
                6 => {
                    if compressed {
                        deflater.open(t & 8 != 0, t >> 4 & 3 == 3);
                    }
                }
                _ => {
                    if compressed {
                        deflater.flush();
                    }
                }
            }
        }
        let (mut payload, content) = if compressed {
            let payload = deflater.finish();
            (payload, deflater.content.clone())
        } else {
            (plain.clone(), plain)
        };

        let mut content = Some(content);
        match corruption {
            5 if !payload.is_empty() => {
                let at = input.below(payload.len());
                payload[at] ^= input.byte() | 1;
                content = None;
            }
            6 => {
                payload.truncate(input.below(payload.len() + 1));
                content = None;
            }
            7 => {
                let n = input.below(16);
                payload.extend_from_slice(input.take(n));
                content = None;
            }
            _ => (),
        }
        if !compressed && content.is_none() {
            // Uncompressed, the payload is the content, corrupted or not.
            content = Some(payload.clone());
        }
        if compressed {
            if content.is_none() {
                context_known = false;
            } else if !context_known {
                content = None;
            }
        }
        let errors = content
            .as_ref()
            .map(|c| predicted_errors(setup, kind, compressed, payload.len(), c))
            .unwrap_or_default();
        built.push(Built {
            kind,
            content,
            errors,
        });

        let mut cuts: Vec<usize> = (1..fragments)
            .map(|_| input.below(payload.len() + 1))
            .collect();
        cuts.sort_unstable();
        cuts.push(payload.len());
        let mut start = 0;
        for (i, &cut) in cuts.iter().enumerate() {
            let opcode = match (i, kind) {
                (0, MessageKind::Text) => OpCode::Text,
                (0, MessageKind::Binary) => OpCode::Binary,
                _ => OpCode::Continuation,
            };
            let rsv = if i == 0 && compressed { RSV1 } else { 0 };
            let fin = i + 1 == cuts.len();
            put_frame(out, fin, rsv, opcode, &payload[start..cut], mask);
            start = cut;
            if pings && !fin {
                let n = input.below(8);
                let body = input.take(n).to_vec();
                put_frame(out, true, 0, OpCode::Ping, &body, mask);
            }
        }
    }
    built
}

// -------------------------------------------------------------------------------------------
// Running the connection

/// The connection under test and what the fake application and peer have seen.
struct Run<'s> {
    setup: &'s Setup,
    ws: WebSocket,
    wire: Wire,
    app: PipeBufPair,
    messages: Messages,
    /// Message bytes the application has received so far.
    delivered: usize,
    outcome: Outcome,
    /// How the incoming stream had ended when the error came.
    end_before_error: Option<Option<EofKind>>,
}

impl<'s> Run<'s> {
    fn new(setup: &'s Setup) -> Run<'s> {
        let ws = if setup.server {
            WebSocket::server(setup.config, accept_all())
        } else {
            fuzz_client(setup.config)
        };
        Run {
            setup,
            ws,
            wire: Wire::keeping(),
            app: PipeBufPair::with_limits(setup.app_limit.min(4096), setup.app_limit),
            messages: Messages::new(setup.max_message),
            delivered: 0,
            outcome: Outcome::default(),
            end_before_error: None,
        }
    }

    /// Calls the component until it and the application settle. Calls that deliver nothing
    /// to the application are bounded by `budget`; those that deliver are bounded by what
    /// they deliver, which `max_message` bounds per message.
    fn settle(&mut self, budget: usize) {
        settle(budget, || {
            let delivered = self.delivered;
            let active = first_error(
                self.ws
                    .process(Time::ZERO, self.wire.upper(), self.app.lower()),
                &mut self.outcome.error,
                &mut self.end_before_error,
                self.outcome.incoming_end,
            );
            // However far a message inflates, the message buffer stays within its limit.
            let up = &self.app.up;
            assert!(
                up.len() <= self.setup.app_limit && up.capacity() <= self.setup.app_limit,
                "the message buffer grew to {} bytes ({} held) past its limit of {}",
                up.capacity(),
                up.len(),
                self.setup.app_limit
            );
            let app_active = self.application();
            let peer_active = self.wire.take();
            (
                active || app_active || peer_active,
                self.delivered == delivered,
            )
        });
    }

    /// The application: reads every record, closes its outgoing stream once the incoming
    /// one has closed.
    fn application(&mut self) -> bool {
        let mut app = self.app.upper();
        let before = (app.rd.tripwire(), app.wr.tripwire());
        let (messages, bytes) = self.messages.read(&mut app.rd);
        self.delivered += bytes;
        self.outcome.messages.extend(messages);
        read_end(&mut app.rd, &mut self.outcome.incoming_end);
        if self.outcome.incoming_end == Some(EofKind::Close) && !app.wr.is_eof() {
            app.wr.close();
        }
        before != (app.rd.tripwire(), app.wr.tripwire())
    }

    /// Feeds `piece` from the peer, then settles.
    fn feed(&mut self, piece: &[u8]) {
        self.wire.feed(piece);
        self.settle(4 * piece.len() + 64);
    }

    /// Ends the peer's byte stream (if asked), settles, and checks what was written.
    fn finish(mut self) -> Outcome {
        self.wire.end(self.setup.end);
        self.settle(4 * self.wire.out.len() + 256);
        self.outcome.outgoing_end = self.wire.ended;
        assert_eq!(
            self.ws.deflate().copied(),
            self.setup.agreed,
            "the agreement differs from what the offer and answer give"
        );
        if let Some(error) = &self.outcome.error {
            let code = error.close_code();
            let expected = match error {
                WsError::BadCompressedData | WsError::Frame(FrameError::InvalidUtf8) => 1007,
                WsError::MessageTooBig => 1009,
                WsError::Frame(_)
                | WsError::Masking
                | WsError::ReservedBits
                | WsError::Fragmentation => 1002,
                other => panic!("an error the peer's frames cannot cause: {other:?}"),
            };
            assert_eq!(code, Some(expected), "the close code of {error:?}");
        }
        check_ends_after_error(
            &self.outcome.error,
            self.end_before_error,
            self.outcome.incoming_end,
            self.outcome.outgoing_end,
        );
        self.parse_output();
        self.outcome
    }

    /// Splits what was written into the handshake head and frames, checking each frame.
    fn parse_output(&mut self) {
        let out = &self.wire.out;
        let Some(head_end) = out.windows(4).position(|w| w == b"\r\n\r\n") else {
            return;
        };
        if self.setup.server {
            let head = String::from_utf8_lossy(&out[..head_end + 2]);
            assert!(head.starts_with("HTTP/1.1 101 "), "not accepted: {head}");
            let line = self
                .setup
                .agreed
                .map(|a| format!("Sec-WebSocket-Extensions: {}\r\n", a.response()));
            let named = head
                .lines()
                .find(|l| l.starts_with("Sec-WebSocket-Extensions:"))
                .map(|l| format!("{l}\r\n"));
            assert_eq!(named, line, "the 101 names another agreement");
        }
        for (header, payload) in own_frames(&out[head_end + 4..], self.setup.server) {
            assert!(
                header.opcode.is_control(),
                "a data frame although the application sent nothing"
            );
            self.outcome.sent_controls.push((header.opcode, payload));
        }
        if let Some(code) = self.outcome.error.as_ref().and_then(WsError::close_code) {
            let close = self
                .outcome
                .sent_controls
                .iter()
                .find(|(op, _)| *op == OpCode::Close);
            let sent = close
                .and_then(|(_, p)| p.get(..2))
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            assert_eq!(
                sent,
                Some(code),
                "the close frame does not carry the error's code"
            );
        }
    }
}

/// Checks a run's messages and error against what was built. `all_built`: nothing but the
/// built messages came from the peer (no arbitrary bytes behind them).
fn check_against_built(outcome: &Outcome, built: &[Built], all_built: bool) {
    for (i, (kind, data)) in outcome.messages.iter().enumerate() {
        let Some(b) = built.get(i) else { break };
        assert_eq!(*kind, b.kind, "message {i} arrived as another kind");
        if let Some(content) = &b.content {
            assert!(
                b.errors.is_empty(),
                "message {i} arrived although it must fail with one of {:?}",
                b.errors
            );
            assert!(
                data == content,
                "message {i} arrived as {} bytes that differ from the {} sent",
                data.len(),
                content.len()
            );
        }
    }
    let at = outcome.messages.len();
    match &outcome.error {
        None => {
            if all_built {
                assert!(
                    at >= built.len(),
                    "without an error only {at} of {} messages arrived",
                    built.len()
                );
            }
        }
        Some(error) => {
            if let Some(b) = built.get(at)
                && b.content.is_some()
            {
                assert!(
                    b.errors.contains(error),
                    "message {at} failed with {error:?}, not one of {:?}",
                    b.errors
                );
            }
        }
    }
}

/// Whether the two runs' errors may differ: one reported corrupt data and the other a
/// content error of the same message (see the module docs).
fn errors_may_differ(a: &Option<WsError>, b: &Option<WsError>) -> bool {
    let content = |e: &Option<WsError>| {
        matches!(
            e,
            Some(
                WsError::BadCompressedData
                    | WsError::MessageTooBig
                    | WsError::Frame(FrameError::InvalidUtf8)
            )
        )
    };
    let corrupt = |e: &Option<WsError>| matches!(e, Some(WsError::BadCompressedData));
    (corrupt(a) || corrupt(b)) && content(a) && content(b)
}

/// Runs one input; panics if an invariant breaks.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let setup = Setup::read(&mut input);
    let mode = input.byte();
    let raw = mode & 3 == 3;
    let count = 1 + usize::from(mode >> 2 & 7).min(MAX_MESSAGES - 1);
    let peer_closes = mode & 0x20 != 0;
    let choice_count = input.below(16);
    let choices = input.take(choice_count);

    let mut stream = setup.head.clone();
    let mut built = Vec::new();
    let mut all_built = false;
    if raw {
        let frames = input.rest();
        stream.extend_from_slice(&frames[..frames.len().min(MAX_DATA)]);
    } else {
        built = build(&setup, &mut input, count, &mut stream);
        if peer_closes {
            let mask = setup.server.then_some([1, 2, 3, 4]);
            put_frame(&mut stream, true, 0, OpCode::Close, &[0x03, 0xe8], mask);
        }
        let junk = input.rest();
        all_built = junk.is_empty();
        stream.extend_from_slice(&junk[..junk.len().min(MAX_DATA)]);
    }

    let mut whole = Run::new(&setup);
    whole.feed(&stream);
    let whole = whole.finish();
    check_against_built(&whole, &built, all_built);

    let mut split = Run::new(&setup);
    for piece in pieces(&stream, &mut Input::new(choices)) {
        split.feed(piece);
    }
    let split = split.finish();
    check_against_built(&split, &built, all_built);

    if errors_may_differ(&whole.error, &split.error) {
        let pongs = |o: &Outcome| -> Vec<(OpCode, Vec<u8>)> {
            o.sent_controls
                .iter()
                .filter(|(op, _)| *op != OpCode::Close)
                .cloned()
                .collect()
        };
        assert_eq!(
            whole.messages, split.messages,
            "one piece and many pieces differ"
        );
        assert_eq!(
            pongs(&whole),
            pongs(&split),
            "one piece and many pieces differ"
        );
        assert_eq!(
            (whole.incoming_end, whole.outgoing_end),
            (split.incoming_end, split.outgoing_end),
            "one piece and many pieces differ"
        );
    } else {
        assert_eq!(whole, split, "one piece and many pieces differ");
    }
}
