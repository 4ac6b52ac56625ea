//! Request heads: parsed with `httparse` within the limits, then judged for how the body is
//! framed, whether the connection stays open, and what the client expects.

use core::fmt;
use core::mem::MaybeUninit;

use alloc::vec::Vec;

use super::HttpConfig;
use super::error::Refusal;
use crate::handshake::syntax::{is_token, list_items, lists_contain, trim_ows};
use crate::handshake::{HandshakeLimits, HeadError, Headers, Span};

/// Field slots for `httparse` on the stack: enough for the default limit (64 fields), so
/// parsing a head allocates nothing; a larger `max_headers` gets slots on the heap.
const STACK_SLOTS: usize = 64;

/// A request head, owned: the method, the target, the version and every field, in one copy
/// of the head's bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestHead {
    method: Span,
    target: Span,
    minor_version: u8,
    headers: Headers,
}

impl RequestHead {
    /// Parses the complete head `head` (as a head record carries it). `None` if it is not a
    /// complete, valid HTTP/1.x head.
    pub fn parse(head: &[u8]) -> Option<RequestHead> {
        let limits = HandshakeLimits {
            max_headers: usize::MAX,
            max_head_len: head.len(),
        };
        let mut parsed = RequestHead::empty();
        match parse_within(head, &limits, &mut parsed) {
            Ok(Some(_)) => Some(parsed),
            _ => None,
        }
    }

    /// A head holding nothing (and no memory), to be filled by [`parse_head`].
    pub(crate) const fn empty() -> RequestHead {
        RequestHead {
            method: Span::EMPTY,
            target: Span::EMPTY,
            minor_version: 1,
            headers: Headers::empty(),
        }
    }

    /// The method, as sent (`GET`, `POST`, ...; methods are case-sensitive).
    pub fn method(&self) -> &str {
        self.headers.text(self.method)
    }

    /// The request target as sent: usually a path with an optional query.
    pub fn target(&self) -> &str {
        self.headers.text(self.target)
    }

    /// The target's path: the part before any `?`.
    pub fn path(&self) -> &str {
        let target = self.target();
        match target.bytes().position(|b| b == b'?') {
            Some(end) => target.get(..end).unwrap_or_default(),
            None => target,
        }
    }

    /// The target's query: the part after the first `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.target().split_once('?').map(|(_, query)| query)
    }

    /// Whether the request is HTTP/1.1 (else HTTP/1.0).
    pub fn is_http11(&self) -> bool {
        self.minor_version == 1
    }

    /// Every header field.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}

impl fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", &self.method())
            .field("target", &self.target())
            .field("minor_version", &self.minor_version)
            .field("headers", &self.headers)
            .finish()
    }
}

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyLength {
    /// `Content-Length` of this many bytes (0 when neither field is present).
    Fixed(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What the server needs to know about a request beyond its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Framing {
    pub(crate) body: BodyLength,
    /// The connection may carry another request after this one.
    pub(crate) keep_alive: bool,
    /// The client waits for `100 Continue` before it sends the body.
    pub(crate) expect_continue: bool,
    /// `Upgrade` names `websocket`.
    pub(crate) websocket_upgrade: bool,
    /// A `HEAD` request: the response has no body.
    pub(crate) head_only: bool,
}

/// What parsing the start of the input gave.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// More bytes are needed.
    Partial,
    /// A head of `len` bytes, now in the caller's [`RequestHead`].
    Complete { framing: Framing, len: usize },
}

/// Parses the request head at the start of `input` within `config`'s limits into `head`,
/// reusing its memory (its contents mean something only after [`Parsed::Complete`]).
pub(crate) fn parse_head(
    input: &[u8],
    config: &HttpConfig,
    head: &mut RequestHead,
) -> Result<Parsed, Refusal> {
    let limits = config.head_limits();
    let window = limits.window(input);
    let len = match parse_within(window, &limits, head) {
        Ok(Some(len)) => len,
        Ok(None) => return Ok(Parsed::Partial),
        Err(HeadError::TooLarge) => return Err(Refusal::HeadTooLarge),
        Err(HeadError::TooManyHeaders) => return Err(Refusal::TooManyHeaders),
        Err(HeadError::Malformed) => return Err(Refusal::Malformed),
    };
    let raw = window.get(..len).ok_or(Refusal::Malformed)?;
    // httparse accepts a bare LF as a line end; a proxy in front may not, which is how one
    // request becomes two: only CRLF is accepted.
    if raw
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || raw.get(i - 1) != Some(&b'\r')))
    {
        return Err(Refusal::Malformed);
    }
    let framing = judge(head, config)?;
    Ok(Parsed::Complete { framing, len })
}

/// Runs httparse on `window` within `limits` (the handshake parser's rules for size and
/// field count) into `head`: the head's length, or `None` while it is incomplete.
fn parse_within(
    window: &[u8],
    limits: &HandshakeLimits,
    head: &mut RequestHead,
) -> Result<Option<usize>, HeadError> {
    let wanted = limits.field_slots_len();
    let mut on_stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_SLOTS];
    let mut on_heap = Vec::new();
    let slots = match on_stack.get_mut(..wanted) {
        Some(slots) => slots,
        None => {
            on_heap.resize(wanted, MaybeUninit::uninit());
            &mut on_heap[..]
        }
    };
    let mut request = httparse::Request::new(&mut []);
    let parsed = request.parse_with_uninit_headers(window, slots);
    let Some(len) = limits.judge(window, parsed)? else {
        return Ok(None);
    };
    let (Some(method), Some(target), Some(minor)) = (request.method, request.path, request.version)
    else {
        return Err(HeadError::Malformed);
    };
    let raw = window.get(..len).ok_or(HeadError::Malformed)?;
    let (Some(method), Some(target)) = (
        Span::within(raw, method.as_bytes()),
        Span::within(raw, target.as_bytes()),
    ) else {
        return Err(HeadError::Malformed);
    };
    if !head.headers.recapture(window, len, request.headers) {
        return Err(HeadError::Malformed);
    }
    head.method = method;
    head.target = target;
    head.minor_version = minor;
    Ok(Some(len))
}

/// The framing rules of RFC 9112 §6 and §9, strictly: every ambiguity is a refusal.
fn judge(head: &RequestHead, config: &HttpConfig) -> Result<Framing, Refusal> {
    let headers = head.headers();
    let http11 = head.is_http11();
    if http11 && headers.count("host") != 1 {
        return Err(Refusal::Malformed);
    }
    let has_te = headers.count("transfer-encoding") > 0;
    let has_cl = headers.count("content-length") > 0;
    let body = match (has_te, has_cl) {
        (true, true) => return Err(Refusal::AmbiguousLength),
        (true, false) => {
            if !http11 {
                return Err(Refusal::AmbiguousLength);
            }
            let mut codings = headers.get_all("transfer-encoding").flat_map(list_items);
            let mut chunked_seen = false;
            let mut last_chunked = false;
            for coding in codings.by_ref() {
                last_chunked = coding.eq_ignore_ascii_case(b"chunked");
                if last_chunked {
                    if chunked_seen {
                        return Err(Refusal::AmbiguousLength);
                    }
                    chunked_seen = true;
                } else if !is_token(coding) {
                    return Err(Refusal::AmbiguousLength);
                }
            }
            if !last_chunked {
                // Without `chunked` last the length is unknowable (RFC 9112 §6.3).
                return Err(Refusal::AmbiguousLength);
            }
            if headers
                .get_all("transfer-encoding")
                .flat_map(list_items)
                .any(|c| !c.eq_ignore_ascii_case(b"chunked"))
            {
                return Err(Refusal::UnsupportedCoding);
            }
            BodyLength::Chunked
        }
        (false, true) => BodyLength::Fixed(content_length(headers)?),
        (false, false) => BodyLength::Fixed(0),
    };
    if let BodyLength::Fixed(n) = body
        && n > config.max_body
    {
        return Err(Refusal::BodyTooLarge);
    }
    let connection = || headers.get_all("connection");
    let keep_alive = if http11 {
        !lists_contain(connection(), "close")
    } else {
        lists_contain(connection(), "keep-alive") && !lists_contain(connection(), "close")
    };
    let mut expect_continue = false;
    for value in headers.get_all("expect") {
        if trim_ows(value).eq_ignore_ascii_case(b"100-continue") {
            expect_continue = http11;
        } else {
            return Err(Refusal::UnsupportedExpectation);
        }
    }
    Ok(Framing {
        body,
        keep_alive,
        expect_continue,
        websocket_upgrade: lists_contain(headers.get_all("upgrade"), "websocket"),
        head_only: head.headers.bytes(head.method) == b"HEAD",
    })
}

/// The one length all `Content-Length` values (fields and list items) agree on.
fn content_length(headers: &Headers) -> Result<u64, Refusal> {
    let mut agreed: Option<u64> = None;
    for value in headers.get_all("content-length") {
        // An empty value or list item is no length at all.
        for item in value.split(|&b| b == b',').map(trim_ows) {
            let n = decimal(item).ok_or(Refusal::AmbiguousLength)?;
            if agreed.is_some_and(|a| a != n) {
                return Err(Refusal::AmbiguousLength);
            }
            agreed = Some(n);
        }
    }
    agreed.ok_or(Refusal::AmbiguousLength)
}

/// A non-empty run of ASCII digits as a number; `None` for anything else or an overflow.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Result<Parsed, Refusal> {
        parse_head(input, &HttpConfig::default(), &mut RequestHead::empty())
    }

    /// The head of a complete request.
    fn head(input: &[u8]) -> RequestHead {
        let mut head = RequestHead::empty();
        match parse_head(input, &HttpConfig::default(), &mut head) {
            Ok(Parsed::Complete { .. }) => head,
            other => panic!("{other:?}"),
        }
    }

    fn framing(input: &[u8]) -> Framing {
        match parse(input) {
            Ok(Parsed::Complete { framing, len, .. }) => {
                assert_eq!(len, input.len());
                framing
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_simple_get_has_no_body_and_keeps_the_connection() {
        let f = framing(b"GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(f.body, BodyLength::Fixed(0));
        assert!(f.keep_alive);
        assert!(!f.expect_continue && !f.websocket_upgrade && !f.head_only);
    }

    #[test]
    fn the_head_is_partial_at_every_byte_before_its_end() {
        let input = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n";
        for cut in 0..input.len() {
            assert!(matches!(parse(&input[..cut]), Ok(Parsed::Partial)), "{cut}");
        }
        assert_eq!(framing(input).body, BodyLength::Fixed(3));
    }

    #[test]
    fn path_query_method_and_version_are_read() {
        let head = head(b"HEAD /dir/f.txt?x=1 HTTP/1.0\r\nA: b\r\n\r\n");
        assert_eq!(head.method(), "HEAD");
        assert_eq!(head.path(), "/dir/f.txt");
        assert_eq!(head.query(), Some("x=1"));
        assert!(!head.is_http11());
        assert_eq!(head.headers().get("a"), Some(&b"b"[..]));
        assert_eq!(RequestHead::parse(head.headers().raw_head()), Some(head));
    }

    #[test]
    fn a_head_parsed_into_a_used_one_keeps_nothing_of_the_earlier() {
        let mut reused = head(b"POST /long/path?q=1 HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n");
        let short = b"GET / HTTP/1.0\r\nC: 3\r\n\r\n";
        assert!(matches!(
            parse_head(short, &HttpConfig::default(), &mut reused),
            Ok(Parsed::Complete { .. })
        ));
        assert_eq!(reused, head(short));
        assert_eq!(reused.method(), "GET");
        assert_eq!(reused.target(), "/");
        assert!(!reused.is_http11());
        assert_eq!(reused.headers().len(), 1);
        assert_eq!(reused.headers().get("a"), None);
        assert_eq!(reused.headers().raw_head(), short);
    }

    #[test]
    fn more_fields_than_the_stack_slots_are_parsed_within_a_larger_limit() {
        let config = HttpConfig {
            max_headers: STACK_SLOTS + 10,
            ..HttpConfig::default()
        };
        let mut input = alloc::string::String::from("GET / HTTP/1.1\r\nHost: x\r\n");
        for i in 1..STACK_SLOTS + 10 {
            input.push_str(&alloc::format!("X-{i}: {i}\r\n"));
        }
        input.push_str("\r\n");
        let mut head = RequestHead::empty();
        assert!(matches!(
            parse_head(input.as_bytes(), &config, &mut head),
            Ok(Parsed::Complete { .. })
        ));
        assert_eq!(head.headers().len(), STACK_SLOTS + 10);
        input.insert_str(input.len() - 2, "Y: 1\r\n");
        assert_eq!(
            parse_head(input.as_bytes(), &config, &mut head).err(),
            Some(Refusal::TooManyHeaders)
        );
    }

    #[test]
    fn connection_close_and_http10_end_the_connection() {
        assert!(!framing(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!framing(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(framing(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(!framing(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: a, Close\r\n\r\n").keep_alive);
    }

    #[test]
    fn content_length_and_chunked_are_read() {
        let cl = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 42\r\n\r\n";
        assert_eq!(framing(cl).body, BodyLength::Fixed(42));
        let te = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n";
        assert_eq!(framing(te).body, BodyLength::Chunked);
        let same =
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7, 7\r\nContent-Length: 7\r\n\r\n";
        assert_eq!(framing(same).body, BodyLength::Fixed(7));
    }

    #[test]
    fn content_length_with_transfer_encoding_is_refused() {
        let input = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
            Transfer-Encoding: chunked\r\n\r\n";
        assert_eq!(parse(input).err(), Some(Refusal::AmbiguousLength));
    }

    #[test]
    fn differing_or_malformed_content_lengths_are_refused() {
        for value in [
            "5, 6",
            "",
            "-1",
            "+5",
            "0x10",
            "1 2",
            "99999999999999999999999",
        ] {
            let input =
                alloc::format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n\r\n");
            assert_eq!(
                parse(input.as_bytes()).err(),
                Some(Refusal::AmbiguousLength),
                "{value:?}"
            );
        }
        let two = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
        assert_eq!(parse(two).err(), Some(Refusal::AmbiguousLength));
    }

    #[test]
    fn transfer_codings_other_than_a_single_final_chunked_are_refused() {
        let refused = |value: &str| {
            let input =
                alloc::format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {value}\r\n\r\n");
            parse(input.as_bytes()).err()
        };
        assert_eq!(refused("gzip"), Some(Refusal::AmbiguousLength));
        assert_eq!(refused("chunked, gzip"), Some(Refusal::AmbiguousLength));
        assert_eq!(refused("chunked, chunked"), Some(Refusal::AmbiguousLength));
        assert_eq!(refused("gzip, chunked"), Some(Refusal::UnsupportedCoding));
        assert_eq!(refused("chunked;q=1"), Some(Refusal::AmbiguousLength));
        let http10 = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(parse(http10).err(), Some(Refusal::AmbiguousLength));
    }

    #[test]
    fn obs_fold_and_bare_line_feeds_are_refused() {
        let folded = b"GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n";
        assert_eq!(parse(folded).err(), Some(Refusal::Malformed));
        let bare = b"GET / HTTP/1.1\nHost: x\n\n";
        assert_eq!(parse(bare).err(), Some(Refusal::Malformed));
        let mixed = b"GET / HTTP/1.1\r\nHost: x\nContent-Length: 5\r\n\r\n";
        assert_eq!(parse(mixed).err(), Some(Refusal::Malformed));
    }

    #[test]
    fn an_http11_request_needs_exactly_one_host() {
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\n\r\n").err(),
            Some(Refusal::Malformed)
        );
        let two = b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
        assert_eq!(parse(two).err(), Some(Refusal::Malformed));
    }

    #[test]
    fn oversized_heads_and_too_many_fields_are_431() {
        let config = HttpConfig {
            max_head_len: 64,
            max_headers: 2,
            ..HttpConfig::default()
        };
        let mut long = b"GET / HTTP/1.1\r\nHost: x\r\nX: ".to_vec();
        long.resize(100, b'a');
        assert_eq!(
            parse_head(&long, &config, &mut RequestHead::empty()).err(),
            Some(Refusal::HeadTooLarge)
        );
        let many = b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n";
        assert_eq!(
            parse_head(many, &config, &mut RequestHead::empty()).err(),
            Some(Refusal::TooManyHeaders)
        );
    }

    #[test]
    fn a_declared_body_over_the_limit_is_413() {
        let config = HttpConfig {
            max_body: 10,
            ..HttpConfig::default()
        };
        let ok = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
        assert!(parse_head(ok, &config, &mut RequestHead::empty()).is_ok());
        let big = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n";
        assert_eq!(
            parse_head(big, &config, &mut RequestHead::empty()).err(),
            Some(Refusal::BodyTooLarge)
        );
    }

    #[test]
    fn expect_100_continue_is_seen_and_other_expectations_are_417() {
        let input =
            b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n";
        assert!(framing(input).expect_continue);
        let other = b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n";
        assert_eq!(parse(other).err(), Some(Refusal::UnsupportedExpectation));
    }

    #[test]
    fn a_websocket_upgrade_and_a_head_request_are_recognised() {
        let up =
            b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n";
        assert!(framing(up).websocket_upgrade);
        assert!(framing(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n").head_only);
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(input in proptest::collection::vec(proptest::num::u8::ANY, 0..1024)) {
            let _ = parse(&input);
        }
    }
}
