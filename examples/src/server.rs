//! Running a server example: N event loops on one port, the listening line, clean exit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pipebuf_mio::{Chain, ChainFactory, Driver, DriverConfig, LocalAddr};

use crate::stop_on_signals;

/// How long a shutdown may take to finish close handshakes before connections are dropped.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Binds `threads` event loops to `addr` (SO_REUSEPORT when more than one; port 0 becomes
/// one real port shared by all), prints `listening on HOST:PORT`, serves until SIGINT or
/// SIGTERM, then shuts down gracefully. `factory` makes each loop's chain factory.
pub fn run<C>(
    addr: SocketAddr,
    threads: usize,
    config: DriverConfig,
    factory: impl Fn() -> ChainFactory<C>,
) -> Result<(), String>
where
    C: Chain + Send + 'static,
    C::Msg: Send,
{
    if threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    let mut drivers = Vec::new();
    let mut bound = addr;
    for _ in 0..threads {
        let mut driver =
            Driver::new(config.clone(), factory()).map_err(|e| format!("event loop: {e}"))?;
        let listener = driver
            .listen_tcp(bound, threads > 1)
            .map_err(|e| format!("cannot listen on {bound}: {e}"))?;
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
    let stop = stop_on_signals(move || {
        for waker in &wakers {
            let _ = waker.wake();
        }
    })
    .map_err(|e| format!("signals: {e}"))?;
    println!("listening on {bound}");

    let handles: Vec<_> = drivers
        .into_iter()
        .map(|driver| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || serve(driver, &stop))
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

fn serve<C: Chain>(mut driver: Driver<C>, stop: &AtomicBool) -> std::io::Result<()> {
    let mut shutting_down = false;
    loop {
        driver.poll(Some(Duration::from_millis(500)))?;
        while driver.next_event().is_some() {}
        if stop.load(Ordering::SeqCst) && !shutting_down {
            shutting_down = true;
            driver.shutdown(Instant::now() + SHUTDOWN_GRACE);
        }
        if driver.is_shut_down() {
            return Ok(());
        }
    }
}
