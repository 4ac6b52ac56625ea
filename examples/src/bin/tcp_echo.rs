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

use pipebuf::PBufRdWr;
use pipebuf_examples::Flags;
use pipebuf_examples::echo::Echo;
use pipebuf_mio::{Chain, Context, DriverConfig};

/// The whole protocol: the echo step right on the socket's buffers.
#[derive(Default)]
struct TcpEcho(Echo);

impl Chain for TcpEcho {
    type Msg = ();
    type Error = pipebuf::Error;

    fn process(
        &mut self,
        net: PBufRdWr<'_>,
        _: &mut Context<'_, ()>,
    ) -> Result<bool, pipebuf::Error> {
        self.0.step(net)
    }

    fn close(&mut self, _: PBufRdWr<'_>) {
        self.0.close();
    }
}

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&["addr", "threads", "release-after-ms"])?;
    let addr: SocketAddr = flags.parse_or("addr", SocketAddr::from(([127, 0, 0, 1], 7007)))?;
    let threads: usize = flags.parse_or("threads", 1)?;
    let defaults = DriverConfig::default();
    let release_ms: u64 = flags.parse_or(
        "release-after-ms",
        u64::try_from(defaults.release_after.as_millis()).unwrap_or(u64::MAX),
    )?;
    let config = DriverConfig {
        release_after: std::time::Duration::from_millis(release_ms),
        ..defaults
    };
    pipebuf_examples::server::run(addr, threads, config, || {
        Box::new(|_| Some(TcpEcho::default()))
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcp_echo: {e}");
            ExitCode::FAILURE
        }
    }
}
