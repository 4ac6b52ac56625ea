//! `idle_conns`: opens many TCP connections to a server and holds them idle, to measure the
//! server's memory per idle connection (`scripts/bench-tcp.sh` reads the server's VmRSS
//! before and after).
//!
//! ```text
//! cargo run --release -p pipebuf_examples --bin idle_conns -- --addr 127.0.0.1:7007 --conns 10000
//! ```
//!
//! Flags: see `idle_conns --help` ([`CLI`]).
//!
//! Prints `ready N` once all N connections are open (and pinged), then holds them for
//! `--hold` seconds and exits, closing them. Exits 1 with a message if any connection fails.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use pipebuf_examples::cli::{Args, Error, Flag, Program};

/// How long one connection may take to open or to echo its ping.
const TIMEOUT: Duration = Duration::from_secs(10);

fn open(addr: SocketAddr, ping: &[u8]) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    if !ping.is_empty() {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.write_all(ping)?;
        let mut back = vec![0u8; ping.len()];
        stream.read_exact(&mut back)?;
        if back != ping {
            return Err(std::io::Error::other("the echo differs from the ping"));
        }
    }
    Ok(stream)
}

/// The command line.
static CLI: Program = Program {
    name: "idle_conns",
    about: "opens many TCP connections to a server and holds them idle, to measure the \
            server's memory per idle connection (scripts/bench-tcp.sh reads the server's \
            VmRSS before and after). Prints `ready N` once all N are open (and pinged), holds \
            them, then exits, closing them; exits 1 if any connection fails.",
    operand: None,
    flags: &[
        Flag::value("addr", "HOST:PORT", "The server to connect to.").required(),
        Flag::value(
            "conns",
            "N",
            "Connections to open; mind the limit of open files (ulimit -n).",
        )
        .default("10000"),
        Flag::value(
            "hold",
            "SECS",
            "How long to hold them once all are open (fractions allowed).",
        )
        .default("30"),
        Flag::value(
            "ping",
            "BYTES",
            "With BYTES > 0 each connection first sends that many bytes and waits for their \
             echo, so the server has served it once: idle after use rather than never used.",
        )
        .default("0"),
    ],
    examples: &["idle_conns --addr 127.0.0.1:7007 --conns 10000 --hold 60 --ping 16"],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    let addr: SocketAddr = args.get("addr")?;
    let conns: usize = args.get("conns")?;
    let hold = args.secs("hold")?;
    let ping_len: usize = args.get("ping")?;
    if ping_len > 1 << 20 {
        return Err(Error::usage("--ping is at most 1 MiB"));
    }
    let ping: Vec<u8> = (0..ping_len).map(|i| b'a' + (i % 26) as u8).collect();

    let mut held = Vec::with_capacity(conns);
    for i in 0..conns {
        let stream = open(addr, &ping).map_err(|e| {
            format!(
                "connection {} of {conns} to {addr}: {e} (open so far: {i})",
                i + 1
            )
        })?;
        held.push(stream);
    }
    println!("ready {}", held.len());
    std::thread::sleep(hold);
    drop(held);
    Ok(())
}

fn main() -> ExitCode {
    CLI.main(run)
}
