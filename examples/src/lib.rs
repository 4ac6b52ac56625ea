//! What the example programs share: their command lines and exit statuses ([`cli`]), the
//! connection log ([`conn_log`]), running a library [`Server`](pipebuf_mio::Server) until
//! SIGINT/SIGTERM with the listening line, TLS configuration (a self-signed certificate made
//! at start for servers, a client config for the load tools), the URL and settings of the
//! WebSocket clients ([`ws_client`]), the permessage-deflate flags of the WebSocket programs
//! ([`deflate`]), the RESP2 codec of `redis_pipeline`, the chat page of `wss_chat` and
//! `http_page` ([`page`]), and the static files of `wss_chat` ([`static_files`]).

#![forbid(unsafe_code)]

pub mod cli;
pub mod conn_log;
pub mod deflate;
pub mod page;
pub mod resp;
pub mod static_files;
pub mod tls;
pub mod ws;
pub mod ws_client;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Runs one client connection to `addr` until it leaves; returns the last message its chain
/// emitted (a client's summary) and why the connection ended.
pub fn run_client<C: pipebuf_mio::Chain>(
    config: pipebuf_mio::DriverConfig,
    addr: std::net::SocketAddr,
    chain: C,
) -> Result<(Option<C::Msg>, pipebuf_mio::LeftReason), String> {
    let mut last = None;
    let reason = pipebuf_mio::run_client(
        addr,
        chain,
        config,
        |_, _| Ok(()),
        |_, _, event| {
            if let Some(pipebuf_mio::Event::Message { msg, .. }) = event {
                last = Some(msg);
            }
        },
    )
    .map_err(|e| format!("{addr}: {e}"))?;
    Ok((last, reason))
}

/// Starts `server` with `factory`, prints `listening on HOST:PORT`, and serves until SIGINT
/// or SIGTERM, then stops gracefully (close handshakes get the server's grace period). Each
/// connection's start and end is logged at `debug` ([`conn_log`]).
pub fn serve_until_signalled<C, F>(server: pipebuf_mio::Server, factory: F) -> Result<(), String>
where
    C: pipebuf_mio::Chain + Send + 'static,
    C::Msg: Send,
    F: Fn(&pipebuf_mio::Accepted) -> Option<C> + Send + Sync + 'static,
{
    let level = log::Level::Debug;
    let running = server
        .serve_with(conn_log::logged_factory(level, factory), move |_| {
            Ok(
                move |_: &mut pipebuf_mio::Driver<C>, event: pipebuf_mio::Event<C::Msg>| {
                    conn_log::log_event(level, &event);
                },
            )
        })
        .map_err(|e| format!("cannot serve: {e}"))?;
    let stop = running.stop_handle();
    stop_on_signals(move || stop.stop()).map_err(|e| format!("signals: {e}"))?;
    println!("listening on {}", running.local_addr());
    running
        .wait()
        .map_err(|e| format!("event loop failed: {e}"))
}

/// Sets the returned flag and then calls `wake` (to interrupt the waiting event loop or
/// `accept`) when SIGINT or SIGTERM arrives.
pub fn stop_on_signals(wake: impl FnOnce() + Send + 'static) -> std::io::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            flag.store(true, Ordering::SeqCst);
            wake();
        }
    });
    Ok(stop)
}

/// CPU time of process `pid` so far, all its live threads, in seconds, with nanosecond
/// resolution (the scheduler's statistics in `/proc/PID/task/*/schedstat`; Linux only).
/// `None` if the process is gone. The load generators report a server's CPU time over
/// their measured window with it ([`cli::flags::SERVER_PID`]).
pub fn process_cpu_secs(pid: u32) -> Option<f64> {
    let mut ns: u64 = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        let Ok(text) = std::fs::read_to_string(path) else {
            continue; // the thread exited meanwhile
        };
        ns += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 / 1e9)
}

/// The JSON fields a load generator adds for a server's `cpu` seconds over `count` units
/// (`unit`: `msg` or `handshake`): `,"server_cpu_s":..,"server_us_per_UNIT":..`; empty
/// without a measurement.
pub fn server_cpu_json(cpu: Option<f64>, unit: &str, count: usize) -> String {
    let Some(cpu) = cpu else {
        return String::new();
    };
    let per = if count > 0 {
        cpu * 1e6 / count as f64
    } else {
        0.0
    };
    format!(",\"server_cpu_s\":{cpu:.4},\"server_us_per_{unit}\":{per:.3}")
}
