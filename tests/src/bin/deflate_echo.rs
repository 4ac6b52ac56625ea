//! `deflate_echo`: the WebSocket echo server of `ws_echo` with permessage-deflate on, for
//! `tests/deflate_interop.rs` (the example programs do not take a deflate flag yet).
//!
//! ```text
//! deflate_echo --addr 127.0.0.1:0 [--context keep|reset]
//! ```
//!
//! `--context reset` resets both compressors after every message (announces
//! `server_no_context_takeover` and requires `client_no_context_takeover`). Prints
//! `listening on HOST:PORT`; stops on SIGINT/SIGTERM.

#![allow(missing_docs)]

use std::net::SocketAddr;
use std::process::ExitCode;

use pipebuf_examples::Flags;
use pipebuf_mio::{Echo, Endpoint, Server};
use pipebuf_websocket::deflate::{ContextTakeover, DeflateConfig};
use pipebuf_websocket::{WebSocket, WsConfig, accept_all};

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&["addr", "context"])?;
    let addr: SocketAddr = flags.parse_or("addr", SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let context = match flags.get("context") {
        None | Some("keep") => ContextTakeover::Keep,
        Some("reset") => ContextTakeover::Reset,
        Some(other) => return Err(format!("--context {other:?}: keep or reset")),
    };
    let config = WsConfig {
        max_message: 64 << 20,
        deflate: Some(DeflateConfig {
            own_context: context,
            peer_context: context,
            ..DeflateConfig::default()
        }),
        ..WsConfig::default()
    };
    pipebuf_examples::serve_until_signalled(Server::bind(addr), move |_| {
        Some(Endpoint::new(
            WebSocket::server(config, accept_all()),
            Echo::default(),
        ))
    })
}

fn main() -> ExitCode {
    pipebuf_examples::exit("deflate_echo", run())
}
