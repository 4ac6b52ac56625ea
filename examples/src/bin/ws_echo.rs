//! `ws_echo`: TCP → WebSocket → echo. Every message comes back with its type (text or
//! binary); pings are answered; after the client's close frame the close handshake
//! completes and the connection ends. A plain HTTP request gets `426 Upgrade Required`.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin ws_echo -- --addr 127.0.0.1:9001
//! python3 -m websockets ws://127.0.0.1:9001/
//! ```
//!
//! Flags: `--addr HOST:PORT` (default 127.0.0.1:9001; port 0 picks a free port),
//! `--threads N` (default 1). Prints `listening on HOST:PORT`; exits cleanly on
//! SIGINT/SIGTERM (open connections get a close frame).

use std::net::SocketAddr;
use std::process::ExitCode;

use pipebuf_examples::Flags;
use pipebuf_examples::ws::{WsEcho, echo_config};
use pipebuf_mio::DriverConfig;

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&["addr", "threads"])?;
    let addr: SocketAddr = flags.parse_or("addr", SocketAddr::from(([127, 0, 0, 1], 9001)))?;
    let threads: usize = flags.parse_or("threads", 1)?;
    pipebuf_examples::server::run(addr, threads, DriverConfig::default(), || {
        Box::new(|_| WsEcho::new(None, echo_config()).ok())
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ws_echo: {e}");
            ExitCode::FAILURE
        }
    }
}
