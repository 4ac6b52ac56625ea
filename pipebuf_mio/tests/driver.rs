//! Integration tests of the [`Driver`]: many concurrent connections, graceful shutdown,
//! classes (pause, read budget, priority, moves, removal), limits, idle timeouts, buffer
//! release, hostile peers and chains that never settle, outgoing connections, broadcasts and
//! stale ids.
//!
//! Every test runs the driver on its own thread (see [`Server`]) and talks to it over real
//! loopback sockets (127.0.0.1, port 0) from the test thread or client threads. Every socket
//! operation has a timeout and every test an overall deadline (see [`bounded`]), so a broken
//! driver fails a test instead of hanging it. Tests that count file descriptors or measure
//! latency run alone (see [`exclusive`]); the others may run in parallel.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mio::Waker;
use pipebuf::{EofKind, PBufRdWr};
use pipebuf_mio::{
    Accepted, Chain, ClassConfig, ClassId, ConnId, Context, Disposition, Driver, DriverConfig,
    Event, LeftReason, ListenerId, LocalAddr, SendResult,
};

// ---------------------------------------------------------------------------------------
// Test infrastructure: deadlines and isolation.
// ---------------------------------------------------------------------------------------

/// Tests that count the process's file descriptors or measure latency take this lock for
/// writing (they run alone); all others take it for reading (they run in parallel).
static ISOLATION: RwLock<()> = RwLock::new(());

/// Runs `body` on its own thread and fails if it does not finish within `limit`.
fn bounded(limit: Duration, body: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let handle = thread::Builder::new()
        .name("test body".into())
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(body));
            let _ = tx.send(result);
        })
        .unwrap();
    match rx.recv_timeout(limit) {
        Ok(Ok(())) => handle.join().unwrap(),
        Ok(Err(panic)) => resume_unwind(panic),
        Err(_) => panic!("test did not finish within {limit:?}"),
    }
}

/// Runs a test alongside other shared tests, within `limit`.
fn shared(limit: Duration, body: impl FnOnce() + Send + 'static) {
    let _guard = ISOLATION.read().unwrap_or_else(|e| e.into_inner());
    bounded(limit, body);
}

/// Runs a test with no other test of this file running, within `limit`.
fn exclusive(limit: Duration, body: impl FnOnce() + Send + 'static) {
    let _guard = ISOLATION.write().unwrap_or_else(|e| e.into_inner());
    bounded(limit, body);
}

/// Waits until `cond` holds, polling; panics with `what` after `limit`.
fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

/// Client threads whose panics reach the test as soon as they are checked.
#[derive(Default)]
struct Clients {
    handles: Mutex<Vec<Option<JoinHandle<()>>>>,
}

impl Clients {
    fn spawn(&self, body: impl FnOnce() + Send + 'static) {
        let handle = thread::Builder::new()
            .name("client".into())
            .spawn(body)
            .unwrap();
        self.handles.lock().unwrap().push(Some(handle));
    }

    /// Re-raises the panic of any client thread that has finished by panicking.
    fn check(&self) {
        let mut handles = self.handles.lock().unwrap();
        for slot in handles.iter_mut() {
            if slot.as_ref().is_some_and(JoinHandle::is_finished)
                && let Err(panic) = slot.take().unwrap().join()
            {
                drop(handles);
                resume_unwind(panic);
            }
        }
    }

    /// Joins every client thread (each bounds its own socket operations).
    fn join(&self, limit: Duration) {
        wait_until(limit, "client threads to finish", || {
            self.check();
            self.handles.lock().unwrap().iter().all(Option::is_none)
        });
    }
}

// ---------------------------------------------------------------------------------------
// The chains under test.
// ---------------------------------------------------------------------------------------

/// What a test chain does with the bytes it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The crate documentation's echo: `net.rd.forward(&mut net.wr)`, with the default
    /// [`Chain::close`] (which closes `net.wr`).
    Echo,
    /// The `tcp_echo` example's echo: on close it finishes echoing what has arrived, then
    /// closes; input after its close is dropped.
    GracefulEcho,
    /// Discards everything; closes (or aborts) after the peer's close (or abort).
    Sink,
    /// A [`Sink`](Mode::Sink) that reports every `process` call with [`Context::emit`], so the
    /// event log shows the order of turns.
    Report,
    /// A buggy chain that always reports activity: it never settles.
    Spin,
    /// A chain that fails on its first input, having written `bye` for the peer (as a
    /// failing TLS layer writes its alert).
    Fail,
}

/// A chain in one of the [`Mode`]s, counting the bytes it took from `net.rd`.
#[derive(Debug)]
struct TestChain {
    mode: Mode,
    closing: bool,
    /// Bytes forwarded to `net.wr` (echo modes) or discarded (sink).
    taken: Arc<AtomicU64>,
}

impl TestChain {
    fn new(mode: Mode, taken: Arc<AtomicU64>) -> Self {
        TestChain {
            mode,
            closing: false,
            taken,
        }
    }

    fn count(&self, n: usize) {
        self.taken.fetch_add(n as u64, Ordering::SeqCst);
    }
}

impl Chain for TestChain {
    type Msg = ();
    type Error = pipebuf::Error;

    fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        cx: &mut Context<'_, ()>,
    ) -> Result<bool, pipebuf::Error> {
        if self.mode == Mode::Report {
            cx.emit(());
        }
        match self.mode {
            Mode::Echo => {
                let before = net.rd.len();
                let result = net.rd.forward(&mut net.wr);
                self.count(before - net.rd.len());
                result
            }
            Mode::GracefulEcho => {
                if net.wr.is_eof() {
                    let dropped = net.rd.consume_all() > 0;
                    return Ok(dropped | net.rd.consume_push() | net.rd.consume_eof().is_some());
                }
                let before = net.rd.len();
                let moved = net.rd.forward(&mut net.wr)?;
                self.count(before - net.rd.len());
                if self.closing && net.rd.is_empty() && !net.wr.is_eof() {
                    net.wr.close();
                    return Ok(true);
                }
                Ok(moved)
            }
            Mode::Spin => Ok(true),
            // (`closing` marks the failure: the driver may call a failed chain again.)
            Mode::Fail if net.rd.is_empty() || self.closing => Ok(false),
            Mode::Fail => {
                self.closing = true;
                net.wr.append(b"bye")?;
                Err(pipebuf::Error::AfterEof)
            }
            Mode::Sink | Mode::Report => {
                let n = net.rd.consume_all();
                self.count(n);
                let push = net.rd.consume_push();
                let eof = match net.rd.consume_eof() {
                    Some(EofKind::Close) => {
                        net.wr.close();
                        true
                    }
                    Some(EofKind::Abort) => {
                        net.wr.abort();
                        true
                    }
                    None => false,
                };
                Ok(n > 0 || push || eof)
            }
        }
    }

    fn close(&mut self, mut net: PBufRdWr<'_>) {
        match self.mode {
            Mode::GracefulEcho => self.closing = true,
            Mode::Echo | Mode::Sink | Mode::Report | Mode::Spin | Mode::Fail => net.wr.close(),
        }
    }

    fn release(&mut self) {
        RELEASES.fetch_add(1, Ordering::SeqCst);
    }
}

/// Calls of [`Chain::release`] by every test chain (read it only in exclusive tests).
static RELEASES: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------------------------------
// The driver on its own thread.
// ---------------------------------------------------------------------------------------

/// Why a connection left, in a form that can be compared and cloned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reason {
    Closed,
    Aborted,
    ChainError(String),
    Io(io::ErrorKind),
    IdleTimeout,
    ClassRemoved,
    ShutdownDeadline,
    Unsettled,
    Other(String),
}

impl From<LeftReason> for Reason {
    fn from(reason: LeftReason) -> Self {
        match reason {
            LeftReason::Closed => Reason::Closed,
            LeftReason::Aborted => Reason::Aborted,
            LeftReason::ChainError(e) => Reason::ChainError(e.to_string()),
            LeftReason::Io(e) => Reason::Io(e.kind()),
            LeftReason::IdleTimeout => Reason::IdleTimeout,
            LeftReason::ClassRemoved => Reason::ClassRemoved,
            LeftReason::ShutdownDeadline => Reason::ShutdownDeadline,
            LeftReason::Unsettled => Reason::Unsettled,
            other => Reason::Other(other.to_string()),
        }
    }
}

/// An [`Event`] as the test thread sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Joined {
        id: ConnId,
        listener: Option<ListenerId>,
        class: ClassId,
    },
    Moved {
        id: ConnId,
        from: ClassId,
        to: ClassId,
    },
    Message {
        id: ConnId,
    },
    Left {
        id: ConnId,
        class: ClassId,
        reason: Reason,
    },
}

impl From<Event<()>> for Ev {
    fn from(event: Event<()>) -> Self {
        match event {
            Event::Joined {
                id,
                listener,
                class,
            } => Ev::Joined {
                id,
                listener,
                class,
            },
            Event::Moved { id, from, to } => Ev::Moved { id, from, to },
            Event::Message { id, .. } => Ev::Message { id },
            Event::Left { id, class, reason } => Ev::Left {
                id,
                class,
                reason: reason.into(),
            },
        }
    }
}

type TestDriver = Driver<TestChain>;
type Command = Box<dyn FnOnce(&mut TestDriver, &mpsc::Sender<Ev>) + Send>;
type Counters = Arc<Mutex<HashMap<ConnId, Arc<AtomicU64>>>>;

fn forward_events(driver: &mut TestDriver, events: &mpsc::Sender<Ev>) {
    while let Some(event) = driver.next_event() {
        let _ = events.send(event.into());
    }
}

/// A driver serving on a thread of its own; the test reaches it through [`Server::with`]
/// and sees its events through [`Server::wait`].
struct Server {
    /// One address per listener, in the order of the modes given to [`Server::start`].
    addrs: Vec<SocketAddr>,
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Ev>,
    log: RefCell<Vec<Ev>>,
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
    counters: Counters,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// A driver with one TCP listener per mode; each accepted connection gets a chain of its
    /// listener's mode.
    fn start(config: DriverConfig, modes: &[Mode]) -> Server {
        let counters: Counters = Arc::default();
        let by_listener: Arc<Mutex<HashMap<ListenerId, Mode>>> = Arc::default();
        let factory = {
            let counters = Arc::clone(&counters);
            let by_listener = Arc::clone(&by_listener);
            move |accepted: &Accepted| {
                let mode = *by_listener.lock().unwrap().get(&accepted.listener)?;
                let taken = Arc::new(AtomicU64::new(0));
                counters
                    .lock()
                    .unwrap()
                    .insert(accepted.id, Arc::clone(&taken));
                Some(TestChain::new(mode, taken))
            }
        };
        let mut driver = Driver::new(config, Box::new(factory)).unwrap();
        let mut addrs = Vec::new();
        for &mode in modes {
            let listener = driver
                .listen_tcp("127.0.0.1:0".parse().unwrap(), false)
                .unwrap();
            by_listener.lock().unwrap().insert(listener, mode);
            match driver.local_addr(listener).unwrap() {
                LocalAddr::Tcp(addr) => addrs.push(addr),
                other => panic!("unexpected listener address {other}"),
            }
        }
        let waker = driver.waker().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (commands, command_rx) = mpsc::channel::<Command>();
        let (event_tx, events) = mpsc::channel();
        let thread = {
            let stop = Arc::clone(&stop);
            thread::Builder::new()
                .name("driver".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        driver.poll(Some(Duration::from_millis(20))).unwrap();
                        forward_events(&mut driver, &event_tx);
                        while let Ok(command) = command_rx.try_recv() {
                            command(&mut driver, &event_tx);
                        }
                    }
                })
                .unwrap()
        };
        Server {
            addrs,
            commands,
            events,
            log: RefCell::new(Vec::new()),
            waker,
            stop,
            counters,
            thread: Some(thread),
        }
    }

    /// Runs `f` on the driver thread between two polls and returns its result; the events
    /// `f` causes are sent before the result.
    fn with<R: Send + 'static>(&self, f: impl FnOnce(&mut TestDriver) -> R + Send + 'static) -> R {
        let (tx, rx) = mpsc::channel();
        let command: Command = Box::new(move |driver, events| {
            let result = f(driver);
            forward_events(driver, events);
            let _ = tx.send(result);
        });
        self.commands
            .send(command)
            .expect("the driver thread is gone (did it panic?)");
        self.waker.wake().unwrap();
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the driver thread did not answer within 10 s (did it panic?)")
    }

    fn pump(&self) {
        let mut log = self.log.borrow_mut();
        log.extend(self.events.try_iter());
    }

    /// Every event so far.
    fn log(&self) -> Vec<Ev> {
        self.pump();
        self.log.borrow().clone()
    }

    /// Waits until `f`, given every event so far, returns `Some`; panics after `limit`.
    fn wait<T>(&self, limit: Duration, what: &str, mut f: impl FnMut(&[Ev]) -> Option<T>) -> T {
        let deadline = Instant::now() + limit;
        loop {
            self.pump();
            if let Some(found) = f(&self.log.borrow()) {
                return found;
            }
            let now = Instant::now();
            if now >= deadline {
                let log = self.log.borrow();
                let tail = &log[log.len().saturating_sub(20)..];
                panic!(
                    "timed out after {limit:?} waiting for {what}; {} events, the last ones: {tail:#?}",
                    log.len()
                );
            }
            if let Ok(event) = self
                .events
                .recv_timeout((deadline - now).min(Duration::from_millis(20)))
            {
                self.log.borrow_mut().push(event);
            }
        }
    }

    /// The ids of the connections that joined so far, in order.
    fn joined(&self) -> Vec<ConnId> {
        joined_ids(&self.log())
    }

    /// Waits for the `n`-th (0-based) connection to join; returns its id and class.
    fn wait_joined(&self, n: usize) -> (ConnId, ClassId) {
        self.wait(Duration::from_secs(10), "a connection to join", |log| {
            log.iter()
                .filter_map(|e| match e {
                    Ev::Joined { id, class, .. } => Some((*id, *class)),
                    _ => None,
                })
                .nth(n)
        })
    }

    /// Connects a client and waits until the driver has it; returns both ends' ids.
    fn connect(&self, listener: usize) -> (TcpStream, ConnId) {
        let n = self.joined().len();
        let stream = client(self.addrs[listener]);
        let (id, _) = self.wait_joined(n);
        (stream, id)
    }

    /// Waits for connection `id` to leave; returns its class and reason.
    fn wait_left(&self, id: ConnId, limit: Duration) -> (ClassId, Reason) {
        self.wait(limit, &format!("connection {id} to leave"), |log| {
            left_of(log, id)
        })
    }

    /// Bytes the chain of an accepted connection took from its input so far.
    fn taken(&self, id: ConnId) -> u64 {
        self.counters
            .lock()
            .unwrap()
            .get(&id)
            .map_or(0, |c| c.load(Ordering::SeqCst))
    }

    /// Stops the driver thread; fails the test if it panicked.
    fn stop(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.stop.store(true, Ordering::SeqCst);
            let _ = self.waker.wake();
            let result = thread.join();
            if result.is_err() && !thread::panicking() {
                panic!("the driver thread panicked");
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

fn joined_ids(log: &[Ev]) -> Vec<ConnId> {
    log.iter()
        .filter_map(|e| match e {
            Ev::Joined { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

fn left_of(log: &[Ev], id: ConnId) -> Option<(ClassId, Reason)> {
    log.iter().find_map(|e| match e {
        Ev::Left {
            id: left,
            class,
            reason,
        } if *left == id => Some((*class, reason.clone())),
        _ => None,
    })
}

fn lefts(log: &[Ev]) -> Vec<(ConnId, Reason)> {
    log.iter()
        .filter_map(|e| match e {
            Ev::Left { id, reason, .. } => Some((*id, reason.clone())),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Clients.
// ---------------------------------------------------------------------------------------

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking client socket with connect, read and write timeouts.
fn client(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// `len` pseudo-random bytes, different for every seed.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Writes `msg` and reads the same bytes back.
fn round_trip(stream: &mut TcpStream, msg: &[u8]) {
    stream.write_all(msg).unwrap();
    let mut back = vec![0; msg.len()];
    stream.read_exact(&mut back).unwrap();
    assert_eq!(back, msg, "echo differs");
}

/// Reads until the end of the stream; returns the data and how the stream ended (`None`:
/// a clean EOF).
fn read_to_end(stream: &mut TcpStream) -> (Vec<u8>, Option<io::Error>) {
    let mut data = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (data, None),
            Ok(n) => data.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => (),
            Err(e) => return (data, Some(e)),
        }
    }
}

/// Asserts that the peer closed or reset the stream within `limit` without sending data.
fn expect_end(stream: &mut TcpStream, limit: Duration) {
    stream.set_read_timeout(Some(limit)).unwrap();
    let started = Instant::now();
    let mut buf = [0; 64];
    match stream.read(&mut buf) {
        Ok(0) => (),
        Ok(n) => panic!("expected the end of the stream, got {n} bytes"),
        Err(e) if is_reset(&e) => (),
        Err(e) => panic!(
            "expected the end of the stream, got {e} after {:?}",
            started.elapsed()
        ),
    }
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// Ends a client cleanly: half-close, read to EOF (nothing more expected).
fn finish(mut stream: TcpStream) {
    stream.shutdown(Shutdown::Write).unwrap();
    let (rest, end) = read_to_end(&mut stream);
    assert!(rest.is_empty(), "unexpected {} bytes", rest.len());
    assert!(end.is_none(), "unclean end: {end:?}");
}

/// Makes the drop of `stream` send an RST instead of a FIN.
fn set_reset_on_drop(stream: &TcpStream) {
    socket2::SockRef::from(stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The soft limit on open files of this process.
fn fd_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Latency figures of round trips, sorted.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn measure(stream: &mut TcpStream, count: usize, size: usize) -> Latencies {
        let mut all = Vec::with_capacity(count);
        for i in 0..count {
            let msg = pattern(i as u64 + 1, size);
            let started = Instant::now();
            round_trip(stream, &msg);
            all.push(started.elapsed());
        }
        all.sort();
        Latencies(all)
    }

    fn quantile(&self, q: f64) -> Duration {
        let i = ((self.0.len() as f64 - 1.0) * q).round() as usize;
        self.0[i]
    }

    fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    fn summary(&self) -> String {
        format!(
            "n={} p50={:?} p99={:?} max={:?}",
            self.0.len(),
            self.quantile(0.5),
            self.p99(),
            self.0[self.0.len() - 1]
        )
    }
}

// ---------------------------------------------------------------------------------------
// 1. Many concurrent connections.
// ---------------------------------------------------------------------------------------

#[test]
fn a_thousand_concurrent_connections_each_echo_their_own_data() {
    exclusive(Duration::from_secs(45), || {
        let (threads, per_thread) = match fd_limit() {
            // Both ends of every connection live in this process, plus some slack.
            Some(limit) if limit < 2 * 1000 + 100 => {
                let per_thread = ((limit.saturating_sub(100)) / 2 / 100).max(1);
                eprintln!(
                    "open-file limit {limit} is too low for 1,000 connections: using {}",
                    100 * per_thread
                );
                (100, per_thread)
            }
            _ => (100, 10),
        };
        let total = threads * per_thread;
        let server = Server::start(DriverConfig::default(), &[Mode::Echo]);
        let addr = server.addrs[0];
        let go = Arc::new(AtomicBool::new(false));
        let clients = Clients::default();
        let started = Instant::now();
        for t in 0..threads {
            let go = Arc::clone(&go);
            clients.spawn(move || {
                let mut conns: Vec<(TcpStream, Vec<u8>)> = (0..per_thread)
                    .map(|k| {
                        let n = t * per_thread + k;
                        (client(addr), pattern(n as u64, 4096 + (n % 13) * 1024))
                    })
                    .collect();
                wait_until(Duration::from_secs(30), "the start signal", || {
                    go.load(Ordering::SeqCst)
                });
                for (stream, data) in &mut conns {
                    stream.write_all(data).unwrap();
                    stream.shutdown(Shutdown::Write).unwrap();
                }
                for (k, (stream, data)) in conns.iter_mut().enumerate() {
                    let (back, end) = read_to_end(stream);
                    assert!(end.is_none(), "connection {t}/{k}: unclean end {end:?}");
                    assert_eq!(back.len(), data.len(), "connection {t}/{k}: length");
                    assert!(back == *data, "connection {t}/{k}: echo differs");
                }
            });
        }
        // All connections are open at the same time before any sends a byte.
        server.wait(Duration::from_secs(20), "every connection to join", |log| {
            clients.check();
            (joined_ids(log).len() == total).then_some(())
        });
        assert_eq!(server.with(|d| d.connection_count()), total);
        let connected = started.elapsed();
        go.store(true, Ordering::SeqCst);
        let left = server.wait(
            Duration::from_secs(25),
            "every connection to leave",
            |log| {
                clients.check();
                let left = lefts(log);
                (left.len() == total).then_some(left)
            },
        );
        clients.join(Duration::from_secs(10));
        for (id, reason) in &left {
            assert_eq!(*reason, Reason::Closed, "connection {id}");
        }
        let stats = server.with(|d| d.stats());
        assert_eq!(stats.accepted, total as u64);
        assert_eq!(stats.left, total as u64);
        assert_eq!(stats.refused, 0);
        assert_eq!(server.with(|d| d.connection_count()), 0);
        eprintln!(
            "{total} concurrent connections: all joined after {connected:?}, all echoed and left after {:?}",
            started.elapsed()
        );
        server.stop();
    });
}

// ---------------------------------------------------------------------------------------
// 2. Graceful shutdown.
// ---------------------------------------------------------------------------------------

/// Clients send 64 KiB each (no half-close, not reading yet); once the driver has echoed
/// all of it, a shutdown starts; each client then reads its whole echo and a clean EOF.
#[test]
fn graceful_shutdown_delivers_every_echoed_byte_then_eof() {
    shared(Duration::from_secs(30), || {
        const CLIENTS: usize = 10;
        const SIZE: usize = 64 * 1024;
        let server = Server::start(DriverConfig::default(), &[Mode::Echo]);
        let mut conns = Vec::new();
        for n in 0..CLIENTS {
            let (mut stream, id) = server.connect(0);
            let data = pattern(1000 + n as u64, SIZE);
            stream.write_all(&data).unwrap();
            conns.push((stream, id, data));
        }
        wait_until(
            Duration::from_secs(10),
            "the driver to echo everything",
            || {
                conns
                    .iter()
                    .all(|(_, id, _)| server.taken(*id) == SIZE as u64)
            },
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        server.with(move |d| d.shutdown(deadline));
        // No new connections once shutting down.
        match TcpStream::connect_timeout(&server.addrs[0], Duration::from_secs(2)) {
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused),
            Ok(mut late) => expect_end(&mut late, Duration::from_secs(2)),
        }
        for (stream, id, data) in &mut conns {
            let (back, end) = read_to_end(stream);
            assert!(end.is_none(), "{id}: unclean end {end:?}");
            assert_eq!(back.len(), data.len(), "{id}: length");
            assert!(back == *data, "{id}: echo differs");
        }
        drop(conns);
        wait_until(Duration::from_secs(5), "is_shut_down", || {
            server.with(|d| d.is_shut_down())
        });
        assert!(Instant::now() < deadline);
        let left = lefts(&server.log());
        assert_eq!(left.len(), CLIENTS);
        // Every connection finished before the deadline. (With this chain, the peer's FIN
        // after our close is an error of the chain: see the report.)
        for (id, reason) in &left {
            assert_ne!(*reason, Reason::ShutdownDeadline, "{id}");
        }
        eprintln!(
            "shutdown with the documentation's echo: reasons {:?}",
            left.iter().map(|(_, r)| r).collect::<Vec<_>>()
        );
        server.stop();
    });
}

/// Writes `data` without reading until the writes block (the driver's buffers then hold data
/// in both directions); returns the bytes written.
fn flood_until_blocked(stream: &mut TcpStream, data: &[u8]) -> usize {
    // A fixed receive buffer: with Linux's autotuning (tcp_rmem up to 32 MiB on some
    // machines) the echo coming back could absorb the whole flood without blocking it.
    socket2::SockRef::from(&*stream)
        .set_recv_buffer_size(256 * 1024)
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut sent = 0;
    while sent < data.len() {
        match stream.write(&data[sent..(sent + 64 * 1024).min(data.len())]) {
            Ok(n) => sent += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(e) => panic!("flood write failed: {e}"),
        }
    }
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    sent
}

/// Shutdown while the driver holds data in both directions for peers that do not read:
/// every byte the chain queued for sending reaches the peer, then a clean EOF.
fn shutdown_with_full_buffers(mode: Mode) {
    const CLIENTS: usize = 3;
    let server = Server::start(DriverConfig::default(), &[mode]);
    let mut conns = Vec::new();
    for n in 0..CLIENTS {
        let (mut stream, id) = server.connect(0);
        let data = pattern(2000 + n as u64, 24 * 1024 * 1024);
        let sent = flood_until_blocked(&mut stream, &data);
        assert!(sent < data.len(), "the flood never blocked");
        conns.push((stream, id, data, sent));
    }
    // The driver now holds unsent echo in net.wr and unechoed input in net.rd.
    for (_, id, _, sent) in &conns {
        let taken = server.taken(*id);
        assert!(
            taken > 0 && taken < *sent as u64,
            "{id}: taken {taken} of {sent}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    server.with(move |d| d.shutdown(deadline));
    for (stream, id, data, _) in &mut conns {
        let (back, end) = read_to_end(stream);
        let taken = server.taken(*id) as usize;
        assert!(
            back[..] == data[..back.len()],
            "{id}: the echo is not a prefix of the data sent"
        );
        assert!(
            end.is_none() && back.len() == taken,
            "{id}: received {} of the {taken} bytes the chain queued for sending, then {}",
            back.len(),
            end.map_or("a clean EOF".into(), |e| format!("error: {e}"))
        );
    }
    drop(conns);
    wait_until(Duration::from_secs(5), "is_shut_down", || {
        server.with(|d| d.is_shut_down())
    });
    for (id, reason) in lefts(&server.log()) {
        match mode {
            // The doc example's echo forwards after its own close: a chain error, reported
            // as such, but only after everything it queued was delivered.
            Mode::Echo => assert!(matches!(reason, Reason::ChainError(_)), "{id}: {reason:?}"),
            _ => assert_eq!(reason, Reason::Closed, "{id}"),
        }
    }
    server.stop();
}

/// A connection whose chain failed on the peer's first bytes (a TLS server given plain HTTP)
/// delivers what the chain wrote, then leaves at the peer's end of stream: the drain timeout
/// only bounds a peer that never closes.
#[test]
fn a_failed_chain_leaves_as_soon_as_the_peer_closes_after_the_reply() {
    shared(Duration::from_secs(30), || {
        let server = Server::start(DriverConfig::default(), &[Mode::Fail]);
        let (mut stream, id) = server.connect(0);
        stream.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let (reply, end) = read_to_end(&mut stream);
        assert_eq!((&reply[..], end.map(|e| e.kind())), (&b"bye"[..], None));
        let started = Instant::now();
        drop(stream);
        let (_, reason) = server.wait_left(id, Duration::from_secs(20));
        assert!(matches!(reason, Reason::ChainError(_)), "{reason:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "left {:?} after the peer's close",
            started.elapsed()
        );
        server.stop();
    });
}

/// With a chain that finishes its echo on close (the `tcp_echo` example's), a shutdown
/// while the driver's buffers are full in both directions loses nothing.
#[test]
fn graceful_shutdown_flushes_data_still_buffered_in_the_driver() {
    shared(Duration::from_secs(30), || {
        shutdown_with_full_buffers(Mode::GracefulEcho)
    });
}

/// The same with the documentation's echo chain and the default [`Chain::close`].
#[test]
fn graceful_shutdown_with_the_default_close_keeps_data_already_queued() {
    shared(Duration::from_secs(30), || {
        shutdown_with_full_buffers(Mode::Echo)
    });
}

/// Connections that do not finish by the deadline are dropped then, and the shutdown ends.
#[test]
fn graceful_shutdown_drops_connections_still_open_at_the_deadline() {
    shared(Duration::from_secs(30), || {
        let server = Server::start(DriverConfig::default(), &[Mode::GracefulEcho]);
        let (mut stubborn, id) = server.connect(0);
        round_trip(&mut stubborn, b"before the shutdown");
        let started = Instant::now();
        let deadline = started + Duration::from_millis(300);
        server.with(move |d| d.shutdown(deadline));
        // Our side closes at once; the peer never closes its side.
        let (rest, end) = read_to_end(&mut stubborn);
        assert!(rest.is_empty() && end.is_none(), "{rest:?} {end:?}");
        let (_, reason) = server.wait_left(id, Duration::from_secs(3));
        let after = started.elapsed();
        assert_eq!(reason, Reason::ShutdownDeadline);
        assert!(
            after >= Duration::from_millis(300),
            "dropped after {after:?}"
        );
        assert!(server.with(|d| d.is_shut_down()));
        // After the deadline the peer sees a reset (or at least no more data).
        stubborn.set_nonblocking(false).unwrap();
        match stubborn.write_all(b"late") {
            Ok(()) => expect_end(&mut stubborn, Duration::from_secs(2)),
            Err(e) => assert!(is_reset(&e), "{e}"),
        }
        server.stop();
    });
}

// ---------------------------------------------------------------------------------------
// 3. Classes: pause and read budget.
// ---------------------------------------------------------------------------------------

/// Starts `n` clients that write to `addr` as fast as they can, never reading, until `stop`.
fn start_flood(clients: &Clients, addr: SocketAddr, n: usize, stop: &Arc<AtomicBool>) {
    for k in 0..n {
        let stop = Arc::clone(stop);
        clients.spawn(move || {
            let mut stream = client(addr);
            stream
                .set_write_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let data = pattern(3000 + k as u64, 64 * 1024);
            while !stop.load(Ordering::SeqCst) {
                match stream.write(&data) {
                    Ok(_) => (),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => panic!("flood write failed: {e}"),
                }
            }
        });
    }
}

#[test]
fn a_paused_flooding_class_does_not_delay_another_class_echo() {
    exclusive(Duration::from_secs(30), || {
        const FLOODERS: usize = 4;
        let server = Server::start(DriverConfig::default(), &[Mode::Echo, Mode::Sink]);
        let flood = server.with(|d| d.add_class(ClassConfig::default()).unwrap());
        let (mut probe, _) = server.connect(0);
        let baseline = Latencies::measure(&mut probe, 100, 64);

        assert!(server.with(move |d| d.set_accept_class(flood)));
        let stop = Arc::new(AtomicBool::new(false));
        let clients = Clients::default();
        start_flood(&clients, server.addrs[1], FLOODERS, &stop);
        for n in 1..=FLOODERS {
            let (_, class) = server.wait_joined(n);
            assert_eq!(class, flood);
        }
        assert!(server.with(|d| d.set_accept_class(ClassId::DEFAULT)));
        let flooders: Vec<ConnId> = server.joined()[1..].to_vec();
        let sunk = || flooders.iter().map(|id| server.taken(*id)).sum::<u64>();

        // Unpaused, the flood is read.
        let before = sunk();
        wait_until(Duration::from_secs(5), "the flood to be read", || {
            clients.check();
            sunk() > before + 1024 * 1024
        });
        let unpaused_rate = {
            let (s, t) = (sunk(), Instant::now());
            thread::sleep(Duration::from_millis(200));
            (sunk() - s) as f64 / t.elapsed().as_secs_f64() / 1e6
        };

        assert!(server.with(move |d| d.pause_class(flood)));
        let paused_at = sunk();
        let during = Latencies::measure(&mut probe, 300, 64);
        clients.check();
        assert_eq!(sunk(), paused_at, "a paused class was read from");

        assert!(server.with(move |d| d.resume_class(flood)));
        wait_until(Duration::from_secs(5), "reading to resume", || {
            sunk() > paused_at + 1024 * 1024
        });
        let resumed = Latencies::measure(&mut probe, 100, 64);

        stop.store(true, Ordering::SeqCst);
        clients.join(Duration::from_secs(10));
        finish(probe);
        eprintln!("paused flood: flood read at {unpaused_rate:.0} MB/s before the pause");
        eprintln!(
            "paused flood: probe latency without flood {}",
            baseline.summary()
        );
        eprintln!(
            "paused flood: probe latency, flood paused {}",
            during.summary()
        );
        eprintln!(
            "paused flood: probe latency, flood resumed {}",
            resumed.summary()
        );
        assert!(
            during.p99() < Duration::from_millis(200),
            "latency with a paused flood: {}",
            during.summary()
        );
        server.stop();
    });
}

#[test]
fn a_flooding_class_with_a_small_read_budget_does_not_starve_another_class() {
    exclusive(Duration::from_secs(30), || {
        const FLOODERS: usize = 4;
        const BUDGET: usize = 16 * 1024;
        let server = Server::start(DriverConfig::default(), &[Mode::Echo, Mode::Sink]);
        let flood = server.with(|d| {
            d.add_class(ClassConfig {
                priority: 0,
                read_budget: BUDGET,
            })
            .unwrap()
        });
        let (mut probe, _) = server.connect(0);
        let baseline = Latencies::measure(&mut probe, 100, 64);

        assert!(server.with(move |d| d.set_accept_class(flood)));
        let stop = Arc::new(AtomicBool::new(false));
        let clients = Clients::default();
        start_flood(&clients, server.addrs[1], FLOODERS, &stop);
        for n in 1..=FLOODERS {
            assert_eq!(server.wait_joined(n).1, flood);
        }
        assert!(server.with(|d| d.set_accept_class(ClassId::DEFAULT)));
        let flooders: Vec<ConnId> = server.joined()[1..].to_vec();
        let sunk = || flooders.iter().map(|id| server.taken(*id)).sum::<u64>();
        wait_until(Duration::from_secs(5), "the flood to be read", || {
            clients.check();
            sunk() > 1024 * 1024
        });

        let (s0, t0) = (sunk(), Instant::now());
        let during = Latencies::measure(&mut probe, 300, 64);
        let rate = (sunk() - s0) as f64 / t0.elapsed().as_secs_f64() / 1e6;
        clients.check();
        let each: Vec<u64> = flooders.iter().map(|id| server.taken(*id)).collect();

        stop.store(true, Ordering::SeqCst);
        clients.join(Duration::from_secs(10));
        finish(probe);
        eprintln!(
            "budgeted flood ({BUDGET} B/turn): flood read at {rate:.1} MB/s meanwhile; per flooder {each:?}"
        );
        eprintln!(
            "budgeted flood: probe latency without flood {}",
            baseline.summary()
        );
        eprintln!(
            "budgeted flood: probe latency during flood {}",
            during.summary()
        );
        assert!(rate > 0.0, "the budgeted class was starved itself");
        assert!(
            during.p99() < Duration::from_millis(200),
            "latency beside a budgeted flood: {}",
            during.summary()
        );
        server.stop();
    });
}

/// Within a class, the read budget is shared: no member is starved by another member that
/// always has data.
#[test]
fn a_class_read_budget_is_shared_by_all_its_flooding_members() {
    exclusive(Duration::from_secs(30), || {
        const FLOODERS: usize = 4;
        let server = Server::start(DriverConfig::default(), &[Mode::Sink]);
        let flood = server.with(|d| {
            let class = d
                .add_class(ClassConfig {
                    priority: 0,
                    read_budget: 16 * 1024,
                })
                .unwrap();
            d.set_accept_class(class);
            class
        });
        let stop = Arc::new(AtomicBool::new(false));
        let clients = Clients::default();
        start_flood(&clients, server.addrs[0], FLOODERS, &stop);
        for n in 0..FLOODERS {
            assert_eq!(server.wait_joined(n).1, flood);
        }
        let flooders = server.joined();
        thread::sleep(Duration::from_millis(300));
        let before: Vec<u64> = flooders.iter().map(|id| server.taken(*id)).collect();
        thread::sleep(Duration::from_secs(1));
        let gained: Vec<u64> = flooders
            .iter()
            .zip(&before)
            .map(|(id, b)| server.taken(*id) - b)
            .collect();
        stop.store(true, Ordering::SeqCst);
        clients.join(Duration::from_secs(10));
        server.stop();
        let total: u64 = gained.iter().sum();
        eprintln!("bytes read per member of a budgeted class in 1 s: {gained:?}");
        for (id, g) in flooders.iter().zip(&gained) {
            assert!(
                *g >= total / FLOODERS as u64 / 10,
                "{id} got {g} of {total} bytes: {gained:?}"
            );
        }
    });
}

#[test]
fn a_higher_priority_class_is_processed_first_in_a_turn() {
    shared(Duration::from_secs(30), || {
        let server = Server::start(DriverConfig::default(), &[Mode::Report]);
        let high = server.with(|d| {
            d.add_class(ClassConfig {
                priority: 10,
                ..ClassConfig::default()
            })
            .unwrap()
        });
        let (_low_stream, low) = server.connect(0);
        let (_high_stream, high_id) = server.connect(0);
        assert!(server.with(move |d| d.move_to(high_id, high)));
        let messages = |log: &[Ev]| -> Vec<ConnId> {
            log.iter()
                .filter_map(|e| match e {
                    Ev::Message { id } => Some(*id),
                    _ => None,
                })
                .collect()
        };
        for round in 0..5 {
            // Quiet: no turns until the application asks for them.
            thread::sleep(Duration::from_millis(50));
            let before = messages(&server.log()).len();
            // Queued low first: a turn in arrival order would run it first.
            assert!(server.with(move |d| d.wake(low) && d.wake(high_id)));
            let order = server.wait(Duration::from_secs(5), "both turns", |log| {
                let all = messages(log);
                (all.len() >= before + 2).then(|| all[before..before + 2].to_vec())
            });
            assert_eq!(order, [high_id, low], "round {round}: turn order");
        }
        assert!(!server.with(move |d| {
            d.abort(low);
            d.wake(low)
        }));
        server.stop();
    });
}

// ---------------------------------------------------------------------------------------
// 4. Moving connections between classes.
// ---------------------------------------------------------------------------------------

#[test]
fn moving_a_connection_between_classes_while_data_flows_loses_no_bytes() {
    shared(Duration::from_secs(30), || {
        const SIZE: usize = 2 * 1024 * 1024;
        let server = Server::start(DriverConfig::default(), &[Mode::Echo]);
        let (fast, small, paused) = server.with(|d| {
            let fast = d
                .add_class(ClassConfig {
                    priority: 5,
                    ..ClassConfig::default()
                })
                .unwrap();
            let small = d
                .add_class(ClassConfig {
                    priority: 0,
                    read_budget: 4096,
                })
                .unwrap();
            let paused = d.add_class(ClassConfig::default()).unwrap();
            d.pause_class(paused);
            (fast, small, paused)
        });
        let rotation = [fast, small, paused, ClassId::DEFAULT];
        let (stream, id) = server.connect(0);
        let data = Arc::new(pattern(4000, SIZE));
        let clients = Clients::default();
        let done = Arc::new(AtomicBool::new(false));
        {
            let mut writer = stream.try_clone().unwrap();
            let data = Arc::clone(&data);
            clients.spawn(move || {
                // Paced, so that many moves happen while data flows.
                for chunk in data.chunks(16 * 1024) {
                    writer.write_all(chunk).unwrap();
                    thread::sleep(Duration::from_millis(1));
                }
                writer.shutdown(Shutdown::Write).unwrap();
            });
        }
        {
            let mut reader = stream;
            let data = Arc::clone(&data);
            let done = Arc::clone(&done);
            clients.spawn(move || {
                let (back, end) = read_to_end(&mut reader);
                assert!(end.is_none(), "unclean end {end:?}");
                assert_eq!(back.len(), data.len(), "echo length");
                assert!(back == *data, "echo differs");
                done.store(true, Ordering::SeqCst);
            });
        }
        let mut moves = 0;
        let mut expected_from = ClassId::DEFAULT;
        while !done.load(Ordering::SeqCst) {
            clients.check();
            let to = rotation[moves % rotation.len()];
            let (moved, class) = server.with(move |d| (d.move_to(id, to), d.class_of(id)));
            if !moved {
                // Only once the connection has left, after the whole echo.
                assert!(class.is_none());
                break;
            }
            assert_eq!(class, Some(to));
            let expected = Ev::Moved {
                id,
                from: expected_from,
                to,
            };
            server.wait(Duration::from_secs(5), "the Moved event", |log| {
                log.contains(&expected).then_some(())
            });
            expected_from = to;
            moves += 1;
            thread::sleep(Duration::from_millis(1));
        }
        clients.join(Duration::from_secs(15));
        let (_, reason) = server.wait_left(id, Duration::from_secs(5));
        assert_eq!(reason, Reason::Closed);
        let log = server.log();
        let moved: Vec<&Ev> = log
            .iter()
            .filter(|e| matches!(e, Ev::Moved { .. }))
            .collect();
        assert_eq!(moved.len(), moves, "one Moved event per move");
        assert!(moves >= 20, "only {moves} moves happened while data flowed");
        eprintln!("moved the connection {moves} times during a {SIZE}-byte echo");
        server.stop();
    });
}

// ---------------------------------------------------------------------------------------
// 5. Removing classes.
// ---------------------------------------------------------------------------------------

#[test]
fn removing_a_class_moves_or_closes_its_members_as_asked() {
    shared(Duration::from_secs(30), || {
        let server = Server::start(DriverConfig::default(), &[Mode::Echo]);
        let (x, y) = server.with(|d| {
            let x = d.add_class(ClassConfig::default()).unwrap();
            let y = d.add_class(ClassConfig::default()).unwrap();
            assert!(d.set_accept_class(x));
            (x, y)
        });
        let mut members = Vec::new();
        for n in 0..3 {
            let (mut stream, id) = server.connect(0);
            assert_eq!(server.wait_joined(n).1, x);
            round_trip(&mut stream, b"in x");
            members.push((stream, id));
        }
        let ids: Vec<ConnId> = members.iter().map(|(_, id)| *id).collect();
        let mut in_x = server.with(move |d| d.members(x).to_vec());
        in_x.sort();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(in_x, sorted);

        // Refused removals change nothing.
        assert!(!server.with(|d| d.remove_class(ClassId::DEFAULT, Disposition::Close)));
        assert!(!server.with(move |d| d.remove_class(x, Disposition::MoveTo(x))));

        assert!(server.with(move |d| d.remove_class(x, Disposition::MoveTo(y))));
        let log = server.log();
        for id in &ids {
            let moved = Ev::Moved {
                id: *id,
                from: x,
                to: y,
            };
            assert_eq!(log.iter().filter(|e| **e == moved).count(), 1, "{id}");
            assert_eq!(
                server.with({
                    let id = *id;
                    move |d| d.class_of(id)
                }),
                Some(y)
            );
        }
        let mut in_y = server.with(move |d| d.members(y).to_vec());
        in_y.sort();
        assert_eq!(in_y, sorted);
        assert!(
            !server.with(move |d| d.remove_class(x, Disposition::Close)),
            "removed twice"
        );
        assert!(
            !server.with(move |d| d.move_to(ids[0], x)),
            "moved into a removed class"
        );
        for (stream, _) in &mut members {
            round_trip(stream, b"now in y");
        }

        // The accept class fell back to the default one.
        let (mut other, other_id) = server.connect(0);
        assert_eq!(server.wait_joined(3).1, ClassId::DEFAULT);

        assert!(server.with(move |d| d.remove_class(y, Disposition::Close)));
        let log = server.log();
        for (stream, id) in &mut members {
            assert_eq!(
                left_of(&log, *id),
                Some((y, Reason::ClassRemoved)),
                "{id} must leave at once"
            );
            expect_end(stream, Duration::from_secs(2));
        }
        assert_eq!(server.with(|d| d.connection_count()), 1);
        round_trip(&mut other, b"unaffected");
        finish(other);
        assert_eq!(
            server.wait_left(other_id, Duration::from_secs(5)).1,
            Reason::Closed
        );
        server.stop();
    });
}

// ---------------------------------------------------------------------------------------
// 6. Connection limit.
// ---------------------------------------------------------------------------------------

#[test]
fn connections_beyond_max_connections_are_closed_at_once_and_counted() {
    shared(Duration::from_secs(30), || {
        let config = DriverConfig {
            max_connections: 5,
            ..DriverConfig::default()
        };
        let server = Server::start(config, &[Mode::Echo]);
        let mut conns: Vec<(TcpStream, ConnId)> = (0..5).map(|_| server.connect(0)).collect();
        for (stream, _) in &mut conns {
            round_trip(stream, b"one of five");
        }
        let mut sixth = client(server.addrs[0]);
        let started = Instant::now();
        expect_end(&mut sixth, Duration::from_secs(3));
        eprintln!("the 6th connection ended after {:?}", started.elapsed());
        assert_eq!(server.with(|d| d.stats()).refused, 1);
        assert_eq!(server.with(|d| d.stats()).accepted, 5);
        assert_eq!(server.with(|d| d.connection_count()), 5);
        for (stream, _) in &mut conns {
            round_trip(stream, b"still working");
        }
        // Room again once one leaves.
        let (stream, id) = conns.remove(0);
        finish(stream);
        server.wait_left(id, Duration::from_secs(5));
        let (mut again, _) = server.connect(0);
        round_trip(&mut again, b"accepted again");
        let stats = server.with(|d| d.stats());
        assert_eq!((stats.accepted, stats.refused), (6, 1));
        finish(again);
        for (stream, _) in conns {
            finish(stream);
        }
        server.stop();
    });
}

#[test]
fn stats_count_bytes_messages_and_reasons_for_the_driver_and_for_each_class() {
    shared(Duration::from_secs(30), || {
        // Listener 0 echoes; listener 1 reports every turn as a message.
        let server = Server::start(DriverConfig::default(), &[Mode::Echo, Mode::Report]);
        let other = server
            .with(|d| d.add_class(ClassConfig::default()))
            .expect("a class");
        let (mut echo, echo_id) = server.connect(0);
        round_trip(&mut echo, &[7; 1000]);
        round_trip(&mut echo, &[8; 24]);
        let (mut reporting, reporting_id) = server.connect(1);
        reporting.write_all(b"to the sink").unwrap();
        wait_until(Duration::from_secs(5), "the sink to take its bytes", || {
            server.taken(reporting_id) == 11
        });
        // Bytes after a move count for the new class; the whole life counts for the driver.
        assert!(server.with(move |d| d.move_to(echo_id, other)));
        round_trip(&mut echo, &[9; 100]);
        finish(echo);
        server.wait_left(echo_id, Duration::from_secs(5));
        set_reset_on_drop(&reporting);
        drop(reporting);
        server.wait_left(reporting_id, Duration::from_secs(5));

        let total = server.with(|d| d.stats());
        let default = server.with(|d| d.class_stats(ClassId::DEFAULT)).unwrap();
        let moved = server.with(move |d| d.class_stats(other)).unwrap();
        assert_eq!((total.accepted, total.left, total.refused), (2, 2, 0));
        assert_eq!((total.closed, total.aborted), (1, 1));
        assert_eq!(
            (total.chain_errors, total.io_errors, total.timeouts),
            (0, 0, 0)
        );
        assert_eq!(total.bytes_read, 1000 + 24 + 11 + 100);
        assert_eq!(total.bytes_written, 1000 + 24 + 100);
        assert!(
            total.messages >= 2,
            "{total:?}: a message per turn of the reporter"
        );
        assert_eq!(total.messages, default.messages, "only the reporter emits");
        assert_eq!(default.accepted, 2, "both start in the accept class");
        assert_eq!(
            (default.bytes_read, default.bytes_written),
            (1024 + 11, 1024)
        );
        assert_eq!((default.left, default.aborted), (1, 1));
        assert_eq!(
            (moved.accepted, moved.bytes_read, moved.bytes_written),
            (0, 100, 100)
        );
        assert_eq!((moved.left, moved.closed), (1, 1));
        assert!(server.with(move |d| d.remove_class(other, Disposition::Close)));
        assert_eq!(
            server.with(move |d| d.class_stats(other)),
            None,
            "no such class"
        );
        server.stop();
    });
}

// ---------------------------------------------------------------------------------------
// 7. Idle timeout.
// ---------------------------------------------------------------------------------------

#[test]
fn a_silent_peer_is_dropped_after_the_idle_timeout_and_others_are_not() {
    shared(Duration::from_secs(30), || {
        const IDLE: Duration = Duration::from_millis(300);
        let config = DriverConfig {
            idle_timeout: Some(IDLE),
            ..DriverConfig::default()
        };
        let server = Server::start(config, &[Mode::Echo]);
        let (silent, silent_id) = server.connect(0);
        let (mut active, active_id) = server.connect(0);
        // The active peer talks every 50 ms (well within the timeout) until told to stop.
        let stop = Arc::new(AtomicBool::new(false));
        let clients = Clients::default();
        let trips = Arc::new(AtomicUsize::new(0));
        {
            let stop = Arc::clone(&stop);
            let trips = Arc::clone(&trips);
            clients.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    round_trip(&mut active, b"still here");
                    trips.fetch_add(1, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(50));
                }
                finish(active);
            });
        }
        let (_, reason) = server.wait_left(silent_id, Duration::from_secs(3));
        assert_eq!(reason, Reason::IdleTimeout);
        let mut silent = silent;
        expect_end(&mut silent, Duration::from_secs(2));
        // How long a silent peer lasts, measured from before its connect.
        let probe_start = Instant::now();
        let (_probe, probe_id) = server.connect(0);
        let (_, probe_reason) = server.wait_left(probe_id, Duration::from_secs(3));
        let probe_after = probe_start.elapsed();
        assert_eq!(probe_reason, Reason::IdleTimeout);
        assert!(
            probe_after >= IDLE && probe_after < IDLE + Duration::from_secs(1),
            "a silent peer left after {probe_after:?} with an idle timeout of {IDLE:?}"
        );
        clients.check();
        assert_eq!(
            left_of(&server.log(), active_id),
            None,
            "the active peer was dropped"
        );
        stop.store(true, Ordering::SeqCst);
        clients.join(Duration::from_secs(10));
        assert_eq!(
            server.wait_left(active_id, Duration::from_secs(5)).1,
            Reason::Closed
        );
        assert!(trips.load(Ordering::SeqCst) >= 10);
        eprintln!("idle timeout {IDLE:?}: a silent peer left after {probe_after:?}");
        server.stop();
    });
}

#[test]
fn a_busy_connection_keeps_its_buffers_and_frees_them_once_idle() {
    exclusive(Duration::from_secs(30), || {
        const RELEASE_AFTER: Duration = Duration::from_millis(400);
        let config = DriverConfig {
            release_after: RELEASE_AFTER,
            ..DriverConfig::default()
        };
        let server = Server::start(config, &[Mode::Echo]);
        let (mut stream, id) = server.connect(0);
        let start = Instant::now();
        RELEASES.store(0, Ordering::SeqCst);
        let mut trips = 0;
        while start.elapsed() < RELEASE_AFTER / 4 {
            round_trip(&mut stream, b"busy");
            trips += 1;
        }
        assert!(trips > 1);
        assert_eq!(
            RELEASES.load(Ordering::SeqCst),
            0,
            "buffers freed while the connection was busy ({trips} round trips)"
        );
        let idle_from = Instant::now();
        wait_until(Duration::from_secs(5), "the idle release", || {
            RELEASES.load(Ordering::SeqCst) > 0
        });
        let after = idle_from.elapsed();
        assert!(
            after >= RELEASE_AFTER - RELEASE_AFTER / 4,
            "released after {after:?}, before {RELEASE_AFTER:?} of idleness"
        );
        round_trip(&mut stream, b"works after release");
        finish(stream);
        assert_eq!(
            server.wait_left(id, Duration::from_secs(5)).1,
            Reason::Closed
        );
        server.stop();
    });
}

#[test]
fn large_buffers_of_a_busy_connection_are_kept_within_the_byte_budget_and_freed_beyond_it() {
    exclusive(Duration::from_secs(30), || {
        let big = pattern(1, 64 * 1024);
        let default_budget = DriverConfig::default().max_lingering_bytes;
        for (budget, kept) in [(default_budget, true), (16 * 1024, false)] {
            let config = DriverConfig {
                release_after: Duration::from_secs(10),
                max_lingering_bytes: budget,
                ..DriverConfig::default()
            };
            let server = Server::start(config, &[Mode::Echo]);
            let (mut stream, id) = server.connect(0);
            round_trip(&mut stream, &big);
            RELEASES.store(0, Ordering::SeqCst);
            for _ in 0..5 {
                round_trip(&mut stream, &big);
            }
            let releases = RELEASES.load(Ordering::SeqCst);
            if kept {
                assert_eq!(
                    releases, 0,
                    "64 KiB buffers freed while busy within the budget"
                );
            } else {
                assert!(
                    releases > 0,
                    "buffers over a {budget} byte budget were kept"
                );
            }
            finish(stream);
            assert_eq!(
                server.wait_left(id, Duration::from_secs(5)).1,
                Reason::Closed
            );
            server.stop();
        }
    });
}

#[test]
fn idle_buffers_are_kept_for_at_most_max_lingering_connections() {
    exclusive(Duration::from_secs(30), || {
        for (max_lingering, kept) in [(DriverConfig::default().max_lingering, true), (1, false)] {
            let config = DriverConfig {
                release_after: Duration::from_secs(10),
                max_lingering,
                ..DriverConfig::default()
            };
            let server = Server::start(config, &[Mode::Echo]);
            let (mut a, a_id) = server.connect(0);
            let (mut b, b_id) = server.connect(0);
            round_trip(&mut a, b"warm up");
            round_trip(&mut b, b"warm up");
            RELEASES.store(0, Ordering::SeqCst);
            // Turns alternate between the two: each keeps its buffers for `release_after`,
            // unless only one may.
            for i in 0..5 {
                round_trip(&mut a, format!("a {i}").as_bytes());
                round_trip(&mut b, format!("b {i}").as_bytes());
            }
            let releases = RELEASES.load(Ordering::SeqCst);
            if kept {
                assert_eq!(releases, 0, "buffers freed within max_lingering");
            } else {
                assert!(
                    releases >= 5,
                    "{releases} releases with max_lingering 1 and two busy connections"
                );
            }
            finish(a);
            finish(b);
            for id in [a_id, b_id] {
                assert_eq!(
                    server.wait_left(id, Duration::from_secs(5)).1,
                    Reason::Closed
                );
            }
            server.stop();
        }
    });
}

// ---------------------------------------------------------------------------------------
// 8. Hostile peers.
// ---------------------------------------------------------------------------------------

#[test]
fn hostile_peers_leak_no_file_descriptors_and_do_not_disturb_others() {
    exclusive(Duration::from_secs(40), || {
        let config = DriverConfig {
            idle_timeout: Some(Duration::from_secs(1)),
            ..DriverConfig::default()
        };
        let server = Server::start(config, &[Mode::Echo]);
        // Warm up (first connection, first threads) before the baseline.
        let (mut warm, warm_id) = server.connect(0);
        round_trip(&mut warm, b"warm up");
        finish(warm);
        server.wait_left(warm_id, Duration::from_secs(5));
        let baseline = open_fds();

        let addr = server.addrs[0];
        let clients = Clients::default();
        let stop = Arc::new(AtomicBool::new(false));
        let normal_trips = Arc::new(AtomicUsize::new(0));
        let normal_conns = Arc::new(AtomicUsize::new(0));
        {
            // A well-behaved client keeps working throughout.
            let stop = Arc::clone(&stop);
            let trips = Arc::clone(&normal_trips);
            let conns = Arc::clone(&normal_conns);
            clients.spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let mut stream = client(addr);
                    conns.fetch_add(1, Ordering::SeqCst);
                    for _ in 0..10 {
                        n += 1;
                        round_trip(&mut stream, &pattern(n, 1000));
                        trips.fetch_add(1, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(5));
                    }
                    finish(stream);
                }
            });
        }
        let mut held = Vec::new();
        // Silent peers: connect and send nothing (the idle timeout drops them).
        for _ in 0..20 {
            held.push(client(addr));
        }
        // Peers that close or reset at once.
        for _ in 0..20 {
            drop(client(addr));
        }
        for _ in 0..20 {
            let stream = client(addr);
            set_reset_on_drop(&stream);
            drop(stream);
        }
        // Half-closing peers that never read the echo.
        for n in 0..20 {
            let mut stream = client(addr);
            stream.write_all(&pattern(n, 1024)).unwrap();
            stream.shutdown(Shutdown::Write).unwrap();
            held.push(stream);
        }
        // Peers that send forever without reading (until the driver drops them).
        let hostile = Clients::default();
        for k in 0..4 {
            hostile.spawn(move || {
                let mut stream = client(addr);
                stream
                    .set_write_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                let data = pattern(5000 + k, 64 * 1024);
                let started = Instant::now();
                loop {
                    match stream.write(&data) {
                        Ok(_) => (),
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                            ) => {}
                        Err(e) if is_reset(&e) => return,
                        Err(e) => panic!("flood write: {e}"),
                    }
                    assert!(
                        started.elapsed() < Duration::from_secs(15),
                        "a peer that never reads was never dropped"
                    );
                }
            });
        }
        // Peers that reset in the middle of writing.
        for k in 0..10 {
            hostile.spawn(move || {
                let mut stream = client(addr);
                stream
                    .set_write_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                let data = pattern(6000 + k, 64 * 1024);
                for _ in 0..8 {
                    if stream.write(&data).is_err() {
                        break;
                    }
                }
                set_reset_on_drop(&stream);
            });
        }
        // The silent peers and the peers that never read are dropped for idleness; the
        // others leave as they go.
        server.wait(
            Duration::from_secs(20),
            "the idle peers to be dropped",
            |log| {
                hostile.check();
                clients.check();
                let idle = lefts(log)
                    .iter()
                    .filter(|(_, r)| *r == Reason::IdleTimeout)
                    .count();
                (idle >= 20 + 4).then_some(())
            },
        );
        hostile.join(Duration::from_secs(10));
        stop.store(true, Ordering::SeqCst);
        clients.join(Duration::from_secs(20));
        drop(held);
        // The warm-up, the hostile peers and the normal client's connections.
        let expected = 1 + 20 + 20 + 20 + 20 + 4 + 10 + normal_conns.load(Ordering::SeqCst);
        server.wait(Duration::from_secs(5), "every connection to leave", |log| {
            let joined = joined_ids(log).len();
            (joined == expected && lefts(log).len() == expected).then_some(())
        });
        assert_eq!(server.with(|d| d.connection_count()), 0);
        let log = server.log();
        let mut reasons: HashMap<String, usize> = HashMap::new();
        for (_, reason) in lefts(&log) {
            let key = format!("{reason:?}");
            *reasons.entry(key).or_default() += 1;
        }
        for reason in reasons.keys() {
            assert!(
                ["Closed", "Aborted", "IdleTimeout"].contains(&reason.as_str()),
                "unexpected reason {reason}: {reasons:?}"
            );
        }
        let after = open_fds();
        eprintln!(
            "hostile peers: {} connections, reasons {reasons:?}, {} normal round trips; fds {baseline} -> {after}",
            joined_ids(&log).len(),
            normal_trips.load(Ordering::SeqCst)
        );
        assert!(normal_trips.load(Ordering::SeqCst) > 0);
        assert_eq!(after, baseline, "file descriptors leaked");
        server.stop();
    });
}

#[test]
fn a_chain_that_never_settles_is_dropped_after_max_passes_and_others_are_not() {
    shared(Duration::from_secs(30), || {
        let config = DriverConfig {
            max_passes: 50,
            ..DriverConfig::default()
        };
        let server = Server::start(config, &[Mode::Echo, Mode::Spin]);
        let (mut echo, echo_id) = server.connect(0);
        round_trip(&mut echo, b"before");
        // A blocking connect, not `client()`: the reset may come before a timed connect has
        // checked its result or before socket options are set.
        let n = server.joined().len();
        let mut spin = TcpStream::connect(server.addrs[1]).unwrap();
        let (spin_id, _) = server.wait_joined(n);
        assert_eq!(
            server.wait_left(spin_id, Duration::from_secs(5)).1,
            Reason::Unsettled
        );
        let _ = spin.set_read_timeout(Some(IO_TIMEOUT));
        match spin.read(&mut [0; 16]) {
            Err(e) if is_reset(&e) => (),
            other => panic!("expected a reset, got {other:?}"),
        }
        round_trip(&mut echo, b"after");
        assert_eq!(left_of(&server.log(), echo_id), None);
        assert_eq!(server.with(|d| d.connection_count()), 1);
        finish(echo);
        assert_eq!(
            server.wait_left(echo_id, Duration::from_secs(5)).1,
            Reason::Closed
        );
        server.stop();
    });
}

// ---------------------------------------------------------------------------------------
// 9. Outgoing connections.
// ---------------------------------------------------------------------------------------

/// Accepts one connection within `limit`.
fn accept_within(listener: &TcpListener, limit: Duration) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
                return stream;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection arrived");
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

#[test]
fn connect_tcp_reaches_a_listener_and_a_refused_connect_leaves_once_with_an_io_error() {
    shared(Duration::from_secs(30), || {
        let server = Server::start(DriverConfig::default(), &[]);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = listener.local_addr().unwrap();
        let taken = Arc::new(AtomicU64::new(0));
        let id = {
            let taken = Arc::clone(&taken);
            server.with(move |d| {
                d.connect_tcp(target, TestChain::new(Mode::Echo, taken), ClassId::DEFAULT)
                    .unwrap()
            })
        };
        let (joined, class) = server.wait_joined(0);
        assert_eq!((joined, class), (id, ClassId::DEFAULT));
        assert!(server.log().contains(&Ev::Joined {
            id,
            listener: None,
            class: ClassId::DEFAULT
        }));
        let mut peer = accept_within(&listener, Duration::from_secs(5));
        let data = pattern(7000, 100 * 1024);
        peer.write_all(&data).unwrap();
        let mut back = vec![0; data.len()];
        peer.read_exact(&mut back).unwrap();
        assert!(back == data, "echo through an outgoing connection differs");
        assert_eq!(taken.load(Ordering::SeqCst), data.len() as u64);
        // Data queued by the application reaches the peer too.
        assert_eq!(server.with(move |d| d.send(id, b"hello")), SendResult::Sent);
        let mut hello = [0; 5];
        peer.read_exact(&mut hello).unwrap();
        assert_eq!(&hello, b"hello");
        finish(peer);
        assert_eq!(
            server.wait_left(id, Duration::from_secs(5)).1,
            Reason::Closed
        );

        // A closed port.
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let refused = server.with(move |d| {
            d.connect_tcp(
                closed,
                TestChain::new(Mode::Echo, Arc::default()),
                ClassId::DEFAULT,
            )
            .unwrap()
        });
        let (_, reason) = server.wait_left(refused, Duration::from_secs(5));
        assert_eq!(reason, Reason::Io(io::ErrorKind::ConnectionRefused));
        // Exactly once, even after more turns.
        thread::sleep(Duration::from_millis(200));
        let _ = server.with(|d| d.connection_count());
        let log = server.log();
        let count = log
            .iter()
            .filter(|e| matches!(e, Ev::Left { id, .. } if *id == refused))
            .count();
        assert_eq!(count, 1, "Left events for the refused connect: {log:#?}");
        assert_eq!(
            server.with(move |d| d.send(refused, b"x")),
            SendResult::Gone
        );
        assert_eq!(server.with(|d| d.connection_count()), 0);
        server.stop();
    });
}

// ---------------------------------------------------------------------------------------
// 10. Broadcast.
// ---------------------------------------------------------------------------------------

/// Sends on `id` until one more byte does not fit, halving the size: afterwards the
/// connection's output buffer is at its limit. Returns the bytes queued.
fn fill_exactly(d: &mut TestDriver, id: ConnId, seed: u64) -> usize {
    let mut queued = 0;
    let mut size = 8192;
    while size > 0 {
        let chunk = pattern(seed + queued as u64, size);
        match d.send(id, &chunk) {
            SendResult::Sent => queued += size,
            SendResult::Full => size /= 2,
            SendResult::Gone => panic!("{id} is gone"),
        }
    }
    queued
}

#[test]
fn send_to_reports_sent_gone_and_full_per_connection() {
    shared(Duration::from_secs(30), || {
        let config = DriverConfig {
            buffer_max: 64 * 1024,
            ..DriverConfig::default()
        };
        let server = Server::start(config, &[Mode::Echo]);
        let (mut live1, live1_id) = server.connect(0);
        let (mut live2, live2_id) = server.connect(0);
        let (stale, stale_id) = server.connect(0);
        finish(stale);
        server.wait_left(stale_id, Duration::from_secs(5));

        // A peer with a small receive buffer that does not read.
        let n = server.joined().len();
        let mut slow = {
            let socket = socket2::Socket::new(
                socket2::Domain::IPV4,
                socket2::Type::STREAM,
                Some(socket2::Protocol::TCP),
            )
            .unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            socket
                .connect_timeout(&server.addrs[0].into(), IO_TIMEOUT)
                .unwrap();
            let stream: TcpStream = socket.into();
            stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            stream
        };
        let (slow_id, _) = server.wait_joined(n);
        // Fill it: keep sending while the driver keeps turning, until it stays full.
        let mut sent_total = 0usize;
        let mut full_in_a_row = 0;
        let started = Instant::now();
        while full_in_a_row < 10 {
            assert!(started.elapsed() < Duration::from_secs(10), "never full");
            let chunk = pattern(sent_total as u64, 4096);
            match server.with(move |d| d.send(slow_id, &chunk)) {
                SendResult::Sent => {
                    sent_total += 4096;
                    full_in_a_row = 0;
                }
                SendResult::Full => {
                    full_in_a_row += 1;
                    thread::sleep(Duration::from_millis(10));
                }
                SendResult::Gone => panic!("the slow peer is gone"),
            }
        }
        let ids = [live1_id, stale_id, slow_id, live2_id];
        let (topped_up, results) = server.with(move |d| {
            let topped_up = fill_exactly(d, slow_id, 99);
            (topped_up, d.send_to(&ids, b"broadcast"))
        });
        assert_eq!(
            results,
            vec![
                (live1_id, SendResult::Sent),
                (stale_id, SendResult::Gone),
                (slow_id, SendResult::Full),
                (live2_id, SendResult::Sent),
            ]
        );
        for stream in [&mut live1, &mut live2] {
            let mut got = [0; 9];
            stream.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"broadcast");
        }
        // The slow peer gets every byte that was accepted, once it reads.
        let queued = sent_total + topped_up;
        let mut got = vec![0; queued];
        slow.read_exact(&mut got).unwrap();
        assert_eq!(
            server.with(move |d| d.send(slow_id, b"room again")),
            SendResult::Sent
        );
        let mut again = [0; 10];
        slow.read_exact(&mut again).unwrap();
        assert_eq!(&again, b"room again");
        eprintln!("send_to: the slow peer held {queued} bytes when full");
        finish(live1);
        finish(live2);
        finish(slow);
        server.stop();
    });
}

// ---------------------------------------------------------------------------------------
// 11. Stale ids.
// ---------------------------------------------------------------------------------------

/// The slot part of a connection id's display form `#slot.generation`.
fn slot_of(id: ConnId) -> String {
    id.to_string()
        .trim_start_matches('#')
        .split('.')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn a_stale_id_never_reaches_a_new_connection_in_the_same_slot() {
    shared(Duration::from_secs(30), || {
        let server = Server::start(DriverConfig::default(), &[Mode::Echo]);
        let mut stale_ids = Vec::new();
        let mut reused = 0;
        for round in 0..5 {
            let (stream, id) = server.connect(0);
            finish(stream);
            server.wait_left(id, Duration::from_secs(5));
            stale_ids.push(id);

            let (mut fresh, fresh_id) = server.connect(0);
            if slot_of(fresh_id) == slot_of(id) {
                reused += 1;
            }
            for &old in &stale_ids {
                assert_ne!(old, fresh_id);
                let outcome = server.with(move |d| {
                    let sent = d.send(old, b"stale");
                    let broadcast = d.send_to(&[old], b"stale");
                    let class = d.class_of(old);
                    let moved = d.move_to(old, ClassId::DEFAULT);
                    d.close(old);
                    d.abort(old);
                    (sent, broadcast, class, moved, d.connection_count())
                });
                assert_eq!(
                    outcome,
                    (
                        SendResult::Gone,
                        vec![(old, SendResult::Gone)],
                        None,
                        false,
                        1
                    ),
                    "round {round}: stale id {old}"
                );
            }
            assert_eq!(
                server.with(move |d| d.send(fresh_id, b"fresh")),
                SendResult::Sent
            );
            // Exactly its own bytes: nothing sent to a stale id comes before or after them.
            let mut got = [0; 5];
            fresh.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"fresh");
            round_trip(&mut fresh, b"own data");
            finish(fresh);
            assert_eq!(
                server.wait_left(fresh_id, Duration::from_secs(5)).1,
                Reason::Closed
            );
        }
        assert!(reused > 0, "no slot was ever reused");
        let log = server.log();
        assert!(
            !log.iter().any(|e| matches!(e, Ev::Moved { .. })),
            "a stale id was moved"
        );
        server.stop();
    });
}
