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
//! server, one criterion run (`cargo bench -p pipebuf_rustls --bench tls`, 2-core AMD EPYC
//! Zen 3, TLS 1.3 AES-256-GCM; see BENCHMARKS.md for the full tables):
//!
//! | write size | buffered | unbuffered | rustls `Stream` | tokio-rustls |
//! |---:|---:|---:|---:|---:|
//! | 16 B | 20.9 MiB/s | 10.3 MiB/s | 22.0 MiB/s | 13.1 MiB/s |
//! | 1 KiB | 596 MiB/s | 472 MiB/s | 726 MiB/s | 790 MiB/s |
//! | 16 KiB | 957 MiB/s | 1.47 GiB/s | 1.44 GiB/s | 1.41 GiB/s |
//! | 64 KiB | 1.72 GiB/s | 1.81 GiB/s | 1.05 GiB/s | 1.12 GiB/s |
//!
//! (That run was on a loaded machine; 64 KiB alone on a quiet one: buffered 1.84 GiB/s,
//! unbuffered 1.88, `Stream` 1.96, tokio-rustls 1.72, against an AES-256-GCM seal+open
//! limit of 3.14 GiB/s.)
//!
//! The unbuffered API saves a copy each way but pays for more state-machine rounds per
//! record, so it loses on small writes (the common case for request/response and chat
//! traffic) and wins only on large ones. It also couples the directions: rustls 0.23 offers
//! its write state only once every received record has been taken, so with an application
//! that stops reading until its own output is out, sending stalls once 64 KiB of received
//! records are set aside. The buffered API has neither cost, so it is the default;
//! choose the unbuffered one for bulk transfer where the application always reads.
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
