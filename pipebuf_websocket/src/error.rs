//! What can end a WebSocket connection with an error.

use core::fmt;

use crate::frame::{
    CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, CLOSE_INVALID_PAYLOAD, CLOSE_MESSAGE_TOO_BIG,
    CLOSE_PROTOCOL_ERROR, FrameError,
};
use crate::handshake::{HandshakeError, RejectReason};
use crate::message::ChunkError;

/// Why a [`WebSocket`](crate::WebSocket) failed.
///
/// When `process()` returns one of these, the peer has been told — with an HTTP error
/// response during the opening handshake, or with a close frame carrying
/// [`close_code`](WsError::close_code) afterwards — the byte side is closed once that is
/// written, and the application's incoming message stream is aborted. Later calls only
/// finish writing and discard input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsError {
    /// The client's upgrade request was refused (answered with
    /// [`RejectReason::status`]).
    Rejected(RejectReason),
    /// The application's accept callback refused the request with this HTTP status.
    Refused(u16),
    /// The server's handshake response was not acceptable (client side).
    Handshake(HandshakeError),
    /// A frame broke a rule of RFC 6455 (1002, or 1007 for invalid UTF-8).
    Frame(FrameError),
    /// The peer masked when it must not, or did not when it must (1002).
    Masking,
    /// RSV bits set with no extension negotiated, or RSV1 on a frame other than a
    /// compressed message's first (1002).
    ReservedBits,
    /// A compressed message (permessage-deflate) that does not inflate (1007: the frames
    /// were fine, the message's content was not).
    BadCompressedData,
    /// Our compressor failed (1011; miniz_oxide documents no such failure).
    CompressorFailed,
    /// A continuation frame with no message started, or a new message inside an unfinished
    /// one (1002).
    Fragmentation,
    /// A message grew past the configured maximum (1009).
    MessageTooBig,
    /// The opening handshake did not complete within the handshake timeout.
    HandshakeTimeout,
    /// Nothing arrived from the peer within the idle timeout (1001, going away).
    IdleTimeout,
    /// The application wrote a malformed chunk record (1011).
    BadChunk(ChunkError),
}

impl WsError {
    /// The close code this error sends, or `None` while still in the HTTP handshake.
    pub fn close_code(&self) -> Option<u16> {
        Some(match self {
            WsError::Rejected(_)
            | WsError::Refused(_)
            | WsError::Handshake(_)
            | WsError::HandshakeTimeout => return None,
            WsError::Frame(e) => e.close_code(),
            WsError::Masking | WsError::ReservedBits | WsError::Fragmentation => {
                CLOSE_PROTOCOL_ERROR
            }
            WsError::MessageTooBig => CLOSE_MESSAGE_TOO_BIG,
            WsError::BadCompressedData => CLOSE_INVALID_PAYLOAD,
            WsError::CompressorFailed => CLOSE_INTERNAL_ERROR,
            WsError::IdleTimeout => CLOSE_GOING_AWAY,
            WsError::BadChunk(_) => CLOSE_INTERNAL_ERROR,
        })
    }
}

impl From<FrameError> for WsError {
    fn from(e: FrameError) -> Self {
        WsError::Frame(e)
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::Rejected(r) => write!(f, "upgrade request rejected: {r}"),
            WsError::Refused(status) => write!(f, "upgrade refused by the application ({status})"),
            WsError::Handshake(e) => write!(f, "bad handshake response: {e}"),
            WsError::Frame(e) => write!(f, "bad frame: {e}"),
            WsError::Masking => f.write_str("frame masking does not match the peer's role"),
            WsError::ReservedBits => f.write_str("reserved bits set without an extension"),
            WsError::Fragmentation => f.write_str("continuation frame out of place"),
            WsError::BadCompressedData => f.write_str("compressed message does not inflate"),
            WsError::CompressorFailed => f.write_str("compressing a message failed"),
            WsError::MessageTooBig => f.write_str("message larger than the configured maximum"),
            WsError::IdleTimeout => f.write_str("peer silent past the idle timeout"),
            WsError::HandshakeTimeout => f.write_str("opening handshake took too long"),
            WsError::BadChunk(e) => write!(f, "bad outgoing chunk record: {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for WsError {}
