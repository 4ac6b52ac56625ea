//! One connection on a tokio stream: the mio driver's turn for one chain (I/O and chain
//! until settled, failure delivery, deadlines, idle timeout, buffer release), inside one
//! future.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use ::tokio::time::{Instant, Sleep, sleep_until};
use pipebuf::{EofKind, PipeBufPair, SettleError, Time, settle};

use super::TokioStream;
use super::handle::{Handle, Shared};
use super::link::PollLink;
use crate::driver::{DRAIN_TIMEOUT, chain_pass};
use crate::{BoxError, Chain, ConnId, DriverConfig, Event, LeftReason};

/// A [`Chain`] on a tokio stream: the socket side of the mio [`Driver`](crate::Driver) for
/// one connection, as a future. [`run`](Connection::run) returns when the connection has
/// ended, with the same [`LeftReason`] the driver would report.
///
/// Each turn reads and writes until the stream says `Pending`, runs the chain until it
/// settles, and sleeps until the stream, a [`Handle`], or the next deadline (the chain's
/// [`next_deadline`](Chain::next_deadline), the idle timeout, buffer release) wakes it.
/// Reading and writing go on together (full duplex): a peer that does not read does not
/// stop the connection from reading, until the chain stops consuming (backpressure).
///
/// | the chain (or a failure) | the stream |
/// |---|---|
/// | output push | `poll_flush` |
/// | output close | `poll_shutdown` once everything before it is written (TCP FIN) |
/// | output abort | queued output dropped; [`TokioStream::prepare_abort`], then the stream is dropped (TCP RST) |
/// | error | what it wrote for the peer (alert, close frame) is written, input is discarded, the output is closed; [`LeftReason::ChainError`] |
/// | never settles | abort, [`LeftReason::Unsettled`] |
///
/// | the stream | the chain |
/// |---|---|
/// | data | appended to its input, pushed once the stream has no more |
/// | EOF | input closed |
/// | reset, broken pipe | input aborted, output discarded |
/// | other error | [`LeftReason::Io`], stream aborted |
///
/// Settings come from a [`DriverConfig`]: `buffer_min`, `buffer_max` (the pair between
/// stream and chain), `read_chunk`, `idle_timeout`, `max_passes` and `release_after`; the
/// others concern a driver's many connections and are not used.
///
/// The clock is tokio's ([`tokio::time::Instant`](::tokio::time::Instant), converted for
/// the chain with [`Time::from_instant`]), so a paused test clock runs the chain's timers
/// too; the runtime needs its time driver (`enable_time`) for them. The stream is used as
/// given: set `TCP_NODELAY` on it as the mio driver does on the sockets it accepts (the
/// chain's pushes already say when to send).
pub struct Connection<T, C: Chain> {
    stream: T,
    link: PollLink,
    pair: PipeBufPair,
    chain: C,
    events: VecDeque<Event<C::Msg>>,
    shared: Arc<Shared<C::Msg>>,
    max_passes: usize,
    idle_timeout: Option<Duration>,
    release_after: Duration,
    /// Made at the first poll: a `Sleep` needs the runtime, `new` may run outside it.
    timer: Option<Pin<Box<Sleep>>>,
    timer_at: Option<Instant>,
    /// The chain failed: it is called only to deliver what it wrote for the peer, until this
    /// time; the connection then leaves with the stored reason.
    draining: Option<(Instant, LeftReason)>,
    last_active: Option<Instant>,
    /// Buffers may hold memory that `release_after` of quiet should free.
    release_pending: bool,
}

/// Why a turn stopped.
enum TurnError<E> {
    Io(std::io::Error),
    Chain(E),
    Unsettled,
}

/// A fresh id for each connection, as its chain sees it in
/// [`Context::id`](crate::Context::id) (`#0.0`, `#1.0`, ...).
fn next_id() -> ConnId {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    loop {
        // 31 bits keep the token below the driver's reserved ones on every pointer width,
        // so the first try succeeds; the loop only spares an unwrap.
        let index = NEXT.fetch_add(1, Ordering::Relaxed) & 0x7fff_ffff;
        if let Some(id) = ConnId::from_token(mio::Token(index)) {
            return id;
        }
    }
}

impl<T: TokioStream, C: Chain> Connection<T, C> {
    /// `chain` on `stream`, with [`DriverConfig::default`]'s settings.
    pub fn new(stream: T, chain: C) -> Self {
        Self::with_config(stream, chain, &DriverConfig::default())
    }

    /// `chain` on `stream`, with the settings of `config` that concern one connection (see
    /// the type's docs).
    pub fn with_config(stream: T, chain: C, config: &DriverConfig) -> Self {
        Connection {
            stream,
            link: PollLink::new(config.read_chunk),
            pair: PipeBufPair::with_limits(config.buffer_min, config.buffer_max),
            chain,
            events: VecDeque::new(),
            shared: Shared::new(next_id()),
            max_passes: config.max_passes,
            idle_timeout: config.idle_timeout,
            release_after: config.release_after,
            timer: None,
            timer_at: None,
            draining: None,
            last_active: None,
            release_pending: false,
        }
    }

    /// A handle to send into the chain, receive what it emits, close or abort the
    /// connection from other tasks. Take it before [`run`](Connection::run).
    pub fn handle(&self) -> Handle<C::Msg> {
        Shared::handle(&self.shared)
    }

    /// The connection's id, as its chain sees it.
    pub fn id(&self) -> ConnId {
        self.shared.id()
    }

    /// Runs the connection until it ends; returns why, as the mio driver's
    /// [`Event::Left`](crate::Event::Left) would. Dropping the future drops the connection
    /// (the stream closes as dropping it does, handles see the end).
    pub async fn run(mut self) -> LeftReason {
        poll_fn(|cx| self.poll_turns(cx)).await
    }

    fn poll_turns(&mut self, cx: &mut Context<'_>) -> Poll<LeftReason> {
        loop {
            let now = Instant::now();
            let last_active = *self.last_active.get_or_insert(now);
            let commands = self.shared.take_commands(cx.waker());
            if commands.abort {
                return Poll::Ready(self.finish(LeftReason::Aborted, true));
            }
            if self
                .idle_timeout
                .is_some_and(|idle| now.saturating_duration_since(last_active) >= idle)
            {
                return Poll::Ready(self.finish(LeftReason::IdleTimeout, true));
            }
            if let Some((until, _)) = &self.draining
                && now >= *until
                && let Some((_, reason)) = self.draining.take()
            {
                return Poll::Ready(self.finish(reason, true));
            }
            if self.draining.is_none() {
                let Connection {
                    shared,
                    chain,
                    pair,
                    ..
                } = self;
                // A message already handed over goes ahead of a close asked for since.
                shared.offer(|data| chain.send(pair.upper(), data));
                if commands.close {
                    chain.close(pair.upper());
                }
            }
            match self.turn(now, cx) {
                Ok(()) => (),
                Err(TurnError::Io(e)) => return Poll::Ready(self.finish(LeftReason::Io(e), true)),
                Err(TurnError::Chain(e)) => {
                    // What the chain queued before failing (an alert, a close frame) must
                    // still reach the peer: drain instead of dropping, starting now.
                    let reason = LeftReason::ChainError(e);
                    self.draining = Some((now + DRAIN_TIMEOUT, reason));
                    continue;
                }
                Err(TurnError::Unsettled) => {
                    return Poll::Ready(self.finish(LeftReason::Unsettled, true));
                }
            }
            let emitted = self.events.drain(..).filter_map(|event| match event {
                Event::Message { msg, .. } => Some(msg),
                _ => None,
            });
            Shared::deliver(&self.shared, emitted);
            if let Some(reason) = self.ended() {
                return Poll::Ready(reason);
            }
            self.release_if_quiet(now);
            let Some(at) = self.next_wake() else {
                return Poll::Pending;
            };
            let timer = match &mut self.timer {
                Some(timer) if self.timer_at == Some(at) => timer,
                Some(timer) => {
                    timer.as_mut().reset(at);
                    timer
                }
                None => self.timer.insert(Box::pin(sleep_until(at))),
            };
            self.timer_at = Some(at);
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // A deadline is due: another turn, at the new time.
        }
    }

    /// I/O and the chain until the chain is quiet (as the driver's turn: the link runs to
    /// `Pending` first in every pass, so the last pass leaves every waker registered).
    fn turn(&mut self, now: Instant, cx: &mut Context<'_>) -> Result<(), TurnError<BoxError>> {
        let before = (self.pair.up.tripwire(), self.pair.down.tripwire());
        let mut chain_cx = crate::Context {
            id: self.shared.id(),
            now: Time::from_instant(now.into_std()),
            events: &mut self.events,
        };
        let Connection {
            stream,
            link,
            pair,
            chain,
            draining,
            max_passes,
            ..
        } = self;
        let failed = draining.is_some();
        let result = settle(*max_passes, || {
            link.process(stream, cx, pair.lower())
                .map_err(TurnError::Io)?;
            chain_pass(chain, pair, &mut chain_cx, failed).map_err(|e| TurnError::Chain(e.into()))
        });
        if before != (self.pair.up.tripwire(), self.pair.down.tripwire()) {
            self.last_active = Some(now);
            self.release_pending = true;
        }
        match result {
            Ok(_) => Ok(()),
            Err(SettleError::Component(e)) => Err(e),
            Err(SettleError::Unsettled { .. }) => Err(TurnError::Unsettled),
        }
    }

    /// The reason, if nothing more can happen: both directions ended and the close was
    /// sent, our abort, or output that can never be delivered with no input to come.
    fn ended(&mut self) -> Option<LeftReason> {
        let up = self.pair.up.state().eof_kind();
        let dead = self.link.is_write_dead() && up.is_some();
        let done = self.pair.is_done() && !self.link.is_shutting_down();
        if !(self.link.is_aborted() || done || dead) {
            return None;
        }
        let clean =
            up == Some(EofKind::Close) && self.pair.down.state().eof_kind() == Some(EofKind::Close);
        let reason = match self.draining.take() {
            Some((_, reason)) => reason,
            None if clean => LeftReason::Closed,
            None => LeftReason::Aborted,
        };
        // Our own abort already prepared the stream; any other unclean end resets it.
        let reset = !clean && !self.link.is_aborted();
        Some(self.finish(reason, reset))
    }

    fn finish(&mut self, reason: LeftReason, reset: bool) -> LeftReason {
        if reset {
            // Best effort: if this fails the peer sees a clean end instead.
            let _ = self.stream.prepare_abort();
        }
        log_at!(
            debug,
            "tokio connection {} left: {reason}",
            self.shared.id()
        );
        reason
    }

    /// Frees the empty buffers once the connection has been quiet for `release_after`.
    fn release_if_quiet(&mut self, now: Instant) {
        let Some(last_active) = self.last_active else {
            return;
        };
        if self.release_pending && now >= last_active + self.release_after {
            self.pair.release();
            self.chain.release();
            self.release_pending = false;
        }
    }

    /// When a turn is due without I/O: the chain's deadline (or the end of draining), the
    /// idle timeout, buffer release.
    fn next_wake(&self) -> Option<Instant> {
        let last_active = self.last_active?;
        let chain_at = match &self.draining {
            Some((until, _)) => Some(*until),
            None => self
                .chain
                .next_deadline()
                .map(|at| Instant::from_std(at.to_instant())),
        };
        let idle_at = self.idle_timeout.map(|idle| last_active + idle);
        let release_at = self
            .release_pending
            .then(|| last_active + self.release_after);
        [chain_at, idle_at, release_at].into_iter().flatten().min()
    }
}

impl<T, C: Chain> Drop for Connection<T, C> {
    fn drop(&mut self) {
        // Senders and receivers waiting on the handles learn that the connection is over.
        self.shared.end();
    }
}

impl<T, C: Chain> fmt::Debug for Connection<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.shared.id())
            .field("link", &self.link)
            .field("pair", &self.pair)
            .field("draining", &self.draining.as_ref().map(|(_, r)| r))
            .finish_non_exhaustive()
    }
}
