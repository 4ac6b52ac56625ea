//! `ws_echo`: TCP → WebSocket → echo. Every message comes back with its type; pings are
//! answered; the close handshake completes after the client's close frame. A plain HTTP
//! request gets `426 Upgrade Required`; a message over `--max-message` gets close code 1009.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin ws_echo -- --addr 127.0.0.1:9001
//! ```
//!
//! Flags: see `ws_echo --help` ([`CLI`]). Prints `listening on HOST:PORT`; on SIGINT/SIGTERM
//! open connections get close code 1000.
//!
//! Compression: with `--deflate`, a client's permessage-deflate offer (RFC 7692) is
//! accepted; `--deflate-context reset` asks for no context takeover both ways.
//!
//! Handshake deadline: a connection whose upgrade request is not complete and answered
//! within `--handshake-timeout` of its accept is dropped, however slowly it keeps sending
//! (a slowloris cannot hold a connection open).

use std::process::ExitCode;

use pipebuf_examples::cli::flags::{MAX_MESSAGE, THREADS, handshake_timeout, listen_addr, server};
use pipebuf_examples::cli::{Args, Error, Program};
use pipebuf_examples::deflate::{DEFLATE, DEFLATE_CONTEXT, deflate_config};
use pipebuf_examples::ws::echo_server_with_deadline;
use pipebuf_mio::{Echo, Endpoint};

/// The command line.
static CLI: Program = Program {
    name: "ws_echo",
    about: "TCP → WebSocket → echo: every message comes back with its type, pings are \
            answered, the close handshake completes after the client's close frame; a plain \
            HTTP request gets 426 Upgrade Required. Prints `listening on HOST:PORT` on \
            stdout; on SIGINT/SIGTERM open connections get close code 1000.",
    operand: None,
    flags: &[
        listen_addr("127.0.0.1:9001"),
        THREADS,
        MAX_MESSAGE,
        handshake_timeout(
            "A connection whose opening handshake is not complete this long after its accept \
             is dropped, however slowly it keeps sending (fractions allowed).",
        ),
        DEFLATE,
        DEFLATE_CONTEXT,
    ],
    examples: &[
        "ws_echo --addr 127.0.0.1:9001",
        "ws_echo --addr 127.0.0.1:0 --max-message 1048576 --handshake-timeout 2.5",
        "ws_echo --addr 127.0.0.1:0 --deflate --deflate-context reset",
    ],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    let max_message: usize = args.get("max-message")?;
    let handshake_timeout = args.secs("handshake-timeout")?;
    let deflate = deflate_config(args)?;
    let server = server(args)?;
    Ok(pipebuf_examples::serve_until_signalled(
        server,
        move |_| {
            Some(Endpoint::new(
                echo_server_with_deadline(max_message, handshake_timeout, deflate),
                Echo::default(),
            ))
        },
    )?)
}

fn main() -> ExitCode {
    CLI.main(run)
}
