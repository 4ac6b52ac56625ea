//! The RFC 6455 opening handshake as pure functions over byte slices.
//!
//! Nothing here owns a buffer or does I/O. A component parses from its input buffer's data,
//! consumes exactly the length it is told, and writes responses into the free space of its
//! output buffer:
//!
//! ```text
//!  server:  rd.data() ─parse_request─▶ UpgradeRequest ─(application: Decision)─▶ write_accept
//!                                   └─▶ RejectReason ──status()──────────────────▶ write_reject
//!  client:  ClientRequest::write_request ──▶ wr ;  rd.data() ─parse_response─▶ ServerResponse
//! ```
//!
//! # Server side
//!
//! [`parse_request`] answers like `httparse`: [`RequestStatus::Partial`] until the whole head
//! is there, then [`RequestStatus::Complete`] with the [`UpgradeRequest`] and the length of
//! the head, which is all the caller may consume (a client may send its first frame right
//! behind the request: those bytes stay in the buffer). A complete, valid HTTP request that is
//! no WebSocket attempt at all is [`RequestStatus::NotWebSocket`]; nothing is consumed, so
//! the application can serve it as plain HTTP. A request that tries to open a WebSocket and
//! breaks a rule is an `Err(`[`RejectReason`]`)`, which names the HTTP status to answer with
//! [`write_reject`]. Each call parses at most [`HandshakeLimits::max_head_len`] bytes, so a
//! peer that dribbles its head byte by byte costs at most that much work per call.
//!
//! The application sees the [`UpgradeRequest`] (path, `Origin`, offered subprotocols, every
//! header) and answers with a [`Decision`]: accept, perhaps with one of the offered
//! subprotocols ([`write_accept`] refuses any other) and extra response headers, or reject
//! with a status such as 403 for an unwelcome `Origin` ([`crate::origin`] decides that one).
//!
//! # Client side
//!
//! [`ClientRequest::write_request`] writes the upgrade request for a 16-byte nonce that the
//! caller draws from a random source; [`parse_response`] (or
//! [`ClientRequest::parse_response`]) checks the server's answer against that nonce and the
//! subprotocols offered.
//!
//! # What embedded-websocket does here
//!
//! Only the `Sec-WebSocket-Accept` computation (SHA-1 and base64 of the key) goes through
//! `embedded-websocket`, and only with a key this module has already checked to be exactly 24
//! bytes of valid base64: its own header reader panics on a longer key or subprotocol. The
//! key's base64 for the client is encoded here, and no subprotocol ever reaches that crate.

use core::fmt;

mod client;
mod headers;
mod key;
mod limits;
mod request;
mod response;
pub(crate) use response::reason_phrase;
pub(crate) mod syntax;
mod write;

pub(crate) use client::parse_response_offering;
pub use client::{ClientRequest, ResponseStatus, ServerResponse, parse_response};
pub use headers::Headers;
pub(crate) use headers::Span;
pub use limits::HandshakeLimits;
pub(crate) use limits::HeadError;
pub use request::{RequestStatus, UpgradeRequest, parse_request};
pub(crate) use response::write_accept_with_extensions;
pub use response::{Decision, write_accept, write_reject};

/// Why a server refuses a request that tries to open a WebSocket; [`status`](Self::status)
/// is the HTTP status to answer with ([`write_reject`]).
///
/// The rules are checked in the order of the variants below; the first one broken is
/// reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// The head is not valid HTTP/1.x (400).
    Malformed,
    /// The head grew past [`HandshakeLimits::max_head_len`] without ending (431).
    HeadTooLarge,
    /// The head has more than [`HandshakeLimits::max_headers`] header fields (431).
    TooManyHeaders,
    /// An upgrade request with a method other than `GET` (405).
    MethodNotGet,
    /// An upgrade request in HTTP/1.0; RFC 6455 needs HTTP/1.1 (400).
    NotHttp11,
    /// `Host` missing, repeated, or not printable ASCII (400).
    BadHost,
    /// WebSocket headers without an `Upgrade` field holding the token `websocket` (400).
    MissingUpgrade,
    /// `Connection` has no `upgrade` token (400).
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Version` missing, repeated or not `13` (426; the answer names 13).
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` missing, repeated, or not 24 characters of base64 for 16 bytes
    /// (400).
    BadKey,
    /// `Origin` repeated or not printable ASCII (400).
    BadOrigin,
    /// `Sec-WebSocket-Protocol` holds something other than a comma-separated list of tokens
    /// (400).
    BadSubprotocols,
    /// The request announces a body (`Content-Length` other than 0, or
    /// `Transfer-Encoding`), which would be mistaken for WebSocket frames (400).
    UnexpectedBody,
}

impl RejectReason {
    /// The HTTP status code to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::HeadTooLarge | Self::TooManyHeaders => 431,
            Self::MethodNotGet => 405,
            Self::UnsupportedVersion => 426,
            Self::Malformed
            | Self::NotHttp11
            | Self::BadHost
            | Self::MissingUpgrade
            | Self::MissingConnectionUpgrade
            | Self::BadKey
            | Self::BadOrigin
            | Self::BadSubprotocols
            | Self::UnexpectedBody => 400,
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::Malformed => "malformed HTTP request head",
            Self::HeadTooLarge => "request head too large",
            Self::TooManyHeaders => "too many request header fields",
            Self::MethodNotGet => "WebSocket upgrade with a method other than GET",
            Self::NotHttp11 => "WebSocket upgrade in HTTP/1.0",
            Self::BadHost => "Host header missing, repeated or invalid",
            Self::MissingUpgrade => "WebSocket headers without Upgrade: websocket",
            Self::MissingConnectionUpgrade => "Connection header lacks the upgrade token",
            Self::UnsupportedVersion => "Sec-WebSocket-Version missing or not 13",
            Self::BadKey => "Sec-WebSocket-Key missing, repeated or invalid",
            Self::BadOrigin => "Origin header repeated or invalid",
            Self::BadSubprotocols => "Sec-WebSocket-Protocol is not a list of tokens",
            Self::UnexpectedBody => "WebSocket upgrade request announces a body",
        };
        write!(f, "{what} ({})", self.status())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RejectReason {}

/// A failure writing a handshake message, or a server response the client must refuse.
///
/// A client that gets any of the response errors must not speak WebSocket on the connection:
/// close it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The output slice is too small; retry with at least `needed` bytes. Nothing usable was
    /// written.
    BufferTooSmall {
        /// Length of the complete message.
        needed: usize,
    },
    /// A value to be written is not valid in its place (a path with a space, a header value
    /// with a line break, a subprotocol that is not a token, ...); names which one.
    InvalidField(&'static str),
    /// An extra header names a field the handshake writes itself (`Host`, `Upgrade`,
    /// `Connection`, `Origin`, `Sec-WebSocket-*`, `Content-Length`, `Transfer-Encoding`).
    ReservedHeader,
    /// A subprotocol that was not offered: chosen by the server application, or answered by
    /// the server to a client.
    UnofferedSubprotocol,
    /// The response head is not valid HTTP/1.x.
    Malformed,
    /// The response head grew past [`HandshakeLimits::max_head_len`] without ending.
    HeadTooLarge,
    /// The response head has more than [`HandshakeLimits::max_headers`] header fields.
    TooManyHeaders,
    /// The server answered with this status instead of 101.
    UnexpectedStatus(u16),
    /// The server answered in HTTP/1.0.
    NotHttp11,
    /// The response has no `Upgrade` field holding the token `websocket`.
    MissingUpgrade,
    /// The response's `Connection` field has no `upgrade` token.
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Accept` missing, repeated, or not the value for the key sent.
    BadAccept,
    /// The response accepts extensions, and none were offered.
    UnexpectedExtensions,
    /// The response's `Sec-WebSocket-Extensions` is not a valid acceptance of the
    /// permessage-deflate we offered: another extension, a parameter we did not offer, a
    /// repeated or badly valued one (RFC 7692 §5).
    BadExtensions,
    /// embedded-websocket failed to compute an accept value for a checked key (it documents
    /// this as impossible; reported rather than trusted).
    AcceptComputation,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            Self::InvalidField(field) => write!(f, "invalid {field}"),
            Self::ReservedHeader => f.write_str("extra header names a handshake header"),
            Self::UnofferedSubprotocol => f.write_str("subprotocol was not offered"),
            Self::Malformed => f.write_str("malformed HTTP response head"),
            Self::HeadTooLarge => f.write_str("response head too large"),
            Self::TooManyHeaders => f.write_str("too many response header fields"),
            Self::UnexpectedStatus(code) => write!(f, "server answered {code}, not 101"),
            Self::NotHttp11 => f.write_str("server answered in HTTP/1.0"),
            Self::MissingUpgrade => f.write_str("response lacks Upgrade: websocket"),
            Self::MissingConnectionUpgrade => {
                f.write_str("response Connection header lacks the upgrade token")
            }
            Self::BadAccept => f.write_str("Sec-WebSocket-Accept missing or wrong"),
            Self::UnexpectedExtensions => f.write_str("server accepted extensions not offered"),
            Self::BadExtensions => f.write_str("server's extension response is not valid"),
            Self::AcceptComputation => f.write_str("accept value computation failed"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HandshakeError {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn every_reject_reason_displays_its_status() {
        let all = [
            RejectReason::Malformed,
            RejectReason::HeadTooLarge,
            RejectReason::TooManyHeaders,
            RejectReason::MethodNotGet,
            RejectReason::NotHttp11,
            RejectReason::BadHost,
            RejectReason::MissingUpgrade,
            RejectReason::MissingConnectionUpgrade,
            RejectReason::UnsupportedVersion,
            RejectReason::BadKey,
            RejectReason::BadOrigin,
            RejectReason::BadSubprotocols,
            RejectReason::UnexpectedBody,
        ];
        for reason in all {
            let text = reason.to_string();
            assert!(
                text.ends_with(&alloc::format!("({})", reason.status())),
                "{text}"
            );
        }
    }

    #[test]
    fn buffer_too_small_tells_the_size_needed() {
        let text = HandshakeError::BufferTooSmall { needed: 129 }.to_string();
        assert!(text.contains("129"));
    }
}
