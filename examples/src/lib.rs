//! What the example programs share: command-line flags, running a library
//! [`Server`](pipebuf_mio::Server) until SIGINT/SIGTERM with the listening line, TLS
//! configuration (a self-signed certificate made at start for servers, a client config for
//! the load tools), the URL and settings of the WebSocket clients ([`ws_client`]), and the
//! RESP2 codec of `redis_pipeline`.

#![forbid(unsafe_code)]

pub mod resp;
pub mod tls;
pub mod ws;
pub mod ws_client;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--name value` flags and value-less `--switch` flags, each given at most once.
#[derive(Debug, Default)]
pub struct Flags {
    values: HashMap<String, String>,
}

impl Flags {
    /// Parses the process's arguments, accepting only the flag names in `known`.
    pub fn from_env(known: &[&str]) -> Result<Self, String> {
        Self::parse(std::env::args().skip(1), known)
    }

    /// Parses the process's arguments like [`parse_with_switches`](Flags::parse_with_switches).
    pub fn from_env_with_switches(known: &[&str], switches: &[&str]) -> Result<Self, String> {
        Self::parse_with_switches(std::env::args().skip(1), known, switches)
    }

    /// Parses `args` (without the program name), accepting only the flag names in `known`.
    pub fn parse(args: impl IntoIterator<Item = String>, known: &[&str]) -> Result<Self, String> {
        Self::parse_with_switches(args, known, &[])
    }

    /// Parses `args` (without the program name), accepting the flag names in `known`, each
    /// followed by a value, and the names in `switches`, which take no value (see
    /// [`is_set`](Flags::is_set)).
    pub fn parse_with_switches(
        args: impl IntoIterator<Item = String>,
        known: &[&str],
        switches: &[&str],
    ) -> Result<Self, String> {
        let mut values = HashMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?}"));
            };
            let value = if switches.contains(&name) {
                String::new()
            } else if known.contains(&name) {
                args.next()
                    .ok_or_else(|| format!("--{name} needs a value"))?
            } else {
                let all: Vec<&str> = known.iter().chain(switches).copied().collect();
                return Err(format!(
                    "unknown flag --{name} (known: --{})",
                    all.join(", --")
                ));
            };
            if values.insert(name.to_string(), value).is_some() {
                return Err(format!("--{name} given twice"));
            }
        }
        Ok(Flags { values })
    }

    /// Whether `--name` was given (for switches, which take no value, and value flags alike).
    pub fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The value of `--name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of `--name` parsed as `T`, or `default` when absent.
    pub fn parse_or<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| format!("--{name} {v:?}: {e}")),
        }
    }
}

/// Answers the plain HTTP request waiting in `io.rd` with `response` (written in parts, so
/// a large body is not assembled first), then closes. Once the output has ended, only drops
/// what the peer still sends. Returns whether anything happened.
pub fn answer_http_and_close(mut io: pipebuf::PBufRdWr<'_>, response: &[&[u8]]) -> bool {
    if io.wr.is_eof() {
        return io.rd.discard();
    }
    io.rd.consume_all();
    for part in response {
        if io.wr.append(part).is_err() {
            // No room for the whole answer: end the connection rather than send half of it.
            io.wr.abort();
            return true;
        }
    }
    io.wr.push();
    io.wr.close();
    true
}

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
/// or SIGTERM, then stops gracefully (close handshakes get the server's grace period).
pub fn serve_until_signalled<C, F>(server: pipebuf_mio::Server, factory: F) -> Result<(), String>
where
    C: pipebuf_mio::Chain + Send + 'static,
    C::Msg: Send,
    F: Fn(&pipebuf_mio::Accepted) -> Option<C> + Send + Sync + 'static,
{
    let running = server
        .serve(factory)
        .map_err(|e| format!("cannot serve: {e}"))?;
    let stop = running.stop_handle();
    stop_on_signals(move || stop.stop()).map_err(|e| format!("signals: {e}"))?;
    println!("listening on {}", running.local_addr());
    running
        .wait()
        .map_err(|e| format!("event loop failed: {e}"))
}

/// The exit status of an example: success, or the error on stderr after the program's name.
pub fn exit(program: &str, result: Result<(), String>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
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
/// their measured window with it (`--server-pid`).
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

/// The process named by `--server-pid PID`, checked to exist; `None` without the flag.
pub fn server_pid_flag(flags: &Flags) -> Result<Option<u32>, String> {
    if flags.get("server-pid").is_none() {
        return Ok(None);
    }
    let pid: u32 = flags.parse_or("server-pid", 0)?;
    process_cpu_secs(pid).ok_or(format!("--server-pid {pid}: no such process"))?;
    Ok(Some(pid))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_parse_known_names_with_values() {
        let flags = Flags::parse(
            args(&["--addr", "127.0.0.1:0", "--threads", "2"]),
            &["addr", "threads"],
        )
        .unwrap();
        assert_eq!(flags.get("addr"), Some("127.0.0.1:0"));
        assert_eq!(flags.parse_or("threads", 1usize), Ok(2));
        assert_eq!(flags.parse_or("missing", 7usize), Ok(7));
    }

    #[test]
    fn switches_take_no_value() {
        let flags = Flags::parse_with_switches(
            args(&["--tls", "--addr", "a", "--handshakes"]),
            &["addr"],
            &["tls", "handshakes", "other"],
        )
        .unwrap();
        assert!(flags.is_set("tls") && flags.is_set("handshakes") && flags.is_set("addr"));
        assert!(!flags.is_set("other"));
        assert_eq!(flags.get("addr"), Some("a"));
        assert!(Flags::parse_with_switches(args(&["--tls", "--tls"]), &[], &["tls"]).is_err());
        assert!(Flags::parse(args(&["--tls"]), &["addr"]).is_err());
    }

    #[test]
    fn unknown_missing_or_repeated_flags_are_errors() {
        assert!(Flags::parse(args(&["--nope", "1"]), &["addr"]).is_err());
        assert!(Flags::parse(args(&["--addr"]), &["addr"]).is_err());
        assert!(Flags::parse(args(&["--addr", "a", "--addr", "b"]), &["addr"]).is_err());
        assert!(Flags::parse(args(&["stray"]), &["addr"]).is_err());
    }
}
