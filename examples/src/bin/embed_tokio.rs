//! `embed_tokio`: a pipebuf chain driven from tokio instead of pipebuf_mio: a WebSocket echo
//! server (TCP → `WebSocket` → echo: `ws_echo`'s chain, the layer
//! `pipebuf_examples::ws::echo_server` under `pipebuf_mio::Echo`), one tokio task per
//! connection. For users who live in async/await: the components stay sans-IO; the task is
//! the driver.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin embed_tokio -- --addr 127.0.0.1:9002
//! cargo run -p pipebuf_examples --bin wss_client -- ws://127.0.0.1:9002/
//! ```
//!
//! Each task owns the socket and the byte pair under the chain, and loops:
//!
//! 1. the activity loop: one pass over the components (`Layer::process` of the WebSocket
//!    between the byte pair and the message records, then `Echo::step` on the records; what
//!    pipebuf_mio's driver does through an `Endpoint`'s `Chain::process`) until a pass does
//!    nothing (`pipebuf::settle`);
//! 2. writes from the outgoing buffer's data with `TcpStream::try_write` until the socket
//!    would block, then passes the end of stream on (FIN for a close, RST for an abort);
//! 3. waits with `TcpStream::ready` (`readable()` and `writable()` in one await: readable
//!    while the incoming buffer has room, writable while output waits) or until the
//!    WebSocket's next deadline (`Layer::next_deadline`: handshake, keepalive, close
//!    timeouts);
//! 4. reads with `try_read` straight into the incoming buffer's free space.
//!
//! Why the plain-TCP WebSocket and not TLS: TLS would add one more layer in step 1
//! (`pipebuf_rustls::Tls` between the byte pair and the WebSocket:
//! `Stack::new(Tls::server(config)?, echo_server(..))` as the layer, as `wss_echo` does) and
//! change nothing in the task; the task loop is what this example shows.
//!
//! Flags: see `embed_tokio --help` ([`CLI`]). Prints `listening on HOST:PORT`; exits with status 0 on SIGINT/SIGTERM (connections still open
//! are dropped). Every message comes back with its type; pings are answered; a plain HTTP
//! request gets `426 Upgrade Required`.

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pipebuf::{EofKind, Layer, PBufRdWr, PipeBufPair, SettleError, Time, settle};
use pipebuf_examples::cli::{Args, Error, Flag, Program};
use pipebuf_examples::stop_on_signals;
use pipebuf_examples::ws::echo_server;
use pipebuf_mio::Echo;
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream};

/// The most one `try_read` asks for.
const READ_CHUNK: usize = 64 * 1024;
/// Passes of the activity loop after which a chain that never settles is a bug.
const MAX_PASSES: usize = 10_000;
/// How long a connection may wait with nothing to read, write or time out on.
const STUCK: Duration = Duration::from_secs(60);
/// The largest message echoed (what conformance suites send); larger ones fail with close
/// code 1009.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// Why a connection's chain failed: its layer's error or the echo's.
type ChainError = Box<dyn std::error::Error + Send + Sync>;

/// The sans-IO part of a connection: a layer (here the WebSocket) between the byte pair and
/// the message records, and the echo of the records on top.
struct EchoChain<L> {
    layer: L,
    /// The message records: `up` from the layer to the echo, `down` back.
    top: PipeBufPair,
    echo: Echo,
}

impl<L: Layer> EchoChain<L>
where
    L::Error: Into<ChainError>,
{
    fn new(layer: L) -> Self {
        EchoChain {
            layer,
            top: PipeBufPair::new(),
            echo: Echo::default(),
        }
    }

    /// One pass over the components at `now`; `net` is the connection's byte pair seen from
    /// above. Returns whether anything moved.
    fn step(&mut self, now: Time, net: PBufRdWr<'_>) -> Result<bool, ChainError> {
        let mut active = self
            .layer
            .process(now, net, self.top.lower())
            .map_err(Into::into)?;
        active |= self.echo.step(self.top.upper())?;
        Ok(active)
    }

    /// When [`step`](EchoChain::step) must run again even if no byte arrives.
    fn next_deadline(&self) -> Option<Instant> {
        self.layer.next_deadline().map(Time::to_instant)
    }
}

/// Serves one connection to its end: `Ok` when both directions ended (cleanly or not),
/// the chain's error once what it queued for the peer is written.
async fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    // `up`: bytes from the socket to the chain; `down`: bytes from the chain to the socket.
    let mut net = PipeBufPair::new();
    // The sans-IO part, `ws_echo`'s chain: WebSocket (answering plain HTTP with 426),
    // message records, echo.
    let mut chain = EchoChain::new(echo_server(MAX_MESSAGE));
    // After a chain error only the socket side goes on: what the chain queued (a close
    // frame, an HTTP error) is written, input is dropped.
    let mut failed: Option<ChainError> = None;
    loop {
        // 1. The activity loop.
        let now = Time::now();
        if failed.is_some() {
            net.upper().rd.discard();
        } else {
            match settle(MAX_PASSES, || chain.step(now, net.upper())) {
                Ok(_) => (),
                Err(SettleError::Component(e)) => failed = Some(e),
                Err(SettleError::Unsettled { .. }) => {
                    // A bug: drop the connection with a reset.
                    stream.set_zero_linger()?;
                    return Ok(());
                }
            }
        }
        // 2. Write what the chain produced; pass its end of stream on.
        let mut out = net.lower();
        while !out.rd.is_empty() {
            match stream.try_write(out.rd.data()) {
                Ok(n) => out.rd.consume(n).map_err(io::Error::other)?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if out.rd.is_empty() {
            out.rd.consume_push();
            match out.rd.consume_eof() {
                Some(EofKind::Close) => stream.shutdown().await?,
                Some(EofKind::Abort) => {
                    stream.set_zero_linger()?;
                    return Ok(());
                }
                None => (),
            }
        }
        let output_done = net.down.state().is_done();
        if net.is_done() || (failed.is_some() && output_done && net.up.state().eof_kind().is_some())
        {
            return match failed {
                Some(e) => Err(io::Error::other(e.to_string())),
                None => Ok(()),
            };
        }
        // 3. Wait for the socket or the chain's next deadline.
        let want_read = net.up.state().eof_kind().is_none() && !net.up.is_full();
        let want_write = !net.down.is_empty();
        let interest = match (want_read, want_write) {
            (true, true) => Interest::READABLE | Interest::WRITABLE,
            (true, false) => Interest::READABLE,
            (false, true) => Interest::WRITABLE,
            // Nothing to read or write: only a deadline can move things on.
            (false, false) => Interest::ERROR,
        };
        let deadline = chain.next_deadline().filter(|_| failed.is_none());
        let wake_at = deadline.unwrap_or_else(|| Instant::now() + STUCK);
        let ready = match tokio::time::timeout_at(wake_at.into(), stream.ready(interest)).await {
            Ok(ready) => ready?,
            Err(_) => match deadline {
                // The chain's deadline: run it again.
                Some(_) => continue,
                // Nothing happened for STUCK and nothing was due: give the connection up.
                None => return Ok(()),
            },
        };
        // 4. Read straight into the incoming buffer's free space.
        if want_read && (ready.is_readable() || ready.is_read_closed()) {
            let mut incoming = net.lower();
            let space = incoming
                .wr
                .space_upto(READ_CHUNK)
                .map_err(io::Error::other)?;
            if space.is_empty() {
                // Full after all (an empty read would look like the peer's end of stream).
                continue;
            }
            match stream.try_read(space) {
                Ok(0) => incoming.wr.close(),
                Ok(n) => {
                    incoming.wr.commit(n).map_err(io::Error::other)?;
                    incoming.wr.push();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => (),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => incoming.wr.abort(),
                Err(e) => return Err(e),
            }
        }
    }
}

async fn accept_loop(listener: TcpListener, stop: Arc<AtomicBool>) {
    loop {
        let accepted = listener.accept().await;
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(async move {
                    let _ = serve(stream).await;
                });
            }
            // Out of file descriptors and the like: keep serving.
            Err(e) => {
                eprintln!("embed_tokio: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The command line.
static CLI: Program = Program {
    name: "embed_tokio",
    about: "a pipebuf chain driven from tokio instead of pipebuf_mio: a WebSocket echo \
            server (TCP → WebSocket → echo), one tokio task per connection as the driver. \
            Prints `listening on HOST:PORT` on stdout; exits on SIGINT/SIGTERM.",
    operand: None,
    flags: &[Flag::value(
        "addr",
        "HOST:PORT",
        "Where to listen; port 0 picks a free port.",
    )
    .default("127.0.0.1:9002")],
    examples: &[
        "embed_tokio --addr 127.0.0.1:9002",
        "wss_client ws://127.0.0.1:9002/",
    ],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    let addr: SocketAddr = args.get("addr")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("local address: {e}"))?;
        // The signal thread wakes the accept with a connection of its own.
        let stop = stop_on_signals(move || {
            let _ = std::net::TcpStream::connect(bound);
        })
        .map_err(|e| format!("signals: {e}"))?;
        println!("listening on {bound}");
        accept_loop(listener, stop).await;
        Ok(())
    })
}

fn main() -> ExitCode {
    CLI.main(run)
}
