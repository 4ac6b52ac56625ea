//! Fuzz bodies: each target's `run(data)` exercises one API with arbitrary bytes and panics
//! only when an invariant breaks (a buffer that differs from its reference model, a frame
//! stream that decodes differently when split elsewhere, a component that never settles,
//! ...). Valid use of an API never panics here.
//!
//! They live in the main workspace so that plain `cargo test` compiles them and replays the
//! saved corpus and every fixed crash (`tests/tests/fuzz_corpus.rs`); the cargo-fuzz
//! workspace in `fuzz/` only wraps each in a `fuzz_target!`. See `FUZZING.md`.
//!
//! The first bytes of an input choose sizes, split points and operations (see
//! `input::Input`); running out of input reads as zeros, so every input is valid. Work per
//! input is bounded (lengths and loop counts are capped) so that a fuzzer stays fast and
//! nothing hangs.

mod http_conn;
mod input;
mod tls_fuzz;
mod wire;
mod ws_frames;

pub mod codecs;
pub mod handshake_request;
pub mod handshake_response;
pub mod http_head;
pub mod http_server;
pub mod pipebuf_model;
pub mod reqresp_matchers;
pub mod tls_client;
pub mod tls_server;
pub mod ws_client_frames;
pub mod ws_deflate;
pub mod ws_server_frames;
pub mod ws_stack;

/// A fuzz body: takes any bytes, panics only when an invariant breaks.
pub type Body = fn(&[u8]);

/// Every target's name and body, in the order `FUZZING.md` lists them: what the corpus
/// replay test iterates over.
pub const TARGETS: &[(&str, Body)] = &[
    ("pipebuf_model", pipebuf_model::run),
    ("ws_server_frames", ws_server_frames::run),
    ("ws_client_frames", ws_client_frames::run),
    ("handshake_request", handshake_request::run),
    ("handshake_response", handshake_response::run),
    ("tls_server", tls_server::run),
    ("tls_client", tls_client::run),
    ("codecs", codecs::run),
    ("reqresp_matchers", reqresp_matchers::run),
    ("ws_stack", ws_stack::run),
    ("ws_deflate", ws_deflate::run),
    ("http_head", http_head::run),
    ("http_server", http_server::run),
];
