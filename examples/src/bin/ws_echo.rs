//! `ws_echo`: TCP → WebSocket → echo. Every message comes back with its type; pings are
//! answered; the close handshake completes after the client's close frame. A plain HTTP
//! request gets `426 Upgrade Required`; a message over `--max-message` gets close code 1009.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin ws_echo -- --addr 127.0.0.1:9001
//! ```
//!
//! Flags: `--addr HOST:PORT` (default 127.0.0.1:9001; port 0 picks a free port),
//! `--threads N` (default 1), `--max-message BYTES` (default 64 MiB),
//! `--handshake-timeout SECS` (default 10, fractions allowed). Prints `listening on
//! HOST:PORT`; on SIGINT/SIGTERM open connections get close code 1000.
//!
//! Handshake deadline: a connection whose upgrade request is not complete and answered
//! within `--handshake-timeout` of its accept is dropped, however slowly it keeps sending
//! (a slowloris cannot hold a connection open).

use std::net::SocketAddr;
use std::process::ExitCode;

use pipebuf_examples::Flags;
use pipebuf_examples::ws::{echo_server_with_deadline, handshake_timeout_flag};
use pipebuf_mio::{Echo, Endpoint, Server};

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&["addr", "threads", "max-message", "handshake-timeout"])?;
    let addr: SocketAddr = flags.parse_or("addr", SocketAddr::from(([127, 0, 0, 1], 9001)))?;
    let max_message = flags.parse_or("max-message", 64 << 20)?;
    let handshake_timeout = handshake_timeout_flag(&flags)?;
    let server = Server::bind(addr).threads(flags.parse_or("threads", 1)?);
    pipebuf_examples::serve_until_signalled(server, move |_| {
        Some(Endpoint::new(
            echo_server_with_deadline(max_message, handshake_timeout),
            Echo::default(),
        ))
    })
}

fn main() -> ExitCode {
    pipebuf_examples::exit("ws_echo", run())
}
