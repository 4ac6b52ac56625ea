//! `http_page`: `wss_chat`'s page over plain HTTP/1.1, and nothing else: `GET /` (or
//! `HEAD /`) gets the page as `text/html`, any other request `404`. Connections are kept
//! alive and pipelined requests answered in order (`pipebuf_websocket::http`'s
//! [`HttpServer`] with a handler, right on the TCP link). The server of the HTTP/1.1
//! benchmark (`scripts/bench-http.sh`).
//!
//! ```text
//! cargo run --release -p pipebuf_examples --bin http_page -- --addr 127.0.0.1:8080
//! curl http://127.0.0.1:8080/
//! ```
//!
//! Flags: see `http_page --help` ([`CLI`]). Prints `listening on HOST:PORT` once it accepts
//! connections; exits cleanly on SIGINT/SIGTERM, finishing the responses in progress.

use std::process::ExitCode;

use pipebuf_examples::cli::flags::{THREADS, listen_addr, server};
use pipebuf_examples::cli::{Args, Error, Program};
use pipebuf_examples::page;
use pipebuf_mio::{Echo, Endpoint};
use pipebuf_websocket::http::{HttpConfig, HttpServer, Response};

/// The command line.
static CLI: Program = Program {
    name: "http_page",
    about: "serves wss_chat's page over plain HTTP/1.1: GET / gets the page (text/html), \
            anything else 404; keep-alive and pipelining. Prints `listening on HOST:PORT` \
            on stdout once it accepts connections; SIGINT/SIGTERM stop it cleanly.",
    operand: None,
    flags: &[listen_addr("127.0.0.1:8080"), THREADS],
    examples: &[
        "http_page --addr 127.0.0.1:8080",
        "http_page --addr 127.0.0.1:0 --threads 2",
    ],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    let server = server(args)?;
    Ok(pipebuf_examples::serve_until_signalled(server, |_| {
        let http = HttpServer::with_handler(
            HttpConfig::default(),
            Box::new(|request| {
                page::response(request).unwrap_or_else(|| Response::text(404, "Not found\n"))
            }),
        );
        // With a handler the record pair above the server carries no requests; `Echo` only
        // passes the server's end back and, on SIGINT/SIGTERM, closes its side, which ends
        // each connection after its response in progress.
        Some(Endpoint::new(http, Echo::default()))
    })?)
}

fn main() -> ExitCode {
    CLI.main(run)
}
