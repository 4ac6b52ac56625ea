//! `echo_load`: a load generator for TCP and TLS echo servers. Each connection sends a
//! message, reads back the echo of exactly that many bytes (checking every byte), records the
//! round-trip time and sends the next, until the time is up; with `--inflight K` each
//! connection keeps K messages on the way.
//!
//! ```text
//! cargo run --release -p pipebuf_examples --bin echo_load -- --addr 127.0.0.1:7007 --size 16
//! cargo run --release -p pipebuf_examples --bin echo_load -- --addr 127.0.0.1:7443 --tls
//! cargo run --release -p pipebuf_examples --bin echo_load -- --addr 127.0.0.1:7443 --tls --handshakes
//! ```
//!
//! Flags: see `echo_load --help` ([`CLI`]). Without `--ca`, `--tls` accepts **any** server
//! certificate (see `pipebuf_examples::tls::BenchmarkOnlyAcceptAnyServerCert`: for
//! benchmarks on our own servers only).
//!
//! Connections are all made (and with `--tls` their handshakes completed) before the clock
//! starts. Messages that complete after the time is up are drained but not counted. Then each
//! connection closes its sending side (TCP: half-close; TLS: close_notify, no TCP FIN) and must
//! see the server's end of stream (TLS: the server's close_notify, then the TCP end of stream)
//! with no extra byte. Prints one JSON line:
//!
//! ```text
//! {"conns":64,"size":16,"secs":5.000,"msgs":..,"msgs_per_sec":..,"mib_per_sec":..,"p50_us":..,"p99_us":..,"errors":..}
//! ```
//!
//! `mib_per_sec` counts echoed payload in one direction (msgs × size / s / MiB). `errors`
//! counts connections that failed: connect or handshake errors, resets, wrong bytes, early or
//! missing end of stream, echoes still missing 5 s after the time was up. The first few are
//! described on stderr. Exit status: 1 if any echo came back wrong or no message (handshake
//! mode: no cycle) completed in time (the JSON is printed anyway), 2 on bad flags, else 0:
//! other errors show in `errors` only, which the benchmark scripts check.
//!
//! Handshake mode (`--tls --handshakes`): each of the `--conns` connections runs cycles until
//! the time is up: connect, full TLS handshake, one `--size` message echoed, close_notify,
//! wait for the server's close_notify and TCP end of stream, close. The server closes first,
//! so the TIME_WAIT state stays on the server's side and the client's ports are not used up.
//! Cycles that finish after the time is up are not counted. Prints one JSON line; the
//! latencies are those of whole cycles, and `errors` counts failed cycles:
//!
//! ```text
//! {"conns":64,"size":16,"secs":5.000,"handshakes":..,"handshakes_per_sec":..,"p50_us":..,"p99_us":..,"errors":..}
//! ```

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Registry, Token};
use pipebuf_examples::cli::flags::{SERVER_PID, server_pid};
use pipebuf_examples::cli::{Args, Error, Flag, Program};
use pipebuf_examples::{process_cpu_secs, server_cpu_json};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

/// How long outstanding echoes may take after the time is up, how long the closing
/// handshake may take, and how long a handshake before the clock may take.
const GRACE: Duration = Duration::from_secs(5);

/// Bytes asked for per read.
const READ_CHUNK: usize = 64 * 1024;

/// The TLS side of a job.
#[derive(Debug, Clone)]
struct TlsSetup {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl TlsSetup {
    fn connection(&self) -> io::Result<ClientConnection> {
        ClientConnection::new(Arc::clone(&self.config), self.name.clone()).map_err(io::Error::other)
    }
}

/// What each thread is asked to do.
#[derive(Debug, Clone)]
struct Job {
    addr: SocketAddr,
    conns: usize,
    size: usize,
    inflight: usize,
    first_conn: usize,
    tls: Option<TlsSetup>,
    /// Handshake mode: connections cycle through connect, handshake, one echo, close.
    handshakes: bool,
}

/// What each thread reports.
#[derive(Debug, Default)]
struct Outcome {
    /// Messages (handshake mode: cycles) completed in time.
    msgs: u64,
    /// Round-trip times of the counted messages (or cycles), in nanoseconds.
    latencies: Vec<u64>,
    errors: u64,
    /// Connections that got bytes back that they had not sent (counted in `errors` too).
    wrong: u64,
    /// The first few errors, described.
    notes: Vec<String>,
}

impl Outcome {
    fn error(&mut self, conn: usize, what: impl std::fmt::Display) {
        self.errors += 1;
        if self.notes.len() < 5 {
            self.notes.push(format!("connection {conn}: {what}"));
        }
    }

    fn record(&mut self, took: Duration) {
        self.msgs += 1;
        self.latencies
            .push(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
    }
}

/// The byte stream: message `seq` is `pattern[offset(seq)..offset(seq) + size]`, so each
/// message differs from its neighbours and checking an echo is a `memcmp`.
struct Pattern {
    bytes: Vec<u8>,
    size: usize,
}

impl Pattern {
    /// Distinct starting offsets.
    const SHIFTS: usize = 251;

    fn new(size: usize) -> Self {
        let mut x: u32 = 0x9e37_79b9;
        let bytes = (0..size + Self::SHIFTS)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        Pattern { bytes, size }
    }

    fn message(&self, conn: usize, seq: u64) -> &[u8] {
        let shift = (seq as usize).wrapping_mul(7).wrapping_add(conn) % Self::SHIFTS;
        &self.bytes[shift..shift + self.size]
    }
}

/// One connection's byte stream as the load sees it: plain TCP, or TLS over TCP.
enum Wire {
    Tcp(mio::net::TcpStream),
    Tls(Box<TlsWire>),
}

/// A rustls client over a non-blocking socket.
struct TlsWire {
    tls: ClientConnection,
    stream: mio::net::TcpStream,
    /// The server's close_notify has arrived: only the TCP end of stream may follow.
    peer_closed: bool,
    /// The last socket read returned less than it asked for: the socket was drained.
    drained: bool,
}

/// A socket reader that notes whether a read came back short.
struct NoteShort<'a> {
    stream: &'a mut mio::net::TcpStream,
    short: bool,
}

impl Read for NoteShort<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        self.short = n < buf.len();
        Ok(n)
    }
}

impl TlsWire {
    fn new(tls: ClientConnection, stream: mio::net::TcpStream) -> Self {
        TlsWire {
            tls,
            stream,
            peer_closed: false,
            drained: false,
        }
    }

    /// Sends queued TLS records until none is left (`Ok`) or the socket is full
    /// (`WouldBlock`).
    fn flush(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.stream) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(_) => (),
                Err(e) if e.kind() == ErrorKind::Interrupted => (),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.peer_closed {
                // Anything but the TCP end of stream after close_notify is an error.
                return match self.stream.read(buf)? {
                    0 => Ok(0),
                    n => Err(io::Error::new(
                        ErrorKind::InvalidData,
                        format!("{n} bytes after the server's close_notify"),
                    )),
                };
            }
            match self.tls.reader().read(buf) {
                Ok(0) => {
                    self.peer_closed = true;
                    continue;
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => (),
                // UnexpectedEof: a TCP end of stream without close_notify.
                Err(e) => return Err(e),
            }
            let mut socket = NoteShort {
                stream: &mut self.stream,
                short: false,
            };
            match self.tls.read_tls(&mut socket) {
                Ok(_) => self.drained = socket.short,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let processed = self.tls.process_new_packets();
            // Handshake messages, alerts and the like may be waiting to go out; if the socket
            // is full, the next writable event sends them.
            match self.flush() {
                Err(e) if e.kind() != ErrorKind::WouldBlock => return Err(e),
                _ => (),
            }
            if let Err(e) = processed {
                return Err(io::Error::new(ErrorKind::InvalidData, e));
            }
        }
    }
}

impl Wire {
    fn stream(&mut self) -> &mut mio::net::TcpStream {
        match self {
            Wire::Tcp(stream) => stream,
            Wire::Tls(wire) => &mut wire.stream,
        }
    }

    /// Sends the start of `data`, returning how much was taken; `Ok(0)`: nothing for now,
    /// though the socket is not full (TLS still handshaking with its plaintext buffer full).
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Wire::Tcp(stream) => match stream.write(data)? {
                0 => Err(ErrorKind::WriteZero.into()),
                n => Ok(n),
            },
            Wire::Tls(wire) => {
                let n = wire.tls.writer().write(data)?;
                match wire.flush() {
                    Err(e) if e.kind() == ErrorKind::WouldBlock && n > 0 => Ok(n),
                    Err(e) => Err(e),
                    Ok(()) => Ok(n),
                }
            }
        }
    }

    /// Sends whatever is queued below the plaintext (TLS records); `WouldBlock` when the
    /// socket is full.
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Wire::Tcp(_) => Ok(()),
            Wire::Tls(wire) => wire.flush(),
        }
    }

    /// Reads echoed bytes; `Ok(0)` is the server's clean end of stream.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Wire::Tcp(stream) => stream.read(buf),
            Wire::Tls(wire) => wire.read(buf),
        }
    }

    /// Whether a read of `n` bytes into a buffer of `len` shows the socket drained (as tokio
    /// assumes too): then the next data or end of stream brings a new edge-triggered event.
    fn drained(&mut self, n: usize, len: usize) -> bool {
        match self {
            Wire::Tcp(_) => n < len,
            // All plaintext taken, and the last socket read came back short.
            Wire::Tls(wire) => n < len && std::mem::take(&mut wire.drained),
        }
    }

    /// Ends our sending side: TCP half-close, or TLS close_notify (no TCP FIN, so that the
    /// server closes the TCP connection first).
    fn close(&mut self) -> io::Result<()> {
        match self {
            Wire::Tcp(stream) => stream.shutdown(Shutdown::Write),
            Wire::Tls(wire) => {
                wire.tls.send_close_notify();
                match wire.flush() {
                    Err(e) if e.kind() != ErrorKind::WouldBlock => Err(e),
                    _ => Ok(()),
                }
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    /// Sending and receiving messages.
    Running,
    /// Half-closed; waiting for the server's end of stream.
    Closing,
    /// Finished (cleanly or with an error).
    Done,
}

struct Conn {
    index: usize,
    wire: Wire,
    phase: Phase,
    writable: bool,
    /// The socket may hold data not read yet.
    readable: bool,
    /// An event reported the peer's end of stream (or an error): read to the end.
    read_closed: bool,
    /// Messages started.
    issued: u64,
    /// Messages whose bytes were all written, and bytes written of the next.
    tx_seq: u64,
    tx_off: usize,
    /// Messages whose echo was all received, and bytes received of the next.
    rx_seq: u64,
    rx_off: usize,
    /// When each outstanding message was started.
    started: VecDeque<Instant>,
    /// When the connection was started (handshake mode: the start of its cycle).
    born: Instant,
}

/// State shared by all connections of one thread.
struct Shared<'a> {
    pattern: &'a Pattern,
    inflight: u64,
    /// Handshake mode: one message per connection, and cycles are counted, not messages.
    handshakes: bool,
    /// Start no message (handshake mode: no cycle) after this instant; count none completed
    /// after it.
    deadline: Instant,
    buf: Vec<u8>,
    out: Outcome,
}

impl Conn {
    fn new(index: usize, wire: Wire, born: Instant) -> Self {
        Conn {
            index,
            wire,
            phase: Phase::Running,
            writable: true,
            readable: true,
            read_closed: false,
            issued: 0,
            tx_seq: 0,
            tx_off: 0,
            rx_seq: 0,
            rx_off: 0,
            started: VecDeque::new(),
            born,
        }
    }

    /// Starts messages up to the in-flight count while the time is not up (handshake mode:
    /// the cycle's one message, whatever the time).
    fn issue(&mut self, shared: &Shared<'_>, now: Instant) {
        if shared.handshakes {
            if self.issued == 0 {
                self.issued = 1;
                self.started.push_back(now);
            }
            return;
        }
        if now >= shared.deadline {
            return;
        }
        while self.issued - self.rx_seq < shared.inflight {
            self.issued += 1;
            self.started.push_back(now);
        }
    }

    /// Sends what is queued, then writes started messages while the socket takes them.
    fn write(&mut self, shared: &Shared<'_>) -> io::Result<()> {
        if self.writable {
            match self.wire.flush() {
                Ok(()) => (),
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.writable = false,
                Err(e) => return Err(e),
            }
        }
        while self.writable && self.tx_seq < self.issued {
            let msg = shared.pattern.message(self.index, self.tx_seq);
            match self.wire.write(&msg[self.tx_off..]) {
                // Room comes with the end of the handshake, which a read brings.
                Ok(0) => break,
                Ok(n) => {
                    self.tx_off += n;
                    if self.tx_off == msg.len() {
                        self.tx_seq += 1;
                        self.tx_off = 0;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.writable = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => (),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads and checks echoes until the socket is drained; returns an error message for a
    /// broken stream.
    fn read(&mut self, shared: &mut Shared<'_>) -> Result<(), String> {
        loop {
            let n = match self.wire.read(&mut shared.buf) {
                Ok(0) => {
                    if self.phase == Phase::Closing && self.rx_seq == self.issued {
                        self.phase = Phase::Done;
                        return Ok(());
                    }
                    return Err(format!(
                        "end of stream after {} of {} echoes",
                        self.rx_seq, self.issued
                    ));
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.readable = false;
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("read: {e}")),
            };
            let now = Instant::now();
            let mut got = &shared.buf[..n];
            while !got.is_empty() {
                // Bytes sent and not yet echoed, in the message being received.
                let sent = match self.rx_seq.cmp(&self.tx_seq) {
                    std::cmp::Ordering::Less => shared.pattern.size,
                    std::cmp::Ordering::Equal => self.tx_off,
                    std::cmp::Ordering::Greater => 0,
                };
                if sent <= self.rx_off {
                    shared.out.wrong += 1;
                    return Err(format!("{} bytes nobody sent", got.len()));
                }
                let expected = &shared.pattern.message(self.index, self.rx_seq)[self.rx_off..sent];
                let take = expected.len().min(got.len());
                if got[..take] != expected[..take] {
                    shared.out.wrong += 1;
                    return Err(format!(
                        "wrong bytes in echo {} at offset {}",
                        self.rx_seq, self.rx_off
                    ));
                }
                got = &got[take..];
                self.rx_off += take;
                if self.rx_off == shared.pattern.size {
                    self.rx_off = 0;
                    self.rx_seq += 1;
                    if let Some(start) = self.started.pop_front()
                        && now <= shared.deadline
                        && !shared.handshakes
                    {
                        shared.out.record(now.saturating_duration_since(start));
                    }
                }
            }
            self.issue(shared, now);
            if let Err(e) = self.write(shared) {
                return Err(format!("write: {e}"));
            }
            // A drained socket: skip the read that would only say WouldBlock.
            if !self.read_closed && self.wire.drained(n, shared.buf.len()) {
                self.readable = false;
                return Ok(());
            }
        }
    }

    /// Handles readiness: the whole state machine of one connection.
    fn step(&mut self, shared: &mut Shared<'_>, now: Instant) -> Result<(), String> {
        if self.phase == Phase::Done {
            return Ok(());
        }
        self.issue(shared, now);
        self.write(shared).map_err(|e| format!("write: {e}"))?;
        if self.readable {
            self.read(shared)?;
        }
        let finished = if shared.handshakes {
            self.issued > 0
        } else {
            now >= shared.deadline
        };
        if self.phase == Phase::Running && finished && self.rx_seq == self.issued {
            self.wire.close().map_err(|e| format!("close: {e}"))?;
            self.phase = Phase::Closing;
            // The end of stream may already be waiting.
            if self.readable {
                self.read(shared)?;
            }
        }
        Ok(())
    }
}

/// Connects with a blocking socket, completes the TLS handshake if any, and returns the
/// connection made non-blocking and registered as `token`.
fn open_ready(job: &Job, registry: &Registry, token: usize) -> io::Result<Wire> {
    let mut stream = TcpStream::connect(job.addr)?;
    stream.set_nodelay(true)?;
    let mut wire = match &job.tls {
        None => {
            stream.set_nonblocking(true)?;
            Wire::Tcp(mio::net::TcpStream::from_std(stream))
        }
        Some(setup) => {
            let mut tls = setup.connection()?;
            stream.set_read_timeout(Some(GRACE))?;
            while tls.is_handshaking() {
                if tls.complete_io(&mut stream)? == (0, 0) {
                    return Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "end of stream during the handshake",
                    ));
                }
            }
            stream.set_nonblocking(true)?;
            let stream = mio::net::TcpStream::from_std(stream);
            Wire::Tls(Box::new(TlsWire::new(tls, stream)))
        }
    };
    registry.register(
        wire.stream(),
        Token(token),
        Interest::READABLE | Interest::WRITABLE,
    )?;
    Ok(wire)
}

/// Starts a non-blocking connection registered as `token` (handshake mode: the handshake
/// runs in the event loop).
fn open_async(job: &Job, registry: &Registry, token: usize) -> io::Result<Wire> {
    let tls = match &job.tls {
        Some(setup) => Some(setup.connection()?),
        None => None,
    };
    let mut stream = mio::net::TcpStream::connect(job.addr)?;
    stream.set_nodelay(true)?;
    registry.register(
        &mut stream,
        Token(token),
        Interest::READABLE | Interest::WRITABLE,
    )?;
    Ok(match tls {
        Some(tls) => Wire::Tls(Box::new(TlsWire::new(tls, stream))),
        None => Wire::Tcp(stream),
    })
}

/// After a step of connection `token`: counts errors and, in handshake mode, completed
/// cycles, and starts the next cycle while the time is not up. Returns whether the
/// connection is still live.
fn settle(
    conns: &mut [Conn],
    token: usize,
    stepped: Result<(), String>,
    shared: &mut Shared<'_>,
    job: &Job,
    registry: &Registry,
) -> bool {
    let Some(conn) = conns.get_mut(token) else {
        return false;
    };
    if let Err(e) = stepped {
        shared.out.error(conn.index, e);
        conn.phase = Phase::Done;
        return false;
    }
    if conn.phase != Phase::Done {
        return true;
    }
    if !shared.handshakes {
        return false;
    }
    let now = Instant::now();
    if now > shared.deadline {
        return false;
    }
    shared.out.record(now.saturating_duration_since(conn.born));
    match open_async(job, registry, token) {
        Ok(wire) => {
            *conn = Conn::new(conn.index, wire, now);
            true
        }
        Err(e) => {
            shared
                .out
                .error(conn.index, format!("connect to {}: {e}", job.addr));
            false
        }
    }
}

/// Connects one thread's connections (handshake mode: none yet), waits at `barrier` until
/// every thread has, then runs them for `duration` plus the drain and close.
fn run_job(job: Job, barrier: &Barrier, duration: Duration) -> Outcome {
    let pattern = Pattern::new(job.size);
    let mut shared = Shared {
        pattern: &pattern,
        inflight: job.inflight as u64,
        handshakes: job.handshakes,
        deadline: Instant::now(),
        buf: vec![0; READ_CHUNK],
        out: Outcome::default(),
    };
    let mut poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => {
            for i in 0..job.conns {
                shared.out.error(job.first_conn + i, format!("poll: {e}"));
            }
            barrier.wait();
            return shared.out;
        }
    };
    let mut conns: Vec<Conn> = Vec::with_capacity(job.conns);
    if !job.handshakes {
        for i in 0..job.conns {
            let index = job.first_conn + i;
            match open_ready(&job, poll.registry(), conns.len()) {
                Ok(wire) => conns.push(Conn::new(index, wire, Instant::now())),
                Err(e) => shared
                    .out
                    .error(index, format!("connect to {}: {e}", job.addr)),
            }
        }
    }
    barrier.wait();
    let now = Instant::now();
    let deadline = now + duration;
    shared.deadline = deadline;
    if job.handshakes {
        for i in 0..job.conns {
            let index = job.first_conn + i;
            match open_async(&job, poll.registry(), conns.len()) {
                Ok(wire) => conns.push(Conn::new(index, wire, now)),
                Err(e) => shared
                    .out
                    .error(index, format!("connect to {}: {e}", job.addr)),
            }
        }
    }

    let mut events = Events::with_capacity(1024);
    let mut live = 0;
    for token in 0..conns.len() {
        let stepped = conns[token].step(&mut shared, now);
        if settle(
            &mut conns,
            token,
            stepped,
            &mut shared,
            &job,
            poll.registry(),
        ) {
            live += 1;
        }
    }
    let give_up = deadline + GRACE;
    let mut past_deadline = false;
    let mut touched: Vec<usize> = Vec::new();
    while live > 0 {
        let now = Instant::now();
        if now >= give_up {
            break;
        }
        let timeout = poll_timeout(now, deadline, give_up, past_deadline);
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            for conn in conns.iter().filter(|c| c.phase != Phase::Done) {
                shared.out.error(conn.index, format!("poll: {e}"));
            }
            return shared.out;
        }
        let now = Instant::now();
        touched.clear();
        for event in events.iter() {
            let Some(conn) = conns.get_mut(event.token().0) else {
                continue;
            };
            if event.is_writable() || event.is_write_closed() || event.is_error() {
                conn.writable = true;
            }
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                conn.readable = true;
            }
            if event.is_read_closed() || event.is_error() {
                conn.read_closed = true;
            }
            touched.push(event.token().0);
        }
        // Once the time is up, every connection must get a chance to start closing, even
        // without an event.
        if now >= deadline && !past_deadline {
            past_deadline = true;
            touched.clear();
            touched.extend(0..conns.len());
        }
        for &token in &touched {
            let Some(conn) = conns.get_mut(token) else {
                continue;
            };
            if conn.phase == Phase::Done {
                continue;
            }
            let stepped = conn.step(&mut shared, now);
            if !settle(
                &mut conns,
                token,
                stepped,
                &mut shared,
                &job,
                poll.registry(),
            ) {
                live -= 1;
            }
        }
    }
    for conn in conns.iter().filter(|c| c.phase != Phase::Done) {
        let what = if conn.phase == Phase::Running {
            format!(
                "{} of {} echoes missing {GRACE:?} after the time was up",
                conn.issued - conn.rx_seq,
                conn.issued
            )
        } else {
            format!("no end of stream {GRACE:?} after closing")
        };
        shared.out.error(conn.index, what);
    }
    shared.out
}

/// How long the event loop may wait for events. Until the time is up: until then. Once it is
/// up, every connection must be stepped once more (those whose last echo came in just before
/// have no event left to wake them), so the first wait after it does not block; then events
/// are awaited until `give_up`.
fn poll_timeout(now: Instant, deadline: Instant, give_up: Instant, swept: bool) -> Duration {
    let until = if swept { give_up } else { deadline };
    until.saturating_duration_since(now)
}

/// The `q` quantile of sorted nanoseconds, in microseconds.
fn quantile_us(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

/// The command line.
static CLI: Program = Program {
    name: "echo_load",
    about: "a load generator for TCP and TLS echo servers: each connection sends a message, \
            reads back its echo (checking every byte) and sends the next, until the time is \
            up. Prints one JSON line (conns, size, secs, msgs, msgs_per_sec, mib_per_sec, p50_us, \
            p99_us, errors); exits 1 if an echo came back wrong or nothing completed in time \
            (the JSON is printed anyway). With --tls --handshakes each connection instead \
            runs cycles of connect, full TLS handshake, one message, close.",
    operand: None,
    flags: &[
        Flag::value("addr", "HOST:PORT", "The echo server.").required(),
        Flag::value("conns", "N", "Connections.").default("64"),
        Flag::value("size", "BYTES", "Bytes per message.").default("16"),
        Flag::value(
            "secs",
            "S",
            "How long to measure (fractions allowed, at most a day).",
        )
        .default("5"),
        Flag::value("inflight", "K", "Messages on the way per connection.").default("1"),
        Flag::value(
            "threads",
            "T",
            "Threads, each a mio loop over its share of the connections.",
        )
        .default("1"),
        SERVER_PID,
        Flag::switch(
            "tls",
            "Speak TLS through a rustls client: full handshakes, no session resumption.",
        ),
        Flag::value(
            "ca",
            "PEM",
            "With --tls: trust this CA or self-signed certificate.",
        )
        .default_text("any server certificate (for benchmarks on our own servers only)"),
        Flag::value(
            "server-name",
            "NAME",
            "With --tls: the name to check the certificate against.",
        )
        .default_text("the IP address of --addr"),
        Flag::switch(
            "handshakes",
            "With --tls: handshake mode, cycles of connect, handshake, one echo, close.",
        ),
    ],
    examples: &[
        "echo_load --addr 127.0.0.1:7007 --size 16 --conns 64 --secs 5",
        "echo_load --addr 127.0.0.1:7443 --tls",
        "echo_load --addr 127.0.0.1:7443 --tls --handshakes --server-pid 1234",
    ],
};

/// The TLS setup from `--tls`, `--ca` and `--server-name`, if TLS is asked for.
fn tls_setup(args: &Args<'_>, addr: SocketAddr) -> Result<Option<TlsSetup>, Error> {
    if !args.is_set("tls") {
        if args.is_set("ca") || args.is_set("server-name") || args.is_set("handshakes") {
            return Err(Error::usage(
                "--ca, --server-name and --handshakes need --tls",
            ));
        }
        return Ok(None);
    }
    let config = pipebuf_examples::tls::load_client_config(args.text("ca"))?;
    let name = match args.text("server-name") {
        None => ServerName::IpAddress(addr.ip().into()),
        Some(name) => ServerName::try_from(name.to_string())
            .map_err(|e| Error::usage(format!("--server-name {name:?}: {e}")))?,
    };
    Ok(Some(TlsSetup { config, name }))
}

/// Runs the load (see the exit status above).
fn run(args: &Args<'_>) -> Result<(), Error> {
    let addr: SocketAddr = args.get("addr")?;
    let conns: usize = args.get("conns")?;
    let size: usize = args.get("size")?;
    let secs: f64 = args.get("secs")?;
    let inflight: usize = args.get("inflight")?;
    let threads: usize = args.get("threads")?;
    if conns == 0 || size == 0 || inflight == 0 || threads == 0 {
        return Err(Error::usage(
            "--conns, --size, --inflight and --threads must be at least 1",
        ));
    }
    if size > 1 << 30 {
        return Err(Error::usage("--size is at most 1 GiB"));
    }
    let duration = Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero() && *d <= Duration::from_secs(86_400))
        .ok_or_else(|| Error::usage("--secs must be above 0 and at most a day"))?;
    let tls = tls_setup(args, addr)?;
    let handshakes = args.is_set("handshakes");
    let server_pid = server_pid(args)?;

    let threads = threads.min(conns);
    // Every thread makes its connections before any clock starts; this one then reads the
    // server's CPU time over the measured window.
    let barrier = Arc::new(Barrier::new(threads + 1));
    let mut handles = Vec::new();
    let mut first_conn = 0;
    for t in 0..threads {
        let share = conns / threads + usize::from(t < conns % threads);
        let job = Job {
            addr,
            conns: share,
            size,
            inflight,
            first_conn,
            tls: tls.clone(),
            handshakes,
        };
        first_conn += share;
        let barrier = Arc::clone(&barrier);
        handles.push(std::thread::spawn(move || run_job(job, &barrier, duration)));
    }
    barrier.wait();
    let cpu_start = server_pid.and_then(process_cpu_secs);
    std::thread::sleep(duration);
    let server_cpu = cpu_start
        .zip(server_pid.and_then(process_cpu_secs))
        .map(|(a, b)| b - a);
    let mut total = Outcome::default();
    for handle in handles {
        let Ok(out) = handle.join() else {
            return Err(Error::failed("a load thread panicked"));
        };
        total.msgs += out.msgs;
        total.errors += out.errors;
        total.wrong += out.wrong;
        total.latencies.extend(out.latencies);
        total.notes.extend(out.notes);
    }
    for note in total.notes.iter().take(5) {
        eprintln!("echo_load: {note}");
    }
    total.latencies.sort_unstable();
    let secs = duration.as_secs_f64();
    let rate = total.msgs as f64 / secs;
    let p50 = quantile_us(&total.latencies, 0.50);
    let p99 = quantile_us(&total.latencies, 0.99);
    let unit = if handshakes { "handshake" } else { "msg" };
    let cpu = server_cpu_json(server_cpu, unit, total.msgs as usize);
    if handshakes {
        println!(
            "{{\"conns\":{conns},\"size\":{size},\"secs\":{secs:.3},\"handshakes\":{},\"handshakes_per_sec\":{rate:.1},\"p50_us\":{p50:.1},\"p99_us\":{p99:.1},\"errors\":{}{cpu}}}",
            total.msgs, total.errors,
        );
    } else {
        println!(
            "{{\"conns\":{conns},\"size\":{size},\"secs\":{secs:.3},\"msgs\":{},\"msgs_per_sec\":{rate:.1},\"mib_per_sec\":{:.2},\"p50_us\":{p50:.1},\"p99_us\":{p99:.1},\"errors\":{}{cpu}}}",
            total.msgs,
            rate * size as f64 / (1024.0 * 1024.0),
            total.errors,
        );
    }
    if total.wrong > 0 {
        return Err(Error::failed(format!(
            "{} connections got wrong echoes",
            total.wrong
        )));
    }
    if total.msgs == 0 {
        let what = if handshakes { "cycle" } else { "message" };
        return Err(Error::failed(format!("no {what} completed in time")));
    }
    Ok(())
}

fn main() -> ExitCode {
    CLI.main(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_wait_after_the_time_is_up_does_not_block() {
        let deadline = Instant::now();
        let give_up = deadline + GRACE;
        let later = deadline + Duration::from_millis(1);
        assert_eq!(
            poll_timeout(later, deadline, give_up, false),
            Duration::ZERO
        );
        assert_eq!(
            poll_timeout(later, deadline, give_up, true),
            GRACE - Duration::from_millis(1)
        );
    }

    #[test]
    fn before_the_time_is_up_the_wait_ends_at_the_deadline() {
        let now = Instant::now();
        let deadline = now + Duration::from_secs(2);
        let give_up = deadline + GRACE;
        assert_eq!(
            poll_timeout(now, deadline, give_up, false),
            Duration::from_secs(2)
        );
    }
}
