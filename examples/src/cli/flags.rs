//! The flags several example programs share, each declared once, and read once where the
//! programs read them the same way.
//!
//! A server declares where it listens with [`listen_addr`] (only its default port differs
//! from program to program) and its event loops with [`THREADS`], and reads both into a
//! [`Server`] with [`server`]; a TLS server declares [`CERT`] and [`KEY`] and reads them
//! into its config with [`tls_server_config`]; a WebSocket server declares [`MAX_MESSAGE`]
//! and a [`handshake_timeout`]; a load generator declares [`SERVER_PID`] (read with
//! [`server_pid`]), and a `wss://` client [`INSECURE`]. The permessage-deflate flags live
//! in [`deflate`](crate::deflate). A flag that means something else in one program (a
//! client's `--addr`, the client `--max-message` of `wss_client`) stays in that program.
//!
//! ```
//! use pipebuf_examples::cli::flags::{THREADS, listen_addr, server};
//! use pipebuf_examples::cli::{Parsed, Program};
//!
//! static CLI: Program = Program {
//!     name: "demo",
//!     about: "Shows the shared server flags.",
//!     operand: None,
//!     flags: &[listen_addr("127.0.0.1:7007"), THREADS],
//!     examples: &["demo --addr 127.0.0.1:0 --threads 2"],
//! };
//!
//! let Ok(Parsed::Run(args)) = CLI.parse(["--threads", "2"]) else { panic!() };
//! assert!(server(&args).is_ok());
//! assert!(CLI.help().contains("[default: 127.0.0.1:7007]"));
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use pipebuf_mio::Server;
use rustls::ServerConfig;

use super::{Args, Error, Flag};

/// `--addr HOST:PORT` of a server: where it listens, `default` unless given.
pub const fn listen_addr(default: &'static str) -> Flag {
    Flag::value(
        "addr",
        "HOST:PORT",
        "Where to listen; port 0 picks a free port.",
    )
    .default(default)
}

/// `--threads N` of a [`Server`]: its event loops, one by default.
pub const THREADS: Flag = Flag::value(
    "threads",
    "N",
    "Event loops; N loops share the port through SO_REUSEPORT.",
)
.default("1");

/// `--cert PEM` of a TLS server: the certificate chain it serves, with [`KEY`].
pub const CERT: Flag = Flag::value("cert", "PEM", "Certificate chain to serve (with --key).")
    .default_text("a self-signed certificate for localhost/127.0.0.1 made at start");

/// `--key PEM` of a TLS server: the private key of [`CERT`].
pub const KEY: Flag =
    Flag::value("key", "PEM", "Private key of --cert.").default_text("the self-signed one's");

/// `--max-message BYTES` of a WebSocket server: the largest message it accepts (64 MiB by
/// default).
pub const MAX_MESSAGE: Flag = Flag::value(
    "max-message",
    "BYTES",
    "Largest message accepted; a larger one gets close code 1009.",
)
.default("67108864");

/// `--handshake-timeout SECS` of a WebSocket server (10 by default), with `help` saying
/// which handshakes must be complete in time (over TLS there are two).
pub const fn handshake_timeout(help: &'static str) -> Flag {
    Flag::value("handshake-timeout", "SECS", help).default("10")
}

/// `--server-pid PID` of a load generator: whose CPU time to report (read with
/// [`server_pid`]).
pub const SERVER_PID: Flag = Flag::value(
    "server-pid",
    "PID",
    "Add the server's CPU time over the measured window to the JSON line (server_cpu_s, \
     and server_us_per_msg or, measuring handshakes, server_us_per_handshake).",
)
.default_text("not measured");

/// `--insecure` of a `wss://` client: accept any server certificate.
pub const INSECURE: Flag = Flag::switch(
    "insecure",
    "For wss://: accept any certificate (for tests and benchmarks against one's own servers \
     only).",
);

/// The [`Server`] on `--addr` ([`listen_addr`]) with [`THREADS`] event loops; `--threads 0`
/// is a usage error.
pub fn server(args: &Args<'_>) -> Result<Server, Error> {
    let addr: SocketAddr = args.get("addr")?;
    let threads: usize = args.get(THREADS.name())?;
    if threads == 0 {
        return Err(Error::usage("--threads must be at least 1"));
    }
    Ok(Server::bind(addr).threads(threads))
}

/// The TLS server config from [`CERT`] and [`KEY`], with rustls' default options: see
/// [`tls::server_config`](crate::tls::server_config).
pub fn tls_server_config(args: &Args<'_>) -> Result<Arc<ServerConfig>, Error> {
    crate::tls::server_config(
        args.text(CERT.name()),
        args.text(KEY.name()),
        &Default::default(),
    )
}

/// The process named by [`SERVER_PID`], checked to exist; `None` without the flag.
pub fn server_pid(args: &Args<'_>) -> Result<Option<u32>, Error> {
    let name = SERVER_PID.name();
    let Some(pid) = args.opt::<u32>(name)? else {
        return Ok(None);
    };
    crate::process_cpu_secs(pid)
        .ok_or_else(|| Error::usage(format!("--{name} {pid}: no such process")))?;
    Ok(Some(pid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Parsed, Program};

    static SERVER: Program = Program {
        name: "server",
        about: "Declares the shared server flags.",
        operand: None,
        flags: &[listen_addr("127.0.0.1:7007"), THREADS, CERT, KEY],
        examples: &["server --addr 127.0.0.1:0"],
    };

    fn args(given: &[&str]) -> Args<'static> {
        match SERVER.parse(given) {
            Ok(Parsed::Run(args)) => args,
            other => panic!("{given:?} did not parse to a run: {other:?}"),
        }
    }

    #[test]
    fn zero_threads_is_a_usage_error() {
        let error = server(&args(&["--threads", "0"])).unwrap_err();
        assert_eq!(error, Error::usage("--threads must be at least 1"));
        assert!(server(&args(&[])).is_ok());
    }

    #[test]
    fn a_cert_without_its_key_is_a_usage_error() {
        let error = tls_server_config(&args(&["--cert", "cert.pem"])).unwrap_err();
        assert_eq!(error, Error::usage("--cert and --key go together"));
    }
}
