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

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use pipebuf_examples::cli::{Args, Error, Flag, Program};
use pipebuf_mio::{Echo, Endpoint, Server};
use pipebuf_rustls::Tls;

/// The command line.
static CLI: Program = Program {
    name: "tls_echo",
    about: "TCP → TLS → echo: every byte comes back encrypted; after the peer's close_notify \
            everything is echoed, then our close_notify and FIN follow. Prints `listening on \
            HOST:PORT` on stdout; SIGINT/SIGTERM stop it cleanly.",
    operand: None,
    flags: &[
        Flag::value(
            "addr",
            "HOST:PORT",
            "Where to listen; port 0 picks a free port.",
        )
        .default("127.0.0.1:7443"),
        Flag::value("cert", "PEM", "Certificate chain to serve (with --key).")
            .default_text("a self-signed certificate for localhost/127.0.0.1 made at start"),
        Flag::value("key", "PEM", "Private key of --cert.").default_text("the self-signed one's"),
        Flag::value(
            "threads",
            "N",
            "Event loops; N loops share the port through SO_REUSEPORT.",
        )
        .default("1"),
    ],
    examples: &[
        "tls_echo --addr 127.0.0.1:7443",
        "tls_echo --addr 127.0.0.1:0 --cert cert.pem --key key.pem --threads 2",
    ],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    let addr: SocketAddr = args.get("addr")?;
    let config = pipebuf_examples::tls::server_config(
        args.text("cert"),
        args.text("key"),
        &Default::default(),
    )?;
    let server = Server::bind(addr).threads(args.get("threads")?);
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
