//! Servers and clients as library API: N event loops on one port, a stop handle, the bound
//! address and the event stream; a one-connection client loop.

mod client;
mod stop;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{Accepted, Chain, Driver, DriverConfig, Event, LocalAddr};

pub use client::run_client;
pub use stop::StopHandle;

/// How long a graceful shutdown waits for close handshakes by default.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long a loop sleeps in `poll` at most, so it sees a stop without a wake-up too.
const POLL_TIMEOUT: Duration = Duration::from_millis(500);

/// A TCP server: `threads` event loops, each a [`Driver`], accepting on one port
/// (`SO_REUSEPORT` when more than one, so the kernel spreads connections over them).
///
/// ```
/// use pipebuf_mio::{Echo, Server};
///
/// let server = Server::bind("127.0.0.1:0".parse().unwrap())
///     .threads(2)
///     .serve(|_accepted| Some(Echo::default()))
///     .unwrap();
/// // Port 0 was resolved once: both loops listen on this address.
/// let addr = server.local_addr();
/// let mut s = std::net::TcpStream::connect(addr).unwrap();
/// # use std::io::{Read, Write};
/// s.write_all(b"ping").unwrap();
/// s.shutdown(std::net::Shutdown::Write).unwrap();
/// let mut back = Vec::new();
/// s.read_to_end(&mut back).unwrap();
/// assert_eq!(back, b"ping");
/// server.stop_handle().stop();
/// server.wait().unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Server {
    addr: SocketAddr,
    threads: usize,
    config: DriverConfig,
    shutdown_grace: Duration,
    events_by_priority: bool,
}

/// A running [`Server`]: where it listens, how to stop it, and its threads to wait for.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    stop: StopHandle,
    loops: Vec<JoinHandle<io::Result<()>>>,
}

impl Server {
    /// A server for `addr` (port 0 picks a free port, the same for every loop), with one
    /// loop, [`DriverConfig::default`] and [`DEFAULT_SHUTDOWN_GRACE`].
    pub fn bind(addr: SocketAddr) -> Server {
        Server {
            addr,
            threads: 1,
            config: DriverConfig::default(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            events_by_priority: false,
        }
    }

    /// Runs `n` event loops (at least 1), each on its own thread.
    pub fn threads(mut self, n: usize) -> Server {
        self.threads = n.max(1);
        self
    }

    /// The limits and tuning of every loop's driver.
    pub fn config(mut self, config: DriverConfig) -> Server {
        self.config = config;
        self
    }

    /// How long a stop waits for connections to finish (close handshakes) before dropping
    /// the rest.
    pub fn shutdown_grace(mut self, grace: Duration) -> Server {
        self.shutdown_grace = grace;
        self
    }

    /// Whether each loop hands its handler (see [`serve_with`](Server::serve_with)) the
    /// events of higher-priority classes
    /// ([`ClassConfig::priority`](crate::ClassConfig::priority)) first: of all events waiting
    /// after a poll, the handler gets the oldest of the highest-priority class that has any,
    /// classes of equal priority in arrival order, removed classes last. Off by default:
    /// every event in arrival order ([`Driver::next_event`]).
    ///
    /// The handler gets the driver too, but cannot favour a class itself: the event in hand
    /// was already the oldest of all. Events are recorded under the class their connection
    /// was in ([`Driver::next_event_in`] says which), so with this a connection that moved
    /// into a higher-priority class can have its [`Event::Moved`] and later messages handled
    /// before its [`Event::Joined`].
    pub fn events_by_priority(mut self, on: bool) -> Server {
        self.events_by_priority = on;
        self
    }

    /// Starts serving: `factory` builds the chain of each accepted connection (or refuses
    /// it with `None`). Events are dropped; see [`serve_with`](Server::serve_with).
    pub fn serve<C, F>(self, factory: F) -> io::Result<RunningServer>
    where
        C: Chain + Send + 'static,
        C::Msg: Send,
        F: Fn(&Accepted) -> Option<C> + Send + Sync + 'static,
    {
        self.serve_with(factory, |_| Ok(|_: &mut Driver<C>, _: Event<C::Msg>| ()))
    }

    /// Starts serving, with an event handler per loop: `handler` runs on each loop's thread
    /// once its driver exists (to add classes, say) and returns the function that gets the
    /// loop's events ([`Event::Joined`], [`Event::Message`], [`Event::Left`] with its
    /// reason, ...) together with the driver, to answer them ([`Driver::send`],
    /// [`Driver::move_to`], ...).
    ///
    /// Binding happens here, on the caller's thread: an address in use is an error now, not
    /// in a loop later.
    pub fn serve_with<C, F, H, M>(self, factory: F, handler: M) -> io::Result<RunningServer>
    where
        C: Chain + Send + 'static,
        C::Msg: Send,
        F: Fn(&Accepted) -> Option<C> + Send + Sync + 'static,
        M: Fn(&mut Driver<C>) -> io::Result<H> + Send + Sync + 'static,
        H: FnMut(&mut Driver<C>, Event<C::Msg>),
    {
        let factory = Arc::new(factory);
        let handler = Arc::new(handler);
        let mut drivers = Vec::with_capacity(self.threads);
        let mut bound = self.addr;
        for _ in 0..self.threads {
            let factory = Arc::clone(&factory);
            let mut driver: Driver<C> =
                Driver::new(self.config.clone(), Box::new(move |a| factory(a)))?;
            let listener = driver.listen_tcp(bound, self.threads > 1)?;
            if let LocalAddr::Tcp(actual) = driver.local_addr(listener)? {
                bound = actual;
            }
            drivers.push(driver);
        }
        let stop = StopHandle::new();
        for driver in &mut drivers {
            stop.add_waker(driver.waker()?);
        }
        let settings = (self.shutdown_grace, self.events_by_priority);
        let loops = drivers
            .into_iter()
            .map(|driver| {
                let (stop, handler) = (stop.clone(), Arc::clone(&handler));
                std::thread::spawn(move || run_loop(driver, &stop, settings, &*handler))
            })
            .collect();
        Ok(RunningServer {
            local_addr: bound,
            stop,
            loops,
        })
    }
}

impl RunningServer {
    /// The address every loop listens on (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the server gracefully from anywhere (a signal thread, a test).
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Waits until every loop has finished (after a stop: once its connections are done or
    /// the grace period passed). The first loop error is returned.
    pub fn wait(self) -> io::Result<()> {
        let mut result = Ok(());
        for handle in self.loops {
            let outcome = handle
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("event loop thread panicked")));
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    }
}

fn run_loop<C, H, M>(
    mut driver: Driver<C>,
    stop: &StopHandle,
    (grace, by_priority): (Duration, bool),
    make_handler: &M,
) -> io::Result<()>
where
    C: Chain,
    M: Fn(&mut Driver<C>) -> io::Result<H>,
    H: FnMut(&mut Driver<C>, Event<C::Msg>),
{
    let mut handler = make_handler(&mut driver)?;
    let mut stopping = false;
    loop {
        driver.poll(Some(POLL_TIMEOUT))?;
        hand_out(&mut driver, by_priority, &mut handler);
        if stop.is_stopped() && !stopping {
            stopping = true;
            driver.shutdown(Instant::now() + grace);
        }
        if driver.is_shut_down() {
            // The last connections' `Left` events.
            hand_out(&mut driver, by_priority, &mut handler);
            return Ok(());
        }
    }
}

/// Gives `handler` every pending event (and those it causes), in arrival order or, with
/// `by_priority`, higher-priority classes first (see [`Server::events_by_priority`]).
fn hand_out<C, H>(driver: &mut Driver<C>, by_priority: bool, handler: &mut H)
where
    C: Chain,
    H: FnMut(&mut Driver<C>, Event<C::Msg>),
{
    loop {
        let event = if by_priority {
            driver.next_event_by_priority()
        } else {
            driver.next_event()
        };
        let Some(event) = event else {
            return;
        };
        handler(driver, event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClassConfig, ClassId, ConnId, Echo};

    /// A driver with a class of priority 5 besides the default one, and connections
    /// joining in the order default, high, default, high (their `Joined` events pending).
    fn driver_with_joins() -> (Driver<Echo>, ClassId, Vec<ConnId>, std::net::TcpListener) {
        let mut driver = Driver::new(DriverConfig::default(), Box::new(|_| None)).unwrap();
        let high = driver
            .add_class(ClassConfig {
                priority: 5,
                ..ClassConfig::default()
            })
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let ids = [ClassId::DEFAULT, high, ClassId::DEFAULT, high]
            .into_iter()
            .map(|class| driver.connect_tcp(addr, Echo::default(), class).unwrap())
            .collect();
        (driver, high, ids, listener)
    }

    fn joined(event: &Event<()>) -> ConnId {
        match event {
            Event::Joined { id, .. } => *id,
            other => panic!("not a join: {other:?}"),
        }
    }

    #[test]
    fn a_loop_hands_out_events_in_arrival_order_by_default() {
        let (mut driver, _, ids, _listener) = driver_with_joins();
        let mut order = Vec::new();
        hand_out(
            &mut driver,
            false,
            &mut |_: &mut Driver<Echo>, e: Event<()>| order.push(joined(&e)),
        );
        assert_eq!(order, ids);
    }

    #[test]
    fn a_loop_with_events_by_priority_hands_out_the_higher_class_first() {
        let (mut driver, _, ids, _listener) = driver_with_joins();
        let mut order = Vec::new();
        hand_out(
            &mut driver,
            true,
            &mut |_: &mut Driver<Echo>, e: Event<()>| order.push(joined(&e)),
        );
        assert_eq!(order, [ids[1], ids[3], ids[0], ids[2]]);
    }

    #[test]
    fn events_the_handler_causes_are_handed_out_in_the_same_round() {
        let (mut driver, high, ids, _listener) = driver_with_joins();
        let mut seen = Vec::new();
        hand_out(
            &mut driver,
            true,
            &mut |driver: &mut Driver<Echo>, e: Event<()>| {
                if let Event::Joined { id, class, .. } = e
                    && class == ClassId::DEFAULT
                {
                    // Promoting a connection records its `Moved` under the higher class:
                    // handed out next, before the default class's other events.
                    driver.move_to(id, high);
                }
                seen.push(e);
            },
        );
        let moved: Vec<_> = seen
            .iter()
            .filter_map(|e| match e {
                Event::Moved { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(moved, [ids[0], ids[2]]);
        assert_eq!(seen.len(), 6);
        assert!(matches!(seen[3], Event::Moved { id, .. } if id == ids[0]));
        assert_eq!(driver.pending_events(), 0);
    }
}
