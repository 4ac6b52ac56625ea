//! `tcp_echo`: echoes every byte back on TCP, and closes its sending side after the peer's
//! end of stream once everything is echoed.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin tcp_echo -- --addr 127.0.0.1:7007 --threads 2
//! ```
//!
//! Flags: `--addr HOST:PORT` (default 127.0.0.1:7007; port 0 picks a free port), `--threads N`
//! (default 1: N event loops share the port through SO_REUSEPORT), `--release-after-ms MS`
//! (how long an idle connection keeps its empty buffers, default 100; 0 frees them after
//! every turn: for comparing the two in benchmarks). Prints
//! `listening on HOST:PORT` once it accepts connections; exits cleanly on SIGINT/SIGTERM,
//! finishing the echo of what it already received (up to 5 s).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use pipebuf_examples::Flags;
use pipebuf_mio::{DriverConfig, Echo, Server};

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&["addr", "threads", "release-after-ms"])?;
    let addr: SocketAddr = flags.parse_or("addr", SocketAddr::from(([127, 0, 0, 1], 7007)))?;
    let defaults = DriverConfig::default();
    let release_ms: u64 = flags.parse_or(
        "release-after-ms",
        u64::try_from(defaults.release_after.as_millis()).unwrap_or(u64::MAX),
    )?;
    let config = DriverConfig {
        release_after: Duration::from_millis(release_ms),
        ..defaults
    };
    let server = Server::bind(addr)
        .threads(flags.parse_or("threads", 1)?)
        .config(config);
    // The whole protocol: the echo right on the socket's buffers.
    pipebuf_examples::serve_until_signalled(server, |_| Some(Echo::default()))
}

fn main() -> ExitCode {
    pipebuf_examples::exit("tcp_echo", run())
}
