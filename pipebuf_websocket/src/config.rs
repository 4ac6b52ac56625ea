//! Limits and timers of a [`WebSocket`](crate::WebSocket).

use core::time::Duration;

use crate::handshake::HandshakeLimits;

/// Limits and timers of a [`WebSocket`](crate::WebSocket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsConfig {
    /// Largest message accepted, in bytes (all its frames together); a larger one fails the
    /// connection with 1009 as soon as a frame header announces it. Messages stream to the
    /// application in chunks, so this bounds the peer, not the component's memory.
    pub max_message: usize,
    /// Limits on the opening handshake's HTTP head.
    pub handshake: HandshakeLimits,
    /// The opening handshake must complete within this time from the first `process` call
    /// (a peer that connects and sends nothing, or too slowly, is dropped). Under TLS in a
    /// [`Stack`](pipebuf::Stack) the WebSocket is called from the connection's first turn,
    /// while TLS still handshakes, so this deadline covers the TLS handshake too: a peer that
    /// dribbles its ClientHello is cut like one that dribbles its upgrade request.
    pub handshake_timeout: Duration,
    /// Send a ping after this long without hearing from the peer.
    pub keepalive: Option<Duration>,
    /// Fail the connection (1001) after this long without hearing from the peer.
    pub idle_timeout: Option<Duration>,
    /// How long a close handshake may take before the byte side is aborted.
    pub close_timeout: Duration,
    /// permessage-deflate (RFC 7692): `None` declines it (the default), `Some` offers it
    /// (client) or accepts offers it can honour (server). See [`crate::deflate`].
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            max_message: 16 * 1024 * 1024,
            handshake: HandshakeLimits::default(),
            handshake_timeout: Duration::from_secs(10),
            keepalive: None,
            idle_timeout: None,
            close_timeout: Duration::from_secs(5),
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }
}
