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
//! HTTP/1.1 (`pipebuf_websocket::http`) serves the page, the files under `--root DIR` if
//! given (regular files only, no way out of the directory), and the upgrade to the chat's
//! WebSocket on one connection: a browser reuses it for every request (keep-alive,
//! pipelining) and then for the chat, instead of a new TLS connection each time.
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
//!
//! Origins: a browser lets any page open a WebSocket to any server, so the chat accepts
//! only its own page (an `Origin` on the host and port the request's `Host` names), the
//! pages of `--allow-origin`, and programs, which send no `Origin`; any other page gets
//! `403 Forbidden` (see `pipebuf_websocket::origin`).
//!
//! Compression: a client's permessage-deflate offer (RFC 7692; every browser makes one) is
//! accepted unless `--no-deflate`, keeping each side's window between messages unless
//! `--deflate-context reset` (which costs an allocation per compressed message instead of
//! about 354 KiB per connection). Lines under 64 bytes go uncompressed. The page's status
//! line says `compressed` when its WebSocket negotiated it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::Level;
use pipebuf::{Layer, PBufRdWr, PipeBufPair, Stack, Time};
use pipebuf_examples::cli::flags::{CERT, KEY, listen_addr, tls_server_config};
use pipebuf_examples::cli::{Args, Error, Flag, Program};
use pipebuf_examples::deflate::{DEFLATE_CONTEXT, NO_DEFLATE, deflate_config_on_by_default};
use pipebuf_examples::{conn_log, page};
use pipebuf_mio::{
    BoxError, Chain, ClassConfig, ClassId, ConnId, Context, Driver, Endpoint, Event, SendResult,
    Server,
};
use pipebuf_rustls::Tls;
use pipebuf_websocket::deflate::DeflateConfig;
use pipebuf_websocket::http::{HttpConfig, HttpServer, RequestHead, Response, Upgrading};
use pipebuf_websocket::message::{
    CHUNK_HEADER_LEN, ChunkError, MessageAssembler, MessageKind, write_message,
};
use pipebuf_websocket::origin::{OriginPolicy, WithoutOrigin};
use pipebuf_websocket::{HttpAnswer, Messages, WebSocket, WsConfig};

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

/// The chat's layers: the HTTPS-only check, TLS, then HTTP/1.1 (the page, the files) until
/// the upgrade to the WebSocket.
type ChatStack = Stack<HttpsOnly, Stack<Tls, Upgrading<WebSocket>>>;

/// The answer to a plain HTTP request: the page at `/`, else a file under `root` (canonical).
fn http_answer(root: Option<&Path>, request: &RequestHead) -> Response {
    match (page::response(request), root) {
        (Some(page), _) => page,
        (None, Some(root)) => pipebuf_examples::static_files::serve(root, request),
        (None, None) => Response::text(404, "Not found\n"),
    }
}

/// The layers for one connection: `origins` decides which pages may open a chat, `deflate`
/// accepts a client's permessage-deflate offer, `root` is the directory of `--root`.
fn chat_stack(
    tls: Tls,
    origins: Arc<OriginPolicy>,
    deflate: Option<DeflateConfig>,
    root: Option<Arc<PathBuf>>,
) -> ChatStack {
    let config = WsConfig {
        max_message: MAX_LINE,
        keepalive: Some(Duration::from_secs(30)),
        idle_timeout: Some(Duration::from_secs(90)),
        deflate,
        ..WsConfig::default()
    };
    let accept = Box::new(move |request: &_| origins.decide(request));
    let ws = WebSocket::server(config, accept);
    let http_config = HttpConfig {
        stop_at_websocket_upgrade: true,
        ..HttpConfig::default()
    };
    let http = HttpServer::with_handler(
        http_config,
        Box::new(move |request| http_answer(root.as_deref().map(PathBuf::as_path), request)),
    );
    Stack::new(
        HttpsOnly::default(),
        Stack::new(tls, Upgrading::new(http, ws)),
    )
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
        let Some(ws) = self.endpoint.stack().upper().upper().upgraded() else {
            return Ok(active);
        };
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
            getting a close frame. Only the server's own page (and --allow-origin's) may \
            open a chat from a browser; other pages get 403. Messages are compressed \
            (permessage-deflate) with every client that offers it, as browsers do, unless \
            --no-deflate.",
    operand: None,
    flags: &[
        listen_addr("127.0.0.1:8443"),
        CERT,
        KEY,
        Flag::value(
            "allow-origin",
            "ORIGINS",
            "Web pages that may open a chat besides the server's own, comma-separated, as \
             browsers send them: https://chat.example:8443,https://app.example. The server's \
             own page (an Origin on the Host the request names) is always allowed, and so \
             are programs, which send no Origin; any other page gets 403.",
        )
        .default_text("none: only the server's own page"),
        Flag::value(
            "root",
            "DIR",
            "A directory whose regular files are served over HTTPS besides the page at / \
             (html, js, css, png, svg and txt with their content types); paths cannot leave \
             it.",
        )
        .default_text("none: only the page"),
        NO_DEFLATE,
        DEFLATE_CONTEXT,
    ],
    examples: &[
        "wss_chat",
        "wss_chat --addr 0.0.0.0:8443 --cert cert.pem --key key.pem",
        "RUST_LOG=warn wss_chat --addr 127.0.0.1:0",
        "wss_chat --deflate-context reset",
        "wss_chat --root ./public",
        "wss_chat --addr 0.0.0.0:8443 --allow-origin https://chat.example,https://app.example",
    ],
};

/// The pages that may open a chat: the server's own (same host), those of `--allow-origin`
/// (comma-separated), and programs without `Origin`. A listed origin that is none is a
/// usage error naming the flag.
fn origin_policy(allowed: Option<&str>) -> Result<OriginPolicy, Error> {
    // Programs (wss_client, scripts) send no Origin, and no browser omits it: accepting them
    // lets no other web page in.
    let mut policy = OriginPolicy::new(WithoutOrigin::Accept).allow_same_host();
    for origin in allowed.into_iter().flat_map(|list| list.split(',')) {
        let origin = origin.trim();
        policy = policy
            .allow(origin)
            .map_err(|e| Error::usage(format!("--allow-origin {origin:?}: {e}")))?;
    }
    Ok(policy)
}

fn run(args: &Args<'_>) -> Result<(), Error> {
    let addr: SocketAddr = args.get("addr")?;
    let deflate = deflate_config_on_by_default(args)?;
    let origins = Arc::new(origin_policy(args.text("allow-origin"))?);
    let also_allowed = origins.exact_origins();
    let root = match args.text("root") {
        Some(dir) => {
            let canonical = std::fs::canonicalize(dir)
                .ok()
                .filter(|path| path.is_dir())
                .ok_or_else(|| Error::usage(format!("--root {dir:?}: not a directory")))?;
            Some(Arc::new(canonical))
        }
        None => None,
    };
    let tls_config = tls_server_config(args)?;
    let factory = move |_: &pipebuf_mio::Accepted| {
        Some(ChatConn {
            endpoint: Endpoint::with_pair(
                chat_stack(
                    Tls::server(Arc::clone(&tls_config)).ok()?,
                    Arc::clone(&origins),
                    deflate,
                    root.clone(),
                ),
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
    let certificate = match args.text(CERT.name()) {
        Some(cert) => format!("the certificate of {cert}"),
        None => "a self-signed certificate: accept it in the browser".to_string(),
    };
    log::info!("open https://{bound}/ in a browser ({certificate})");
    if !also_allowed.is_empty() {
        log::info!("pages of {} may open chats too", also_allowed.join(", "));
    }
    Ok(server.wait().map_err(|e| format!("event loop: {e}"))?)
}

fn main() -> ExitCode {
    CLI.main(run)
}
