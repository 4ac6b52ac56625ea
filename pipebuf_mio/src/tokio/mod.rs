//! The same chains on tokio (feature `tokio`): one connection's [`Chain`] (most simply an
//! [`Endpoint`](crate::Endpoint): a [`Stack`](pipebuf::Stack) of layers and an application)
//! driven over a tokio stream by one future.
//!
//! ```text
//!  TcpStream/UnixStream ⇄ [PollLink] ⇄ net pair ⇄ [Chain: Tls ⇄ WebSocket ⇄ app] ⇄ Handle
//!  └──────────────────── Connection::run, one future per connection ───────────────┘
//! ```
//!
//! # Why this shape
//!
//! - **The driven thing is [`Chain`], the trait the mio [`Driver`](crate::Driver) drives.**
//!   A connection's components move between the two runtimes unchanged: the `Endpoint` of
//!   `Tls`, `WebSocket` and [`Echo`](crate::Echo) that a mio server runs is what
//!   [`run`] takes. The components stay sans-IO; the future is only the driver, with the
//!   driver's contracts: deadlines from [`Chain::next_deadline`], close → FIN and abort → RST
//!   ([`TokioStream`]), what a failing layer wrote for the peer delivered before the end
//!   (DESIGN §2), a chain that never settles aborted instead of spinning, and the same
//!   [`LeftReason`] at the end.
//! - **The application lives in the chain or talks to it through a [`Handle`].** Inside,
//!   it is sans-IO code as on mio (the `Endpoint`'s application). Outside, a `Handle` is
//!   what the driver's methods are for a mio connection: [`Handle::send`] is
//!   [`Driver::send`](crate::Driver::send) through [`Chain::send`] (but waits instead of
//!   answering `Full`), [`Handle::close`], [`Handle::abort`] and [`Handle::wake`] likewise,
//!   and [`Handle::recv`] returns what the chain reports with
//!   [`Context::emit`](crate::Context::emit) (the driver's [`Event::Message`](crate::Event)).
//! - **Not an `AsyncRead`/`AsyncWrite` on top.** Above a WebSocket the data are message
//!   records with their types, not a byte stream; and a byte wrapper would add a copy and
//!   blur close and abort, which must stay apart (DESIGN §1).
//! - **One future per connection, no shared loop.** tokio already schedules tasks, so what
//!   the mio driver adds for many connections (classes, read budgets, broadcast) is left to
//!   the runtime and the application.
//!
//! A tokio echo server for plain TCP (for WebSocket or TLS, pass an `Endpoint` with that
//! stack instead of [`Echo`](crate::Echo)), and a client talking to it through a [`Handle`]:
//!
//! ```
//! use pipebuf::PBufRdWr;
//! use pipebuf_mio::tokio::{Connection, run};
//! use pipebuf_mio::{Chain, Context, Echo, LeftReason};
//!
//! /// The client's chain: reports what arrives; what the handle sends goes out unchanged
//! /// (the default `Chain::send`), and `Handle::close` closes (the default `Chain::close`).
//! struct Report;
//! impl Chain for Report {
//!     type Msg = Vec<u8>;
//!     type Error = pipebuf::Error;
//!     fn process(&mut self, mut net: PBufRdWr<'_>, cx: &mut Context<'_, Vec<u8>>) -> Result<bool, pipebuf::Error> {
//!         if !net.rd.is_empty() {
//!             cx.emit(net.rd.data().to_vec());
//!             net.rd.consume_all();
//!             return Ok(true);
//!         }
//!         Ok(net.rd.consume_eof().is_some())
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let addr = listener.local_addr().unwrap();
//! let server = tokio::spawn(async move {
//!     let (stream, _) = listener.accept().await.unwrap();
//!     run(stream, Echo::default()).await
//! });
//!
//! let client = Connection::new(tokio::net::TcpStream::connect(addr).await.unwrap(), Report);
//! let handle = client.handle();
//! let client = tokio::spawn(client.run());
//! handle.send("ping").await;
//! let mut echoed = Vec::new();
//! while echoed.len() < 4 {
//!     echoed.extend(handle.recv().await.unwrap());
//! }
//! assert_eq!(echoed, b"ping");
//! handle.close();
//! assert!(matches!(client.await.unwrap(), LeftReason::Closed));
//! assert!(matches!(server.await.unwrap(), LeftReason::Closed));
//! # });
//! ```

mod connection;
mod handle;
mod link;
mod stream;
#[cfg(test)]
mod tests;

pub use connection::Connection;
pub use handle::Handle;
pub use stream::TokioStream;

use crate::{Chain, LeftReason};

/// Runs `chain` on `stream` until the connection ends; returns why. The short form of
/// [`Connection::new`] and [`Connection::run`], for a chain that needs no [`Handle`] (an
/// echo, a protocol that only answers).
///
/// ```no_run
/// use pipebuf_mio::{Echo, Endpoint};
/// use pipebuf_websocket::{WebSocket, WsConfig, accept_all};
///
/// # async fn serve(listener: tokio::net::TcpListener) {
/// // A ws:// echo server, one task per connection.
/// loop {
///     let Ok((stream, _)) = listener.accept().await else { continue };
///     let ws = WebSocket::server(WsConfig::default(), accept_all());
///     tokio::spawn(pipebuf_mio::tokio::run(stream, Endpoint::new(ws, Echo::default())));
/// }
/// # }
/// ```
pub async fn run<T: TokioStream, C: Chain>(stream: T, chain: C) -> LeftReason {
    Connection::new(stream, chain).run().await
}
