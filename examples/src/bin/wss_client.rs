//! `wss_client`: a line-based WebSocket client on a pipebuf_mio event loop. Each line of
//! stdin goes out as a text message; every message that comes back is printed on stdout,
//! one line each (binary ones as lossy UTF-8). At the end of stdin the client keeps printing
//! what comes back until nothing has come for `--wait` seconds (default 1: answers and
//! broadcasts that are still on their way get printed, as when piping lines into a chat),
//! then closes the WebSocket (close frame 1000), waits for the server's close and exits 0.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin ws_echo -- --addr 127.0.0.1:9001 &
//! printf 'hello\nworld\n' | cargo run -p pipebuf_examples --bin wss_client -- ws://127.0.0.1:9001/
//! cargo run -p pipebuf_examples --bin wss_client -- wss://127.0.0.1:9443/ --insecure
//! cargo run -p pipebuf_examples --bin wss_client -- --url wss://localhost:9443/chat --ca ca.pem
//! ```
//!
//! Flags: see `wss_client --help` ([`CLI`]). The URL is the operand or `--url URL`: `ws://`
//! or `wss://`, host (name, IPv4, or IPv6 in brackets), optional port (default 80/443),
//! optional path and query. `wss://` trusts the root certificates of Mozilla's CA program
//! (webpki-roots, compiled in) unless given `--ca PEM` (a private CA or a self-signed
//! certificate) or `--insecure` (accept **any** certificate: for testing against one's own
//! servers only). `--deflate` offers
//! permessage-deflate (RFC 7692); the server may decline, and the client then talks
//! uncompressed.
//!
//! The chain per connection: socket ⇄ `Link` ⇄ (`Tls` client ⇄) `WebSocket` client ⇄ message
//! records ⇄ this program. stdin is read by a thread that hands lines to the event loop
//! through a bounded channel and the driver's `Waker`; when the connection's queue is full,
//! the loop stops taking lines (backpressure reaches stdin).
//!
//! Exit status: 0 after a clean close handshake (started by us at the end of stdin, or by
//! the server); 1 with a message on stderr when the connection cannot be made, the
//! handshake is refused, TLS fails, or the connection breaks; 2 on bad arguments.

use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use pipebuf::StackError;
use pipebuf::{EofKind, PBufRdWr};
use pipebuf_examples::cli::flags::INSECURE;
use pipebuf_examples::cli::{Args, Error, Flag, Operand, Program};
use pipebuf_examples::deflate::{DEFLATE, DEFLATE_CONTEXT, deflate_config};
use pipebuf_examples::ws_client::{
    WsClientStack, WsUrl, client_config, client_stack, tls_config_or_public_roots,
};
use pipebuf_mio::{
    BoxError, Chain, ClassId, Context, Driver, DriverConfig, Endpoint, EndpointError, Event,
    LeftReason, SendResult,
};
use pipebuf_rustls::TlsError;
use pipebuf_websocket::message::{MessageAssembler, MessageKind, write_chunk_some};
use pipebuf_websocket::{WsConfig, WsError};

/// Lines queued in the connection before `send` reports it full.
const MAX_QUEUED: usize = 64;
/// Largest chunk record written for one line.
const CHUNK: usize = 64 * 1024;
/// Longest line accepted from stdin (longer ones are cut into several messages).
const MAX_LINE: usize = 1 << 20;

/// What the connection reports to the loop: a message that came back.
#[derive(Debug)]
struct Report(Vec<u8>);

/// The application on top of the library's client stack: queued lines out, messages in.
#[derive(Debug, Default)]
struct Lines {
    /// Lines not yet fully written as chunk records, and how much of the first is written.
    outbox: VecDeque<Vec<u8>>,
    written: usize,
    /// Close our side once the outbox is empty.
    closing: bool,
    assembler: MessageAssembler,
}

impl Lines {
    /// Writes queued lines as text messages, as far as the record buffer has room; closes
    /// the outgoing records once asked to and all is written.
    fn fill(&mut self, app: &mut PBufRdWr<'_>) -> bool {
        let mut active = false;
        while let Some(line) = self.outbox.front() {
            if app.wr.is_eof() {
                self.outbox.clear();
                break;
            }
            let rest = &line[self.written..];
            let Ok((n, fin)) = write_chunk_some(&mut app.wr, MessageKind::Text, rest, CHUNK) else {
                // No room: try again on the next turn.
                break;
            };
            active = true;
            if fin {
                self.outbox.pop_front();
                self.written = 0;
            } else {
                self.written += n;
            }
        }
        if active {
            app.wr.push();
        }
        if self.closing && self.outbox.is_empty() && !app.wr.is_eof() {
            app.wr.close();
            active = true;
        }
        active
    }

    /// Reports every complete message that came back; answers the server's close.
    fn collect(
        &mut self,
        app: &mut PBufRdWr<'_>,
        cx: &mut Context<'_, Report>,
    ) -> Result<bool, BoxError> {
        let before = app.rd.tripwire();
        // (A message that came as one record is read where it is, not copied twice.)
        while let Some(message) = self.assembler.next_message_ref(&mut app.rd)? {
            cx.emit(Report(message.data().to_vec()));
        }
        let mut active = before != app.rd.tripwire();
        active |= app.rd.consume_push();
        match app.rd.consume_eof() {
            // The server's close frame: answer it by closing our side too.
            Some(EofKind::Close) => {
                self.outbox.clear();
                app.wr.close();
                active = true;
            }
            Some(EofKind::Abort) => {
                return Err("the connection ended without a close handshake".into());
            }
            None => (),
        }
        Ok(active)
    }
}

impl Chain for Lines {
    type Msg = Report;
    type Error = BoxError;

    fn process(
        &mut self,
        mut app: PBufRdWr<'_>,
        cx: &mut Context<'_, Report>,
    ) -> Result<bool, BoxError> {
        let filled = self.fill(&mut app);
        Ok(self.collect(&mut app, cx)? | filled)
    }

    fn send(&mut self, _app: PBufRdWr<'_>, data: &[u8]) -> SendResult {
        if self.closing {
            return SendResult::Gone;
        }
        if self.outbox.len() >= MAX_QUEUED {
            return SendResult::Full;
        }
        self.outbox.push_back(data.to_vec());
        SendResult::Sent
    }

    fn close(&mut self, _app: PBufRdWr<'_>) {
        self.closing = true;
    }
}

/// One connection: the library's client stack with the line application on top.
type LineClient = Endpoint<WsClientStack, Lines>;

/// A connection's error with the layer it came from (TLS, WebSocket, or these lines).
fn layer_error(e: &(dyn std::error::Error + 'static)) -> String {
    type ClientError = EndpointError<StackError<TlsError, WsError>>;
    match e.downcast_ref::<ClientError>() {
        Some(EndpointError::Stack(StackError::Lower(e))) => {
            let untrusted = matches!(
                e.rustls_error(),
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
            );
            if untrusted {
                // The usual cause is a private CA or a self-signed certificate, and the fix a
                // flag away.
                format!(
                    "{e}: the server's certificate is not signed by a CA this client \
                     trusts (for a private CA or a self-signed certificate, give --ca PEM)"
                )
            } else {
                e.to_string()
            }
        }
        Some(EndpointError::Stack(StackError::Upper(e))) => format!("WebSocket: {e}"),
        _ => e.to_string(),
    }
}

/// Reads stdin lines on a thread: `Some(line)` each (without its line end, invalid UTF-8
/// replaced, cut at [`MAX_LINE`]), then `None` at the end (or on a read error); each wakes
/// the event loop.
fn stdin_lines(waker: Arc<mio::Waker>) -> Receiver<Option<String>> {
    let (tx, rx) = mpsc::sync_channel(MAX_QUEUED);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut raw = Vec::new();
        loop {
            raw.clear();
            let line = match (&mut input)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut raw)
            {
                Ok(0) | Err(_) => None,
                Ok(_) => {
                    let body = raw.strip_suffix(b"\n").unwrap_or(&raw);
                    let body = body.strip_suffix(b"\r").unwrap_or(body);
                    Some(String::from_utf8_lossy(body).into_owned())
                }
            };
            let end = line.is_none();
            if tx.send(line).is_err() {
                return;
            }
            let _ = waker.wake();
            if end {
                return;
            }
        }
    });
    rx
}

/// The command line.
static CLI: Program = Program {
    name: "wss_client",
    about: "a line-based WebSocket client: each line of stdin goes out as a text message, \
            every message that comes back is printed on stdout, one line each. At the end of \
            stdin it keeps printing until nothing has come for --wait seconds, then closes \
            with close code 1000 and exits 0 once the server answered the close; exits 1 when \
            the connection cannot be made, the handshake is refused, TLS fails or the \
            connection breaks.",
    operand: Some(Operand {
        name: "URL",
        help: "ws://HOST[:PORT][/PATH] or wss://...; or give it with --url.",
    }),
    flags: &[
        Flag::value("url", "URL", "The server, instead of the operand.")
            .default_text("the operand"),
        Flag::value(
            "ca",
            "PEM",
            "For wss://: trust this CA or self-signed certificate instead of the public \
             roots (or give --insecure).",
        )
        .default_text("Mozilla's root certificates (webpki-roots), as for a public server"),
        INSECURE,
        Flag::value(
            "max-message",
            "BYTES",
            "A longer message from the server fails the connection with close code 1009.",
        )
        .default_text("16777216 (16 MiB)"),
        Flag::value(
            "wait",
            "SECS",
            "At the end of stdin, keep printing what comes back until nothing has come for \
             SECS (or the server closes), then close; 0 closes at once. Fractions allowed.",
        )
        .default("1"),
        DEFLATE,
        DEFLATE_CONTEXT,
    ],
    examples: &[
        "printf 'hello\\nworld\\n' | wss_client ws://127.0.0.1:9001/",
        "wss_client wss://127.0.0.1:9443/ --insecure",
        "wss_client ws://127.0.0.1:9001/ --deflate",
        "printf 'ann\\nhi all\\n' | wss_client wss://127.0.0.1:8443/chat --insecure --wait 3",
    ],
};

/// The URL: the operand or `--url`, exactly one of them.
fn url_arg(args: &Args<'_>) -> Result<WsUrl, Error> {
    let url = match (args.operand(), args.text("url")) {
        (Some(url), None) | (None, Some(url)) => url,
        (Some(_), Some(_)) => return Err(Error::usage("give the URL once, not also --url")),
        (None, None) => return Err(Error::usage("no URL: give ws[s]://HOST[:PORT]/PATH")),
    };
    WsUrl::parse(url).map_err(Error::usage)
}

fn run(args: &Args<'_>) -> Result<(), Error> {
    let url = url_arg(args)?;
    let tls = tls_config_or_public_roots(&url, args.text("ca"), args.is_set("insecure"))?;
    let linger = args.secs("wait")?;
    let config = WsConfig {
        max_message: args
            .opt("max-message")?
            .unwrap_or(client_config(0).max_message),
        deflate: deflate_config(args)?,
        ..client_config(0)
    };
    let addr = url.socket_addr()?;
    let stack = client_stack(&url, tls, config)?;
    let chain = Endpoint::new(stack, Lines::default());
    let mut driver: Driver<LineClient> = Driver::new(DriverConfig::default(), Box::new(|_| None))
        .map_err(|e| format!("event loop: {e}"))?;
    let id = driver
        .connect_tcp(addr, chain, ClassId::DEFAULT)
        .map_err(|e| format!("cannot connect to {url} ({addr}): {e}"))?;
    let waker = driver.waker().map_err(|e| format!("waker: {e}"))?;
    let lines = stdin_lines(waker);
    let mut waiting: Option<String> = None;
    let mut stdin_done = false;
    // After the end of stdin: when to close, pushed back by every message that comes.
    let mut close_at: Option<Instant> = None;
    let mut closed = false;
    let stdout = std::io::stdout();
    loop {
        let timeout = match (&waiting, close_at) {
            // A line refused for a full queue is retried soon.
            (Some(_), _) => Some(Duration::from_millis(10)),
            (None, Some(at)) if !closed => Some(at.saturating_duration_since(Instant::now())),
            _ => None,
        };
        driver
            .poll(timeout)
            .map_err(|e| format!("event loop: {e}"))?;
        let mut out = stdout.lock();
        while let Some(event) = driver.next_event() {
            match event {
                Event::Message {
                    msg: Report(data), ..
                } => {
                    let printed = out
                        .write_all(String::from_utf8_lossy(&data).as_bytes())
                        .and_then(|()| out.write_all(b"\n"));
                    if let Err(e) = printed {
                        return Err(Error::failed(format!("stdout: {e}")));
                    }
                    if let Some(at) = &mut close_at {
                        *at = Instant::now() + linger;
                    }
                }
                Event::Left { reason, .. } => {
                    let _ = out.flush();
                    return match reason {
                        LeftReason::Closed => Ok(()),
                        LeftReason::Io(e) => Err(Error::failed(format!(
                            "cannot connect to {url} ({addr}) or lost it: {e}"
                        ))),
                        LeftReason::ChainError(e) => {
                            Err(Error::failed(format!("{url}: {}", layer_error(&*e))))
                        }
                        other => Err(Error::failed(format!("{url}: connection ended: {other}"))),
                    };
                }
                Event::Joined { .. } | Event::Moved { .. } => (),
            }
        }
        out.flush().map_err(|e| format!("stdout: {e}"))?;
        drop(out);
        while !stdin_done {
            let line = match waiting.take() {
                Some(line) => Some(line),
                None => match lines.try_recv() {
                    Ok(line) => line,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => None,
                },
            };
            match line {
                Some(line) => match driver.send(id, line.as_bytes()) {
                    SendResult::Sent => (),
                    SendResult::Full => {
                        waiting = Some(line);
                        break;
                    }
                    SendResult::Gone => break,
                },
                None => {
                    stdin_done = true;
                    close_at = Some(Instant::now() + linger);
                }
            }
        }
        if !closed && close_at.is_some_and(|at| Instant::now() >= at) {
            closed = true;
            driver.close(id);
        }
    }
}

fn main() -> ExitCode {
    CLI.main(run)
}
