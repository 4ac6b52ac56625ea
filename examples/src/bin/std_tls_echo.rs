//! `std_tls_echo`: a plain blocking `std::net` + rustls TLS echo server, one thread per
//! connection, each running a rustls `StreamOwned`: the baseline that `scripts/bench-tls.sh`
//! compares `tls_echo` against.
//!
//! ```text
//! cargo run --release -p pipebuf_examples --bin std_tls_echo -- --addr 127.0.0.1:0
//! cargo run --release -p pipebuf_examples --bin echo_load -- --tls --addr 127.0.0.1:PORT
//! ```
//!
//! Flags: see `std_tls_echo --help` ([`CLI`]); the same rustls config as `tls_echo`. Prints `listening on HOST:PORT` once it accepts
//! connections, echoes every byte through a 16 KiB plaintext buffer per connection, and after
//! the peer's close_notify sends its own close_notify and shuts down its sending side. Exits
//! on SIGINT/SIGTERM (connections still open are dropped).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use pipebuf_examples::cli::flags::{CERT, KEY, listen_addr, tls_server_config};
use pipebuf_examples::cli::{Args, Error, Program};
use pipebuf_examples::stop_on_signals;
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// The command line.
static CLI: Program = Program {
    name: "std_tls_echo",
    about: "a plain blocking std::net + rustls TLS echo server, one thread per connection, \
            each running a rustls StreamOwned: the baseline that scripts/bench-tls.sh \
            compares tls_echo against. Prints `listening on HOST:PORT` on stdout; exits on \
            SIGINT/SIGTERM.",
    operand: None,
    flags: &[listen_addr("127.0.0.1:7443"), CERT, KEY],
    examples: &["std_tls_echo --addr 127.0.0.1:0"],
};

/// Plaintext bytes read per call.
const CHUNK: usize = 16 * 1024;

/// Stack of each connection thread: room for a rustls handshake with some to spare.
const STACK: usize = 256 * 1024;

/// Handshakes, echoes until the peer's close_notify, then closes.
fn echo(config: Arc<ServerConfig>, stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let conn = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, stream);
    let mut buf = vec![0u8; CHUNK];
    loop {
        // The first read completes the handshake.
        let n = match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        tls.write_all(&buf[..n])?;
    }
    tls.conn.send_close_notify();
    tls.flush()?;
    tls.sock.shutdown(Shutdown::Write)
}

fn run(args: &Args<'_>) -> Result<(), Error> {
    let addr: SocketAddr = args.get("addr")?;
    let config = tls_server_config(args)?;
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("local address: {e}"))?;
    let stop = stop_on_signals(move || {
        let _ = TcpStream::connect(bound);
    })
    .map_err(|e| format!("signals: {e}"))?;
    println!("listening on {bound}");
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        match accepted {
            Ok((stream, _)) => {
                let config = Arc::clone(&config);
                let spawned = std::thread::Builder::new()
                    .stack_size(STACK)
                    .spawn(move || echo(config, stream));
                if let Err(e) = spawned {
                    eprintln!("std_tls_echo: cannot start a connection thread: {e}");
                }
            }
            // Out of file descriptors, aborted handshakes and the like: keep serving.
            Err(e) => {
                eprintln!("std_tls_echo: accept: {e}");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

fn main() -> ExitCode {
    CLI.main(run)
}
