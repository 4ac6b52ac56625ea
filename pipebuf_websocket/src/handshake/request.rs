//! Server side: parsing and checking the client's upgrade request (RFC 6455 §4.2.1).

use super::RejectReason;
use super::headers::{Headers, Span};
use super::key::Key;
use super::limits::{HandshakeLimits, HeadError};
use super::syntax::{is_printable_ascii, is_token, is_visible_ascii, list_items, lists_contain};
use alloc::vec::Vec;
use core::fmt;

/// What [`parse_request`] found at the start of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestStatus {
    /// The head is not complete yet: call again with more input. Consume nothing.
    Partial,
    /// A valid WebSocket upgrade request whose head is the first `usize` bytes of the input:
    /// consume exactly those. Bytes after them (perhaps a first frame) belong to the
    /// WebSocket stream.
    Complete(UpgradeRequest, usize),
    /// A complete, valid HTTP request that does not try to open a WebSocket: no `Upgrade`
    /// field naming `websocket` and no `Sec-WebSocket-*` field. Nothing is consumed; the head
    /// is the first `head_len` bytes of the input and may be followed by a body, for the
    /// application to serve as plain HTTP.
    NotWebSocket {
        /// Length of the request head.
        head_len: usize,
    },
}

/// A checked WebSocket upgrade request, for the application to decide on.
///
/// Owns one copy of the request head (see [`Headers`]); every accessor borrows from it.
#[derive(Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    headers: Headers,
    path: Span,
    host: Span,
    origin: Option<Span>,
    key: Key,
    subprotocols: Vec<Span>,
}

impl UpgradeRequest {
    /// The request target as sent: path and query, e.g. `/chat?room=1`.
    pub fn path(&self) -> &str {
        self.headers.text(self.path)
    }

    /// The `Host` field (printable ASCII, checked).
    pub fn host(&self) -> &str {
        self.headers.text(self.host)
    }

    /// The `Origin` field, which browsers send (printable ASCII, checked); `None` if absent.
    /// Compare it with the origins you serve and reject others with 403.
    pub fn origin(&self) -> Option<&str> {
        self.origin.map(|span| self.headers.text(span))
    }

    /// The `Sec-WebSocket-Key` field (24 characters of base64, checked).
    pub fn key(&self) -> &str {
        self.key.as_str()
    }

    /// The offered subprotocols in the client's order of preference, from every
    /// `Sec-WebSocket-Protocol` field (tokens, checked).
    pub fn subprotocols(&self) -> impl Iterator<Item = &str> {
        self.subprotocols
            .iter()
            .map(|&span| self.headers.text(span))
    }

    /// Whether the client offered the subprotocol `name` (compared exactly: subprotocol
    /// names are case-sensitive).
    pub fn offers_subprotocol(&self, name: &str) -> bool {
        self.subprotocols().any(|offered| offered == name)
    }

    /// The first subprotocol in the client's order of preference that is also in
    /// `supported`, if any: the usual choice for [`Decision::Accept`](super::Decision).
    pub fn pick_subprotocol<'s>(&self, supported: &[&'s str]) -> Option<&'s str> {
        self.subprotocols()
            .find_map(|offered| supported.iter().find(|s| **s == offered).copied())
    }

    /// Every header field of the request.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The checked key, for computing the accept value.
    pub(crate) fn checked_key(&self) -> &Key {
        &self.key
    }
}

impl fmt::Debug for UpgradeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradeRequest")
            .field("path", &self.path())
            .field("host", &self.host())
            .field("origin", &self.origin())
            .field("key", &self.key())
            .field("subprotocols", &self.subprotocols().collect::<Vec<_>>())
            .field("headers", &self.headers)
            .finish()
    }
}

impl From<HeadError> for RejectReason {
    fn from(e: HeadError) -> Self {
        match e {
            HeadError::Malformed => RejectReason::Malformed,
            HeadError::TooLarge => RejectReason::HeadTooLarge,
            HeadError::TooManyHeaders => RejectReason::TooManyHeaders,
        }
    }
}

/// Parses the HTTP request head at the start of `input` and checks it as a WebSocket
/// upgrade request (RFC 6455 §4.2.1).
///
/// Call with all unconsumed input (`rd.data()`); on [`RequestStatus::Complete`] consume the
/// length it gives, no more. Header names and the tokens of `Upgrade` and `Connection`
/// compare case-insensitively; the method must be exactly `GET` (methods are
/// case-sensitive). Looks at no more than [`HandshakeLimits::max_head_len`] bytes.
///
/// # Errors
///
/// A [`RejectReason`] when the head is malformed or over the limits, or when it tries to
/// open a WebSocket and breaks a rule; answer with [`write_reject`](super::write_reject)
/// using [`RejectReason::status`], then close.
pub fn parse_request(
    input: &[u8],
    limits: &HandshakeLimits,
) -> Result<RequestStatus, RejectReason> {
    let mut slots = limits.field_slots();
    let mut request = httparse::Request::new(&mut slots);
    let parsed = request.parse(limits.window(input));
    let Some(head_len) = limits.judge(input, parsed)? else {
        return Ok(RequestStatus::Partial);
    };
    let head = input.get(..head_len).ok_or(RejectReason::Malformed)?;
    let headers =
        Headers::capture(input, head_len, request.headers).ok_or(RejectReason::Malformed)?;
    let path = request
        .path
        .and_then(|p| Span::within(head, p.as_bytes()))
        .ok_or(RejectReason::Malformed)?;

    if !is_websocket_attempt(&headers) {
        return Ok(RequestStatus::NotWebSocket { head_len });
    }
    if request.method != Some("GET") {
        return Err(RejectReason::MethodNotGet);
    }
    if request.version != Some(1) {
        return Err(RejectReason::NotHttp11);
    }
    let host = headers
        .single_span("host")
        .ok()
        .filter(|&span| is_visible_ascii(headers.bytes(span)))
        .ok_or(RejectReason::BadHost)?;
    if !lists_contain(headers.get_all("upgrade"), "websocket") {
        return Err(RejectReason::MissingUpgrade);
    }
    if !lists_contain(headers.get_all("connection"), "upgrade") {
        return Err(RejectReason::MissingConnectionUpgrade);
    }
    if headers.single("sec-websocket-version") != Ok(b"13") {
        return Err(RejectReason::UnsupportedVersion);
    }
    let key = headers
        .single("sec-websocket-key")
        .ok()
        .and_then(Key::parse)
        .ok_or(RejectReason::BadKey)?;
    let origin = match headers.count("origin") {
        0 => None,
        _ => Some(
            headers
                .single_span("origin")
                .ok()
                .filter(|&span| is_printable_ascii(headers.bytes(span)))
                .ok_or(RejectReason::BadOrigin)?,
        ),
    };
    let subprotocols = offered_subprotocols(&headers).ok_or(RejectReason::BadSubprotocols)?;
    if announces_body(&headers) {
        return Err(RejectReason::UnexpectedBody);
    }

    let request = UpgradeRequest {
        headers,
        path,
        host,
        origin,
        key,
        subprotocols,
    };
    Ok(RequestStatus::Complete(request, head_len))
}

/// Whether the request tries to open a WebSocket: an `Upgrade` field names `websocket`, or
/// any `Sec-WebSocket-*` field is present.
fn is_websocket_attempt(headers: &Headers) -> bool {
    const PREFIX: &[u8] = b"sec-websocket-";
    lists_contain(headers.get_all("upgrade"), "websocket")
        || headers.iter().any(|(name, _)| {
            name.as_bytes()
                .get(..PREFIX.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(PREFIX))
        })
}

/// The positions of every offered subprotocol, or `None` if an element is not a token. An
/// empty field offers nothing.
fn offered_subprotocols(headers: &Headers) -> Option<Vec<Span>> {
    headers
        .get_all("sec-websocket-protocol")
        .flat_map(list_items)
        .map(|item| {
            is_token(item)
                .then(|| Span::within(headers.raw_head(), item))
                .flatten()
        })
        .collect()
}

/// Whether the request says a body follows, which would be taken for WebSocket frames.
fn announces_body(headers: &Headers) -> bool {
    headers.count("transfer-encoding") > 0
        || headers.get_all("content-length").any(|value| value != b"0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn good_fields() -> Vec<(&'static str, &'static str)> {
        vec![
            ("Host", "server.example.com"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", KEY),
            ("Origin", "http://example.com"),
            ("Sec-WebSocket-Protocol", "chat, superchat"),
            ("Sec-WebSocket-Version", "13"),
        ]
    }

    fn build(start: &str, fields: &[(&str, &str)]) -> Vec<u8> {
        let mut text = String::from(start);
        text.push_str("\r\n");
        for (name, value) in fields {
            text.push_str(&alloc::format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        text.into_bytes()
    }

    fn good() -> Vec<u8> {
        build("GET /chat?room=1 HTTP/1.1", &good_fields())
    }

    /// The good request without any field called `name`.
    fn without(name: &str) -> Vec<u8> {
        let mut fields = good_fields();
        fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        build("GET /chat?room=1 HTTP/1.1", &fields)
    }

    /// The good request with the field `name` set to `value` (or added).
    fn with(name: &'static str, value: &'static str) -> Vec<u8> {
        let mut fields = good_fields();
        fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        fields.push((name, value));
        build("GET /chat?room=1 HTTP/1.1", &fields)
    }

    /// The good request with one more field `name: value`.
    fn plus(name: &'static str, value: &'static str) -> Vec<u8> {
        let mut fields = good_fields();
        fields.push((name, value));
        build("GET /chat?room=1 HTTP/1.1", &fields)
    }

    fn parse(input: &[u8]) -> Result<RequestStatus, RejectReason> {
        parse_request(input, &HandshakeLimits::default())
    }

    fn accepted(input: &[u8]) -> (UpgradeRequest, usize) {
        match parse(input) {
            Ok(RequestStatus::Complete(request, len)) => (request, len),
            other => panic!("expected a complete upgrade request, got {other:?}"),
        }
    }

    fn refused(input: &[u8]) -> (RejectReason, u16) {
        match parse(input) {
            Err(reason) => (reason, reason.status()),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_upgrade_request_is_complete_with_its_head_length() {
        let input = good();
        let (_, len) = accepted(&input);
        assert_eq!(len, input.len());
    }

    #[test]
    fn the_application_sees_path_host_origin_key_subprotocols_and_headers() {
        let (request, _) = accepted(&plus("X-Token", "abc"));
        assert_eq!(request.path(), "/chat?room=1");
        assert_eq!(request.host(), "server.example.com");
        assert_eq!(request.origin(), Some("http://example.com"));
        assert_eq!(request.key(), KEY);
        assert_eq!(
            request.subprotocols().collect::<Vec<_>>(),
            ["chat", "superchat"]
        );
        assert_eq!(request.headers().get("x-token"), Some(&b"abc"[..]));
        assert_eq!(request.headers().len(), 8);
    }

    #[test]
    fn bytes_after_the_head_are_not_consumed() {
        let mut input = good();
        let head_len = input.len();
        input.extend_from_slice(&[0x81, 0x85, 1, 2, 3, 4, b'h', b'e', b'l', b'l', b'o']);
        let (_, len) = accepted(&input);
        assert_eq!(len, head_len);
    }

    #[test]
    fn a_request_split_at_every_byte_is_partial_until_complete_and_then_identical() {
        let input = good();
        let whole = parse(&input);
        assert!(matches!(whole, Ok(RequestStatus::Complete(..))));
        for cut in 0..input.len() {
            assert_eq!(
                parse(&input[..cut]),
                Ok(RequestStatus::Partial),
                "cut at {cut}"
            );
        }
        let mut longer = input.clone();
        longer.extend_from_slice(b"\x81\x00");
        assert_eq!(parse(&longer), whole);
    }

    #[test]
    fn header_names_and_tokens_match_in_any_case() {
        let fields = [
            ("HOST", "a"),
            ("upgrade", "WebSocket"),
            ("CONNECTION", "UPGRADE"),
            ("sec-websocket-key", KEY),
            ("SEC-WEBSOCKET-VERSION", "13"),
            ("sec-WebSocket-protocol", "chat"),
            ("ORIGIN", "null"),
        ];
        let (request, _) = accepted(&build("GET / HTTP/1.1", &fields));
        assert_eq!(request.host(), "a");
        assert_eq!(request.origin(), Some("null"));
        assert!(request.offers_subprotocol("chat"));
    }

    #[test]
    fn connection_may_list_upgrade_among_other_tokens() {
        accepted(&with("Connection", "keep-alive, Upgrade"));
        accepted(&with("Connection", "keep-alive,upgrade ,close"));
    }

    #[test]
    fn upgrade_may_list_websocket_among_other_protocols() {
        accepted(&with("Upgrade", "h2c, websocket"));
    }

    #[test]
    fn connection_and_upgrade_fields_may_be_repeated() {
        let mut fields = good_fields();
        fields.push(("Connection", "keep-alive"));
        fields.insert(0, ("Upgrade", "foo"));
        accepted(&build("GET / HTTP/1.1", &fields));
    }

    #[test]
    fn a_plain_http_request_is_not_websocket_and_nothing_is_consumed() {
        let input = b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(
            parse(input),
            Ok(RequestStatus::NotWebSocket {
                head_len: input.len()
            })
        );
        let post = b"POST /form HTTP/1.0\r\nContent-Length: 3\r\n\r\na=b";
        assert_eq!(
            parse(post),
            Ok(RequestStatus::NotWebSocket {
                head_len: post.len() - 3
            })
        );
    }

    #[test]
    fn an_upgrade_to_another_protocol_is_not_websocket() {
        let input = build(
            "GET / HTTP/1.1",
            &[("Host", "a"), ("Upgrade", "h2c"), ("Connection", "Upgrade")],
        );
        assert!(matches!(
            parse(&input),
            Ok(RequestStatus::NotWebSocket { .. })
        ));
    }

    #[test]
    fn websocket_fields_without_upgrade_are_400() {
        assert_eq!(
            refused(&without("Upgrade")),
            (RejectReason::MissingUpgrade, 400)
        );
        assert_eq!(
            refused(&with("Upgrade", "h2c")),
            (RejectReason::MissingUpgrade, 400)
        );
        assert_eq!(
            refused(&with("Upgrade", "websockets")),
            (RejectReason::MissingUpgrade, 400)
        );
    }

    #[test]
    fn an_upgrade_without_connection_upgrade_is_400() {
        let expected = (RejectReason::MissingConnectionUpgrade, 400);
        assert_eq!(refused(&without("Connection")), expected);
        assert_eq!(refused(&with("Connection", "keep-alive")), expected);
        assert_eq!(refused(&with("Connection", "upgrade-please")), expected);
    }

    #[test]
    fn an_upgrade_with_another_method_is_405() {
        let input = build("POST /chat HTTP/1.1", &good_fields());
        assert_eq!(refused(&input), (RejectReason::MethodNotGet, 405));
        let input = build("get /chat HTTP/1.1", &good_fields());
        assert_eq!(refused(&input), (RejectReason::MethodNotGet, 405));
    }

    #[test]
    fn an_http_10_upgrade_is_400() {
        let input = build("GET /chat HTTP/1.0", &good_fields());
        assert_eq!(refused(&input), (RejectReason::NotHttp11, 400));
    }

    #[test]
    fn a_missing_repeated_or_invalid_host_is_400() {
        assert_eq!(refused(&without("Host")), (RejectReason::BadHost, 400));
        assert_eq!(
            refused(&plus("Host", "other")),
            (RejectReason::BadHost, 400)
        );
        assert_eq!(refused(&with("Host", "")), (RejectReason::BadHost, 400));
        assert_eq!(refused(&with("Host", "a b")), (RejectReason::BadHost, 400));
    }

    #[test]
    fn a_missing_wrong_or_repeated_version_is_426() {
        let expected = (RejectReason::UnsupportedVersion, 426);
        assert_eq!(refused(&without("Sec-WebSocket-Version")), expected);
        assert_eq!(refused(&with("Sec-WebSocket-Version", "8")), expected);
        assert_eq!(refused(&with("Sec-WebSocket-Version", "13, 8")), expected);
        assert_eq!(refused(&plus("Sec-WebSocket-Version", "13")), expected);
    }

    #[test]
    fn the_version_is_checked_before_the_key() {
        let mut fields = good_fields();
        fields.retain(|(n, _)| *n != "Sec-WebSocket-Version" && *n != "Sec-WebSocket-Key");
        fields.push(("Sec-WebSocket-Version", "14"));
        let input = build("GET / HTTP/1.1", &fields);
        assert_eq!(refused(&input).1, 426);
    }

    #[test]
    fn a_missing_or_repeated_key_is_400() {
        assert_eq!(
            refused(&without("Sec-WebSocket-Key")),
            (RejectReason::BadKey, 400)
        );
        assert_eq!(
            refused(&plus("Sec-WebSocket-Key", KEY)),
            (RejectReason::BadKey, 400)
        );
    }

    #[test]
    fn a_25_byte_key_is_400_not_a_panic() {
        let input = with("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==A");
        assert_eq!(refused(&input), (RejectReason::BadKey, 400));
        let long = alloc::format!("{}==", "A".repeat(4000));
        let mut fields = good_fields();
        fields.retain(|(n, _)| *n != "Sec-WebSocket-Key");
        fields.push(("Sec-WebSocket-Key", &long));
        assert_eq!(refused(&build("GET / HTTP/1.1", &fields)).1, 400);
    }

    #[test]
    fn a_key_that_is_not_base64_of_16_bytes_is_400() {
        for key in [
            "dGhlIHNhbXBsZSBub25jZQ=",
            "dGhlIHNhbXBsZSBub25jZR==",
            "dGhlIHNhbXBsZSBub25j-Q==",
            "dGhlIHNhbXBsZSBub25jZQAA",
            "",
        ] {
            let mut fields = good_fields();
            fields.retain(|(n, _)| *n != "Sec-WebSocket-Key");
            fields.push(("Sec-WebSocket-Key", key));
            let input = build("GET / HTTP/1.1", &fields);
            assert_eq!(refused(&input), (RejectReason::BadKey, 400), "{key:?}");
        }
    }

    #[test]
    fn a_missing_origin_is_allowed_but_a_repeated_or_binary_one_is_400() {
        let (request, _) = accepted(&without("Origin"));
        assert_eq!(request.origin(), None);
        assert_eq!(
            refused(&plus("Origin", "http://b")),
            (RejectReason::BadOrigin, 400)
        );
        let mut input = without("Origin");
        let at = input.len() - 2;
        input.splice(at..at, b"Origin: http://\xc3\xa9\r\n".iter().copied());
        assert_eq!(refused(&input), (RejectReason::BadOrigin, 400));
    }

    #[test]
    fn subprotocols_come_from_every_field_in_order() {
        let (request, _) = accepted(&plus("Sec-WebSocket-Protocol", "v3.chat, ,x"));
        assert_eq!(
            request.subprotocols().collect::<Vec<_>>(),
            ["chat", "superchat", "v3.chat", "x"]
        );
        let (request, _) = accepted(&without("Sec-WebSocket-Protocol"));
        assert_eq!(request.subprotocols().count(), 0);
        let (request, _) = accepted(&with("Sec-WebSocket-Protocol", ""));
        assert_eq!(request.subprotocols().count(), 0);
    }

    #[test]
    fn a_subprotocol_that_is_not_a_token_is_400() {
        let expected = (RejectReason::BadSubprotocols, 400);
        assert_eq!(
            refused(&with("Sec-WebSocket-Protocol", "chat, a b")),
            expected
        );
        assert_eq!(
            refused(&with("Sec-WebSocket-Protocol", "chat;v=1")),
            expected
        );
    }

    #[test]
    fn subprotocol_names_compare_exactly_and_the_clients_order_wins() {
        let (request, _) = accepted(&good());
        assert!(request.offers_subprotocol("superchat"));
        assert!(!request.offers_subprotocol("Chat"));
        assert_eq!(
            request.pick_subprotocol(&["superchat", "chat"]),
            Some("chat")
        );
        assert_eq!(request.pick_subprotocol(&["superchat"]), Some("superchat"));
        assert_eq!(request.pick_subprotocol(&["mqtt"]), None);
        assert_eq!(request.pick_subprotocol(&[]), None);
    }

    #[test]
    fn an_upgrade_that_announces_a_body_is_400() {
        let expected = (RejectReason::UnexpectedBody, 400);
        assert_eq!(refused(&plus("Content-Length", "5")), expected);
        assert_eq!(refused(&plus("Transfer-Encoding", "chunked")), expected);
        accepted(&plus("Content-Length", "0"));
    }

    #[test]
    fn a_malformed_head_is_400() {
        let expected = (RejectReason::Malformed, 400);
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nno colon here\r\n\r\n"),
            expected
        );
        assert_eq!(refused(b"GET / HTTP/2.0\r\n\r\n"), expected);
        assert_eq!(refused(b"GET  / HTTP/1.1\r\n\r\n"), expected);
    }

    #[test]
    fn a_tls_client_hello_is_refused_at_once() {
        assert_eq!(refused(b"\x16\x03\x01\x02\x00\x01").1, 400);
    }

    #[test]
    fn ten_thousand_headers_are_431_not_a_panic() {
        let mut input = Vec::from(&b"GET / HTTP/1.1\r\n"[..]);
        for i in 0..10_000 {
            input.extend_from_slice(alloc::format!("X-{i}: y\r\n").as_bytes());
        }
        input.extend_from_slice(b"\r\n");
        assert_eq!(refused(&input).1, 431);
        let roomy = HandshakeLimits {
            max_headers: 64,
            max_head_len: 1 << 20,
        };
        assert_eq!(
            parse_request(&input, &roomy),
            Err(RejectReason::TooManyHeaders)
        );
    }

    #[test]
    fn a_1_mib_header_line_is_431_not_a_panic() {
        let mut input = Vec::from(&b"GET / HTTP/1.1\r\nX-Big: "[..]);
        input.resize(input.len() + (1 << 20), b'a');
        assert_eq!(refused(&input), (RejectReason::HeadTooLarge, 431));
        input.extend_from_slice(b"\r\n\r\n");
        assert_eq!(refused(&input), (RejectReason::HeadTooLarge, 431));
    }

    #[test]
    fn a_head_exactly_at_the_size_limit_is_accepted_and_one_byte_more_is_431() {
        let input = good();
        let exact = HandshakeLimits {
            max_headers: 64,
            max_head_len: input.len(),
        };
        assert!(matches!(
            parse_request(&input, &exact),
            Ok(RequestStatus::Complete(_, _))
        ));
        let short = HandshakeLimits {
            max_head_len: input.len() - 1,
            ..exact
        };
        assert_eq!(
            parse_request(&input, &short),
            Err(RejectReason::HeadTooLarge)
        );
        assert_eq!(
            parse_request(&input[..input.len() - 2], &short),
            Ok(RequestStatus::Partial)
        );
    }

    #[test]
    fn more_headers_than_the_limit_are_431() {
        let few = HandshakeLimits {
            max_headers: 7,
            max_head_len: 8192,
        };
        assert!(matches!(
            parse_request(&good(), &few),
            Ok(RequestStatus::Complete(..))
        ));
        assert_eq!(
            parse_request(&plus("X", "y"), &few),
            Err(RejectReason::TooManyHeaders)
        );
    }

    #[test]
    fn the_debug_view_shows_the_fields_as_text() {
        let (request, _) = accepted(&good());
        let text = alloc::format!("{request:?}");
        assert!(text.contains("path: \"/chat?room=1\""), "{text}");
        assert!(text.contains("superchat"), "{text}");
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(input in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = parse(&input);
        }

        #[test]
        fn a_damaged_request_never_panics(at in 0usize..400, byte: u8, cut in 0usize..400) {
            let mut input = good();
            if let Some(b) = input.get_mut(at) {
                *b = byte;
            }
            input.truncate(cut.max(at));
            let _ = parse(&input);
        }

        #[test]
        fn a_complete_request_never_claims_more_than_its_input(
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let mut input = good();
            let head_len = input.len();
            input.extend_from_slice(&tail);
            let parsed = parse(&input);
            proptest::prop_assert!(
                matches!(parsed, Ok(RequestStatus::Complete(_, len)) if len == head_len)
            );
        }
    }
}
