//! `wss_echo`: TCP → TLS → WebSocket → echo. Like `ws_echo`, over TLS.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin wss_echo -- --addr 127.0.0.1:9443
//! ```
//!
//! Flags: `--addr HOST:PORT` (default 127.0.0.1:9443; port 0 picks a free port), `--cert PEM`
//! and `--key PEM` (default: a self-signed certificate for localhost/127.0.0.1 made at start),
//! `--threads N` (default 1). Prints `listening on HOST:PORT`; exits cleanly on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use pipebuf_examples::Flags;
use pipebuf_examples::ws::{WsEcho, echo_config};
use pipebuf_mio::DriverConfig;

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&["addr", "cert", "key", "threads"])?;
    let addr: SocketAddr = flags.parse_or("addr", SocketAddr::from(([127, 0, 0, 1], 9443)))?;
    let threads: usize = flags.parse_or("threads", 1)?;
    let config = pipebuf_examples::tls::server_config(
        flags.get("cert"),
        flags.get("key"),
        &Default::default(),
    )?;
    pipebuf_examples::server::run(addr, threads, DriverConfig::default(), || {
        let config = Arc::clone(&config);
        Box::new(move |_| WsEcho::new(Some(Arc::clone(&config)), echo_config()).ok())
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wss_echo: {e}");
            ExitCode::FAILURE
        }
    }
}
