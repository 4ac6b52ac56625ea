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
        let grace = self.shutdown_grace;
        let loops = drivers
            .into_iter()
            .map(|driver| {
                let (stop, handler) = (stop.clone(), Arc::clone(&handler));
                std::thread::spawn(move || run_loop(driver, &stop, grace, &*handler))
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
    grace: Duration,
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
        while let Some(event) = driver.next_event() {
            handler(&mut driver, event);
        }
        if stop.is_stopped() && !stopping {
            stopping = true;
            driver.shutdown(Instant::now() + grace);
        }
        if driver.is_shut_down() {
            // The last connections' `Left` events.
            while let Some(event) = driver.next_event() {
                handler(&mut driver, event);
            }
            return Ok(());
        }
    }
}
