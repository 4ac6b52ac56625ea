//! The WebSocket settings of the echo servers.

use std::time::Duration;

use pipebuf_websocket::deflate::DeflateConfig;
use pipebuf_websocket::{HttpAnswer, WebSocket, WsConfig, accept_all};

/// An echo server's WebSocket: messages up to `max_message` bytes (larger ones fail with
/// close code 1009), a 30 s idle keepalive, `426 Upgrade Required` for plain HTTP, the
/// default handshake deadline ([`WsConfig::handshake_timeout`], 10 s), and no compression.
pub fn echo_server(max_message: usize) -> WebSocket {
    echo_server_with_deadline(max_message, WsConfig::default().handshake_timeout, None)
}

/// [`echo_server`] whose opening handshake must complete within `handshake_timeout` of the
/// connection's first turn (its accept), or the connection is dropped. Under TLS in a
/// [`Stack`](pipebuf::Stack) the WebSocket runs from that first turn too, so the deadline
/// covers the TLS handshake as well: a peer that dribbles its ClientHello is cut at the
/// same time as one that dribbles its upgrade request.
///
/// With `deflate`, a client's permessage-deflate offer is accepted when it can be honoured
/// (`--deflate`, [`crate::deflate`]); `max_message` then bounds the inflated size.
pub fn echo_server_with_deadline(
    max_message: usize,
    handshake_timeout: Duration,
    deflate: Option<DeflateConfig>,
) -> WebSocket {
    let config = WsConfig {
        max_message,
        handshake_timeout,
        keepalive: Some(Duration::from_secs(30)),
        deflate,
        ..WsConfig::default()
    };
    WebSocket::server(config, accept_all())
        .answer_plain_http(Box::new(|_| HttpAnswer::upgrade_required()))
}
