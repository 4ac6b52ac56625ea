//! TLS server and client components on rustls for [`pipebuf`] chains.
//!
//! ```text
//!  socket ⇄ [link] ⇄ crypt pair ⇄ [Tls] ⇄ plain pair ⇄ [application]
//! ```
//!
//! [`Tls`] is a sans-IO component: each `process()` call takes the encrypted pair and the
//! plaintext pair by reference and moves data, push and end of stream between them. A FIN
//! without close_notify reaches the application as an **abort** (truncation), never as a
//! clean close; a TLS error writes its alert in the same call, aborts the plaintext side
//! and returns a typed [`TlsError`].
//!
//! # Which rustls API
//!
//! The component drives either rustls' buffered API or its unbuffered one ([`RustlsApi`],
//! chosen with [`Tls::server_using`] / [`Tls::client_using`]); all rustls calls live in one
//! internal module. **The default is the buffered API.** Measured in memory, client to
//! server, on a quiet machine (`cargo bench -p pipebuf_rustls --bench tls -- c2s`, 2-core
//! AMD EPYC Zen 3, TLS 1.3 AES-256-GCM, criterion medians in MiB/s;
//! `scripts/bench-components.sh` prints the rest):
//!
//! | write size | buffered | unbuffered | rustls `Stream` | tokio-rustls |
//! |---:|---:|---:|---:|---:|
//! | 16 B | 22.5 | 24.6 | 26.3 | 15.8 |
//! | 1 KiB | 916 | 908 | 985 | 971 |
//! | 16 KiB | 2067 | 1858 | 1810 | 2070 |
//! | 64 KiB | 1915 | 2012 | 2040 | 1692 |
//!
//! The two are within about 10 % of each other both ways, so speed does not decide. What
//! does: the unbuffered API couples the directions. rustls 0.23 offers its write state only
//! once every received record has been taken, so with an application that stops reading
//! until its own output is out, sending stalls once 64 KiB of received records are set
//! aside; the unbuffered API also needs each whole record inside the encrypted input
//! buffer. The buffered API has neither constraint. Choose the unbuffered one for bulk
//! transfer where the application always reads, and for many idle connections: rustls'
//! buffered API keeps a 4 KiB record buffer per connection for good, while the unbuffered one
//! works inside the component's buffers, which the driver frees when a connection is idle
//! (`wss_echo --tls-api`, 2,000–5,000 idle connections held by `load --hold`: 11 KiB of
//! server RSS per connection buffered, 6–7 KiB unbuffered).
//!
//! [`Tls`] is a [`pipebuf::Layer`]: put it under a WebSocket or your own component with
//! [`pipebuf::Stack`], and a driver such as pipebuf_mio's `Endpoint` runs the whole stack.
//! This crate re-exports [`rustls`], so configs and server names need no direct dependency.
//!
//! The [`config`] helpers build rustls configs from PEM (via `rustls-pki-types`), with
//! errors that name the problem. The crypto provider is chosen with this crate's features
//! (`ring`, the default, or `aws-lc-rs`). The `log` feature records completed handshakes and
//! TLS failures through the `log` facade.
//!
//! ```
//! use pipebuf::PipeBufPair;
//! use pipebuf_rustls::{Tls, config};
//!
//! // A self-signed certificate for the example; use your own PEM files in practice.
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
//! let server_config = config::server_config(
//!     cert.cert.pem().as_bytes(),
//!     cert.signing_key.serialize_pem().as_bytes(),
//!     &Default::default(),
//! )
//! .unwrap();
//! let client_config = config::client_config(cert.cert.pem().as_bytes(), &Default::default()).unwrap();
//!
//! let mut server = Tls::server(server_config).unwrap();
//! let mut client = Tls::client(client_config, "localhost".try_into().unwrap()).unwrap();
//! // wire: the encrypted bytes between the two; each side has its own plaintext pair.
//! let (mut wire, mut client_plain, mut server_plain) =
//!     (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
//!
//! client_plain.upper().wr.append(b"hello over TLS").unwrap();
//! client_plain.upper().wr.close();
//! pipebuf::settle(100, || -> Result<bool, pipebuf_rustls::TlsError> {
//!     // One wire pair between the two: the client takes its upper side, the server its lower.
//!     let c = client.process(wire.upper(), client_plain.lower())?;
//!     let s = server.process(wire.lower(), server_plain.lower())?;
//!     Ok(c | s)
//! })
//! .unwrap();
//! let mut app = server_plain.upper();
//! assert_eq!(app.rd.data(), b"hello over TLS");
//! app.rd.consume_all();
//! assert_eq!(app.rd.consume_eof(), Some(pipebuf::EofKind::Close));
//! ```

#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod logging;

pub mod config;
mod engine;
mod error;
mod tls;

pub use engine::RustlsApi;
pub use error::{ConfigError, TlsError};
/// The rustls this crate is built on, so that its configs and names need no direct
/// dependency.
pub use rustls;
pub use tls::Tls;

// The README is the crate's page on crates.io; its example runs as a doctest so that it
// stays true.
#[cfg(all(doctest, any(feature = "ring", feature = "aws-lc-rs")))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
