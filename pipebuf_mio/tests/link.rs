//! Integration tests for [`pipebuf_mio::Link`] over real sockets: TCP on 127.0.0.1 (port 0
//! only) and Unix stream pairs.
//!
//! Covered: byte-exact echo, half-close in both directions, outgoing abort as an RST, peer
//! resets, peers that vanish while we write, backpressure both ways (including the
//! edge-triggered "remember readability" rule) and non-blocking connects.
//!
//! Every wait is bounded: the mio loop polls with short timeouts, peer threads use socket
//! timeouts, and each test has an overall deadline after which it fails instead of hanging.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream as StdTcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::{Events, Interest, Poll, Token};
use pipebuf::{EofKind, PBufState, PipeBuf, PipeBufPair};
use pipebuf_mio::{Link, LinkError, LinkStream};

/// Overall time limit of one test.
const DEADLINE: Duration = Duration::from_secs(20);
/// Read/write timeout of the peers' blocking sockets.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest single wait for readiness in the mio loop.
const TICK: Duration = Duration::from_millis(10);

// ---------------------------------------------------------------------------------------
// Test data: a fixed pseudo-random pattern with a prime period, so that offsets matter and
// both generating and checking are memcpy/memcmp speed even in debug builds.

const PATTERN_PERIOD: usize = 65_521;

fn pattern() -> &'static [u8] {
    static PATTERN: OnceLock<Vec<u8>> = OnceLock::new();
    PATTERN.get_or_init(|| {
        let mut x: u32 = 0x9e37_79b9;
        (0..PATTERN_PERIOD)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect()
    })
}

/// Fills `out` with the pattern bytes of stream offsets `offset..offset + out.len()`.
fn fill_pattern(offset: u64, out: &mut [u8]) {
    let pat = pattern();
    let mut at = (offset % PATTERN_PERIOD as u64) as usize;
    let mut done = 0;
    while done < out.len() {
        let n = (PATTERN_PERIOD - at).min(out.len() - done);
        out[done..done + n].copy_from_slice(&pat[at..at + n]);
        done += n;
        at = 0;
    }
}

/// Panics unless `data` equals the pattern at stream offset `offset`.
fn check_pattern(offset: u64, data: &[u8]) {
    let pat = pattern();
    let mut at = (offset % PATTERN_PERIOD as u64) as usize;
    let mut done = 0;
    while done < data.len() {
        let n = (PATTERN_PERIOD - at).min(data.len() - done);
        if data[done..done + n] != pat[at..at + n] {
            let bad = (0..n).find(|&i| data[done + i] != pat[at + i]).unwrap_or(0);
            panic!(
                "data differs at stream offset {}",
                offset + (done + bad) as u64
            );
        }
        done += n;
        at = 0;
    }
}

fn pattern_vec(len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    fill_pattern(0, &mut v);
    v
}

/// Tops `buf` up with the next pattern bytes (up to `total` in all); returns how many.
fn top_up(buf: &mut PipeBuf, offset: &mut u64, total: u64) -> usize {
    let mut wr = buf.wr();
    let want = (total - *offset).min(wr.room() as u64) as usize;
    if want == 0 {
        return 0;
    }
    let space = wr.space_upto(want).unwrap();
    let n = space.len();
    fill_pattern(*offset, space);
    wr.commit(n).unwrap();
    *offset += n as u64;
    n
}

// ---------------------------------------------------------------------------------------
// Peers: blocking std sockets, in threads, every operation with a timeout.

/// Writes `len` pattern bytes to `w`.
fn write_pattern(w: &mut impl Write, len: u64) {
    let mut chunk = vec![0; 64 * 1024];
    let mut offset = 0;
    while offset < len {
        let n = (len - offset).min(chunk.len() as u64) as usize;
        fill_pattern(offset, &mut chunk[..n]);
        w.write_all(&chunk[..n]).unwrap();
        offset += n as u64;
    }
}

/// Reads `r` to its end, checking the pattern; returns how many bytes came.
fn read_pattern_to_end(r: &mut impl Read) -> u64 {
    let mut chunk = vec![0; 64 * 1024];
    let mut offset = 0;
    loop {
        match r.read(&mut chunk) {
            Ok(0) => return offset,
            Ok(n) => {
                check_pattern(offset, &chunk[..n]);
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => (),
            Err(e) => panic!("peer read failed after {offset} bytes: {e}"),
        }
    }
}

fn set_timeouts(s: &StdTcpStream) {
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
}

/// A connected TCP pair on 127.0.0.1: our non-blocking mio end and a blocking std peer.
fn tcp_pair() -> (mio::net::TcpStream, StdTcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = StdTcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (ours, _) = listener.accept().unwrap();
    ours.set_nonblocking(true).unwrap();
    set_timeouts(&peer);
    (mio::net::TcpStream::from_std(ours), peer)
}

/// A Unix stream pair: our non-blocking mio end and a blocking std peer.
fn unix_pair() -> (mio::net::UnixStream, StdUnixStream) {
    let (ours, peer) = mio::net::UnixStream::pair().unwrap();
    let peer = StdUnixStream::from(OwnedFd::from(peer));
    peer.set_nonblocking(false).unwrap();
    peer.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    peer.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    (ours, peer)
}

/// Joins a peer thread, failing (not hanging) if it is not done by `deadline`.
fn join<T>(handle: JoinHandle<T>, deadline: Instant) -> T {
    while !handle.is_finished() {
        assert!(Instant::now() < deadline, "timed out waiting for the peer");
        thread::sleep(Duration::from_millis(2));
    }
    match handle.join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

// ---------------------------------------------------------------------------------------
// Our side: a tiny single-socket mio loop around the link.

struct Harness<S: LinkStream + Source> {
    poll: Poll,
    events: Events,
    /// `None` once dropped (after an abort, as a driver does).
    stream: Option<S>,
    link: Link,
    pair: PipeBufPair,
    deadline: Instant,
}

impl<S: LinkStream + Source> Harness<S> {
    fn new(mut stream: S, link: Link, pair: PipeBufPair) -> Self {
        let poll = Poll::new().unwrap();
        poll.registry()
            .register(
                &mut stream,
                Token(0),
                Interest::READABLE | Interest::WRITABLE,
            )
            .unwrap();
        Harness {
            poll,
            events: Events::with_capacity(16),
            stream: Some(stream),
            link,
            pair,
            deadline: Instant::now() + DEADLINE,
        }
    }

    /// One `process` call, without waiting for readiness.
    fn process(&mut self) -> Result<bool, LinkError> {
        let stream = self.stream.as_mut().expect("the stream was dropped");
        self.link.process(stream, self.pair.lower())
    }

    /// Waits up to `timeout` for readiness and gives every event to the link; returns how
    /// many events came.
    fn poll_events(&mut self, timeout: Duration) -> usize {
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => (),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return 0,
            Err(e) => panic!("poll failed: {e}"),
        }
        let mut n = 0;
        for event in &self.events {
            self.link.on_event(event);
            n += 1;
        }
        n
    }

    /// One loop turn: process; wait for readiness only if nothing happened; process again.
    fn turn(&mut self) -> Result<bool, LinkError> {
        let mut active = self.process()?;
        self.poll_events(if active { Duration::ZERO } else { TICK });
        active |= self.process()?;
        Ok(active)
    }

    fn check_deadline(&self, what: &str) {
        assert!(
            Instant::now() < self.deadline,
            "timed out waiting for {what}"
        );
    }

    /// Runs turns, each of which must succeed, until `done` (where the application side
    /// works on the buffers) says so.
    fn run_until(&mut self, what: &str, mut done: impl FnMut(&mut Self) -> bool) {
        loop {
            if done(self) {
                return;
            }
            self.check_deadline(what);
            if let Err(e) = self.turn() {
                panic!("process failed while waiting for {what}: {e}");
            }
        }
    }

    /// Deregisters and drops the socket, as a driver does once `link.is_aborted()`.
    fn drop_stream(&mut self) {
        if let Some(mut stream) = self.stream.take() {
            self.poll.registry().deregister(&mut stream).unwrap();
        }
    }

    /// After the connection is finished: many more calls, with and without readiness
    /// waits, must all be `Ok(false)`.
    fn assert_quiet(&mut self) {
        // Let stale state settle first.
        for _ in 0..3 {
            self.process().unwrap();
        }
        for i in 0..200 {
            if i % 20 == 0 {
                self.poll_events(Duration::from_millis(1));
            }
            assert!(
                !self.process().unwrap(),
                "process reports activity on call {i}"
            );
        }
    }
}

/// The application side of an echo: everything that comes up goes back down, then the EOF.
fn echo(pair: &mut PipeBufPair) {
    let PipeBufPair { up, down } = pair;
    up.rd().forward(&mut down.wr()).unwrap();
}

// ---------------------------------------------------------------------------------------
// 1. Echo.

fn echo_over_tcp(len: u64) {
    let (ours, mut peer) = tcp_pair();
    let peer_thread = thread::spawn(move || {
        let mut writer = peer.try_clone().unwrap();
        let writer = thread::spawn(move || {
            write_pattern(&mut writer, len);
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let got = read_pattern_to_end(&mut peer);
        writer.join().unwrap();
        got
    });
    let mut h = Harness::new(ours, Link::new(), PipeBufPair::new());
    h.run_until("the echo to finish", |h| {
        echo(&mut h.pair);
        h.pair.down.state() == PBufState::Closed && peer_thread.is_finished()
    });
    assert_eq!(join(peer_thread, h.deadline), len);
    assert_eq!(h.pair.up.state(), PBufState::Closed);
    assert!(!h.link.is_aborted());
}

#[test]
fn echo_through_the_link_is_byte_exact_for_one_byte() {
    echo_over_tcp(1);
}

#[test]
fn echo_through_the_link_is_byte_exact_for_64_kib() {
    echo_over_tcp(64 * 1024);
}

#[test]
fn echo_through_the_link_is_byte_exact_for_16_mib() {
    echo_over_tcp(16 * 1024 * 1024);
}

// ---------------------------------------------------------------------------------------
// 2. Half-close.

#[test]
fn our_close_gives_the_peer_eof_while_it_can_still_send_to_us() {
    let (ours, mut peer) = tcp_pair();
    let peer_thread = thread::spawn(move || {
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap(); // ends at our FIN
        peer.write_all(b"answer after your end of stream").unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        got
    });
    let mut h = Harness::new(ours, Link::new(), PipeBufPair::new());
    h.pair.down.wr().append(b"request").unwrap();
    h.pair.down.wr().close();
    h.run_until("the answer and its close", |h| {
        h.pair.up.state() == PBufState::Closing
    });
    assert_eq!(join(peer_thread, h.deadline), b"request");
    assert_eq!(h.pair.down.state(), PBufState::Closed);
    assert_eq!(h.pair.up.data(), b"answer after your end of stream");
    let mut up = h.pair.up.rd();
    up.consume_all();
    assert_eq!(up.consume_eof(), Some(EofKind::Close));
    h.assert_quiet();
}

#[test]
fn peer_fin_closes_our_incoming_side_while_we_can_still_send() {
    let (ours, mut peer) = tcp_pair();
    let peer_thread = thread::spawn(move || {
        peer.write_all(b"last words").unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        got
    });
    let mut h = Harness::new(ours, Link::new(), PipeBufPair::new());
    h.run_until("the peer's FIN", |h| {
        h.pair.up.state() == PBufState::Closing
    });
    assert_eq!(h.pair.up.data(), b"last words");
    {
        let mut up = h.pair.up.rd();
        assert_eq!(up.consume_eof(), None, "the EOF waits behind the data");
        up.consume_all();
        assert_eq!(up.consume_eof(), Some(EofKind::Close));
    }
    // Our direction is still open.
    let reply = pattern_vec(100 * 1024);
    h.pair.down.wr().append(&reply).unwrap();
    h.pair.down.wr().close();
    h.run_until("our reply to be sent", |h| {
        h.pair.down.state() == PBufState::Closed
    });
    assert_eq!(join(peer_thread, h.deadline), reply);
    assert!(!h.link.is_aborted());
    h.assert_quiet();
}

// ---------------------------------------------------------------------------------------
// 3. Outgoing abort -> RST.

#[test]
fn outgoing_abort_reaches_the_peer_as_a_connection_reset() {
    let (ours, mut peer) = tcp_pair();
    let (got_hello, hello_rx) = mpsc::channel();
    let peer_thread = thread::spawn(move || {
        let mut hello = [0; 5];
        peer.read_exact(&mut hello).unwrap();
        assert_eq!(&hello, b"hello");
        got_hello.send(()).unwrap();
        let mut buf = [0; 64];
        peer.read(&mut buf)
    });
    let mut h = Harness::new(ours, Link::new(), PipeBufPair::new());
    h.pair.down.wr().append(b"hello").unwrap();
    h.run_until("the peer to read hello", |_| hello_rx.try_recv().is_ok());

    // Data queued just before the abort is dropped, not sent.
    h.pair.down.wr().append(b"never sent").unwrap();
    h.pair.down.wr().abort();
    h.run_until("the link to report the abort", |h| h.link.is_aborted());
    assert!(h.pair.down.is_empty());
    assert_eq!(h.pair.down.state(), PBufState::Aborted);
    assert_eq!(
        h.pair.up.state(),
        PBufState::Aborting,
        "an outgoing abort also aborts the incoming side"
    );
    h.drop_stream(); // what a driver does when is_aborted()

    match join(peer_thread, h.deadline) {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
        Ok(0) => panic!("the peer saw a FIN (clean end), not an RST"),
        Ok(n) => panic!("the peer read {n} bytes queued before the abort"),
    }
}

// ---------------------------------------------------------------------------------------
// 4. Peer RST -> incoming abort, not an error.

/// Makes the peer's socket send an RST when dropped.
fn set_linger_zero(peer: &StdTcpStream) {
    socket2::SockRef::from(peer)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
}

#[test]
fn peer_reset_aborts_our_incoming_side_and_process_stays_ok() {
    let (ours, mut peer) = tcp_pair();
    let (reset_tx, reset_rx) = mpsc::channel::<()>();
    let peer_thread = thread::spawn(move || {
        peer.write_all(b"before the reset").unwrap();
        reset_rx.recv_timeout(IO_TIMEOUT).unwrap();
        set_linger_zero(&peer);
        drop(peer);
    });
    let mut h = Harness::new(ours, Link::new(), PipeBufPair::new());
    h.run_until("the data before the reset", |h| {
        h.pair.up.len() == b"before the reset".len()
    });
    reset_tx.send(()).unwrap();
    join(peer_thread, h.deadline);
    // `run_until` fails on any Err: the reset must not be one.
    h.run_until("the incoming abort", |h| {
        h.pair.up.state() != PBufState::Open
    });
    assert_eq!(h.pair.up.state(), PBufState::Aborting);
    assert_eq!(h.pair.up.data(), b"before the reset");
    let mut up = h.pair.up.rd();
    up.consume_all();
    assert_eq!(up.consume_eof(), Some(EofKind::Abort));
    assert!(!h.link.wants_read());
    h.assert_quiet();
}

// ---------------------------------------------------------------------------------------
// 5. Writing to a peer that has gone.

/// Keeps writing to a link whose peer is gone: every call must be `Ok`, the incoming side
/// must end, and from then on outgoing data must be discarded (more than any socket buffer
/// could hold) and the link must go quiet. Returns how the incoming side ended.
///
/// `offset` is how much the caller has queued in the outgoing buffer so far.
fn keep_writing_to_a_gone_peer(mut h: Harness<mio::net::TcpStream>, mut offset: u64) -> EofKind {
    const TOTAL: u64 = u64::MAX;
    h.run_until("the incoming side to end", |h| {
        top_up(&mut h.pair.down, &mut offset, TOTAL);
        h.pair.up.state() != PBufState::Open
    });
    let kind = {
        let mut up = h.pair.up.rd();
        up.consume_all();
        up.consume_eof().unwrap()
    };
    // Outgoing data must now be discarded: push far more than socket buffers hold.
    let taken_before = offset - h.pair.down.len() as u64;
    h.run_until("64 MiB to be discarded", |h| {
        top_up(&mut h.pair.down, &mut offset, TOTAL);
        offset - h.pair.down.len() as u64 - taken_before > 64 * 1024 * 1024
    });
    // Each call now discards all of it at once.
    for _ in 0..100 {
        top_up(&mut h.pair.down, &mut offset, TOTAL);
        assert!(h.process().unwrap());
        assert!(h.pair.down.is_empty(), "outgoing data not discarded");
    }
    h.pair.down.wr().close();
    h.process().unwrap();
    assert_eq!(h.pair.down.state(), PBufState::Closed);
    assert!(!h.link.wants_read());
    // The one sign left when the incoming side had already ended: a driver drops on it.
    assert!(h.link.is_write_dead());
    h.assert_quiet();
    kind
}

#[test]
fn writing_to_a_peer_that_reset_gives_an_incoming_abort_and_no_error_storm() {
    let (ours, peer) = tcp_pair();
    set_linger_zero(&peer);
    drop(peer);
    let h = Harness::new(ours, Link::new(), PipeBufPair::new());
    assert_eq!(keep_writing_to_a_gone_peer(h, 0), EofKind::Abort);
}

#[test]
fn writing_to_a_peer_that_closed_while_data_was_unread_gives_an_incoming_abort() {
    // The peer reads a little and closes with our data unread: its kernel answers with an
    // RST, which our writes run into.
    let (ours, mut peer) = tcp_pair();
    let peer_thread = thread::spawn(move || {
        let mut first = [0; 1000];
        peer.read_exact(&mut first).unwrap();
        check_pattern(0, &first);
        thread::sleep(Duration::from_millis(20)); // let more arrive, unread
        drop(peer);
    });
    let mut h = Harness::new(ours, Link::new(), PipeBufPair::new());
    let mut offset = 0;
    h.run_until("the peer to go", |h| {
        top_up(&mut h.pair.down, &mut offset, u64::MAX);
        peer_thread.is_finished()
    });
    join(peer_thread, h.deadline);
    assert_eq!(keep_writing_to_a_gone_peer(h, offset), EofKind::Abort);
}

#[test]
fn writing_after_the_peer_closed_cleanly_discards_output_without_errors() {
    // The peer closes with nothing unread: a FIN (clean incoming close) comes first, then
    // our writes meet the RST its kernel sends for them.
    let (ours, peer) = tcp_pair();
    drop(peer);
    let h = Harness::new(ours, Link::new(), PipeBufPair::new());
    let kind = keep_writing_to_a_gone_peer(h, 0);
    // The incoming stream did end with a FIN and all its data, so a close is what it is;
    // the later write failure shows only as `is_write_dead()` (checked in the helper).
    assert_eq!(kind, EofKind::Close);
}

// ---------------------------------------------------------------------------------------
// 6. Outgoing backpressure.

#[test]
fn outgoing_backpressure_keeps_the_buffer_within_its_limit_and_loses_nothing() {
    const TOTAL: u64 = 100 * 1024 * 1024;
    const LIMIT: usize = 256 * 1024;
    let (ours, mut peer) = tcp_pair();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let peer_thread = thread::spawn(move || {
        go_rx.recv_timeout(IO_TIMEOUT).unwrap();
        read_pattern_to_end(&mut peer)
    });
    let mut h = Harness::new(ours, Link::new(), PipeBufPair::with_limits(4096, LIMIT));
    let check_bounds = |h: &Harness<mio::net::TcpStream>| {
        let down = &h.pair.down;
        assert!(down.len() <= LIMIT, "outgoing holds {} bytes", down.len());
        assert!(
            down.capacity() <= LIMIT,
            "outgoing capacity {}",
            down.capacity()
        );
        assert_eq!(down.limit(), LIMIT);
    };

    // The peer does not read: the socket buffers fill, then ours.
    let mut offset = 0;
    let mut idle_turns = 0;
    h.run_until("the link to block on a full socket", |h| {
        top_up(&mut h.pair.down, &mut offset, TOTAL);
        check_bounds(h);
        // `run_until` runs one turn between calls, and fails on any Err.
        let active = h.process().unwrap();
        check_bounds(h);
        idle_turns = if h.pair.down.is_full() && !active {
            idle_turns + 1
        } else {
            0
        };
        idle_turns >= 5
    });
    let sent = offset - h.pair.down.len() as u64;
    assert!(sent < TOTAL, "everything fit into socket buffers");
    assert!(h.pair.down.is_full());
    // Blocked, not failing, and nothing written while blocked.
    for _ in 0..10 {
        assert!(!h.process().unwrap());
        assert_eq!(offset - h.pair.down.len() as u64, sent);
    }

    // The peer starts reading: everything arrives.
    go_tx.send(()).unwrap();
    h.run_until("all data to be sent", |h| {
        top_up(&mut h.pair.down, &mut offset, TOTAL);
        check_bounds(h);
        if offset == TOTAL {
            h.pair.down.wr().close();
        }
        h.pair.down.state() == PBufState::Closed && peer_thread.is_finished()
    });
    assert_eq!(join(peer_thread, h.deadline), TOTAL);
}

// ---------------------------------------------------------------------------------------
// 7. Incoming backpressure with edge-triggered readiness.

#[test]
fn link_resumes_reading_after_incoming_backpressure_without_new_readiness_events() {
    const TOTAL: u64 = 1024 * 1024;
    const LIMIT: usize = 64 * 1024;
    let (ours, mut peer) = tcp_pair();
    let peer_thread = thread::spawn(move || {
        write_pattern(&mut peer, TOTAL);
        peer.shutdown(Shutdown::Write).unwrap();
        // Hold the socket until we have read everything.
        let mut rest = Vec::new();
        peer.read_to_end(&mut rest).unwrap();
    });
    let mut h = Harness::new(ours, Link::new(), PipeBufPair::with_limits(4096, LIMIT));
    h.run_until("the incoming buffer to fill", |h| h.pair.up.is_full());
    assert!(
        h.link.wants_read(),
        "a link paused by a full buffer must remember that the socket may be readable"
    );
    // The peer sends far more than fits: wait (peeking, which reads nothing) until the
    // kernel holds data for us beyond the full buffer, then let the peer block on a zero
    // window, so that no new data, hence no new readiness edge, can come. Edges from data
    // that arrived meanwhile are swallowed, not given to the link: the link has to rely on
    // what it remembers, the worst case for an edge-triggered loop.
    let mut peeked = vec![0; 64 * 1024];
    loop {
        h.check_deadline("data waiting in the socket");
        match h.stream.as_ref().unwrap().peek(&mut peeked) {
            Ok(n) if n >= 16 * 1024 => break,
            Ok(_) => thread::sleep(Duration::from_millis(5)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("peek failed: {e}"),
        }
    }
    thread::sleep(Duration::from_millis(50));
    h.poll.poll(&mut h.events, Some(Duration::ZERO)).unwrap();

    let mut received = 0u64;
    let mut read_without_events = 0u64;
    let mut first_resume = None;
    let mut polls = 0;
    loop {
        h.check_deadline("all incoming data");
        // The application consumes slowly, 4 KiB at a time.
        let n = h.pair.up.len().min(4096);
        check_pattern(received, &h.pair.up.data()[..n]);
        h.pair.up.rd().consume(n).unwrap();
        received += n as u64;
        if h.pair.up.rd().consume_eof() == Some(EofKind::Close) {
            break;
        }
        let delivered = received + h.pair.up.len() as u64;
        if h.link.wants_read() {
            // No polling: the link must read on its own now that there is space.
            let active = h.process().unwrap();
            let got = received + h.pair.up.len() as u64 - delivered;
            read_without_events += got;
            first_resume.get_or_insert(got);
            assert!(
                active || !h.link.wants_read(),
                "the link says the socket may be readable but did not read into free space"
            );
        } else {
            // The link drained the socket (it hit WouldBlock): readiness events are
            // legitimately needed for more.
            polls += 1;
            h.poll_events(TICK);
            h.process().unwrap();
        }
    }
    assert_eq!(received, TOTAL);
    assert!(
        first_resume.unwrap_or(0) > 0,
        "the first process after freeing space read nothing (polls needed: {polls})"
    );
    assert!(read_without_events > 0);
    h.pair.down.wr().close();
    h.run_until("our close", |h| h.pair.down.state() == PBufState::Closed);
    join(peer_thread, h.deadline);
}

// ---------------------------------------------------------------------------------------
// 8. Unix streams.

#[test]
fn unix_stream_link_echoes_byte_exact_and_half_closes() {
    const LEN: u64 = 4 * 1024 * 1024;
    let (ours, mut peer) = unix_pair();
    let peer_thread = thread::spawn(move || {
        let mut writer = peer.try_clone().unwrap();
        let writer = thread::spawn(move || {
            write_pattern(&mut writer, LEN);
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let got = read_pattern_to_end(&mut peer);
        writer.join().unwrap();
        got
    });
    let mut h = Harness::new(ours, Link::new(), PipeBufPair::new());
    h.run_until("the echo to finish", |h| {
        echo(&mut h.pair);
        h.pair.down.state() == PBufState::Closed && peer_thread.is_finished()
    });
    assert_eq!(join(peer_thread, h.deadline), LEN);
    assert_eq!(h.pair.up.state(), PBufState::Closed);
    h.assert_quiet();
}

#[test]
fn unix_stream_half_close_works_both_ways() {
    let (ours, mut peer) = unix_pair();
    let (step_tx, step_rx) = mpsc::channel::<()>();
    let peer_thread = thread::spawn(move || {
        // Peer -> us, then the peer's end of stream; it can still read.
        peer.write_all(b"ping").unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        step_rx.recv_timeout(IO_TIMEOUT).unwrap();
        got
    });
    let mut h = Harness::new(ours, Link::new(), PipeBufPair::new());
    h.run_until("the peer's end of stream", |h| {
        h.pair.up.state() == PBufState::Closing
    });
    assert_eq!(h.pair.up.data(), b"ping");
    h.pair.up.rd().consume_all();
    assert_eq!(h.pair.up.rd().consume_eof(), Some(EofKind::Close));
    // We can still send, then end our side.
    h.pair.down.wr().append(b"pong").unwrap();
    h.pair.down.wr().close();
    h.run_until("our close", |h| h.pair.down.state() == PBufState::Closed);
    step_tx.send(()).unwrap();
    assert_eq!(join(peer_thread, h.deadline), b"pong");
    h.assert_quiet();
}

#[test]
fn unix_stream_outgoing_abort_ends_the_peers_stream() {
    let (ours, mut peer) = unix_pair();
    let mut h = Harness::new(ours, Link::new(), PipeBufPair::new());
    h.pair.down.wr().abort();
    h.run_until("the abort", |h| h.link.is_aborted());
    assert_eq!(h.pair.up.state(), PBufState::Aborting);
    // Both directions are shut even before the socket is dropped.
    let mut buf = [0; 8];
    assert_eq!(peer.read(&mut buf).unwrap(), 0);
    let err = peer.write_all(b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
    h.drop_stream();
}

// ---------------------------------------------------------------------------------------
// 9. and 10. Non-blocking connect.

/// An address on 127.0.0.1 where nothing listens: a socket bound to port 0 that never
/// listens, kept alive so that no other test can take the port meanwhile.
fn refusing_addr() -> (socket2::Socket, SocketAddr) {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    sock.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    (sock, addr)
}

#[test]
fn connect_failure_is_reported_exactly_once() {
    let (_holder, addr) = refusing_addr();
    let stream = mio::net::TcpStream::connect(addr).unwrap();
    let mut h = Harness::new(stream, Link::connecting(), PipeBufPair::new());
    h.pair.down.wr().append(b"for nobody").unwrap();
    let mut errors = Vec::new();
    while errors.is_empty() {
        h.check_deadline("the connect to fail");
        h.poll_events(TICK);
        match h.process() {
            Ok(_) => (),
            Err(LinkError::Connect(e)) => errors.push(e),
            Err(e) => panic!("expected a connect error, got {e}"),
        }
    }
    assert_eq!(
        errors[0].kind(),
        io::ErrorKind::ConnectionRefused,
        "{}",
        errors[0]
    );
    assert!(!h.link.is_connecting());
    assert_eq!(h.pair.up.state(), PBufState::Aborting);
    // Later calls (with and without events) succeed.
    for i in 0..50 {
        if i % 10 == 0 {
            h.poll_events(Duration::from_millis(1));
        }
        if let Err(e) = h.process() {
            panic!("call {i} after the connect failure returned {e}");
        }
    }
    assert!(h.pair.down.is_empty(), "outgoing data is discarded");
    h.pair.up.rd().consume_eof();
    h.pair.down.wr().close();
    h.process().unwrap();
    h.assert_quiet();
}

#[test]
fn connecting_link_holds_outgoing_data_until_connected_then_sends_it() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer_thread = thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        set_timeouts(&peer);
        read_pattern_to_end(&mut peer)
    });
    let stream = mio::net::TcpStream::connect(addr).unwrap();
    let mut h = Harness::new(stream, Link::connecting(), PipeBufPair::new());
    const LEN: u64 = 200 * 1024;
    let mut offset = 0;
    top_up(&mut h.pair.down, &mut offset, LEN);
    assert_eq!(offset, LEN);
    h.pair.down.wr().push();
    h.pair.down.wr().close();
    assert!(h.link.is_connecting());
    assert!(
        !h.process().unwrap(),
        "nothing may happen before the connect completes"
    );
    assert_eq!(h.pair.down.len() as u64, LEN);
    assert_eq!(h.pair.down.state(), PBufState::Closing);

    h.run_until("the data to be sent", |h| {
        h.pair.down.state() == PBufState::Closed && peer_thread.is_finished()
    });
    assert!(!h.link.is_connecting());
    assert_eq!(join(peer_thread, h.deadline), LEN);
}
