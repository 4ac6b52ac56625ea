//! Hostile peers against `ws_echo` and `wss_echo` as processes, over real sockets on
//! 127.0.0.1, while [`ECHOERS`] well-behaved clients keep echoing numbered, patterned binary
//! messages through the same server and check every byte of every echo, in order (none lost,
//! none reordered, none from another client), and that each of them makes progress while the
//! hostile peer does its thing and after.
//!
//! - Slowloris: a valid TLS ClientHello, or a valid upgrade request (plain, and over TLS after
//!   a completed TLS handshake), dribbled one byte every [`DRIBBLE`], is cut by the server's
//!   handshake deadline (`--handshake-timeout`, here [`DEADLINE`]), which runs from the
//!   accept and covers the TLS handshake too.
//! - Clients that try to flood 64 MiB of valid masked frames each and never read: the
//!   server's backpressure stops them, its memory stays within [`FLOOD_RSS_BOUND`] (derived
//!   from its buffer limits, see there), and once they do read, every whole frame they got
//!   out comes back intact: nothing was dropped to stay within bounds.
//! - Garbage on a fresh connection: a TLS alert (or a close) from `wss_echo`, `HTTP/1.1 400`
//!   from `ws_echo`.
//! - A reset (`SO_LINGER` 0) at every handshake stage and in the middle of a message.
//! - Thousands of connect-and-drop cycles (plain drops, resets, after a partial request):
//!   the server's open file descriptors return to their baseline. (Over TLS this found a
//!   leak: a peer that sent a FIN during the TLS handshake left its connection open for ever,
//!   see the regression test in `pipebuf_rustls/src/tls.rs`.)
//!
//! Oversized frames (1009 over ws and wss) are covered by `close_codes.rs`.
//!
//! The clients here are hand-made (`TcpStream`, rustls' `StreamOwned` for TLS, frames encoded
//! by hand) so that a hostile peer can stop at any byte. Memory and descriptor counts
//! come from `/proc` (Linux only).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pipebuf_tests::{Server, TempDir, make_pki, pattern};
use rustls::{ClientConfig, ClientConnection, StreamOwned};

/// The handshake deadline the servers get (`--handshake-timeout`).
const DEADLINE: Duration = Duration::from_secs(2);
/// [`DEADLINE`] as the flag's value.
const DEADLINE_FLAG: &str = "2";
/// A slowloris sends one byte per this interval.
const DRIBBLE: Duration = Duration::from_millis(200);
/// How long after the deadline the cut may come on a busy machine.
const CUT_MARGIN: Duration = Duration::from_secs(8);
/// The longest any single wait of a well-behaved client (an echo, a handshake) may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Well-behaved clients per test.
const ECHOERS: usize = 4;
/// The sizes the well-behaved clients' messages cycle through (frame-length boundaries
/// included).
const SIZES: [usize; 8] = [1, 125, 126, 1000, 65535, 65536, 7000, 20_000];

// ---------------------------------------------------------------------------------------------
// The servers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Ws,
    Wss,
}

/// `ws_echo` or `wss_echo` on a free port with the short handshake deadline; `wss_echo` with
/// a certificate from a test CA that the clients trust.
struct EchoServer {
    server: Server,
    addr: SocketAddr,
    tls: Option<Arc<ClientConfig>>,
    _dir: Option<TempDir>,
}

impl EchoServer {
    fn start(scheme: Scheme) -> EchoServer {
        let mut args = vec![
            "--addr",
            "127.0.0.1:0",
            "--handshake-timeout",
            DEADLINE_FLAG,
        ];
        let (server, tls, dir) = match scheme {
            Scheme::Ws => (Server::start("ws_echo", &args), None, None),
            Scheme::Wss => {
                let pki = make_pki("hostile peers CA");
                let dir = TempDir::new("hostile-peers");
                let files = pki.write_to(&dir);
                let cert = files.cert.display().to_string();
                let key = files.key.display().to_string();
                args.extend(["--cert", &cert, "--key", &key]);
                let server = Server::start("wss_echo", &args);
                let config = pipebuf_rustls::config::client_config(
                    pki.ca_pem.as_bytes(),
                    &Default::default(),
                )
                .expect("client config");
                (server, Some(config), Some(dir))
            }
        };
        let server = server.unwrap_or_else(|e| panic!("{e}"));
        let addr = server.addr.parse().expect("listening address");
        EchoServer {
            server,
            addr,
            tls,
            _dir: dir,
        }
    }

    /// A fresh TCP connection, blocking, every read and write bounded by [`TIMEOUT`].
    fn tcp(&self) -> TcpStream {
        let tcp = TcpStream::connect_timeout(&self.addr, TIMEOUT).expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        tcp.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
        tcp.set_write_timeout(Some(TIMEOUT)).expect("write timeout");
        tcp
    }

    /// A fresh rustls client session for the server (no bytes sent yet).
    fn session(&self) -> ClientConnection {
        let config = self.tls.as_ref().expect("a TLS server");
        ClientConnection::new(Arc::clone(config), "localhost".try_into().expect("name"))
            .expect("client session")
    }

    /// A fresh connection with TLS (for `wss_echo`) handshaken: ready for the upgrade request.
    fn connect(&self) -> Stream {
        let tcp = self.tcp();
        if self.tls.is_none() {
            return Stream::Plain(tcp);
        }
        let mut tls = StreamOwned::new(self.session(), tcp);
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .expect("TLS handshake with the server");
        }
        Stream::Tls(Box::new(tls))
    }

    /// A fresh, upgraded WebSocket connection.
    fn open(&self) -> Stream {
        let mut stream = self.connect();
        stream.write_all(UPGRADE).expect("upgrade request");
        stream.flush().expect("upgrade request");
        let head = read_head(&mut stream).expect("upgrade response");
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "no 101: {}",
            String::from_utf8_lossy(&head)
        );
        stream
    }

    /// The server's resident memory now and at its peak so far, KiB.
    fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.server.pid()))
            .expect("server status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().strip_suffix("kB"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no {name} in {status}"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// How many file descriptors the server has open.
    fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.server.pid()))
            .expect("server fds")
            .count()
    }

    /// Waits (at most [`TIMEOUT`]) until the server has no more descriptors open than
    /// `baseline`; panics with the count otherwise.
    fn expect_fds_back_to(&self, baseline: usize, after: &str) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let open = self.open_fds();
            if open <= baseline {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{open} descriptors still open {TIMEOUT:?} after {after} (baseline {baseline})"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM: the server must exit cleanly.
    fn stop(mut self) {
        let status = self
            .server
            .stop("TERM", Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(status.success(), "exit status {status}");
    }
}

/// A client connection, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => &tls.sock,
        }
    }

    /// Ends the connection with a TCP reset: linger 0, then close.
    fn reset(self) {
        reset(self.tcp());
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}

/// Reads from a [`Stream`] made nonblocking, waiting at most [`TIMEOUT`] for each read; for
/// TLS, also writes out the records rustls still holds whenever the socket takes them
/// (rustls' `Stream` would wait for its writes before it reads, for a peer that waits for
/// us to read).
struct Pump<'a>(&'a mut Stream);

impl Read for Pump<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let got = match self.0 {
                Stream::Plain(tcp) => tcp.read(buf),
                Stream::Tls(tls) => {
                    match tls.conn.reader().read(buf) {
                        Err(e) if e.kind() == ErrorKind::WouldBlock => (),
                        // Data, the close_notify (0), or the end without it (an error).
                        done => return done,
                    }
                    match tls.conn.write_tls(&mut tls.sock) {
                        Err(e) if e.kind() != ErrorKind::WouldBlock => return Err(e),
                        _ => (),
                    }
                    tls.conn.read_tls(&mut tls.sock).and_then(|_| {
                        tls.conn.process_new_packets().map_err(io::Error::other)?;
                        // Decrypted (or not yet whole): the loop looks again.
                        Err(ErrorKind::Interrupted.into())
                    })
                }
            };
            match got {
                Err(e) if e.kind() == ErrorKind::Interrupted => (),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Err(ErrorKind::TimedOut.into());
                    }
                    thread::sleep(Duration::from_millis(1));
                }
                done => return done,
            }
        }
    }
}

/// Sets linger 0 on `tcp`, so that closing it (when the last handle drops) sends a reset.
fn reset(tcp: &TcpStream) {
    socket2::SockRef::from(tcp)
        .set_linger(Some(Duration::ZERO))
        .expect("linger 0");
}

// ---------------------------------------------------------------------------------------------
// WebSocket by hand

/// A valid upgrade request.
const UPGRADE: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// Reads an HTTP head byte by byte, up to and including its empty line.
fn read_head(stream: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    Ok(head)
}

/// A client frame: FIN, `opcode`, masked with `mask`.
fn masked_frame(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    frame
}

/// Reads one (unmasked, server) frame: its first byte (FIN, RSV, opcode) and payload.
fn read_frame(stream: &mut impl Read) -> io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head)?;
    if head[1] & 0x80 != 0 {
        return Err(io::Error::other("masked frame from the server"));
    }
    let len = match head[1] & 0x7f {
        126 => {
            let mut n = [0u8; 2];
            stream.read_exact(&mut n)?;
            u64::from(u16::from_be_bytes(n))
        }
        127 => {
            let mut n = [0u8; 8];
            stream.read_exact(&mut n)?;
            u64::from_be_bytes(n)
        }
        n => u64::from(n),
    };
    let len = usize::try_from(len)
        .ok()
        .filter(|&n| n <= 1 << 20)
        .ok_or_else(|| io::Error::other(format!("frame of {len} bytes")))?;
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload)?;
    Ok((head[0], payload))
}

/// Reads one binary message, whole: its frames (the server may fragment it) reassembled;
/// pings and pongs between them are skipped.
fn read_binary_message(stream: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut message = Vec::new();
    let mut started = false;
    loop {
        let (first, payload) = read_frame(stream)?;
        let opcode = first & 0x0f;
        match (started, opcode) {
            (_, 0x9 | 0xa) => continue,
            (false, 0x2) | (true, 0x0) => message.extend_from_slice(&payload),
            _ => {
                return Err(io::Error::other(format!(
                    "frame {first:#04x} of {} bytes{}",
                    payload.len(),
                    if started { " inside a message" } else { "" }
                )));
            }
        }
        started = true;
        if first & 0x80 != 0 {
            return Ok(message);
        }
    }
}

/// Message `n` of client `client`: numbered, then a pattern of the size's length, so that a
/// lost, reordered or foreign message shows.
fn message(client: usize, n: u64) -> Vec<u8> {
    let len = SIZES[(n as usize + client) % SIZES.len()];
    let mut data = Vec::with_capacity(len + 16);
    data.extend_from_slice(&(client as u64).to_be_bytes());
    data.extend_from_slice(&n.to_be_bytes());
    data.extend(pattern(len, (client as u8).wrapping_mul(61) ^ n as u8));
    data
}

// ---------------------------------------------------------------------------------------------
// The well-behaved clients

/// [`ECHOERS`] clients, each on its own thread, echoing [`message`]s one after the other
/// until told to stop, then closing with 1000.
struct Echoers {
    stop: Arc<AtomicBool>,
    echoed: Vec<Arc<AtomicU64>>,
    /// Why clients ended early, for the failure message of a waiting test.
    failures: Arc<Mutex<Vec<String>>>,
    threads: Vec<JoinHandle<Result<u64, String>>>,
}

impl Echoers {
    /// Opens the connections (here, so that a failure shows at once) and starts echoing;
    /// returns once every client has had at least one echo.
    fn start(server: &EchoServer) -> Echoers {
        let stop = Arc::new(AtomicBool::new(false));
        let mut echoed = Vec::new();
        let mut threads = Vec::new();
        let failures = Arc::new(Mutex::new(Vec::new()));
        for client in 0..ECHOERS {
            let stream = server.open();
            let count = Arc::new(AtomicU64::new(0));
            echoed.push(Arc::clone(&count));
            let stop = Arc::clone(&stop);
            let failed = Arc::clone(&failures);
            threads.push(thread::spawn(move || {
                let result = echo_loop(client, stream, &stop, &count);
                if let (Err(e), Ok(mut failed)) = (&result, failed.lock()) {
                    failed.push(format!("echo client {client}: {e}"));
                }
                result
            }));
        }
        let echoers = Echoers {
            stop,
            echoed,
            failures,
            threads,
        };
        echoers.expect_progress("starting");
        echoers
    }

    /// Waits (at most [`TIMEOUT`]) until every client has had another echo since now.
    fn expect_progress(&self, during: &str) {
        let before: Vec<u64> = self
            .echoed
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .collect();
        let deadline = Instant::now() + TIMEOUT;
        for (client, (count, before)) in self.echoed.iter().zip(before).enumerate() {
            while count.load(Ordering::SeqCst) <= before {
                assert!(
                    !self.threads[client].is_finished(),
                    "echo client {client} ended ({during}): {:?}",
                    self.failures.lock().map(|f| f.clone())
                );
                assert!(
                    Instant::now() < deadline,
                    "echo client {client} had no echo for {TIMEOUT:?} ({during})"
                );
                thread::sleep(Duration::from_millis(5));
            }
        }
    }

    /// Stops the clients; each must have closed cleanly, every echo checked.
    fn finish(self) {
        self.expect_progress("finishing");
        self.stop.store(true, Ordering::SeqCst);
        for (client, thread) in self.threads.into_iter().enumerate() {
            match thread.join() {
                Ok(Ok(n)) => assert!(n > 0, "echo client {client} echoed nothing"),
                Ok(Err(e)) => panic!("echo client {client}: {e}"),
                Err(_) => panic!("echo client {client} panicked"),
            }
        }
    }
}

/// One well-behaved client: sends message after message, each compared byte for byte with
/// its echo before the next goes out; on `stop`, the close handshake. Returns how many
/// messages came back.
fn echo_loop(
    client: usize,
    mut stream: Stream,
    stop: &AtomicBool,
    echoed: &AtomicU64,
) -> Result<u64, String> {
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let data = message(client, n);
        let mask = (n as u32).wrapping_mul(0x9e37_79b9).to_be_bytes();
        stream
            .write_all(&masked_frame(0x2, &data, mask))
            .and_then(|()| stream.flush())
            .map_err(|e| format!("sending message {n}: {e}"))?;
        let back =
            read_binary_message(&mut stream).map_err(|e| format!("echo of message {n}: {e}"))?;
        if back != data {
            let at = back.iter().zip(&data).position(|(a, b)| a != b);
            return Err(format!(
                "message {n} ({} bytes) came back as {} bytes, first difference at {at:?}",
                data.len(),
                back.len()
            ));
        }
        n += 1;
        echoed.store(n, Ordering::SeqCst);
        // Leave the (shared, busy) CPUs to the server and the hostile peer.
        thread::sleep(Duration::from_millis(10));
    }
    stream
        .write_all(&masked_frame(0x8, &1000u16.to_be_bytes(), [1, 2, 3, 4]))
        .and_then(|()| stream.flush())
        .map_err(|e| format!("sending the close: {e}"))?;
    let (first, payload) = read_frame(&mut stream).map_err(|e| format!("close: {e}"))?;
    if first != 0x88 || payload.get(..2) != Some(&1000u16.to_be_bytes()[..]) {
        return Err(format!("close answered by {first:#04x} {payload:02x?}"));
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// Slowloris

/// How a dribble ended: the server ended the connection this long after the connect, once
/// this many bytes had gone out.
#[derive(Debug)]
struct Cut {
    after: Duration,
    sent: usize,
}

/// Whether a read error means the server ended the connection (rustls reports a TCP end
/// without close_notify as `UnexpectedEof`).
fn is_end(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
    )
}

/// Sends `bytes` one at a time, [`DRIBBLE`] apart, watching for the server ending the
/// connection in between (what it sends before, an alert say, is read and ignored). Panics
/// if the server has not ended it by `connected` + [`DEADLINE`] + [`CUT_MARGIN`], or if all of
/// `bytes` went out first.
fn dribble(stream: &mut Stream, bytes: &[u8], connected: Instant) -> Cut {
    stream
        .tcp()
        .set_read_timeout(Some(DRIBBLE))
        .expect("read timeout");
    let limit = DEADLINE + CUT_MARGIN;
    let mut buf = [0u8; 1024];
    for (sent, byte) in bytes.iter().enumerate() {
        if let Err(e) = stream.write_all(&[*byte]).and_then(|()| stream.flush()) {
            assert!(is_end(&e), "dribbling byte {sent}: {e}");
            return Cut {
                after: connected.elapsed(),
                sent,
            };
        }
        // Wait out the interval in a read, which returns early if the server ends it.
        let waited = Instant::now();
        while waited.elapsed() < DRIBBLE {
            match stream.read(&mut buf) {
                Ok(0) => {
                    return Cut {
                        after: connected.elapsed(),
                        sent: sent + 1,
                    };
                }
                Ok(_) => (),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if is_end(&e) => {
                    return Cut {
                        after: connected.elapsed(),
                        sent: sent + 1,
                    };
                }
                Err(e) => panic!("reading while dribbling: {e}"),
            }
        }
        assert!(
            connected.elapsed() < limit,
            "still connected {:?} after the connect, {} bytes dribbled (deadline {DEADLINE:?})",
            connected.elapsed(),
            sent + 1
        );
    }
    panic!(
        "all {} bytes went out before the server ended the connection",
        bytes.len()
    );
}

/// The cut came at the deadline (not before: the deadline runs from the accept, which
/// follows the connect), within the margin, and before the dribble could have finished.
fn assert_cut_at_the_deadline(cut: &Cut, total: usize) {
    assert!(
        cut.sent < total,
        "the whole {total}-byte handshake went out: {cut:?}"
    );
    // A little slack for the clocks of two processes read at different moments.
    assert!(
        cut.after + Duration::from_millis(100) >= DEADLINE,
        "cut before the deadline ({DEADLINE:?}): {cut:?}"
    );
    assert!(
        cut.after <= DEADLINE + CUT_MARGIN,
        "cut long after the deadline ({DEADLINE:?}): {cut:?}"
    );
}

/// A valid ClientHello for `server`, as rustls writes it.
fn client_hello(server: &EchoServer) -> Vec<u8> {
    let mut session = server.session();
    let mut hello = Vec::new();
    while session.wants_write() {
        session.write_tls(&mut hello).expect("ClientHello");
    }
    assert_eq!(hello.first(), Some(&22), "a handshake record");
    hello
}

#[test]
fn a_tls_client_hello_dribbled_byte_by_byte_is_cut_at_the_handshake_deadline() {
    let server = EchoServer::start(Scheme::Wss);
    let echoers = Echoers::start(&server);
    let hello = client_hello(&server);
    // The dribble would take far longer than the deadline and its margin.
    assert!(hello.len() as u32 * DRIBBLE > (DEADLINE + CUT_MARGIN) * 2);
    let connected = Instant::now();
    let mut stream = Stream::Plain(server.tcp());
    let cut = dribble(&mut stream, &hello, connected);
    eprintln!("ClientHello of {} bytes: {cut:?}", hello.len());
    assert_cut_at_the_deadline(&cut, hello.len());
    echoers.expect_progress("after the cut");
    echoers.finish();
    server.stop();
}

/// Dribbles the upgrade request on a fresh connection (over a completed TLS handshake for
/// `wss_echo`) while the echo clients run.
fn slow_upgrade_is_cut(scheme: Scheme) {
    let server = EchoServer::start(scheme);
    let echoers = Echoers::start(&server);
    assert!(UPGRADE.len() as u32 * DRIBBLE > (DEADLINE + CUT_MARGIN) * 2);
    let connected = Instant::now();
    let mut stream = server.connect();
    let cut = dribble(&mut stream, UPGRADE, connected);
    eprintln!(
        "{scheme:?} upgrade request of {} bytes: {cut:?}",
        UPGRADE.len()
    );
    assert_cut_at_the_deadline(&cut, UPGRADE.len());
    echoers.expect_progress("after the cut");
    echoers.finish();
    server.stop();
}

#[test]
fn an_upgrade_request_dribbled_byte_by_byte_is_cut_at_the_handshake_deadline_over_ws() {
    slow_upgrade_is_cut(Scheme::Ws);
}

#[test]
fn an_upgrade_request_dribbled_byte_by_byte_after_the_tls_handshake_is_cut_at_the_deadline() {
    slow_upgrade_is_cut(Scheme::Wss);
}

// ---------------------------------------------------------------------------------------------
// Flood without reading

/// Clients that flood at once.
const FLOODERS: usize = 2;
/// What each flooder tries to send: 1024 frames of 64 KiB.
const FLOOD_BYTES: usize = 64 << 20;
/// A flooder counts as stopped by the server's backpressure when it got less than one frame
/// out in this long (the kernel lets a trickle through for a while).
const FLOOD_STALL: Duration = Duration::from_secs(1);
/// How much the server's peak resident memory may exceed its resident memory before the
/// flood, KiB. Per connection the server holds at most six 256 KiB buffers
/// (`PipeBuf::DEFAULT_MAX_CAPACITY`: the socket pair of `DriverConfig::buffer_max`, the pair
/// between TLS and WebSocket, the message pair under the application) plus rustls' own
/// buffers (some 100 KiB): under 2 MiB. Two flooders, so 4 MiB, plus 12 MiB for the
/// allocator's slack and the echo clients' traffic: 16 MiB, an eighth of the 128 MiB the
/// flooders offer. A server that kept what it cannot send would let them send it all and
/// grow by nearly as much (less what the kernel's socket buffers hold).
const FLOOD_RSS_BOUND: u64 = 16 << 10;

/// `FLOODERS` clients each send up to [`FLOOD_BYTES`] of valid frames and never read.
fn flood_keeps_memory_bounded(scheme: Scheme) {
    let server = EchoServer::start(scheme);
    let echoers = Echoers::start(&server);
    let (rss_before, _) = server.memory_kib();
    let payload = pattern(64 << 10, 7);
    let frame = Arc::new(masked_frame(0x2, &payload, [0xa5, 0x5a, 0x3c, 0xc3]));
    let flooders: Vec<JoinHandle<(Stream, usize)>> = (0..FLOODERS)
        .map(|_| {
            let mut stream = server.open();
            stream.tcp().set_nonblocking(true).expect("nonblocking");
            let frame = Arc::clone(&frame);
            thread::spawn(move || {
                let mut sent = 0;
                let mut mark = (Instant::now(), 0);
                while sent < FLOOD_BYTES {
                    // The frames back to back: a short write goes on inside the frame.
                    match stream.write(&frame[sent % frame.len()..]) {
                        Ok(n) => sent += n,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            thread::sleep(Duration::from_millis(1));
                        }
                        Err(e) => panic!("flooding after {sent} bytes: {e}"),
                    }
                    if mark.0.elapsed() >= FLOOD_STALL {
                        if sent - mark.1 < frame.len() {
                            break;
                        }
                        mark = (Instant::now(), sent);
                    }
                }
                (stream, sent)
            })
        })
        .collect();
    while !flooders.iter().all(JoinHandle::is_finished) {
        echoers.expect_progress("the flood goes on");
    }
    let flooders: Vec<(Stream, usize)> = flooders
        .into_iter()
        .map(|f| f.join().expect("flooder"))
        .collect();
    let sent: Vec<usize> = flooders.iter().map(|(_, sent)| *sent).collect();
    echoers.expect_progress("the flooders are stuck");
    let (rss, peak) = server.memory_kib();
    eprintln!(
        "{scheme:?} flood: sent {sent:?} bytes; server memory {rss_before} KiB before, \
         peak {peak} KiB, now {rss} KiB"
    );
    assert!(
        peak.saturating_sub(rss_before) <= FLOOD_RSS_BOUND,
        "server memory grew from {rss_before} KiB to a peak of {peak} KiB (now {rss} KiB) \
         while {FLOODERS} clients flooded without reading (sent {sent:?} bytes); bound \
         {FLOOD_RSS_BOUND} KiB"
    );
    // Nothing was dropped to stay within bounds: once read, every whole frame sent comes back.
    for (i, (mut stream, sent)) in flooders.into_iter().enumerate() {
        for n in 0..sent / frame.len() {
            let back = read_binary_message(&mut Pump(&mut stream))
                .unwrap_or_else(|e| panic!("flooder {i}: echo of frame {n}: {e}"));
            assert!(back == payload, "flooder {i}: echo of frame {n} differs");
        }
        stream.reset();
    }
    echoers.expect_progress("the flooders are gone");
    echoers.finish();
    server.stop();
}

#[test]
fn clients_that_flood_without_reading_leave_server_memory_bounded_over_ws() {
    flood_keeps_memory_bounded(Scheme::Ws);
}

#[test]
fn clients_that_flood_without_reading_leave_server_memory_bounded_over_wss() {
    flood_keeps_memory_bounded(Scheme::Wss);
}

// ---------------------------------------------------------------------------------------------
// Garbage

/// `len` bytes from a fixed xorshift sequence, starting with a byte that opens neither a TLS
/// record nor an HTTP method (so no parser can wait for more).
fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    bytes[0] = 0x01;
    bytes
}

/// Sends `bytes` on a fresh TCP connection; returns all the server sent until it ended the
/// connection (by FIN or reset).
fn answer_to(server: &EchoServer, bytes: &[u8]) -> Vec<u8> {
    let mut tcp = server.tcp();
    // The server may end the connection before all of it is written: not an error here.
    let _ = tcp.write_all(bytes);
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => return answer,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if is_end(&e) => return answer,
            Err(e) => panic!("the server did not end the connection ({e}); it sent {answer:02x?}"),
        }
    }
}

#[test]
fn garbage_on_a_fresh_connection_gets_a_tls_alert_from_wss_echo_and_400_from_ws_echo() {
    let wss = EchoServer::start(Scheme::Wss);
    let ws = EchoServer::start(Scheme::Ws);
    let wss_echoers = Echoers::start(&wss);
    let ws_echoers = Echoers::start(&ws);
    for (i, len) in [1, 16, 1000, 70_000].into_iter().enumerate() {
        let bytes = garbage(len, 0x5eed + i as u64);
        let tls = answer_to(&wss, &bytes);
        // A TLS alert record (content type 21), or nothing but the end.
        assert!(
            tls.is_empty() || tls[0] == 21,
            "wss_echo answered {len} bytes of garbage with {tls:02x?}"
        );
        let http = answer_to(&ws, &bytes);
        assert!(
            http.starts_with(b"HTTP/1.1 400"),
            "ws_echo answered {len} bytes of garbage with {:?}",
            String::from_utf8_lossy(&http)
        );
    }
    // Plain HTTP to the TLS server is garbage too.
    let tls = answer_to(&wss, UPGRADE);
    assert!(tls.is_empty() || tls[0] == 21, "{tls:02x?}");
    wss_echoers.finish();
    ws_echoers.finish();
    wss.stop();
    ws.stop();
}

// ---------------------------------------------------------------------------------------------
// Resets

/// How often each reset stage is repeated.
const RESETS_PER_STAGE: usize = 20;

/// Resets connections at every stage the scheme has, [`RESETS_PER_STAGE`] times each: the
/// server stays up, the echo clients go on, a newcomer echoes, and the descriptors of the
/// reset connections are closed.
fn resets_at_every_stage(scheme: Scheme) {
    let server = EchoServer::start(scheme);
    let echoers = Echoers::start(&server);
    let baseline = server.open_fds();
    let hello = (scheme == Scheme::Wss).then(|| client_hello(&server));
    // A frame announcing 100,000 bytes, cut after 1,000 of them.
    let mut half_message = masked_frame(0x2, &pattern(100_000, 3), [9, 8, 7, 6]);
    half_message.truncate(1014);
    for round in 0..RESETS_PER_STAGE {
        if let Some(hello) = &hello {
            // Halfway through the ClientHello.
            let mut tcp = server.tcp();
            tcp.write_all(&hello[..hello.len() / 2])
                .expect("half a hello");
            reset(&tcp);
            drop(tcp);
            // After the whole ClientHello, the server's first flight maybe on its way.
            let mut tcp = server.tcp();
            tcp.write_all(hello).expect("hello");
            if round % 2 == 1 {
                let mut first = [0u8; 1];
                tcp.read_exact(&mut first)
                    .expect("the server's first flight");
            }
            reset(&tcp);
            drop(tcp);
            // After the TLS handshake, before the upgrade.
            server.connect().reset();
        }
        // Halfway through the upgrade request.
        let mut stream = server.connect();
        stream
            .write_all(&UPGRADE[..UPGRADE.len() / 2])
            .and_then(|()| stream.flush())
            .expect("half a request");
        stream.reset();
        // After the upgrade.
        server.open().reset();
        // In the middle of a message.
        let mut stream = server.open();
        stream
            .write_all(&half_message)
            .and_then(|()| stream.flush())
            .expect("half a message");
        stream.reset();
        // In the middle of a message whose echo has started.
        let mut stream = server.open();
        stream
            .write_all(&half_message[..1014 / 2])
            .and_then(|()| stream.flush())
            .expect("part of a message");
        let mut first = [0u8; 1];
        stream.read_exact(&mut first).expect("the echo's start");
        stream.reset();
    }
    echoers.expect_progress("after the resets");
    let mut newcomer = server.open();
    let data = message(99, 0);
    newcomer
        .write_all(&masked_frame(0x2, &data, [1, 1, 2, 3]))
        .and_then(|()| newcomer.flush())
        .expect("newcomer's message");
    let back = read_binary_message(&mut newcomer).expect("newcomer's echo");
    assert!(back == data, "the newcomer's echo differs");
    drop(newcomer);
    server.expect_fds_back_to(baseline, "the resets");
    echoers.finish();
    server.stop();
}

#[test]
fn resets_at_every_handshake_stage_and_mid_message_leave_ws_echo_serving() {
    resets_at_every_stage(Scheme::Ws);
}

#[test]
fn resets_at_every_handshake_stage_and_mid_message_leave_wss_echo_serving() {
    resets_at_every_stage(Scheme::Wss);
}

// ---------------------------------------------------------------------------------------------
// Connect and drop

/// Connect-and-drop cycles per server (two servers: 3,000 in all).
const CYCLES: usize = 1500;

/// [`CYCLES`] connections that end at once or after part of a handshake, by FIN or reset;
/// afterwards the server's descriptors return to their count before.
fn connect_and_drop_cycles(scheme: Scheme) {
    let server = EchoServer::start(scheme);
    let echoers = Echoers::start(&server);
    let baseline = server.open_fds();
    let partial = match scheme {
        Scheme::Ws => UPGRADE[..UPGRADE.len() / 2].to_vec(),
        Scheme::Wss => {
            let hello = client_hello(&server);
            hello[..hello.len() / 2].to_vec()
        }
    };
    for cycle in 0..CYCLES {
        let mut tcp = server.tcp();
        if cycle % 4 >= 2 {
            tcp.write_all(&partial).expect("partial request");
        }
        if cycle % 2 == 1 {
            reset(&tcp);
        }
        drop(tcp);
        if cycle % 500 == 499 {
            echoers.expect_progress("connections come and go");
        }
    }
    server.expect_fds_back_to(baseline, &format!("{CYCLES} connect-and-drop cycles"));
    echoers.finish();
    server.stop();
}

#[test]
fn thousands_of_connect_and_drop_cycles_leave_ws_echo_with_its_baseline_descriptors() {
    connect_and_drop_cycles(Scheme::Ws);
}

#[test]
fn thousands_of_connect_and_drop_cycles_leave_wss_echo_with_its_baseline_descriptors() {
    connect_and_drop_cycles(Scheme::Wss);
}
