//! The WebSocket echo chain shared by `ws_echo` and `wss_echo`: (TLS →) WebSocket → echo of
//! every message with its type.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pipebuf::{PBufRdWr, PipeBufPair};
use pipebuf_mio::{Chain, Context};
use pipebuf_rustls::{Tls, TlsError};
use pipebuf_websocket::{WebSocket, WsConfig, WsError, accept_all};

use crate::echo::Echo;

/// What ends a WebSocket echo connection with an error.
#[derive(Debug)]
pub enum WsEchoError {
    /// The TLS layer failed.
    Tls(TlsError),
    /// The WebSocket layer failed (the peer was told with a close frame or HTTP error).
    Ws(WsError),
    /// A buffer refused an operation (a bug).
    Buffer(pipebuf::Error),
}

impl fmt::Display for WsEchoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsEchoError::Tls(e) => write!(f, "{e}"),
            WsEchoError::Ws(e) => write!(f, "{e}"),
            WsEchoError::Buffer(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for WsEchoError {}

/// The answer to a plain HTTP request on the echo port.
const NOT_WEBSOCKET: &[u8] = b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n\
Sec-WebSocket-Version: 13\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// One connection: optional TLS, the WebSocket, and echo of the message records.
pub struct WsEcho {
    tls: Option<(Tls, PipeBufPair)>,
    ws: WebSocket,
    msgs: PipeBufPair,
    echo: Echo,
    /// The WebSocket's clock starts here.
    origin: Instant,
}

impl fmt::Debug for WsEcho {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsEcho")
            .field("ws", &self.ws)
            .finish_non_exhaustive()
    }
}

impl WsEcho {
    /// A chain for one accepted connection; with `tls`, a TLS server session under it.
    pub fn new(tls: Option<Arc<rustls::ServerConfig>>, config: WsConfig) -> Result<Self, TlsError> {
        let tls = match tls {
            Some(config) => Some((Tls::server(config)?, PipeBufPair::new())),
            None => None,
        };
        Ok(WsEcho {
            tls,
            ws: WebSocket::server(config, accept_all()),
            msgs: PipeBufPair::new(),
            echo: Echo::default(),
            origin: Instant::now(),
        })
    }

    /// One pass over the components at `now`; `net` is the connection's byte pair seen from
    /// above. Returns whether anything moved. What [`Chain::process`] runs, public for
    /// drivers other than pipebuf_mio's `Driver` (`embed_tokio`).
    pub fn step(&mut self, now: Instant, net: PBufRdWr<'_>) -> Result<bool, WsEchoError> {
        let now = now.saturating_duration_since(self.origin);
        let mut active = false;
        let bytes = match &mut self.tls {
            Some((tls, plain)) => {
                active |= tls.process(net, plain.lower()).map_err(WsEchoError::Tls)?;
                plain.upper()
            }
            None => net,
        };
        if self.ws.is_plain_http() {
            return Ok(active | crate::answer_http_and_close(bytes, &[NOT_WEBSOCKET]));
        }
        active |= self
            .ws
            .process(now, bytes, self.msgs.lower())
            .map_err(WsEchoError::Ws)?;
        active |= self
            .echo
            .step(self.msgs.upper())
            .map_err(WsEchoError::Buffer)?;
        Ok(active)
    }

    /// When [`step`](WsEcho::step) must run again even if no byte arrives (the WebSocket's
    /// handshake, keepalive and close timeouts).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.ws.next_deadline().map(|at| self.origin + at)
    }
}

impl Chain for WsEcho {
    type Msg = ();
    type Error = WsEchoError;

    fn process(
        &mut self,
        net: PBufRdWr<'_>,
        cx: &mut Context<'_, ()>,
    ) -> Result<bool, WsEchoError> {
        self.step(cx.now(), net)
    }

    fn close(&mut self, _: PBufRdWr<'_>) {
        self.echo.close();
    }

    fn next_deadline(&self) -> Option<Instant> {
        WsEcho::next_deadline(self)
    }

    fn release(&mut self) {
        if let Some((_, plain)) = &mut self.tls {
            plain.release();
        }
        self.msgs.release();
    }
}

/// The WebSocket settings the echo examples use: 64 MiB messages (what conformance suites
/// send), a 30 s idle keepalive.
pub fn echo_config() -> WsConfig {
    WsConfig {
        max_message: 64 * 1024 * 1024,
        keepalive: Some(Duration::from_secs(30)),
        ..WsConfig::default()
    }
}
