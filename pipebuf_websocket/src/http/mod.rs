//! An HTTP/1.1 server component: keep-alive, pipelining, streamed bodies, and the hand-over
//! of an upgrade request to a WebSocket on the same connection.
//!
//! ```text
//!  socket ⇄ [link] ⇄ [Tls] ⇄ byte pair ⇄ [HttpServer] ⇄ record pair ⇄ app
//!                            byte pair ⇄ [Upgrading<WebSocket>] ⇄ message pair ⇄ app
//! ```
//!
//! [`HttpServer`] is a sans-IO [`Layer`](pipebuf::Layer) like [`WebSocket`](crate::WebSocket):
//! each `process()` call takes the byte pair towards the peer and the record pair towards the
//! application, plus the time for the idle timeout. It reads one request head at a time
//! (parsed with `httparse` within [`HttpConfig`]'s limits), streams that request's body to the
//! application, streams the response back, and only then reads the next head: pipelined
//! requests wait in the byte buffer and are answered in order, without any per-request queue.
//!
//! The application side is one of two, chosen when the server is made:
//!
//! - **Records** ([`HttpServer::new`]): requests arrive as [`records`] in the upper pair — a
//!   head, body chunks as they come (Content-Length or chunked, decoded), an end — and the
//!   application answers with a response head (status, fields, length if known), body chunks
//!   and an end. Nothing is buffered whole: each side streams through its PipeBuf with its
//!   backpressure. [`records::read_request`] and the `write_*` functions there do the framing.
//! - **A handler** ([`HttpServer::with_handler`]): a closure maps each [`RequestHead`] to a
//!   [`Response`] whose body is bytes or (with `std`) a reader such as a file, streamed as
//!   the peer takes it. Request bodies are read and dropped. For pages and static files.
//!
//! Rules (each has a unit test next to the code):
//!
//! | situation | answer |
//! |---|---|
//! | HTTP/1.1 request | connection kept for the next request unless `Connection: close` |
//! | HTTP/1.0 request | connection closed after the response unless `Connection: keep-alive` |
//! | request body on a connection closed after the response | read while the application may still answer (records mode); a handler's not at all |
//! | `Expect: 100-continue` with a body within the limit | `100 Continue`, then the body is read |
//! | head over `max_head_len`, or more than `max_headers` fields | 431, close |
//! | records mode: a head record larger than the application's record buffer's limit | 431, close |
//! | `Content-Length` over `max_body`, or a chunked body growing past it | 413, close |
//! | `Content-Length` and `Transfer-Encoding` both, differing `Content-Length`s, a bad chunk size, obs-fold, a bare LF | 400, close |
//! | a transfer coding other than `chunked` | 501, close |
//! | nothing received for `idle_timeout` between requests | connection closed (408 if a head had begun) |
//! | a complete head waits for room in the application's record buffer | no idle timeout: the application holds the connection, not the peer |
//! | application's record stream closes | connection closed after the response in progress |
//! | application aborts, or a response shorter or longer than its `Content-Length` | byte side aborted |
//! | peer ends its stream between requests | record stream closes; ours closes once answered |
//! | peer ends its stream inside a request | record stream **aborted** |
//!
//! Every refusal writes its response and closes the byte side in the same `process()` call
//! that returns the [`HttpError`], so a [`Stack`](pipebuf::Stack) delivers it.
//!
//! # Upgrades
//!
//! With [`HttpConfig::stop_at_websocket_upgrade`], a request carrying `Upgrade: websocket`
//! is neither consumed nor answered: the server stops with the head (and anything the client
//! sent behind it) unread at the start of its input, [`HttpServer::upgrade_pending`] turns
//! true, and the byte pair belongs to whoever runs next. [`Upgrading`] is that owner as a
//! layer: it runs an `HttpServer` until it stops at an upgrade, then runs a second layer
//! (a server [`WebSocket`](crate::WebSocket)) on the same pairs from then on; that layer
//! parses the very same bytes, as on a connection that started with the upgrade.
//!
//! Why this shape: leaving the bytes where they are needs no copy, no hand-over API
//! between the two components and no second HTTP parser inside the WebSocket; the
//! WebSocket keeps validating its handshake itself. The sequential reading above guarantees
//! that every earlier response is fully written before the upgrade, so the `101` follows
//! them in order. A combined layer holds both because a [`Stack`](pipebuf::Stack) fixes its
//! layers when it is built, while the switch happens on the connection's first upgrade.

mod body;
mod error;
pub mod records;
mod request;
mod response;
mod server;
mod upgrade;

use core::time::Duration;

pub use error::{HttpError, Refusal};
pub use request::RequestHead;
pub use response::{Body, Response};
pub use server::{Handler, HttpServer};
pub use upgrade::{Upgrading, UpgradingError};

/// Limits and timeouts of an [`HttpServer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpConfig {
    /// Most bytes in a request head, request line through the empty line (default 8 KiB);
    /// more is refused with 431.
    pub max_head_len: usize,
    /// Most header fields in a request head (default 64); more is refused with 431.
    pub max_headers: usize,
    /// Most bytes in one request body (default 1 MiB); more is refused with 413.
    pub max_body: u64,
    /// How long a connection may stay silent while the server waits for a request (or for
    /// the rest of one) before it is closed (default 60 s); `None` for never.
    pub idle_timeout: Option<Duration>,
    /// Stop at a request with `Upgrade: websocket` and leave it unread for the layer that
    /// takes the connection over (see [`Upgrading`]); otherwise such a request is served like
    /// any other (default `false`).
    pub stop_at_websocket_upgrade: bool,
}

impl HttpConfig {
    /// 8 KiB heads of at most 64 fields, 1 MiB bodies, 60 s idle timeout, no upgrades.
    pub const DEFAULT: Self = Self {
        max_head_len: 8 * 1024,
        max_headers: 64,
        max_body: 1024 * 1024,
        idle_timeout: Some(Duration::from_secs(60)),
        stop_at_websocket_upgrade: false,
    };

    /// The head limits as the handshake parser states them.
    fn head_limits(&self) -> crate::handshake::HandshakeLimits {
        crate::handshake::HandshakeLimits {
            max_headers: self.max_headers,
            max_head_len: self.max_head_len,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}
