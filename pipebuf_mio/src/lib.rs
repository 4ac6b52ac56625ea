//! Sockets for [`pipebuf`] chains on mio event loops, and the servers and clients around
//! them.
//!
//! ```text
//!  socket ⇄ [Link] ⇄ net pair ⇄ [Endpoint: stack of layers (Tls ⇄ WebSocket ...) ⇄ app]
//!            └──────────────── one connection in a Driver ─────────────────┘
//! ```
//!
//! Three levels, use any:
//!
//! - [`Server`] runs N event loops on one port (`SO_REUSEPORT`, port 0 resolved once), with
//!   a [`StopHandle`] for graceful shutdown, the bound address and the event stream
//!   ([`Server::serve_with`]); [`run_client`] runs one outgoing connection. What you give
//!   them is a [`Chain`] per connection, most simply an [`Endpoint`]: a stack of
//!   [`pipebuf::Layer`]s (TLS, WebSocket, your own) and an application on top ([`Echo`], or
//!   your own [`Chain`]), on the driver's one clock ([`pipebuf::Time`]).
//! - [`Driver`] is one event loop: listeners (IPv4/IPv6), non-blocking connects, connection
//!   ids that a stale holder can never confuse with a newer connection ([`ConnId`]), the
//!   activity loop, read interest that follows backpressure, timers, idle timeouts,
//!   connection limits, classes with priorities, read budgets, pausing and events of their
//!   own ([`Driver::next_event_in`]), broadcast with per-connection results, and graceful
//!   shutdown. A chain that fails has what it wrote for the peer (a close frame, an alert)
//!   delivered before the connection ends.
//! - [`Link`] connects one non-blocking socket (TCP or Unix stream, see [`LinkStream`]) to a
//!   [`PipeBufPair`](pipebuf::PipeBufPair): it reads straight into the incoming buffer's free
//!   space, writes from the outgoing buffer, and maps stream state both ways (close ⇄ FIN,
//!   abort → RST, peer RST → abort). It is the only component that does I/O; its docs state
//!   what a driver must do for edge-triggered readiness.
//!
//! Per event the driver touches only the connections concerned: nothing is proportional to
//! the number of connections, and idle connections hold no buffer memory.
//!
//! With the `tokio` feature, the `tokio` module runs the same chains on tokio streams
//! instead: one future per connection, a handle to send and receive from other tasks.
//!
//! Counters of connections, bytes, messages and reasons to leave, per driver and per class:
//! [`Driver::stats`], [`Driver::class_stats`]. The `log` feature records each connection's
//! start and end (with the peer address and the reason) through the `log` facade.
//!
//! A WSS echo server, and a WSS client of the same library talking to it:
//!
//! ```
//! use std::sync::Arc;
//! use pipebuf::{PBufRdWr, Stack};
//! use pipebuf_mio::{BoxError, Chain, Context, DriverConfig, Echo, Endpoint, Event, Server, run_client};
//! use pipebuf_rustls::{Tls, config};
//! use pipebuf_websocket::handshake::ClientRequest;
//! use pipebuf_websocket::message::MessageAssembler;
//! use pipebuf_websocket::{Messages, WebSocket, WsConfig, accept_all};
//!
//! let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
//! let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());
//! let server_tls = config::server_config(cert.as_bytes(), key.as_bytes(), &Default::default()).unwrap();
//!
//! // The server: TCP ⇄ TLS ⇄ WebSocket ⇄ echo of every message with its type.
//! let server = Server::bind("127.0.0.1:0".parse().unwrap())
//!     .serve(move |_| {
//!         let ws = WebSocket::server(WsConfig::default(), accept_all());
//!         Some(Endpoint::new(Stack::new(Tls::server(Arc::clone(&server_tls)).ok()?, ws), Echo::default()))
//!     })
//!     .unwrap();
//!
//! /// The client's application: sends one message, reports its echo, closes.
//! #[derive(Default)]
//! struct SayHello { sent: bool, assembler: MessageAssembler }
//! impl Chain for SayHello {
//!     type Msg = String;
//!     type Error = BoxError;
//!     fn process(&mut self, io: PBufRdWr<'_>, cx: &mut Context<'_, String>) -> Result<bool, BoxError> {
//!         let mut app = Messages::new(io, &mut self.assembler);
//!         if !self.sent {
//!             self.sent = true;
//!             app.send_text("hello")?;
//!             return Ok(true);
//!         }
//!         let mut active = false;
//!         if let Some(echo) = app.next()? {
//!             cx.emit(String::from_utf8_lossy(echo.data()).into_owned());
//!             active = true;
//!         }
//!         if active {
//!             app.close(1000, "done")?;
//!         }
//!         Ok(active || app.incoming.end().is_some())
//!     }
//! }
//!
//! let client_tls = config::client_config(cert.as_bytes(), &Default::default()).unwrap();
//! let stack = Stack::new(
//!     Tls::client(client_tls, "localhost".try_into().unwrap()).unwrap(),
//!     WebSocket::client(WsConfig::default(), ClientRequest::new("/", "localhost")),
//! );
//! let mut echoed = Vec::new();
//! let reason = run_client(
//!     server.local_addr(),
//!     Endpoint::new(stack, SayHello::default()),
//!     DriverConfig::default(),
//!     |_, _| Ok(()),
//!     |_, _, event| if let Some(Event::Message { msg, .. }) = event { echoed.push(msg) },
//! )
//! .unwrap();
//! assert_eq!(echoed, ["hello"]);
//! assert!(matches!(reason, pipebuf_mio::LeftReason::Closed), "{reason}");
//! server.stop_handle().stop();
//! server.wait().unwrap();
//! ```
//!
//! A [`Chain`] of your own, right on the socket's bytes:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use pipebuf::PBufRdWr;
//! use pipebuf_mio::{Chain, Context, Driver, DriverConfig, Event};
//!
//! /// Answers each connection with the number of bytes it sent, once it has sent them all.
//! #[derive(Default)]
//! struct Count(usize);
//!
//! impl Chain for Count {
//!     type Msg = usize;
//!     type Error = pipebuf::Error;
//!     fn process(&mut self, mut net: PBufRdWr<'_>, cx: &mut Context<'_, usize>) -> Result<bool, pipebuf::Error> {
//!         let n = net.rd.consume_all();
//!         self.0 += n;
//!         if net.rd.consume_eof().is_some() {
//!             net.wr.append(self.0.to_string().as_bytes())?;
//!             net.wr.close();
//!             cx.emit(self.0);
//!             return Ok(true);
//!         }
//!         Ok(n > 0)
//!     }
//! }
//!
//! let mut driver = Driver::new(DriverConfig::default(), Box::new(|_| Some(Count::default()))).unwrap();
//! let listener = driver.listen_tcp("127.0.0.1:0".parse().unwrap(), false).unwrap();
//! let addr = driver.local_addr(listener).unwrap().to_string();
//! let client = std::thread::spawn(move || {
//!     let mut s = std::net::TcpStream::connect(addr).unwrap();
//!     s.write_all(&[7; 1000]).unwrap();
//!     s.shutdown(std::net::Shutdown::Write).unwrap();
//!     let mut answer = String::new();
//!     s.read_to_string(&mut answer).unwrap();
//!     answer
//! });
//! let mut counted = None;
//! while counted.is_none() {
//!     driver.poll(Some(Duration::from_secs(5))).unwrap();
//!     while let Some(event) = driver.next_event() {
//!         if let Event::Message { msg, .. } = event {
//!             counted = Some(msg);
//!         }
//!     }
//! }
//! assert_eq!(counted, Some(1000));
//! assert_eq!(client.join().unwrap(), "1000");
//! ```

#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod logging;

mod driver;
mod echo;
mod endpoint;
mod link;
mod server;
#[cfg(feature = "reqresp")]
mod service;

pub use driver::{
    Accepted, BoxError, Chain, ChainFactory, ClassConfig, ClassId, ConnId, Context, Disposition,
    Driver, DriverConfig, DriverStats, Event, LeftReason, ListenerId, LocalAddr, SendResult,
};
pub use echo::Echo;
pub use endpoint::{Endpoint, EndpointError};
pub use link::{DEFAULT_READ_CHUNK, Link, LinkError, LinkStream};
/// The core crate, so that its types (`Stack`, `Layer`, `PBufRdWr`, `Time`) need no direct
/// dependency.
pub use pipebuf;
pub use server::{DEFAULT_SHUTDOWN_GRACE, RunningServer, Server, StopHandle, run_client};
#[cfg(feature = "tokio")]
pub mod tokio;

// The README is the crate's page on crates.io; its example runs as a doctest so that it
// stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
