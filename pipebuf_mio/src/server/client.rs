//! A one-connection client loop.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::{Chain, ClassId, ConnId, Driver, DriverConfig, Event, LeftReason};

/// Connects to `addr` with `chain` on top and runs the connection on its own event loop until
/// it leaves; returns why. `setup` runs once the connect has started (to take the driver's
/// [`waker`](Driver::waker) for input from other threads, say). `on_event` sees every event
/// but the connection's `Left` with the driver and the connection's id, to act on it
/// ([`Driver::send`], [`Driver::close`]), and `None` after every poll, for input that
/// arrived another way (a channel and the waker).
///
/// ```no_run
/// use pipebuf_mio::{DriverConfig, Echo, run_client};
///
/// let reason = run_client(
///     "127.0.0.1:7".parse().unwrap(),
///     Echo::default(),
///     DriverConfig::default(),
///     |_driver, _id| Ok(()),
///     |_driver, _id, event| println!("{event:?}"),
/// )
/// .unwrap();
/// println!("left: {reason}");
/// ```
pub fn run_client<C, S, E>(
    addr: SocketAddr,
    chain: C,
    config: DriverConfig,
    setup: S,
    mut on_event: E,
) -> io::Result<LeftReason>
where
    C: Chain,
    S: FnOnce(&mut Driver<C>, ConnId) -> io::Result<()>,
    E: FnMut(&mut Driver<C>, ConnId, Option<Event<C::Msg>>),
{
    let mut driver: Driver<C> = Driver::new(config, Box::new(|_| None))?;
    let id = driver.connect_tcp(addr, chain, ClassId::DEFAULT)?;
    setup(&mut driver, id)?;
    loop {
        driver.poll(Some(Duration::from_secs(1)))?;
        while let Some(event) = driver.next_event() {
            if let Event::Left {
                id: left, reason, ..
            } = event
            {
                if left == id {
                    return Ok(reason);
                }
                continue;
            }
            on_event(&mut driver, id, Some(event));
        }
        on_event(&mut driver, id, None);
    }
}
