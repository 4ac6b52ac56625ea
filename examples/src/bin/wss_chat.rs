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
//! Flags: see `wss_chat --help` ([`CLI`]). Prints `listening on HOST:PORT` on stdout and
//! the URL to open in the log (stderr); logs each connection's start and end, and who joins
//! which room, at `info`; exits cleanly on SIGINT/SIGTERM (every open chat gets a close frame
//! first).
//!
//! The protocol: the page opens `wss://HOST/chat?room=NAME` (the page's `#NAME`, default
//! `lobby`); the first text message is the user's name (leading `*`s and spaces dropped: lines
//! starting with `*` are the server's), every later one a chat line, broadcast as `name:
//! line`. The server announces arrivals (`* NAME joined ROOM (N here)`) and departures
//! (`* NAME left`), each followed by the room's roster, `** here (N): alice, bob`, its named
//! members in the order they came (at most [`MAX_ROSTER`] names, then `and N more`). No name
//! starts with `*`, so only the roster starts with `**`: the page can tell it apart. New connections are
//! in the "unauthenticated" class, with a small read budget; naming yourself moves you to
//! the "authenticated" class, which is served first. A member whose outgoing buffer is full
//! (it does not read) is disconnected rather than slowing the room down, and so is a member
//! who sends more than 16 KiB a second (in bursts of up to 64 KiB): what one member sends is
//! copied to everyone, so a flood of short lines would otherwise fill every other member's
//! buffer within one turn of the loop and get them all disconnected as slow readers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::Level;
use pipebuf::{Layer, PBufRdWr, PipeBufPair, Stack, Time};
use pipebuf_examples::cli::{Args, Error, Flag, Program};
use pipebuf_examples::conn_log;
use pipebuf_mio::{
    BoxError, Chain, ClassConfig, ClassId, ConnId, Context, Driver, Endpoint, Event, SendResult,
    Server,
};
use pipebuf_rustls::Tls;
use pipebuf_websocket::message::{
    CHUNK_HEADER_LEN, ChunkError, MessageAssembler, MessageKind, write_message,
};
use pipebuf_websocket::{HttpAnswer, Messages, WebSocket, WsConfig, accept_all};

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
/// Names listed in a roster line at most: the line goes to every member at every join and
/// leave, so its length is bounded.
const MAX_ROSTER: usize = 50;
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

/// The answer to a plain HTTP request on the HTTPS port, instead of a TLS alert the browser
/// shows as a broken connection.
const USE_HTTPS: &str = "This server speaks HTTPS only: open the same address with https:// \
                         instead of http://.\n";

/// A layer under TLS: a connection that starts like an HTTP request (a capital letter; TLS
/// starts with a handshake record, content type 22) gets a plain-text 400 telling the
/// browser to use https://; anything else passes through untouched.
#[derive(Debug, Default)]
enum HttpsOnly {
    /// Nothing received yet.
    #[default]
    Undecided,
    /// TLS (or garbage, which the TLS layer refuses with an alert): pass through.
    Tls,
    /// A plain HTTP request: answered, input dropped.
    Refused,
}

impl Layer for HttpsOnly {
    type Error = pipebuf::Error;

    fn process(
        &mut self,
        _: Time,
        mut lower: PBufRdWr<'_>,
        mut upper: PBufRdWr<'_>,
    ) -> Result<bool, pipebuf::Error> {
        if let HttpsOnly::Undecided = self {
            match lower.rd.data().first() {
                None => return Ok(false),
                Some(b) if b.is_ascii_uppercase() => {
                    *self = HttpsOnly::Refused;
                    let answer = HttpAnswer::text(400, USE_HTTPS);
                    lower.wr.append(&answer.to_bytes())?;
                    lower.wr.push();
                    lower.wr.close();
                    upper.wr.abort();
                }
                Some(_) => *self = HttpsOnly::Tls,
            }
        }
        Ok(match self {
            HttpsOnly::Refused => lower.rd.discard() | upper.rd.discard(),
            _ => pipebuf::pass_through(lower, upper),
        })
    }
}

/// The chat's layers: the HTTPS-only check, TLS, then the WebSocket (which serves the page).
type ChatStack = Stack<HttpsOnly, Stack<Tls, WebSocket>>;

/// The layers for one connection.
fn chat_stack(tls: Tls) -> ChatStack {
    let config = WsConfig {
        max_message: MAX_LINE,
        keepalive: Some(Duration::from_secs(30)),
        idle_timeout: Some(Duration::from_secs(90)),
        ..WsConfig::default()
    };
    let ws = WebSocket::server(config, accept_all()).answer_plain_http(Box::new(|request| {
        let path = request.path;
        if request.method == "GET" && (path == "/" || path.starts_with("/?")) {
            HttpAnswer::html(PAGE)
        } else {
            HttpAnswer::text(404, "Not found\n")
        }
    }));
    Stack::new(HttpsOnly::default(), Stack::new(tls, ws))
}

/// The application on top of the stack: text messages become chat lines.
#[derive(Debug, Default)]
struct ChatApp {
    assembler: MessageAssembler,
    closing: bool,
}

impl Chain for ChatApp {
    type Msg = ChatEvent;
    type Error = BoxError;

    fn process(
        &mut self,
        io: PBufRdWr<'_>,
        cx: &mut Context<'_, ChatEvent>,
    ) -> Result<bool, BoxError> {
        let mut app = Messages::new(io, &mut self.assembler);
        let mut active = false;
        while let Some(message) = app.incoming.next()? {
            active = true;
            if message.kind() == MessageKind::Text {
                // The WebSocket fails a connection whose text is not UTF-8, so this is valid;
                // were it not (a bug), the line goes out with replacement characters.
                let line = match std::str::from_utf8(message.data()) {
                    Ok(text) => text.to_owned(),
                    Err(_) => String::from_utf8_lossy(message.data()).into_owned(),
                };
                cx.emit(ChatEvent::Line(line));
            }
        }
        if app.incoming.end().is_some() && !app.outgoing.is_closed() {
            // The peer closed (or broke): close our side too.
            app.outgoing.close(1000, "")?;
            active = true;
        }
        if self.closing && !app.outgoing.is_closed() {
            app.close(1001, "server shutting down")?;
            active = true;
        }
        Ok(active)
    }

    fn send(&mut self, io: PBufRdWr<'_>, data: &[u8]) -> SendResult {
        let mut io = io;
        match write_message(&mut io.wr, MessageKind::Text, data) {
            Ok(()) => SendResult::Sent,
            Err(ChunkError::Full) => SendResult::Full,
            Err(_) => SendResult::Gone,
        }
    }

    fn close(&mut self, _: PBufRdWr<'_>) {
        self.closing = true;
    }
}

/// One connection: the stack and the chat application, plus the moment the WebSocket
/// opened, reported with the room its request named.
struct ChatConn {
    endpoint: Endpoint<ChatStack, ChatApp>,
    opened: bool,
}

impl Chain for ChatConn {
    type Msg = ChatEvent;
    type Error = BoxError;

    fn process(
        &mut self,
        net: PBufRdWr<'_>,
        cx: &mut Context<'_, ChatEvent>,
    ) -> Result<bool, BoxError> {
        let active = self.endpoint.process(net, cx)?;
        let ws = self.endpoint.stack().upper().upper();
        if ws.is_open() && !self.opened {
            self.opened = true;
            let room = ws
                .request()
                .map_or_else(|| "lobby".into(), |r| room_of(r.path()));
            cx.emit(ChatEvent::Opened { room });
        }
        Ok(active)
    }

    fn send(&mut self, net: PBufRdWr<'_>, data: &[u8]) -> SendResult {
        self.endpoint.send(net, data)
    }

    fn close(&mut self, net: PBufRdWr<'_>) {
        self.endpoint.close(net);
    }

    fn next_deadline(&self) -> Option<Time> {
        self.endpoint.next_deadline()
    }

    fn release(&mut self) {
        self.endpoint.release();
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
    authenticated: ClassId,
    members: HashMap<ConnId, Member>,
    rooms: HashMap<String, Vec<ConnId>>,
}

impl Chat {
    /// Sends `line` to every named member of `room`; members that cannot take it (full
    /// buffers: they do not read) are dropped.
    fn broadcast(&mut self, driver: &mut Driver<ChatConn>, room: &str, line: &str) {
        let Some(ids) = self.rooms.get(room) else {
            return;
        };
        let named: Vec<ConnId> = ids
            .iter()
            .copied()
            .filter(|id| self.members.get(id).is_some_and(|m| m.name.is_some()))
            .collect();
        for (id, result) in driver.send_to(&named, line.as_bytes()) {
            if result == SendResult::Full {
                driver.abort(id);
            }
        }
    }

    /// The roster of `room`: `** here (N): alice, bob`.
    fn roster(&self, room: &str) -> String {
        let names: Vec<&str> = self
            .rooms
            .get(room)
            .into_iter()
            .flatten()
            .filter_map(|id| self.members.get(id)?.name.as_deref())
            .collect();
        let shown = names.len().min(MAX_ROSTER);
        let mut line = format!("** here ({}): {}", names.len(), names[..shown].join(", "));
        if names.len() > shown {
            line.push_str(&format!(", and {} more", names.len() - shown));
        }
        line
    }

    /// Sends `room`'s roster to its named members, after someone came or went.
    fn broadcast_roster(&mut self, driver: &mut Driver<ChatConn>, room: &str) {
        let roster = self.roster(room);
        self.broadcast(driver, room, &roster);
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

    fn on_event(&mut self, driver: &mut Driver<ChatConn>, event: Event<ChatEvent>) {
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
                        // A leading `*` would make the name's lines look like the server's.
                        let name: String = line
                            .trim()
                            .trim_start_matches('*')
                            .trim_start()
                            .chars()
                            .take(MAX_NAME)
                            .collect();
                        if name.is_empty() {
                            return;
                        }
                        log::info!("connection {id} is {name:?} in room {room:?}");
                        member.name = Some(name.clone());
                        driver.move_to(id, self.authenticated);
                        let count = self.rooms.get(&room).map_or(0, Vec::len);
                        self.broadcast(
                            driver,
                            &room,
                            &format!("* {name} joined {room} ({count} here)"),
                        );
                        self.broadcast_roster(driver, &room);
                    }
                    Some(name) => {
                        let text = format!("{name}: {line}");
                        if member.spend(text.len() + CHUNK_HEADER_LEN, Instant::now()) {
                            self.broadcast(driver, &room, &text);
                        } else {
                            // Gone at once: the lines it sent in the same turn, still queued
                            // as events, find no member and go nowhere.
                            let gone = self.leave(id);
                            driver.abort(id);
                            if let Some(Member {
                                name: Some(name), ..
                            }) = gone
                            {
                                self.broadcast(
                                    driver,
                                    &room,
                                    &format!("* {name} was disconnected: flooding"),
                                );
                                self.broadcast_roster(driver, &room);
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
                    self.broadcast(driver, &room, &format!("* {name} left"));
                    self.broadcast_roster(driver, &room);
                }
            }
            Event::Joined { .. } | Event::Moved { .. } => (),
        }
    }
}

/// The command line.
static CLI: Program = Program {
    name: "wss_chat",
    about: "a WSS chat server: GET / over HTTPS serves a self-contained chat page that \
            connects back over wss://; each message is broadcast to everyone in the same room \
            (add #room to the page's URL for another room than the lobby). The first line a \
            member sends is their name; arrivals and departures are announced to the room, \
            each followed by its roster (`** here (N): alice, bob`). Prints `listening on \
            HOST:PORT` on stdout and the URL to open in the log on stderr, with each \
            connection's start and end; SIGINT/SIGTERM stop it cleanly, every open chat \
            getting a close frame.",
    operand: None,
    flags: &[
        Flag::value(
            "addr",
            "HOST:PORT",
            "Where to listen; port 0 picks a free port.",
        )
        .default("127.0.0.1:8443"),
        Flag::value("cert", "PEM", "Certificate chain to serve (with --key).")
            .default_text("a self-signed certificate for localhost/127.0.0.1 made at start"),
        Flag::value("key", "PEM", "Private key of --cert.").default_text("the self-signed one's"),
    ],
    examples: &[
        "wss_chat",
        "wss_chat --addr 0.0.0.0:8443 --cert cert.pem --key key.pem",
        "RUST_LOG=warn wss_chat --addr 127.0.0.1:0",
    ],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    let addr: SocketAddr = args.get("addr")?;
    let tls_config = pipebuf_examples::tls::server_config(
        args.text("cert"),
        args.text("key"),
        &Default::default(),
    )?;
    let factory = move |_: &pipebuf_mio::Accepted| {
        Some(ChatConn {
            endpoint: Endpoint::with_pair(
                chat_stack(Tls::server(Arc::clone(&tls_config)).ok()?),
                PipeBufPair::with_limits(1024, 256 * 1024),
                ChatApp::default(),
            ),
            opened: false,
        })
    };
    // One loop (the rooms live in it): classes first, then every event goes to the chat.
    let server = Server::bind(addr)
        .shutdown_grace(SHUTDOWN_GRACE)
        .serve_with(
            conn_log::logged_factory(Level::Info, factory),
            |driver: &mut Driver<ChatConn>| {
                let class = |driver: &mut Driver<ChatConn>, priority, read_budget| {
                    driver
                        .add_class(ClassConfig {
                            priority,
                            read_budget,
                        })
                        .ok_or_else(|| std::io::Error::other("too many classes"))
                };
                let unauthenticated = class(driver, 0, 256 * 1024)?;
                let authenticated = class(driver, 10, 8 * 1024 * 1024)?;
                driver.set_accept_class(unauthenticated);
                let mut chat = Chat {
                    authenticated,
                    members: HashMap::new(),
                    rooms: HashMap::new(),
                };
                Ok(
                    move |driver: &mut Driver<ChatConn>, event: Event<ChatEvent>| {
                        conn_log::log_event(Level::Info, &event);
                        chat.on_event(driver, event);
                    },
                )
            },
        )
        .map_err(|e| format!("cannot serve on {addr}: {e}"))?;
    let stop = server.stop_handle();
    pipebuf_examples::stop_on_signals(move || stop.stop()).map_err(|e| format!("signals: {e}"))?;
    let bound = server.local_addr();
    println!("listening on {bound}");
    let certificate = match args.text("cert") {
        Some(cert) => format!("the certificate of {cert}"),
        None => "a self-signed certificate: accept it in the browser".to_string(),
    };
    log::info!("open https://{bound}/ in a browser ({certificate})");
    Ok(server.wait().map_err(|e| format!("event loop: {e}"))?)
}

fn main() -> ExitCode {
    CLI.main(run)
}
