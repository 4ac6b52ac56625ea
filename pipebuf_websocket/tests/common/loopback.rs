//! Our WebSocket over a real TCP connection on 127.0.0.1, in a thread of its own, with the
//! test thread as the raw peer, the way Autobahn|Testsuite's fuzzing peers test a server or
//! a client.
//!
//! The component thread runs a small blocking driver: a nonblocking socket polled every
//! millisecond while nothing happens, bytes moved socket ⇄ byte pair, `process()` with the
//! time since the start, and an echo application that forwards every incoming chunk record
//! (and the stream's end) to the outgoing side — records are self-describing, so forwarding
//! the bytes echoes every message with its type. A close of the byte output becomes a TCP
//! FIN (`shutdown(Write)`); an abort shuts both directions (std cannot ask for an RST).
//!
//! The raw peer writes hand-built frames (masked when it plays the client) and reads raw
//! frames back. Every socket has timeouts, every port is chosen by the kernel, and the driver
//! gives up after [`DRIVER_LIMIT`], so no test can hang.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pipebuf::{EofKind, PipeBufPair, ReadStatus, WriteStatus};
use pipebuf_websocket::handshake::ClientRequest;
use pipebuf_websocket::{WebSocket, WsConfig, WsError, accept_all};

use super::{
    ACCEPT, Frame, Transcript, accept_response, key_for, parse_frame, request, split_head,
};

/// The longest a component thread runs before it gives up (and reports `timed_out`).
pub const DRIVER_LIMIT: Duration = Duration::from_secs(8);
/// The longest the raw peer waits for the next bytes.
pub const READ_TIMEOUT: Duration = Duration::from_secs(4);

/// Which of our components runs in the thread; the raw peer plays the other role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ours {
    Server,
    Client,
}

/// What the component thread saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The error `process()` returned, if any (it returns one at most once).
    pub error: Option<WsError>,
    /// [`WebSocket::peer_close`] at the end.
    pub peer_close: Option<Option<(u16, String)>>,
    /// How the incoming message stream ended for the echo application.
    pub app_eof: Option<EofKind>,
    /// How the component ended its byte output.
    pub net_out_eof: Option<EofKind>,
    /// The most bytes waiting in the incoming message buffer at once.
    pub msg_high_water: usize,
    /// The opening handshake completed.
    pub opened: bool,
    /// The driver gave up after [`DRIVER_LIMIT`]: the connection never finished.
    pub timed_out: bool,
}

/// One test connection: the raw peer in the test thread, our component in its own.
#[derive(Debug)]
pub struct Session {
    pub peer: RawPeer,
    thread: Option<JoinHandle<Outcome>>,
}

impl Session {
    /// Starts our `ours` component with `config` and connects the raw peer to it; the
    /// opening handshake is done when this returns.
    pub fn start(ours: Ours, config: WsConfig) -> Session {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        match ours {
            Ours::Server => {
                let thread = thread::spawn(move || match accept(&listener) {
                    Some(stream) => drive(WebSocket::server(config, accept_all()), stream),
                    None => Outcome {
                        timed_out: true,
                        ..Outcome::default()
                    },
                });
                let stream = connect(addr);
                let mut peer = RawPeer::new(stream, true);
                peer.client_handshake();
                Session {
                    peer,
                    thread: Some(thread),
                }
            }
            Ours::Client => {
                let thread = thread::spawn(move || {
                    let stream = connect(addr);
                    let request = ClientRequest::new("/", addr.to_string());
                    drive(WebSocket::client(config, request), stream)
                });
                let stream = accept(&listener).expect("our client connects");
                set_timeouts(&stream);
                let mut peer = RawPeer::new(stream, false);
                peer.server_handshake();
                Session {
                    peer,
                    thread: Some(thread),
                }
            }
        }
    }

    /// Ends the raw peer's connection and returns what the component thread saw.
    pub fn finish(mut self) -> Outcome {
        self.peer.hang_up();
        self.thread
            .take()
            .expect("joined once")
            .join()
            .expect("component thread panicked")
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A failed test: end the connection so that the component thread stops soon.
        self.peer.hang_up();
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect to loopback");
    set_timeouts(&stream);
    stream
}

fn set_timeouts(stream: &TcpStream) {
    stream.set_nonblocking(false).expect("blocking socket");
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(READ_TIMEOUT))
        .expect("write timeout");
    stream.set_nodelay(true).expect("nodelay");
}

/// Accepts one connection within a few seconds.
fn accept(listener: &TcpListener) -> Option<TcpStream> {
    listener.set_nonblocking(true).ok()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => return Some(stream),
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(1)),
            Err(_) => return None,
        }
    }
    None
}

/// Runs `ws` over `stream` with an echo application until all four buffers have ended or
/// [`DRIVER_LIMIT`] passes.
fn drive(mut ws: WebSocket, mut stream: TcpStream) -> Outcome {
    stream.set_nonblocking(true).expect("nonblocking socket");
    let start = Instant::now();
    let mut net = PipeBufPair::new();
    let mut msgs = PipeBufPair::new();
    let mut out = Outcome::default();
    let (mut reading, mut writing) = (true, true);
    loop {
        let mut act = false;
        if reading {
            let mut lower = net.lower();
            match lower.wr.read_from(&mut stream, 64 * 1024) {
                Ok(ReadStatus::Read(_) | ReadStatus::Partial(_)) => act = true,
                Ok(ReadStatus::WouldBlock | ReadStatus::Full) => (),
                Ok(ReadStatus::EndOfStream) => {
                    lower.wr.close();
                    reading = false;
                    act = true;
                }
                Err(_) => {
                    lower.wr.abort();
                    reading = false;
                    act = true;
                }
            }
        }

        match ws.process(
            pipebuf::Time::from_duration(start.elapsed()),
            net.upper(),
            msgs.lower(),
        ) {
            Ok(a) => act |= a,
            Err(e) => {
                out.error.get_or_insert(e);
                act = true;
            }
        }
        out.opened |= ws.is_open();

        // The echo application.
        {
            let mut app = msgs.upper();
            out.msg_high_water = out.msg_high_water.max(app.rd.len());
            match app.rd.forward(&mut app.wr) {
                Ok(a) => act |= a,
                Err(_) => {
                    // The outgoing stream has ended: nothing more can be echoed.
                    act |= app.rd.consume_all() > 0;
                    act |= app.rd.consume_push();
                    act |= app.rd.consume_eof().is_some();
                }
            }
        }

        if writing {
            let mut lower = net.lower();
            loop {
                match lower.rd.write_to(&mut stream) {
                    Ok(WriteStatus::Wrote(_)) => act = true,
                    Ok(WriteStatus::WouldBlock | WriteStatus::Empty) => break,
                    Err(_) => {
                        // The peer reset the connection: nothing more goes either way.
                        lower.rd.consume_all();
                        if !lower.wr.is_eof() {
                            lower.wr.abort();
                        }
                        reading = false;
                        act = true;
                        break;
                    }
                }
            }
            if lower.rd.is_empty() {
                act |= lower.rd.consume_push();
                if let Some(kind) = lower.rd.consume_eof() {
                    out.net_out_eof = Some(kind);
                    writing = false;
                    act = true;
                    match kind {
                        EofKind::Close => {
                            let _ = stream.shutdown(Shutdown::Write);
                        }
                        EofKind::Abort => {
                            let _ = stream.shutdown(Shutdown::Both);
                            if !lower.wr.is_eof() {
                                lower.wr.abort();
                            }
                            reading = false;
                        }
                    }
                }
            }
        }

        if net.is_done() && msgs.is_done() {
            break;
        }
        if start.elapsed() > DRIVER_LIMIT {
            out.timed_out = true;
            break;
        }
        if !act {
            thread::sleep(Duration::from_millis(1));
        }
    }
    out.peer_close = ws
        .peer_close()
        .map(|c| c.map(|(code, reason)| (code, reason.to_string())));
    out.app_eof = msgs.up.state().eof_kind();
    out
}

/// How the raw peer's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// A FIN: read returned 0.
    Eof,
    /// The connection was reset.
    Reset,
}

/// The test thread's side of the connection: hand-built frames out, raw frames in.
#[derive(Debug)]
pub struct RawPeer {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf` already parsed.
    pos: usize,
    /// This peer plays the client: it masks its frames and expects unmasked ones.
    pub is_client: bool,
    /// Frames sent so far (for masking keys).
    sent: u32,
    /// Background writers for large sends.
    writers: Vec<JoinHandle<()>>,
    /// The connection has ended (seen while reading).
    pub end: Option<End>,
    /// Every frame read so far, checked against the sender's rules.
    pub seen: Transcript,
}

impl RawPeer {
    fn new(stream: TcpStream, is_client: bool) -> RawPeer {
        RawPeer {
            stream,
            buf: Vec::new(),
            pos: 0,
            is_client,
            sent: 0,
            writers: Vec::new(),
            end: None,
            seen: Transcript::default(),
        }
    }

    fn client_handshake(&mut self) {
        self.send_raw(&request());
        let head = self.read_head();
        let text = String::from_utf8_lossy(&head);
        assert!(text.starts_with("HTTP/1.1 101 "), "not accepted: {text}");
        assert!(text.contains(ACCEPT), "wrong accept value: {text}");
    }

    fn server_handshake(&mut self) {
        let head = self.read_head();
        let response = accept_response(&head);
        self.send_raw(&response);
    }

    /// Reads up to the end of an HTTP head and returns it; what follows stays buffered.
    fn read_head(&mut self) -> Vec<u8> {
        loop {
            if let Some((head, _)) = split_head(&self.buf[self.pos..]) {
                let head = head.to_vec();
                self.pos += head.len();
                return head;
            }
            if self.fill().is_err() {
                panic!("connection ended during the handshake");
            }
        }
    }

    /// The wire bytes of `frames` as this peer sends them: masked (with varying keys) when
    /// it plays the client, unless a frame already has a key.
    pub fn wire(&mut self, frames: &[Frame]) -> Vec<u8> {
        let mut out = Vec::new();
        for frame in frames {
            self.sent += 1;
            if self.is_client && frame.mask.is_none() {
                let masked = frame.clone().masked(key_for(self.sent));
                out.extend_from_slice(&masked.encode());
            } else {
                out.extend_from_slice(&frame.encode());
            }
        }
        out
    }

    /// Sends `frames` in one write.
    pub fn send(&mut self, frames: &[Frame]) {
        let bytes = self.wire(frames);
        self.send_raw(&bytes);
    }

    /// Sends bytes as they are. A connection the component already closed is no error: a
    /// fuzzing peer may still be sending when it is failed.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        if let Err(e) = self.stream.write_all(bytes) {
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::BrokenPipe
                        | ErrorKind::ConnectionReset
                        | ErrorKind::ConnectionAborted
                ),
                "write failed: {e}"
            );
        }
    }

    /// Sends bytes in writes of `chunk` bytes with `pause` after each.
    pub fn send_chopped(&mut self, bytes: &[u8], chunk: usize, pause: Duration) {
        for piece in bytes.chunks(chunk.max(1)) {
            self.send_raw(piece);
            if !pause.is_zero() {
                thread::sleep(pause);
            }
        }
    }

    /// Sends each frame in a write of its own, with `pause` after each.
    pub fn send_each(&mut self, frames: &[Frame], pause: Duration) {
        for frame in frames {
            self.send(std::slice::from_ref(frame));
            thread::sleep(pause);
        }
    }

    /// Sends bytes from a thread of its own, so that the test can read the echo meanwhile
    /// (a large message would otherwise fill both directions' socket buffers).
    pub fn send_in_background(&mut self, bytes: Vec<u8>, chunk: usize) {
        let mut stream = self.stream.try_clone().expect("clone socket");
        self.writers.push(thread::spawn(move || {
            for piece in bytes.chunks(chunk.max(1)) {
                if stream.write_all(piece).is_err() {
                    return;
                }
            }
        }));
    }

    /// One read into the buffer; `Err` once the connection has ended. Panics on timeout.
    fn fill(&mut self) -> Result<usize, End> {
        if let Some(end) = self.end {
            return Err(end);
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > (1 << 20) {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let mut tmp = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut tmp) {
                Ok(0) => {
                    self.end = Some(End::Eof);
                    return Err(End::Eof);
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&tmp[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    panic!(
                        "no bytes from our component within {READ_TIMEOUT:?} ({} unparsed)",
                        self.buf.len() - self.pos
                    );
                }
                Err(_) => {
                    self.end = Some(End::Reset);
                    return Err(End::Reset);
                }
            }
        }
    }

    /// Reads the next frame into [`seen`](Self::seen), or tells how the connection ended.
    /// Panics on a partial frame at the end.
    pub fn next_frame(&mut self) -> Result<(), End> {
        loop {
            if let Some((frame, n)) = parse_frame(&self.buf[self.pos..]) {
                self.pos += n;
                self.seen.add(frame, !self.is_client);
                return Ok(());
            }
            if let Err(end) = self.fill() {
                assert_eq!(self.pos, self.buf.len(), "connection ended inside a frame");
                return Err(end);
            }
        }
    }

    /// Reads frames until `n` complete messages have been seen in all.
    pub fn wait_messages(&mut self, n: usize) {
        while self.seen.messages.len() < n {
            if let Err(end) = self.next_frame() {
                panic!("connection ended ({end:?}) after {:?}", self.seen);
            }
        }
    }

    /// Waits for `n` echoed messages in all (and for the background writers), then sends a
    /// close with code 1000: what a well-behaved peer does once it has what it waited for.
    pub fn close_after(&mut self, n: usize) {
        self.wait_messages(n);
        self.join_writers();
        self.send(&[Frame::close(1000, "")]);
    }

    /// Waits for the background writers to finish.
    pub fn join_writers(&mut self) {
        for w in self.writers.drain(..) {
            let _ = w.join();
        }
    }

    /// Reads frames until `n` pongs have been seen in all.
    pub fn wait_pongs(&mut self, n: usize) {
        while self.seen.pongs.len() < n {
            if let Err(end) = self.next_frame() {
                panic!("connection ended ({end:?}) after {:?}", self.seen);
            }
        }
    }

    /// Reads frames until a close frame has been seen.
    pub fn wait_close(&mut self) {
        while self.seen.close.is_none() {
            if let Err(end) = self.next_frame() {
                panic!("connection ended ({end:?}) without a close frame");
            }
        }
    }

    /// Reads every frame up to the end of the connection; returns all frames seen and how
    /// the connection ended.
    pub fn transcript(&mut self) -> (Transcript, End) {
        loop {
            if let Err(end) = self.next_frame() {
                return (std::mem::take(&mut self.seen), end);
            }
        }
    }

    /// Sends a FIN: the peer's byte stream ends without a close frame.
    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Ends the connection both ways and waits for the background writers.
    fn hang_up(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        self.join_writers();
    }
}
