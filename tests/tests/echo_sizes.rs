//! Every echo example as a process on port 0 returns messages of 0 B, 1 B, 125 B, 126 B,
//! 65535 B, 65536 B and 1 MiB byte-exact: `tcp_echo` and `tls_echo` (a "message" is one
//! connection's stream of that many bytes, half-closed after), `ws_echo`, `wss_echo` and
//! `embed_tokio` (a binary and a text message of each size on one WebSocket, then the close
//! handshake). The client is ours: a non-blocking `TcpStream` under a pipebuf chain of
//! `pipebuf_rustls::Tls` and/or `pipebuf_websocket::WebSocket` client components, stepped by
//! hand.

use std::io::ErrorKind;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use pipebuf::{EofKind, PBufRdWr, PipeBufPair, ReadStatus, WriteStatus};
use pipebuf_rustls::Tls;
use pipebuf_tests::{Pki, Server, TempDir, make_pki, pattern};
use pipebuf_websocket::handshake::ClientRequest;
use pipebuf_websocket::message::{ChunkError, MessageKind, read_chunk, write_chunk_some};
use pipebuf_websocket::{WebSocket, WsConfig};

const SIZES: [usize; 7] = [0, 1, 125, 126, 65535, 65536, 1 << 20];
/// The longest any single exchange may take.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Largest chunk record written at once.
const CHUNK: usize = 64 * 1024;

/// A client connection: socket, byte pair, optional TLS, optional WebSocket.
struct Client {
    stream: TcpStream,
    /// `up` from the socket, `down` to it.
    net: PipeBufPair,
    tls: Option<(Tls, PipeBufPair)>,
    ws: Option<(WebSocket, PipeBufPair)>,
    origin: Instant,
}

impl Client {
    fn connect(addr: &str, tls: Option<Arc<rustls::ClientConfig>>, ws: bool) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream.set_nonblocking(true).expect("nonblocking");
        let tls = tls.map(|config| {
            let name = "localhost".try_into().expect("server name");
            (
                Tls::client(config, name).expect("TLS client"),
                PipeBufPair::new(),
            )
        });
        let ws = ws.then(|| {
            let config = WsConfig {
                max_message: 4 << 20,
                ..WsConfig::default()
            };
            let ws = WebSocket::client(config, ClientRequest::new("/", addr));
            (ws, PipeBufPair::new())
        });
        Client {
            stream,
            net: PipeBufPair::new(),
            tls,
            ws,
            origin: Instant::now(),
        }
    }

    /// The application's side: message records with a WebSocket, else bytes.
    fn app(&mut self) -> PBufRdWr<'_> {
        match (&mut self.ws, &mut self.tls) {
            (Some((_, msgs)), _) => msgs.upper(),
            (None, Some((_, plain))) => plain.upper(),
            (None, None) => self.net.upper(),
        }
    }

    /// Runs the components until they settle, writing to and reading from the socket;
    /// returns whether anything happened.
    fn step(&mut self) -> bool {
        let mut any = false;
        for _ in 0..10_000 {
            let mut active = false;
            let now = self.origin.elapsed();
            let bytes = match &mut self.tls {
                Some((tls, plain)) => {
                    active |= tls
                        .process(self.net.upper(), plain.lower())
                        .unwrap_or_else(|e| panic!("TLS: {e}"));
                    plain.upper()
                }
                None => self.net.upper(),
            };
            if let Some((ws, msgs)) = &mut self.ws {
                active |= ws
                    .process(pipebuf::Time::from_duration(now), bytes, msgs.lower())
                    .unwrap_or_else(|e| panic!("WebSocket: {e}"));
            }
            active |= self.flush();
            active |= self.read_socket();
            any |= active;
            if !active {
                break;
            }
        }
        any
    }

    fn flush(&mut self) -> bool {
        let mut net = self.net.lower();
        let mut any = false;
        loop {
            match net.rd.write_to(&mut self.stream) {
                Ok(WriteStatus::Wrote(_)) => any = true,
                Ok(_) => break,
                Err(e) => panic!("socket write: {e}"),
            }
        }
        if net.rd.is_empty() {
            any |= net.rd.consume_push();
            if let Some(kind) = net.rd.consume_eof() {
                any = true;
                let how = match kind {
                    EofKind::Close => Shutdown::Write,
                    EofKind::Abort => Shutdown::Both,
                };
                let _ = self.stream.shutdown(how);
            }
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

    /// Steps until `done` says so; panics after [`TIMEOUT`].
    fn run_until(&mut self, what: &str, mut done: impl FnMut(&mut Client) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        while !done(self) {
            assert!(Instant::now() < deadline, "no {what} within {TIMEOUT:?}");
            if !self.step() {
                thread::sleep(Duration::from_millis(1));
            }
        }
    }

    /// Byte stream: sends `data`, closes, and returns everything until the peer's close.
    fn exchange_bytes(mut self, data: &[u8]) -> Vec<u8> {
        let mut sent = 0;
        let mut back = Vec::new();
        self.run_until("end of the echo", |c| {
            let mut app = c.app();
            if sent < data.len() {
                sent += app.wr.append_some(&data[sent..]).expect("append");
            }
            if sent == data.len() && !app.wr.is_eof() {
                app.wr.close();
            }
            back.extend_from_slice(app.rd.data());
            app.rd.consume_all();
            match app.rd.consume_eof() {
                Some(EofKind::Close) => true,
                Some(EofKind::Abort) => panic!("echo aborted after {} bytes", back.len()),
                None => false,
            }
        });
        back
    }

    /// WebSocket: sends one message and returns the one that comes back.
    fn echo_message(&mut self, kind: MessageKind, data: &[u8]) -> (MessageKind, Vec<u8>) {
        let mut sent = 0;
        let mut fin_sent = false;
        let mut back: Option<(MessageKind, Vec<u8>)> = None;
        let mut complete = false;
        self.run_until("echoed message", |c| {
            let mut app = c.app();
            while !fin_sent {
                match write_chunk_some(&mut app.wr, kind, &data[sent..], CHUNK) {
                    Ok((n, fin)) => {
                        sent += n;
                        fin_sent = fin;
                    }
                    Err(ChunkError::Full) => break,
                    Err(e) => panic!("chunk: {e}"),
                }
            }
            while let Some(chunk) = read_chunk(&app.rd).expect("record") {
                assert!(!complete, "more than one message came back");
                let (k, got) = back.get_or_insert((chunk.kind, Vec::new()));
                assert_eq!(*k, chunk.kind, "type changed within a message");
                got.extend_from_slice(chunk.data);
                complete = chunk.fin;
                let len = chunk.record_len;
                app.rd.consume(len).expect("consume");
            }
            assert!(
                app.rd.state().eof_kind().is_none(),
                "the server ended the stream"
            );
            complete
        });
        back.expect("a message")
    }

    /// WebSocket: the close handshake, ending both directions cleanly.
    fn close(mut self) {
        self.app().wr.close();
        self.run_until("the server's close", |c| {
            c.app().rd.consume_all();
            c.app().rd.consume_eof().is_some()
        });
        assert_eq!(
            self.app().rd.state().eof_kind(),
            Some(EofKind::Close),
            "the WebSocket ended with an abort"
        );
        self.run_until("the end of the connection", |c| c.net.is_done());
    }
}

/// Valid UTF-8 of exactly `len` bytes, with 2-, 3- and 4-byte characters.
fn text(len: usize) -> Vec<u8> {
    let mut s = "aé€😀".repeat(len / 10);
    s.extend(std::iter::repeat_n('x', len % 10));
    s.into_bytes()
}

/// A test PKI written to files, with the server flags that use them.
struct Certs {
    _dir: TempDir,
    pki: Pki,
    cert: String,
    key: String,
}

impl Certs {
    fn new() -> Certs {
        let pki = make_pki("pipebuf echo sizes CA");
        let dir = TempDir::new("echo-sizes");
        let cert = dir.file("cert.pem", &pki.cert_pem).display().to_string();
        let key = dir.file("key.pem", &pki.key_pem).display().to_string();
        Certs {
            _dir: dir,
            pki,
            cert,
            key,
        }
    }

    fn client_config(&self) -> Arc<rustls::ClientConfig> {
        pipebuf_rustls::config::client_config(self.pki.ca_pem.as_bytes(), &Default::default())
            .expect("client config")
    }
}

fn start(name: &str, certs: Option<&Certs>) -> Server {
    let mut args = vec!["--addr", "127.0.0.1:0"];
    if let Some(c) = certs {
        args.extend(["--cert", c.cert.as_str(), "--key", c.key.as_str()]);
    }
    Server::start(name, &args).unwrap_or_else(|e| panic!("{e}"))
}

fn stop(mut server: Server) {
    let status = server
        .stop("TERM", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "exit status {status}");
}

/// One connection per size: the echo of that many bytes, then the server's close.
fn bytes_of_every_size(name: &str, tls: bool) {
    let certs = tls.then(Certs::new);
    let server = start(name, certs.as_ref());
    for (i, &len) in SIZES.iter().enumerate() {
        let data = pattern(len, i as u8);
        let client = Client::connect(
            &server.addr,
            certs.as_ref().map(Certs::client_config),
            false,
        );
        let back = client.exchange_bytes(&data);
        assert_eq!(back.len(), len, "{name}: length of the echo of {len} bytes");
        assert!(back == data, "{name}: content of the echo of {len} bytes");
    }
    stop(server);
}

/// One WebSocket: a binary and a text message of each size, then the close handshake.
fn messages_of_every_size(name: &str, tls: bool) {
    let certs = tls.then(Certs::new);
    let server = start(name, certs.as_ref());
    let mut client = Client::connect(&server.addr, certs.as_ref().map(Certs::client_config), true);
    for (i, &len) in SIZES.iter().enumerate() {
        for (kind, data) in [
            (MessageKind::Binary, pattern(len, i as u8)),
            (MessageKind::Text, text(len)),
        ] {
            let (got_kind, got) = client.echo_message(kind, &data);
            assert_eq!(
                got_kind, kind,
                "{name}: {kind:?} of {len} came back as {got_kind:?}"
            );
            assert_eq!(
                got.len(),
                len,
                "{name}: length of the {kind:?} echo of {len}"
            );
            assert!(got == data, "{name}: content of the {kind:?} echo of {len}");
        }
    }
    client.close();
    stop(server);
}

#[test]
fn tcp_echo_returns_byte_streams_of_every_boundary_size_up_to_1_mib() {
    bytes_of_every_size("tcp_echo", false);
}

#[test]
fn tls_echo_returns_byte_streams_of_every_boundary_size_up_to_1_mib() {
    bytes_of_every_size("tls_echo", true);
}

#[test]
fn ws_echo_returns_binary_and_text_messages_of_every_boundary_size_up_to_1_mib() {
    messages_of_every_size("ws_echo", false);
}

#[test]
fn wss_echo_returns_binary_and_text_messages_of_every_boundary_size_up_to_1_mib() {
    messages_of_every_size("wss_echo", true);
}

#[test]
fn embed_tokio_returns_binary_and_text_messages_of_every_boundary_size_up_to_1_mib() {
    messages_of_every_size("embed_tokio", false);
}
