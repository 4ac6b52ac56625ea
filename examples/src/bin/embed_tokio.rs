//! `embed_tokio`: a pipebuf chain on tokio instead of a mio event loop: a WebSocket echo
//! server (TCP → `WebSocket` → echo: `ws_echo`'s chain, an `Endpoint` of the layer
//! `pipebuf_examples::ws::echo_server` and `pipebuf_mio::Echo`), one tokio task per
//! connection. For users who live in async/await: the components stay sans-IO, and
//! `pipebuf_mio::tokio::run` is the driver.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin embed_tokio -- --addr 127.0.0.1:9002
//! cargo run -p pipebuf_examples --bin wss_client -- ws://127.0.0.1:9002/
//! ```
//!
//! The chain is the very value `ws_echo` gives its mio server, so everything the mio driver
//! guarantees holds here too (`pipebuf_mio::tokio::Connection` says how): reading and
//! writing at once, the WebSocket's deadlines (handshake, keepalive, close), a close frame
//! 1009 delivered before the connection ends, close as FIN and abort as RST.
//!
//! Why the plain-TCP WebSocket and not TLS: TLS is one more layer in the same value
//! (`Endpoint::new(Stack::new(Tls::server(config)?, echo_server(..)), Echo::default())`,
//! as `wss_echo` builds it) and changes nothing in the task.
//!
//! Flags: see `embed_tokio --help` ([`CLI`]). Prints `listening on HOST:PORT`; exits with
//! status 0 on SIGINT/SIGTERM (connections still open are dropped). Every message comes back
//! with its type; pings are answered; a plain HTTP request gets `426 Upgrade Required`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pipebuf_examples::cli::flags::listen_addr;
use pipebuf_examples::cli::{Args, Error, Program};
use pipebuf_examples::stop_on_signals;
use pipebuf_examples::ws::echo_server;
use pipebuf_mio::{Echo, Endpoint};
use tokio::net::TcpListener;

/// The largest message echoed (what conformance suites send); larger ones fail with close
/// code 1009.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

async fn accept_loop(listener: TcpListener, stop: Arc<AtomicBool>) {
    loop {
        let accepted = listener.accept().await;
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, _)) => {
                // Small writes go out at once: the chain batches, its push says when.
                let _ = stream.set_nodelay(true);
                let chain = Endpoint::new(echo_server(MAX_MESSAGE), Echo::default());
                tokio::spawn(pipebuf_mio::tokio::run(stream, chain));
            }
            // Out of file descriptors and the like: keep serving.
            Err(e) => {
                eprintln!("embed_tokio: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The command line.
static CLI: Program = Program {
    name: "embed_tokio",
    about: "a pipebuf chain driven from tokio instead of a mio event loop: a WebSocket echo \
            server (TCP → WebSocket → echo), one tokio task per connection running \
            pipebuf_mio::tokio::run. Prints `listening on HOST:PORT` on stdout; exits on \
            SIGINT/SIGTERM.",
    operand: None,
    flags: &[listen_addr("127.0.0.1:9002")],
    examples: &[
        "embed_tokio --addr 127.0.0.1:9002",
        "wss_client ws://127.0.0.1:9002/",
    ],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    let addr: SocketAddr = args.get("addr")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("local address: {e}"))?;
        // The signal thread wakes the accept with a connection of its own.
        let stop = stop_on_signals(move || {
            let _ = std::net::TcpStream::connect(bound);
        })
        .map_err(|e| format!("signals: {e}"))?;
        println!("listening on {bound}");
        accept_loop(listener, stop).await;
        Ok(())
    })
}

fn main() -> ExitCode {
    CLI.main(run)
}
