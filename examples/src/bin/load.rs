//! `load`: a WebSocket load generator built on pipebuf itself: N client connections on one
//! pipebuf_mio `Driver` (outgoing, with `connect_tcp`), each a (`Tls` client →) `WebSocket`
//! client chain that keeps K messages (binary, or JSON-like text) in flight against an echo server, checks every
//! echo byte for byte and measures each message's round trip.
//!
//! ```text
//! cargo run --release -p pipebuf_examples --bin ws_echo -- --addr 127.0.0.1:9001 &
//! cargo run --release -p pipebuf_examples --bin load -- --url ws://127.0.0.1:9001/ --connections 16 --size 1024
//! cargo run --release -p pipebuf_examples --bin wss_echo -- --addr 127.0.0.1:9443 &
//! cargo run --release -p pipebuf_examples --bin load -- --url wss://127.0.0.1:9443/ --insecure --in-flight 4
//! ```
//!
//! Flags: see `load --help` ([`CLI`]). TLS session resumption is off with `--ca` and
//! `--insecure` alike. `--server-pid PID` reads the server's CPU time from
//! `/proc/PID/task/*/schedstat`. `--handshakes` prints
//! `{"handshakes_per_sec":..,"connections":..,"errors":..}`. `--payload json` sends JSON-like
//! text messages instead of binary ones (see [`json_message`]); `--deflate` (and
//! `--deflate-context`) offers permessage-deflate. With `--messages` or
//! `--reconnect-every` the JSON line ends with `"messages":..` (every echo checked, in or
//! after the window) and `"opened":..` (connections that opened, reconnections included).
//!
//! All connections open (TCP, TLS and WebSocket handshakes) before the clock starts; then
//! each sends messages for `--duration`, message `seq` of connection `c` being a distinct
//! slice of one pseudo-random pattern, so a mixed-up or corrupted echo shows. Only messages
//! whose echo completes within the duration count. Then each connection waits for its
//! outstanding echoes and closes with the close handshake. Prints exactly one JSON line:
//!
//! ```text
//! {"msgs_per_sec":..,"mib_per_sec":..,"p50_us":..,"p99_us":..,"connections":16,"size":64,"errors":0,
//!  "wire_sent_per_msg":..,"wire_received_per_msg":..,"payload_per_msg":..}
//! ```
//!
//! (one line; with `--server-pid` the server's CPU fields come before the `wire_` ones).
//! `mib_per_sec` is echoed payload in one direction (messages × size / s / MiB).
//! `wire_sent_per_msg` and `wire_received_per_msg` are the bytes this client's sockets wrote
//! and read (the driver's counters: WebSocket frames, compressed or not, and TLS records)
//! from the start of the window until the last connection closed, per echo checked (so the
//! close handshakes, and with `--reconnect-every` the new connections' handshakes, are
//! included); `payload_per_msg` is the payload of those echoes per message: the ratio of
//! the two is what compression saves on the wire. They are measured on the client, so they
//! are the same whatever the server. `errors`
//! counts connections that failed: connect, TLS or handshake errors, wrong echoes, echoes
//! still missing 10 s after the time was up, a broken close. The first few are described on
//! stderr. Exit status: 1 if any echo was wrong or no connection could be opened (the JSON
//! is printed anyway), 2 on bad flags, else 0.

use std::cell::Cell;
use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use pipebuf::{EofKind, Layer, PBufRdWr, PipeBufPair, StackError, Time};
use pipebuf_examples::cli::flags::{INSECURE, SERVER_PID, server_pid};
use pipebuf_examples::cli::{Args, Error, Flag, Program};
use pipebuf_examples::deflate::{DEFLATE, DEFLATE_CONTEXT, deflate_config};
use pipebuf_examples::ws_client::{WsClientStack, WsUrl, client_config, client_stack, tls_config};
use pipebuf_examples::{process_cpu_secs, server_cpu_json};
use pipebuf_mio::{Chain, ClassId, ConnId, Context, Driver, DriverConfig, Event, LeftReason};
use pipebuf_rustls::TlsError;
use pipebuf_websocket::deflate::DeflateConfig;
use pipebuf_websocket::message::{MessageKind, read_chunk, write_chunk_some};
use pipebuf_websocket::{WsConfig, WsError};

/// How long the connections may take to open, and how long outstanding echoes and the
/// close handshakes may take once the time is up.
const GRACE: Duration = Duration::from_secs(10);
/// Largest chunk record written at once: large messages stream through in pieces.
const CHUNK: usize = 64 * 1024;

/// What the messages carry (`--payload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payload {
    /// Binary messages, slices of one pseudo-random pattern (incompressible).
    Binary,
    /// Text messages of JSON-like records (see [`json_message`]), generated per message.
    Json,
}

/// The message bytes: message `seq` of connection `conn` is a slice of `bytes` starting at
/// an offset that depends on both (binary), or JSON-like text generated from both (JSON), of
/// a length between `size` and `max_size` that depends on both too.
#[derive(Debug)]
struct Pattern {
    bytes: Vec<u8>,
    size: usize,
    max_size: usize,
    payload: Payload,
}

impl Pattern {
    /// Distinct starting offsets.
    const SHIFTS: usize = 251;

    fn new(size: usize, max_size: usize, payload: Payload) -> Self {
        let mut x: u32 = 0x2545_f491;
        let pattern_len = match payload {
            Payload::Binary => max_size + Self::SHIFTS,
            Payload::Json => 0,
        };
        let bytes = (0..pattern_len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        Pattern {
            bytes,
            size,
            max_size,
            payload,
        }
    }

    /// The kind the messages are sent as (and must come back as).
    fn kind(&self) -> MessageKind {
        match self.payload {
            Payload::Binary => MessageKind::Binary,
            Payload::Json => MessageKind::Text,
        }
    }

    /// The length of message `seq` of connection `conn`: log-uniform from `size` to
    /// `max_size` (uniform if `size` is 0).
    fn len(&self, conn: usize, seq: u64) -> usize {
        if self.max_size == self.size {
            return self.size;
        }
        // splitmix64 of (conn, seq): a fraction in [0, 1).
        let mut z = (conn as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(seq)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let u = (z ^ (z >> 31)) as f64 / (u64::MAX as f64 + 1.0);
        let (lo, hi) = (self.size as f64, self.max_size as f64);
        let len = if self.size == 0 {
            lo + u * (hi - lo + 1.0)
        } else {
            lo * (hi / lo).powf(u)
        };
        (len as usize).clamp(self.size, self.max_size)
    }

    /// A binary message: a slice of the pattern. (JSON messages: [`Pattern::json`].)
    fn message(&self, conn: usize, seq: u64) -> &[u8] {
        let shift = (seq as usize).wrapping_mul(7).wrapping_add(conn) % Self::SHIFTS;
        &self.bytes[shift..shift + self.len(conn, seq)]
    }

    /// A JSON message, generated: the caller keeps it until its echo is checked.
    fn json(&self, conn: usize, seq: u64) -> Vec<u8> {
        json_message(conn, seq, self.len(conn, seq))
    }
}

/// A small deterministic generator (xorshift64*), seeded per message.
struct Rng(u64);

impl Rng {
    fn new(conn: usize, seq: u64) -> Self {
        // splitmix64 of (conn, seq), never 0.
        let mut z = (conn as u64)
            .wrapping_mul(0xd1b5_4a32_d192_ed03)
            .wrapping_add(seq.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len() as u64) as usize]
    }
}

/// Message `seq` of connection `conn` with `--payload json`: exactly `len` bytes of ASCII
/// text, a JSON array of event records as an API might send them (the same keys in every
/// record, values that vary: ids, timestamps, names and words from small vocabularies,
/// amounts, flags), padded with spaces before the closing `]`. Where not even one record
/// fits, the brackets hold a prefix of one; under 2 bytes, spaces. Deterministic, so that an echo can be checked byte for
/// byte.
fn json_message(conn: usize, seq: u64, len: usize) -> Vec<u8> {
    const USERS: [&str; 12] = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
        "mallory", "oscar",
    ];
    const EVENTS: [&str; 8] = [
        "page_view",
        "click",
        "add_to_cart",
        "checkout",
        "login",
        "logout",
        "search",
        "scroll",
    ];
    const PAGES: [&str; 8] = [
        "/",
        "/products",
        "/products/item",
        "/cart",
        "/account",
        "/help",
        "/search",
        "/blog",
    ];
    const TAGS: [&str; 10] = [
        "mobile",
        "desktop",
        "beta",
        "returning",
        "new",
        "promo",
        "eu",
        "us",
        "ab_test",
        "vip",
    ];
    use std::io::Write as _;
    if len < 2 {
        return vec![b' '; len];
    }
    let mut rng = Rng::new(conn, seq);
    let mut out = Vec::with_capacity(len);
    let mut record = Vec::with_capacity(256);
    out.push(b'[');
    let mut id = 1_000_000 + rng.below(9_000_000);
    let mut ts = 1_700_000_000_000 + rng.below(100_000_000_000);
    loop {
        record.clear();
        if out.len() > 1 {
            record.push(b',');
        }
        id += 1 + rng.below(50);
        ts += rng.below(5_000);
        let amount = rng.below(100_000);
        // Writing into a Vec cannot fail.
        let _ = write!(
            record,
            "{{\"id\":{id},\"user\":\"{}_{}\",\"event\":\"{}\",\"page\":\"{}\",\
             \"ts\":{ts},\"amount\":{}.{:02},\"currency\":\"EUR\",\"ok\":{},\
             \"tags\":[\"{}\",\"{}\"]}}",
            rng.pick(&USERS),
            rng.below(1000),
            rng.pick(&EVENTS),
            rng.pick(&PAGES),
            amount / 100,
            amount % 100,
            rng.below(8) != 0,
            rng.pick(&TAGS),
            rng.pick(&TAGS),
        );
        if out.len() + record.len() + 1 > len {
            break;
        }
        out.extend_from_slice(&record);
    }
    if out.len() == 1 {
        // Not even one record fits: a prefix of one (JSON-like, if not JSON).
        out.extend_from_slice(&record[..len - 2]);
    }
    out.resize(len - 1, b' ');
    out.push(b']');
    out
}

/// What ends a load connection with an error.
#[derive(Debug)]
enum ClientError {
    /// The TLS layer failed (bad certificate, alert from the server, ...).
    Tls(TlsError),
    /// The WebSocket layer failed (handshake refused, protocol error).
    Ws(WsError),
    /// The connection broke: it ended without the WebSocket close handshake.
    Broken,
    /// An echo differed from what was sent.
    Mismatch(String),
    /// The server closed the WebSocket while this many echoes were outstanding.
    ClosedEarly(u64),
    /// A message record from the WebSocket could not be read (a bug).
    Record(pipebuf_websocket::message::ChunkError),
    /// A buffer refused an operation (a bug).
    Buffer(pipebuf::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Tls(e) => write!(f, "{e}"),
            ClientError::Ws(e) => write!(f, "WebSocket: {e}"),
            ClientError::Broken => f.write_str("the connection ended without a close handshake"),
            ClientError::Mismatch(what) => write!(f, "wrong echo: {what}"),
            ClientError::ClosedEarly(n) => {
                write!(f, "the server closed with {n} echoes outstanding")
            }
            ClientError::Record(e) => write!(f, "message record: {e}"),
            ClientError::Buffer(e) => write!(f, "buffer: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<StackError<TlsError, WsError>> for ClientError {
    fn from(e: StackError<TlsError, WsError>) -> Self {
        match e {
            StackError::Lower(e) => ClientError::Tls(e),
            StackError::Upper(e) => ClientError::Ws(e),
        }
    }
}

/// The measuring window, shared by the loop and every connection: unset until all
/// connections are open.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    deadline: Instant,
}

/// What a connection reports.
#[derive(Debug)]
enum Report {
    /// The WebSocket is open.
    Open,
    /// The time is up (or the connection's messages are all sent) and every echo is in.
    Done(Done),
}

/// What a finished connection measured.
#[derive(Debug)]
struct Done {
    /// Round trips (ns) of the messages counted (those within the window).
    latencies: Vec<u64>,
    /// Payload bytes of the counted messages.
    bytes: u64,
    /// Every echo checked, counted or not.
    echoed: u64,
    /// Payload bytes of every echo checked.
    echoed_bytes: u64,
}

/// One load connection: the client stack, the pair of message records above it (`top`,
/// see [`pipebuf_websocket::message`]), and the sending and checking state.
#[derive(Debug)]
struct LoadConn {
    stack: WsClientStack,
    top: PipeBufPair,
    st: LoadState,
}

/// What a [`LoadConn`] sent, checked and measured.
#[derive(Debug)]
struct LoadState {
    index: usize,
    pattern: Rc<Pattern>,
    window: Rc<Cell<Option<Window>>>,
    in_flight: u64,
    /// Messages written whole, and whether the next one is being written (`tx_off` bytes).
    tx_seq: u64,
    writing: bool,
    tx_off: usize,
    /// Messages echoed whole, and bytes of the next one checked so far.
    rx_seq: u64,
    rx_off: usize,
    /// When each message not yet echoed was started.
    started: VecDeque<Instant>,
    /// With `--payload json`: each message started and not yet echoed whole (the last one
    /// is the one being written).
    json: VecDeque<Vec<u8>>,
    /// Payload bytes of every echo checked.
    echoed_bytes: u64,
    latencies: Vec<u64>,
    /// Payload bytes of the messages in `latencies`.
    bytes: u64,
    /// Messages to send before closing (`--messages`, `--reconnect-every`).
    limit: Option<u64>,
    opened: bool,
    /// The time is up: no new messages.
    stopping: bool,
    /// [`Report::Done`] was sent and our side closed.
    finished: bool,
    /// Handshake mode: close as soon as the WebSocket is open.
    handshake_only: bool,
}

impl LoadState {
    fn new(
        index: usize,
        pattern: Rc<Pattern>,
        window: Rc<Cell<Option<Window>>>,
        in_flight: u64,
        limit: Option<u64>,
        handshake_only: bool,
    ) -> Self {
        LoadState {
            index,
            pattern,
            window,
            in_flight,
            tx_seq: 0,
            writing: false,
            tx_off: 0,
            rx_seq: 0,
            rx_off: 0,
            started: VecDeque::new(),
            json: VecDeque::new(),
            echoed_bytes: 0,
            latencies: Vec::new(),
            bytes: 0,
            limit,
            opened: false,
            stopping: false,
            finished: false,
            handshake_only,
        }
    }
}

/// Checks the echo records waiting in `app.rd` against what was sent; records the round
/// trip of each message completed within the window.
fn check_echoes(conn: &mut LoadState, app: &mut PBufRdWr<'_>) -> Result<bool, ClientError> {
    let mut active = false;
    while let Some(chunk) = read_chunk(&app.rd).map_err(ClientError::Record)? {
        let seq = conn.rx_seq;
        let size = conn.pattern.len(conn.index, seq);
        let sent_up_to = if seq < conn.tx_seq {
            size
        } else if seq == conn.tx_seq && conn.writing {
            conn.tx_off
        } else {
            0
        };
        let end = conn.rx_off + chunk.data.len();
        if chunk.kind != conn.pattern.kind() {
            return Err(ClientError::Mismatch(format!(
                "echo {seq} came back as {:?}",
                chunk.kind
            )));
        }
        if end > sent_up_to {
            return Err(ClientError::Mismatch(format!(
                "echo {seq} has {end} bytes, only {sent_up_to} were sent"
            )));
        }
        let message = match conn.pattern.payload {
            Payload::Binary => conn.pattern.message(conn.index, seq),
            Payload::Json => conn.json.front().map_or(&[][..], Vec::as_slice),
        };
        let expected = &message[conn.rx_off..end];
        if chunk.data != expected {
            return Err(ClientError::Mismatch(format!(
                "echo {seq} differs in bytes {}..{end}",
                conn.rx_off
            )));
        }
        let (fin, record_len) = (chunk.fin, chunk.record_len);
        app.rd.consume(record_len).map_err(ClientError::Buffer)?;
        conn.rx_off = end;
        active = true;
        if fin {
            if end != size {
                return Err(ClientError::Mismatch(format!(
                    "echo {seq} ended after {end} of {size} bytes"
                )));
            }
            let now = Instant::now();
            if let (Some(start), Some(window)) = (conn.started.pop_front(), conn.window.get())
                && start >= window.start
                && now <= window.deadline
            {
                let took = now.saturating_duration_since(start).as_nanos();
                conn.latencies.push(u64::try_from(took).unwrap_or(u64::MAX));
                conn.bytes += size as u64;
            }
            conn.rx_seq += 1;
            conn.rx_off = 0;
            conn.echoed_bytes += size as u64;
            if conn.pattern.payload == Payload::Json {
                conn.json.pop_front();
            }
        }
    }
    Ok(active)
}

/// Starts and writes messages while fewer than `in_flight` are out and the time is not up.
fn send_messages(conn: &mut LoadState, app: &mut PBufRdWr<'_>) -> bool {
    let mut active = false;
    loop {
        if !conn.writing {
            if conn.stopping
                || conn.tx_seq - conn.rx_seq >= conn.in_flight
                || conn.limit.is_some_and(|limit| conn.tx_seq >= limit)
            {
                break;
            }
            conn.writing = true;
            conn.tx_off = 0;
            conn.started.push_back(Instant::now());
            if conn.pattern.payload == Payload::Json {
                let message = conn.pattern.json(conn.index, conn.tx_seq);
                conn.json.push_back(message);
            }
        }
        let message = match conn.pattern.payload {
            Payload::Binary => conn.pattern.message(conn.index, conn.tx_seq),
            Payload::Json => conn.json.back().map_or(&[][..], Vec::as_slice),
        };
        let rest = &message[conn.tx_off..];
        let kind = conn.pattern.kind();
        let Ok((n, fin)) = write_chunk_some(&mut app.wr, kind, rest, CHUNK) else {
            break;
        };
        active = true;
        conn.tx_off += n;
        if fin {
            conn.writing = false;
            conn.tx_seq += 1;
        }
    }
    if active {
        app.wr.push();
    }
    active
}

impl Chain for LoadConn {
    type Msg = Report;
    type Error = ClientError;

    fn process(
        &mut self,
        net: PBufRdWr<'_>,
        cx: &mut Context<'_, Report>,
    ) -> Result<bool, ClientError> {
        let now = cx.now();
        let mut active = Layer::process(&mut self.stack, now, net, self.top.lower())?;
        let st = &mut self.st;
        if !st.opened && self.stack.upper().is_open() {
            st.opened = true;
            cx.emit(Report::Open);
            active = true;
            if st.handshake_only {
                st.finished = true;
                self.top.upper().wr.close();
            }
        }
        if !st.stopping
            && st
                .window
                .get()
                .is_some_and(|w| now >= Time::from_instant(w.deadline))
        {
            st.stopping = true;
            active = true;
        }
        let mut app = self.top.upper();
        active |= check_echoes(st, &mut app)?;
        if st.window.get().is_some() && st.opened && !st.finished {
            active |= send_messages(st, &mut app);
        }
        let all_sent = st.limit.is_some_and(|limit| st.tx_seq >= limit);
        if (st.stopping || all_sent)
            && st.opened
            && !st.finished
            && !st.writing
            && st.rx_seq == st.tx_seq
        {
            // Every echo is in: report and start the close handshake.
            st.finished = true;
            cx.emit(Report::Done(Done {
                latencies: std::mem::take(&mut st.latencies),
                bytes: st.bytes,
                echoed: st.rx_seq,
                echoed_bytes: st.echoed_bytes,
            }));
            app.wr.close();
            active = true;
        }
        active |= app.rd.consume_push();
        match app.rd.consume_eof() {
            Some(EofKind::Close) if st.finished => active = true,
            Some(EofKind::Close) => {
                let outstanding = st.tx_seq + u64::from(st.writing) - st.rx_seq;
                return Err(ClientError::ClosedEarly(outstanding));
            }
            Some(EofKind::Abort) => return Err(ClientError::Broken),
            None => (),
        }
        Ok(active)
    }

    fn close(&mut self, _net: PBufRdWr<'_>) {
        self.st.stopping = true;
    }

    fn next_deadline(&self) -> Option<Time> {
        let end = match self.st.window.get() {
            Some(w) if !self.st.stopping => Some(Time::from_instant(w.deadline)),
            _ => None,
        };
        match (self.stack.next_deadline(), end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn release(&mut self) {
        self.stack.release();
        self.top.release();
    }
}

/// The `q` quantile of sorted nanoseconds, in microseconds.
fn quantile_us(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

/// The settings from the command line.
#[derive(Debug)]
struct Settings {
    url: WsUrl,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    connections: usize,
    size: usize,
    max_size: usize,
    in_flight: u64,
    duration: Duration,
    server_pid: Option<u32>,
    mode: Mode,
    /// `--messages N` or `--reconnect-every N`: messages per connection.
    limit: Option<u64>,
    /// `--reconnect-every`: a slot whose connection sent its messages opens a new one.
    reconnect: bool,
    /// `--payload`.
    payload: Payload,
    /// `--deflate`, `--deflate-context`: the permessage-deflate offer, if any.
    deflate: Option<DeflateConfig>,
}

/// What the run measures.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Echoed messages: the default.
    Echo,
    /// Complete opening and closing handshakes per second.
    Handshakes,
    /// Open connections held idle for this long.
    Hold(Duration),
}

/// The command line.
static CLI: Program = Program {
    name: "load",
    about: "a WebSocket load generator built on pipebuf itself: N client connections on one \
            pipebuf_mio Driver, each keeping K messages (binary, or JSON-like text) in flight \
            against an echo server, checking every echo byte for byte and measuring each \
            round trip. All connections open before the clock starts. Prints one JSON line \
            (msgs_per_sec, mib_per_sec, p50_us, p99_us, connections, size, errors, \
            wire_sent_per_msg, wire_received_per_msg, payload_per_msg); exits 1 if an echo was wrong or \
            no connection could be opened (the JSON is printed anyway).",
    operand: None,
    flags: &[
        Flag::value("url", "ws[s]://HOST:PORT/PATH", "The echo server.").required(),
        Flag::value("connections", "N", "Connections (at most 10000).").default("16"),
        Flag::value("size", "BYTES", "Bytes per message (0 allowed).").default("64"),
        Flag::value("in-flight", "K", "Messages in flight per connection.").default("1"),
        Flag::value(
            "duration",
            "SECS",
            "How long to measure (fractions allowed, at most a day); with --messages, the \
             time limit.",
        )
        .default("5"),
        Flag::value(
            "ca",
            "PEM",
            "For wss://: trust this CA or self-signed certificate (or give --insecure).",
        )
        .default_text("none: wss:// needs --ca or --insecure"),
        INSECURE,
        SERVER_PID,
        Flag::switch(
            "handshakes",
            "Instead of messages, each slot opens a connection (TCP, TLS and WebSocket \
             handshakes), closes it and opens the next, for --duration.",
        ),
        Flag::value(
            "hold",
            "SECS",
            "Open the connections, print `ready N`, hold them idle for SECS and exit (for a \
             server's memory per idle connection).",
        )
        .default_text("not held"),
        Flag::value(
            "max-size",
            "BYTES",
            "Message sizes spread log-uniformly from --size to this, differing per \
             connection and message.",
        )
        .default_text("--size"),
        Flag::value(
            "messages",
            "N",
            "Each connection sends exactly N messages, checks their echoes and closes; the \
             run ends when all are done.",
        )
        .default_text("no limit"),
        Flag::value(
            "reconnect-every",
            "N",
            "Churn: each connection closes after N echoed messages and its slot opens a new \
             one, for --duration.",
        )
        .default_text("never"),
        Flag::value(
            "payload",
            "binary|json",
            "What the messages carry: `binary`, pseudo-random bytes (incompressible) in binary \
             messages; `json`, JSON-like text of the same sizes in text messages (records with \
             the same keys and varying values, different per connection and message).",
        )
        .default("binary"),
        DEFLATE,
        DEFLATE_CONTEXT,
    ],
    examples: &[
        "load --url ws://127.0.0.1:9001/ --connections 16 --size 1024",
        "load --url ws://127.0.0.1:9001/ --payload json --size 1024 --deflate",
        "load --url wss://127.0.0.1:9443/ --insecure --in-flight 4 --duration 10",
        "load --url ws://127.0.0.1:9001/ --handshakes --server-pid 1234",
    ],
};

fn settings(args: &Args<'_>) -> Result<Settings, Error> {
    let url = WsUrl::parse(&args.get::<String>("url")?)
        .map_err(|e| Error::usage(format!("--url {e}")))?;
    let tls = tls_config(&url, args.text("ca"), args.is_set("insecure"))?;
    let connections: usize = args.get("connections")?;
    let size: usize = args.get("size")?;
    let in_flight: u64 = args.get("in-flight")?;
    let secs: f64 = args.get("duration")?;
    if connections == 0 || in_flight == 0 {
        return Err(Error::usage(
            "--connections and --in-flight must be at least 1",
        ));
    }
    if connections > 10_000 {
        return Err(Error::usage("--connections is at most 10000"));
    }
    let max_size: usize = args.opt("max-size")?.unwrap_or(size);
    if max_size > 1 << 30 {
        return Err(Error::usage("--size and --max-size are at most 1 GiB"));
    }
    if max_size < size {
        return Err(Error::usage("--max-size must be at least --size"));
    }
    let duration = Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero() && *d <= Duration::from_secs(86_400))
        .ok_or_else(|| Error::usage("--duration must be above 0 and at most a day"))?;
    let server_pid = server_pid(args)?;
    let mode = match (args.is_set("handshakes"), args.opt_secs("hold")?) {
        (false, None) => Mode::Echo,
        (true, None) => Mode::Handshakes,
        (false, Some(hold)) if hold <= Duration::from_secs(86_400) => Mode::Hold(hold),
        (false, Some(_)) => return Err(Error::usage("--hold must be 0 to a day")),
        (true, Some(_)) => {
            return Err(Error::usage("--handshakes and --hold exclude each other"));
        }
    };
    let (limit, reconnect) = match (args.opt::<u64>("messages")?, args.opt("reconnect-every")?) {
        (None, None) => (None, false),
        (Some(n), None) => (Some(n), false),
        (None, Some(n)) => (Some(n), true),
        (Some(_), Some(_)) => {
            return Err(Error::usage(
                "--messages and --reconnect-every exclude each other",
            ));
        }
    };
    if limit == Some(0) {
        return Err(Error::usage(
            "--messages and --reconnect-every must be at least 1",
        ));
    }
    if limit.is_some() && mode != Mode::Echo {
        return Err(Error::usage(
            "--messages and --reconnect-every need the echo mode",
        ));
    }
    let payload = args.choice(
        "payload",
        &[("binary", Payload::Binary), ("json", Payload::Json)],
    )?;
    let deflate = deflate_config(args)?;
    Ok(Settings {
        url,
        tls,
        connections,
        size,
        max_size,
        in_flight,
        duration,
        server_pid,
        mode,
        limit,
        reconnect,
        payload,
        deflate,
    })
}

/// What the run found.
#[derive(Debug, Default)]
struct Tally {
    latencies: Vec<u64>,
    /// Payload bytes of the messages in `latencies`.
    bytes: u64,
    /// Every echo checked, in the window or not.
    echoed: u64,
    /// Payload bytes of every echo checked.
    echoed_bytes: u64,
    /// Echo mode: bytes the sockets wrote and read from the start of the window until the
    /// last connection closed (the driver's counters: TCP payload, TLS records included).
    wire: Option<(u64, u64)>,
    /// With `--messages`: from the start of the window until the last connection was done.
    elapsed: Option<Duration>,
    errors: usize,
    mismatches: usize,
    opened: usize,
    /// Handshake mode: WebSockets opened within the time.
    handshakes: usize,
    /// The server's CPU seconds in the measured window (with `--server-pid`).
    server_cpu: Option<f64>,
    notes: Vec<String>,
}

impl Tally {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.notes.len() < 5 {
            self.notes.push(what);
        }
    }

    /// Accounts for a connection that left; `done`: it had reported its measurements.
    fn left(&mut self, reason: LeftReason, done: bool) {
        match reason {
            LeftReason::Closed if done => (),
            LeftReason::ChainError(e) => {
                if matches!(e.downcast_ref(), Some(ClientError::Mismatch(_))) {
                    self.mismatches += 1;
                }
                self.error(e.to_string());
            }
            other => self.error(other.to_string()),
        }
    }
}

/// The connections' shared state and the event loop they run on.
struct Run<'a> {
    settings: &'a Settings,
    pattern: Rc<Pattern>,
    window: Rc<Cell<Option<Window>>>,
    driver: Driver<LoadConn>,
    tally: Tally,
}

impl Run<'_> {
    /// Opens connection number `index`; a failure is counted, not returned.
    fn connect(&mut self, index: usize) -> Result<Option<ConnId>, String> {
        let settings = self.settings;
        let config = WsConfig {
            deflate: settings.deflate,
            ..client_config(settings.max_size)
        };
        let stack = client_stack(&settings.url, settings.tls.clone(), config)?;
        let st = LoadState::new(
            index,
            Rc::clone(&self.pattern),
            Rc::clone(&self.window),
            settings.in_flight,
            settings.limit,
            settings.mode == Mode::Handshakes,
        );
        let conn = LoadConn {
            stack,
            top: PipeBufPair::new(),
            st,
        };
        let addr = settings.url.socket_addr()?;
        match self.driver.connect_tcp(addr, conn, ClassId::DEFAULT) {
            Ok(id) => Ok(Some(id)),
            Err(e) => {
                self.tally.error(format!("connect to {addr}: {e}"));
                Ok(None)
            }
        }
    }

    /// Waits for events until `until` at most (and at most 100 ms).
    fn poll(&mut self, until: Instant) -> Result<(), String> {
        let wait = until
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        self.driver
            .poll(Some(wait))
            .map_err(|e| format!("event loop: {e}"))
    }

    fn server_cpu(&self) -> Option<f64> {
        self.settings.server_pid.and_then(process_cpu_secs)
    }

    /// Once the window is over, takes the server's CPU time over it (once).
    fn note_window_end(&mut self, deadline: Instant, cpu_start: Option<f64>) {
        if self.tally.server_cpu.is_none() && Instant::now() >= deadline {
            self.tally.server_cpu = cpu_start.zip(self.server_cpu()).map(|(a, b)| b - a);
        }
    }

    /// Phase 1: every connection opens (or fails) before the clock starts. Returns the open
    /// ones; the others are counted as errors and aborted.
    fn open_all(&mut self) -> Result<Vec<ConnId>, String> {
        let mut live = Vec::new();
        for index in 0..self.settings.connections {
            live.extend(self.connect(index)?);
        }
        let mut open: Vec<ConnId> = Vec::new();
        let give_up = Instant::now() + GRACE;
        while open.len() < live.len() && Instant::now() < give_up {
            self.poll(give_up)?;
            while let Some(event) = self.driver.next_event() {
                match event {
                    Event::Message {
                        id,
                        msg: Report::Open,
                    } => open.push(id),
                    Event::Left { id, reason, .. } => {
                        live.retain(|&l| l != id);
                        open.retain(|&o| o != id);
                        self.tally.left(reason, false);
                    }
                    _ => (),
                }
            }
        }
        self.tally.opened = open.len();
        for &id in live.iter().filter(|id| !open.contains(id)) {
            self.tally
                .error(format!("connection not open after {GRACE:?}"));
            self.driver.abort(id);
        }
        while self.driver.next_event().is_some() {}
        Ok(open)
    }

    /// Phase 2 of the echo mode: the measured window, then the drain and the close
    /// handshakes.
    fn echo(&mut self, live: Vec<ConnId>) -> Result<(), String> {
        let mut live: HashSet<ConnId> = live.into_iter().collect();
        let mut next_index = self.settings.connections;
        let start = Instant::now();
        let deadline = start + self.settings.duration;
        self.window.set(Some(Window { start, deadline }));
        let cpu_start = self.server_cpu();
        let stats_start = self.driver.stats();
        for &id in &live {
            // A turn for each, so that it starts sending now that the window is set.
            self.driver.wake(id);
        }
        let mut done: HashSet<ConnId> = HashSet::new();
        let give_up = deadline + GRACE;
        while !live.is_empty() && Instant::now() < give_up {
            self.poll(if Instant::now() < deadline {
                deadline
            } else {
                give_up
            })?;
            let now = Instant::now();
            self.note_window_end(deadline, cpu_start);
            while let Some(event) = self.driver.next_event() {
                match event {
                    Event::Message {
                        id,
                        msg: Report::Done(report),
                    } => {
                        done.insert(id);
                        self.tally.latencies.extend(report.latencies);
                        self.tally.bytes += report.bytes;
                        self.tally.echoed += report.echoed;
                        self.tally.echoed_bytes += report.echoed_bytes;
                        if let (Some(limit), false) = (self.settings.limit, self.settings.reconnect)
                        {
                            self.tally.elapsed = Some(now.saturating_duration_since(start));
                            if report.echoed < limit {
                                self.tally.error(format!(
                                    "only {} of {limit} messages echoed within {:?}",
                                    report.echoed, self.settings.duration
                                ));
                            }
                        }
                    }
                    Event::Message {
                        msg: Report::Open, ..
                    } => self.tally.opened += 1,
                    Event::Left { id, reason, .. } => {
                        live.remove(&id);
                        let was_done = done.remove(&id);
                        self.tally.left(reason, was_done);
                        if self.settings.reconnect && now < deadline {
                            live.extend(self.connect(next_index)?);
                            next_index += 1;
                        }
                    }
                    _ => (),
                }
            }
        }
        for id in live {
            let what = if done.contains(&id) {
                "no end of the close handshake"
            } else {
                "echoes still missing"
            };
            self.tally
                .error(format!("{what} {GRACE:?} after the time was up"));
            self.driver.abort(id);
        }
        let stats_end = self.driver.stats();
        self.tally.wire = Some((
            stats_end.bytes_written - stats_start.bytes_written,
            stats_end.bytes_read - stats_start.bytes_read,
        ));
        Ok(())
    }

    /// The handshake mode: each slot opens, closes and opens again until the time is up.
    fn handshakes(&mut self) -> Result<(), String> {
        let start = Instant::now();
        let deadline = start + self.settings.duration;
        let cpu_start = self.server_cpu();
        let mut live: Vec<ConnId> = Vec::new();
        let mut opened: Vec<ConnId> = Vec::new();
        let mut next_index = 0;
        for _ in 0..self.settings.connections {
            live.extend(self.connect(next_index)?);
            next_index += 1;
        }
        let give_up = deadline + GRACE;
        while !live.is_empty() && Instant::now() < give_up {
            self.poll(if Instant::now() < deadline {
                deadline
            } else {
                give_up
            })?;
            let now = Instant::now();
            self.note_window_end(deadline, cpu_start);
            while let Some(event) = self.driver.next_event() {
                match event {
                    Event::Message {
                        id,
                        msg: Report::Open,
                    } => {
                        opened.push(id);
                        if now <= deadline {
                            self.tally.handshakes += 1;
                        }
                    }
                    Event::Left { id, reason, .. } => {
                        live.retain(|&l| l != id);
                        let was_open = opened.contains(&id);
                        opened.retain(|&o| o != id);
                        self.tally.left(reason, was_open);
                        if now < deadline {
                            live.extend(self.connect(next_index)?);
                            next_index += 1;
                        }
                    }
                    _ => (),
                }
            }
        }
        for id in live {
            self.tally.error(format!(
                "a handshake still unfinished {GRACE:?} after the time was up"
            ));
            self.driver.abort(id);
        }
        Ok(())
    }

    /// The hold mode: the open connections stay idle for `hold`.
    fn hold(&mut self, live: &[ConnId], hold: Duration) -> Result<(), String> {
        println!("ready {}", live.len());
        std::io::Write::flush(&mut std::io::stdout()).map_err(|e| format!("stdout: {e}"))?;
        let until = Instant::now() + hold;
        while Instant::now() < until {
            self.poll(until)?;
            while let Some(event) = self.driver.next_event() {
                if let Event::Left { reason, .. } = event {
                    self.tally.left(reason, false);
                }
            }
        }
        Ok(())
    }
}

fn run(settings: &Settings) -> Result<Tally, String> {
    let config = DriverConfig {
        max_connections: settings.connections,
        ..DriverConfig::default()
    };
    let driver: Driver<LoadConn> =
        Driver::new(config, Box::new(|_| None)).map_err(|e| format!("event loop: {e}"))?;
    let mut run = Run {
        settings,
        pattern: Rc::new(Pattern::new(
            settings.size,
            settings.max_size,
            settings.payload,
        )),
        window: Rc::new(Cell::new(None)),
        driver,
        tally: Tally::default(),
    };
    match settings.mode {
        Mode::Handshakes => run.handshakes()?,
        Mode::Echo => {
            let live = run.open_all()?;
            if !live.is_empty() {
                run.echo(live)?;
            }
        }
        Mode::Hold(hold) => {
            let live = run.open_all()?;
            run.hold(&live, hold)?;
        }
    }
    Ok(run.tally)
}

/// Runs the load and prints the JSON line (see the exit status above).
fn load(args: &Args<'_>) -> Result<(), Error> {
    let settings = settings(args)?;
    let mut tally = run(&settings)?;
    for note in &tally.notes {
        eprintln!("load: {note}");
    }
    tally.latencies.sort_unstable();
    let secs = tally
        .elapsed
        .unwrap_or(settings.duration)
        .as_secs_f64()
        .max(1e-6);
    let unit = if settings.mode == Mode::Handshakes {
        "handshake"
    } else {
        "msg"
    };
    let cpu = |count: usize| server_cpu_json(tally.server_cpu, unit, count);
    match settings.mode {
        Mode::Echo => {
            let count = tally.latencies.len();
            let rate = count as f64 / secs;
            let mib = tally.bytes as f64 / secs / (1024.0 * 1024.0);
            let per_msg = |n: u64| {
                if tally.echoed > 0 {
                    n as f64 / tally.echoed as f64
                } else {
                    0.0
                }
            };
            let (sent, received) = tally.wire.unwrap_or((0, 0));
            let wire = format!(
                ",\"wire_sent_per_msg\":{:.1},\"wire_received_per_msg\":{:.1},\"payload_per_msg\":{:.1}",
                per_msg(sent),
                per_msg(received),
                per_msg(tally.echoed_bytes),
            );
            let counts = if settings.limit.is_some() {
                format!(",\"messages\":{},\"opened\":{}", tally.echoed, tally.opened)
            } else {
                String::new()
            };
            println!(
                "{{\"msgs_per_sec\":{rate:.1},\"mib_per_sec\":{mib:.3},\"p50_us\":{:.1},\"p99_us\":{:.1},\"connections\":{},\"size\":{},\"errors\":{}{}{wire}{counts}}}",
                quantile_us(&tally.latencies, 0.50),
                quantile_us(&tally.latencies, 0.99),
                settings.connections,
                settings.size,
                tally.errors,
                cpu(count),
            );
        }
        Mode::Handshakes => {
            let rate = tally.handshakes as f64 / secs;
            println!(
                "{{\"handshakes_per_sec\":{rate:.1},\"connections\":{},\"errors\":{}{}}}",
                settings.connections,
                tally.errors,
                cpu(tally.handshakes),
            );
            if tally.handshakes == 0 {
                return Err(Error::failed("no handshake completed"));
            }
            return Ok(());
        }
        Mode::Hold(_) => {
            println!(
                "{{\"held\":{},\"connections\":{},\"errors\":{}}}",
                tally.opened, settings.connections, tally.errors
            );
        }
    }
    if tally.mismatches > 0 {
        return Err(Error::failed(format!(
            "{} connections got wrong echoes",
            tally.mismatches
        )));
    }
    if tally.opened == 0 {
        return Err(Error::failed("no connection could be opened"));
    }
    Ok(())
}

fn main() -> ExitCode {
    CLI.main(load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_messages_have_the_exact_size_and_differ_per_connection_and_message() {
        for len in [0, 1, 2, 3, 50, 200, 1024, 70_000] {
            let m = json_message(3, 7, len);
            assert_eq!(m.len(), len);
            assert!(m.is_ascii());
            assert_eq!(m, json_message(3, 7, len), "deterministic");
            if len >= 2 {
                assert_eq!((m[0], m[len - 1]), (b'[', b']'));
            }
        }
        let m = json_message(0, 0, 1024);
        let text = std::str::from_utf8(&m).unwrap();
        assert!(text.starts_with("[{\"id\":"), "{text}");
        assert!(text.matches("\"user\":").count() >= 5, "{text}");
        assert!(text.trim_end_matches([' ', ']']).ends_with('}'), "{text}");
        assert_ne!(m, json_message(0, 1, 1024));
        assert_ne!(m, json_message(1, 0, 1024));
    }

    #[test]
    fn a_json_pattern_sends_text_and_a_binary_one_binary() {
        let json = Pattern::new(10, 20, Payload::Json);
        assert_eq!(json.kind(), MessageKind::Text);
        assert!(json.bytes.is_empty());
        assert_eq!(json.json(2, 5).len(), json.len(2, 5));
        let binary = Pattern::new(10, 20, Payload::Binary);
        assert_eq!(binary.kind(), MessageKind::Binary);
        assert_eq!(binary.message(2, 5).len(), binary.len(2, 5));
    }
}
