//! `tls_echo`: TCP → TLS → echo. Every byte comes back encrypted; after the peer's
//! close_notify everything is echoed, then our close_notify and FIN follow.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin tls_echo -- --addr 127.0.0.1:7443
//! openssl s_client -connect 127.0.0.1:7443 -quiet
//! ```
//!
//! Flags: see `tls_echo --help` ([`CLI`]). Prints `listening on HOST:PORT`; exits cleanly
//! on SIGINT/SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use pipebuf_examples::cli::flags::{CERT, KEY, THREADS, listen_addr, server, tls_server_config};
use pipebuf_examples::cli::{Args, Error, Program};
use pipebuf_mio::{Echo, Endpoint};
use pipebuf_rustls::Tls;

/// The command line.
static CLI: Program = Program {
    name: "tls_echo",
    about: "TCP → TLS → echo: every byte comes back encrypted; after the peer's close_notify \
            everything is echoed, then our close_notify and FIN follow. Prints `listening on \
            HOST:PORT` on stdout; SIGINT/SIGTERM stop it cleanly.",
    operand: None,
    flags: &[listen_addr("127.0.0.1:7443"), CERT, KEY, THREADS],
    examples: &[
        "tls_echo --addr 127.0.0.1:7443",
        "tls_echo --addr 127.0.0.1:0 --cert cert.pem --key key.pem --threads 2",
    ],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    let config = tls_server_config(args)?;
    let server = server(args)?;
    Ok(pipebuf_examples::serve_until_signalled(
        server,
        move |_| {
            Some(Endpoint::new(
                Tls::server(Arc::clone(&config)).ok()?,
                Echo::default(),
            ))
        },
    )?)
}

fn main() -> ExitCode {
    CLI.main(run)
}
