//! `echo_load`: a load generator for TCP echo servers. Each connection sends a message, reads
//! back the echo of exactly that many bytes (checking every byte), records the round-trip
//! time and sends the next, until the time is up; with `--inflight K` each connection keeps
//! K messages on the way.
//!
//! ```text
//! cargo run --release -p pipebuf_examples --bin echo_load -- --addr 127.0.0.1:7007 --size 16
//! ```
//!
//! Flags: `--addr HOST:PORT` (required), `--conns N` (default 64), `--size BYTES` (default
//! 16), `--secs S` (default 5, fractions allowed), `--inflight K` (default 1), `--threads T`
//! (default 1: each thread runs a mio loop over its share of the connections).
//!
//! Connections are all made before the clock starts. Messages that complete after the time
//! is up are drained but not counted. Then each connection half-closes and must see the
//! server's end of stream with no extra byte. Prints one JSON line:
//!
//! ```text
//! {"conns":64,"size":16,"secs":5.000,"msgs":..,"msgs_per_sec":..,"mib_per_sec":..,"p50_us":..,"p99_us":..,"errors":..}
//! ```
//!
//! `mib_per_sec` counts echoed payload in one direction (msgs × size / s / MiB). `errors`
//! counts connections that failed: connect errors, resets, wrong bytes, early or missing end
//! of stream, echoes still missing 5 s after the time was up. The first few are described
//! on stderr. Exit status is 0 even with errors (the JSON tells); 1 on bad flags.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use pipebuf_examples::Flags;

/// How long outstanding echoes may take after the time is up, and how long the closing
/// handshake may take.
const GRACE: Duration = Duration::from_secs(5);

/// Bytes asked for per read.
const READ_CHUNK: usize = 64 * 1024;

/// What each thread is asked to do.
#[derive(Debug, Clone)]
struct Job {
    addr: SocketAddr,
    conns: usize,
    size: usize,
    inflight: usize,
    first_conn: usize,
}

/// What each thread reports.
#[derive(Debug, Default)]
struct Outcome {
    msgs: u64,
    /// Round-trip times of the counted messages, in nanoseconds.
    latencies: Vec<u64>,
    errors: u64,
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
    stream: mio::net::TcpStream,
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
    started: std::collections::VecDeque<Instant>,
}

/// State shared by all connections of one thread.
struct Shared<'a> {
    pattern: &'a Pattern,
    inflight: u64,
    /// Start no message after this instant; count none completed after it.
    deadline: Instant,
    buf: Vec<u8>,
    out: Outcome,
}

impl Conn {
    /// Starts messages up to the in-flight count while the time is not up.
    fn issue(&mut self, shared: &Shared<'_>, now: Instant) {
        if now >= shared.deadline {
            return;
        }
        while self.issued - self.rx_seq < shared.inflight {
            self.issued += 1;
            self.started.push_back(now);
        }
    }

    /// Writes started messages while the socket takes them.
    fn write(&mut self, shared: &Shared<'_>) -> io::Result<()> {
        while self.writable && self.tx_seq < self.issued {
            let msg = shared.pattern.message(self.index, self.tx_seq);
            match self.stream.write(&msg[self.tx_off..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
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
            let n = match self.stream.read(&mut shared.buf) {
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
                    return Err(format!("{} bytes nobody sent", got.len()));
                }
                let expected = &shared.pattern.message(self.index, self.rx_seq)[self.rx_off..sent];
                let take = expected.len().min(got.len());
                if got[..take] != expected[..take] {
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
                    if let Some(start) = self.started.pop_front() {
                        if now <= shared.deadline {
                            shared.out.msgs += 1;
                            let nanos = now.saturating_duration_since(start).as_nanos();
                            shared
                                .out
                                .latencies
                                .push(u64::try_from(nanos).unwrap_or(u64::MAX));
                        }
                    }
                }
            }
            self.issue(shared, now);
            if let Err(e) = self.write(shared) {
                return Err(format!("write: {e}"));
            }
            // A short read drained the socket (as tokio assumes too): the next data or end
            // of stream brings a new edge-triggered event, so skip the read that would only
            // say WouldBlock.
            if n < shared.buf.len() && !self.read_closed {
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
        if self.phase == Phase::Running && now >= shared.deadline && self.rx_seq == self.issued {
            self.stream
                .shutdown(Shutdown::Write)
                .map_err(|e| format!("shutdown: {e}"))?;
            self.phase = Phase::Closing;
            // The end of stream may already be waiting.
            if self.readable {
                self.read(shared)?;
            }
        }
        Ok(())
    }
}

fn connect(addr: SocketAddr) -> io::Result<mio::net::TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_nonblocking(true)?;
    Ok(mio::net::TcpStream::from_std(stream))
}

/// Connects one thread's connections, waits at `barrier` until every thread has, then runs
/// them for `duration` plus the drain and close.
fn run_job(job: Job, barrier: &Barrier, duration: Duration) -> Outcome {
    let pattern = Pattern::new(job.size);
    let mut shared = Shared {
        pattern: &pattern,
        inflight: job.inflight as u64,
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
    for i in 0..job.conns {
        let index = job.first_conn + i;
        let registered = connect(job.addr).and_then(|mut stream| {
            poll.registry().register(
                &mut stream,
                Token(conns.len()),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            Ok(stream)
        });
        match registered {
            Ok(stream) => conns.push(Conn {
                index,
                stream,
                phase: Phase::Running,
                writable: true,
                readable: true,
                read_closed: false,
                issued: 0,
                tx_seq: 0,
                tx_off: 0,
                rx_seq: 0,
                rx_off: 0,
                started: std::collections::VecDeque::new(),
            }),
            Err(e) => shared
                .out
                .error(index, format!("connect to {}: {e}", job.addr)),
        }
    }
    barrier.wait();
    let now = Instant::now();
    let deadline = now + duration;
    shared.deadline = deadline;

    let mut events = Events::with_capacity(1024);
    let mut live = conns.len();
    for conn in conns.iter_mut() {
        if let Err(e) = conn.step(&mut shared, now) {
            shared.out.error(conn.index, e);
            conn.phase = Phase::Done;
        }
        if conn.phase == Phase::Done {
            live -= 1;
        }
    }
    let give_up = deadline + GRACE;
    let mut past_deadline = false;
    while live > 0 {
        let now = Instant::now();
        if now >= give_up {
            break;
        }
        let until = if now < deadline { deadline } else { give_up };
        let timeout = until.saturating_duration_since(now);
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
        let mut touched: Vec<usize> = Vec::new();
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
            touched = (0..conns.len()).collect();
        }
        for i in touched {
            let Some(conn) = conns.get_mut(i) else {
                continue;
            };
            if conn.phase == Phase::Done {
                continue;
            }
            if let Err(e) = conn.step(&mut shared, now) {
                shared.out.error(conn.index, e);
                conn.phase = Phase::Done;
            }
            if conn.phase == Phase::Done {
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

/// The `q` quantile of sorted nanoseconds, in microseconds.
fn quantile_us(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&["addr", "conns", "size", "secs", "inflight", "threads"])?;
    let addr: SocketAddr = flags
        .get("addr")
        .ok_or("--addr HOST:PORT is required")?
        .parse()
        .map_err(|e| format!("--addr: {e}"))?;
    let conns: usize = flags.parse_or("conns", 64)?;
    let size: usize = flags.parse_or("size", 16)?;
    let secs: f64 = flags.parse_or("secs", 5.0)?;
    let inflight: usize = flags.parse_or("inflight", 1)?;
    let threads: usize = flags.parse_or("threads", 1)?;
    if conns == 0 || size == 0 || inflight == 0 || threads == 0 {
        return Err("--conns, --size, --inflight and --threads must be at least 1".into());
    }
    if size > 1 << 30 {
        return Err("--size is at most 1 GiB".into());
    }
    let duration = Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero() && *d <= Duration::from_secs(86_400))
        .ok_or("--secs must be above 0 and at most a day")?;

    let threads = threads.min(conns);
    // Every thread makes its connections before any clock starts.
    let barrier = Arc::new(Barrier::new(threads));
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
        };
        first_conn += share;
        let barrier = Arc::clone(&barrier);
        handles.push(std::thread::spawn(move || run_job(job, &barrier, duration)));
    }
    let mut total = Outcome::default();
    for handle in handles {
        let out = handle
            .join()
            .map_err(|_| "a load thread panicked".to_string())?;
        total.msgs += out.msgs;
        total.errors += out.errors;
        total.latencies.extend(out.latencies);
        total.notes.extend(out.notes);
    }
    for note in total.notes.iter().take(5) {
        eprintln!("echo_load: {note}");
    }
    total.latencies.sort_unstable();
    let secs = duration.as_secs_f64();
    let rate = total.msgs as f64 / secs;
    println!(
        "{{\"conns\":{conns},\"size\":{size},\"secs\":{secs:.3},\"msgs\":{},\"msgs_per_sec\":{rate:.1},\"mib_per_sec\":{:.2},\"p50_us\":{:.1},\"p99_us\":{:.1},\"errors\":{}}}",
        total.msgs,
        rate * size as f64 / (1024.0 * 1024.0),
        quantile_us(&total.latencies, 0.50),
        quantile_us(&total.latencies, 0.99),
        total.errors,
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo_load: {e}");
            ExitCode::FAILURE
        }
    }
}
