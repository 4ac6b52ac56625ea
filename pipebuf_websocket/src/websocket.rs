//! The WebSocket component: opening handshake, then frames both ways, then the close
//! handshake; stream state mapped between the byte side and the message side.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use pipebuf::{EofKind, Layer, PBufRdWr, PBufWr, Time};

use crate::close_handshake::CloseHandshake;
use crate::config::WsConfig;
use crate::frame::MAX_CONTROL_PAYLOAD;
use crate::handshake::{
    ClientRequest, Decision, RequestStatus, ResponseStatus, UpgradeRequest, parse_request,
    parse_response_offering, write_accept_with_extensions, write_reject,
};
use crate::plain_http::{HttpFn, PlainRequest, parse_plain};
use crate::receive::{Control, Receiver};
use crate::send::{RandomSource, Sender};
use crate::{HandshakeError, WsError};

/// The server's decision on an upgrade request.
pub type AcceptFn = Box<dyn FnMut(&UpgradeRequest) -> Decision + Send>;

/// Largest handshake response we write (a 101 with a subprotocol, or an error).
const RESPONSE_ROOM: usize = 1024;

enum Role {
    Server {
        accept: AcceptFn,
        request: Option<UpgradeRequest>,
    },
    Client {
        request: ClientRequest,
        nonce: [u8; 16],
        sent: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Opening handshake in progress.
    Handshake,
    /// The request was plain HTTP: the component does nothing; the application serves it.
    PlainHttp,
    /// The request was plain HTTP and the component answers it itself
    /// ([`WebSocket::answer_plain_http`]), then closes.
    AnsweringHttp,
    /// Frames flow.
    Open,
    /// An error was reported: finish writing what tells the peer, then close.
    Failed,
}

/// A WebSocket server or client between a byte pair (towards TLS/TCP) and a message pair
/// (towards the application).
///
/// Each [`process`](WebSocket::process) call takes `net`, the byte pair seen from above
/// ([`PipeBufPair::upper`](pipebuf::PipeBufPair::upper): `rd` bytes from the peer, `wr`
/// bytes to it) and `app`, the message pair seen from below
/// ([`PipeBufPair::lower`](pipebuf::PipeBufPair::lower): `rd` the application's outgoing
/// chunk records, `wr` incoming ones; see [`message`](crate::message)), plus the current
/// time on the chain's clock ([`Time`]) for keepalive, idle and close timeouts. As a
/// [`Layer`] it stacks on TLS or a user's component ([`pipebuf::Stack`]).
///
/// | from | to |
/// |---|---|
/// | peer's close frame | incoming message stream closes; the reply (with the peer's code) goes once the application closes its outgoing stream, or after `close_timeout` |
/// | application closes its outgoing stream | close frame ([`close`](WebSocket::close) sets code and reason), then the byte side closes once the peer's close frame came |
/// | application aborts | byte side aborted |
/// | byte side ends without a close frame | incoming message stream **aborted** |
/// | byte side pushed | incoming stream pushed once what came before is delivered |
/// | frames written in a call | byte side pushed |
///
/// Pings are answered automatically, each with its own pong, in order: while a pong waits
/// for room in the byte side, no further frame is read.
pub struct WebSocket {
    role: Role,
    phase: Phase,
    config: WsConfig,
    receiver: Receiver,
    sender: Sender,
    subprotocol: Option<String>,
    /// Both close frames: what each carries, whether it went, and since when.
    close: CloseHandshake,
    /// When anything last arrived from the peer.
    last_heard: Option<Time>,
    /// A keepalive ping is out and nothing arrived since.
    ping_out: bool,
    /// The handshake request or response not yet written (the byte buffer may be small).
    head_out: Vec<u8>,
    /// When the first `process` call ran: the handshake timeout counts from here.
    started: Option<Time>,
    /// The permessage-deflate parameters agreed in the handshake.
    #[cfg(feature = "deflate")]
    deflate: Option<crate::deflate::Agreed>,
    /// Server: answers plain HTTP requests itself when set.
    plain_http: Option<HttpFn>,
    /// The byte side to the peer has ended (closed or aborted) as of the last `process`:
    /// no timer can change anything any more.
    output_ended: bool,
}

impl core::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebSocket")
            .field("server", &matches!(self.role, Role::Server { .. }))
            .field("phase", &self.phase)
            .field("subprotocol", &self.subprotocol)
            .field("close", &self.close)
            .finish_non_exhaustive()
    }
}

impl WebSocket {
    /// A server. `accept` sees each upgrade request (path, headers, origin, offered
    /// subprotocols) and decides; [`accept_all`] accepts everything with no subprotocol.
    pub fn server(config: WsConfig, accept: AcceptFn) -> Self {
        Self::new(
            Role::Server {
                accept,
                request: None,
            },
            config,
            None,
        )
    }

    /// A client sending `request`, with masking keys and the handshake nonce from `random`
    /// (it must be a strong source: RFC 6455 §10.3). With the `std` feature,
    /// [`client`](WebSocket::client) brings one.
    pub fn client_with_random(
        config: WsConfig,
        request: ClientRequest,
        mut random: RandomSource,
    ) -> Self {
        let mut nonce = [0u8; 16];
        random(&mut nonce);
        Self::new(
            Role::Client {
                request,
                nonce,
                sent: false,
            },
            config,
            Some(random),
        )
    }

    /// A client sending `request`, with randomness from the operating system.
    #[cfg(feature = "std")]
    pub fn client(config: WsConfig, request: ClientRequest) -> Self {
        Self::client_with_random(config, request, crate::entropy::os_random())
    }

    fn new(role: Role, config: WsConfig, random: Option<RandomSource>) -> Self {
        let server = matches!(role, Role::Server { .. });
        WebSocket {
            role,
            phase: Phase::Handshake,
            receiver: Receiver::new(server, config.max_message),
            sender: Sender::new(random),
            config,
            subprotocol: None,
            close: CloseHandshake::Open,
            last_heard: None,
            ping_out: false,
            head_out: Vec::new(),
            started: None,
            #[cfg(feature = "deflate")]
            deflate: None,
            plain_http: None,
            output_ended: false,
        }
    }

    /// Server: answers a plain HTTP request (one that is not an upgrade) with what `http`
    /// returns, then closes the connection; the application side sees a clean end with no
    /// message. Without it, the request is left for the application
    /// ([`is_plain_http`](WebSocket::is_plain_http)). [`HttpAnswer::upgrade_required`]
    /// suits an endpoint that serves nothing else.
    ///
    /// [`HttpAnswer::upgrade_required`]: crate::HttpAnswer::upgrade_required
    pub fn answer_plain_http(mut self, http: HttpFn) -> Self {
        self.plain_http = Some(http);
        self
    }

    /// Whether the opening handshake is complete and messages flow.
    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// Server: the request was a complete HTTP request that is not a WebSocket upgrade. It
    /// is left unconsumed in the byte side for the application to serve; the component does
    /// nothing more.
    pub fn is_plain_http(&self) -> bool {
        self.phase == Phase::PlainHttp
    }

    /// The subprotocol agreed in the handshake.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The permessage-deflate parameters agreed in the opening handshake; `None` while it
    /// runs, or if compression was not agreed.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&crate::deflate::Agreed> {
        self.deflate.as_ref()
    }

    /// Server: the upgrade request that opened this connection.
    pub fn request(&self) -> Option<&UpgradeRequest> {
        match &self.role {
            Role::Server { request, .. } => request.as_ref(),
            Role::Client { .. } => None,
        }
    }

    /// The peer's close frame: `Some(None)` for a close frame without a status code.
    pub fn peer_close(&self) -> Option<Option<(u16, &str)>> {
        self.close
            .peer()
            .map(|c| c.as_ref().map(|(code, reason)| (*code, reason.as_str())))
    }

    /// Sets the code and reason of the close frame sent when the application closes its
    /// outgoing stream (default 1000 with no reason). The reason is cut to fit 123 bytes.
    pub fn close(&mut self, code: u16, reason: &str) {
        self.close.request(code, reason);
    }

    /// Queues a ping with `payload` (cut to 125 bytes), written by the next
    /// [`process`](WebSocket::process) call that has room for it. At most 4 pings wait to be
    /// written: while 4 do (the peer does not read, or the byte side is full), this one is
    /// dropped and `false` returned.
    pub fn ping(&mut self, payload: &[u8]) -> bool {
        let n = payload.len().min(MAX_CONTROL_PAYLOAD as usize);
        self.sender.queue_ping(payload[..n].to_vec())
    }

    /// When [`process`](WebSocket::process) must be called next even without I/O (keepalive,
    /// idle or close timeout), on the same clock as its `now`.
    pub fn next_deadline(&self) -> Option<Time> {
        if self.output_ended {
            // Every timer (handshake, keepalive, idle, close) acts on the byte side.
            return None;
        }
        let heard = self.last_heard?;
        let mut next: Option<Time> = None;
        let mut consider = |at: Time| next = Some(next.map_or(at, |n: Time| n.min(at)));
        if let (Phase::Handshake, Some(started)) = (self.phase, self.started) {
            consider(started + self.config.handshake_timeout);
        }
        // Keepalive and idle stop with the close handshake, as in `timers`: from then on
        // only `close_timeout` counts.
        if self.phase == Phase::Open && self.close.since().is_none() {
            if let Some(k) = self.config.keepalive
                && !self.ping_out
            {
                consider(heard + k);
            }
            if let Some(idle) = self.config.idle_timeout {
                consider(heard + idle);
            }
        }
        if let Some(started) = self.close.since() {
            consider(started + self.config.close_timeout);
        }
        next
    }

    /// Runs the connection as far as the buffers allow; returns whether anything observable
    /// happened. See the type's docs for the buffers and the stream-state rules.
    pub fn process(
        &mut self,
        now: Time,
        mut net: PBufRdWr<'_>,
        mut app: PBufRdWr<'_>,
    ) -> Result<bool, WsError> {
        let before = [
            net.rd.tripwire(),
            net.wr.tripwire(),
            app.rd.tripwire(),
            app.wr.tripwire(),
        ];
        self.last_heard.get_or_insert(now);
        let started = *self.started.get_or_insert(now);
        self.flush_head(&mut net.wr);
        let result = match self.phase {
            Phase::Handshake if now >= started + self.config.handshake_timeout => {
                Err(WsError::HandshakeTimeout)
            }
            Phase::Handshake => self.handshake(&mut net, &mut app),
            Phase::Open => self.open(now, &mut net, &mut app),
            Phase::PlainHttp => Ok(()),
            Phase::AnsweringHttp => {
                self.answer_http(&mut net, &mut app);
                Ok(())
            }
            Phase::Failed => {
                self.finish_failed(now, &mut net, &mut app);
                Ok(())
            }
        };
        if let Err(e) = &result {
            log_at!(
                debug,
                "WebSocket failed: {e}; close code sent: {:?}",
                e.close_code().filter(|_| self.phase == Phase::Open)
            );
            self.fail(e, now, &mut net, &mut app);
        }
        self.flush_head(&mut net.wr);
        self.output_ended = net.wr.is_eof();
        let after = [
            net.rd.tripwire(),
            net.wr.tripwire(),
            app.rd.tripwire(),
            app.wr.tripwire(),
        ];
        result.map(|()| before != after)
    }

    /// After an error: tell the peer, abort the application's incoming stream, stop reading.
    fn fail(&mut self, e: &WsError, now: Time, net: &mut PBufRdWr<'_>, app: &mut PBufRdWr<'_>) {
        if let (Some(code), Phase::Open) = (e.close_code(), self.phase) {
            self.close.queue_status(Some((code, "")), now);
        }
        self.phase = Phase::Failed;
        if !app.wr.is_eof() {
            app.wr.abort();
        }
        self.finish_failed(now, net, app);
    }

    /// Writes what is left of the handshake request or response; returns whether all is out.
    fn flush_head(&mut self, wr: &mut PBufWr<'_>) -> bool {
        if !self.head_out.is_empty() && !wr.is_eof() {
            let n = wr.append_some(&self.head_out).unwrap_or(0);
            self.head_out.drain(..n);
            if self.head_out.is_empty() {
                // Written once per connection: its capacity is not worth keeping.
                self.head_out = Vec::new();
                wr.push();
            }
        }
        self.head_out.is_empty()
    }

    fn finish_failed(&mut self, now: Time, net: &mut PBufRdWr<'_>, app: &mut PBufRdWr<'_>) {
        net.rd.discard();
        app.rd.discard();
        if net.wr.is_eof() || !self.flush_head(&mut net.wr) {
            return;
        }
        let _ = self
            .sender
            .send(&mut app.rd, &mut net.wr, &mut self.close, now, false);
        if self.close.frame_to_write().is_none() {
            net.wr.push();
            net.wr.close();
        }
    }

    /// Writes the answer to a plain HTTP request, then closes; input is dropped.
    fn answer_http(&mut self, net: &mut PBufRdWr<'_>, app: &mut PBufRdWr<'_>) {
        net.rd.discard();
        app.rd.discard();
        if !app.wr.is_eof() {
            app.wr.close();
        }
        if !net.wr.is_eof() && self.flush_head(&mut net.wr) {
            net.wr.close();
        }
    }

    // ---------------------------------------------------------------------------------
    // Opening handshake

    fn handshake(&mut self, net: &mut PBufRdWr<'_>, app: &mut PBufRdWr<'_>) -> Result<(), WsError> {
        let limits = self.config.handshake;
        #[cfg(feature = "deflate")]
        let deflate_config = self.config.deflate;
        #[cfg(feature = "deflate")]
        let mut agreed = None;
        let opened = match &mut self.role {
            Role::Server { accept, request } => {
                match parse_request(net.rd.data(), &limits) {
                    Ok(RequestStatus::Partial) => None,
                    Ok(RequestStatus::NotWebSocket { .. }) => {
                        self.phase = Phase::PlainHttp;
                        if let Some(http) = &mut self.plain_http {
                            let answer = match parse_plain(net.rd.data()) {
                                Some((method, path)) => http(&PlainRequest { method, path }),
                                None => crate::HttpAnswer::text(400, "Bad request\n"),
                            };
                            self.head_out = answer.to_bytes();
                            self.phase = Phase::AnsweringHttp;
                            self.answer_http(net, app);
                        }
                        return Ok(());
                    }
                    Err(reason) => {
                        let _ = write_response(&mut self.head_out, |out| {
                            write_reject(reason.status(), out)
                        });
                        return Err(WsError::Rejected(reason));
                    }
                    Ok(RequestStatus::Complete(req, len)) => {
                        let _ = net.rd.consume(len);
                        match accept(&req).into_outcome() {
                            Ok((subprotocol, headers)) => {
                                #[cfg(feature = "deflate")]
                                {
                                    agreed = deflate_config.and_then(|config| {
                                        crate::deflate::negotiation::server_accept(
                                            req.headers().get_all("sec-websocket-extensions"),
                                            &config,
                                        )
                                    });
                                }
                                #[cfg(feature = "deflate")]
                                let extensions = agreed.map(|a| a.response());
                                #[cfg(not(feature = "deflate"))]
                                let extensions: Option<String> = None;
                                let extra: Vec<(&str, &str)> = headers
                                    .iter()
                                    .map(|(name, value)| (name.as_str(), value.as_str()))
                                    .collect();
                                let written = write_response(&mut self.head_out, |out| {
                                    write_accept_with_extensions(
                                        &req,
                                        subprotocol.as_deref(),
                                        extensions.as_deref(),
                                        &extra,
                                        out,
                                    )
                                });
                                if written.is_err() {
                                    // The application picked a subprotocol the client did not
                                    // offer, or an extra header the handshake refuses: its
                                    // mistake, answered as one.
                                    let _ = write_response(&mut self.head_out, |out| {
                                        write_reject(500, out)
                                    });
                                    return Err(WsError::Refused(500));
                                }
                                *request = Some(req);
                                Some(subprotocol)
                            }
                            Err(status) => {
                                let _ = write_response(&mut self.head_out, |out| {
                                    write_reject(status, out)
                                });
                                return Err(WsError::Refused(status));
                            }
                        }
                    }
                }
            }
            Role::Client {
                request,
                nonce,
                sent,
            } => {
                #[cfg(feature = "deflate")]
                let offer = deflate_config.map(|c| crate::deflate::negotiation::client_offer(&c));
                #[cfg(not(feature = "deflate"))]
                let offer: Option<String> = None;
                if !*sent {
                    let (req, key) = (&*request, *nonce);
                    write_response(&mut self.head_out, |out| {
                        req.write_request_with_extensions(key, offer.as_deref(), out)
                    })
                    .map_err(WsError::Handshake)?;
                    *sent = true;
                }
                let parsed = parse_response_offering(
                    net.rd.data(),
                    *nonce,
                    &request.subprotocols,
                    offer.is_some(),
                    &limits,
                );
                match parsed {
                    Ok(ResponseStatus::Partial) => None,
                    Ok(ResponseStatus::Complete(response, len)) => {
                        #[cfg(feature = "deflate")]
                        if offer.is_some() {
                            agreed = crate::deflate::negotiation::client_check(
                                response.headers().get_all("sec-websocket-extensions"),
                            )
                            .map_err(|()| WsError::Handshake(HandshakeError::BadExtensions))?;
                        }
                        let _ = net.rd.consume(len);
                        Some(response.subprotocol().map(String::from))
                    }
                    Err(e) => return Err(WsError::Handshake(e)),
                }
            }
        };
        match opened {
            Some(subprotocol) => {
                #[cfg(feature = "deflate")]
                self.start_deflate(agreed);
                self.subprotocol = subprotocol;
                self.phase = Phase::Open;
                #[cfg(feature = "deflate")]
                let compressed = self.deflate.is_some();
                #[cfg(not(feature = "deflate"))]
                let compressed = false;
                log_at!(
                    debug,
                    "WebSocket open: subprotocol {:?}, {}",
                    self.subprotocol,
                    if compressed {
                        "compressed"
                    } else {
                        "uncompressed"
                    }
                );
                net.wr.push();
                Ok(())
            }
            None if net.rd.pending_eof().is_some() => {
                // The peer left during the handshake.
                net.rd.discard();
                self.phase = Phase::Failed;
                if !app.wr.is_eof() {
                    app.wr.abort();
                }
                net.wr.close();
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Sets up compression both ways as agreed.
    #[cfg(feature = "deflate")]
    fn start_deflate(&mut self, agreed: Option<crate::deflate::Agreed>) {
        use crate::deflate::deflater::Deflater;
        use crate::deflate::inflater::Inflater;
        let (Some(agreed), Some(config)) = (agreed, self.config.deflate) else {
            return;
        };
        let server = matches!(self.role, Role::Server { .. });
        self.receiver
            .inflate_with(Inflater::new(agreed.resets(!server)));
        self.sender.deflate_with(Deflater::new(
            config.level,
            agreed.resets(server),
            config.threshold,
        ));
        self.deflate = Some(agreed);
    }

    // ---------------------------------------------------------------------------------
    // Open connection

    fn open(
        &mut self,
        now: Time,
        net: &mut PBufRdWr<'_>,
        app: &mut PBufRdWr<'_>,
    ) -> Result<(), WsError> {
        self.receive(now, net, app)?;
        self.timers(now)?;
        if !self.flush_head(&mut net.wr) {
            // The 101 response goes before any frame.
            return Ok(());
        }
        self.send(now, net, app)
    }

    fn receive(
        &mut self,
        now: Time,
        net: &mut PBufRdWr<'_>,
        app: &mut PBufRdWr<'_>,
    ) -> Result<(), WsError> {
        let before = net.rd.tripwire();
        while !self.close.peer_closed() && !app.wr.is_eof() {
            if !self.sender.write_pong(&mut net.wr, &self.close) {
                // The last ping's pong waits for room: read no further, like any full
                // output, so that every ping gets its pong and memory stays bounded.
                break;
            }
            match self.receiver.receive(&mut net.rd, &mut app.wr)? {
                None => break,
                Some(Control::Ping(payload)) => self.sender.queue_pong(payload),
                Some(Control::Pong) => (),
                Some(Control::Close(close)) => {
                    match &close {
                        Some((code, reason)) => {
                            log_at!(debug, "WebSocket close from the peer: {code} {reason:?}");
                        }
                        None => log_at!(debug, "WebSocket close from the peer without a code"),
                    }
                    // Like a FIN: the application sees the end of its incoming stream and
                    // answers by closing its outgoing one (after what it still has to say),
                    // which sends our close frame; `close_timeout` bounds the wait.
                    self.close.peer_closes(close, now);
                    app.wr.push();
                    app.wr.close();
                }
            }
        }
        let held_back = !net.rd.is_empty() && !self.receiver.is_starved(net.rd.data());
        if net.rd.tripwire() != before || held_back {
            // (Bytes our own application is too slow to take are not the peer's silence.)
            self.last_heard = Some(now);
            self.ping_out = false;
        }
        if self.close.peer_closed() || app.wr.is_eof() {
            // Nothing after the close frame counts; after an abort nothing can be delivered.
            net.rd.consume_all();
        }
        if net.rd.pending_eof().is_some()
            && !net.rd.is_empty()
            && self.receiver.is_starved(net.rd.data())
        {
            // The stream ended inside a frame: what is left can never complete.
            net.rd.consume_all();
        }
        if net.rd.is_empty() && net.rd.consume_push() && !app.wr.is_eof() {
            app.wr.push();
        }
        if net.rd.is_empty() && net.rd.has_pending_eof() {
            net.rd.consume_eof();
            if !self.close.peer_closed() && !app.wr.is_eof() {
                // The byte stream ended without a close frame: the connection broke.
                app.wr.abort();
            }
            // Nobody can answer a close frame now: an empty one just ends our side.
            self.close.peer_vanished(now);
        }
        Ok(())
    }

    fn timers(&mut self, now: Time) -> Result<(), WsError> {
        let Some(heard) = self.last_heard else {
            return Ok(());
        };
        if self.close.since().is_some() {
            // Closing: silence is expected now, and `close_timeout` bounds it.
            return Ok(());
        }
        if let Some(idle) = self.config.idle_timeout
            && now >= heard + idle
        {
            return Err(WsError::IdleTimeout);
        }
        if let Some(k) = self.config.keepalive
            && !self.ping_out
            && now >= heard + k
        {
            // (Dropped if the application's pings fill the queue: those count too.)
            self.sender.queue_ping(Vec::new());
            self.ping_out = true;
        }
        Ok(())
    }

    fn send(
        &mut self,
        now: Time,
        net: &mut PBufRdWr<'_>,
        app: &mut PBufRdWr<'_>,
    ) -> Result<(), WsError> {
        if net.wr.is_eof() {
            app.rd.discard();
            return Ok(());
        }
        if app.rd.pending_eof() == Some(EofKind::Abort) {
            app.rd.discard();
            net.wr.abort();
            if !app.wr.is_eof() {
                app.wr.abort();
            }
            return Ok(());
        }
        if app.rd.is_empty() && app.rd.has_pending_eof() {
            app.rd.consume_push();
            app.rd.consume_eof();
            self.close.queue_ours(now);
        }
        let timed_out = self
            .close
            .since()
            .is_some_and(|started| now >= started + self.config.close_timeout);
        if timed_out && self.close.awaits_reply() {
            // The application never closed after the peer did: answer anyway.
            self.close.queue_ours(now);
        }
        let data_allowed = !self.close.ours_written();
        let wrote =
            self.sender
                .send(&mut app.rd, &mut net.wr, &mut self.close, now, data_allowed)?;
        if data_allowed
            && app.rd.pending_eof().is_some()
            && !app.rd.is_empty()
            && crate::message::read_chunk(&app.rd).ok().flatten().is_none()
            && crate::message::parse_control_record(app.rd.data()).is_none()
        {
            // What is left before the end of the stream can never become a whole record.
            return Err(WsError::BadChunk(crate::message::ChunkError::Truncated));
        }
        if self.close.ours_written() {
            // No data after our close frame.
            app.rd.discard();
        }
        if wrote {
            net.wr.push();
        }
        let peer_gone = net.rd.is_done();
        if self.close.is_closed() || (self.close.ours_written() && peer_gone) {
            net.wr.close();
        } else if timed_out && (self.close.ours_written() || !self.close.peer_closed()) {
            // The peer neither reads nor answers: give up on the close handshake.
            net.wr.abort();
            if !app.wr.is_eof() {
                app.wr.abort();
            }
        }
        Ok(())
    }
}

/// Appends a handshake response (or request) produced by `write` to `out`, with as much
/// room as it asks for.
fn write_response(
    out: &mut Vec<u8>,
    mut write: impl FnMut(&mut [u8]) -> Result<usize, HandshakeError>,
) -> Result<(), HandshakeError> {
    let start = out.len();
    let mut room = RESPONSE_ROOM;
    for _ in 0..2 {
        out.resize(start + room, 0);
        match write(&mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                return Ok(());
            }
            Err(HandshakeError::BufferTooSmall { needed }) => room = needed,
            Err(e) => {
                out.truncate(start);
                return Err(e);
            }
        }
    }
    out.truncate(start);
    Err(HandshakeError::Malformed)
}

/// An accept callback that accepts every upgrade request, with no subprotocol.
pub fn accept_all() -> AcceptFn {
    Box::new(|_| Decision::Accept { subprotocol: None })
}

impl Layer for WebSocket {
    type Error = WsError;

    fn process(
        &mut self,
        now: Time,
        net: PBufRdWr<'_>,
        app: PBufRdWr<'_>,
    ) -> Result<bool, WsError> {
        WebSocket::process(self, now, net, app)
    }

    fn next_deadline(&self) -> Option<Time> {
        WebSocket::next_deadline(self)
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use pipebuf::{EofKind, PipeBufPair};

    use super::*;

    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn a_connection_whose_byte_side_has_ended_has_no_deadline_left() {
        // Found by the ws_stack fuzz target: once the close timeout had aborted the byte
        // side, the deadline stayed at the timeout, in the past, so a driver that waits for
        // it would wake at once, again and again.
        let config = WsConfig {
            close_timeout: Duration::from_millis(40),
            ..WsConfig::default()
        };
        let mut ws = WebSocket::server(config, accept_all());
        let (mut net, mut app) = (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
        net.lower().wr.append(REQUEST).unwrap();
        ws.process(Time::ZERO, net.upper(), app.lower()).unwrap();
        assert!(ws.is_open());
        // Our close frame goes out; the peer never answers.
        app.upper().wr.close();
        ws.process(Time::ZERO, net.upper(), app.lower()).unwrap();
        assert_eq!(ws.next_deadline(), Some(Time::from_millis(40)));
        let late = Time::from_millis(100);
        ws.process(late, net.upper(), app.lower()).unwrap();
        let mut peer = net.lower();
        peer.rd.consume_all();
        assert_eq!(peer.rd.consume_eof(), Some(EofKind::Abort));
        assert_eq!(ws.next_deadline(), None);
    }

    #[test]
    fn once_the_close_handshake_began_only_its_timeout_is_a_deadline() {
        // Found by the ws_stack fuzz target: while our close frame awaited its answer, the
        // deadline still named the keepalive (which `process` no longer acts on then), so a
        // driver woke at that time and after it, again and again, until the close timeout.
        let config = WsConfig {
            keepalive: Some(Duration::from_millis(40)),
            idle_timeout: Some(Duration::from_millis(60)),
            close_timeout: Duration::from_millis(100),
            ..WsConfig::default()
        };
        let mut ws = WebSocket::server(config, accept_all());
        let (mut net, mut app) = (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
        net.lower().wr.append(REQUEST).unwrap();
        ws.process(Time::ZERO, net.upper(), app.lower()).unwrap();
        assert_eq!(ws.next_deadline(), Some(Time::from_millis(40)));
        app.upper().wr.close();
        ws.process(Time::ZERO, net.upper(), app.lower()).unwrap();
        assert_eq!(ws.next_deadline(), Some(Time::from_millis(100)));
        let now = Time::from_millis(50);
        ws.process(now, net.upper(), app.lower()).unwrap();
        assert!(!ws.process(now, net.upper(), app.lower()).unwrap());
        assert_eq!(ws.next_deadline(), Some(Time::from_millis(100)));
    }
}
