//! The shared part of the HTTP bodies (`http_head`, `http_server`): an [`HttpServer`]
//! between the fuzz peer and a fake application ([`Run`]), and the reference every run is
//! checked against ([`check`]).
//!
//! The reference is written from the rules in `pipebuf_websocket::http`'s module docs, not
//! from its code: request heads are found with the public [`RequestHead::parse`] and judged
//! by [`judge`] (one `Host` in HTTP/1.1, no `Content-Length` beside `Transfer-Encoding`, one
//! final `chunked`, agreeing lengths within `max_body`, only `100-continue` expected, CRLF
//! line ends only), bodies are delimited by their `Content-Length` or decoded by the simple
//! chunked decoder [`chunked`] (whole lines found by their CRLF, then checked), and [`check`]
//! walks the peer's bytes request by request beside what the server did:
//!
//! - each head the server served is the head at that point of the stream (after blank
//!   lines), within the limits, one the rules accept; the server reads a next request only
//!   after a body the reference says is complete, and only on a connection kept open;
//! - a body delivered (records mode) is a prefix of what the reference decodes, never more
//!   than announced nor over `max_body`, and exactly it when its end record came;
//! - where the server stopped, the reference agrees: a body the reference refuses gets that
//!   refusal, an incomplete one none; at the start of a request, a head that parses within the
//!   limits is served, or stopped at as a WebSocket upgrade (left unread, byte for byte), or
//!   refused for one of the reasons the rules give; a head over the limits gets 431; silence
//!   only for a head still incomplete within `max_head_len`;
//! - the answers: every response head the server wrote reads back, the final statuses are a
//!   204 per answered request and then the refusal's status (431 for head and field limits,
//!   413 for a body over `max_body`, 501 for an unknown coding, 4xx otherwise) whenever no
//!   response had begun; after an error the byte side has ended (the refusal written and the
//!   connection closed, or aborted); how both streams ended for every way the peer can end.

use std::sync::{Arc, Mutex};

use pipebuf::{EofKind, PBufWr, PipeBufPair, Time};
use pipebuf_websocket::http::records::{
    Incoming, RECORD_HEADER_LEN, read_request, write_end, write_response_head,
};
use pipebuf_websocket::http::{HttpConfig, HttpError, HttpServer, Refusal, RequestHead, Response};

use super::input::Input;
use super::wire::{Wire, first_error, settle};

/// Longest size line of a chunk (digits and extensions, without its CRLF) the server
/// accepts, as its docs state.
const MAX_SIZE_LINE: usize = 1024;
/// Longest trailer section (its field lines with their CRLFs) the server accepts.
const MAX_TRAILERS: usize = 8 * 1024;

/// A server configuration chosen by `bits`: the defaults, or limits that inputs of a few
/// KiB reach. No idle timeout (the clock stands still).
pub(crate) fn config(bits: u8, stop_at_websocket_upgrade: bool) -> HttpConfig {
    let base = HttpConfig {
        idle_timeout: None,
        stop_at_websocket_upgrade,
        ..HttpConfig::default()
    };
    match bits % 4 {
        0 => base,
        1 => HttpConfig {
            max_body: 16 + u64::from(bits / 4 % 8) * 40,
            ..base
        },
        2 => HttpConfig {
            max_head_len: 256,
            max_headers: 6,
            max_body: 300,
            ..base
        },
        _ => HttpConfig {
            max_head_len: 32 + usize::from(bits / 4 % 8) * 48,
            max_headers: 1 + usize::from(bits / 32),
            max_body: 1 + u64::from(bits / 4 % 8) * 10,
            ..base
        },
    }
}

/// How the application answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A handler: a 204 for every head at once; bodies are read and dropped.
    Handler,
    /// Records: each request's head, body and end as records; a 204 once its end record came
    /// (`early`: as soon as its head came, so the rest of the body may be dropped).
    Records { early: bool },
}

impl Mode {
    /// Whether the answer may be complete before the request's body is.
    fn answers_at_once(self) -> bool {
        self != Mode::Records { early: false }
    }
}

/// A request the application saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) head: RequestHead,
    /// Records mode: the body bytes delivered, and whether the end record came.
    pub(crate) body: Option<(Vec<u8>, bool)>,
}

/// What one run of a server saw and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Served {
    pub(crate) requests: Vec<Seen>,
    pub(crate) error: Option<HttpError>,
    /// How the application's incoming record stream ended.
    pub(crate) incoming_end: Option<EofKind>,
    /// Every byte written to the peer.
    pub(crate) output: Vec<u8>,
    /// How the byte stream to the peer ended.
    pub(crate) outgoing_end: Option<EofKind>,
    /// The input left unread when the server stopped at a WebSocket upgrade.
    pub(crate) upgrade: Option<Vec<u8>>,
}

impl Served {
    /// What two runs of the same bytes, cut differently, must agree on. With an early
    /// answer, how much of a body is read before the answer is out (and whether a
    /// connection that closes after it reads on to a bad byte) depends on when the
    /// application runs: only the heads are compared. A body refused for passing
    /// `max_body` is refused once the bytes that pass it are there, so what of it was
    /// delivered before depends on the cuts too: its bytes are not compared.
    pub(crate) fn comparable(&self, mode: Mode) -> Served {
        let mut served = self.clone();
        if mode == (Mode::Records { early: true }) {
            for seen in &mut served.requests {
                seen.body = None;
            }
            return Served {
                requests: served.requests,
                ..Served::default()
            };
        }
        if served.error == Some(HttpError::Refused(Refusal::BodyTooLarge))
            && let Some(Seen {
                body: Some((bytes, false)),
                ..
            }) = served.requests.last_mut()
        {
            bytes.clear();
        }
        served
    }
}

/// A server, the peer at its byte side and the application at its record side.
pub(crate) struct Run {
    server: HttpServer,
    mode: Mode,
    wire: Wire,
    app: PipeBufPair,
    /// Heads the handler saw.
    handled: Arc<Mutex<Vec<RequestHead>>>,
    served: Served,
    /// Answers the application owes, and whether the first one's head is written.
    owed: usize,
    head_written: bool,
    end_before_error: Option<Option<EofKind>>,
}

impl Run {
    /// A server in `mode` with `config`; the application's record buffers hold `app_limit`
    /// bytes.
    pub(crate) fn new(config: HttpConfig, mode: Mode, app_limit: usize) -> Run {
        let handled = Arc::new(Mutex::new(Vec::new()));
        let server = match mode {
            Mode::Handler => {
                let heads = Arc::clone(&handled);
                HttpServer::with_handler(
                    config,
                    Box::new(move |head: &RequestHead| {
                        heads.lock().expect("heads").push(head.clone());
                        Response::new(204)
                    }),
                )
            }
            Mode::Records { .. } => HttpServer::new(config),
        };
        Run {
            server,
            mode,
            wire: Wire::keeping(),
            app: PipeBufPair::with_limits(app_limit.min(4096), app_limit),
            handled,
            served: Served::default(),
            owed: 0,
            head_written: false,
            end_before_error: None,
        }
    }

    /// Calls the server, the application and the peer until nothing moves.
    fn settle(&mut self, budget: usize) {
        settle(budget, || {
            let active = first_error(
                self.server
                    .process(Time::ZERO, self.wire.upper(), self.app.lower()),
                &mut self.served.error,
                &mut self.end_before_error,
                self.served.incoming_end,
            );
            let app_active = self.application();
            let peer_active = self.wire.take();
            (active || app_active || peer_active, true)
        });
    }

    /// The application: reads every record (records mode) and answers as its mode says;
    /// takes the end of its incoming stream.
    fn application(&mut self) -> bool {
        let early = self.mode == Mode::Records { early: true };
        let mut app = self.app.upper();
        let before = (app.rd.tripwire(), app.wr.tripwire());
        if self.mode != Mode::Handler {
            loop {
                let (incoming, len) = match read_request(&app.rd) {
                    Ok(Some(record)) => record,
                    Ok(None) => break,
                    Err(e) => panic!("the server wrote a bad request record: {e:?}"),
                };
                let requests = &mut self.served.requests;
                match incoming {
                    Incoming::Request(head) => {
                        if !early && let Some(Seen { body, .. }) = requests.last() {
                            assert!(
                                matches!(body, Some((_, true))),
                                "a head record before the last request's end record"
                            );
                        }
                        requests.push(Seen {
                            head,
                            body: Some((Vec::new(), false)),
                        });
                        self.owed += usize::from(early);
                    }
                    Incoming::Body(data) => {
                        let Some(Seen {
                            body: Some((bytes, ended)),
                            ..
                        }) = requests.last_mut()
                        else {
                            panic!("a body record before any head record");
                        };
                        assert!(!*ended, "a body record after the end record");
                        bytes.extend_from_slice(data);
                    }
                    Incoming::End => {
                        let Some(Seen {
                            body: Some((_, ended)),
                            ..
                        }) = requests.last_mut()
                        else {
                            panic!("an end record before any head record");
                        };
                        assert!(!*ended, "a second end record");
                        *ended = true;
                        self.owed += usize::from(!early);
                    }
                }
                app.rd.consume(len).expect("consume a whole record");
            }
            answer(&mut self.owed, &mut self.head_written, &mut app.wr);
        }
        app.rd.consume_push();
        if app.rd.is_empty()
            && let Some(kind) = app.rd.consume_eof()
        {
            self.served.incoming_end = Some(kind);
        }
        if self.served.incoming_end.is_some() {
            assert!(app.rd.is_empty(), "records after the end of the stream");
        }
        before != (app.rd.tripwire(), app.wr.tripwire())
    }

    /// The peer sends `piece`; then everything settles.
    pub(crate) fn feed(&mut self, piece: &[u8]) {
        self.wire.feed(piece);
        self.settle(4 * piece.len() + 64);
    }

    /// The peer ends its stream as `end` says; everything settles; what the run saw.
    pub(crate) fn finish(mut self, end: Option<EofKind>) -> Served {
        self.wire.end(end);
        self.settle(4 * self.wire.out.len() + 256);
        if self.mode == Mode::Handler {
            let heads = std::mem::take(&mut *self.handled.lock().expect("heads"));
            self.served.requests = heads
                .into_iter()
                .map(|head| Seen { head, body: None })
                .collect();
        }
        if self.server.upgrade_pending() {
            self.served.upgrade = Some(self.wire.upper().rd.data().to_vec());
        }
        self.served.output = std::mem::take(&mut self.wire.out);
        self.served.outgoing_end = self.wire.ended;
        if self.served.error.is_some() && self.end_before_error == Some(None) {
            assert_eq!(
                self.served.incoming_end,
                Some(EofKind::Abort),
                "after {:?} the record stream must be aborted",
                self.served.error
            );
        }
        self.served
    }
}

/// Writes the answers owed: a 204 head record and an end record each.
fn answer(owed: &mut usize, head_written: &mut bool, wr: &mut PBufWr<'_>) {
    while *owed > 0 && !wr.is_eof() {
        if !*head_written {
            if write_response_head(wr, 204, &[], Some(0)).is_err() {
                return;
            }
            *head_written = true;
        }
        if write_end(wr).is_err() {
            return;
        }
        *head_written = false;
        *owed -= 1;
    }
}

/// Runs `stream` through a server once as one piece and once in the pieces `choices` cut;
/// both are checked against the reference and must agree. Returns the whole run.
pub(crate) fn serve_both(
    stream: &[u8],
    choices: &[u8],
    config: HttpConfig,
    mode: Mode,
    app_limit: usize,
    end: Option<EofKind>,
) -> Served {
    let mut whole = Run::new(config, mode, app_limit);
    whole.feed(stream);
    let whole = whole.finish(end);
    check(stream, &config, mode, app_limit, end, &whole);

    let mut split = Run::new(config, mode, app_limit);
    for piece in super::input::pieces(stream, &mut Input::new(choices)) {
        split.feed(piece);
    }
    let split = split.finish(end);
    check(stream, &config, mode, app_limit, end, &split);
    assert_eq!(
        whole.comparable(mode),
        split.comparable(mode),
        "one piece and many pieces differ"
    );
    whole
}

// -------------------------------------------------------------------------------------
// The reference

/// How a request's body is delimited, by the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Length {
    Fixed(u64),
    Chunked,
}

/// What the rules make of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Framing {
    pub(crate) body: Length,
    pub(crate) keep_alive: bool,
    pub(crate) upgrade: bool,
}

/// The number of blank-line bytes (CR or LF) the server skips before a request.
pub(crate) fn blank_len(data: &[u8]) -> usize {
    data.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// `s` without leading and trailing spaces and tabs (`OWS`).
fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t');
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t');
    match (start, end) {
        (Some(start), Some(end)) => &s[start..=end],
        _ => &s[..0],
    }
}

/// The non-empty, trimmed items of the comma-separated lists in `values`.
fn items<'h>(values: impl Iterator<Item = &'h [u8]>) -> Vec<&'h [u8]> {
    values
        .flat_map(|v| v.split(|&b| b == b','))
        .map(trim_ows)
        .filter(|item| !item.is_empty())
        .collect()
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// What the module docs' rules make of `head`: its framing, or every reason to refuse it
/// (the server may name any one of them).
pub(crate) fn judge(head: &RequestHead, config: &HttpConfig) -> Result<Framing, Vec<Refusal>> {
    let headers = head.headers();
    let raw = headers.raw_head();
    let http11 = head.is_http11();
    let mut reasons = Vec::new();
    // A bare LF, or a field folded over lines.
    let bare_lf = raw
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || raw[i - 1] != b'\r'));
    let folded = raw.windows(2).any(|w| w == b"\n " || w == b"\n\t");
    if bare_lf || folded || (http11 && headers.get_all("host").count() != 1) {
        reasons.push(Refusal::Malformed);
    }
    let te = items(headers.get_all("transfer-encoding"));
    let has_te = headers.get_all("transfer-encoding").next().is_some();
    let has_cl = headers.get_all("content-length").next().is_some();
    let mut body = Length::Fixed(0);
    if has_te && has_cl {
        reasons.push(Refusal::AmbiguousLength);
    } else if has_te {
        let chunked = |c: &[u8]| c.eq_ignore_ascii_case(b"chunked");
        if !http11
            || !te.last().is_some_and(|c| chunked(c))
            || te.iter().filter(|c| chunked(c)).count() != 1
            || !te.iter().all(|c| is_token(c))
        {
            reasons.push(Refusal::AmbiguousLength);
        }
        if !te.iter().all(|c| chunked(c)) {
            reasons.push(Refusal::UnsupportedCoding);
        }
        body = Length::Chunked;
    } else if has_cl {
        // Every list item of every field, each all digits, all the same number.
        let values: Vec<Option<u64>> = headers
            .get_all("content-length")
            .flat_map(|v| v.split(|&b| b == b','))
            .map(|item| {
                let item = trim_ows(item);
                let digits = !item.is_empty() && item.iter().all(u8::is_ascii_digit);
                std::str::from_utf8(item)
                    .ok()
                    .filter(|_| digits)
                    .and_then(|s| s.parse().ok())
            })
            .collect();
        match values.first() {
            Some(&Some(n)) if values.iter().all(|v| *v == Some(n)) => {
                if n > config.max_body {
                    reasons.push(Refusal::BodyTooLarge);
                }
                body = Length::Fixed(n);
            }
            _ => reasons.push(Refusal::AmbiguousLength),
        }
    }
    if headers
        .get_all("expect")
        .any(|v| !trim_ows(v).eq_ignore_ascii_case(b"100-continue"))
    {
        reasons.push(Refusal::UnsupportedExpectation);
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    let connection = items(headers.get_all("connection"));
    let has = |token: &[u8]| connection.iter().any(|c| c.eq_ignore_ascii_case(token));
    Ok(Framing {
        body,
        keep_alive: if http11 {
            !has(b"close")
        } else {
            has(b"keep-alive") && !has(b"close")
        },
        upgrade: items(headers.get_all("upgrade"))
            .iter()
            .any(|u| u.eq_ignore_ascii_case(b"websocket")),
    })
}

/// What a body decodes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Complete: its data, and how many bytes of the stream it took.
    Complete(Vec<u8>, usize),
    /// Valid so far; more bytes are needed.
    Incomplete(Vec<u8>),
    /// Refused, with the data before the refusal.
    Bad(Vec<u8>, Refusal),
}

/// The body at the start of `input`, delimited by `length`.
pub(crate) fn decode_body(length: Length, input: &[u8], max_body: u64) -> Decoded {
    match length {
        Length::Fixed(n) => match usize::try_from(n).ok().filter(|&n| n <= input.len()) {
            Some(n) => Decoded::Complete(input[..n].to_vec(), n),
            None => Decoded::Incomplete(input.to_vec()),
        },
        Length::Chunked => chunked(input, max_body),
    }
}

/// Whether a byte may stand in a chunk extension (after its `;`): tab, visible ASCII,
/// space, obs-text.
fn is_ext_byte(b: u8) -> bool {
    b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80
}

/// Whether `line` (without CRLF; maybe cut short) is, or begins, a valid chunk-size line:
/// 1 to 16 hex digits, then optionally `;` and extension bytes, within the line limit.
fn size_line_ok(line: &[u8], whole: bool) -> bool {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let rest = &line[digits..];
    let ext_ok = match rest.split_first() {
        None => true,
        Some((&b';', ext)) => ext.iter().all(|&b| is_ext_byte(b)),
        Some(_) => false,
    };
    let digits_ok = digits <= 16 && (digits > 0 || (!whole && rest.is_empty()));
    digits_ok && ext_ok && line.len() <= MAX_SIZE_LINE
}

/// The reference chunked decoder (RFC 9112 §7.1, with the server's documented limits): a
/// chunked body at the start of `input`, found line by line.
pub(crate) fn chunked(input: &[u8], max_body: u64) -> Decoded {
    let mut data = Vec::new();
    let mut at = 0;
    // A line at `at`: its end (the CR's index) when whole, `Err(len)` when cut short
    // (`len` bytes so far); a bare LF inside is `Ok(None)`.
    let line = |at: usize| -> Result<Option<usize>, usize> {
        let rest = &input[at..];
        match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
            Some(i) if rest[i] == b'\n' => Ok(None),
            Some(i) => Ok(Some(at + i)),
            None => Err(rest.len()),
        }
    };
    // The LF after a CR at `cr`: `Some(true)` there, `Some(false)` another byte, `None` none yet.
    let lf = |cr: usize| input.get(cr + 1).map(|&b| b == b'\n');
    loop {
        let cr = match line(at) {
            Ok(Some(cr)) => cr,
            Ok(None) => return Decoded::Bad(data, Refusal::BadChunk),
            Err(len) if size_line_ok(&input[at..at + len], false) => {
                return Decoded::Incomplete(data);
            }
            Err(_) => return Decoded::Bad(data, Refusal::BadChunk),
        };
        let size_line = &input[at..cr];
        if !size_line_ok(size_line, true) {
            return Decoded::Bad(data, Refusal::BadChunk);
        }
        match lf(cr) {
            None => return Decoded::Incomplete(data),
            Some(false) => return Decoded::Bad(data, Refusal::BadChunk),
            Some(true) => at = cr + 2,
        }
        let digits: &[u8] = size_line.split(|&b| b == b';').next().unwrap_or_default();
        let size = u64::from_str_radix(std::str::from_utf8(digits).expect("hex digits"), 16)
            .expect("at most 16 hex digits");
        if size == 0 {
            break;
        }
        let available = (input.len() - at).min(usize::try_from(size).unwrap_or(usize::MAX));
        if (data.len() + available) as u64 > max_body {
            // Refused once the bytes past the limit are there: a run that got the chunk in
            // pieces may have delivered some of it, up to the limit.
            let within = usize::try_from(max_body).unwrap_or(usize::MAX) - data.len();
            data.extend_from_slice(&input[at..at + within]);
            return Decoded::Bad(data, Refusal::BodyTooLarge);
        }
        data.extend_from_slice(&input[at..at + available]);
        at += available;
        if (available as u64) < size {
            return Decoded::Incomplete(data);
        }
        match (input.get(at), input.get(at + 1)) {
            (None, _) | (Some(b'\r'), None) => return Decoded::Incomplete(data),
            (Some(b'\r'), Some(b'\n')) => at += 2,
            _ => return Decoded::Bad(data, Refusal::BadChunk),
        }
    }
    // Trailer field lines (read and dropped), then the empty line.
    let trailers = at;
    loop {
        match input.get(at) {
            None => return Decoded::Incomplete(data),
            Some(b'\r') => {
                return match lf(at) {
                    None => Decoded::Incomplete(data),
                    Some(false) => Decoded::Bad(data, Refusal::BadChunk),
                    Some(true) => Decoded::Complete(data, at + 2),
                };
            }
            Some(b'\n' | b' ' | b'\t') => return Decoded::Bad(data, Refusal::BadChunk),
            Some(_) => (),
        }
        // The line's bytes present (its CRLF included), and its CR if it came.
        let (present, cr) = match line(at) {
            Ok(Some(cr)) => ((cr + 2).min(input.len()), Some(cr)),
            Ok(None) => return Decoded::Bad(data, Refusal::BadChunk),
            Err(len) => (at + len, None),
        };
        if present - trailers > MAX_TRAILERS {
            return Decoded::Bad(data, Refusal::BadChunk);
        }
        let Some(cr) = cr else {
            return Decoded::Incomplete(data);
        };
        match lf(cr) {
            None => return Decoded::Incomplete(data),
            Some(false) => return Decoded::Bad(data, Refusal::BadChunk),
            Some(true) => at = cr + 2,
        }
    }
}

/// The status each refusal must be answered with.
fn status_of(refusal: Refusal) -> u16 {
    match refusal {
        Refusal::HeadTooLarge | Refusal::TooManyHeaders => 431,
        Refusal::BodyTooLarge => 413,
        Refusal::UnsupportedCoding => 501,
        Refusal::UnsupportedExpectation => 417,
        Refusal::Timeout => 408,
        _ => 400,
    }
}

/// The statuses of the response heads in `output` (all bodiless here: 204s, `100
/// Continue` and refusals), checking that each reads back whole.
pub(crate) fn statuses(output: &[u8]) -> Vec<u16> {
    let mut rest = output;
    let mut found = Vec::new();
    while !rest.is_empty() {
        assert!(
            rest.starts_with(b"HTTP/1.1 "),
            "the output is no response head: {}",
            rest.escape_ascii()
        );
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("a response head cut short: {}", rest.escape_ascii()))
            + 4;
        let head = &rest[..end];
        let status = std::str::from_utf8(&head[9..12.min(head.len())])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {}", head.escape_ascii()));
        let text = String::from_utf8_lossy(head).to_ascii_lowercase();
        let bodiless = !text.contains("transfer-encoding")
            && (!text.contains("content-length") || text.contains("content-length: 0\r\n"));
        assert!(bodiless, "a response with a body: {text}");
        found.push(status);
        rest = &rest[end..];
    }
    found
}

/// Where the server stopped, by the reference.
#[derive(Debug)]
enum Stop {
    /// At the start of a request (blank lines skipped) at this offset.
    Head(usize),
    /// Inside the last request's body, which the reference decodes as this.
    Body(Decoded, Framing),
    /// After a request that closes the connection.
    Closed,
}

/// Checks one run against the reference; see the module docs.
pub(crate) fn check(
    stream: &[u8],
    config: &HttpConfig,
    mode: Mode,
    app_limit: usize,
    end: Option<EofKind>,
    served: &Served,
) {
    // The longest head the application can be given: in records mode, one whose head record
    // fits the record buffer (a larger one is refused with 431).
    let head_room = match mode {
        Mode::Handler => usize::MAX,
        Mode::Records { .. } => app_limit.saturating_sub(RECORD_HEADER_LEN),
    };
    let stop = walk(stream, config, mode, head_room, served);
    let at_once = mode.answers_at_once();
    let error = match served.error {
        None => None,
        Some(HttpError::Refused(refusal)) => Some(refusal),
        Some(other) => panic!("an error with a well-behaved application: {other:?}"),
    };
    // How both streams must end, and whether a refusal answer must be the last status.
    let by_peer = |between: bool| match end {
        None => (None, None),
        Some(EofKind::Close) if between => (Some(EofKind::Close), Some(EofKind::Close)),
        Some(_) => (Some(EofKind::Abort), Some(EofKind::Abort)),
    };
    let closed = (Some(EofKind::Close), Some(EofKind::Close));
    let refused = (Some(EofKind::Abort), Some(EofKind::Close));
    let (ends, answered) = match &stop {
        Stop::Closed => {
            assert_eq!(error, None, "an error after a request that closes");
            (closed, false)
        }
        Stop::Body(decoded, framing) => match decoded {
            Decoded::Bad(_, refusal) => {
                if at_once && !framing.keep_alive && error.is_none() {
                    // The answer went out first, and the connection closed after it.
                    (closed, false)
                } else {
                    assert_eq!(error, Some(*refusal), "the reference refuses the body");
                    (refused, !at_once)
                }
            }
            Decoded::Incomplete(_) => {
                assert_eq!(error, None, "an error inside a body the reference accepts");
                if at_once && !framing.keep_alive {
                    (closed, false)
                } else {
                    (by_peer(false), false)
                }
            }
            Decoded::Complete(..) => unreachable!("a complete body is walked past"),
        },
        Stop::Head(at) => {
            let rest = &stream[*at..];
            check_head(rest, config, head_room, served, error);
            if served.upgrade.is_some() {
                ((None, None), false)
            } else if error.is_some() {
                (refused, true)
            } else {
                (by_peer(rest.is_empty()), false)
            }
        }
    };
    if let Some(refusal) = error {
        assert!(
            served.outgoing_end.is_some(),
            "{refusal:?} and the byte side never ended"
        );
        assert_eq!(
            refusal.status(),
            status_of(refusal),
            "{refusal:?} answers the wrong status"
        );
    }
    let statuses = statuses(&served.output);
    if mode == (Mode::Records { early: true }) && error.is_some() {
        // Whether the answer or the refusal came first depends on when the application ran.
        return;
    }
    assert_eq!(
        (served.incoming_end, served.outgoing_end),
        ends,
        "the streams ended wrongly ({stop:?}, {error:?}, peer {end:?})"
    );
    if mode == (Mode::Records { early: true }) {
        return;
    }
    let finals: Vec<u16> = statuses.iter().copied().filter(|&s| s != 100).collect();
    let continues = statuses.len() - finals.len();
    assert!(
        continues <= served.requests.len(),
        "more 100 Continue than requests: {statuses:?}"
    );
    let mut expected = vec![204; answered_count(mode, served)];
    if answered && let Some(refusal) = error {
        expected.push(refusal.status());
    }
    assert_eq!(finals, expected, "the statuses written");
}

/// How many requests got their 204.
fn answered_count(mode: Mode, served: &Served) -> usize {
    match mode {
        Mode::Handler => served.requests.len(),
        Mode::Records { .. } => served
            .requests
            .iter()
            .filter(|s| matches!(s.body, Some((_, true))))
            .count(),
    }
}

/// Walks `stream` along the requests the server served; where it stopped.
fn walk(stream: &[u8], config: &HttpConfig, mode: Mode, head_room: usize, served: &Served) -> Stop {
    let mut at = 0;
    for (i, seen) in served.requests.iter().enumerate() {
        at += blank_len(&stream[at..]);
        let rest = &stream[at..];
        let window = &rest[..rest.len().min(config.max_head_len)];
        let parsed = RequestHead::parse(window);
        assert_eq!(
            parsed.as_ref(),
            Some(&seen.head),
            "request {i} is not the head at byte {at}"
        );
        let head = &seen.head;
        assert!(
            head.headers().len() <= config.max_headers,
            "request {i} has more fields than the limit"
        );
        assert!(
            head.headers().raw_head().len() <= head_room,
            "request {i}'s head record is larger than the record buffer"
        );
        let framing = judge(head, config).unwrap_or_else(|reasons| {
            panic!("request {i} served though the rules refuse it ({reasons:?}): {head:?}")
        });
        assert!(
            !(framing.upgrade && config.stop_at_websocket_upgrade),
            "request {i} is an upgrade the server should have stopped at"
        );
        at += head.headers().raw_head().len();
        let decoded = decode_body(framing.body, &stream[at..], config.max_body);
        let reference = match &decoded {
            Decoded::Complete(data, _) | Decoded::Incomplete(data) | Decoded::Bad(data, _) => data,
        };
        if let Some((body, ended)) = &seen.body {
            assert!(
                body.len() as u64 <= config.max_body,
                "request {i}: a body of {} bytes past the limit",
                body.len()
            );
            if let Length::Fixed(n) = framing.body {
                assert!(
                    body.len() as u64 <= n,
                    "request {i}: more body than announced"
                );
            }
            assert!(
                reference.starts_with(body),
                "request {i}: the body delivered is not the reference's ({decoded:?}): {}",
                body.escape_ascii()
            );
            if *ended {
                let Decoded::Complete(whole, _) = &decoded else {
                    panic!("request {i}: the body ended, the reference says {decoded:?}");
                };
                assert_eq!(whole, body, "request {i}: the body ended short");
            }
        }
        let last = i + 1 == served.requests.len();
        match decoded {
            Decoded::Complete(_, len) => {
                assert!(
                    last || framing.keep_alive,
                    "request {} read after request {i}, which closes",
                    i + 1
                );
                at += len;
                if !framing.keep_alive {
                    return Stop::Closed;
                }
            }
            other => {
                assert!(
                    last,
                    "request {} read before request {i}'s body was complete: {other:?}",
                    i + 1
                );
                if !framing.keep_alive
                    && mode.answers_at_once()
                    && (mode == Mode::Handler || matches!(other, Decoded::Incomplete(_)))
                {
                    // The answer went out and closed the connection: a handler's body is not
                    // read at all then, a records body no further than the answer.
                    return Stop::Closed;
                }
                return Stop::Body(other, framing);
            }
        }
    }
    Stop::Head(at + blank_len(&stream[at..]))
}

/// At the start of a request (`rest`, blank lines skipped): what the server did agrees with
/// what the rules make of the head there.
fn check_head(
    rest: &[u8],
    config: &HttpConfig,
    head_room: usize,
    served: &Served,
    error: Option<Refusal>,
) {
    let window = &rest[..rest.len().min(config.max_head_len)];
    let parsed = RequestHead::parse(window);
    let accepted = parsed
        .as_ref()
        .filter(|head| head.headers().len() <= config.max_headers)
        .and_then(|head| judge(head, config).ok());
    if !accepted.is_some_and(|framing| framing.upgrade) || !config.stop_at_websocket_upgrade {
        assert_eq!(served.upgrade, None, "stopped at no upgrade");
    }
    match &parsed {
        Some(head) if head.headers().len() <= config.max_headers => match judge(head, config) {
            Ok(framing) if framing.upgrade && config.stop_at_websocket_upgrade => {
                assert_eq!(error, None, "an error at an upgrade");
                assert_eq!(
                    served.upgrade.as_deref(),
                    Some(rest),
                    "the upgrade request and what follows must stay unread"
                );
            }
            Ok(_) => {
                assert!(
                    head.headers().raw_head().len() > head_room,
                    "a valid head left unserved ({error:?}): {head:?}"
                );
                assert_eq!(
                    error,
                    Some(Refusal::HeadTooLarge),
                    "a head whose record never fits the record buffer"
                );
            }
            Err(reasons) => {
                let refusal = error.unwrap_or_else(|| panic!("{reasons:?} but no refusal"));
                assert!(
                    reasons.contains(&refusal),
                    "refused as {refusal:?}, the rules say {reasons:?}"
                );
            }
        },
        Some(head) => assert_eq!(
            error,
            Some(Refusal::TooManyHeaders),
            "{} fields over a limit of {}",
            head.headers().len(),
            config.max_headers
        ),
        None => match error {
            None => assert!(
                rest.len() < config.max_head_len,
                "silence at a head of {} bytes, limit {}",
                rest.len(),
                config.max_head_len
            ),
            Some(Refusal::HeadTooLarge) => assert!(
                rest.len() >= config.max_head_len,
                "431 for a head of {} bytes, limit {}",
                rest.len(),
                config.max_head_len
            ),
            Some(Refusal::Malformed | Refusal::TooManyHeaders) => (),
            Some(other) => panic!("{other:?} for a head that does not parse"),
        },
    }
}
