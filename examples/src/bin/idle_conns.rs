//! `idle_conns`: opens many TCP connections to a server and holds them idle, to measure the
//! server's memory per idle connection (`scripts/bench-tcp.sh` reads the server's VmRSS
//! before and after).
//!
//! ```text
//! cargo run --release -p pipebuf_examples --bin idle_conns -- --addr 127.0.0.1:7007 --conns 10000
//! ```
//!
//! Flags: `--addr HOST:PORT` (required), `--conns N` (default 10000; mind the limit of open
//! files, `ulimit -n`), `--hold SECS` (default 30: how long to hold them once all are open),
//! `--ping BYTES` (default 0: with BYTES > 0 each connection first sends that many bytes and
//! waits for their echo, so the server has surely accepted and served it once; the
//! connection is then idle after use rather than never used).
//!
//! Prints `ready N` once all N connections are open (and pinged), then holds them for
//! `--hold` seconds and exits, closing them. Exits 1 with a message if any connection fails.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use pipebuf_examples::Flags;

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

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&["addr", "conns", "hold", "ping"])?;
    let addr: SocketAddr = flags
        .get("addr")
        .ok_or("--addr HOST:PORT is required")?
        .parse()
        .map_err(|e| format!("--addr: {e}"))?;
    let conns: usize = flags.parse_or("conns", 10_000)?;
    let hold: f64 = flags.parse_or("hold", 30.0)?;
    let hold = Duration::try_from_secs_f64(hold).map_err(|e| format!("--hold: {e}"))?;
    let ping_len: usize = flags.parse_or("ping", 0)?;
    if ping_len > 1 << 20 {
        return Err("--ping is at most 1 MiB".into());
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
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idle_conns: {e}");
            ExitCode::FAILURE
        }
    }
}
