//! `tokio_tls_echo`: the idiomatic tokio + tokio-rustls (ring) TLS echo server on a
//! `current_thread` runtime (one thread): the baseline that `scripts/bench-tls.sh` compares
//! `tls_echo --threads 1` against.
//!
//! ```text
//! cargo run --release -p pipebuf_examples --bin tokio_tls_echo -- --addr 127.0.0.1:0
//! cargo run --release -p pipebuf_examples --bin echo_load -- --tls --addr 127.0.0.1:PORT
//! ```
//!
//! Flags: see `tokio_tls_echo --help` ([`CLI`]); the same rustls config as `tls_echo`. Prints `listening on HOST:PORT` once it accepts
//! connections. Each connection is one task: the TLS handshake, then `tokio::io::copy` (an
//! 8 KiB buffer per connection) from the stream's read half to its write half until the
//! peer's close_notify, then `shutdown()` (our close_notify, then the TCP FIN). Exits on
//! SIGINT/SIGTERM (connections still open are dropped).

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pipebuf_examples::cli::flags::{CERT, KEY, listen_addr, tls_server_config};
use pipebuf_examples::cli::{Args, Error, Program};
use pipebuf_examples::stop_on_signals;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// Handshakes, echoes until the peer's close_notify, then closes.
async fn echo(acceptor: TlsAcceptor, stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let tls = acceptor.accept(stream).await?;
    let (mut rd, mut wr) = tokio::io::split(tls);
    tokio::io::copy(&mut rd, &mut wr).await?;
    wr.shutdown().await
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, stop: Arc<AtomicBool>) {
    loop {
        let accepted = listener.accept().await;
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, _)) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = echo(acceptor, stream).await;
                });
            }
            // Out of file descriptors, aborted handshakes and the like: keep serving.
            Err(e) => {
                eprintln!("tokio_tls_echo: accept: {e}");
                tokio::task::yield_now().await;
            }
        }
    }
}

/// The command line.
static CLI: Program = Program {
    name: "tokio_tls_echo",
    about: "the idiomatic tokio + tokio-rustls (ring) TLS echo server on a current_thread \
            runtime (one thread), one task per connection: the baseline that \
            scripts/bench-tls.sh compares `tls_echo --threads 1` against. Prints `listening \
            on HOST:PORT` on stdout; exits on SIGINT/SIGTERM.",
    operand: None,
    flags: &[listen_addr("127.0.0.1:7443"), CERT, KEY],
    examples: &["tokio_tls_echo --addr 127.0.0.1:0"],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    let addr: SocketAddr = args.get("addr")?;
    let config = tls_server_config(args)?;
    let acceptor = TlsAcceptor::from(config);
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
        serve(listener, acceptor, stop).await;
        Ok(())
    })
}

fn main() -> ExitCode {
    CLI.main(run)
}
