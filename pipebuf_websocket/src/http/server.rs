//! The per-connection state machine: one request at a time, its body in, its response out.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::vec::Vec;

use pipebuf::{EofKind, Layer, PBufRdWr, PBufWr, Time};

use super::body::{Chunked, LAST_CHUNK, write_chunk};
use super::error::{HttpError, Refusal};
use super::records::{self, Record, parse_record};
use super::request::{BodyLength, Framing, Parsed, parse_head};
use super::response::{
    OutLength, is_bodiless, push_fields, refusal_head, write_framing, write_head, write_status_line,
};
use super::{Body, HttpConfig, RequestHead, Response};

/// A handler: the response to each request head (see [`HttpServer::with_handler`]).
pub type Handler = Box<dyn FnMut(&RequestHead) -> Response + Send>;

/// The interim answer to `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Most bytes read from a handler's body reader per call.
#[cfg(feature = "std")]
const READ_STEP: usize = 64 * 1024;

/// Where the connection is.
enum State {
    /// Waiting for the next request head (or the end of the connection).
    AwaitingHead,
    /// A complete request head waits at the start of the input for room in the
    /// application's record buffer: the application holds the connection up, not the peer,
    /// so the idle timeout does not run.
    HeadHeld,
    /// A request is being served.
    Exchange(Exchange),
    /// A WebSocket upgrade request waits unread at the start of the input.
    Upgrade,
    /// The last bytes are going out; then the byte side closes.
    Closing,
    /// The byte side has ended.
    Done,
}

/// One request and its response, which progress side by side.
struct Exchange {
    framing: Framing,
    http11: bool,
    body_in: BodyIn,
    response: Outgoing,
}

/// The request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyIn {
    /// `Content-Length` bytes still to come.
    Fixed { left: u64 },
    /// A chunked body, with the data bytes received so far.
    Chunked { decoder: Chunked, received: u64 },
    /// Read whole; the application's end record is still owed.
    EndRecord,
    /// Read whole and reported.
    Complete,
}

/// The response.
enum Outgoing {
    /// Records mode: the application's response head has not come yet.
    AwaitingHead,
    /// The head is written (or queued); the body goes out.
    Body { length: OutLength, source: Source },
    /// Sent whole.
    Complete,
}

/// Where a response body comes from.
enum Source {
    /// The application's body records; `taken` bytes of the first one already went.
    Records { taken: usize, send: bool },
    /// A handler's bytes, sent up to `at`.
    Bytes { body: Cow<'static, [u8]>, at: usize },
    /// A handler's reader.
    #[cfg(feature = "std")]
    Reader(Box<dyn std::io::Read + Send>),
}

/// An HTTP/1.1 server connection between a byte pair (towards TLS or TCP) and the
/// application: see the [module docs](super) for the rules.
///
/// Each [`process`](HttpServer::process) call takes `net`, the byte pair seen from above
/// (`rd` bytes from the peer, `wr` bytes to it), and `app`, the record pair seen from below
/// (`rd` the application's response records, `wr` request records for it; see
/// [`records`]), plus the time for the idle timeout. With a handler the record pair carries
/// no requests: the server closes its `wr` when the connection ends, and the application
/// closing its `rd` ends the connection after the response in progress.
///
/// ```
/// use pipebuf::{PipeBufPair, Time};
/// use pipebuf_websocket::http::{Body, HttpConfig, HttpServer, Response};
///
/// let mut server = HttpServer::with_handler(
///     HttpConfig::default(),
///     Box::new(|request| match request.path() {
///         "/" => Response::text(200, "hello\n"),
///         _ => Response::text(404, "not found\n"),
///     }),
/// );
/// let (mut net, mut app) = (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
/// // Two pipelined requests in one write.
/// net.lower()
///     .wr
///     .append(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n")
///     .unwrap();
/// server.process(Time::ZERO, net.upper(), app.lower()).unwrap();
/// let answer = String::from_utf8(net.lower().rd.data().to_vec()).unwrap();
/// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(answer.ends_with("\r\n\r\nnot found\n"));
/// ```
pub struct HttpServer {
    config: HttpConfig,
    handler: Option<Handler>,
    state: State,
    /// Heads and chunk ends not yet in the byte side (it may be full).
    out: Vec<u8>,
    /// The request head being started; refilled for each request, so its memory is reused.
    head: RequestHead,
    /// When bytes last arrived from the peer: the idle timeout counts from here.
    last_heard: Option<Time>,
    /// Bytes waiting in the input after the last call, to notice new ones.
    seen_len: usize,
    /// The application closed its side: end after the response in progress.
    app_closed: bool,
}

impl core::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = match &self.state {
            State::AwaitingHead => "awaiting head",
            State::HeadHeld => "head held for the application",
            State::Exchange(_) => "exchange",
            State::Upgrade => "upgrade pending",
            State::Closing => "closing",
            State::Done => "done",
        };
        f.debug_struct("HttpServer")
            .field("state", &state)
            .field("handler", &self.handler.is_some())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HttpServer {
    /// A server in records mode: requests go to the application as [`records`], and it
    /// answers with records.
    pub fn new(config: HttpConfig) -> HttpServer {
        HttpServer {
            config,
            handler: None,
            state: State::AwaitingHead,
            out: Vec::new(),
            head: RequestHead::empty(),
            last_heard: None,
            seen_len: 0,
            app_closed: false,
        }
    }

    /// A server that answers each request with what `handler` returns; request bodies are
    /// read and dropped.
    pub fn with_handler(config: HttpConfig, handler: Handler) -> HttpServer {
        HttpServer {
            handler: Some(handler),
            ..HttpServer::new(config)
        }
    }

    /// Whether the server stopped at a WebSocket upgrade request, left unread at the start
    /// of the byte side's input (only with
    /// [`HttpConfig::stop_at_websocket_upgrade`]); it does nothing more.
    pub fn upgrade_pending(&self) -> bool {
        matches!(self.state, State::Upgrade)
    }

    /// Whether the connection has ended on the byte side.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// When [`process`](HttpServer::process) must be called even without I/O: the idle
    /// timeout, while the server waits for the peer.
    pub fn next_deadline(&self) -> Option<Time> {
        let waiting = match &self.state {
            State::AwaitingHead => true,
            State::Exchange(x) => {
                matches!(x.body_in, BodyIn::Fixed { .. } | BodyIn::Chunked { .. })
            }
            _ => false,
        };
        let idle = self.config.idle_timeout?;
        waiting.then_some(self.last_heard? + idle)
    }

    /// Runs the connection as far as the buffers allow; returns whether anything observable
    /// happened. After an `Err` the buffers are final (see [`HttpError`]).
    pub fn process(
        &mut self,
        now: Time,
        mut net: PBufRdWr<'_>,
        mut app: PBufRdWr<'_>,
    ) -> Result<bool, HttpError> {
        if matches!(self.state, State::Upgrade) {
            // The bytes belong to the layer that takes over.
            return Ok(false);
        }
        let before = [
            net.rd.tripwire(),
            net.wr.tripwire(),
            app.rd.tripwire(),
            app.wr.tripwire(),
        ];
        if self.last_heard.is_none() || net.rd.len() != self.seen_len {
            self.last_heard = Some(now);
        }
        let mut changed = false;
        let result = self.run(now, &mut net, &mut app, &mut changed);
        if let Err(e) = &result {
            log_at!(debug, "HTTP connection failed: {e}");
            self.fail(e, &mut net, &mut app);
            changed = true;
        }
        self.seen_len = net.rd.len();
        let after = [
            net.rd.tripwire(),
            net.wr.tripwire(),
            app.rd.tripwire(),
            app.wr.tripwire(),
        ];
        result.map(|()| changed || before != after)
    }

    fn run(
        &mut self,
        now: Time,
        net: &mut PBufRdWr<'_>,
        app: &mut PBufRdWr<'_>,
        changed: &mut bool,
    ) -> Result<(), HttpError> {
        loop {
            self.watch_application(net, app);
            let progress = match self.state {
                State::AwaitingHead | State::HeadHeld => self.start_request(now, net, app)?,
                State::Exchange(_) => self.exchange(now, net, app)?,
                State::Closing => self.closing(net, app),
                State::Upgrade => false,
                State::Done => {
                    net.rd.discard();
                    app.rd.discard();
                    false
                }
            };
            if !progress {
                return Ok(());
            }
            *changed = true;
        }
    }

    /// The application's side: in handler mode its data means nothing; its end of stream
    /// ends the connection (abort at once, close after the response in progress).
    fn watch_application(&mut self, net: &mut PBufRdWr<'_>, app: &mut PBufRdWr<'_>) {
        if self.handler.is_some() {
            app.rd.consume_all();
            app.rd.consume_push();
        }
        if !app.rd.is_empty() {
            return;
        }
        match app.rd.pending_eof() {
            Some(EofKind::Abort) => {
                app.rd.consume_eof();
                self.abort(net, app);
            }
            Some(EofKind::Close) => {
                app.rd.consume_eof();
                self.app_closed = true;
            }
            None => (),
        }
    }

    /// Writes what `out` holds; whether it is all out.
    fn flush(&mut self, wr: &mut PBufWr<'_>) -> bool {
        if !self.out.is_empty() && !wr.is_eof() {
            let n = wr.append_some(&self.out).unwrap_or(0);
            self.out.drain(..n);
            if self.out.is_empty() && self.out.capacity() > 4096 {
                self.out = Vec::new();
            }
        }
        self.out.is_empty()
    }

    fn idle_expired(&self, now: Time) -> bool {
        match (self.config.idle_timeout, self.last_heard) {
            (Some(idle), Some(heard)) => now >= heard + idle,
            _ => false,
        }
    }

    // ---------------------------------------------------------------------------------
    // Between requests

    fn start_request(
        &mut self,
        now: Time,
        net: &mut PBufRdWr<'_>,
        app: &mut PBufRdWr<'_>,
    ) -> Result<bool, HttpError> {
        if self.app_closed {
            self.state = State::Closing;
            return Ok(true);
        }
        // RFC 9112 §2.2: empty lines before a request line are to be ignored.
        let blank = net
            .rd
            .data()
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        if blank > 0 {
            let _ = net.rd.consume(blank);
            return Ok(true);
        }
        if net.rd.is_empty() {
            net.rd.consume_push();
            match net.rd.consume_eof() {
                Some(EofKind::Close) => {
                    // The peer is done asking: what it asked is answered, so end too.
                    self.state = State::Closing;
                    return Ok(true);
                }
                Some(EofKind::Abort) => {
                    self.abort(net, app);
                    return Ok(true);
                }
                None => (),
            }
            if self.idle_expired(now) {
                log_at!(debug, "HTTP connection idle: closing");
                self.state = State::Closing;
                return Ok(true);
            }
            return Ok(false);
        }
        // Parsed into the server's own head, whose memory serves request after request.
        let head = &mut self.head;
        let (framing, len) = match parse_head(net.rd.data(), &self.config, head) {
            Ok(Parsed::Partial) => {
                // The head's first bytes still wait in the input, so look at the end of
                // stream behind them (`has_pending_eof` is only true once none wait).
                if net.rd.pending_eof().is_some() {
                    // Broken off inside a head: nothing can be answered.
                    net.rd.consume_all();
                    net.rd.consume_eof();
                    self.abort(net, app);
                    return Ok(true);
                }
                if self.idle_expired(now) {
                    return Err(HttpError::Refused(Refusal::Timeout));
                }
                return Ok(false);
            }
            Err(refusal) => return Err(HttpError::Refused(refusal)),
            Ok(Parsed::Complete { framing, len }) => (framing, len),
        };
        let head = &self.head;
        if framing.websocket_upgrade && self.config.stop_at_websocket_upgrade {
            log_at!(
                debug,
                "HTTP connection: upgrade to WebSocket at {}",
                head.target()
            );
            self.state = State::Upgrade;
            return Ok(true);
        }
        let response = match &mut self.handler {
            Some(handler) => {
                let response = handler(head);
                start_response(&mut self.out, response, &framing, head.is_http11())
            }
            None => {
                if let Err(records::RecordError::Full) =
                    records::put_head(&mut app.wr, head.headers().raw_head())
                {
                    if records::RECORD_HEADER_LEN + len > app.wr.limit() {
                        // The record can never fit the application's buffer: refused, not
                        // waited for for ever.
                        return Err(HttpError::Refused(Refusal::HeadTooLarge));
                    }
                    // Backpressure: the head stays in the input until the record fits.
                    self.state = State::HeadHeld;
                    return Ok(false);
                }
                Outgoing::AwaitingHead
            }
        };
        let _ = net.rd.consume(len);
        let body_in = match framing.body {
            BodyLength::Fixed(0) => BodyIn::EndRecord,
            BodyLength::Fixed(left) => BodyIn::Fixed { left },
            BodyLength::Chunked => BodyIn::Chunked {
                decoder: Chunked::START,
                received: 0,
            },
        };
        if framing.expect_continue && body_in != BodyIn::EndRecord {
            // Sent before any final response, so the client sends the body we will read.
            self.out.splice(0..0, CONTINUE.iter().copied());
        }
        self.state = State::Exchange(Exchange {
            framing,
            http11: head.is_http11(),
            body_in,
            response,
        });
        Ok(true)
    }

    // ---------------------------------------------------------------------------------
    // One request

    fn exchange(
        &mut self,
        now: Time,
        net: &mut PBufRdWr<'_>,
        app: &mut PBufRdWr<'_>,
    ) -> Result<bool, HttpError> {
        let records_mode = self.handler.is_none();
        let max_body = self.config.max_body;
        let expired = self.idle_expired(now);
        let flushed = self.flush(&mut net.wr);
        let State::Exchange(x) = &mut self.state else {
            return Ok(false);
        };
        let mut progress = false;
        // The body in: to the application while it may still answer, else dropped.
        let deliver = records_mode && !matches!(x.response, Outgoing::Complete);
        // The body is read only while it goes to the application or while the next request
        // lies behind it: on a connection that closes after the response, a handler's
        // request body (or the rest of one after the answer) is not read, so that neither an
        // error in it nor its end depends on how its bytes were cut.
        let body_needed = deliver || (x.framing.keep_alive && !self.app_closed);
        if body_needed {
            progress |= read_body(&mut x.body_in, net, app, deliver, max_body)?;
        }
        if let BodyIn::EndRecord = x.body_in
            && (!deliver || records::put_end(&mut app.wr).is_ok())
        {
            x.body_in = BodyIn::Complete;
            progress = true;
        }
        let body_pending =
            body_needed && matches!(x.body_in, BodyIn::Fixed { .. } | BodyIn::Chunked { .. });
        if body_pending && net.rd.is_empty() && net.rd.has_pending_eof() {
            // Broken off inside a body.
            net.rd.consume_eof();
            self.abort(net, app);
            return Ok(true);
        }
        if body_pending && expired {
            return Err(HttpError::Refused(Refusal::Timeout));
        }
        // The response out.
        if flushed {
            match &mut x.response {
                Outgoing::AwaitingHead => {
                    match parse_record(app.rd.data()).map_err(|_| HttpError::BadRecord)? {
                        Some((Record::Head(payload), len)) => {
                            let head = records::parse_response_head(payload)
                                .ok_or(HttpError::BadRecord)?;
                            let response = record_response(&mut self.out, head, x);
                            x.response = response;
                            let _ = app.rd.consume(len);
                            progress = true;
                        }
                        // A body or end record before any head.
                        Some(_) => return Err(HttpError::BadRecord),
                        None if self.app_closed => {
                            // The application left without answering.
                            self.abort(net, app);
                            return Ok(true);
                        }
                        None => (),
                    }
                }
                Outgoing::Body { .. } => {
                    progress |= send_body(&mut x.response, &mut self.out, net, app)?;
                }
                Outgoing::Complete => (),
            }
        }
        let State::Exchange(x) = &mut self.state else {
            return Ok(progress);
        };
        if let Outgoing::Complete = x.response
            && self.out.is_empty()
        {
            let keep = x.framing.keep_alive && !self.app_closed;
            if x.body_in == BodyIn::Complete || !keep {
                net.wr.push();
                self.state = if keep {
                    State::AwaitingHead
                } else {
                    State::Closing
                };
                return Ok(true);
            }
        }
        if self.app_closed && matches!(x.response, Outgoing::Body { .. }) && app.rd.is_empty() {
            // The stream ended inside the response: the peer must not take it as whole.
            self.abort(net, app);
            return Ok(true);
        }
        Ok(progress)
    }

    // ---------------------------------------------------------------------------------
    // Ends

    fn closing(&mut self, net: &mut PBufRdWr<'_>, app: &mut PBufRdWr<'_>) -> bool {
        net.rd.discard();
        if !self.flush(&mut net.wr) {
            return false;
        }
        if !net.wr.is_eof() {
            net.wr.push();
            net.wr.close();
        }
        if !app.wr.is_eof() {
            app.wr.close();
        }
        app.rd.discard();
        self.state = State::Done;
        true
    }

    /// Ends both sides as broken.
    fn abort(&mut self, net: &mut PBufRdWr<'_>, app: &mut PBufRdWr<'_>) {
        self.out.clear();
        net.rd.discard();
        app.rd.discard();
        if !net.wr.is_eof() {
            net.wr.abort();
        }
        if !app.wr.is_eof() {
            app.wr.abort();
        }
        self.state = State::Done;
    }

    /// After an error: a refusal is answered if no response has begun, and ends the
    /// connection cleanly if the response is complete; anything else aborts.
    fn fail(&mut self, e: &HttpError, net: &mut PBufRdWr<'_>, app: &mut PBufRdWr<'_>) {
        let unanswered = match &self.state {
            State::AwaitingHead | State::HeadHeld => true,
            State::Exchange(x) => matches!(x.response, Outgoing::AwaitingHead),
            _ => false,
        };
        let answered = matches!(&self.state, State::Exchange(x) if matches!(x.response, Outgoing::Complete))
            && self.out.is_empty();
        match e {
            HttpError::Refused(refusal) if unanswered && !net.wr.is_eof() => {
                log_at!(debug, "HTTP request refused: {refusal}");
                // A queued `100 Continue` may go first; a final answer may follow it.
                refusal_head(&mut self.out, refusal.status());
                if self.flush(&mut net.wr) {
                    net.wr.push();
                    net.wr.close();
                } else {
                    net.wr.abort();
                }
                self.out.clear();
                net.rd.discard();
                app.rd.discard();
                if !app.wr.is_eof() {
                    app.wr.abort();
                }
                self.state = State::Done;
            }
            HttpError::Refused(_) if answered => {
                // The request's response went out whole; only its body broke: end cleanly,
                // since no answer is owed, but the application learns the body was cut.
                self.out.clear();
                net.rd.discard();
                app.rd.discard();
                if !net.wr.is_eof() {
                    net.wr.push();
                    net.wr.close();
                }
                if !app.wr.is_eof() {
                    app.wr.abort();
                }
                self.state = State::Done;
            }
            _ => self.abort(net, app),
        }
    }
}

/// Reads what it can of the request body from `net.rd`: to the application as body records
/// when `deliver`, else dropped.
fn read_body(
    body_in: &mut BodyIn,
    net: &mut PBufRdWr<'_>,
    app: &mut PBufRdWr<'_>,
    deliver: bool,
    max_body: u64,
) -> Result<bool, HttpError> {
    let mut progress = false;
    let take = |data: &[u8], app: &mut PBufRdWr<'_>| -> usize {
        if deliver {
            records::put_body_some(&mut app.wr, data).unwrap_or(0)
        } else {
            data.len()
        }
    };
    loop {
        match body_in {
            BodyIn::Fixed { left } => {
                let avail = net.rd.data();
                let n = avail
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                let k = take(&avail[..n], app);
                if k == 0 {
                    return Ok(progress);
                }
                let _ = net.rd.consume(k);
                *left -= k as u64;
                if *left == 0 {
                    *body_in = BodyIn::EndRecord;
                }
                progress = true;
            }
            BodyIn::Chunked { decoder, received } => {
                let used = decoder
                    .skip_framing(net.rd.data())
                    .map_err(HttpError::Refused)?;
                if used > 0 {
                    let _ = net.rd.consume(used);
                    progress = true;
                }
                if *decoder == Chunked::Done {
                    *body_in = BodyIn::EndRecord;
                    return Ok(true);
                }
                let left = decoder.data_left();
                if left == 0 {
                    return Ok(progress);
                }
                let avail = net.rd.data();
                let n = avail.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                if n == 0 {
                    return Ok(progress);
                }
                if *received + n as u64 > max_body {
                    return Err(HttpError::Refused(Refusal::BodyTooLarge));
                }
                let k = take(&avail[..n], app);
                if k == 0 {
                    return Ok(progress);
                }
                let _ = net.rd.consume(k);
                decoder.take_data(k as u64);
                *received += k as u64;
                progress = true;
            }
            BodyIn::EndRecord | BodyIn::Complete => return Ok(progress),
        }
    }
}

/// Queues the head of a handler's response; the body follows.
fn start_response(
    out: &mut Vec<u8>,
    response: Response,
    framing: &Framing,
    http11: bool,
) -> Outgoing {
    let length = if is_bodiless(response.status) {
        OutLength::None
    } else {
        OutLength::Fixed(response.body.len())
    };
    // The head as `write_head` writes it, with the fields written straight into `out`.
    write_status_line(out, response.status);
    if !push_fields(out, &response.headers) {
        log_at!(
            warn,
            "HTTP handler returned header fields that cannot be written: dropped"
        );
    }
    write_framing(out, length, framing.keep_alive, http11);
    if framing.head_only || length == OutLength::None {
        return Outgoing::Complete;
    }
    let source = match response.body {
        Body::Bytes(body) => Source::Bytes { body, at: 0 },
        #[cfg(feature = "std")]
        Body::Reader { source, .. } => Source::Reader(source),
    };
    Outgoing::Body { length, source }
}

/// Queues the head of the application's response record; its body records follow.
fn record_response(
    out: &mut Vec<u8>,
    head: records::ResponseHeadRecord<'_>,
    x: &mut Exchange,
) -> Outgoing {
    let length = if is_bodiless(head.status) {
        OutLength::None
    } else {
        match head.length {
            Some(n) => OutLength::Fixed(n),
            None if x.http11 => OutLength::Chunked,
            None => {
                // An HTTP/1.0 client knows no chunks: the end of the connection ends the body.
                x.framing.keep_alive = false;
                OutLength::UntilClose
            }
        }
    };
    // A HEAD response announces the length it would have, and sends no body.
    let announced = if x.framing.head_only && length == OutLength::Chunked {
        OutLength::None
    } else {
        length
    };
    write_head(
        out,
        head.status,
        head.fields,
        announced,
        x.framing.keep_alive,
        x.http11,
    );
    let send = !x.framing.head_only && length != OutLength::None;
    Outgoing::Body {
        length: if send { length } else { OutLength::None },
        source: Source::Records { taken: 0, send },
    }
}

/// Sends what it can of the response body; marks the response complete at its end.
fn send_body(
    response: &mut Outgoing,
    out: &mut Vec<u8>,
    net: &mut PBufRdWr<'_>,
    app: &mut PBufRdWr<'_>,
) -> Result<bool, HttpError> {
    let Outgoing::Body { length, source } = response else {
        return Ok(false);
    };
    let mut progress = false;
    match source {
        Source::Bytes { body, at } => {
            let n = net.wr.append_some(&body[*at..]).unwrap_or(0);
            *at += n;
            progress = n > 0;
            if *at == body.len() {
                *response = Outgoing::Complete;
                return Ok(true);
            }
        }
        #[cfg(feature = "std")]
        Source::Reader(reader) => {
            let OutLength::Fixed(left) = length else {
                return Err(HttpError::BodySource);
            };
            if *left == 0 {
                *response = Outgoing::Complete;
                return Ok(true);
            }
            let want = usize::try_from(*left).unwrap_or(usize::MAX).min(READ_STEP);
            let Ok(space) = net.wr.space_upto(want) else {
                return Ok(false);
            };
            if space.is_empty() {
                net.wr.unreserve();
                return Ok(false);
            }
            let n = match reader.read(space) {
                Ok(0) | Err(_) => {
                    net.wr.unreserve();
                    return Err(HttpError::BodySource);
                }
                Ok(n) => n,
            };
            let _ = net.wr.commit(n);
            *left -= n as u64;
            progress = true;
        }
        Source::Records { taken, send } => loop {
            let record = parse_record(app.rd.data()).map_err(|_| HttpError::BadRecord)?;
            match record {
                None => {
                    if app.rd.is_empty() && app.rd.consume_push() {
                        net.wr.push();
                    }
                    return Ok(progress);
                }
                Some((Record::Head(_), _)) => return Err(HttpError::BadRecord),
                Some((Record::End, len)) => {
                    match length {
                        OutLength::Fixed(left) if *left != 0 && *send => {
                            return Err(HttpError::ResponseLength);
                        }
                        OutLength::Chunked => out.extend_from_slice(LAST_CHUNK),
                        _ => (),
                    }
                    let _ = app.rd.consume(len);
                    *response = Outgoing::Complete;
                    return Ok(true);
                }
                Some((Record::Body(data), len)) => {
                    let rest = data.get(*taken..).unwrap_or_default();
                    let n = if !*send {
                        rest.len()
                    } else {
                        match length {
                            OutLength::Fixed(left) => {
                                if rest.len() as u64 > *left {
                                    return Err(HttpError::ResponseLength);
                                }
                                let n = net.wr.append_some(rest).unwrap_or(0);
                                *left -= n as u64;
                                n
                            }
                            OutLength::Chunked => write_chunk(&mut net.wr, rest),
                            OutLength::UntilClose => net.wr.append_some(rest).unwrap_or(0),
                            OutLength::None => rest.len(),
                        }
                    };
                    *taken += n;
                    if *taken >= data.len() {
                        let _ = app.rd.consume(len);
                        *taken = 0;
                        progress = true;
                    } else if n == 0 {
                        return Ok(progress);
                    } else {
                        progress = true;
                    }
                }
            }
        },
    }
    Ok(progress)
}

impl Layer for HttpServer {
    type Error = HttpError;

    fn process(
        &mut self,
        now: Time,
        lower: PBufRdWr<'_>,
        upper: PBufRdWr<'_>,
    ) -> Result<bool, HttpError> {
        HttpServer::process(self, now, lower, upper)
    }

    fn next_deadline(&self) -> Option<Time> {
        HttpServer::next_deadline(self)
    }

    /// Frees the memory kept for the next request: the last head's copy, and the output
    /// queue once empty.
    fn release(&mut self) {
        self.head = RequestHead::empty();
        if self.out.is_empty() {
            self.out = Vec::new();
        }
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
