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
//! The [`config`] helpers build rustls configs from PEM (via `rustls-pki-types`), with
//! errors that name the problem. The crypto provider is chosen with this crate's features
//! (`ring`, the default, or `aws-lc-rs`).
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

pub mod config;
mod engine;
mod error;
mod tls;

pub use engine::RustlsApi;
pub use error::{ConfigError, TlsError};
pub use tls::Tls;
