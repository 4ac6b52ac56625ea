//! `pipebuf03_echo`: a WebSocket echo server on the original pipebuf family from crates.io
//! (pipebuf 0.3, pipebuf_mio 0.3, pipebuf_rustls 0.23, pipebuf_websocket 0.2 on
//! embedded-websocket 0.8), with glue written here: one thread, one mio `Poll`, and per
//! connection the chain TCP (`TcpLink`) → TLS (`TlsServer`, only with `--tls`) → WebSocket
//! (`WebsocketServer`) → echo, run to exhaustion on every readiness event.
//!
//! Every text or binary message comes back unchanged with its type (messages up to 64 MiB);
//! `WebsocketServer` answers pings and replies to the close frame, which closes the output
//! (TLS close_notify, then the TCP half-close); the connection is dropped once the peer's end
//! of stream has come too. The peer's end of stream without a close frame closes the output
//! the same way.
//!
//! Workaround in the glue: `WebsocketServer::receive` is only ever given whole frames.
//! embedded-websocket 0.8 reads a frame that is only partly in the buffer as a "continuation
//! read" that restarts the mask at key byte 0 for each later piece (corrupting the payload
//! unless the piece starts at a multiple of 4), and it reports the frame after such a read
//! with the partial frame's opcode (a close frame then comes out as a data message). So
//! while the input ends in an incomplete frame, the whole frames before it are copied to a
//! staging buffer and received from there; input made of whole frames only (the common case)
//! is received in place, without the copy.
//!
//! ```text
//! bench/peers/target/release/pipebuf03_echo --addr 127.0.0.1:0 [--tls [--cert PEM --key PEM]]
//! ```
//!
//! Common flags and behaviour: see the crate's `lib.rs`. Driven by pipebuf's `load`.

use std::io::{self, ErrorKind, Read};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::process::ExitCode;
use std::sync::Arc;

use embedded_websocket::WebSocketSendMessageType;
use mio::net::{TcpListener, TcpStream, UnixStream};
use mio::{Events, Interest, Poll, Token};
use pipebuf::{PBufRdWr, PBufState, PipeBuf, PipeBufPair};
use pipebuf_bench_peers::{Args, MAX_MESSAGE, announce, exit};
use pipebuf_mio::TcpLink;
use pipebuf_rustls::TlsServer;
use pipebuf_websocket::WebsocketServer;
use rustls::ServerConfig;
use signal_hook::consts::{SIGINT, SIGTERM};

const PROGRAM: &str = "pipebuf03_echo";
const LISTENER: Token = Token(0);
const SIGNALS: Token = Token(1);
/// Connection `i` has token `FIRST_CONN + i`.
const FIRST_CONN: usize = 2;
/// Largest ping or close payload (the protocol's limit for control frames).
const MAX_AUX: usize = 125;
/// Bytes read from a socket at most per `TcpLink` call.
const READ_UNIT: usize = 64 * 1024;

/// The WebSocket end of a connection.
enum Ws {
    /// Waiting for the HTTP upgrade request.
    Handshake,
    Open(WebsocketServer),
}

/// One connection's chain. Bytes from the peer flow "up" the pairs, bytes to it "down":
/// `TcpLink` works on `ext.lower()`, the TLS layer between `ext.upper()` and `int.lower()`,
/// the WebSocket on `int.upper()` (or on `ext.upper()` without TLS).
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    tcp: TcpLink,
    ext: PipeBufPair,
    tls: Option<(TlsServer, PipeBufPair)>,
    ws: WsEnd,
    started: bool,
}

/// What to do with a connection after its chain ran.
enum Outcome {
    Keep,
    Drop,
}

impl Conn {
    fn new(
        stream: TcpStream,
        peer: SocketAddr,
        config: Option<&Arc<ServerConfig>>,
    ) -> Result<Conn, String> {
        let tls = match config {
            None => None,
            Some(config) => {
                let server =
                    TlsServer::new(Some(Arc::clone(config))).map_err(|e| format!("TLS: {e}"))?;
                Some((server, PipeBufPair::new()))
            }
        };
        let mut tcp = TcpLink::new();
        tcp.set_max_read_unit(READ_UNIT);
        Ok(Conn {
            stream,
            peer,
            tcp,
            ext: PipeBufPair::new(),
            tls,
            ws: WsEnd::new(),
            started: false,
        })
    }

    /// Runs the chain until nothing moves, after a readiness event.
    fn process(&mut self) -> Result<Outcome, String> {
        if !self.started {
            // The first event says the socket is ready.
            self.started = true;
            self.tcp.set_pause_reads(false);
            self.tcp.set_pause_writes(false);
        }
        loop {
            let mut activity = self
                .tcp
                .process_in(&mut self.stream, self.ext.lower())
                .map_err(|e| format!("TCP read: {e}"))?;
            match &mut self.tls {
                Some((tls, int)) => {
                    activity |= tls
                        .process(self.ext.upper(), int.lower())
                        .map_err(|e| format!("TLS: {e}"))?;
                    activity |= self.ws.process(int.upper())?;
                    activity |= tls
                        .process(self.ext.upper(), int.lower())
                        .map_err(|e| format!("TLS: {e}"))?;
                }
                None => {
                    activity |= self.ws.process(self.ext.upper())?;
                }
            }
            activity |= self
                .tcp
                .process_out(&mut self.stream, self.ext.lower())
                .map_err(|e| format!("TCP write: {e}"))?;
            if !activity {
                break;
            }
        }
        // Nothing moves any more. Once the peer's end of stream has come, only socket
        // writability can still make progress, and only while output is waiting: with none
        // waiting, the connection is over (the output closed, or it never will be).
        let input_ended = !matches!(self.ext.up.state(), PBufState::Open | PBufState::Push);
        let output_waiting = !self.ext.lower().rd.is_empty();
        if input_ended && !output_waiting {
            Ok(Outcome::Drop)
        } else {
            Ok(Outcome::Keep)
        }
    }
}

/// The WebSocket end of a connection's chain.
struct WsEnd {
    state: Ws,
    /// Whole frames waiting for `receive` (see the workaround in the file's doc).
    staged: PipeBuf,
    /// The message being received.
    message: PipeBuf,
    is_text: bool,
}

impl WsEnd {
    fn new() -> WsEnd {
        WsEnd {
            state: Ws::Handshake,
            staged: PipeBuf::new(),
            message: PipeBuf::new(),
            is_text: false,
        }
    }

    /// The upgrade handshake, then echoing each whole message. `pb` is the plain-text side
    /// (`rd` from the peer, `wr` to it). Returns whether anything moved.
    fn process(&mut self, mut pb: PBufRdWr) -> Result<bool, String> {
        let mut activity = false;
        if let Ws::Handshake = self.state {
            if pb.rd.is_empty() {
                return Ok(end_of_stream(pb));
            }
            match WebsocketServer::from_http(pb.reborrow(), None, MAX_MESSAGE, MAX_AUX) {
                Ok(Some(server)) => {
                    self.state = Ws::Open(server);
                    activity = true;
                }
                // An incomplete request: wait, unless the peer's end of stream has come.
                Ok(None) => {
                    if pb.rd.is_eof() {
                        let n = pb.rd.len();
                        pb.rd.consume(n);
                        pb.rd.consume_eof();
                        pb.wr.abort();
                        return Ok(true);
                    }
                    return Ok(false);
                }
                Err(e) => return Err(format!("WebSocket handshake: {e:?}")),
            }
        }
        let Ws::Open(server) = &mut self.state else {
            return Ok(activity);
        };
        loop {
            if pb.wr.is_eof() {
                // Closed after the close handshake: whatever else comes is dropped.
                if !pb.rd.is_empty() {
                    let n = pb.rd.len();
                    pb.rd.consume(n);
                    activity = true;
                }
                self.staged.reset();
                activity |= pb.rd.consume_eof();
                return Ok(activity);
            }
            let moved = if !self.staged.rd().is_empty() {
                // Staged frames go first.
                receive_from_staged(
                    server,
                    &mut self.staged,
                    &mut self.message,
                    &mut self.is_text,
                    &mut pb,
                )?
            } else {
                let whole = whole_frames(pb.rd.data())?;
                if whole == pb.rd.len() {
                    // Only whole frames (or nothing): received in place.
                    server
                        .receive(pb.reborrow(), self.message.wr(), &mut self.is_text)
                        .map_err(|e| format!("WebSocket: {e:?}"))?
                } else if whole > 0 {
                    self.staged.wr().append(&pb.rd.data()[..whole]);
                    pb.rd.consume(whole);
                    activity = true;
                    receive_from_staged(
                        server,
                        &mut self.staged,
                        &mut self.message,
                        &mut self.is_text,
                        &mut pb,
                    )?
                } else {
                    false
                }
            };
            activity |= moved;
            let message = self.message.rd();
            if message.is_eof() {
                let kind = if self.is_text {
                    WebSocketSendMessageType::Text
                } else {
                    WebSocketSendMessageType::Binary
                };
                server
                    .send(pb.reborrow(), kind, true, message.data())
                    .map_err(|e| format!("WebSocket send: {e:?}"))?;
                self.message.reset();
                activity = true;
                continue;
            }
            if !moved {
                break;
            }
        }
        if self.staged.rd().is_empty() {
            activity |= end_of_stream(pb);
        }
        Ok(activity)
    }
}

/// `receive` from the staged whole frames, writing to the real output.
fn receive_from_staged(
    server: &mut WebsocketServer,
    staged: &mut PipeBuf,
    message: &mut PipeBuf,
    is_text: &mut bool,
    pb: &mut PBufRdWr,
) -> Result<bool, String> {
    let staged_pb = PBufRdWr {
        rd: staged.rd(),
        wr: pb.wr.reborrow(),
    };
    server
        .receive(staged_pb, message.wr(), is_text)
        .map_err(|e| format!("WebSocket: {e:?}"))
}

/// The length of the whole frames at the start of `data`. A frame longer than
/// [`MAX_MESSAGE`] is an error.
fn whole_frames(data: &[u8]) -> Result<usize, String> {
    let mut at = 0;
    while let [_, b1, rest @ ..] = &data[at..] {
        let (len, ext) = match b1 & 0x7f {
            126 if rest.len() >= 2 => (u64::from(u16::from_be_bytes([rest[0], rest[1]])), 2),
            127 if rest.len() >= 8 => {
                let mut be = [0u8; 8];
                be.copy_from_slice(&rest[..8]);
                (u64::from_be_bytes(be), 8)
            }
            126 | 127 => break,
            short => (u64::from(short), 0),
        };
        if len > MAX_MESSAGE as u64 {
            return Err(format!("WebSocket frame of {len} bytes is too large"));
        }
        let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
        let frame = 2 + ext + mask + len as usize;
        if data.len() - at < frame {
            break;
        }
        at += frame;
    }
    Ok(at)
}

/// The peer's end of stream with nothing left to read (or an abort): close the output the
/// same way. Returns whether anything changed.
fn end_of_stream(mut pb: PBufRdWr) -> bool {
    if pb.rd.has_pending_eof() && (pb.rd.is_empty() || pb.rd.is_aborted()) {
        pb.rd.consume_eof();
        if pb.rd.is_aborted() {
            pb.wr.abort();
        } else {
            pb.wr.close();
        }
        return true;
    }
    false
}

/// The connections, in slots indexed by token.
#[derive(Default)]
struct Slots {
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
}

impl Slots {
    fn insert(&mut self, conn: Conn) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.conns[i] = Some(conn);
                i
            }
            None => {
                self.conns.push(Some(conn));
                self.conns.len() - 1
            }
        }
    }

    fn remove(&mut self, i: usize, poll: &Poll) {
        if let Some(mut conn) = self.conns[i].take() {
            let _ = poll.registry().deregister(&mut conn.stream);
            self.free.push(i);
        }
    }
}

/// A mio-readable stream that becomes readable on SIGINT or SIGTERM.
fn signal_pipe() -> io::Result<UnixStream> {
    let (read, write) = StdUnixStream::pair()?;
    read.set_nonblocking(true)?;
    signal_hook::low_level::pipe::register(SIGINT, write.try_clone()?)?;
    signal_hook::low_level::pipe::register(SIGTERM, write)?;
    Ok(UnixStream::from_std(read))
}

fn accept_all(
    listener: &TcpListener,
    poll: &Poll,
    slots: &mut Slots,
    config: Option<&Arc<ServerConfig>>,
) {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // Out of file descriptors and the like: try again on the next connection.
            Err(e) => {
                eprintln!("{PROGRAM}: accept: {e}");
                return;
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            eprintln!("{PROGRAM}: {peer}: nodelay: {e}");
            continue;
        }
        let conn = match Conn::new(stream, peer, config) {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("{PROGRAM}: {peer}: {e}");
                continue;
            }
        };
        let i = slots.insert(conn);
        let registered = match &mut slots.conns[i] {
            Some(conn) => poll.registry().register(
                &mut conn.stream,
                Token(FIRST_CONN + i),
                Interest::READABLE | Interest::WRITABLE,
            ),
            None => Ok(()),
        };
        if let Err(e) = registered {
            eprintln!("{PROGRAM}: {peer}: register: {e}");
            slots.remove(i, poll);
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let config = args.server_config()?;
    let mut poll = Poll::new().map_err(|e| format!("poll: {e}"))?;
    let mut signals = signal_pipe().map_err(|e| format!("signals: {e}"))?;
    poll.registry()
        .register(&mut signals, SIGNALS, Interest::READABLE)
        .map_err(|e| format!("signals: {e}"))?;
    let addr: SocketAddr = args.addr;
    let mut listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(|e| format!("listener: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    announce(local).map_err(|e| format!("stdout: {e}"))?;

    let mut slots = Slots::default();
    let mut events = Events::with_capacity(1024);
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("poll: {e}")),
        }
        for event in events.iter() {
            match event.token() {
                LISTENER => accept_all(&listener, &poll, &mut slots, config.as_ref()),
                SIGNALS => {
                    let mut byte = [0u8; 16];
                    let _ = signals.read(&mut byte);
                    return Ok(());
                }
                Token(t) => {
                    let i = t - FIRST_CONN;
                    let Some(conn) = slots.conns.get_mut(i).and_then(Option::as_mut) else {
                        continue;
                    };
                    match conn.process() {
                        Ok(Outcome::Keep) => {}
                        Ok(Outcome::Drop) => slots.remove(i, &poll),
                        Err(e) => {
                            eprintln!("{PROGRAM}: {}: {e}", conn.peer);
                            slots.remove(i, &poll);
                        }
                    }
                }
            }
        }
    }
}

fn main() -> ExitCode {
    let args = Args::from_env(
        PROGRAM,
        "WebSocket echo server on pipebuf 0.3 + pipebuf_mio 0.3 + pipebuf_rustls 0.23 + \
         pipebuf_websocket 0.2 (with --tls: over TLS)",
    );
    exit(PROGRAM, run(&args))
}
