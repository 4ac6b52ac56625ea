//! Request/response over PipeBufs: pipelined and multiplexed clients and servers, with
//! streamed bodies (feature `reqresp`, on by default).
//!
//! ```text
//!  app ⇄ [client or server component] ⇄ PBufRdWr (the connection: TCP, TLS, …)
//!                 ⇅
//!         body PipeBufs (one per direction, owned by the component)
//! ```
//!
//! Each component is a sans-IO state machine over one connection. The application's side is
//! method calls and events; the connection side is a [`PBufRdWr`](crate::PBufRdWr) passed
//! into `process`, as with every pipebuf component. Time, where it matters (multiplexed
//! timeouts), is an explicit `now: Duration` on the caller's clock.
//!
//! # Codecs
//!
//! The caller's protocol is two small traits. A [`Decoder`] reads a message head in place,
//! httparse-style: it borrows from the incoming buffer's data and answers `None` ("need
//! more") or a [`Head`]: the message (which may borrow the data), how many bytes it spans
//! and which [`Body`] follows. The component hands the message to the application and then
//! consumes exactly those bytes, so bytes after a message are never lost. An [`Encoder`]
//! writes a head whole or not at all ([`Encoded::Full`]), so a full output buffer refuses a
//! request without losing it, and announces the body that follows.
//!
//! # Components
//!
//! | | pipelined (answers in request order) | multiplexed (answers matched by tag) |
//! |---|---|---|
//! | client | [`PipelinedClient`]: tickets, cancel, max in flight | [`MuxClient`]: tags, deadlines, late responses |
//! | server | [`PipelinedServer`]: sequence numbers, `finish` in any order, sent in order | [`MuxServer`]: `finish` in any order, sent as finished |
//!
//! The [`service`] module runs the loop decode → handle → answer for the servers:
//! [`PipelinedService`](service::PipelinedService) and [`MuxService`](service::MuxService)
//! take the codec and a [`Handler`](service::Handler) that answers at once or later, with
//! bounded work in flight and per-request deadlines on the caller's clock.
//!
//! The [`stream`] module multiplexes streamed bodies: [`StreamClient`](stream::StreamClient)
//! and [`StreamServer`](stream::StreamServer) carry many requests and responses at once on
//! one connection, each with request and response bodies interleaved by tag, each body
//! with its own credit-based flow control (a body nobody reads stalls its own stream only,
//! within a stated bound per connection), cancellation of one stream, and stream errors
//! reported without failing the connection.
//!
//! Every component bounds its state: clients refuse a request beyond their maximum in
//! flight (handing it back) instead of queueing it; servers stop decoding — leaving bytes
//! unread in the incoming buffer, which is backpressure on the socket — when too much is
//! in flight. A response with no request pending is [`Error::Desynchronized`], not a
//! panic. When the incoming side ends, a client fails each request still pending exactly
//! once, telling a clean close from an abort ([`Failure`]).
//!
//! # Streamed bodies
//!
//! The pipelined components stream a body after a head ([`Body::Length`] or
//! [`Body::Chunked`]) through a body [`PipeBuf`](crate::PipeBuf) of their own:
//! `request_body()` / `response_body()` give the application the right view. On the
//! receiving side the end of each chunk is a push and the end of the body a close; a
//! connection that ends inside a body aborts it. On the sending side the application
//! writes, pushes (a chunk boundary at the latest) and closes; aborting breaks the
//! connection, since the peer could not find the next message. A body buffer that the
//! application does not read fills up, and the component then stops reading the connection.
//!
//! # Example
//!
//! A pipelined client and server back to back, over a line codec built on
//! [`framing::Lines`](crate::framing::Lines):
//!
//! ```
//! use pipebuf::framing::{FrameError, Lines};
//! use pipebuf::reqresp::{
//!     Body, ClientEvent, Decoder, Encoded, Encoder, Error, Head, PipelinedClient,
//!     PipelinedServer, ServerEvent,
//! };
//! use pipebuf::{settle, PBufWr, PipeBufPair};
//!
//! /// Newline-terminated messages without bodies.
//! struct LineCodec(Lines);
//!
//! impl Decoder for LineCodec {
//!     type Item<'d> = &'d [u8];
//!     type Error = FrameError;
//!     fn decode<'d>(&mut self, data: &'d [u8]) -> Result<Option<Head<&'d [u8]>>, FrameError> {
//!         let rec = self.0.decode(data)?;
//!         Ok(rec.map(|r| Head { message: r.body, len: r.frame_len, body: Body::None }))
//!     }
//! }
//!
//! impl Encoder for LineCodec {
//!     type Item = Vec<u8>;
//!     type Error = FrameError;
//!     fn encode(&mut self, line: &Vec<u8>, wr: &mut PBufWr<'_>) -> Result<Encoded, FrameError> {
//!         match self.0.encode(wr, line) {
//!             Ok(()) => Ok(Encoded::Written(Body::None)),
//!             Err(FrameError::Buffer(_)) => Ok(Encoded::Full),
//!             Err(e) => Err(e),
//!         }
//!     }
//! }
//!
//! let codec = || LineCodec(Lines::new(b'\n', 64));
//! let mut client = PipelinedClient::new(codec(), codec(), 16);
//! let mut server = PipelinedServer::new(codec(), codec(), 16, 16);
//! let mut wire = PipeBufPair::<u8>::new(); // the client uses upper(), the server lower()
//!
//! for (i, word) in ["one", "two", "three"].into_iter().enumerate() {
//!     client.submit(&mut wire.upper().wr, word.as_bytes().to_vec(), i).unwrap();
//! }
//! let (mut todo, mut answers) = (Vec::new(), Vec::new());
//! settle(16, || -> Result<bool, Error<FrameError, FrameError>> {
//!     let s = server.process(wire.lower(), |ev| {
//!         if let ServerEvent::Request { seq, request, .. } = ev {
//!             todo.push((seq, request.to_ascii_uppercase()));
//!         }
//!     })?;
//!     // Answered last first: the server still sends the answers in request order.
//!     while let Some((seq, answer)) = todo.pop() {
//!         server.finish(seq, answer).unwrap();
//!     }
//!     let c = client.process(wire.upper(), |ev| {
//!         if let ClientEvent::Response { context, response, .. } = ev {
//!             answers.push((context, String::from_utf8_lossy(response).into_owned()));
//!         }
//!     })?;
//!     Ok(s | c)
//! })
//! .unwrap();
//! assert_eq!(answers, [(0, "ONE".into()), (1, "TWO".into()), (2, "THREE".into())]);
//! ```

mod body;
mod codec;
mod error;
mod mux_client;
mod mux_server;
mod pipelined_client;
mod pipelined_server;
pub mod service;
pub mod stream;
mod tags;

pub use codec::{Body, ChunkHead, Decoder, Encoded, Encoder, Head};
pub use error::{Error, FinishError, Refusal, SubmitError};
pub use mux_client::{MuxClient, MuxEvent};
pub use mux_server::{MuxServer, MuxServerEvent};
pub use pipelined_client::{ClientEvent, PipelinedClient};
pub use pipelined_server::{PipelinedServer, ServerEvent};
pub use tags::{LatePolicy, Tagging};

/// The default limit of each body buffer of a component: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

use core::fmt;

/// Names one submitted request for the life of its client: tickets count up from 0 and are
/// never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(u64);

impl Ticket {
    /// The ticket's number: 0 for the client's first request, then counting up.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why a request will get no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The peer closed the connection cleanly before answering.
    Closed,
    /// The connection was aborted (broken stream) before the answer.
    Aborted,
    /// The component failed (see [`Error`]) and aborted the connection.
    Broken,
}

impl From<crate::EofKind> for Failure {
    /// How the incoming side ended, as the failure of the requests it leaves unanswered.
    fn from(kind: crate::EofKind) -> Self {
        match kind {
            crate::EofKind::Close => Failure::Closed,
            crate::EofKind::Abort => Failure::Aborted,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Failure::Closed => "connection closed before the response",
            Failure::Aborted => "connection aborted before the response",
            Failure::Broken => "connection failed",
        })
    }
}
