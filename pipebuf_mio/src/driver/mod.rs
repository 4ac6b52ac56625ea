//! The event-loop driver: listeners, connections, classes, timers and shutdown around the
//! links, so an application only writes its [`Chain`].

mod chain;
mod classes;
mod conn_id;
mod event;
mod events;
mod pass;
mod socket;
mod stats;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};
use pipebuf::{EofKind, PipeBufPair, SettleError, Time, settle};

pub use chain::{BoxError, Chain, Context};
pub use classes::{ClassConfig, ClassId, Disposition};
pub use conn_id::ConnId;
pub use event::{Event, LeftReason};
pub use socket::LocalAddr;
pub use stats::DriverStats;

use crate::{Link, LinkError, LinkStream};
use classes::Class;
use conn_id::{FIRST_RESERVED_TOKEN, Slab};
use events::EventQueue;
pub(crate) use pass::{DRAIN_TIMEOUT, chain_pass};
use socket::{Listener, Socket};

/// Identifies a listener of one [`Driver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(usize);

/// Limits and tuning of a [`Driver`].
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Connections at most. Connections beyond are accepted and closed at once, so they do
    /// not wait in the backlog forever.
    pub max_connections: usize,
    /// First allocation of each socket-side buffer (bytes). Buffers are freed when a
    /// connection goes quiet (see [`release_after`](Self::release_after)) and allocated and
    /// zeroed again at its next turn, so this is paid per burst: small (1 KiB by default)
    /// so that small exchanges stay cheap; a large burst doubles it to what it needs.
    pub buffer_min: usize,
    /// Limit of each socket-side buffer (bytes): the most a connection holds per direction
    /// between the socket and its chain.
    pub buffer_max: usize,
    /// The most one read system call asks for (see [`Link::set_read_chunk`]).
    pub read_chunk: usize,
    /// Connections with no activity for this long are aborted.
    pub idle_timeout: Option<Duration>,
    /// Passes of the activity loop after which a connection whose chain never settles is
    /// aborted as buggy.
    pub max_passes: usize,
    /// Readiness events fetched per poll.
    pub events_capacity: usize,
    /// Empty buffers of a connection that had no turn for this long are freed (the
    /// connection's and its chain's, see [`Chain::release`]). Freeing them after every turn
    /// (`Duration::ZERO`) would make a busy connection allocate and zero them again for each
    /// message; waiting a little keeps them while it is busy and still frees them once idle.
    pub release_after: Duration,
    /// At most this many connections keep empty buffers waiting for `release_after`; beyond,
    /// the longest-waiting one is freed at once. This bounds the memory a burst of short
    /// exchanges on many connections can hold (and leave fragmented in the allocator).
    /// Beyond it, busy connections free their buffers after every turn and allocate and
    /// zero them again at the next, which a small [`buffer_min`](Self::buffer_min) keeps
    /// cheap for small messages. A larger bound keeps more memory that the allocator does
    /// not give back, which the idle-memory rows of `scripts/bench-ws.sh` show.
    pub max_lingering: usize,
    /// At most this many bytes of socket-side buffers (both directions, summed over the
    /// connections waiting for `release_after`) are kept; beyond, the longest-waiting
    /// connections are freed at once. Large transfers keep their large buffers while busy
    /// (allocating and zeroing 128 KiB again for every 64 KiB message costs more than the
    /// message's own copies), within this bound.
    pub max_lingering_bytes: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            max_connections: 16_384,
            buffer_min: 1024,
            buffer_max: 256 * 1024,
            read_chunk: crate::DEFAULT_READ_CHUNK,
            idle_timeout: None,
            max_passes: 10_000,
            events_capacity: 1024,
            release_after: Duration::from_millis(100),
            max_lingering: 256,
            max_lingering_bytes: 32 * 1024 * 1024,
        }
    }
}

/// What the chain factory learns about a new connection.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The id the connection will have.
    pub id: ConnId,
    /// The listener that accepted it.
    pub listener: ListenerId,
    /// The peer's address, for TCP.
    pub peer: Option<SocketAddr>,
}

/// Whether [`Driver::send`] queued the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendResult {
    /// Queued in the connection's chain.
    Sent,
    /// The connection's buffers are full (slow reader): nothing was queued.
    Full,
    /// No such connection, or it no longer accepts data.
    Gone,
}

/// Builds the chain of each accepted connection, or refuses it with `None`.
pub type ChainFactory<C> = Box<dyn FnMut(&Accepted) -> Option<C> + Send>;

struct Conn<C> {
    socket: Socket,
    link: Link,
    pair: PipeBufPair,
    chain: C,
    class: ClassId,
    /// Position in the class's member list.
    class_pos: usize,
    /// In the ready or deferred list.
    queued: bool,
    /// The registration includes READABLE.
    read_interest: bool,
    last_active: Instant,
    /// When the connection last had a turn.
    last_turn: Instant,
    /// An entry for it is in the release queue.
    release_queued: bool,
    /// Its socket-side buffer bytes counted in the driver's lingering total.
    lingering_bytes: usize,
    /// The deadline this connection has in the timer heap.
    deadline: Option<Instant>,
    /// The chain failed: it is no longer called; the connection drains (what the chain
    /// queued is written, input is discarded until the peer's end of stream) until this
    /// time, then leaves with the stored reason.
    draining: Option<(Instant, LeftReason)>,
    /// The peer's address, for the records of the `log` feature.
    #[cfg(feature = "log")]
    peer: Option<SocketAddr>,
}

impl<C> Conn<C> {
    /// Puts the connection in `ready` unless it is in a list already.
    fn queue(&mut self, id: ConnId, ready: &mut Vec<ConnId>) {
        if !self.queued {
            self.queued = true;
            ready.push(id);
        }
    }
}

/// A mio event loop serving many connections, each a socket, a [`Link`], a pair of buffers
/// and an application [`Chain`].
///
/// The application owns the loop: call [`poll`](Driver::poll), then drain
/// [`next_event`](Driver::next_event) (or a favoured class's events first with
/// [`next_event_in`](Driver::next_event_in)), act on the events ([`send`](Driver::send),
/// [`move_to`](Driver::move_to), ...), and repeat. Each turn processes only connections that
/// had an event, a due timer, a deferred read or an application action: no work is
/// proportional to the number of idle connections. Idle connections hold no buffer memory
/// (empty buffers are freed once a connection had no turn for
/// [`release_after`](DriverConfig::release_after)).
///
/// ```
/// use std::io::{Read, Write};
/// use std::time::Duration;
/// use pipebuf::PBufRdWr;
/// use pipebuf_mio::{Chain, Context, Driver, DriverConfig};
///
/// /// Echoes every byte, and closes after the peer's close.
/// struct Echo;
/// impl Chain for Echo {
///     type Msg = ();
///     type Error = pipebuf::Error;
///     fn process(&mut self, mut net: PBufRdWr<'_>, _: &mut Context<'_, ()>) -> Result<bool, pipebuf::Error> {
///         net.rd.forward(&mut net.wr)
///     }
/// }
///
/// let mut driver = Driver::new(DriverConfig::default(), Box::new(|_| Some(Echo))).unwrap();
/// let listener = driver.listen_tcp("127.0.0.1:0".parse().unwrap(), false).unwrap();
/// let addr = driver.local_addr(listener).unwrap().to_string();
///
/// let client = std::thread::spawn(move || {
///     let mut s = std::net::TcpStream::connect(addr).unwrap();
///     s.write_all(b"echo me").unwrap();
///     s.shutdown(std::net::Shutdown::Write).unwrap();
///     let mut back = Vec::new();
///     s.read_to_end(&mut back).unwrap();
///     back
/// });
/// let mut left = 0;
/// while left == 0 {
///     driver.poll(Some(Duration::from_secs(5))).unwrap();
///     while let Some(event) = driver.next_event() {
///         if let pipebuf_mio::Event::Left { .. } = event {
///             left += 1;
///         }
///     }
/// }
/// assert_eq!(client.join().unwrap(), b"echo me");
/// ```
pub struct Driver<C: Chain> {
    poll: Poll,
    events: Events,
    listeners: Vec<Option<Listener>>,
    conns: Slab<Conn<C>>,
    classes: Vec<Option<Class>>,
    accept_class: ClassId,
    ready: Vec<ConnId>,
    deferred: Vec<ConnId>,
    /// Connections that wanted to read but got no budget last turn: they go first next turn,
    /// so a class's budget rotates among its members.
    starved: Vec<ConnId>,
    /// This turn's connections, in order; kept between turns for its allocation.
    turn: Vec<ConnId>,
    timers: BinaryHeap<Reverse<(Instant, ConnId)>>,
    /// Connections whose buffers may be freed once idle, by time of their turn (nearly in
    /// order: a re-queued entry may be older than the one before it, which only delays it).
    to_release: VecDeque<(Instant, ConnId)>,
    /// Socket-side buffer bytes held by the connections in `to_release`.
    lingering_bytes: usize,
    /// Pending events, by class (see [`Driver::next_event_in`]).
    out: EventQueue<C::Msg>,
    /// What a chain emits during its turn; moved to `out` under the connection's class after
    /// the turn. Kept between turns for its allocation.
    emitted: VecDeque<Event<C::Msg>>,
    factory: ChainFactory<C>,
    config: DriverConfig,
    shutdown_deadline: Option<Instant>,
    stats: DriverStats,
    waker: Option<Arc<Waker>>,
}

/// The waker's token: the last reserved one (listeners count up from the first).
const WAKER_TOKEN: usize = usize::MAX;

impl<C: Chain> fmt::Debug for Driver<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("connections", &self.conns.len())
            .field("listeners", &self.listeners.iter().flatten().count())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Why one connection's turn ended early.
enum TurnError<E> {
    Link(LinkError),
    Chain(E),
}

impl<C: Chain> Driver<C> {
    /// A driver with no listeners; `factory` builds the chain of each accepted connection,
    /// or refuses it with `None`.
    pub fn new(config: DriverConfig, factory: ChainFactory<C>) -> io::Result<Self> {
        Ok(Driver {
            poll: Poll::new()?,
            events: Events::with_capacity(config.events_capacity.max(1)),
            listeners: Vec::new(),
            conns: Slab::new(),
            classes: vec![Some(Class::new(ClassConfig::default()))],
            accept_class: ClassId::DEFAULT,
            ready: Vec::new(),
            deferred: Vec::new(),
            starved: Vec::new(),
            turn: Vec::new(),
            timers: BinaryHeap::new(),
            to_release: VecDeque::new(),
            lingering_bytes: 0,
            out: EventQueue::new(),
            emitted: VecDeque::new(),
            factory,
            config,
            shutdown_deadline: None,
            stats: DriverStats::default(),
            waker: None,
        })
    }

    fn add_listener(&mut self, mut listener: Listener) -> io::Result<ListenerId> {
        let index = self.listeners.len();
        if index >= 1024 {
            return Err(io::Error::other("too many listeners"));
        }
        listener.register(self.poll.registry(), Token(FIRST_RESERVED_TOKEN + index))?;
        self.listeners.push(Some(listener));
        Ok(ListenerId(index))
    }

    /// Listens on a TCP address (IPv4 or IPv6; port 0 picks a free port) with
    /// `SO_REUSEADDR`, and with `SO_REUSEPORT` if `reuse_port` so that several threads can
    /// each run a driver on the same port.
    pub fn listen_tcp(&mut self, addr: SocketAddr, reuse_port: bool) -> io::Result<ListenerId> {
        self.add_listener(Listener::bind_tcp(addr, reuse_port)?)
    }

    /// Listens on a Unix socket path.
    #[cfg(unix)]
    pub fn listen_unix(&mut self, path: &Path) -> io::Result<ListenerId> {
        self.add_listener(Listener::bind_unix(path)?)
    }

    /// Where a listener listens.
    pub fn local_addr(&self, listener: ListenerId) -> io::Result<LocalAddr> {
        match self.listeners.get(listener.0) {
            Some(Some(l)) => l.local_addr(),
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "no such listener")),
        }
    }

    /// Starts a non-blocking TCP connect with `chain` on top, in `class`. A failed connect
    /// shows as [`Event::Left`] with [`LeftReason::Io`].
    pub fn connect_tcp(
        &mut self,
        addr: SocketAddr,
        chain: C,
        class: ClassId,
    ) -> io::Result<ConnId> {
        let stream = mio::net::TcpStream::connect(addr)?;
        let _ = stream.set_nodelay(true);
        self.add_conn(
            Socket::Tcp(stream),
            Link::connecting(),
            chain,
            class,
            (None, Some(addr)),
        )
    }

    /// Connects to a Unix socket path with `chain` on top, in `class`.
    #[cfg(unix)]
    pub fn connect_unix(&mut self, path: &Path, chain: C, class: ClassId) -> io::Result<ConnId> {
        let stream = mio::net::UnixStream::connect(path)?;
        self.add_conn(
            Socket::Unix(stream),
            Link::connecting(),
            chain,
            class,
            (None, None),
        )
    }

    fn add_conn(
        &mut self,
        mut socket: Socket,
        mut link: Link,
        chain: C,
        class: ClassId,
        (listener, peer): (Option<ListenerId>, Option<SocketAddr>),
    ) -> io::Result<ConnId> {
        let class = if self.class(class).is_some() {
            class
        } else {
            ClassId::DEFAULT
        };
        let id = self
            .conns
            .next_id()
            .ok_or_else(|| io::Error::other("connection ids exhausted"))?;
        socket.register(
            self.poll.registry(),
            id.token(),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        link.set_read_chunk(self.config.read_chunk);
        let class_pos = self.link_member(class, id);
        let conn = Conn {
            socket,
            link,
            pair: PipeBufPair::with_limits(self.config.buffer_min, self.config.buffer_max),
            chain,
            class,
            class_pos,
            queued: true,
            read_interest: true,
            last_active: Instant::now(),
            last_turn: Instant::now(),
            release_queued: false,
            lingering_bytes: 0,
            deadline: None,
            draining: None,
            #[cfg(feature = "log")]
            peer,
        };
        log_at!(debug, "{id} joined: {}", Peer(peer));
        self.conns.insert(conn);
        self.ready.push(id);
        self.out.push(
            class,
            Event::Joined {
                id,
                listener,
                class,
            },
        );
        Ok(id)
    }

    fn class(&self, class: ClassId) -> Option<&Class> {
        self.classes.get(class.0 as usize).and_then(Option::as_ref)
    }

    fn class_mut(&mut self, class: ClassId) -> Option<&mut Class> {
        self.classes
            .get_mut(class.0 as usize)
            .and_then(Option::as_mut)
    }

    /// Takes a connection out of its class's member list, keeping positions right.
    fn unlink_member(&mut self, class: ClassId, pos: usize) {
        let Some(members) = self.class_mut(class).map(|c| &mut c.members) else {
            return;
        };
        if pos < members.len() {
            members.swap_remove(pos);
            if let Some(&moved) = members.get(pos)
                && let Some(m) = self.conns.get_mut(moved)
            {
                m.class_pos = pos;
            }
        }
    }

    /// Appends a connection to a class's member list; returns its position.
    fn link_member(&mut self, class: ClassId, id: ConnId) -> usize {
        match self.class_mut(class) {
            Some(c) => {
                c.members.push(id);
                c.members.len() - 1
            }
            None => usize::MAX,
        }
    }

    /// A handle that wakes [`poll`](Driver::poll) from another thread (a signal handler
    /// thread, an actor's mailbox). The same waker is returned every time.
    pub fn waker(&mut self) -> io::Result<Arc<Waker>> {
        if let Some(w) = &self.waker {
            return Ok(Arc::clone(w));
        }
        let w = Arc::new(Waker::new(self.poll.registry(), Token(WAKER_TOKEN))?);
        self.waker = Some(Arc::clone(&w));
        Ok(w)
    }

    /// Number of live connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Counters since the driver started.
    pub fn stats(&self) -> DriverStats {
        self.stats
    }

    /// Counters of what happened to connections while they were in `class` (see
    /// [`DriverStats`]); `None` if there is no such class.
    pub fn class_stats(&self, class: ClassId) -> Option<DriverStats> {
        self.class(class).map(|c| c.stats)
    }

    /// The next event for the application, if any: the oldest of all classes.
    pub fn next_event(&mut self) -> Option<Event<C::Msg>> {
        self.out.pop()
    }

    /// The oldest pending event recorded under `class`, leaving the other classes' events
    /// queued in order; so an application can favour one class, handling its events first.
    /// Each event is handed out once, by this or by [`next_event`](Driver::next_event).
    ///
    /// An event is recorded under the class its connection was in when it happened:
    /// [`Event::Joined`] and [`Event::Left`] under their `class`, [`Event::Message`] under
    /// the class the connection was in when its chain emitted it, and [`Event::Moved`] under
    /// its destination `to`, so a class's events tell of every connection that arrives in
    /// it (joining or moving in) before its messages. What a connection did before a move
    /// stays under its old class: taking one class's events first can hand out a `Moved`
    /// before that connection's `Joined`. A removed class's events stay queued under its id
    /// (ids are never reused) until taken.
    ///
    /// Costs O(classes with pending events), not O(events).
    pub fn next_event_in(&mut self, class: ClassId) -> Option<Event<C::Msg>> {
        self.out.pop_in(class)
    }

    /// The events of higher-priority classes first, of classes of equal priority in
    /// arrival order, of removed classes last.
    pub(crate) fn next_event_by_priority(&mut self) -> Option<Event<C::Msg>> {
        let classes = &self.classes;
        self.out.pop_ranked(|class| {
            classes
                .get(usize::from(class.0))
                .and_then(Option::as_ref)
                .map(|c| c.config.priority)
        })
    }

    /// Events waiting for [`next_event`](Driver::next_event), of all classes.
    pub fn pending_events(&self) -> usize {
        self.out.len()
    }

    /// Events waiting for [`next_event_in`](Driver::next_event_in) of `class`.
    pub fn pending_events_in(&self, class: ClassId) -> usize {
        self.out.len_in(class)
    }

    /// Waits for readiness (at most `timeout`, or less when a timer is due or work is
    /// pending), then runs every connection that needs it until its chain settles.
    pub fn poll(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let mut timeout = timeout;
        let now = Instant::now();
        if !self.ready.is_empty() || !self.deferred.is_empty() || !self.starved.is_empty() {
            timeout = Some(Duration::ZERO);
        }
        let next_timer = self.timers.peek().map(|Reverse((at, _))| *at);
        let shutdown_pending = self.shutdown_deadline.filter(|_| self.conns.len() > 0);
        let next_release = self
            .to_release
            .front()
            .map(|(at, _)| *at + self.config.release_after);
        for at in next_timer
            .into_iter()
            .chain(shutdown_pending)
            .chain(next_release)
        {
            let wait = at.saturating_duration_since(now);
            timeout = Some(timeout.map_or(wait, |t| t.min(wait)));
        }
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => (),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => self.events.clear(),
            Err(e) => return Err(e),
        }
        let now = Instant::now();

        let mut accept_from = Vec::new();
        for event in self.events.iter() {
            match ConnId::from_token(event.token()) {
                Some(id) => {
                    if let Some(conn) = self.conns.get_mut(id) {
                        conn.link.on_event(event);
                        conn.queue(id, &mut self.ready);
                    }
                }
                None if event.token().0 == WAKER_TOKEN => (),
                None => accept_from.push(event.token().0 - FIRST_RESERVED_TOKEN),
            }
        }
        for index in accept_from {
            self.accept_all(index);
        }
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if let Some(conn) = self.conns.get_mut(id)
                && conn.deadline == Some(at)
            {
                conn.deadline = None;
                conn.queue(id, &mut self.ready);
            }
        }
        self.release_idle(now);
        let mut turn = std::mem::take(&mut self.turn);
        turn.append(&mut self.starved);
        turn.append(&mut self.ready);
        turn.append(&mut self.deferred);

        let mut priorities = self.classes.iter().flatten().map(|c| c.config.priority);
        let first = priorities.next();
        let one_priority = priorities.all(|p| Some(p) == first);
        for class in self.classes.iter_mut().flatten() {
            class.budget_left = class.config.read_budget;
        }
        if !one_priority {
            // Higher-priority classes first; the sort is stable, so arrival order stays
            // within a class.
            turn.sort_by_key(|id| {
                let class = self.conns.get(*id).map(|c| c.class);
                Reverse(
                    class
                        .and_then(|c| self.class(c))
                        .map_or(0, |c| c.config.priority),
                )
            });
        }
        for &id in &turn {
            self.run_conn(id, now);
        }
        turn.clear();
        self.turn = turn;

        if let Some(deadline) = self.shutdown_deadline
            && now >= deadline
        {
            for id in self.conns.ids() {
                self.remove(id, LeftReason::ShutdownDeadline, true);
            }
        }
        Ok(())
    }

    fn accept_all(&mut self, index: usize) {
        loop {
            let Some(Some(listener)) = self.listeners.get_mut(index) else {
                return;
            };
            let socket = match listener.accept() {
                Ok(socket) => socket,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                // Out of file descriptors and the like: try again at the next event.
                Err(e) => {
                    log_at!(warn, "accept failed: {e}");
                    return;
                }
            };
            if self.conns.len() >= self.config.max_connections {
                log_at!(
                    warn,
                    "connection refused: max_connections ({}) reached",
                    self.config.max_connections
                );
                self.stats.refused += 1;
                drop(socket);
                continue;
            }
            let Some(id) = self.conns.next_id() else {
                self.stats.refused += 1;
                continue;
            };
            let peer = match &socket {
                Socket::Tcp(s) => s.peer_addr().ok(),
                #[cfg(unix)]
                Socket::Unix(_) => None,
            };
            let accepted = Accepted {
                id,
                listener: ListenerId(index),
                peer,
            };
            let Some(chain) = (self.factory)(&accepted) else {
                self.stats.refused += 1;
                continue;
            };
            let class = self.accept_class;
            let from = (Some(ListenerId(index)), peer);
            match self.add_conn(socket, Link::new(), chain, class, from) {
                Ok(_) => {
                    self.stats.accepted += 1;
                    if let Some(class) = self.class_mut(class) {
                        class.stats.accepted += 1;
                    }
                }
                Err(_) => self.stats.refused += 1,
            }
        }
    }

    fn run_conn(&mut self, id: ConnId, now: Instant) {
        // The connection and its class are borrowed side by side: one lookup each per turn.
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        conn.queued = false;
        let mut class = self
            .classes
            .get_mut(conn.class.0 as usize)
            .and_then(Option::as_mut);
        let paused = class.as_ref().is_none_or(|c| c.paused);
        if paused && conn.link.wants_read() {
            // The peer is sending and the application chose not to read: not idleness.
            // (A connection stuck on backpressure makes no progress and does time out.)
            conn.last_active = now;
        }
        if let Some(idle) = self.config.idle_timeout
            && now.saturating_duration_since(conn.last_active) >= idle
        {
            self.remove(id, LeftReason::IdleTimeout, true);
            return;
        }
        if let Some((until, _)) = conn.draining
            && now >= until
        {
            if let Some((_, reason)) = conn.draining.take() {
                self.remove(id, reason, true);
            }
            return;
        }
        let allowance = class.as_deref().map_or(0, Class::read_allowance);
        conn.link.set_read_budget(allowance);
        let bytes_before = (conn.link.bytes_read(), conn.link.bytes_written());
        let before = conn.pair.up.tripwire();
        let before_down = conn.pair.down.tripwire();
        let mut cx = Context {
            id,
            now: Time::from_instant(now),
            events: &mut self.emitted,
        };
        let Conn {
            socket,
            link,
            pair,
            chain,
            draining,
            ..
        } = &mut *conn;
        let failed = draining.is_some();
        // A pass is the link, then the chain; the turn ends with the first pass whose chain
        // is quiet. The link already ran to its fixpoint (`Link::process` promises that a
        // second call with unchanged buffers and no new event does nothing), and a quiet
        // chain changed none of its buffers, so the pass that would confirm it is skipped:
        // a small echo takes two passes instead of three.
        let result = settle(self.config.max_passes, || {
            link.process(socket, pair.lower())
                .map_err(TurnError::Link)?;
            chain_pass(chain, pair, &mut cx, failed).map_err(TurnError::Chain)
        });
        let read = allowance - conn.link.read_budget_left();
        // The chain's messages, recorded under the class it ran in.
        let traffic = (
            conn.link.bytes_read() - bytes_before.0,
            conn.link.bytes_written() - bytes_before.1,
            self.emitted.len() as u64,
        );
        for event in self.emitted.drain(..) {
            self.out.push(conn.class, event);
        }
        self.stats.count_traffic(traffic.0, traffic.1, traffic.2);
        if let Some(class) = &mut class {
            class.stats.count_traffic(traffic.0, traffic.1, traffic.2);
        }
        if before != conn.pair.up.tripwire() || before_down != conn.pair.down.tripwire() {
            conn.last_active = now;
        }
        if let Some(class) = &mut class {
            class.budget_left = class.budget_left.saturating_sub(read);
        }
        match result {
            Ok(_) => (),
            Err(SettleError::Component(TurnError::Link(LinkError::Connect(e))))
            | Err(SettleError::Component(TurnError::Link(LinkError::Io(e)))) => {
                self.remove(id, LeftReason::Io(e), true);
                return;
            }
            Err(SettleError::Component(TurnError::Chain(e))) => {
                // What the chain queued before failing (an alert, a close frame, echoed
                // data) must still reach the peer: drain instead of dropping.
                conn.draining = Some((now + DRAIN_TIMEOUT, LeftReason::ChainError(e.into())));
                conn.queue(id, &mut self.ready);
                return;
            }
            Err(SettleError::Unsettled { .. }) => {
                self.remove(id, LeftReason::Unsettled, true);
                return;
            }
        }
        self.after_turn(id, now, paused, allowance, read);
    }

    /// Removal, interest, scheduling and timers once a connection has settled (`paused`:
    /// whether its class is paused, as the turn found it).
    fn after_turn(
        &mut self,
        id: ConnId,
        now: Instant,
        paused: bool,
        allowance: usize,
        read: usize,
    ) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        // Output that can never be delivered and no input to come: nothing more can happen.
        let dead = conn.link.is_write_dead() && conn.pair.up.state().eof_kind().is_some();
        if conn.link.is_aborted() || conn.pair.is_done() || dead {
            let clean = conn.pair.up.state().eof_kind() == Some(EofKind::Close)
                && conn.pair.down.state().eof_kind() == Some(EofKind::Close);
            let reason = match conn.draining.take() {
                Some((_, reason)) => reason,
                None if clean => LeftReason::Closed,
                None => LeftReason::Aborted,
            };
            let reset = !clean && !conn.link.is_aborted();
            self.remove(id, reason, reset);
            return;
        }
        // Reading stopped on the budget with data maybe left in the socket: next turn, and
        // first in line if it got nothing this time.
        if conn.link.wants_read()
            && conn.link.read_budget_left() == 0
            && !paused
            && !conn.pair.up.is_full()
            && !conn.queued
        {
            conn.queued = true;
            if read == 0 || allowance == 0 {
                self.starved.push(id);
            } else {
                self.deferred.push(id);
            }
        }
        // While the link knows the socket is readable, events add nothing: drop them.
        let want_read_interest = !conn.link.wants_read();
        if want_read_interest != conn.read_interest {
            let interest = if want_read_interest {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::WRITABLE
            };
            if conn
                .socket
                .reregister(self.poll.registry(), id.token(), interest)
                .is_ok()
            {
                conn.read_interest = want_read_interest;
            }
        }
        let idle_at = self.config.idle_timeout.map(|d| conn.last_active + d);
        let chain_at = match &conn.draining {
            Some((until, _)) => Some(*until),
            None => conn.chain.next_deadline().map(Time::to_instant),
        };
        let deadline = match (chain_at, idle_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // Only an earlier deadline needs a new timer entry: one that fires before the
        // current deadline just runs the connection, which registers the later one then. So
        // the heap holds few entries per connection however often activity moves the idle
        // deadline.
        if let Some(at) = deadline.map(|at| at.max(now))
            && conn.deadline.is_none_or(|current| at < current)
        {
            conn.deadline = Some(at);
            self.timers.push(Reverse((at, id)));
        }
        conn.last_turn = now;
        if self.config.release_after.is_zero() {
            conn.pair.release();
            conn.chain.release();
            return;
        }
        let held = conn.pair.up.capacity() + conn.pair.down.capacity();
        debug_assert!(self.lingering_bytes >= conn.lingering_bytes);
        self.lingering_bytes = self.lingering_bytes.saturating_sub(conn.lingering_bytes) + held;
        conn.lingering_bytes = held;
        if !conn.release_queued {
            conn.release_queued = true;
            self.to_release.push_back((now, id));
        }
        while self.to_release.len() > self.config.max_lingering
            || self.lingering_bytes > self.config.max_lingering_bytes
        {
            let Some((_, oldest)) = self.to_release.pop_front() else {
                break;
            };
            self.release_now(oldest);
        }
    }

    fn release_now(&mut self, id: ConnId) {
        if let Some(conn) = self.conns.get_mut(id) {
            conn.release_queued = false;
            self.lingering_bytes = self.lingering_bytes.saturating_sub(conn.lingering_bytes);
            conn.lingering_bytes = 0;
            conn.pair.release();
            conn.chain.release();
        }
    }

    /// Frees the empty buffers of connections that had no turn for `release_after`.
    fn release_idle(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.to_release.front() {
            if at + self.config.release_after > now {
                break;
            }
            self.to_release.pop_front();
            let Some(conn) = self.conns.get_mut(id) else {
                continue;
            };
            if conn.last_turn > at {
                // It had turns since: look again once it has been idle long enough.
                self.to_release.push_back((conn.last_turn, id));
            } else {
                self.release_now(id);
            }
        }
    }

    fn remove(&mut self, id: ConnId, reason: LeftReason, reset: bool) {
        let Some(mut conn) = self.conns.remove(id) else {
            return;
        };
        self.lingering_bytes = self.lingering_bytes.saturating_sub(conn.lingering_bytes);
        if reset {
            let _ = conn.socket.prepare_abort();
        }
        let _ = conn.socket.deregister(self.poll.registry());
        self.unlink_member(conn.class, conn.class_pos);
        log_left(id, &conn, &reason);
        self.stats.count_left(&reason);
        if let Some(class) = self.class_mut(conn.class) {
            class.stats.count_left(&reason);
        }
        self.out.push(
            conn.class,
            Event::Left {
                id,
                class: conn.class,
                reason,
            },
        );
    }

    fn queue(&mut self, id: ConnId) {
        if let Some(conn) = self.conns.get_mut(id) {
            conn.queue(id, &mut self.ready);
        }
    }

    /// Gives a connection a turn in the next [`poll`](Driver::poll) (which then does not
    /// wait), without I/O: its chain's [`process`](Chain::process) runs even though the
    /// socket had no event. For state the chain reads that the application changed outside
    /// the driver (a shared flag, a queue, a send window), where [`send`](Driver::send) has
    /// no bytes to pass. Returns false if there is no such connection.
    pub fn wake(&mut self, id: ConnId) -> bool {
        match self.conns.get_mut(id) {
            Some(conn) => {
                conn.queue(id, &mut self.ready);
                true
            }
            None => false,
        }
    }

    /// Queues `data` on one connection through its chain's [`Chain::send`].
    pub fn send(&mut self, id: ConnId, data: &[u8]) -> SendResult {
        let Some(conn) = self.conns.get_mut(id) else {
            return SendResult::Gone;
        };
        let result = conn.chain.send(conn.pair.upper(), data);
        if result == SendResult::Sent {
            self.queue(id);
        }
        result
    }

    /// Queues the same bytes on each connection of `ids`; each gets its own result, in order.
    pub fn send_to(&mut self, ids: &[ConnId], data: &[u8]) -> Vec<(ConnId, SendResult)> {
        ids.iter().map(|&id| (id, self.send(id, data))).collect()
    }

    /// Closes the application side of a connection cleanly (see [`Chain::close`]); it leaves
    /// once both directions are done.
    pub fn close(&mut self, id: ConnId) {
        if let Some(conn) = self.conns.get_mut(id) {
            conn.chain.close(conn.pair.upper());
            self.queue(id);
        }
    }

    /// Drops a connection at once; the peer sees a reset.
    pub fn abort(&mut self, id: ConnId) {
        self.remove(id, LeftReason::Aborted, true);
    }

    /// The class of a connection.
    pub fn class_of(&self, id: ConnId) -> Option<ClassId> {
        self.conns.get(id).map(|c| c.class)
    }

    /// The members of a class, in no particular order.
    pub fn members(&self, class: ClassId) -> &[ConnId] {
        self.class(class).map_or(&[], |c| &c.members)
    }

    /// Adds a class.
    pub fn add_class(&mut self, config: ClassConfig) -> Option<ClassId> {
        let index = u16::try_from(self.classes.len()).ok()?;
        self.classes.push(Some(Class::new(config)));
        Some(ClassId(index))
    }

    /// Changes a class's priority and budget.
    pub fn configure_class(&mut self, class: ClassId, config: ClassConfig) -> bool {
        match self.class_mut(class) {
            Some(c) => {
                c.config = config;
                true
            }
            None => false,
        }
    }

    /// Where accepted connections start (initially [`ClassId::DEFAULT`]).
    pub fn set_accept_class(&mut self, class: ClassId) -> bool {
        if self.class(class).is_some() {
            self.accept_class = class;
            true
        } else {
            false
        }
    }

    /// Moves a connection to another class at once. Nothing in its buffers is lost.
    pub fn move_to(&mut self, id: ConnId, to: ClassId) -> bool {
        if self.class(to).is_none() {
            return false;
        }
        let Some(conn) = self.conns.get(id) else {
            return false;
        };
        let from = conn.class;
        if from == to {
            return true;
        }
        let pos = conn.class_pos;
        self.unlink_member(from, pos);
        let new_pos = self.link_member(to, id);
        if let Some(conn) = self.conns.get_mut(id) {
            conn.class = to;
            conn.class_pos = new_pos;
        }
        self.queue(id);
        self.out.push(to, Event::Moved { id, from, to });
        true
    }

    /// Stops reading from the sockets of a class's members (they are backpressured; the
    /// others are not affected). Writing continues.
    pub fn pause_class(&mut self, class: ClassId) -> bool {
        match self.class_mut(class) {
            Some(c) => {
                c.paused = true;
                true
            }
            None => false,
        }
    }

    /// Resumes reading for a paused class.
    pub fn resume_class(&mut self, class: ClassId) -> bool {
        let members = match self.class_mut(class) {
            Some(c) => {
                c.paused = false;
                c.members.clone()
            }
            None => return false,
        };
        for id in members {
            self.queue(id);
        }
        true
    }

    /// Removes a class; its members move or close as `disposition` says. The default class
    /// cannot be removed, nor can members move into the class being removed. Its pending
    /// events, and the [`Event::Left`] of each member it closes, stay queued under its id
    /// (for [`next_event`](Driver::next_event) and [`next_event_in`](Driver::next_event_in));
    /// a moved member's [`Event::Moved`] is recorded under the class it moves to.
    pub fn remove_class(&mut self, class: ClassId, disposition: Disposition) -> bool {
        if class == ClassId::DEFAULT || self.class(class).is_none() {
            return false;
        }
        if let Disposition::MoveTo(to) = disposition
            && (to == class || self.class(to).is_none())
        {
            return false;
        }
        let members = self
            .class(class)
            .map(|c| c.members.clone())
            .unwrap_or_default();
        for id in members {
            match disposition {
                Disposition::MoveTo(to) => {
                    self.move_to(id, to);
                }
                Disposition::Close => self.remove(id, LeftReason::ClassRemoved, true),
            }
        }
        self.classes[class.0 as usize] = None;
        self.out.retire(class);
        if self.accept_class == class {
            self.accept_class = ClassId::DEFAULT;
        }
        true
    }

    /// Graceful shutdown: stops accepting, closes every chain's application side so that
    /// close handshakes can finish, and drops whatever is left at `deadline`. Keep calling
    /// [`poll`](Driver::poll) until [`is_shut_down`](Driver::is_shut_down).
    pub fn shutdown(&mut self, deadline: Instant) {
        for listener in self.listeners.iter_mut() {
            if let Some(mut l) = listener.take() {
                let _ = l.deregister(self.poll.registry());
            }
        }
        self.shutdown_deadline = Some(deadline);
        log_at!(
            info,
            "shutting down: {} connections to finish",
            self.conns.len()
        );
        for id in self.conns.ids() {
            self.close(id);
        }
    }

    /// Whether a shutdown has finished: no connections left.
    pub fn is_shut_down(&self) -> bool {
        self.shutdown_deadline.is_some() && self.conns.len() == 0
    }
}

/// Records a connection's end: at `debug` for what peers cause every day (a failed
/// handshake too, since any peer can cause one), louder for what points at a bug.
fn log_left<C>(id: ConnId, conn: &Conn<C>, reason: &LeftReason) {
    #[cfg(feature = "log")]
    let peer = Peer(conn.peer);
    #[cfg(not(feature = "log"))]
    let peer = {
        let _ = conn;
        Peer(None)
    };
    match reason {
        LeftReason::Unsettled => log_at!(error, "{id} from {peer} left: {reason}"),
        LeftReason::ShutdownDeadline => log_at!(info, "{id} from {peer} left: {reason}"),
        _ => log_at!(debug, "{id} from {peer} left: {reason}"),
    }
}

/// A peer address in a record: `unknown` for Unix sockets and failed lookups.
struct Peer(Option<SocketAddr>);

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(addr) => addr.fmt(f),
            None => f.write_str("unknown"),
        }
    }
}
