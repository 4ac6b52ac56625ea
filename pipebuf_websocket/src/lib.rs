//! WebSocket (RFC 6455) server and client components for [`pipebuf`] chains.
//!
//! ```text
//!  socket ⇄ [link] ⇄ crypt pair ⇄ [Tls] ⇄ byte pair ⇄ [WebSocket] ⇄ message pair ⇄ [app]
//! ```
//!
//! [`WebSocket`] is a sans-IO component: each `process()` call takes the byte pair (towards
//! TLS or TCP) and the message pair (towards the application) by reference, plus the time.
//! Received frames are unmasked straight from the byte buffer into the message buffer, as
//! [`message`] chunk records; the application's records are framed straight into the byte
//! buffer. A large message streams through in chunks and is never held whole.
//!
//! The layers, one module each: [`handshake`] (the HTTP upgrade, validated before
//! embedded-websocket computes the accept key), [`frame`] (headers, masking, UTF-8, close
//! payloads), [`message`] (the application's records), and the component gluing them, with
//! its [`WsConfig`] and [`WsError`]. Every receive-side rule of RFC 6455 fails the
//! connection with the right close code; a peer that ends the byte stream without a close
//! frame reaches the application as an abort.
//!
//! [`WebSocket`] is a [`pipebuf::Layer`]: `Stack::new(tls, websocket)` makes WSS, and
//! pipebuf_mio's `Endpoint` runs it with an application on top. The application's side is
//! [`Messages`]: whole small messages read in place, large ones streamed as records, and
//! text, binary, ping and close (with code and reason) sent with one call each. A server
//! answers plain HTTP requests itself when given [`WebSocket::answer_plain_http`].
//!
//! The [`http`] module is the HTTP/1.1 side of the same endpoint: [`http::HttpServer`]
//! serves pages and files with keep-alive, pipelining, chunked bodies and
//! `Expect: 100-continue` within stated limits, and [`http::Upgrading`] hands an upgrade
//! request to a [`WebSocket`] on the same connection without losing buffered bytes.
//!
//! `no_std` + `alloc` without the default `std` feature (then the client needs a random
//! source: [`WebSocket::client_with_random`]).
//!
//! permessage-deflate (RFC 7692) comes with the `deflate` feature, off by default (it adds
//! miniz_oxide, and a connection that compresses with context takeover costs about 354 KiB
//! more), and is then negotiated when `WsConfig::deflate` is set: see the `deflate` module.
//! The `log` feature records upgrades, failures and close codes through the `log` facade.
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use pipebuf::{EofKind, PipeBufPair, Time};
//! use pipebuf_websocket::handshake::ClientRequest;
//! use pipebuf_websocket::message::{MessageAssembler, MessageKind, write_message};
//! use pipebuf_websocket::{WebSocket, WsConfig, accept_all};
//!
//! let mut server = WebSocket::server(WsConfig::default(), accept_all());
//! let mut client = WebSocket::client(WsConfig::default(), ClientRequest::new("/chat", "localhost"));
//! // wire: the bytes between the two; each side has its own message pair.
//! let (mut wire, mut client_msgs, mut server_msgs) =
//!     (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
//!
//! write_message(&mut client_msgs.upper().wr, MessageKind::Text, b"hello").unwrap();
//! client_msgs.upper().wr.close();
//! let now = Time::ZERO;
//! pipebuf::settle(100, || -> Result<bool, pipebuf_websocket::WsError> {
//!     let c = client.process(now, wire.upper(), client_msgs.lower())?;
//!     let s = server.process(now, wire.lower(), server_msgs.lower())?;
//!     Ok(c | s)
//! })
//! .unwrap();
//! let mut app = server_msgs.upper();
//! let mut assembler = MessageAssembler::new();
//! assert_eq!(
//!     assembler.next_message(&mut app.rd).unwrap(),
//!     Some((MessageKind::Text, &b"hello"[..]))
//! );
//! // The client's close frame arrived: a clean end of the message stream.
//! assert_eq!(app.rd.consume_eof(), Some(EofKind::Close));
//! # }
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[macro_use]
mod logging;

mod app;
mod close_handshake;
mod config;
#[cfg(feature = "deflate")]
pub mod deflate;
#[cfg(feature = "std")]
mod entropy;
mod error;
pub mod frame;
pub mod handshake;
pub mod http;
pub mod message;
pub mod origin;
mod plain_http;
mod receive;
mod send;
mod websocket;

pub use app::{Incoming, Messages, Outgoing};
pub use config::WsConfig;
pub use error::WsError;
pub use handshake::{HandshakeError, RejectReason};
/// The core crate, so that its types (`PipeBufPair`, `Stack`, `Time`) need no direct
/// dependency.
pub use pipebuf;
pub use plain_http::{HttpAnswer, HttpFn, PlainRequest};
pub use send::RandomSource;
pub use websocket::{AcceptFn, WebSocket, accept_all};

// The README is the crate's page on crates.io; its example runs as a doctest so that it
// stays true.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
