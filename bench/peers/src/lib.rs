//! Shared code of the benchmark peers (echo servers built on other libraries, compared with
//! pipebuf's `ws_echo`/`wss_echo`/`tcp_echo`/`tls_echo`): the common command line, the TLS
//! server config (PEM files or a self-signed certificate made at start), the `listening on`
//! line, and for the tokio-based peers a one-thread accept loop that stops on SIGINT/SIGTERM.
//!
//! Common flags: `--addr HOST:PORT` (default 127.0.0.1:9001; port 0 picks a free port),
//! `--tls` (serve TLS), `--cert PEM --key PEM` (with `--tls`; without them a self-signed
//! certificate for localhost/127.0.0.1/::1 is made at start), `--help`. Bad flags: a message
//! on stderr and exit status 2.

use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio_rustls::TlsAcceptor;

/// The default `--addr`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9001";

/// Largest WebSocket message the WebSocket peers accept (pipebuf's `ws_echo` default too).
pub const MAX_MESSAGE: usize = 64 << 20;

/// The parsed common flags.
#[derive(Debug, Clone)]
pub struct Args {
    /// `--addr`.
    pub addr: SocketAddr,
    /// `--tls`.
    pub tls: bool,
    /// `--cert` (only with `--tls`, together with `--key`).
    pub cert: Option<PathBuf>,
    /// `--key` (only with `--tls`, together with `--cert`).
    pub key: Option<PathBuf>,
}

/// What went wrong with the command line.
#[derive(Debug)]
pub enum ArgsError {
    /// `--help` was given: print the usage and exit 0.
    Help,
    /// A bad flag or value.
    Bad(String),
}

impl Args {
    /// Parses the flags after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, ArgsError> {
        let mut addr = None;
        let mut tls = false;
        let mut cert = None;
        let mut key = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name.to_string(), Some(value)),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| -> Result<String, ArgsError> {
                match inline {
                    Some(v) => Ok(v.to_string()),
                    None => args
                        .next()
                        .ok_or_else(|| ArgsError::Bad(format!("{name} needs a value"))),
                }
            };
            match name.as_str() {
                "-h" | "--help" => return Err(ArgsError::Help),
                "--addr" => {
                    let v = value("--addr")?;
                    let parsed = v
                        .parse::<SocketAddr>()
                        .map_err(|e| ArgsError::Bad(format!("--addr {v:?}: {e}")))?;
                    addr = Some(parsed);
                }
                "--tls" if inline.is_none() => tls = true,
                "--cert" => cert = Some(PathBuf::from(value("--cert")?)),
                "--key" => key = Some(PathBuf::from(value("--key")?)),
                _ => return Err(ArgsError::Bad(format!("unknown flag {arg:?}"))),
            }
        }
        if cert.is_some() != key.is_some() {
            return Err(ArgsError::Bad("--cert and --key go together".into()));
        }
        if cert.is_some() && !tls {
            return Err(ArgsError::Bad("--cert and --key need --tls".into()));
        }
        let addr = match addr {
            Some(a) => a,
            None => DEFAULT_ADDR.parse().expect("valid default address"),
        };
        Ok(Args {
            addr,
            tls,
            cert,
            key,
        })
    }

    /// Parses the process's flags; on `--help` prints the usage and exits 0, on a bad flag
    /// prints the problem and the usage to stderr and exits 2.
    pub fn from_env(program: &str, about: &str) -> Args {
        match Args::parse(std::env::args().skip(1)) {
            Ok(args) => args,
            Err(ArgsError::Help) => {
                println!("{program}: {about}\n{}", usage(program));
                std::process::exit(0);
            }
            Err(ArgsError::Bad(msg)) => {
                eprintln!("{program}: {msg}\n{}", usage(program));
                std::process::exit(2);
            }
        }
    }

    /// The TLS server config when `--tls` was given.
    pub fn server_config(&self) -> Result<Option<Arc<ServerConfig>>, String> {
        if !self.tls {
            return Ok(None);
        }
        let (certs, key) = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => load_pem(cert, key)?,
            _ => self_signed()?,
        };
        server_config(certs, key).map(Some)
    }
}

fn usage(program: &str) -> String {
    format!(
        "usage: {program} [--addr HOST:PORT] [--tls [--cert PEM --key PEM]]\n  \
         --addr HOST:PORT  address to listen on (default {DEFAULT_ADDR}; port 0: any free port)\n  \
         --tls             serve TLS (without --cert/--key: a self-signed certificate for \
         localhost, 127.0.0.1 and ::1)"
    )
}

/// The certificate chain and key from PEM files.
pub fn load_pem(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    Ok((certs, key))
}

/// A fresh self-signed certificate for localhost, 127.0.0.1 and ::1, and its key.
pub fn self_signed() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot make a self-signed certificate: {e}"))?;
    let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    Ok((vec![made.cert.der().clone()], PrivateKeyDer::Pkcs8(key)))
}

/// A server config with rustls' defaults and the ring provider: no client authentication,
/// no ALPN (the same settings as pipebuf's own TLS examples).
pub fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, String> {
    // rustls 0.23.48 deprecates the ring provider (no post-quantum key exchange); the lock
    // file pins the rustls of the root workspace, and ring is what pipebuf's examples use.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS config: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS config: {e}"))?;
    Ok(Arc::new(config))
}

/// Prints the one `listening on HOST:PORT` line and flushes stdout.
pub fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}

/// Exit status for a run's result: 0, or 1 with the error on stderr.
pub fn exit(program: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A tokio peer's per-connection work, generic over the stream (plain TCP or TLS over TCP).
pub trait Handler: Clone + 'static {
    /// Serves one connection to its end. An error is logged with the peer's address, and
    /// the connection dropped.
    fn serve<S>(self, stream: S) -> impl Future<Output = Result<(), String>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static;
}

/// Runs a tokio peer: parses the flags, binds, prints the `listening on` line, and serves
/// each connection with `handler` (after the TLS handshake with `--tls`) as a task on one
/// `current_thread` runtime, until SIGINT or SIGTERM.
pub fn run_tokio<H: Handler>(program: &str, about: &str, handler: H) -> ExitCode {
    let args = Args::from_env(program, about);
    exit(program, serve_tokio(program, &args, handler))
}

fn serve_tokio<H: Handler>(program: &str, args: &Args, handler: H) -> Result<(), String> {
    let tls = args.server_config()?.map(TlsAcceptor::from);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    let program: Arc<str> = Arc::from(program);
    local.block_on(&runtime, async move {
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| format!("signal: {e}"))?;
        let mut terminate = signal(SignalKind::terminate()).map_err(|e| format!("signal: {e}"))?;
        let listener = TcpListener::bind(args.addr)
            .await
            .map_err(|e| format!("bind {}: {e}", args.addr))?;
        let local_addr = listener.local_addr().map_err(|e| e.to_string())?;
        announce(local_addr).map_err(|e| format!("stdout: {e}"))?;
        loop {
            tokio::select! {
                _ = interrupt.recv() => return Ok(()),
                _ = terminate.recv() => return Ok(()),
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let handler = handler.clone();
                        let tls = tls.clone();
                        let program = Arc::clone(&program);
                        tokio::task::spawn_local(async move {
                            if let Err(e) = connection(stream, tls, handler).await {
                                eprintln!("{program}: {peer}: {e}");
                            }
                        });
                    }
                    // Out of file descriptors and the like: keep serving after a pause.
                    Err(e) => {
                        eprintln!("{program}: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
            }
        }
    })
}

async fn connection<H: Handler>(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    handler: H,
) -> Result<(), String> {
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    match tls {
        None => handler.serve(stream).await,
        Some(acceptor) => {
            let stream = acceptor
                .accept(stream)
                .await
                .map_err(|e| format!("TLS handshake: {e}"))?;
            handler.serve(stream).await
        }
    }
}

/// How long [`linger`] waits for the peer's end of stream.
pub const LINGER: Duration = Duration::from_secs(5);

/// After the sending side was shut down: reads and drops whatever the peer still sends
/// until its end of stream (TLS: its close_notify), for at most [`LINGER`]. Closing a socket
/// with unread bytes makes Linux reset the connection, which can destroy the last bytes
/// sent (a close frame's reply, a close_notify) before the peer has read them.
pub async fn linger<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut buf = [0u8; 4096];
    let drain = async {
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// A stream wrapper that flushes after every write, and retries a flush that could not
/// finish before the next read.
///
/// For libraries that write but never flush (fastwebsockets' `FragmentCollector` has no
/// `flush`): tokio-rustls keeps encrypted bytes that the socket did not take inside rustls
/// until the next write or flush, so an echo could otherwise stay unsent while the task waits
/// for the peer's next message. A flush left pending registers the task for the socket's
/// writability, and the read that the task does next finishes it.
#[derive(Debug)]
pub struct FlushingIo<S> {
    inner: S,
    unflushed: bool,
}

impl<S> FlushingIo<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        FlushingIo {
            inner,
            unflushed: false,
        }
    }
}

impl<S: AsyncWrite + Unpin> FlushingIo<S> {
    /// Tries to flush what is unflushed; `Pending` just leaves it for later.
    fn try_flush(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.unflushed {
            match Pin::new(&mut self.inner).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {}
            }
        }
        Ok(())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for FlushingIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.try_flush(cx)?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FlushingIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(_)) = written {
            this.unflushed = true;
            // An error shows again on the next operation.
            let _ = this.try_flush(cx);
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(_)) = written {
            this.unflushed = true;
            let _ = this.try_flush(cx);
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(&mut this.inner).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            this.unflushed = false;
        }
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, ArgsError> {
        Args::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.addr.to_string(), DEFAULT_ADDR);
        assert!(!a.tls);
        let a = parse(&["--addr", "127.0.0.1:0", "--tls"]).unwrap();
        assert_eq!(a.addr.port(), 0);
        assert!(a.tls);
        let a = parse(&["--addr=127.0.0.1:5", "--tls", "--cert", "c", "--key=k"]).unwrap();
        assert_eq!(a.addr.port(), 5);
        assert!(a.cert.is_some() && a.key.is_some());
        assert!(matches!(parse(&["--bogus"]), Err(ArgsError::Bad(_))));
        assert!(matches!(parse(&["--addr"]), Err(ArgsError::Bad(_))));
        assert!(matches!(parse(&["--addr", "nope"]), Err(ArgsError::Bad(_))));
        assert!(matches!(
            parse(&["--tls", "--cert", "c"]),
            Err(ArgsError::Bad(_))
        ));
        assert!(matches!(
            parse(&["--cert", "c", "--key", "k"]),
            Err(ArgsError::Bad(_))
        ));
        assert!(matches!(parse(&["--tls=yes"]), Err(ArgsError::Bad(_))));
        assert!(matches!(parse(&["--help"]), Err(ArgsError::Help)));
    }

    #[test]
    fn self_signed_config() {
        let (certs, key) = self_signed().unwrap();
        server_config(certs, key).unwrap();
    }
}
