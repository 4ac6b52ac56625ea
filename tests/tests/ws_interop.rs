//! WebSocket interop with a real peer: Python's `websockets` package.
//!
//! - Our servers (`ws_echo`, `wss_echo`, as processes) with its client
//!   (`tests/py/ws_client.py`): text and binary messages at every frame-length boundary up
//!   to 8 MiB, fragmented messages with pings between fragments, ping/pong, the close
//!   handshake with 1000 and with 4001 + reason, 1000 pipelined messages, 20 concurrent
//!   clients, a plain HTTP GET (426), a client vanishing mid-message.
//! - Our client (`pipebuf_websocket::WebSocket::client` over a nonblocking `TcpStream`) with
//!   its server (`tests/py/ws_server.py`): echoes up to 1 MiB, the close handshake started by
//!   either side, subprotocol negotiation, and servers that refuse the upgrade.
//!
//! Needs Python with `websockets` >= 13: `scripts/test.sh` makes a venv under `target/` and
//! passes it as `PIPEBUF_TEST_PYTHON` (see [`pipebuf_tests::test_python`]). Without it the
//! tests fail, saying what to do.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use pipebuf::{EofKind, PipeBufPair, ReadStatus, WriteStatus};
use pipebuf_tests::{
    PyWsServer, Server, TempDir, make_pki, pattern, py_script, run_bounded, test_python,
};
use pipebuf_websocket::handshake::ClientRequest;
use pipebuf_websocket::message::{ChunkError, MessageKind, read_chunk, write_chunk_some};
use pipebuf_websocket::{HandshakeError, WebSocket, WsConfig, WsError};

/// The longest one Python client run may take (its own scenario limit is 90 s).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest any single wait (start-up, an echo, a close, an exit) may take.
const TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Our echo servers with the websockets client

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Ws,
    Wss,
}

/// `ws_echo` or `wss_echo` as a process, with what a client needs to reach it.
struct EchoServer {
    server: Server,
    /// `ws://127.0.0.1:PORT/` or `wss://127.0.0.1:PORT/`.
    url: String,
    /// The CA file the client verifies with, or `-` for none.
    ca: String,
    _dir: Option<TempDir>,
}

impl EchoServer {
    /// `ws_echo`, or `wss_echo` with a certificate from a test CA the client trusts.
    fn start(scheme: Scheme) -> EchoServer {
        Self::start_with(scheme, &[])
    }

    /// Like [`start`](EchoServer::start), with `flags` added to the server's command line.
    fn start_with(scheme: Scheme, flags: &[&str]) -> EchoServer {
        let flags = flags.iter().map(|f| f.to_string());
        match scheme {
            Scheme::Ws => Self::with(
                "ws_echo",
                "ws",
                &flags.collect::<Vec<_>>(),
                "-".into(),
                None,
            ),
            Scheme::Wss => {
                let pki = make_pki("pipebuf ws interop CA");
                let dir = TempDir::new("wss-interop");
                let ca = dir.file("ca.pem", &pki.ca_pem);
                let cert = dir.file("cert.pem", &pki.cert_pem);
                let key = dir.file("key.pem", &pki.key_pem);
                let mut args = vec![
                    "--cert".to_string(),
                    cert.display().to_string(),
                    "--key".to_string(),
                    key.display().to_string(),
                ];
                args.extend(flags);
                Self::with(
                    "wss_echo",
                    "wss",
                    &args,
                    ca.display().to_string(),
                    Some(dir),
                )
            }
        }
    }

    fn with(
        name: &str,
        scheme: &str,
        extra: &[String],
        ca: String,
        dir: Option<TempDir>,
    ) -> EchoServer {
        let mut args = vec!["--addr", "127.0.0.1:0"];
        args.extend(extra.iter().map(String::as_str));
        let server = Server::start(name, &args).unwrap_or_else(|e| panic!("{e}"));
        let url = format!("{scheme}://{}/", server.addr);
        EchoServer {
            server,
            url,
            ca,
            _dir: dir,
        }
    }

    /// Runs `scenario` of `ws_client.py` against the server; returns its `ok ...` summary,
    /// panicking with the client's complaint if it failed.
    fn client(&self, scenario: &str, args: &[&str]) -> String {
        let out = run_bounded(
            Command::new(test_python())
                .arg(py_script("ws_client.py"))
                .args([scenario, &self.url, &self.ca])
                .args(args),
            CLIENT_TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("{scenario} against {}: {e}", self.url));
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success() && stdout.starts_with("ok"),
            "{scenario} against {} failed ({}): {}{}",
            self.url,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            stdout
        );
        stdout
    }

    /// Stops the server with SIGTERM; it must exit cleanly and soon.
    fn stop(mut self) {
        let status = self
            .server
            .stop("TERM", TIMEOUT)
            .unwrap_or_else(|e| panic!("{}: {e}", self.url));
        assert!(status.success(), "{} exited with {status}", self.url);
    }
}

/// Starts the echo server for `scheme`, runs scenario `name` against it, stops the server
/// (which must exit cleanly); returns the client's summary.
fn scenario(scheme: Scheme, name: &str, args: &[&str]) -> String {
    let server = EchoServer::start(scheme);
    let summary = server.client(name, args);
    server.stop();
    summary
}

#[test]
fn ws_echo_returns_text_and_binary_of_every_frame_length_boundary_up_to_8_mib_byte_exact() {
    scenario(Scheme::Ws, "sizes", &[]);
}

#[test]
fn wss_echo_returns_text_and_binary_of_every_frame_length_boundary_up_to_8_mib_byte_exact() {
    scenario(Scheme::Wss, "sizes", &[]);
}

#[test]
fn wss_echo_on_the_unbuffered_rustls_api_returns_every_frame_length_boundary_byte_exact() {
    let server = EchoServer::start_with(Scheme::Wss, &["--tls-api", "unbuffered"]);
    server.client("sizes", &[]);
    server.stop();
}

#[test]
fn ws_echo_reassembles_fragmented_messages_and_answers_pings_between_their_fragments() {
    scenario(Scheme::Ws, "fragments", &[]);
}

#[test]
fn wss_echo_reassembles_fragmented_messages_and_answers_pings_between_their_fragments() {
    scenario(Scheme::Wss, "fragments", &[]);
}

#[test]
fn ws_echo_answers_every_ping_with_a_pong() {
    scenario(Scheme::Ws, "ping", &[]);
}

#[test]
fn wss_echo_answers_every_ping_with_a_pong() {
    scenario(Scheme::Wss, "ping", &[]);
}

#[test]
fn ws_echo_answers_a_close_with_1000_by_1000_and_ends_the_connection() {
    let summary = scenario(Scheme::Ws, "close", &["1000"]);
    assert!(summary.contains("answered with 1000"), "{summary}");
}

#[test]
fn ws_echo_answers_a_close_with_4001_and_a_reason_by_the_same_code() {
    let summary = scenario(Scheme::Ws, "close", &["4001", "the client is done"]);
    assert!(summary.contains("answered with 4001"), "{summary}");
}

#[test]
fn wss_echo_answers_a_close_with_1000_by_1000_and_ends_the_connection() {
    let summary = scenario(Scheme::Wss, "close", &["1000"]);
    assert!(summary.contains("answered with 1000"), "{summary}");
}

#[test]
fn wss_echo_answers_a_close_with_4001_and_a_reason_by_the_same_code() {
    let summary = scenario(Scheme::Wss, "close", &["4001", "the client is done"]);
    assert!(summary.contains("answered with 4001"), "{summary}");
}

#[test]
fn ws_echo_returns_1000_pipelined_messages_in_order() {
    scenario(Scheme::Ws, "burst", &[]);
}

#[test]
fn wss_echo_returns_1000_pipelined_messages_in_order() {
    scenario(Scheme::Wss, "burst", &[]);
}

#[test]
fn ws_echo_serves_20_concurrent_clients() {
    scenario(Scheme::Ws, "concurrent", &[]);
}

#[test]
fn wss_echo_serves_20_concurrent_clients() {
    scenario(Scheme::Wss, "concurrent", &[]);
}

/// The response head the `http` scenario printed, split at ` | `.
fn http_head(summary: &str) -> Vec<String> {
    let head = summary.strip_prefix("ok ").unwrap_or(summary);
    head.split(" | ").map(str::to_ascii_lowercase).collect()
}

#[test]
fn ws_echo_answers_a_plain_http_get_with_426_and_closes() {
    let head = http_head(&scenario(Scheme::Ws, "http", &[]));
    assert!(head[0].starts_with("http/1.1 426"), "{head:?}");
    assert!(head.contains(&"upgrade: websocket".into()), "{head:?}");
}

#[test]
fn wss_echo_answers_a_plain_http_get_with_426_and_closes() {
    let head = http_head(&scenario(Scheme::Wss, "http", &[]));
    assert!(head[0].starts_with("http/1.1 426"), "{head:?}");
    assert!(head.contains(&"upgrade: websocket".into()), "{head:?}");
}

#[test]
fn wss_echo_with_its_own_self_signed_certificate_serves_a_client_that_skips_verification() {
    let server = EchoServer::with("wss_echo", "wss", &[], "-".into(), None);
    server.client("close", &["1000"]);
    server.client("ping", &[]);
    server.stop();
}

/// Opens a WebSocket on `addr` with a raw socket (reads time out after [`TIMEOUT`]); the
/// server's 101 head is read.
fn raw_upgrade(addr: &str) -> TcpStream {
    let mut raw = TcpStream::connect(addr).expect("connect");
    raw.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    raw.write_all(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
          Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
          Sec-WebSocket-Version: 13\r\n\r\n",
    )
    .expect("request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(raw.read(&mut byte).expect("response"), 1, "{head:?}");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
    raw
}

/// Sends `bytes` on a fresh WebSocket, half-closes, and returns how long the server took to
/// end its side (a close frame and FIN, or a reset); panics if it did not within [`TIMEOUT`].
fn half_close_after(addr: &str, bytes: &[u8]) -> Duration {
    let mut raw = raw_upgrade(addr);
    raw.write_all(bytes).expect("frame bytes");
    raw.shutdown(Shutdown::Write).expect("shutdown");
    let started = Instant::now();
    let mut rest = Vec::new();
    match raw.read_to_end(&mut rest) {
        Ok(_) => (),
        Err(e) if e.kind() == ErrorKind::ConnectionReset => (),
        Err(e) => panic!(
            "the server did not end the connection after our FIN following {bytes:02x?} \
             ({e} after {:?}; it sent {rest:02x?})",
            started.elapsed()
        ),
    }
    started.elapsed()
}

#[test]
fn ws_echo_keeps_serving_after_a_client_vanishes_in_the_middle_of_a_message() {
    let server = EchoServer::start(Scheme::Ws);
    // A masked binary frame announcing 1000 bytes, then 10 of them.
    let mut frame = vec![0x82, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4];
    frame.extend_from_slice(&[0x55; 10]);
    // Half-closed: the server must end its side too, not wait for the rest of the frame.
    half_close_after(&server.server.addr, &frame);
    // Gone without a word: reset.
    let mut raw = raw_upgrade(&server.server.addr);
    raw.write_all(&frame).expect("partial frame");
    raw.shutdown(Shutdown::Both).expect("shutdown");
    drop(raw);
    server.client("close", &["1000"]);
    server.stop();
}

/// Regression: a FIN after 1..=13 bytes of a frame header used to be left unhandled (the
/// incomplete header stayed in the byte buffer in front of the end of stream), so the
/// connection stayed open forever.
#[test]
fn ws_echo_ends_a_connection_whose_client_half_closes_inside_a_frame_header() {
    let server = EchoServer::start(Scheme::Ws);
    for header in [&[0x82][..], &[0x82, 0x80 | 126, 0x03], &[0x82, 0x85, 1, 2]] {
        half_close_after(&server.server.addr, header);
    }
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// Our client with the websockets server

/// Largest chunk record our client writes: large messages go out as several.
const CHUNK: usize = 64 * 1024;

/// `WebSocket::client` over a nonblocking `TcpStream`, driven by hand: bytes move between
/// the socket and `net`, the component runs between `net` and `msgs`, whole messages
/// collect in `inbox`.
struct WsClient {
    stream: TcpStream,
    ws: WebSocket,
    /// Bytes: `up` from the socket, `down` to it.
    net: PipeBufPair,
    /// Chunk records: `up` received messages, `down` ours.
    msgs: PipeBufPair,
    /// The component's clock starts here.
    origin: Instant,
    /// Messages still to write as chunk records: kind, data, bytes written so far.
    outbox: VecDeque<(MessageKind, Vec<u8>, usize)>,
    /// Close our outgoing message stream once the outbox is empty.
    close_when_sent: bool,
    /// The message being received.
    partial: Option<(MessageKind, Vec<u8>)>,
    /// Messages received whole.
    inbox: VecDeque<(MessageKind, Vec<u8>)>,
    /// The socket refused a write (the peer is gone); later output is dropped.
    write_failed: Option<std::io::Error>,
}

impl WsClient {
    fn connect(addr: SocketAddr, request: ClientRequest) -> WsClient {
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream.set_nonblocking(true).expect("nonblocking");
        WsClient {
            stream,
            ws: WebSocket::client(WsConfig::default(), request),
            net: PipeBufPair::new(),
            msgs: PipeBufPair::new(),
            origin: Instant::now(),
            outbox: VecDeque::new(),
            close_when_sent: false,
            partial: None,
            inbox: VecDeque::new(),
            write_failed: None,
        }
    }

    fn to(addr: SocketAddr) -> WsClient {
        Self::connect(addr, ClientRequest::new("/", addr.to_string()))
    }

    fn send(&mut self, kind: MessageKind, data: Vec<u8>) {
        self.outbox.push_back((kind, data, 0));
    }

    /// Sends a close frame with `code` and `reason` once everything queued is sent.
    fn close(&mut self, code: u16, reason: &str) {
        self.ws.close(code, reason);
        self.close_when_sent = true;
    }

    /// One round: queued messages into records, the component until it settles (writing
    /// what it produces), received records into messages, one socket read. Returns whether
    /// anything happened.
    fn step(&mut self) -> Result<bool, WsError> {
        let mut active = self.fill();
        for _ in 0..1000 {
            let now = pipebuf::Time::from_duration(self.origin.elapsed());
            let processed = match self.ws.process(now, self.net.upper(), self.msgs.lower()) {
                Ok(processed) => processed,
                Err(e) => {
                    self.flush();
                    return Err(e);
                }
            };
            let flushed = self.flush();
            active |= processed | flushed;
            if !processed && !flushed {
                break;
            }
        }
        active |= self.collect();
        active |= self.read_socket();
        Ok(active)
    }

    fn fill(&mut self) -> bool {
        let mut app = self.msgs.upper();
        let mut any = false;
        while let Some((kind, data, sent)) = self.outbox.front_mut() {
            let (n, fin) = match write_chunk_some(&mut app.wr, *kind, &data[*sent..], CHUNK) {
                Ok(written) => written,
                Err(ChunkError::Full) => break,
                Err(e) => panic!("writing a chunk record: {e}"),
            };
            *sent += n;
            any = true;
            if fin {
                self.outbox.pop_front();
            }
        }
        if any {
            app.wr.push();
        }
        if self.outbox.is_empty() && self.close_when_sent && !app.wr.is_eof() {
            app.wr.close();
            any = true;
        }
        any
    }

    /// Writes out what the component produced and passes its end of stream on to the
    /// socket; returns whether anything happened.
    fn flush(&mut self) -> bool {
        let mut net = self.net.lower();
        let mut any = false;
        while !net.rd.is_empty() {
            if self.write_failed.is_some() {
                net.rd.consume_all();
                break;
            }
            match net.rd.write_to(&mut self.stream) {
                Ok(WriteStatus::Wrote(_)) => any = true,
                Ok(_) => break,
                Err(e) => self.write_failed = Some(e),
            }
        }
        if !net.rd.is_empty() {
            // The socket is full: keep the end of stream until the data is out.
            return any;
        }
        any |= net.rd.consume_push();
        if let Some(kind) = net.rd.consume_eof() {
            any = true;
            let how = match kind {
                EofKind::Close => Shutdown::Write,
                EofKind::Abort => Shutdown::Both,
            };
            let _ = self.stream.shutdown(how);
        }
        any
    }

    fn read_socket(&mut self) -> bool {
        let mut net = self.net.lower();
        if net.wr.is_eof() {
            return false;
        }
        match net.wr.read_from(&mut self.stream, 64 * 1024) {
            Ok(ReadStatus::Read(_) | ReadStatus::Partial(_)) => true,
            Ok(ReadStatus::EndOfStream) => {
                net.wr.close();
                true
            }
            Ok(ReadStatus::WouldBlock | ReadStatus::Full) => false,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                net.wr.abort();
                true
            }
            Err(e) => panic!("socket read: {e}"),
        }
    }

    /// Moves received chunk records into `partial`/`inbox`.
    fn collect(&mut self) -> bool {
        let mut app = self.msgs.upper();
        let mut any = false;
        loop {
            let (kind, fin, len) = match read_chunk(&app.rd) {
                Ok(Some(chunk)) => {
                    let (kind, data) = self.partial.get_or_insert((chunk.kind, Vec::new()));
                    assert_eq!(*kind, chunk.kind, "message type changed between chunks");
                    data.extend_from_slice(chunk.data);
                    (chunk.kind, chunk.fin, chunk.record_len)
                }
                Ok(None) => break,
                Err(e) => panic!("bad chunk record from the component: {e}"),
            };
            app.rd.consume(len).expect("consume a record");
            any = true;
            if fin {
                let (_, data) = self.partial.take().unwrap_or((kind, Vec::new()));
                self.inbox.push_back((kind, data));
            }
        }
        any | app.rd.consume_push()
    }

    /// Steps until `done` holds, at most [`TIMEOUT`]; sleeps a millisecond when nothing
    /// happens.
    fn run_until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&WsClient) -> bool,
    ) -> Result<(), WsError> {
        let deadline = Instant::now() + TIMEOUT;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "no {what} within {TIMEOUT:?}: {:?}, {} messages in, incoming stream {:?}, \
                 byte side {:?}/{:?}",
                self.ws,
                self.inbox.len(),
                self.msgs.up.state(),
                self.net.up.state(),
                self.net.down.state()
            );
            if !self.step()? {
                thread::sleep(Duration::from_millis(1));
            }
        }
        Ok(())
    }

    /// Waits for the next whole message.
    fn receive(&mut self) -> (MessageKind, Vec<u8>) {
        self.run_until("message", |c| !c.inbox.is_empty())
            .unwrap_or_else(|e| panic!("WebSocket error while waiting for a message: {e}"));
        self.inbox.pop_front().expect("a message")
    }

    /// Waits until the connection is over: the incoming message stream ends (its end is
    /// consumed and returned), the application closes its own stream in answer, as
    /// applications do (that sends our close frame if the peer started the close), and the
    /// byte side is finished both ways.
    fn finish(&mut self) -> EofKind {
        self.run_until("end of the incoming messages", |c| {
            c.msgs.up.state().eof_kind().is_some()
        })
        .unwrap_or_else(|e| panic!("WebSocket error while closing: {e}"));
        assert!(self.partial.is_none(), "a message was cut off");
        let eof = self.msgs.upper().rd.consume_eof().expect("end of stream");
        if self.msgs.down.state().eof_kind().is_none() {
            self.msgs.upper().wr.close();
        }
        self.run_until("end of the connection", |c| {
            c.net.up.state().is_done() && c.net.down.state().is_done()
        })
        .unwrap_or_else(|e| panic!("WebSocket error while closing: {e}"));
        eof
    }

    /// Steps until `process` fails; panics if it does not within [`TIMEOUT`].
    fn expect_error(&mut self) -> WsError {
        match self.run_until("error", |_| false) {
            Err(e) => e,
            Ok(()) => unreachable!("run_until(false) only ends with an error or a panic"),
        }
    }
}

/// Valid UTF-8 of exactly `len` bytes, with 2-, 3- and 4-byte characters.
fn text(len: usize) -> Vec<u8> {
    let unit = "aé€😀"; // 10 bytes
    let mut s = unit.repeat(len / 10);
    s.extend(std::iter::repeat_n('x', len % 10));
    s.into_bytes()
}

#[test]
fn our_client_gets_byte_exact_echoes_of_text_and_binary_up_to_1_mib_from_websockets() {
    let server = PyWsServer::start(&["echo"]);
    let mut client = WsClient::to(server.addr());
    let sizes = [0, 1, 125, 126, 65535, 65536, 100_000, 1 << 20];
    for (i, &len) in sizes.iter().enumerate() {
        for kind in [MessageKind::Text, MessageKind::Binary] {
            let data = match kind {
                MessageKind::Text => text(len),
                MessageKind::Binary => pattern(len, i as u8),
            };
            client.send(kind, data.clone());
            let (got_kind, got) = client.receive();
            assert_eq!(
                got_kind, kind,
                "{kind:?} of {len} came back as {got_kind:?}"
            );
            assert!(
                got == data,
                "{kind:?} of {len} came back as {} different bytes",
                got.len()
            );
        }
    }
    assert!(client.ws.is_open());
    assert_eq!(client.ws.subprotocol(), None);

    // Several at once, without waiting for each echo.
    let burst: Vec<Vec<u8>> = (0..200).map(|i| pattern(i * 37 % 3000, i as u8)).collect();
    for data in &burst {
        client.send(MessageKind::Binary, data.clone());
    }
    for (i, data) in burst.iter().enumerate() {
        let (kind, got) = client.receive();
        assert!(kind == MessageKind::Binary && got == *data, "burst {i}");
    }

    client.close(1000, "");
    assert_eq!(client.finish(), EofKind::Close);
    assert_eq!(client.ws.peer_close(), Some(Some((1000, ""))));
    assert_eq!(server.expect_line("closed"), "closed 1000 ''");
}

#[test]
fn our_client_closing_with_4001_and_a_reason_gets_the_same_close_back_from_websockets() {
    let server = PyWsServer::start(&["echo"]);
    let mut client = WsClient::to(server.addr());
    client.send(MessageKind::Text, b"last words".to_vec());
    assert_eq!(
        client.receive(),
        (MessageKind::Text, b"last words".to_vec())
    );
    client.close(4001, "the test is over");
    assert_eq!(client.finish(), EofKind::Close);
    // websockets echoes the close frame's payload: code and reason.
    assert_eq!(
        client.ws.peer_close(),
        Some(Some((4001, "the test is over")))
    );
    assert_eq!(
        server.expect_line("closed"),
        "closed 4001 'the test is over'"
    );
    assert!(client.write_failed.is_none(), "{:?}", client.write_failed);
}

#[test]
fn our_client_answers_a_close_started_by_websockets_and_reports_its_code_and_reason() {
    let server = PyWsServer::start(&["echo"]);
    let mut client = WsClient::to(server.addr());
    client.send(MessageKind::Text, b"close-me 4002 server says bye".to_vec());
    assert_eq!(client.finish(), EofKind::Close);
    assert_eq!(
        client.ws.peer_close(),
        Some(Some((4002, "server says bye")))
    );
    // Our reply carries the same code; websockets records it as what it received.
    assert_eq!(server.expect_line("closed"), "closed 4002 ''");
}

#[test]
fn our_client_reports_the_subprotocol_websockets_chose_among_those_offered() {
    // (offered by us, supported by the server in its order of preference, chosen)
    let cases: [(&[&str], &[&str], &str); 3] = [
        (&["superchat", "chat"], &["chat"], "chat"),
        (&["chat.v1", "chat.v2"], &["chat.v2", "chat.v1"], "chat.v2"),
        (&["only"], &["only"], "only"),
    ];
    for (offered, supported, chosen) in cases {
        let mut args = vec!["echo"];
        args.extend_from_slice(supported);
        let server = PyWsServer::start(&args);
        let mut request = ClientRequest::new("/", server.addr().to_string());
        request.subprotocols = offered.iter().map(|s| s.to_string()).collect();
        let mut client = WsClient::connect(server.addr(), request);
        client.send(MessageKind::Text, b"hi".to_vec());
        assert_eq!(client.receive(), (MessageKind::Text, b"hi".to_vec()));
        assert_eq!(
            client.ws.subprotocol(),
            Some(chosen),
            "offered {offered:?} to a server supporting {supported:?}"
        );
        client.close(1000, "");
        assert_eq!(client.finish(), EofKind::Close);
    }
}

#[test]
fn our_client_gets_a_handshake_error_not_a_panic_when_websockets_answers_403() {
    let server = PyWsServer::start(&["reject"]);
    let mut client = WsClient::to(server.addr());
    client.send(MessageKind::Text, b"never sent".to_vec());
    let error = client.expect_error();
    assert_eq!(
        error,
        WsError::Handshake(HandshakeError::UnexpectedStatus(403))
    );
    assert_eq!(server.expect_line("rejected"), "rejected");
    assert!(!client.ws.is_open());
    assert!(client.inbox.is_empty());
    // The application hears of it as a broken stream; our byte side ends.
    client
        .run_until("the end after the error", |c| {
            c.msgs.up.state().eof_kind().is_some() && c.net.down.state().is_done()
        })
        .expect("later calls only finish up");
    assert_eq!(client.msgs.up.state().eof_kind(), Some(EofKind::Abort));
}

#[test]
fn our_client_gets_a_handshake_error_when_websockets_supports_none_of_its_subprotocols() {
    let server = PyWsServer::start(&["echo", "chat"]);
    let mut request = ClientRequest::new("/", server.addr().to_string());
    request.subprotocols = vec!["other".into()];
    let mut client = WsClient::connect(server.addr(), request);
    assert_eq!(
        client.expect_error(),
        WsError::Handshake(HandshakeError::UnexpectedStatus(400))
    );
    assert_eq!(client.ws.subprotocol(), None);
}
