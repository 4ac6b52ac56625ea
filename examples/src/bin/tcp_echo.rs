//! `tcp_echo`: echoes every byte back on TCP, and closes its sending side after the peer's
//! end of stream once everything is echoed.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin tcp_echo -- --addr 127.0.0.1:7007 --threads 2
//! ```
//!
//! Flags: `--addr HOST:PORT` (default 127.0.0.1:7007; port 0 picks a free port), `--threads N`
//! (default 1: N event loops share the port through SO_REUSEPORT). Prints
//! `listening on HOST:PORT` once it accepts connections; exits cleanly on SIGINT/SIGTERM,
//! finishing the echo of what it already received (up to 5 s).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pipebuf::PBufRdWr;
use pipebuf_examples::{Flags, stop_on_signals};
use pipebuf_mio::{Chain, Context, Driver, DriverConfig, LocalAddr};

/// The whole protocol: forward what came in (data, push and EOF) back out.
#[derive(Default)]
struct Echo {
    /// Shutting down: echo what has arrived, then close; input after that is dropped.
    closing: bool,
}

impl Chain for Echo {
    type Msg = ();
    type Error = pipebuf::Error;

    fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        _: &mut Context<'_, ()>,
    ) -> Result<bool, pipebuf::Error> {
        if net.wr.is_eof() {
            // Our side is closed: what the peer still sends has nowhere to go.
            let dropped = net.rd.consume_all() > 0;
            return Ok(dropped | net.rd.consume_push() | net.rd.consume_eof().is_some());
        }
        let moved = net.rd.forward(&mut net.wr)?;
        if self.closing && net.rd.is_empty() && !net.wr.is_eof() {
            net.wr.close();
            return Ok(true);
        }
        Ok(moved)
    }

    fn close(&mut self, _: PBufRdWr<'_>) {
        self.closing = true;
    }
}

fn serve(mut driver: Driver<Echo>, stop: Arc<AtomicBool>) -> std::io::Result<()> {
    let mut shutting_down = false;
    loop {
        driver.poll(Some(Duration::from_millis(500)))?;
        while driver.next_event().is_some() {}
        if stop.load(Ordering::SeqCst) && !shutting_down {
            shutting_down = true;
            driver.shutdown(Instant::now() + Duration::from_secs(5));
        }
        if driver.is_shut_down() {
            return Ok(());
        }
    }
}

fn run() -> Result<(), String> {
    let flags = Flags::from_env(&["addr", "threads"])?;
    let addr: SocketAddr = flags.parse_or("addr", SocketAddr::from(([127, 0, 0, 1], 7007)))?;
    let threads: usize = flags.parse_or("threads", 1)?;
    if threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    let reuse_port = threads > 1;
    let mut drivers = Vec::new();
    let mut bound = addr;
    for _ in 0..threads {
        let mut driver = Driver::new(DriverConfig::default(), Box::new(|_| Some(Echo::default())))
            .map_err(|e| format!("event loop: {e}"))?;
        let listener = driver
            .listen_tcp(bound, reuse_port)
            .map_err(|e| format!("cannot listen on {bound}: {e}"))?;
        // Later loops join the port the first one got (port 0 becomes a real port).
        if let Ok(LocalAddr::Tcp(actual)) = driver.local_addr(listener) {
            bound = actual;
        }
        drivers.push(driver);
    }
    let wakers = drivers
        .iter_mut()
        .map(|d| d.waker())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("waker: {e}"))?;
    let stop = stop_on_signals(wakers).map_err(|e| format!("signals: {e}"))?;
    println!("listening on {bound}");

    let handles: Vec<_> = drivers
        .into_iter()
        .map(|driver| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || serve(driver, stop))
        })
        .collect();
    for handle in handles {
        match handle.join() {
            Ok(Ok(())) => (),
            Ok(Err(e)) => return Err(format!("event loop failed: {e}")),
            Err(_) => return Err("event loop thread panicked".into()),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcp_echo: {e}");
            ExitCode::FAILURE
        }
    }
}
