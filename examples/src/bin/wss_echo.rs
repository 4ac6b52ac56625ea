//! `wss_echo`: TCP → TLS → WebSocket → echo. Like `ws_echo`, over TLS.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin wss_echo -- --addr 127.0.0.1:9443
//! ```
//!
//! Flags: see `wss_echo --help` ([`CLI`]); `--tls-api` picks the rustls API under the TLS
//! layer (see `pipebuf_rustls::RustlsApi`). Prints `listening on HOST:PORT`; on
//! SIGINT/SIGTERM open connections get close code 1000.
//!
//! Compression: with `--deflate`, a client's permessage-deflate offer (RFC 7692) is
//! accepted; `--deflate-context reset` asks for no context takeover both ways.
//!
//! Handshake deadline: a connection whose TLS handshake *and* upgrade request are not both
//! complete within `--handshake-timeout` of its accept is dropped, however slowly it keeps
//! sending (the WebSocket's deadline runs from the connection's first turn, while TLS
//! below it is still handshaking).

use std::process::ExitCode;
use std::sync::Arc;

use pipebuf::Stack;
use pipebuf_examples::cli::flags::{
    CERT, KEY, MAX_MESSAGE, THREADS, handshake_timeout, listen_addr, server, tls_server_config,
};
use pipebuf_examples::cli::{Args, Error, Flag, Program};
use pipebuf_examples::deflate::{DEFLATE, DEFLATE_CONTEXT, deflate_config};
use pipebuf_examples::ws::echo_server_with_deadline;
use pipebuf_mio::{Echo, Endpoint};
use pipebuf_rustls::{RustlsApi, Tls};

/// The command line.
static CLI: Program = Program {
    name: "wss_echo",
    about: "TCP → TLS → WebSocket → echo: ws_echo over TLS. Every message comes back with \
            its type, pings are answered, the close handshake completes after the client's \
            close frame. Prints `listening on HOST:PORT` on stdout; on SIGINT/SIGTERM open \
            connections get close code 1000.",
    operand: None,
    flags: &[
        listen_addr("127.0.0.1:9443"),
        CERT,
        KEY,
        THREADS,
        MAX_MESSAGE,
        handshake_timeout(
            "A connection whose TLS handshake and upgrade request are not both complete this long after its accept \
             is dropped, however slowly it keeps sending (fractions allowed).",
        ),
        Flag::value(
            "tls-api",
            "buffered|unbuffered",
            "The rustls API under the TLS layer.",
        )
        .default("buffered"),
        DEFLATE,
        DEFLATE_CONTEXT,
    ],
    examples: &[
        "wss_echo --addr 127.0.0.1:9443",
        "wss_echo --addr 127.0.0.1:0 --cert cert.pem --key key.pem --tls-api unbuffered",
        "wss_echo --addr 127.0.0.1:0 --deflate",
    ],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    let api = args.choice(
        "tls-api",
        &[
            ("buffered", RustlsApi::Buffered),
            ("unbuffered", RustlsApi::Unbuffered),
        ],
    )?;
    let max_message: usize = args.get("max-message")?;
    let handshake_timeout = args.secs("handshake-timeout")?;
    let deflate = deflate_config(args)?;
    let tls = tls_server_config(args)?;
    let server = server(args)?;
    Ok(pipebuf_examples::serve_until_signalled(
        server,
        move |_| {
            let stack = Stack::new(
                Tls::server_using(Arc::clone(&tls), api).ok()?,
                echo_server_with_deadline(max_message, handshake_timeout, deflate),
            );
            Some(Endpoint::new(stack, Echo::default()))
        },
    )?)
}

fn main() -> ExitCode {
    CLI.main(run)
}
