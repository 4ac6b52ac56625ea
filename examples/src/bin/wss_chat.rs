//! `wss_chat`: the main program. A WSS chat server on mio + pipebuf_rustls +
//! pipebuf_websocket: `GET /` over HTTPS serves a self-contained chat page that connects
//! back over `wss://`; each message is broadcast to everyone in the same room.
//!
//! ```text
//! cargo run --release -p pipebuf_examples --bin wss_chat
//! # then open https://127.0.0.1:8443/ (accept the self-signed certificate); add #room to the
//! # URL for another room
//! ```
//!
//! Flags: `--addr HOST:PORT` (default 127.0.0.1:8443; port 0 picks a free port), `--cert PEM`
//! and `--key PEM` (default: a self-signed certificate for localhost/127.0.0.1 made at start).
//! Prints `listening on HOST:PORT` on stdout and the URL to open on stderr; exits cleanly on
//! SIGINT/SIGTERM (every open chat gets a close frame first).
//!
//! The protocol: the page opens `wss://HOST/chat?room=NAME`; the first text message is the
//! user's name, every later one a chat line, broadcast as `name: line`. New connections are
//! in the "unauthenticated" class, with a small read budget; naming yourself moves you to
//! the "authenticated" class, which is served first. A member whose outgoing buffer is full
//! (it does not read) is disconnected rather than slowing the room down, and so is a member
//! who sends more than 16 KiB a second (in bursts of up to 64 KiB): what one member sends is
//! copied to everyone, so a flood of short lines would otherwise fill every other member's
//! buffer within one turn of the loop and get them all disconnected as slow readers.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pipebuf::{PBufRdWr, PipeBufPair};
use pipebuf_examples::Flags;
use pipebuf_mio::{
    Chain, ClassConfig, ClassId, ConnId, Context, Driver, DriverConfig, Event, LocalAddr,
    SendResult,
};
use pipebuf_rustls::{Tls, TlsError};
use pipebuf_websocket::message::{
    CHUNK_HEADER_LEN, ChunkError, MessageAssembler, MessageKind, write_message,
};
use pipebuf_websocket::{WebSocket, WsConfig, WsError, accept_all};

/// The page: markup, style and script in one response, nothing fetched from elsewhere.
const PAGE: &str = include_str!("wss_chat.html");
/// Longest name accepted.
const MAX_NAME: usize = 32;
/// Longest chat line accepted (the WebSocket refuses larger messages with 1009).
const MAX_LINE: usize = 4096;
/// What a member may send, in bytes a second, counted as what each member of the room gets
/// queued (name, line and framing); more gets it disconnected as a flooder.
const FLOOD_RATE: f64 = 16.0 * 1024.0;
/// The burst a member may send at once within [`FLOOD_RATE`]: well under a member's outgoing
/// buffer (256 KiB), so one flooder's burst never fills the buffers of the others.
const FLOOD_BURST: f64 = 64.0 * 1024.0;
/// How long open chats get to close cleanly on SIGINT/SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// What a connection reports to the chat loop.
#[derive(Debug)]
enum ChatEvent {
    /// The WebSocket handshake completed for this room.
    Opened { room: String },
    /// A text message arrived.
    Line(String),
}

#[derive(Debug)]
enum ChatError {
    Tls(TlsError),
    Ws(WsError),
    Chunk(ChunkError),
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChatError::Tls(e) => write!(f, "{e}"),
            ChatError::Ws(e) => write!(f, "{e}"),
            ChatError::Chunk(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ChatError {}

/// One connection: TLS, then either a plain HTTPS request (the page) or a WebSocket.
struct ChatConn {
    /// What the first byte said the peer speaks.
    transport: Transport,
    tls: Tls,
    plain: PipeBufPair,
    ws: WebSocket,
    msgs: PipeBufPair,
    assembler: MessageAssembler,
    origin: Instant,
    opened: bool,
    closing: bool,
}

/// What a connection to the HTTPS port turned out to carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// Nothing received yet.
    Unknown,
    /// TLS (or garbage, which the TLS component refuses with an alert).
    Tls,
    /// A plain HTTP request: a browser was given `http://` for this port.
    PlainHttp,
}

/// The answer to a plain HTTP request on the HTTPS port, instead of a TLS alert the browser
/// shows as a broken connection.
const USE_HTTPS: &str = "This server speaks HTTPS only: open the same address with https:// \
                         instead of http://.\n";

impl ChatConn {
    fn new(tls: Tls) -> Self {
        ChatConn {
            transport: Transport::Unknown,
            tls,
            plain: PipeBufPair::new(),
            ws: WebSocket::server(
                WsConfig {
                    max_message: MAX_LINE,
                    keepalive: Some(Duration::from_secs(30)),
                    idle_timeout: Some(Duration::from_secs(90)),
                    ..WsConfig::default()
                },
                accept_all(),
            ),
            msgs: PipeBufPair::with_limits(1024, 256 * 1024),
            assembler: MessageAssembler::new(),
            origin: Instant::now(),
            opened: false,
            closing: false,
        }
    }
}

/// Answers the plain HTTPS request waiting in `io.rd`: the page for `GET /`, 404 otherwise.
fn serve_http(io: PBufRdWr<'_>) -> bool {
    let line_end = io.rd.data().windows(2).position(|w| w == b"\r\n");
    let request_line = line_end.map(|end| &io.rd.data()[..end]);
    let page =
        matches!(request_line, Some(l) if l.starts_with(b"GET / ") || l.starts_with(b"GET /?"));
    if page {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            PAGE.len()
        );
        pipebuf_examples::answer_http_and_close(io, &[head.as_bytes(), PAGE.as_bytes()])
    } else {
        pipebuf_examples::answer_http_and_close(
            io,
            &[b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"],
        )
    }
}

/// The room named in the request's query (`?room=NAME`), or `lobby`.
fn room_of(path: &str) -> String {
    path.split_once('?')
        .into_iter()
        .flat_map(|(_, query)| query.split('&'))
        .find_map(|pair| pair.strip_prefix("room="))
        .filter(|room| !room.is_empty() && room.len() <= 64)
        .map_or_else(|| "lobby".to_string(), String::from)
}

impl Chain for ChatConn {
    type Msg = ChatEvent;
    type Error = ChatError;

    fn process(
        &mut self,
        net: PBufRdWr<'_>,
        cx: &mut Context<'_, ChatEvent>,
    ) -> Result<bool, ChatError> {
        if self.transport == Transport::Unknown {
            // A TLS connection starts with a handshake record (content type 22); an HTTP
            // request starts with its method, in capitals.
            self.transport = match net.rd.data().first() {
                None => Transport::Unknown,
                Some(b) if b.is_ascii_uppercase() => Transport::PlainHttp,
                Some(_) => Transport::Tls,
            };
        }
        if self.transport == Transport::PlainHttp {
            let head = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                USE_HTTPS.len()
            );
            return Ok(pipebuf_examples::answer_http_and_close(
                net,
                &[head.as_bytes(), USE_HTTPS.as_bytes()],
            ));
        }
        let now = cx.now().saturating_duration_since(self.origin);
        let mut active = self
            .tls
            .process(net, self.plain.lower())
            .map_err(ChatError::Tls)?;
        if self.ws.is_plain_http() {
            return Ok(active | serve_http(self.plain.upper()));
        }
        active |= self
            .ws
            .process(now, self.plain.upper(), self.msgs.lower())
            .map_err(ChatError::Ws)?;
        if self.ws.is_open() && !self.opened {
            self.opened = true;
            let room = self
                .ws
                .request()
                .map_or_else(|| "lobby".into(), |r| room_of(r.path()));
            cx.emit(ChatEvent::Opened { room });
        }
        let mut app = self.msgs.upper();
        while let Some(message) = self
            .assembler
            .next_message_ref(&mut app.rd)
            .map_err(ChatError::Chunk)?
        {
            active = true;
            let data = message.data();
            if message.kind() == MessageKind::Text {
                // The WebSocket fails a connection whose text is not UTF-8, so this is valid;
                // were it not (a bug), the line goes out with replacement characters.
                let line = match std::str::from_utf8(data) {
                    Ok(text) => text.to_owned(),
                    Err(_) => String::from_utf8_lossy(data).into_owned(),
                };
                cx.emit(ChatEvent::Line(line));
            }
        }
        if app.rd.is_empty() && app.rd.has_pending_eof() {
            // The peer closed (or broke): close our side too.
            app.rd.consume_push();
            app.rd.consume_eof();
            if !app.wr.is_eof() {
                app.wr.close();
            }
            active = true;
        }
        if self.closing && !app.wr.is_eof() {
            self.ws.close(1001, "server shutting down");
            app.wr.close();
            active = true;
        }
        Ok(active)
    }

    fn send(&mut self, _: PBufRdWr<'_>, data: &[u8]) -> Result<(), pipebuf::Error> {
        match write_message(&mut self.msgs.upper().wr, MessageKind::Text, data) {
            Ok(()) => Ok(()),
            Err(ChunkError::Full) => Err(pipebuf::Error::NoSpace {
                requested: data.len(),
                available: 0,
            }),
            Err(_) => Err(pipebuf::Error::AfterEof),
        }
    }

    fn close(&mut self, _: PBufRdWr<'_>) {
        self.closing = true;
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.ws.next_deadline().map(|at| self.origin + at)
    }

    fn release(&mut self) {
        self.plain.release();
        self.msgs.release();
    }
}

/// A chat member.
#[derive(Debug)]
struct Member {
    room: String,
    name: Option<String>,
    /// Bytes it may still send now (a token bucket: [`FLOOD_RATE`], up to [`FLOOD_BURST`]).
    allowance: f64,
    /// When `allowance` was last brought up to date.
    counted: Instant,
}

impl Member {
    /// Takes `bytes` from the allowance; false when the member is over its flood limit.
    fn spend(&mut self, bytes: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.counted).as_secs_f64();
        self.counted = now;
        self.allowance = (self.allowance + elapsed * FLOOD_RATE).min(FLOOD_BURST);
        self.allowance -= bytes as f64;
        self.allowance >= 0.0
    }
}

/// The chat: who is in which room, and the broadcasts.
struct Chat {
    driver: Driver<ChatConn>,
    authenticated: ClassId,
    members: HashMap<ConnId, Member>,
    rooms: HashMap<String, Vec<ConnId>>,
}

impl Chat {
    /// Sends `line` to every named member of `room`; members that cannot take it (full
    /// buffers: they do not read) are dropped.
    fn broadcast(&mut self, room: &str, line: &str) {
        let Some(ids) = self.rooms.get(room) else {
            return;
        };
        let named: Vec<ConnId> = ids
            .iter()
            .copied()
            .filter(|id| self.members.get(id).is_some_and(|m| m.name.is_some()))
            .collect();
        for (id, result) in self.driver.send_to(&named, line.as_bytes()) {
            if result == SendResult::Full {
                self.driver.abort(id);
            }
        }
    }

    /// Removes `id` from the chat (not from the driver); returns what it was.
    fn leave(&mut self, id: ConnId) -> Option<Member> {
        let member = self.members.remove(&id)?;
        if let Some(ids) = self.rooms.get_mut(&member.room) {
            ids.retain(|other| *other != id);
            if ids.is_empty() {
                self.rooms.remove(&member.room);
            }
        }
        Some(member)
    }

    fn on_event(&mut self, event: Event<ChatEvent>) {
        match event {
            Event::Message {
                id,
                msg: ChatEvent::Opened { room },
            } => {
                self.rooms.entry(room.clone()).or_default().push(id);
                let member = Member {
                    room,
                    name: None,
                    allowance: FLOOD_BURST,
                    counted: Instant::now(),
                };
                self.members.insert(id, member);
            }
            Event::Message {
                id,
                msg: ChatEvent::Line(line),
            } => {
                let Some(member) = self.members.get_mut(&id) else {
                    return;
                };
                let room = member.room.clone();
                match &member.name {
                    None => {
                        let name: String = line.trim().chars().take(MAX_NAME).collect();
                        if name.is_empty() {
                            return;
                        }
                        member.name = Some(name.clone());
                        self.driver.move_to(id, self.authenticated);
                        let count = self.rooms.get(&room).map_or(0, Vec::len);
                        self.broadcast(&room, &format!("* {name} joined {room} ({count} here)"));
                    }
                    Some(name) => {
                        let text = format!("{name}: {line}");
                        if member.spend(text.len() + CHUNK_HEADER_LEN, Instant::now()) {
                            self.broadcast(&room, &text);
                        } else {
                            // Gone at once: the lines it sent in the same turn, still queued
                            // as events, find no member and go nowhere.
                            let gone = self.leave(id);
                            self.driver.abort(id);
                            if let Some(Member {
                                name: Some(name), ..
                            }) = gone
                            {
                                self.broadcast(
                                    &room,
                                    &format!("* {name} was disconnected: flooding"),
                                );
                            }
                        }
                    }
                }
            }
            Event::Left { id, .. } => {
                if let Some(Member {
                    room,
                    name: Some(name),
                    ..
                }) = self.leave(id)
                {
                    self.broadcast(&room, &format!("* {name} left"));
                }
            }
            Event::Joined { .. } | Event::Moved { .. } => (),
        }
    }
}

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&["addr", "cert", "key"])?;
    let addr: SocketAddr = flags.parse_or("addr", SocketAddr::from(([127, 0, 0, 1], 8443)))?;
    let tls_config = pipebuf_examples::tls::server_config(
        flags.get("cert"),
        flags.get("key"),
        &Default::default(),
    )?;
    let factory = {
        let tls_config = Arc::clone(&tls_config);
        Box::new(move |_: &pipebuf_mio::Accepted| {
            Some(ChatConn::new(Tls::server(Arc::clone(&tls_config)).ok()?))
        })
    };
    let mut driver =
        Driver::new(DriverConfig::default(), factory).map_err(|e| format!("event loop: {e}"))?;
    let unauthenticated = driver
        .add_class(ClassConfig {
            priority: 0,
            read_budget: 256 * 1024,
        })
        .ok_or("too many classes")?;
    let authenticated = driver
        .add_class(ClassConfig {
            priority: 10,
            read_budget: 8 * 1024 * 1024,
        })
        .ok_or("too many classes")?;
    driver.set_accept_class(unauthenticated);
    let listener = driver
        .listen_tcp(addr, false)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = match driver.local_addr(listener) {
        Ok(LocalAddr::Tcp(actual)) => actual,
        _ => addr,
    };
    let waker = driver.waker().map_err(|e| format!("waker: {e}"))?;
    let stop = pipebuf_examples::stop_on_signals(move || {
        let _ = waker.wake();
    })
    .map_err(|e| format!("signals: {e}"))?;
    println!("listening on {bound}");
    eprintln!(
        "wss_chat: open https://{bound}/ in a browser (the certificate is self-signed unless --cert/--key)"
    );

    let mut chat = Chat {
        driver,
        authenticated,
        members: HashMap::new(),
        rooms: HashMap::new(),
    };
    let mut shutting_down = false;
    loop {
        chat.driver
            .poll(Some(Duration::from_millis(500)))
            .map_err(|e| format!("event loop: {e}"))?;
        while let Some(event) = chat.driver.next_event() {
            chat.on_event(event);
        }
        if stop.load(Ordering::SeqCst) && !shutting_down {
            shutting_down = true;
            chat.driver.shutdown(Instant::now() + SHUTDOWN_GRACE);
        }
        if chat.driver.is_shut_down() {
            return Ok(());
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wss_chat: {e}");
            ExitCode::FAILURE
        }
    }
}
