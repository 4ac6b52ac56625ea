//! Multiplexed streaming: many requests and responses on one connection, each with a
//! streamed body, interleaved by tag, each body with its own flow control.
//!
//! ```text
//!  client app ⇄ StreamClient ⇄ connection (frames) ⇄ StreamServer ⇄ server app
//!      ⇅ one request body and one response body PipeBuf per stream, on each side ⇅
//! ```
//!
//! # Frames
//!
//! The connection carries [`Frame`]s, each for one stream named by a `u32` tag: a `Head`
//! (request or response, saying whether a body follows), `Data` (body bytes; the last one
//! says `end`), `Credit` (the receiver of a body lets its sender send that many more
//! bytes) and `Reset` (cancels a stream). The caller's wire format is a [`FrameDecoder`]
//! and a [`FrameEncoder`]; [`StreamFrames`] is a ready one.
//!
//! # Flow control
//!
//! Each body has credit, as HTTP/2 stream windows do: it starts at 0; the receiver grants
//! its body buffer's free room when the body starts and more as the application reads
//! (once at least half the buffer is free again, not per byte). A sender never sends
//! beyond its credit, so every data frame fits the receiver's body buffer and is taken at
//! once: the connection is never held up by a full body buffer, and an application that
//! does not read a body stalls that stream only. Data frames are taken from the streams in
//! turn, one frame of at most the maximum size per stream (round-robin), so one large body
//! does not hold up the others.
//!
//! **Bound.** Each open stream holds at most one incoming and one outgoing body buffer, so
//! the body bytes a component holds never exceed `streams × (incoming limit + outgoing
//! limit)` ([`StreamServer::max_buffered`], [`StreamClient::max_buffered`]), plus the
//! heads waiting to be written (at most one per stream) and a few bytes of state per tag.
//!
//! # Stream errors
//!
//! A peer that breaks a rule on one stream — data beyond its credit, data for a body that
//! was not announced — gets that stream reset; the application hears of it as a
//! `StreamError` event with a [`StreamFault`], and the connection goes on. Faults that do
//! no harm (credit for a body that was not announced, credit beyond `u32::MAX`) are
//! reported and the stream goes on ([`StreamFault::ends_stream`]). Only what makes the
//! connection itself unreadable fails it ([`Error`](super::Error)): an undecodable frame, a
//! head for a tag that is open, data for a tag the server does not know, any frame for a
//! tag the client has not taken.
//!
//! # Stream lifecycle and tag reuse
//!
//! Frames on the connection are ordered, and these rules make every tag's history
//! unambiguous, so that tags can be reused:
//!
//! | who | event | then |
//! |---|---|---|
//! | client | `submit` | the request head goes out when there is room; the tag is taken |
//! | server | request head for a free tag | the stream is open (or refused with a [`code::REFUSED`] reset beyond `max_streams`) |
//! | server | the application responds | the response head goes out; its **end** (the last data frame, or the head itself without body) waits until the application has read the request body to its end |
//! | client | response end | the stream is over; the tag is free (the response body stays readable) |
//! | either | `cancel`, a stream fault, an aborted outgoing body | a reset goes out; the stream's frames are ignored until the peer's reset arrives |
//! | either | reset for an open stream | answered with a reset; the stream is over at once |
//! | either | reset while its own reset is unanswered | the resets crossed: each is the other's answer; the stream is over |
//! | server | reset for a tag it does not know (a cancel that crossed the response's end) | answered with a reset |
//!
//! Holding the response's end back is what makes reuse safe: credit for a request body
//! only flows while the server still receives it, so once the response has ended no
//! frame of the old stream can follow, and a new head with the same tag starts afresh.
//! A server keeps state for at most `max_tags` tags (open, resetting or owing an
//! answer); a client that respects the protocol holds at least as many tags taken, so a
//! client whose `max_in_flight` is at most the server's `max_tags` never makes it fail
//! with [`Error::TooManyStreams`](super::Error::TooManyStreams).
//!
//! # Example
//!
//! A request with a streamed body, answered with a streamed body:
//!
//! ```
//! use pipebuf::reqresp::Error;
//! use pipebuf::reqresp::stream::{
//!     StreamClient, StreamClientEvent, StreamFrames, StreamServer, StreamServerEvent,
//!     WireError,
//! };
//! use pipebuf::{settle, PipeBufPair};
//!
//! let frames = StreamFrames::default;
//! let mut client = StreamClient::new(frames(), frames(), 99, 8);
//! let mut server = StreamServer::new(frames(), frames(), 8);
//! let mut wire = PipeBufPair::<u8>::new(); // the client uses upper(), the server lower()
//!
//! let ticket = client.submit(b"PUT /shout".to_vec(), true, "my upload").unwrap();
//! let mut body = client.request_body(ticket).unwrap();
//! body.append(b"streamed ").unwrap();
//! body.append(b"body").unwrap();
//! body.close();
//!
//! let (mut tag, mut upload, mut head, mut download) = (None, Vec::new(), None, Vec::new());
//! settle(64, || -> Result<bool, Error<WireError, WireError>> {
//!     let mut active = client.process(wire.upper(), |ev| {
//!         if let StreamClientEvent::Response { context, response, .. } = ev {
//!             head = Some((context, response.to_vec()));
//!         }
//!     })?;
//!     active |= server.process(wire.lower(), |ev| {
//!         if let StreamServerEvent::Request { tag: t, .. } = ev {
//!             tag = Some(t);
//!         }
//!     })?;
//!     // The server's application: read the request body, then answer it upper-cased.
//!     if let Some(mut rd) = tag.and_then(|t| server.request_body(t)) {
//!         upload.extend_from_slice(rd.data());
//!         active |= rd.consume_all() > 0;
//!         if rd.consume_eof().is_some() {
//!             let t = tag.unwrap();
//!             server.respond(t, b"200".to_vec(), true).unwrap();
//!             let mut wr = server.response_body(t).unwrap();
//!             wr.append(&upload.to_ascii_uppercase()).unwrap();
//!             wr.close();
//!             active = true;
//!         }
//!     }
//!     // The client's application: read the response body.
//!     if let Some(mut rd) = client.response_body(ticket) {
//!         download.extend_from_slice(rd.data());
//!         active |= rd.consume_all() > 0;
//!         active |= rd.consume_eof().is_some();
//!     }
//!     Ok(active)
//! })
//! .unwrap();
//! assert_eq!(head, Some(("my upload", b"200".to_vec())));
//! assert_eq!(download, b"STREAMED BODY");
//! assert_eq!((client.in_flight(), server.open_streams()), (0, 0));
//! ```

mod client;
mod flow;
mod frame;
#[cfg(test)]
mod hostile;
mod send;
mod server;
#[cfg(test)]
mod testing;
mod wire;

pub use client::{StreamClient, StreamClientEvent};
pub use frame::{Emitted, Frame, FrameDecoder, FrameEncoder};
pub use server::{StreamServer, StreamServerEvent};
pub use wire::{StreamFrames, WireError};

use core::fmt;

use super::Failure;

/// Reset codes: why a stream was cancelled. The numbers are HTTP/2's error codes where the
/// meaning is the same; any other `u32` may travel too.
pub mod code {
    /// The stream broke a protocol rule (data for a body that was not announced, a
    /// response that ended before its request).
    pub const PROTOCOL: u32 = 0x1;
    /// The sender aborted its outgoing body.
    pub const ABORTED: u32 = 0x2;
    /// The peer sent more body bytes than its credit allowed.
    pub const FLOW_CONTROL: u32 = 0x3;
    /// The server refused the stream before doing anything with it (too many streams
    /// open): the request may be sent again.
    pub const REFUSED: u32 = 0x7;
    /// The application cancelled the stream.
    pub const CANCEL: u32 = 0x8;
}

/// A rule the peer broke on one stream. The connection goes on either way; the stream
/// goes on only where the fault did no harm ([`ends_stream`](StreamFault::ends_stream)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamFault {
    /// More body bytes arrived in one frame than the credit left allowed; none of them
    /// were taken, and the stream was reset ([`code::FLOW_CONTROL`]).
    CreditExceeded {
        /// The credit left.
        credit: u32,
        /// The bytes the frame carried.
        got: usize,
    },
    /// Body bytes for a body that was not announced or has ended; the stream was reset
    /// ([`code::PROTOCOL`]).
    UnexpectedData,
    /// The response ended while the request body was still being sent (a server holds a
    /// response's end back until its request has ended); the stream was reset
    /// ([`code::PROTOCOL`]). The response as received stays readable.
    EarlyEnd,
    /// Credit for a body that was not announced (or not started); ignored, the stream goes
    /// on.
    UnexpectedCredit,
    /// Credit beyond `u32::MAX` bytes outstanding; capped, the stream goes on.
    CreditOverflow,
}

impl StreamFault {
    /// Whether the stream was reset for it; otherwise it goes on.
    pub fn ends_stream(&self) -> bool {
        !matches!(
            self,
            StreamFault::UnexpectedCredit | StreamFault::CreditOverflow
        )
    }

    /// The code of the reset sent for it (meaningful where
    /// [`ends_stream`](StreamFault::ends_stream)).
    pub fn code(&self) -> u32 {
        match self {
            StreamFault::CreditExceeded { .. } => code::FLOW_CONTROL,
            _ => code::PROTOCOL,
        }
    }
}

impl fmt::Display for StreamFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamFault::CreditExceeded { credit, got } => {
                write!(f, "{got} body bytes with only {credit} of credit left")
            }
            StreamFault::UnexpectedData => f.write_str("body bytes where no body is open"),
            StreamFault::EarlyEnd => f.write_str("response ended before its request"),
            StreamFault::UnexpectedCredit => f.write_str("credit for a body that is not sent"),
            StreamFault::CreditOverflow => f.write_str("credit beyond 4 GiB outstanding"),
        }
    }
}

impl core::error::Error for StreamFault {}

/// Why a [`StreamClient`]'s stream ended without completing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamFailure {
    /// The connection ended or failed first.
    Connection(Failure),
    /// The server reset the stream with this code (see [`code`]; [`code::REFUSED`] means
    /// it did nothing with the request).
    Reset(u32),
    /// The application aborted the request body; the client reset the stream
    /// ([`code::ABORTED`]).
    BodyAborted,
}

impl fmt::Display for StreamFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamFailure::Connection(failure) => write!(f, "{failure}"),
            StreamFailure::Reset(code) => write!(f, "stream reset by the server (code {code})"),
            StreamFailure::BodyAborted => f.write_str("request body aborted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn only_harmless_faults_leave_the_stream_going() {
        let ending = [
            StreamFault::CreditExceeded { credit: 1, got: 2 },
            StreamFault::UnexpectedData,
            StreamFault::EarlyEnd,
        ];
        assert!(ending.iter().all(StreamFault::ends_stream));
        assert!(!StreamFault::UnexpectedCredit.ends_stream());
        assert!(!StreamFault::CreditOverflow.ends_stream());
        assert_eq!(ending[0].code(), code::FLOW_CONTROL);
        assert_eq!(ending[1].code(), code::PROTOCOL);
    }

    #[test]
    fn faults_and_failures_say_what_happened() {
        assert_eq!(
            StreamFault::CreditExceeded { credit: 3, got: 5 }.to_string(),
            "5 body bytes with only 3 of credit left"
        );
        assert_eq!(
            StreamFailure::Reset(code::REFUSED).to_string(),
            "stream reset by the server (code 7)"
        );
    }
}
