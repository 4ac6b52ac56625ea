//! `wss_echo`: TCP → TLS → WebSocket → echo. Like `ws_echo`, over TLS.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin wss_echo -- --addr 127.0.0.1:9443
//! ```
//!
//! Flags: `--addr HOST:PORT` (default 127.0.0.1:9443; port 0 picks a free port), `--cert PEM`
//! and `--key PEM` (default: a self-signed certificate for localhost/127.0.0.1 made at start),
//! `--threads N` (default 1), `--max-message BYTES` (default 64 MiB),
//! `--handshake-timeout SECS` (default 10, fractions allowed), `--tls-api buffered|unbuffered`
//! (the rustls API under the TLS layer, default buffered; see `pipebuf_rustls::RustlsApi`).
//! Prints `listening on
//! HOST:PORT`; on SIGINT/SIGTERM open connections get close code 1000.
//!
//! Handshake deadline: a connection whose TLS handshake *and* upgrade request are not both
//! complete within `--handshake-timeout` of its accept is dropped, however slowly it keeps
//! sending (the WebSocket's deadline runs from the connection's first turn, while TLS
//! below it is still handshaking).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use pipebuf::Stack;
use pipebuf_examples::Flags;
use pipebuf_examples::ws::{echo_server_with_deadline, handshake_timeout_flag};
use pipebuf_mio::{Echo, Endpoint, Server};
use pipebuf_rustls::{RustlsApi, Tls};

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&[
        "addr",
        "cert",
        "key",
        "threads",
        "max-message",
        "handshake-timeout",
        "tls-api",
    ])?;
    let api = match flags.get("tls-api") {
        None | Some("buffered") => RustlsApi::Buffered,
        Some("unbuffered") => RustlsApi::Unbuffered,
        Some(other) => {
            return Err(format!(
                "--tls-api {other:?}: expected buffered or unbuffered"
            ));
        }
    };
    let addr: SocketAddr = flags.parse_or("addr", SocketAddr::from(([127, 0, 0, 1], 9443)))?;
    let max_message = flags.parse_or("max-message", 64 << 20)?;
    let handshake_timeout = handshake_timeout_flag(&flags)?;
    let tls = pipebuf_examples::tls::server_config(
        flags.get("cert"),
        flags.get("key"),
        &Default::default(),
    )?;
    let server = Server::bind(addr).threads(flags.parse_or("threads", 1)?);
    pipebuf_examples::serve_until_signalled(server, move |_| {
        let stack = Stack::new(
            Tls::server_using(Arc::clone(&tls), api).ok()?,
            echo_server_with_deadline(max_message, handshake_timeout),
        );
        Some(Endpoint::new(stack, Echo::default()))
    })
}

fn main() -> ExitCode {
    pipebuf_examples::exit("wss_echo", run())
}
