//! `tungstenite_echo`: a WebSocket echo server on tokio-tungstenite (one `current_thread`
//! tokio runtime; with `--tls` over tokio-rustls with ring). Every text or binary message
//! comes back unchanged with its type (messages up to 64 MiB), with the echo loop of the
//! crate's own `examples/echo-server.rs`: `split`, filter to data messages, `forward` into
//! the sink (which feeds each echo and flushes only when no further message is ready).
//! tungstenite answers pings and the close handshake itself; after the close handshake the
//! server shuts down its sending side and drains input until the peer's end of stream.
//!
//! ```text
//! bench/peers/target/release/tungstenite_echo --addr 127.0.0.1:0 [--tls [--cert PEM --key PEM]]
//! ```
//!
//! Common flags and behaviour: see the crate's `lib.rs`. Driven by pipebuf's `load`.

use std::process::ExitCode;

use futures_util::{StreamExt, TryStreamExt, future};
use pipebuf_bench_peers::{Handler, MAX_MESSAGE, linger, run_tokio};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[derive(Clone, Debug)]
struct WsEcho;

impl Handler for WsEcho {
    async fn serve<S>(self, stream: S) -> Result<(), String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let ws = tokio_tungstenite::accept_async_with_config(stream, Some(config))
            .await
            .map_err(|e| format!("WebSocket handshake: {e}"))?;
        // The echo loop of tokio-tungstenite's own `examples/echo-server.rs`: split, drop
        // everything but data messages, `forward` the rest into the sink. `forward` feeds
        // (buffers) each message and flushes only when the source has nothing more ready, so
        // the echoes of all messages already read go out in one write (one TLS record
        // batch) instead of one write per message. Pings are answered, and the close frame
        // replied to, by tungstenite; the source ends (`None`) once the close handshake is
        // complete, and `forward` then closes the sink (a no-op after the handshake).
        let (mut sink, mut source) = ws.split();
        (&mut source)
            .try_filter(|message| future::ready(message.is_text() || message.is_binary()))
            .forward(&mut sink)
            .await
            .map_err(|e| format!("echo: {e}"))?;
        let mut ws = source
            .reunite(sink)
            .map_err(|_| "reunite: halves of different streams".to_string())?;
        // The server closes the TCP connection first after the close handshake (then
        // waits for the peer's end of stream).
        let stream = ws.get_mut();
        stream
            .shutdown()
            .await
            .map_err(|e| format!("shutdown: {e}"))?;
        linger(stream).await;
        Ok(())
    }
}

fn main() -> ExitCode {
    run_tokio(
        "tungstenite_echo",
        "tokio-tungstenite WebSocket echo server (with --tls: over tokio-rustls)",
        WsEcho,
    )
}
