//! The tokio connection against real loopback sockets and in-memory pipes: byte-exact echo,
//! close and abort as FIN and RST, deadlines, failures that still reach the peer, and the
//! handle.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use ::tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};
use ::tokio::net::{TcpListener, TcpStream};
use ::tokio::task::JoinHandle;
use ::tokio::time::{Instant, timeout};
use pipebuf::{EofKind, PBufRdWr};
use pipebuf_websocket::{WebSocket, WsConfig, accept_all};

use super::{Connection, TokioStream, run};
use crate::{Chain, Context, DriverConfig, Echo, Endpoint, LeftReason, SendResult};

/// Runs a test on a runtime of its own (tokio's `macros` feature is not in the tree).
fn block_on<F: Future>(test: F) -> F::Output {
    ::tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .unwrap()
        .block_on(test)
}

/// The longest any step of a test may take before it counts as hung.
const LIMIT: Duration = Duration::from_secs(20);

/// A connected pair of loopback TCP streams: (the connection's, the peer's).
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (ours, _) = listener.accept().await.unwrap();
    (ours, peer)
}

/// Runs `chain` on `stream` in a task of its own.
fn spawn<T, C>(stream: T, chain: C) -> JoinHandle<LeftReason>
where
    T: TokioStream + Send + 'static,
    C: Chain + Send + 'static,
    C::Msg: Send,
{
    ::tokio::spawn(run(stream, chain))
}

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {LIMIT:?}"))
}

/// `len` bytes that differ from their neighbours, so a lost or repeated block shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 11) as u8)
        .collect()
}

/// Sends `data` and half-closes while reading everything back until the connection's end.
async fn echo_through<S>(peer: S, data: Vec<u8>) -> Vec<u8>
where
    S: ::tokio::io::AsyncRead + ::tokio::io::AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = ::tokio::io::split(peer);
    let writer = ::tokio::spawn(async move {
        wr.write_all(&data).await.unwrap();
        wr.shutdown().await.unwrap();
    });
    let mut back = Vec::new();
    rd.read_to_end(&mut back).await.unwrap();
    writer.await.unwrap();
    back
}

/// A chain that writes `text`, then ends its output with `end`, and reads its input to the
/// end (reporting it as one message).
struct Say {
    text: &'static [u8],
    end: EofKind,
    said: bool,
    heard: Vec<u8>,
}

impl Say {
    fn new(text: &'static [u8], end: EofKind) -> Self {
        Say {
            text,
            end,
            said: false,
            heard: Vec::new(),
        }
    }
}

impl Chain for Say {
    type Msg = Vec<u8>;
    type Error = pipebuf::Error;

    fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        cx: &mut Context<'_, Vec<u8>>,
    ) -> Result<bool, pipebuf::Error> {
        let mut active = false;
        if !self.said {
            self.said = true;
            net.wr.append(self.text)?;
            match self.end {
                EofKind::Close => net.wr.close(),
                EofKind::Abort => net.wr.abort(),
            }
            active = true;
        }
        if !net.rd.is_empty() {
            self.heard.extend_from_slice(net.rd.data());
            net.rd.consume_all();
            active = true;
        }
        if net.rd.consume_eof().is_some() {
            cx.emit(std::mem::take(&mut self.heard));
            active = true;
        }
        Ok(active)
    }
}

/// Reports what arrives; sends and closes through the default `Chain` methods.
struct Report;

impl Chain for Report {
    type Msg = Vec<u8>;
    type Error = pipebuf::Error;

    fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        cx: &mut Context<'_, Vec<u8>>,
    ) -> Result<bool, pipebuf::Error> {
        if !net.rd.is_empty() {
            cx.emit(net.rd.data().to_vec());
            net.rd.consume_all();
            return Ok(true);
        }
        Ok(net.rd.consume_eof().is_some())
    }
}

/// A broken chain: claims activity on every pass.
struct Spin;

impl Chain for Spin {
    type Msg = ();
    type Error = pipebuf::Error;

    fn process(
        &mut self,
        _: PBufRdWr<'_>,
        _: &mut Context<'_, ()>,
    ) -> Result<bool, pipebuf::Error> {
        Ok(true)
    }
}

#[test]
fn echo_over_tcp_returns_every_size_from_1_byte_to_1_mib_byte_exact() {
    block_on(async {
        for len in [1, 125, 126, 65_535, 65_536, 1 << 20] {
            let (ours, peer) = tcp_pair().await;
            let server = spawn(ours, Echo::default());
            let data = pattern(len);
            let back = within("the echo", echo_through(peer, data.clone())).await;
            assert_eq!(back.len(), len, "length of the echo of {len} bytes");
            assert!(back == data, "content of the echo of {len} bytes");
            let reason = within("the end", server).await.unwrap();
            assert!(matches!(reason, LeftReason::Closed), "{len}: {reason}");
        }
    });
}

#[test]
fn echo_over_an_in_memory_duplex_returns_1_mib_byte_exact_through_small_pipes() {
    block_on(async {
        // 1 KiB pipes and 4 KiB buffers: the whole path fills and drains a thousand times.
        let (ours, peer) = duplex(1024);
        let config = DriverConfig {
            buffer_min: 1024,
            buffer_max: 4096,
            ..DriverConfig::default()
        };
        let server = ::tokio::spawn(Connection::with_config(ours, Echo::default(), &config).run());
        let data = pattern(1 << 20);
        let back = within("the echo", echo_through(peer, data.clone())).await;
        assert_eq!(back.len(), data.len());
        assert!(back == data, "the echo differs");
        assert!(matches!(server.await.unwrap(), LeftReason::Closed));
    });
}

#[test]
fn a_close_reaches_the_tcp_peer_as_fin_and_leaves_the_other_direction_open() {
    block_on(async {
        let (ours, mut peer) = tcp_pair().await;
        let conn = Connection::new(ours, Say::new(b"bye", EofKind::Close));
        let handle = conn.handle();
        let server = ::tokio::spawn(conn.run());
        let mut got = Vec::new();
        // `read_to_end` ends with `Ok` only on a FIN.
        within("the FIN", peer.read_to_end(&mut got)).await.unwrap();
        assert_eq!(got, b"bye");
        // Half-closed: the connection still reads what the peer sends.
        peer.write_all(b"after your close").await.unwrap();
        peer.shutdown().await.unwrap();
        assert_eq!(
            within("the report", handle.recv()).await.unwrap(),
            b"after your close"
        );
        assert!(matches!(server.await.unwrap(), LeftReason::Closed));
    });
}

#[test]
fn an_abort_of_the_chain_reaches_the_tcp_peer_as_rst() {
    block_on(async {
        let (ours, mut peer) = tcp_pair().await;
        let server = spawn(ours, Say::new(b"dropped with the abort", EofKind::Abort));
        let mut got = Vec::new();
        let result = within("the RST", peer.read_to_end(&mut got)).await;
        let e = result.expect_err("an abort must not look like a clean end");
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
        assert!(got.is_empty(), "data queued before an abort is dropped");
        assert!(matches!(server.await.unwrap(), LeftReason::Aborted));
    });
}

#[test]
fn a_handle_abort_resets_the_tcp_peer() {
    block_on(async {
        let (ours, mut peer) = tcp_pair().await;
        let conn = Connection::new(ours, Echo::default());
        let handle = conn.handle();
        let server = ::tokio::spawn(conn.run());
        peer.write_all(b"ping").await.unwrap();
        let mut ping = [0; 4];
        within("the echo", peer.read_exact(&mut ping))
            .await
            .unwrap();
        handle.abort();
        let e = within("the RST", peer.read(&mut ping)).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
        assert!(matches!(server.await.unwrap(), LeftReason::Aborted));
        assert!(handle.is_finished());
        assert_eq!(handle.send("late").await, SendResult::Gone);
    });
}

#[test]
fn a_peer_reset_reaches_the_chain_as_an_abort() {
    block_on(async {
        let (ours, peer) = tcp_pair().await;
        let server = spawn(ours, Echo::default());
        socket2::SockRef::from(&peer)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(peer);
        assert!(matches!(
            within("the end", server).await.unwrap(),
            LeftReason::Aborted
        ));
    });
}

#[test]
fn a_websocket_handshake_deadline_ends_a_silent_peer_on_time() {
    block_on(async {
        let (ours, mut peer) = tcp_pair().await;
        let config = WsConfig {
            handshake_timeout: Duration::from_millis(300),
            ..WsConfig::default()
        };
        let ws = WebSocket::server(config, accept_all());
        let started = Instant::now();
        let server = spawn(ours, Endpoint::new(ws, Echo::default()));
        // The peer sends nothing: only the deadline can end the connection.
        let mut rest = Vec::new();
        let _ = within("the end seen by the peer", peer.read_to_end(&mut rest)).await;
        let waited = started.elapsed();
        // The connection, draining, waits for the peer's end as the mio driver does.
        drop(peer);
        let reason = within("the end", server).await.unwrap();
        assert!(
            matches!(&reason, LeftReason::ChainError(e) if e.to_string().contains("handshake took too long")),
            "{reason}"
        );
        assert!(
            waited >= Duration::from_millis(300),
            "ended early: {waited:?}"
        );
        assert!(waited < Duration::from_secs(5), "ended late: {waited:?}");
    });
}

/// An opening handshake for `ws://localhost/` with a fixed key.
const UPGRADE: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

#[test]
fn a_websocket_close_frame_1009_reaches_the_peer_before_the_connection_ends() {
    block_on(async {
        let (ours, mut peer) = tcp_pair().await;
        let config = WsConfig {
            max_message: 16,
            ..WsConfig::default()
        };
        let server = spawn(
            ours,
            Endpoint::new(WebSocket::server(config, accept_all()), Echo::default()),
        );
        // A masked binary frame announcing 100 bytes, over the 16-byte limit.
        let mut frame = vec![0x82, 0x80 | 100, 1, 2, 3, 4];
        frame.extend(std::iter::repeat_n(0, 100));
        peer.write_all(UPGRADE).await.unwrap();
        peer.write_all(&frame).await.unwrap();
        let mut got = Vec::new();
        within("the server's end", peer.read_to_end(&mut got))
            .await
            .unwrap();
        let head_end = got
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("the 101 response")
            + 4;
        assert!(got.starts_with(b"HTTP/1.1 101"), "{got:?}");
        assert_eq!(
            &got[head_end..],
            [0x88, 0x02, 0x03, 0xF1],
            "a close frame with 1009, then the FIN"
        );
        drop(peer);
        let reason = within("the end", server).await.unwrap();
        assert!(matches!(reason, LeftReason::ChainError(_)), "{reason}");
    });
}

#[test]
fn a_tls_alert_reaches_the_peer_before_the_connection_ends() {
    block_on(async {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());
        let config = pipebuf_rustls::config::server_config(
            cert.as_bytes(),
            key.as_bytes(),
            &Default::default(),
        )
        .unwrap();
        let tls = pipebuf_rustls::Tls::server(Arc::clone(&config)).unwrap();
        let (ours, mut peer) = tcp_pair().await;
        let server = spawn(ours, Endpoint::new(tls, Echo::default()));
        // Plain HTTP where a ClientHello belongs.
        peer.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        // The stream may end with a reset after the alert; what arrived before counts.
        let _ = within("the server's end", peer.read_to_end(&mut got)).await;
        assert_eq!(got.first(), Some(&0x15), "a TLS alert record: {got:?}");
        drop(peer);
        let reason = within("the end", server).await.unwrap();
        assert!(matches!(reason, LeftReason::ChainError(_)), "{reason}");
    });
}

#[test]
fn a_handle_sends_into_the_chain_receives_what_it_emits_and_closes_it() {
    block_on(async {
        let (ours, mut peer) = duplex(64 * 1024);
        let conn = Connection::new(ours, Report);
        let handle = conn.handle();
        let task = ::tokio::spawn(conn.run());
        assert_eq!(handle.send("to the peer").await, SendResult::Sent);
        let mut got = [0; 11];
        within("the send", peer.read_exact(&mut got)).await.unwrap();
        assert_eq!(&got, b"to the peer");
        peer.write_all(b"to the app").await.unwrap();
        let mut received = Vec::new();
        while received.len() < 10 {
            received.extend(within("the message", handle.recv()).await.unwrap());
        }
        assert_eq!(received, b"to the app");
        handle.close();
        let mut rest = Vec::new();
        within("the close", peer.read_to_end(&mut rest))
            .await
            .unwrap();
        assert!(rest.is_empty());
        peer.shutdown().await.unwrap();
        assert!(matches!(task.await.unwrap(), LeftReason::Closed));
        assert_eq!(handle.recv().await, None);
        assert_eq!(handle.send("late").await, SendResult::Gone);
    });
}

#[test]
fn a_handle_sender_waits_while_the_chain_is_full_and_loses_nothing() {
    block_on(async {
        let (ours, mut peer) = duplex(4096);
        let config = DriverConfig {
            buffer_min: 4096,
            buffer_max: 16 * 1024,
            ..DriverConfig::default()
        };
        let conn = Connection::with_config(ours, Report, &config);
        let handle = conn.handle();
        let task = ::tokio::spawn(conn.run());
        let data = pattern(1 << 20);
        let sender = {
            let (handle, data) = (handle.clone(), data.clone());
            ::tokio::spawn(async move {
                for block in data.chunks(4096) {
                    assert_eq!(handle.send(block.to_vec()).await, SendResult::Sent);
                }
                handle.close();
            })
        };
        // The peer reads nothing yet: 20 KiB fit on the way, the sender waits for the rest.
        ::tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !sender.is_finished(),
            "a full chain must hold the sender back"
        );
        let mut back = Vec::new();
        within("the transfer", peer.read_to_end(&mut back))
            .await
            .unwrap();
        assert!(back == data, "the sent stream differs");
        sender.await.unwrap();
        peer.shutdown().await.unwrap();
        assert!(matches!(task.await.unwrap(), LeftReason::Closed));
    });
}

#[test]
fn a_chain_that_never_settles_is_aborted_instead_of_spinning() {
    block_on(async {
        let (ours, mut peer) = tcp_pair().await;
        let config = DriverConfig {
            max_passes: 100,
            ..DriverConfig::default()
        };
        let reason = within(
            "the abort",
            Connection::with_config(ours, Spin, &config).run(),
        )
        .await;
        assert!(matches!(reason, LeftReason::Unsettled), "{reason}");
        let e = peer.read(&mut [0; 8]).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
    });
}

#[test]
fn a_quiet_connection_leaves_after_the_idle_timeout() {
    block_on(async {
        let (ours, _peer): (DuplexStream, DuplexStream) = duplex(1024);
        let config = DriverConfig {
            idle_timeout: Some(Duration::from_millis(100)),
            ..DriverConfig::default()
        };
        let started = Instant::now();
        let reason = within(
            "the timeout",
            Connection::with_config(ours, Echo::default(), &config).run(),
        )
        .await;
        assert!(matches!(reason, LeftReason::IdleTimeout), "{reason}");
        assert!(started.elapsed() >= Duration::from_millis(100));
    });
}

#[test]
fn each_connection_gets_its_own_id() {
    block_on(async {
        let (a, _) = duplex(16);
        let (b, _) = duplex(16);
        let (a, b) = (
            Connection::new(a, Echo::default()),
            Connection::new(b, Echo::default()),
        );
        assert_ne!(a.id(), b.id());
        assert_eq!(a.handle().id(), a.id());
    });
}
