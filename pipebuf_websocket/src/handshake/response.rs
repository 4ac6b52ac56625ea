//! Server side: the application's [`Decision`] and the response that carries it
//! (RFC 6455 §4.2.2).

use super::HandshakeError;
use super::request::UpgradeRequest;
use super::syntax::{is_field_value, is_token};
use super::write::Writer;
use alloc::string::String;
use alloc::vec::Vec;

/// The application's answer to an [`UpgradeRequest`], e.g. from a callback
/// `FnMut(&UpgradeRequest) -> Decision`.
///
/// ```
/// use pipebuf_websocket::handshake::{Decision, UpgradeRequest};
///
/// fn decide(request: &UpgradeRequest) -> Decision {
///     if request.origin().is_some_and(|o| o != "https://chat.example.com") {
///         return Decision::Reject(403);
///     }
///     if request.path() != "/chat" {
///         return Decision::Reject(404);
///     }
///     let subprotocol = request.pick_subprotocol(&["chat.v2", "chat"]).map(String::from);
///     if request.path() == "/chat" && request.headers().get("cookie").is_none() {
///         // A first visit: open it, and hand out a session cookie with the 101.
///         let cookie = ("Set-Cookie".into(), "session=1; Secure; HttpOnly".into());
///         return Decision::AcceptWith { subprotocol, headers: vec![cookie] };
///     }
///     Decision::Accept { subprotocol }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Open the WebSocket ([`write_accept`]).
    Accept {
        /// The subprotocol to speak: one the client offered, or `None` to name none.
        subprotocol: Option<String>,
    },
    /// Open the WebSocket with extra header fields in the `101` response, such as
    /// `Set-Cookie` ([`write_accept`]'s `extra_headers`).
    ///
    /// A header that [`write_accept`] refuses (a name that is not a token or that the
    /// handshake writes itself, a value with a line break) is an application bug: the
    /// [`WebSocket`](crate::WebSocket) answers 500 instead and reports
    /// [`WsError::Refused(500)`](crate::WsError::Refused), as for an unoffered
    /// subprotocol.
    AcceptWith {
        /// The subprotocol to speak: one the client offered, or `None` to name none.
        subprotocol: Option<String>,
        /// `(name, value)` pairs, written in this order after the handshake's fields.
        headers: Vec<(String, String)>,
    },
    /// Refuse with this HTTP status (a 4xx or 5xx, e.g. 403 for an unwelcome `Origin`), then
    /// close ([`write_reject`]).
    Reject(u16),
}

/// What an acceptance carries: the subprotocol and the extra header fields.
pub(crate) type Acceptance = (Option<String>, Vec<(String, String)>);

impl Decision {
    /// The subprotocol and extra headers of an acceptance, or the status of a refusal: the
    /// two ways to accept answered alike.
    pub(crate) fn into_outcome(self) -> Result<Acceptance, u16> {
        match self {
            Decision::Accept { subprotocol } => Ok((subprotocol, Vec::new())),
            Decision::AcceptWith {
                subprotocol,
                headers,
            } => Ok((subprotocol, headers)),
            Decision::Reject(status) => Err(status),
        }
    }
}

/// Fields the handshake writes itself, which extra headers may not name: they would
/// contradict the handshake or announce a body.
pub(crate) fn is_reserved(name: &str) -> bool {
    const PREFIX: &[u8] = b"sec-websocket-";
    [
        "host",
        "upgrade",
        "connection",
        "origin",
        "content-length",
        "transfer-encoding",
    ]
    .iter()
    .any(|r| name.eq_ignore_ascii_case(r))
        || name
            .as_bytes()
            .get(..PREFIX.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(PREFIX))
}

/// Checks an extra header for writing: a token name that the handshake does not write
/// itself, and a value without line breaks or edge whitespace.
pub(crate) fn check_extra(name: &str, value: &str) -> Result<(), HandshakeError> {
    if !is_token(name.as_bytes()) {
        return Err(HandshakeError::InvalidField("extra header name"));
    }
    if !is_field_value(value.as_bytes()) {
        return Err(HandshakeError::InvalidField("extra header value"));
    }
    if is_reserved(name) {
        return Err(HandshakeError::ReservedHeader);
    }
    Ok(())
}

/// Writes the `101 Switching Protocols` response that accepts `request` into `out` and
/// returns its length.
///
/// `subprotocol` must be one the client offered (see [`UpgradeRequest::pick_subprotocol`]).
/// `extra_headers` (e.g. `Set-Cookie`) follow the handshake fields; they may not name a
/// field the handshake writes itself. The accept value is computed by embedded-websocket
/// from the key that [`parse_request`](super::parse_request) checked. No extension is
/// accepted (the [`WebSocket`](crate::WebSocket) component answers permessage-deflate
/// offers itself when configured to).
///
/// # Errors
///
/// [`HandshakeError::UnofferedSubprotocol`], [`HandshakeError::InvalidField`] or
/// [`HandshakeError::ReservedHeader`] for a bad argument (an application bug: answer 500
/// with [`write_reject`]); [`HandshakeError::BufferTooSmall`] when `out` is too small (retry
/// with the room it names). On error nothing usable is in `out`.
pub fn write_accept(
    request: &UpgradeRequest,
    subprotocol: Option<&str>,
    extra_headers: &[(&str, &str)],
    out: &mut [u8],
) -> Result<usize, HandshakeError> {
    write_accept_with_extensions(request, subprotocol, None, extra_headers, out)
}

/// [`write_accept`] with a `Sec-WebSocket-Extensions` value (built by this crate, never
/// taken from the peer).
pub(crate) fn write_accept_with_extensions(
    request: &UpgradeRequest,
    subprotocol: Option<&str>,
    extensions: Option<&str>,
    extra_headers: &[(&str, &str)],
    out: &mut [u8],
) -> Result<usize, HandshakeError> {
    if subprotocol.is_some_and(|chosen| !request.offers_subprotocol(chosen)) {
        return Err(HandshakeError::UnofferedSubprotocol);
    }
    for (name, value) in extra_headers {
        check_extra(name, value)?;
    }
    let accept = request.checked_key().accept()?;

    let mut w = Writer::new(out);
    w.put(b"HTTP/1.1 101 Switching Protocols\r\n")
        .field("Upgrade", b"websocket")
        .field("Connection", b"Upgrade")
        .field("Sec-WebSocket-Accept", &accept);
    if let Some(chosen) = subprotocol {
        w.field("Sec-WebSocket-Protocol", chosen.as_bytes());
    }
    if let Some(extensions) = extensions {
        w.field("Sec-WebSocket-Extensions", extensions.as_bytes());
    }
    for (name, value) in extra_headers {
        w.field(name, value.as_bytes());
    }
    w.put(b"\r\n").finish()
}

/// The reason phrase for a refusal status.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        200 => "OK",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ if status < 400 => "Status",
        _ if status < 500 => "Client Error",
        _ => "Server Error",
    }
}

/// Writes a complete, bodiless HTTP error response for `status` into `out` and returns its
/// length; close the connection after sending it.
///
/// The response says `Connection: close` and `Content-Length: 0`. A 426 also names the
/// supported version (`Sec-WebSocket-Version: 13`) and, as HTTP requires for 426, the
/// protocol to upgrade to; a 405 names the allowed method (`Allow: GET`). A status outside
/// `400..=599` is a mistake by the caller and is answered as 500, so the peer still gets a
/// well-formed refusal.
///
/// # Errors
///
/// [`HandshakeError::BufferTooSmall`] when `out` is too small (these responses are under
/// 128 bytes).
pub fn write_reject(status: u16, out: &mut [u8]) -> Result<usize, HandshakeError> {
    let status = if (400..=599).contains(&status) {
        status
    } else {
        500
    };
    let mut w = Writer::new(out);
    w.put(b"HTTP/1.1 ")
        .status_code(status)
        .put(b" ")
        .put(reason_phrase(status).as_bytes())
        .put(b"\r\n");
    match status {
        426 => {
            w.field("Connection", b"Upgrade, close")
                .field("Upgrade", b"websocket")
                .field("Sec-WebSocket-Version", b"13");
        }
        405 => {
            w.field("Connection", b"close").field("Allow", b"GET");
        }
        _ => {
            w.field("Connection", b"close");
        }
    }
    w.field("Content-Length", b"0").put(b"\r\n").finish()
}

#[cfg(test)]
mod tests {
    use super::super::{HandshakeLimits, RejectReason, RequestStatus, parse_request};
    use super::*;
    use alloc::vec::Vec;

    const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    fn rfc_request() -> UpgradeRequest {
        match parse_request(RFC_REQUEST, &HandshakeLimits::default()) {
            Ok(RequestStatus::Complete(request, _)) => request,
            other => panic!("the RFC sample request must parse: {other:?}"),
        }
    }

    fn accept(
        subprotocol: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<Vec<u8>, HandshakeError> {
        let mut out = [0u8; 512];
        let len = write_accept(&rfc_request(), subprotocol, extra, &mut out)?;
        Ok(out[..len].to_vec())
    }

    fn reject(status: u16) -> Vec<u8> {
        let mut out = [0u8; 256];
        let len = write_reject(status, &mut out).expect("fits");
        out[..len].to_vec()
    }

    #[test]
    fn the_rfc_sample_request_is_accepted_with_the_rfc_accept_value() {
        assert_eq!(
            accept(Some("chat"), &[]).expect("written"),
            b"HTTP/1.1 101 Switching Protocols\r\n\
              Upgrade: websocket\r\n\
              Connection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
              Sec-WebSocket-Protocol: chat\r\n\r\n"
        );
    }

    #[test]
    fn an_accept_without_subprotocol_names_none() {
        let response = accept(None, &[]).expect("written");
        assert!(!response.windows(22).any(|w| w == b"Sec-WebSocket-Protocol"));
    }

    #[test]
    fn extra_headers_follow_the_handshake_fields() {
        let response =
            accept(None, &[("Set-Cookie", "id=1; Secure"), ("X-A", "")]).expect("written");
        assert!(response.ends_with(b"xOo=\r\nSet-Cookie: id=1; Secure\r\nX-A: \r\n\r\n"));
    }

    #[test]
    fn both_ways_to_accept_give_their_subprotocol_and_headers_and_a_rejection_its_status() {
        let plain = Decision::Accept {
            subprotocol: Some("chat".into()),
        };
        assert_eq!(plain.into_outcome(), Ok((Some("chat".into()), Vec::new())));
        let headers = alloc::vec![("Set-Cookie".into(), "id=1".into())];
        let with = Decision::AcceptWith {
            subprotocol: None,
            headers: headers.clone(),
        };
        assert_eq!(with.into_outcome(), Ok((None, headers)));
        assert_eq!(Decision::Reject(403).into_outcome(), Err(403));
    }

    #[test]
    fn a_subprotocol_the_client_did_not_offer_is_refused() {
        for chosen in ["mqtt", "Chat", "chat, superchat", ""] {
            assert_eq!(
                accept(Some(chosen), &[]),
                Err(HandshakeError::UnofferedSubprotocol),
                "{chosen:?}"
            );
        }
    }

    #[test]
    fn an_extra_header_with_a_line_break_is_refused() {
        assert_eq!(
            accept(None, &[("X-A", "1\r\nSet-Cookie: evil=1")]),
            Err(HandshakeError::InvalidField("extra header value"))
        );
        assert_eq!(
            accept(None, &[("X A", "1")]),
            Err(HandshakeError::InvalidField("extra header name"))
        );
        assert_eq!(
            accept(None, &[("X-A:", "1")]),
            Err(HandshakeError::InvalidField("extra header name"))
        );
    }

    #[test]
    fn an_extra_header_that_names_a_handshake_field_is_refused() {
        for name in [
            "connection",
            "Upgrade",
            "SEC-WEBSOCKET-ACCEPT",
            "Sec-WebSocket-Extensions",
            "Content-Length",
        ] {
            assert_eq!(
                accept(None, &[(name, "x")]),
                Err(HandshakeError::ReservedHeader),
                "{name}"
            );
        }
    }

    #[test]
    fn a_too_small_output_reports_the_length_needed() {
        let request = rfc_request();
        let full = accept(Some("superchat"), &[]).expect("written");
        let mut out = vec_of(full.len() - 1);
        assert_eq!(
            write_accept(&request, Some("superchat"), &[], &mut out),
            Err(HandshakeError::BufferTooSmall { needed: full.len() })
        );
        let mut out = vec_of(full.len());
        assert_eq!(
            write_accept(&request, Some("superchat"), &[], &mut out),
            Ok(full.len())
        );
        assert_eq!(out, full);
        assert_eq!(
            write_reject(400, &mut [0; 10]),
            Err(HandshakeError::BufferTooSmall {
                needed: reject(400).len()
            })
        );
    }

    fn vec_of(len: usize) -> Vec<u8> {
        alloc::vec![0; len]
    }

    #[test]
    fn a_400_is_a_complete_bodiless_response_that_closes() {
        assert_eq!(
            reject(400),
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn a_426_names_version_13() {
        assert_eq!(
            reject(426),
            b"HTTP/1.1 426 Upgrade Required\r\n\
              Connection: Upgrade, close\r\n\
              Upgrade: websocket\r\n\
              Sec-WebSocket-Version: 13\r\n\
              Content-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn a_405_names_the_allowed_method() {
        assert_eq!(
            reject(405),
            b"HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nAllow: GET\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn an_application_403_is_forbidden() {
        assert!(reject(403).starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
        assert!(reject(418).starts_with(b"HTTP/1.1 418 Client Error\r\n"));
    }

    #[test]
    fn a_status_outside_4xx_and_5xx_is_answered_as_500() {
        for status in [0, 101, 200, 399, 600, u16::MAX] {
            assert!(
                reject(status).starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"),
                "{status}"
            );
        }
    }

    #[test]
    fn every_refusal_is_a_valid_http_response_with_its_status_under_128_bytes() {
        let reasons = [
            RejectReason::Malformed,
            RejectReason::HeadTooLarge,
            RejectReason::MethodNotGet,
            RejectReason::UnsupportedVersion,
        ];
        let statuses = reasons.iter().map(RejectReason::status).chain(400..=599);
        for status in statuses {
            let response = reject(status);
            assert!(response.len() < 128, "{status}");
            let mut fields = [httparse::EMPTY_HEADER; 8];
            let mut parsed = httparse::Response::new(&mut fields);
            assert_eq!(
                parsed.parse(&response),
                Ok(httparse::Status::Complete(response.len()))
            );
            assert_eq!(parsed.code, Some(status));
        }
    }
}
