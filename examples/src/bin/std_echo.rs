//! `std_echo`: a plain blocking `std::net` echo server, one thread per connection: the
//! baseline that `scripts/bench-tcp.sh` compares `tcp_echo` against.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin std_echo -- --addr 127.0.0.1:0
//! ```
//!
//! Flags: see `std_echo --help` ([`CLI`]). Prints `listening on HOST:PORT` once it accepts
//! connections, echoes every byte through a 16 KiB
//! buffer per connection, shuts down its sending side after the peer's end of stream, and
//! exits on SIGINT/SIGTERM (connections still open are dropped).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use pipebuf_examples::cli::flags::listen_addr;
use pipebuf_examples::cli::{Args, Error, Program};
use pipebuf_examples::stop_on_signals;

/// The command line.
static CLI: Program = Program {
    name: "std_echo",
    about: "a plain blocking std::net echo server, one thread per connection: the baseline \
            that scripts/bench-tcp.sh compares tcp_echo against. Prints `listening on \
            HOST:PORT` on stdout; exits on SIGINT/SIGTERM.",
    operand: None,
    flags: &[listen_addr("127.0.0.1:7007")],
    examples: &["std_echo --addr 127.0.0.1:0"],
};

/// Bytes read per system call.
const CHUNK: usize = 16 * 1024;

/// Echoes until the peer's end of stream, then half-closes.
fn echo(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        stream.write_all(&buf[..n])?;
    }
    stream.shutdown(Shutdown::Write)
}

fn run(args: &Args<'_>) -> Result<(), Error> {
    let addr: SocketAddr = args.get("addr")?;
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
                let spawned = std::thread::Builder::new()
                    .stack_size(64 * 1024)
                    .spawn(move || echo(stream));
                if let Err(e) = spawned {
                    eprintln!("std_echo: cannot start a connection thread: {e}");
                }
            }
            // Out of file descriptors, aborted handshakes and the like: keep serving.
            Err(e) => {
                eprintln!("std_echo: accept: {e}");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

fn main() -> ExitCode {
    CLI.main(run)
}
