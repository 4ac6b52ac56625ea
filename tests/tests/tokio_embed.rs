//! The tokio adapter (`pipebuf_mio::tokio`) gets the echo tests every echo server gets in
//! `echo_sizes.rs`: byte streams (plain TCP and TLS) and binary and text messages (ws://
//! and wss://) of 0 B, 1 B, 125 B, 126 B, 65535 B, 65536 B and 1 MiB come back byte-exact,
//! then both sides close cleanly. The servers are the examples' chains (`Echo`, and
//! `pipebuf_examples::ws::echo_server` under it) in tokio tasks of this process; each client
//! is a `Connection` of the same adapter, driven from the test through its `Handle`, so the
//! handle's backpressure (a 1 MiB send into 64 KiB of buffers) is exercised on the way.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pipebuf::{EofKind, PBufRdWr, Stack};
use pipebuf_examples::ws::echo_server;
use pipebuf_mio::tokio::{Connection, Handle, run};
use pipebuf_mio::{BoxError, Chain, Context, Echo, Endpoint, LeftReason, SendResult};
use pipebuf_rustls::Tls;
use pipebuf_tests::{Pki, make_pki, pattern};
use pipebuf_websocket::handshake::ClientRequest;
use pipebuf_websocket::message::{ChunkError, MessageKind, read_chunk, write_chunk_some};
use pipebuf_websocket::{WebSocket, WsConfig};
use tokio::net::{TcpListener, TcpStream};

const SIZES: [usize; 7] = [0, 1, 125, 126, 65535, 65536, 1 << 20];
/// The longest any single exchange may take.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Largest chunk record the client writes at once.
const CHUNK: usize = 64 * 1024;
/// The servers' message limit, as the example servers have it.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// What the client's chain reports.
#[derive(Debug)]
enum Got {
    /// Bytes of a byte stream, as they arrived.
    Bytes(Vec<u8>),
    /// A whole WebSocket message.
    Message(MessageKind, Vec<u8>),
    /// The server's end of stream.
    End(EofKind),
}

/// One thing to send: bytes, or a message of a type.
struct Outgoing {
    kind: Option<MessageKind>,
    data: Vec<u8>,
    sent: usize,
}

/// The client's application: streams what the handle sends into the chain in pieces as
/// room allows (one item at a time: a second waits, which is the handle's backpressure),
/// and reports what comes back. With `ws`, the first byte of each send says the message's
/// type (`b` binary, `t` text) and the rest is its payload.
struct Client {
    ws: bool,
    pending: VecDeque<Outgoing>,
    closing: bool,
    message: Option<(MessageKind, Vec<u8>)>,
}

impl Client {
    fn new(ws: bool) -> Self {
        Client {
            ws,
            pending: VecDeque::new(),
            closing: false,
            message: None,
        }
    }

    fn write_pending(&mut self, io: &mut PBufRdWr<'_>) -> Result<bool, BoxError> {
        let mut active = false;
        while let Some(out) = self.pending.front_mut() {
            let done = match out.kind {
                None => {
                    let n = io.wr.append_some(&out.data[out.sent..])?;
                    out.sent += n;
                    active |= n > 0;
                    out.sent == out.data.len()
                }
                Some(kind) => {
                    match write_chunk_some(&mut io.wr, kind, &out.data[out.sent..], CHUNK) {
                        Ok((n, fin)) => {
                            out.sent += n;
                            active = true;
                            fin
                        }
                        Err(ChunkError::Full) => false,
                        Err(e) => return Err(e.to_string().into()),
                    }
                }
            };
            if !done {
                break;
            }
            self.pending.pop_front();
        }
        if self.closing && self.pending.is_empty() && !io.wr.is_eof() {
            io.wr.close();
            active = true;
        }
        Ok(active)
    }

    fn read_incoming(
        &mut self,
        io: &mut PBufRdWr<'_>,
        cx: &mut Context<'_, Got>,
    ) -> Result<bool, BoxError> {
        let mut active = false;
        if !self.ws {
            if !io.rd.is_empty() {
                cx.emit(Got::Bytes(io.rd.data().to_vec()));
                io.rd.consume_all();
                active = true;
            }
        } else {
            while let Some(chunk) = read_chunk(&io.rd).map_err(|e| e.to_string())? {
                let (kind, data) = self.message.get_or_insert((chunk.kind, Vec::new()));
                assert_eq!(*kind, chunk.kind, "type changed within a message");
                data.extend_from_slice(chunk.data);
                let (fin, len) = (chunk.fin, chunk.record_len);
                io.rd.consume(len)?;
                if fin && let Some((kind, data)) = self.message.take() {
                    cx.emit(Got::Message(kind, data));
                }
                active = true;
            }
        }
        if let Some(kind) = io.rd.consume_eof() {
            cx.emit(Got::End(kind));
            active = true;
        }
        Ok(active)
    }
}

impl Chain for Client {
    type Msg = Got;
    type Error = BoxError;

    fn process(
        &mut self,
        mut io: PBufRdWr<'_>,
        cx: &mut Context<'_, Got>,
    ) -> Result<bool, BoxError> {
        let wrote = self.write_pending(&mut io)?;
        let read = self.read_incoming(&mut io, cx)?;
        Ok(wrote | read)
    }

    fn send(&mut self, _: PBufRdWr<'_>, data: &[u8]) -> SendResult {
        if self.closing {
            return SendResult::Gone;
        }
        if !self.pending.is_empty() {
            return SendResult::Full;
        }
        let (kind, data) = match (self.ws, data.split_first()) {
            (false, _) => (None, data),
            (true, Some((b'b', rest))) => (Some(MessageKind::Binary), rest),
            (true, Some((b't', rest))) => (Some(MessageKind::Text), rest),
            (true, _) => panic!("a WebSocket send starts with its type"),
        };
        self.pending.push_back(Outgoing {
            kind,
            data: data.to_vec(),
            sent: 0,
        });
        SendResult::Sent
    }

    fn close(&mut self, _: PBufRdWr<'_>) {
        self.closing = true;
    }
}

/// Runs `test` on a tokio runtime of its own, bounded by a generous limit.
fn block_on<F: Future>(test: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        tokio::time::timeout(4 * TIMEOUT, test)
            .await
            .expect("the test took too long")
    })
}

/// Serves `make()`'s chain on each connection, in tasks of the current runtime.
async fn serve<C, F>(make: F) -> SocketAddr
where
    C: Chain + Send + 'static,
    C::Msg: Send,
    F: Fn() -> C + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(run(stream, make()));
        }
    });
    addr
}

/// Connects a client chain on top of `stack`; returns its handle and its run.
async fn connect<S>(
    addr: SocketAddr,
    stack: S,
    ws: bool,
) -> (Handle<Got>, tokio::task::JoinHandle<LeftReason>)
where
    S: pipebuf::Layer + Send + 'static,
    S::Error: std::error::Error + Send + Sync + 'static,
{
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let conn = Connection::new(stream, Endpoint::new(stack, Client::new(ws)));
    let handle = conn.handle();
    (handle, tokio::spawn(conn.run()))
}

async fn next(handle: &Handle<Got>, what: &str) -> Got {
    tokio::time::timeout(TIMEOUT, handle.recv())
        .await
        .unwrap_or_else(|_| panic!("no {what} within {TIMEOUT:?}"))
        .unwrap_or_else(|| panic!("the connection ended before the {what}"))
}

/// A test PKI with a server and a client config that trusts it.
struct Certs {
    pki: Pki,
}

impl Certs {
    fn new() -> Self {
        Certs {
            pki: make_pki("pipebuf tokio embed CA"),
        }
    }

    fn server(&self) -> Arc<rustls::ServerConfig> {
        pipebuf_rustls::config::server_config(
            self.pki.cert_pem.as_bytes(),
            self.pki.key_pem.as_bytes(),
            &Default::default(),
        )
        .expect("server config")
    }

    fn client(&self) -> Tls {
        let config =
            pipebuf_rustls::config::client_config(self.pki.ca_pem.as_bytes(), &Default::default())
                .expect("client config");
        Tls::client(config, "localhost".try_into().expect("name")).expect("TLS client")
    }
}

/// One connection per size: the echo of that many bytes, then both closes.
async fn bytes_of_every_size<S: pipebuf::Layer + Send + 'static>(
    addr: SocketAddr,
    stack: impl Fn() -> S,
) where
    S::Error: std::error::Error + Send + Sync + 'static,
{
    for (i, &len) in SIZES.iter().enumerate() {
        let data = pattern(len, i as u8);
        let (handle, client) = connect(addr, stack(), false).await;
        if len > 0 {
            assert_eq!(handle.send(data.clone()).await, SendResult::Sent);
        }
        handle.close();
        let mut back = Vec::new();
        loop {
            match next(&handle, "echo").await {
                Got::Bytes(bytes) => back.extend(bytes),
                Got::End(EofKind::Close) => break,
                other => panic!("{len}: unexpected {other:?} after {} bytes", back.len()),
            }
        }
        assert_eq!(back.len(), len, "length of the echo of {len} bytes");
        assert!(back == data, "content of the echo of {len} bytes");
        let reason = client.await.expect("client task");
        assert!(matches!(reason, LeftReason::Closed), "{len}: {reason}");
    }
}

/// Valid UTF-8 of exactly `len` bytes, with 2-, 3- and 4-byte characters.
fn text(len: usize) -> Vec<u8> {
    let mut s = "aé€😀".repeat(len / 10);
    s.extend(std::iter::repeat_n('x', len % 10));
    s.into_bytes()
}

/// One WebSocket: a binary and a text message of each size, then the close handshake.
async fn messages_of_every_size<S: pipebuf::Layer + Send + 'static>(addr: SocketAddr, stack: S)
where
    S::Error: std::error::Error + Send + Sync + 'static,
{
    let (handle, client) = connect(addr, stack, true).await;
    for (i, &len) in SIZES.iter().enumerate() {
        for (kind, tag, data) in [
            (MessageKind::Binary, b'b', pattern(len, i as u8)),
            (MessageKind::Text, b't', text(len)),
        ] {
            let mut tagged = vec![tag];
            tagged.extend_from_slice(&data);
            assert_eq!(handle.send(tagged).await, SendResult::Sent);
            match next(&handle, "echoed message").await {
                Got::Message(got_kind, got) => {
                    assert_eq!(
                        got_kind, kind,
                        "{kind:?} of {len} came back as {got_kind:?}"
                    );
                    assert_eq!(got.len(), len, "length of the {kind:?} echo of {len}");
                    assert!(got == data, "content of the {kind:?} echo of {len}");
                }
                other => panic!("{kind:?} of {len}: unexpected {other:?}"),
            }
        }
    }
    handle.close();
    match next(&handle, "server's close").await {
        Got::End(EofKind::Close) => (),
        other => panic!("the close handshake ended with {other:?}"),
    }
    let reason = client.await.expect("client task");
    assert!(matches!(reason, LeftReason::Closed), "{reason}");
}

fn ws_client(addr: SocketAddr) -> WebSocket {
    let config = WsConfig {
        max_message: 4 << 20,
        ..WsConfig::default()
    };
    WebSocket::client(config, ClientRequest::new("/", addr.to_string()))
}

#[test]
fn tokio_tcp_echo_returns_byte_streams_of_every_boundary_size_up_to_1_mib() {
    block_on(async {
        let addr = serve(Echo::default).await;
        // No layer between the socket and the client: `None` passes everything through.
        bytes_of_every_size(addr, || None::<Tls>).await;
    });
}

#[test]
fn tokio_tls_echo_returns_byte_streams_of_every_boundary_size_up_to_1_mib() {
    let certs = Certs::new();
    let config = certs.server();
    block_on(async {
        let addr = serve(move || {
            let tls = Tls::server(Arc::clone(&config)).expect("TLS server");
            Endpoint::new(tls, Echo::default())
        })
        .await;
        bytes_of_every_size(addr, || certs.client()).await;
    });
}

#[test]
fn tokio_ws_echo_returns_binary_and_text_messages_of_every_boundary_size_up_to_1_mib() {
    block_on(async {
        let addr = serve(|| Endpoint::new(echo_server(MAX_MESSAGE), Echo::default())).await;
        messages_of_every_size(addr, ws_client(addr)).await;
    });
}

#[test]
fn tokio_wss_echo_returns_binary_and_text_messages_of_every_boundary_size_up_to_1_mib() {
    let certs = Certs::new();
    let config = certs.server();
    block_on(async {
        let addr = serve(move || {
            let tls = Tls::server(Arc::clone(&config)).expect("TLS server");
            Endpoint::new(Stack::new(tls, echo_server(MAX_MESSAGE)), Echo::default())
        })
        .await;
        messages_of_every_size(addr, Stack::new(certs.client(), ws_client(addr))).await;
    });
}
