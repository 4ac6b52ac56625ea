//! `tcp_echo`: echoes every byte back on TCP, and closes its sending side after the peer's
//! end of stream once everything is echoed.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin tcp_echo -- --addr 127.0.0.1:7007 --threads 2
//! ```
//!
//! Flags: see `tcp_echo --help` ([`CLI`]). Prints `listening on HOST:PORT` once it accepts
//! connections; exits cleanly on SIGINT/SIGTERM, finishing the echo of what it already
//! received (up to 5 s).

use std::process::ExitCode;
use std::time::Duration;

use pipebuf_examples::cli::flags::{THREADS, listen_addr, server};
use pipebuf_examples::cli::{Args, Error, Flag, Program};
use pipebuf_mio::{DriverConfig, Echo};

/// The command line.
static CLI: Program = Program {
    name: "tcp_echo",
    about: "echoes every byte back on TCP (pipebuf_mio's Echo right on the socket's buffers), \
            and closes its sending side after the peer's end of stream once everything is \
            echoed. Prints `listening on HOST:PORT` on stdout once it accepts connections; \
            SIGINT/SIGTERM stop it cleanly.",
    operand: None,
    flags: &[
        listen_addr("127.0.0.1:7007"),
        THREADS,
        Flag::value(
            "release-after-ms",
            "MS",
            "How long an idle connection keeps its empty buffers; 0 frees them after every \
             turn (for comparing the two in benchmarks).",
        )
        .default_text("the driver's, 100"),
    ],
    examples: &[
        "tcp_echo --addr 127.0.0.1:7007 --threads 2",
        "tcp_echo --addr 127.0.0.1:0 --release-after-ms 0",
    ],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    let defaults = DriverConfig::default();
    let release_after = match args.opt::<u64>("release-after-ms")? {
        Some(ms) => Duration::from_millis(ms),
        None => defaults.release_after,
    };
    let config = DriverConfig {
        release_after,
        ..defaults
    };
    let server = server(args)?.config(config);
    // The whole protocol: the echo right on the socket's buffers.
    Ok(pipebuf_examples::serve_until_signalled(server, |_| {
        Some(Echo::default())
    })?)
}

fn main() -> ExitCode {
    CLI.main(run)
}
