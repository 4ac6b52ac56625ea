//! `tls_echo`: TCP → TLS → echo. Every byte comes back encrypted; after the peer's
//! close_notify everything is echoed, then our close_notify and FIN follow.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin tls_echo -- --addr 127.0.0.1:7443
//! openssl s_client -connect 127.0.0.1:7443 -quiet
//! ```
//!
//! Flags: `--addr HOST:PORT` (default 127.0.0.1:7443; port 0 picks a free port), `--cert PEM`
//! and `--key PEM` (default: a self-signed certificate for localhost/127.0.0.1 made at start),
//! `--threads N` (default 1). Prints `listening on HOST:PORT`; exits cleanly on SIGINT/SIGTERM.

use std::fmt;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use pipebuf::{PBufRdWr, PipeBufPair};
use pipebuf_examples::Flags;
use pipebuf_examples::echo::Echo;
use pipebuf_mio::{Chain, Context, DriverConfig};
use pipebuf_rustls::{Tls, TlsError};

/// One connection: TLS between the socket's buffers and a plaintext pair, echo on top.
struct TlsEcho {
    tls: Tls,
    plain: PipeBufPair,
    echo: Echo,
}

#[derive(Debug)]
enum EchoError {
    Tls(TlsError),
    Buffer(pipebuf::Error),
}

impl fmt::Display for EchoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EchoError::Tls(e) => write!(f, "{e}"),
            EchoError::Buffer(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for EchoError {}

impl Chain for TlsEcho {
    type Msg = ();
    type Error = EchoError;

    fn process(&mut self, net: PBufRdWr<'_>, _: &mut Context<'_, ()>) -> Result<bool, EchoError> {
        let tls = self
            .tls
            .process(net, self.plain.lower())
            .map_err(EchoError::Tls)?;
        let echo = self
            .echo
            .step(self.plain.upper())
            .map_err(EchoError::Buffer)?;
        Ok(tls | echo)
    }

    fn close(&mut self, _: PBufRdWr<'_>) {
        self.echo.close();
    }

    fn release(&mut self) {
        self.plain.release();
    }
}

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&["addr", "cert", "key", "threads"])?;
    let addr: SocketAddr = flags.parse_or("addr", SocketAddr::from(([127, 0, 0, 1], 7443)))?;
    let threads: usize = flags.parse_or("threads", 1)?;
    let config = pipebuf_examples::tls::server_config(
        flags.get("cert"),
        flags.get("key"),
        &Default::default(),
    )?;
    pipebuf_examples::server::run(addr, threads, DriverConfig::default(), || {
        let config = Arc::clone(&config);
        Box::new(move |_| {
            Some(TlsEcho {
                tls: Tls::server(Arc::clone(&config)).ok()?,
                plain: PipeBufPair::new(),
                echo: Echo::default(),
            })
        })
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tls_echo: {e}");
            ExitCode::FAILURE
        }
    }
}
