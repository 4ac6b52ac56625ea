//! The WebSocket settings of the echo servers.

use std::time::Duration;

use pipebuf_websocket::{HttpAnswer, WebSocket, WsConfig, accept_all};

/// An echo server's WebSocket: messages up to `max_message` bytes (larger ones fail with
/// close code 1009), a 30 s idle keepalive, and `426 Upgrade Required` for plain HTTP.
pub fn echo_server(max_message: usize) -> WebSocket {
    let config = WsConfig {
        max_message,
        keepalive: Some(Duration::from_secs(30)),
        ..WsConfig::default()
    };
    WebSocket::server(config, accept_all())
        .answer_plain_http(Box::new(|_| HttpAnswer::upgrade_required()))
}
