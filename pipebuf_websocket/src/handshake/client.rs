//! Client side: writing the upgrade request and checking the server's answer
//! (RFC 6455 §4.1).

use super::HandshakeError;
use super::headers::{Headers, Span};
use super::key::Key;
use super::limits::{HandshakeLimits, HeadError};
use super::response::check_extra;
use super::syntax::{
    is_field_value, is_printable_ascii, is_token, is_visible_ascii, lists_contain,
};
use super::write::Writer;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// What a client asks for when it opens a WebSocket.
///
/// ```
/// use pipebuf_websocket::handshake::ClientRequest;
///
/// let mut request = ClientRequest::new("/chat", "chat.example.com");
/// request.subprotocols.push("chat".into());
/// let nonce = [7u8; 16]; // draw these from a random source
/// let mut out = [0u8; 512];
/// let len = request.write_request(nonce, &mut out)?;
/// assert!(out[..len].starts_with(b"GET /chat HTTP/1.1\r\nHost: chat.example.com\r\n"));
/// # Ok::<(), pipebuf_websocket::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientRequest {
    /// The request target: path and query, starting with `/`.
    pub path: String,
    /// The `Host` field: host name or address, with `:port` unless it is the default.
    pub host: String,
    /// The `Origin` field, sent if set (browsers always send one).
    pub origin: Option<String>,
    /// Subprotocols to offer, most preferred first; each a token, no repeats.
    pub subprotocols: Vec<String>,
    /// More fields to send (e.g. `Authorization`); none may name a field the handshake
    /// writes itself.
    pub extra_headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// A request for `path` on `host`, with no origin, subprotocols or extra fields.
    pub fn new(path: impl Into<String>, host: impl Into<String>) -> Self {
        ClientRequest {
            path: path.into(),
            host: host.into(),
            ..ClientRequest::default()
        }
    }

    /// Writes the upgrade request into `out` and returns its length. `nonce` becomes the
    /// `Sec-WebSocket-Key`: 16 bytes the caller draws from a random source for each
    /// connection, and passes again to [`parse_response`](Self::parse_response).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidField`] or [`HandshakeError::ReservedHeader`] when a field
    /// would not be valid HTTP or would contradict the handshake (nothing is written);
    /// [`HandshakeError::BufferTooSmall`] when `out` is too small.
    pub fn write_request(&self, nonce: [u8; 16], out: &mut [u8]) -> Result<usize, HandshakeError> {
        self.write_request_with_extensions(nonce, None, out)
    }

    /// [`write_request`](Self::write_request) with a `Sec-WebSocket-Extensions` offer
    /// (built by this crate).
    pub(crate) fn write_request_with_extensions(
        &self,
        nonce: [u8; 16],
        extensions: Option<&str>,
        out: &mut [u8],
    ) -> Result<usize, HandshakeError> {
        self.check()?;
        let key = Key::from_nonce(&nonce);
        let mut w = Writer::new(out);
        w.put(b"GET ")
            .put(self.path.as_bytes())
            .put(b" HTTP/1.1\r\n")
            .field("Host", self.host.as_bytes())
            .field("Upgrade", b"websocket")
            .field("Connection", b"Upgrade")
            .field("Sec-WebSocket-Key", key.as_str().as_bytes())
            .field("Sec-WebSocket-Version", b"13");
        if let Some(origin) = &self.origin {
            w.field("Origin", origin.as_bytes());
        }
        if let Some((first, rest)) = self.subprotocols.split_first() {
            w.put(b"Sec-WebSocket-Protocol: ").put(first.as_bytes());
            for subprotocol in rest {
                w.put(b", ").put(subprotocol.as_bytes());
            }
            w.put(b"\r\n");
        }
        if let Some(extensions) = extensions {
            w.field("Sec-WebSocket-Extensions", extensions.as_bytes());
        }
        for (name, value) in &self.extra_headers {
            w.field(name, value.as_bytes());
        }
        w.put(b"\r\n").finish()
    }

    /// [`parse_response`] for the subprotocols this request offers.
    ///
    /// # Errors
    ///
    /// As [`parse_response`].
    pub fn parse_response(
        &self,
        input: &[u8],
        nonce: [u8; 16],
        limits: &HandshakeLimits,
    ) -> Result<ResponseStatus, HandshakeError> {
        parse_response(input, nonce, &self.subprotocols, limits)
    }

    /// Checks every field before anything is written.
    fn check(&self) -> Result<(), HandshakeError> {
        let path = self.path.as_bytes();
        if !is_visible_ascii(path) || !path.starts_with(b"/") {
            return Err(HandshakeError::InvalidField("path"));
        }
        if !is_visible_ascii(self.host.as_bytes()) {
            return Err(HandshakeError::InvalidField("host"));
        }
        if let Some(origin) = &self.origin
            && (!is_printable_ascii(origin.as_bytes()) || !is_field_value(origin.as_bytes()))
        {
            return Err(HandshakeError::InvalidField("origin"));
        }
        for (i, subprotocol) in self.subprotocols.iter().enumerate() {
            let repeated = self.subprotocols.iter().take(i).any(|s| s == subprotocol);
            if !is_token(subprotocol.as_bytes()) || repeated {
                return Err(HandshakeError::InvalidField("subprotocol"));
            }
        }
        for (name, value) in &self.extra_headers {
            check_extra(name, value)?;
        }
        Ok(())
    }
}

/// What [`parse_response`] found at the start of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseStatus {
    /// The head is not complete yet: call again with more input. Consume nothing.
    Partial,
    /// The server accepted; its head is the first `usize` bytes of the input: consume
    /// exactly those. Bytes after them are WebSocket frames.
    Complete(ServerResponse, usize),
}

/// A server's checked `101 Switching Protocols` answer.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerResponse {
    headers: Headers,
    subprotocol: Option<Span>,
}

impl ServerResponse {
    /// The subprotocol the server chose (one of those offered), or `None`.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.map(|span| self.headers.text(span))
    }

    /// Every header field of the response (e.g. `Set-Cookie`).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}

impl fmt::Debug for ServerResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerResponse")
            .field("subprotocol", &self.subprotocol())
            .field("headers", &self.headers)
            .finish()
    }
}

impl From<HeadError> for HandshakeError {
    fn from(e: HeadError) -> Self {
        match e {
            HeadError::Malformed => HandshakeError::Malformed,
            HeadError::TooLarge => HandshakeError::HeadTooLarge,
            HeadError::TooManyHeaders => HandshakeError::TooManyHeaders,
        }
    }
}

/// Parses the server's response head at the start of `input` and checks that it accepts
/// the WebSocket requested with `nonce` and offering `offered_subprotocols`.
///
/// Call with all unconsumed input; on [`ResponseStatus::Complete`] consume the length it
/// gives, no more. Checks: status 101 in HTTP/1.1, `Upgrade` naming `websocket`,
/// `Connection` naming `upgrade` (both case-insensitive), exactly one `Sec-WebSocket-Accept`
/// equal to the value for `nonce`, no `Sec-WebSocket-Extensions` (none are offered), and at
/// most one `Sec-WebSocket-Protocol`, exactly equal to one offered. Looks at no more than
/// [`HandshakeLimits::max_head_len`] bytes. Nothing from the response reaches
/// embedded-websocket: only the key this side made.
///
/// # Errors
///
/// A [`HandshakeError`] naming the first rule broken; do not speak WebSocket on the
/// connection then.
pub fn parse_response(
    input: &[u8],
    nonce: [u8; 16],
    offered_subprotocols: &[String],
    limits: &HandshakeLimits,
) -> Result<ResponseStatus, HandshakeError> {
    parse_response_offering(input, nonce, offered_subprotocols, false, limits)
}

/// [`parse_response`], letting `Sec-WebSocket-Extensions` through when extensions were
/// offered (`extensions_offered`): the caller checks them.
pub(crate) fn parse_response_offering(
    input: &[u8],
    nonce: [u8; 16],
    offered_subprotocols: &[String],
    extensions_offered: bool,
    limits: &HandshakeLimits,
) -> Result<ResponseStatus, HandshakeError> {
    let mut slots = limits.field_slots();
    let mut response = httparse::Response::new(&mut slots);
    let parsed = response.parse(limits.window(input));
    let Some(head_len) = limits.judge(input, parsed)? else {
        return Ok(ResponseStatus::Partial);
    };
    let headers =
        Headers::capture(input, head_len, response.headers).ok_or(HandshakeError::Malformed)?;

    match response.code {
        Some(101) => {}
        Some(code) => return Err(HandshakeError::UnexpectedStatus(code)),
        None => return Err(HandshakeError::Malformed),
    }
    if response.version != Some(1) {
        return Err(HandshakeError::NotHttp11);
    }
    if !lists_contain(headers.get_all("upgrade"), "websocket") {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !lists_contain(headers.get_all("connection"), "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let expected = Key::from_nonce(&nonce).accept()?;
    if headers.single("sec-websocket-accept") != Ok(&expected[..]) {
        return Err(HandshakeError::BadAccept);
    }
    if !extensions_offered && headers.count("sec-websocket-extensions") > 0 {
        return Err(HandshakeError::UnexpectedExtensions);
    }
    let subprotocol = match headers.count("sec-websocket-protocol") {
        0 => None,
        _ => Some(
            headers
                .single_span("sec-websocket-protocol")
                .ok()
                .filter(|&span| {
                    let chosen = headers.bytes(span);
                    offered_subprotocols.iter().any(|o| o.as_bytes() == chosen)
                })
                .ok_or(HandshakeError::UnofferedSubprotocol)?,
        ),
    };
    Ok(ResponseStatus::Complete(
        ServerResponse {
            headers,
            subprotocol,
        },
        head_len,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::{RequestStatus, UpgradeRequest, parse_request, write_accept};
    use super::*;
    use alloc::string::ToString;
    use alloc::{format, vec};

    const NONCE: [u8; 16] = *b"the sample nonce";
    const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        Sec-WebSocket-Protocol: chat\r\n\r\n";

    fn chat_request() -> ClientRequest {
        ClientRequest {
            path: "/chat?room=1".into(),
            host: "server.example.com:8080".into(),
            origin: Some("http://example.com".into()),
            subprotocols: vec!["chat".into(), "superchat".into()],
            extra_headers: vec![("Authorization".into(), "Bearer abc".into())],
        }
    }

    fn written(request: &ClientRequest) -> Result<Vec<u8>, HandshakeError> {
        let mut out = [0u8; 1024];
        let len = request.write_request(NONCE, &mut out)?;
        Ok(out[..len].to_vec())
    }

    fn served(input: &[u8]) -> (UpgradeRequest, usize) {
        match parse_request(input, &HandshakeLimits::default()) {
            Ok(RequestStatus::Complete(request, len)) => (request, len),
            other => panic!("the server parser must accept it: {other:?}"),
        }
    }

    fn check(input: &[u8]) -> Result<ResponseStatus, HandshakeError> {
        chat_request().parse_response(input, NONCE, &HandshakeLimits::default())
    }

    fn checked(input: &[u8]) -> (ServerResponse, usize) {
        match check(input) {
            Ok(ResponseStatus::Complete(response, len)) => (response, len),
            other => panic!("expected an accepted response, got {other:?}"),
        }
    }

    /// The RFC sample response with `from` replaced by `to`.
    fn rfc_response_with(from: &str, to: &str) -> Vec<u8> {
        let text = core::str::from_utf8(RFC_RESPONSE).expect("ASCII");
        assert!(text.contains(from), "{from}");
        text.replacen(from, to, 1).into_bytes()
    }

    #[test]
    fn the_request_carries_every_handshake_field() {
        let request = written(&ClientRequest::new("/chat", "server.example.com")).expect("written");
        assert_eq!(
            request,
            b"GET /chat HTTP/1.1\r\n\
              Host: server.example.com\r\n\
              Upgrade: websocket\r\n\
              Connection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\n\r\n"
        );
    }

    #[test]
    fn a_client_request_round_trips_through_the_server_parser() {
        let bytes = written(&chat_request()).expect("written");
        let (request, len) = served(&bytes);
        assert_eq!(len, bytes.len());
        assert_eq!(request.path(), "/chat?room=1");
        assert_eq!(request.host(), "server.example.com:8080");
        assert_eq!(request.origin(), Some("http://example.com"));
        assert_eq!(request.key(), "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(
            request.subprotocols().collect::<Vec<_>>(),
            ["chat", "superchat"]
        );
        assert_eq!(
            request.headers().get("authorization"),
            Some(&b"Bearer abc"[..])
        );
    }

    #[test]
    fn a_whole_handshake_round_trips_between_our_client_and_server() {
        let client = chat_request();
        let (request, _) = served(&written(&client).expect("written"));
        let chosen = request.pick_subprotocol(&["superchat"]);
        let mut out = [0u8; 512];
        let len =
            write_accept(&request, chosen, &[("Set-Cookie", "s=1")], &mut out).expect("written");
        let (response, consumed) = checked(&out[..len]);
        assert_eq!(consumed, len);
        assert_eq!(response.subprotocol(), Some("superchat"));
        assert_eq!(response.headers().get("set-cookie"), Some(&b"s=1"[..]));
    }

    #[test]
    fn a_subprotocol_longer_than_24_bytes_round_trips_without_a_panic() {
        let long = "a-subprotocol-name-well-over-24-bytes.example.com";
        let client = ClientRequest {
            subprotocols: vec![long.to_string()],
            ..chat_request()
        };
        let (request, _) = served(&written(&client).expect("written"));
        let mut out = [0u8; 512];
        let len = write_accept(&request, Some(long), &[], &mut out).expect("written");
        let parsed = client.parse_response(&out[..len], NONCE, &HandshakeLimits::default());
        let Ok(ResponseStatus::Complete(response, _)) = parsed else {
            panic!("expected acceptance: {parsed:?}");
        };
        assert_eq!(response.subprotocol(), Some(long));
    }

    #[test]
    fn fields_that_are_not_valid_http_are_refused_before_writing() {
        let cases: [(ClientRequest, HandshakeError); 9] = [
            (
                ClientRequest::new("chat", "h"),
                HandshakeError::InvalidField("path"),
            ),
            (
                ClientRequest::new("/a b", "h"),
                HandshakeError::InvalidField("path"),
            ),
            (
                ClientRequest::new("", "h"),
                HandshakeError::InvalidField("path"),
            ),
            (
                ClientRequest::new("/", "h\r\nX: y"),
                HandshakeError::InvalidField("host"),
            ),
            (
                ClientRequest::new("/", ""),
                HandshakeError::InvalidField("host"),
            ),
            (
                ClientRequest {
                    origin: Some("http://a\r\n".into()),
                    ..ClientRequest::new("/", "h")
                },
                HandshakeError::InvalidField("origin"),
            ),
            (
                ClientRequest {
                    subprotocols: vec!["a,b".into()],
                    ..ClientRequest::new("/", "h")
                },
                HandshakeError::InvalidField("subprotocol"),
            ),
            (
                ClientRequest {
                    subprotocols: vec!["chat".into(), "chat".into()],
                    ..ClientRequest::new("/", "h")
                },
                HandshakeError::InvalidField("subprotocol"),
            ),
            (
                ClientRequest {
                    extra_headers: vec![("Sec-WebSocket-Extensions".into(), "x".into())],
                    ..ClientRequest::new("/", "h")
                },
                HandshakeError::ReservedHeader,
            ),
        ];
        for (request, error) in cases {
            assert_eq!(written(&request), Err(error), "{request:?}");
        }
    }

    #[test]
    fn a_too_small_output_reports_the_length_needed() {
        let client = chat_request();
        let full = written(&client).expect("written");
        let mut out = vec![0u8; full.len() - 1];
        assert_eq!(
            client.write_request(NONCE, &mut out),
            Err(HandshakeError::BufferTooSmall { needed: full.len() })
        );
    }

    #[test]
    fn the_rfc_sample_response_is_accepted() {
        let (response, len) = checked(RFC_RESPONSE);
        assert_eq!(len, RFC_RESPONSE.len());
        assert_eq!(response.subprotocol(), Some("chat"));
        assert_eq!(response.headers().len(), 4);
    }

    #[test]
    fn bytes_after_the_response_head_are_not_consumed() {
        let mut input = RFC_RESPONSE.to_vec();
        input.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
        assert_eq!(checked(&input).1, RFC_RESPONSE.len());
    }

    #[test]
    fn a_response_split_at_every_byte_is_partial_until_complete() {
        for cut in 0..RFC_RESPONSE.len() {
            assert_eq!(
                check(&RFC_RESPONSE[..cut]),
                Ok(ResponseStatus::Partial),
                "{cut}"
            );
        }
        assert!(matches!(
            check(RFC_RESPONSE),
            Ok(ResponseStatus::Complete(..))
        ));
    }

    #[test]
    fn header_names_and_tokens_match_in_any_case() {
        let input = b"HTTP/1.1 101 OK\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n\
            sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert_eq!(checked(input).0.subprotocol(), None);
    }

    #[test]
    fn a_status_other_than_101_is_refused() {
        let input = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(check(input), Err(HandshakeError::UnexpectedStatus(403)));
        let input = rfc_response_with("101 Switching Protocols", "200 OK");
        assert_eq!(check(&input), Err(HandshakeError::UnexpectedStatus(200)));
    }

    #[test]
    fn an_http_10_response_is_refused() {
        let input = rfc_response_with("HTTP/1.1", "HTTP/1.0");
        assert_eq!(check(&input), Err(HandshakeError::NotHttp11));
    }

    #[test]
    fn a_response_without_upgrade_websocket_is_refused() {
        let input = rfc_response_with("Upgrade: websocket\r\n", "");
        assert_eq!(check(&input), Err(HandshakeError::MissingUpgrade));
        let input = rfc_response_with("Upgrade: websocket", "Upgrade: h2c");
        assert_eq!(check(&input), Err(HandshakeError::MissingUpgrade));
    }

    #[test]
    fn a_response_without_connection_upgrade_is_refused() {
        let input = rfc_response_with("Connection: Upgrade\r\n", "");
        assert_eq!(check(&input), Err(HandshakeError::MissingConnectionUpgrade));
        let input = rfc_response_with("Connection: Upgrade", "Connection: close");
        assert_eq!(check(&input), Err(HandshakeError::MissingConnectionUpgrade));
    }

    #[test]
    fn a_wrong_missing_or_repeated_accept_value_is_refused() {
        let accept = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
        for replacement in [
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOX=\r\n".to_string(),
            "Sec-WebSocket-Accept: S3PPLMBITXAQ9KYGZZHZRBK+XOO=\r\n".to_string(),
            "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n".to_string(),
            format!("Sec-WebSocket-Accept: {}\r\n", "A".repeat(5000)),
            String::new(),
            format!("{accept}{accept}"),
        ] {
            let input = rfc_response_with(accept, &replacement);
            assert_eq!(
                check(&input),
                Err(HandshakeError::BadAccept),
                "{replacement}"
            );
        }
    }

    #[test]
    fn the_accept_value_must_match_the_nonce_sent() {
        let other =
            chat_request().parse_response(RFC_RESPONSE, [0; 16], &HandshakeLimits::default());
        assert_eq!(other, Err(HandshakeError::BadAccept));
    }

    #[test]
    fn a_subprotocol_that_was_not_offered_is_refused() {
        let long = format!("Sec-WebSocket-Protocol: {}", "x".repeat(1000));
        for replacement in [
            "Sec-WebSocket-Protocol: mqtt",
            "Sec-WebSocket-Protocol: Chat",
            "Sec-WebSocket-Protocol: chat, superchat",
            "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat",
            &long,
        ] {
            let input = rfc_response_with("Sec-WebSocket-Protocol: chat", replacement);
            assert_eq!(
                check(&input),
                Err(HandshakeError::UnofferedSubprotocol),
                "{replacement}"
            );
        }
        let offered_none = parse_response(RFC_RESPONSE, NONCE, &[], &HandshakeLimits::default());
        assert_eq!(offered_none, Err(HandshakeError::UnofferedSubprotocol));
    }

    #[test]
    fn any_extension_is_refused_since_none_are_offered() {
        for extension in ["permessage-deflate", ""] {
            let field = format!("Sec-WebSocket-Extensions: {extension}\r\n\r\n");
            let input = rfc_response_with("\r\n\r\n", &format!("\r\n{field}"));
            assert_eq!(
                check(&input),
                Err(HandshakeError::UnexpectedExtensions),
                "{extension}"
            );
        }
    }

    #[test]
    fn a_malformed_response_is_refused() {
        assert_eq!(
            check(b"HTTP/1.1 1O1 Switching\r\n\r\n"),
            Err(HandshakeError::Malformed)
        );
        assert_eq!(
            check(b"SSH-2.0-OpenSSH_9.6\r\n"),
            Err(HandshakeError::Malformed)
        );
    }

    #[test]
    fn ten_thousand_headers_are_refused_not_a_panic() {
        let mut input = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
        for i in 0..10_000 {
            input.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        input.extend_from_slice(b"\r\n");
        assert_eq!(check(&input), Err(HandshakeError::TooManyHeaders));
    }

    #[test]
    fn a_1_mib_header_line_is_refused_not_a_panic() {
        let mut input = b"HTTP/1.1 101 Switching Protocols\r\nX-Big: ".to_vec();
        input.resize(input.len() + (1 << 20), b'a');
        assert_eq!(check(&input), Err(HandshakeError::HeadTooLarge));
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(input in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = check(&input);
        }

        #[test]
        fn a_damaged_response_never_panics(at in 0usize..160, byte: u8, cut in 0usize..160) {
            let mut input = RFC_RESPONSE.to_vec();
            if let Some(b) = input.get_mut(at) {
                *b = byte;
            }
            input.truncate(cut.max(at));
            let _ = check(&input);
        }

        #[test]
        fn any_nonce_completes_a_handshake_with_our_server(nonce: [u8; 16]) {
            let client = chat_request();
            let mut out = [0u8; 1024];
            let len = client.write_request(nonce, &mut out).expect("written");
            let (request, _) = served(&out[..len]);
            let len = write_accept(&request, None, &[], &mut out).expect("written");
            let parsed = client.parse_response(&out[..len], nonce, &HandshakeLimits::default());
            proptest::prop_assert!(matches!(parsed, Ok(ResponseStatus::Complete(..))));
        }
    }
}
