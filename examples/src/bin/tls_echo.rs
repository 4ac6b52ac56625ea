//! `tls_echo`: TCP → TLS → echo. Every byte comes back encrypted; after the peer's
//! close_notify everything is echoed, then our close_notify and FIN follow.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin tls_echo -- --addr 127.0.0.1:7443
//! openssl s_client -connect 127.0.0.1:7443 -quiet
//! ```
//!
//! Flags: `--addr HOST:PORT` (default 127.0.0.1:7443; port 0 picks a free port), `--cert PEM`
//! and `--key PEM` (default: a self-signed certificate for localhost/127.0.0.1 made at start),
//! `--threads N` (default 1). Prints `listening on HOST:PORT`; exits cleanly on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use pipebuf_examples::Flags;
use pipebuf_mio::{Echo, Endpoint, Server};
use pipebuf_rustls::Tls;

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&["addr", "cert", "key", "threads"])?;
    let addr: SocketAddr = flags.parse_or("addr", SocketAddr::from(([127, 0, 0, 1], 7443)))?;
    let config = pipebuf_examples::tls::server_config(
        flags.get("cert"),
        flags.get("key"),
        &Default::default(),
    )?;
    let server = Server::bind(addr).threads(flags.parse_or("threads", 1)?);
    pipebuf_examples::serve_until_signalled(server, move |_| {
        Some(Endpoint::new(
            Tls::server(Arc::clone(&config)).ok()?,
            Echo::default(),
        ))
    })
}

fn main() -> ExitCode {
    pipebuf_examples::exit("tls_echo", run())
}
