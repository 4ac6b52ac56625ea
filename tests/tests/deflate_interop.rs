//! permessage-deflate interop with a real peer: Python's `websockets`, whose compression is
//! zlib's (an implementation independent of ours, miniz_oxide).
//!
//! - Our server (the `ws_echo` example with `--deflate`, and `--deflate-context reset` for no
//!   context takeover: the library's mio server with a WebSocket echo stack, as users run
//!   it) with its client (`tests/py/deflate_client.py`): text and binary, compressible and
//!   random, 1 B to 16 MiB, with and without context takeover, with the window-bits offers
//!   Autobahn 13.x makes; a `server_max_window_bits` below 15 must be declined.
//! - Our client (`WebSocket::client` over a `TcpStream`) with its server
//!   (`tests/py/deflate_server.py`): the same sizes, with and without context takeover and
//!   with a server that limits its own window; the bytes on the socket show that both
//!   directions were really compressed.
//!
//! Needs Python with `websockets` (see `pipebuf_tests::test_python`).

use std::io::ErrorKind;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use pipebuf::{EofKind, PipeBufPair, ReadStatus, WriteStatus};
use pipebuf_tests::{Process, Server, py_script, run_bounded, test_python};
use pipebuf_websocket::deflate::{ContextTakeover, DeflateConfig};
use pipebuf_websocket::handshake::ClientRequest;
use pipebuf_websocket::message::{ChunkError, MessageKind, read_chunk, write_chunk_some};
use pipebuf_websocket::{WebSocket, WsConfig};

const TIMEOUT: Duration = Duration::from_secs(120);

/// Message sizes, as in `deflate_client.py`.
const SIZES: [usize; 10] = [1, 63, 64, 125, 126, 1000, 65535, 65536, 1 << 20, 16 << 20];

// ---------------------------------------------------------------------------------------------
// Our server, their client

/// Runs `deflate_client.py` with `args` against `ws_echo --deflate` started with
/// `server_args` as well; returns the client's `ok ...` line.
fn python_client_against_our_server(server_args: &[&str], args: &[&str]) -> String {
    // 64 MiB: the 16 MiB messages fit, whatever ws_echo's default.
    let mut all = vec![
        "--addr",
        "127.0.0.1:0",
        "--max-message",
        "67108864",
        "--deflate",
    ];
    all.extend(server_args);
    let mut server = Server::start("ws_echo", &all).unwrap_or_else(|e| panic!("{e}"));
    let url = format!("ws://{}/", server.addr);
    let out = run_bounded(
        Command::new(test_python())
            .arg(py_script("deflate_client.py"))
            .arg(&url)
            .args(args),
        TIMEOUT,
    )
    .unwrap_or_else(|e| panic!("deflate_client.py {args:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && stdout.starts_with("ok"),
        "deflate_client.py {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim(),
        stdout
    );
    let status = server.stop("TERM", Duration::from_secs(20)).expect("stops");
    assert!(status.success(), "ws_echo exited with {status}");
    stdout
}

#[test]
fn our_server_echoes_websockets_compressed_messages_of_1_byte_to_16_mib_with_context_takeover() {
    let summary = python_client_against_our_server(&[], &[]);
    assert_eq!(summary, "ok extensions=permessage-deflate");
}

#[test]
fn our_server_echoes_websockets_compressed_messages_without_context_takeover() {
    let summary = python_client_against_our_server(
        &["--deflate-context", "reset"],
        &["--no-context-takeover"],
    );
    assert_eq!(
        summary,
        "ok extensions=permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
}

#[test]
fn our_server_resets_its_context_when_only_it_wants_to() {
    let summary = python_client_against_our_server(&["--deflate-context", "reset"], &[]);
    assert_eq!(
        summary,
        "ok extensions=permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
}

#[test]
fn our_server_takes_websockets_window_bits_offers_as_autobahn_13_varies_them() {
    for bits in ["9", "12", "15"] {
        let summary = python_client_against_our_server(&[], &["--client-max-window-bits", bits]);
        assert_eq!(
            summary, "ok extensions=permessage-deflate",
            "client_max_window_bits={bits}"
        );
    }
    let summary = python_client_against_our_server(&[], &["--server-max-window-bits", "15"]);
    assert_eq!(
        summary,
        "ok extensions=permessage-deflate; server_max_window_bits=15"
    );
}

#[test]
fn our_server_declines_a_server_window_it_cannot_honour_and_echoes_uncompressed() {
    let summary = python_client_against_our_server(
        &[],
        &["--server-max-window-bits", "10", "--expect-plain"],
    );
    assert_eq!(summary, "ok extensions=none");
}

// ---------------------------------------------------------------------------------------------
// Our client, their server

/// `deflate_server.py` as a process.
struct PyServer {
    process: Process,
    addr: SocketAddr,
}

impl PyServer {
    fn start(args: &[&str]) -> PyServer {
        let process = Process::script("deflate_server.py", args, Stdio::piped());
        let line = process.expect_line("port ");
        let port: u16 = line["port ".len()..].parse().expect("a port");
        PyServer {
            process,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }
}

/// Our client over a nonblocking `TcpStream`, counting the bytes on the socket.
struct Client {
    ws: WebSocket,
    stream: TcpStream,
    net: PipeBufPair,
    msgs: PipeBufPair,
    origin: Instant,
    sent: usize,
    received: usize,
    partial: Option<(MessageKind, Vec<u8>)>,
}

impl Client {
    fn connect(addr: SocketAddr, context: ContextTakeover) -> Client {
        let stream = TcpStream::connect(addr).expect("connects");
        stream.set_nonblocking(true).expect("nonblocking");
        let config = WsConfig {
            max_message: 64 << 20,
            deflate: Some(DeflateConfig {
                own_context: context,
                peer_context: context,
                ..DeflateConfig::default()
            }),
            ..WsConfig::default()
        };
        Client {
            ws: WebSocket::client(config, ClientRequest::new("/", addr.to_string())),
            stream,
            net: PipeBufPair::new(),
            msgs: PipeBufPair::new(),
            origin: Instant::now(),
            sent: 0,
            received: 0,
            partial: None,
        }
    }

    /// One round: the component, the socket both ways. Returns whether anything moved.
    fn step(&mut self) -> bool {
        let now = pipebuf::Time::from_duration(self.origin.elapsed());
        let mut any = self
            .ws
            .process(now, self.net.upper(), self.msgs.lower())
            .unwrap_or_else(|e| panic!("WebSocket error: {e}"));
        let mut net = self.net.lower();
        while !net.rd.is_empty() {
            match net.rd.write_to(&mut self.stream) {
                Ok(WriteStatus::Wrote(n)) => {
                    self.sent += n;
                    any = true;
                }
                Ok(_) => break,
                Err(e) => panic!("socket write: {e}"),
            }
        }
        if net.rd.is_empty() {
            net.rd.consume_push();
            if net.rd.consume_eof().is_some() {
                let _ = self.stream.shutdown(Shutdown::Write);
            }
        }
        if !net.wr.is_eof() {
            match net.wr.read_from(&mut self.stream, 256 * 1024) {
                Ok(ReadStatus::Read(n) | ReadStatus::Partial(n)) => {
                    self.received += n;
                    any = true;
                }
                Ok(ReadStatus::EndOfStream) => {
                    net.wr.close();
                    any = true;
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => net.wr.abort(),
                Err(e) => panic!("socket read: {e}"),
            }
        }
        any
    }

    fn run_until(&mut self, what: &str, mut done: impl FnMut(&mut Client) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        while !done(self) {
            assert!(Instant::now() < deadline, "no {what} within {TIMEOUT:?}");
            if !self.step() {
                thread::sleep(Duration::from_millis(1));
            }
        }
    }

    /// Sends `data` as one message (streamed in records as the buffer takes them) and
    /// returns the echo.
    fn echo(&mut self, kind: MessageKind, data: &[u8]) -> (MessageKind, Vec<u8>) {
        let mut offset = 0;
        let mut done = false;
        let mut echoed = None;
        self.run_until("echo", |c| {
            while !done {
                match write_chunk_some(&mut c.msgs.upper().wr, kind, &data[offset..], 1 << 20) {
                    Ok((n, fin)) => {
                        offset += n;
                        done = fin;
                    }
                    Err(ChunkError::Full) => break,
                    Err(e) => panic!("{e}"),
                }
            }
            let mut app = c.msgs.upper();
            while let Some(chunk) = read_chunk(&app.rd).expect("well-formed records") {
                let (k, fin, n) = (chunk.kind, chunk.fin, chunk.record_len);
                c.partial
                    .get_or_insert((k, Vec::new()))
                    .1
                    .extend_from_slice(chunk.data);
                app.rd.consume(n).expect("record");
                if fin {
                    echoed = c.partial.take();
                }
            }
            echoed.is_some()
        });
        echoed.expect("an echo")
    }

    /// Closes with 1000 and waits for the close handshake to end both byte streams; the
    /// peer's close must be clean.
    fn close(&mut self) {
        self.msgs.upper().wr.close();
        let mut end = None;
        self.run_until("end of the connection", |c| {
            if end.is_none() {
                end = c.msgs.upper().rd.consume_eof();
            }
            c.net.up.state().is_done() && c.net.down.state().is_done()
        });
        assert_eq!(end, Some(EofKind::Close));
    }
}

/// Echoes every size, compressible and random, through `deflate_server.py`; returns the
/// wire bytes sent and received for the compressible messages only and the total payload.
fn our_client_against_python(server_args: &[&str], context: ContextTakeover) -> String {
    let server = PyServer::start(server_args);
    let mut client = Client::connect(server.addr, context);
    let mut compressible_payload = 0;
    let (mut compressible_sent, mut compressible_received) = (0, 0);
    for &size in &SIZES {
        let text: Vec<u8> = b"the quick brown fox jumps over the lazy dog "
            .iter()
            .copied()
            .cycle()
            .take(size)
            .collect();
        let random = pipebuf_tests::pattern(size, size as u8)
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ (i.wrapping_mul(0x9E37_79B9) >> 13) as u8)
            .collect::<Vec<u8>>();
        for (kind, data, compressible) in [
            (MessageKind::Text, &text, true),
            (MessageKind::Binary, &text, true),
            (MessageKind::Binary, &random, false),
        ] {
            let (sent, received) = (client.sent, client.received);
            let (got_kind, got) = client.echo(kind, data);
            assert_eq!(got_kind, kind, "{size} bytes");
            assert!(got == *data, "{kind:?} of {size} bytes came back different");
            if compressible {
                compressible_payload += size;
                compressible_sent += client.sent - sent;
                compressible_received += client.received - received;
            }
        }
    }
    let line = server.process.expect_line("extensions ");
    assert!(
        client.ws.deflate().is_some(),
        "compression not agreed: {line}"
    );
    // Both directions went compressed: far fewer bytes on the socket than in the messages.
    assert!(
        compressible_sent * 20 < compressible_payload,
        "sent {compressible_sent} bytes for {compressible_payload}"
    );
    assert!(
        compressible_received * 20 < compressible_payload,
        "received {compressible_received} bytes for {compressible_payload}"
    );
    client.close();
    line
}

#[test]
fn our_client_gets_byte_exact_compressed_echoes_of_1_byte_to_16_mib_from_websockets() {
    let line = our_client_against_python(&[], ContextTakeover::Keep);
    assert_eq!(line, "extensions permessage-deflate");
}

#[test]
fn our_client_without_context_takeover_gets_byte_exact_compressed_echoes_from_websockets() {
    let line = our_client_against_python(&["--no-context-takeover"], ContextTakeover::Reset);
    assert_eq!(
        line,
        "extensions permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
}

#[test]
fn our_client_inflates_a_websockets_server_that_limits_its_own_window_to_1_kib() {
    let line =
        our_client_against_python(&["--server-max-window-bits", "10"], ContextTakeover::Keep);
    assert_eq!(
        line,
        "extensions permessage-deflate; server_max_window_bits=10"
    );
}
