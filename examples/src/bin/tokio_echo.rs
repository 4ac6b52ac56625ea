//! `tokio_echo`: the idiomatic tokio echo server on a `current_thread` runtime (one thread):
//! the baseline that `scripts/bench-tcp.sh` compares `tcp_echo --threads 1` against.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin tokio_echo -- --addr 127.0.0.1:0
//! ```
//!
//! Flags: see `tokio_echo --help` ([`CLI`]). Prints `listening on HOST:PORT` once it accepts connections. Each connection is one task running
//! `tokio::io::copy` (an 8 KiB buffer per connection, held for the connection's life) from
//! the socket's read half to its write half, then `shutdown()` after the peer's end of
//! stream. Exits on SIGINT/SIGTERM (connections still open are dropped).

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pipebuf_examples::cli::flags::listen_addr;
use pipebuf_examples::cli::{Args, Error, Program};
use pipebuf_examples::stop_on_signals;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// Echoes until the peer's end of stream, then half-closes.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (mut rd, mut wr) = stream.split();
    tokio::io::copy(&mut rd, &mut wr).await?;
    wr.shutdown().await
}

async fn serve(listener: TcpListener, stop: Arc<AtomicBool>) {
    loop {
        let accepted = listener.accept().await;
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(async move {
                    let _ = echo(stream).await;
                });
            }
            // Out of file descriptors, aborted handshakes and the like: keep serving.
            Err(e) => {
                eprintln!("tokio_echo: accept: {e}");
                tokio::task::yield_now().await;
            }
        }
    }
}

/// The command line.
static CLI: Program = Program {
    name: "tokio_echo",
    about: "the idiomatic tokio echo server on a current_thread runtime (one thread), one \
            task per connection running tokio::io::copy: the baseline that \
            scripts/bench-tcp.sh compares `tcp_echo --threads 1` against. Prints `listening \
            on HOST:PORT` on stdout; exits on SIGINT/SIGTERM.",
    operand: None,
    flags: &[listen_addr("127.0.0.1:7007")],
    examples: &["tokio_echo --addr 127.0.0.1:0"],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    let addr: SocketAddr = args.get("addr")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("local address: {e}"))?;
        let stop = stop_on_signals(move || {
            let _ = std::net::TcpStream::connect(bound);
        })
        .map_err(|e| format!("signals: {e}"))?;
        println!("listening on {bound}");
        serve(listener, stop).await;
        Ok(())
    })
}

fn main() -> ExitCode {
    CLI.main(run)
}
