//! The connection log of the servers: one line when a connection starts (with its peer),
//! one when it ends (with the reason the driver gives), at a level each program picks:
//! `info` for the chat, whose connections are people; `debug` for the echo servers, which
//! benchmarks hit with hundreds of thousands of connections, so that the default filter
//! (`info`, see [`cli`](crate::cli)) keeps them quiet. The lines' target is `conn`, so
//! `RUST_LOG=conn=debug` shows the connections alone.

use log::Level;
use pipebuf_mio::{Accepted, Event};

/// The log target of the connection lines.
const TARGET: &str = "conn";

/// `factory` with a log line for each connection it is asked to serve: its id and peer
/// (the driver's [`Event::Joined`] carries no peer, so the start is logged here), or that it
/// was refused when `factory` gives `None`.
pub fn logged_factory<C, F>(level: Level, factory: F) -> impl Fn(&Accepted) -> Option<C>
where
    F: Fn(&Accepted) -> Option<C>,
{
    move |accepted| {
        let chain = factory(accepted);
        if log::log_enabled!(target: TARGET, level) {
            let peer = accepted
                .peer
                .map_or_else(|| "a local socket".to_string(), |peer| peer.to_string());
            match chain {
                Some(_) => {
                    log::log!(target: TARGET, level, "connection {} from {peer}", accepted.id)
                }
                None => {
                    log::log!(target: TARGET, level, "connection {} from {peer} refused", accepted.id)
                }
            }
        }
        chain
    }
}

/// Logs the end of a connection, with its reason, when `event` is one.
pub fn log_event<M>(level: Level, event: &Event<M>) {
    if let Event::Left { id, reason, .. } = event {
        log::log!(target: TARGET, level, "connection {id} ended: {reason}");
    }
}
