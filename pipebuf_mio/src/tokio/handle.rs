//! The application's side of a tokio-driven connection, usable from any task: what the
//! mio [`Driver`](crate::Driver)'s `send`, `close`, `abort`, `wake` and message events are
//! for a connection there.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use crate::{ConnId, SendResult};

/// A handle on one [`Connection`](super::Connection): sends into its chain, closes or aborts
/// it, and receives what its chain emits. Clone it freely; every clone reaches the same
/// connection, and every method works from any task or thread.
///
/// - [`send`](Handle::send) hands bytes to the chain's [`Chain::send`](crate::Chain::send)
///   (for an [`Endpoint`](crate::Endpoint), its application's): it waits while the chain's
///   buffers are full, so a slow peer slows the sender down instead of growing a queue.
/// - [`recv`](Handle::recv) returns the messages the chain reports through
///   [`Context::emit`](crate::Context::emit), in order, then `None` once the connection has
///   ended and all were received. While no handle exists, emitted messages are dropped;
///   while one exists, they wait for it (unbounded, as the driver's event queue): a chain
///   that emits should have a reader.
/// - [`close`](Handle::close), [`abort`](Handle::abort) and [`wake`](Handle::wake) act at
///   the connection's next turn, which they trigger.
pub struct Handle<M> {
    shared: Arc<Shared<M>>,
}

impl<M> Clone for Handle<M> {
    fn clone(&self) -> Self {
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<M> fmt::Debug for Handle<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Handle")
            .field("id", &self.shared.id)
            .field("ended", &state.ended)
            .field("waiting_messages", &state.inbox.len())
            .finish_non_exhaustive()
    }
}

impl<M> Handle<M> {
    /// The connection's id, as its chain sees it in [`Context::id`](crate::Context::id).
    pub fn id(&self) -> ConnId {
        self.shared.id
    }

    /// Hands `data` to the chain's [`Chain::send`](crate::Chain::send) at the connection's
    /// next turn and waits for its answer: [`SendResult::Sent`] once the chain took all of
    /// it, [`SendResult::Gone`] when the chain's output has ended or the connection is over.
    /// Never [`SendResult::Full`]: while the chain's buffers are full it waits (one message
    /// waits at a time; other senders wait for their turn, in no fixed order).
    ///
    /// A message the chain can never take whole waits forever: the default `Chain::send`
    /// appends it at once to the buffer below, which holds at most its limit (for a chain
    /// right on the stream, [`DriverConfig::buffer_max`](crate::DriverConfig::buffer_max)),
    /// so split larger data or give the chain a `send` that takes it in pieces. Dropping the
    /// returned future before it is ready may still send `data`, once it was handed over.
    pub async fn send(&self, data: impl Into<Vec<u8>>) -> SendResult {
        let mut data = Some(data.into());
        let mut number = None;
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if let Some(n) = number {
                if state.answered >= n {
                    return Poll::Ready(match state.gone_from {
                        Some(gone) if n >= gone => SendResult::Gone,
                        _ => SendResult::Sent,
                    });
                }
            } else if state.ended {
                return Poll::Ready(SendResult::Gone);
            } else if state.outbox.is_none() {
                state.numbered += 1;
                number = Some(state.numbered);
                state.outbox = data.take();
                state.wake_driver();
            }
            register(&mut state.senders, cx.waker());
            Poll::Pending
        })
        .await
    }

    /// The next message the chain emitted; `None` once the connection has ended and every
    /// message was received. With several handles receiving, each message goes to one.
    pub async fn recv(&self) -> Option<M> {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if let Some(msg) = state.inbox.pop_front() {
                return Poll::Ready(Some(msg));
            }
            if state.ended {
                return Poll::Ready(None);
            }
            register(&mut state.receivers, cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Ends the application's side cleanly through the chain's
    /// [`Chain::close`](crate::Chain::close) (an [`Echo`](crate::Echo) finishes echoing, a
    /// WebSocket application sends its close frame); the connection ends once both
    /// directions are done. Messages handed to [`send`](Handle::send) before stay ahead of
    /// it only if their send has returned.
    pub fn close(&self) {
        let mut state = self.shared.lock();
        state.close = true;
        state.wake_driver();
    }

    /// Drops the connection at its next turn with an abort: the peer sees a broken stream
    /// (an RST over TCP, see [`TokioStream`](super::TokioStream)); what was not written yet
    /// is lost. The connection ends with [`LeftReason::Aborted`](crate::LeftReason).
    pub fn abort(&self) {
        let mut state = self.shared.lock();
        state.abort = true;
        state.wake_driver();
    }

    /// Gives the connection a turn without I/O, for state its chain reads that the
    /// application changed outside it (a shared flag, a queue), as
    /// [`Driver::wake`](crate::Driver::wake) does.
    pub fn wake(&self) {
        self.shared.lock().wake_driver();
    }

    /// Whether the connection has ended ([`Connection::run`](super::Connection::run)
    /// returned or was dropped). Messages may still wait for [`recv`](Handle::recv).
    pub fn is_finished(&self) -> bool {
        self.shared.lock().ended
    }
}

/// What the connection and its handles share.
pub(super) struct Shared<M> {
    id: ConnId,
    state: Mutex<State<M>>,
}

struct State<M> {
    /// Wakes the connection's task; replaced at each of its polls.
    driver: Option<Waker>,
    close: bool,
    abort: bool,
    /// The one message waiting for `Chain::send`, number `numbered`.
    outbox: Option<Vec<u8>>,
    /// Messages numbered so far, from 1.
    numbered: u64,
    /// Messages the chain answered, in order: every number up to this one is settled.
    answered: u64,
    /// The first message answered `Gone`; it and every later one are gone (an ended output
    /// never takes data again).
    gone_from: Option<u64>,
    senders: Vec<Waker>,
    inbox: VecDeque<M>,
    receivers: Vec<Waker>,
    ended: bool,
}

impl<M> State<M> {
    fn wake_driver(&self) {
        if let Some(waker) = &self.driver {
            waker.wake_by_ref();
        }
    }
}

/// Keeps `waker` in `list` unless an equivalent one is there: a future polled again keeps
/// one entry.
fn register(list: &mut Vec<Waker>, waker: &Waker) {
    if !list.iter().any(|w| w.will_wake(waker)) {
        list.push(waker.clone());
    }
}

fn wake_all(list: &mut Vec<Waker>) {
    for waker in list.drain(..) {
        waker.wake();
    }
}

/// The connection's part of what the handles asked for since its last turn.
#[derive(Debug, Default)]
pub(super) struct Commands {
    pub(super) close: bool,
    pub(super) abort: bool,
}

impl<M> Shared<M> {
    pub(super) fn new(id: ConnId) -> Arc<Self> {
        Arc::new(Shared {
            id,
            state: Mutex::new(State {
                driver: None,
                close: false,
                abort: false,
                outbox: None,
                numbered: 0,
                answered: 0,
                gone_from: None,
                senders: Vec::new(),
                inbox: VecDeque::new(),
                receivers: Vec::new(),
                ended: false,
            }),
        })
    }

    pub(super) fn id(&self) -> ConnId {
        self.id
    }

    fn lock(&self) -> MutexGuard<'_, State<M>> {
        // A panic elsewhere while holding the lock left consistent state (every update is a
        // few assignments), so the connection goes on rather than panicking in turn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the close and abort requests, and remembers how to wake the connection.
    pub(super) fn take_commands(&self, waker: &Waker) -> Commands {
        let mut state = self.lock();
        if !state.driver.as_ref().is_some_and(|w| w.will_wake(waker)) {
            state.driver = Some(waker.clone());
        }
        Commands {
            close: std::mem::take(&mut state.close),
            abort: std::mem::take(&mut state.abort),
        }
    }

    /// Offers the waiting message to `send` (the chain's `Chain::send`); returns whether the
    /// chain took it. A message the chain has no room for waits for a later turn.
    pub(super) fn offer(&self, send: impl FnOnce(&[u8]) -> SendResult) -> bool {
        let mut state = self.lock();
        let Some(data) = &state.outbox else {
            return false;
        };
        let result = send(data);
        match result {
            SendResult::Full => return false,
            SendResult::Sent => (),
            SendResult::Gone => {
                let number = state.answered + 1;
                state.gone_from.get_or_insert(number);
            }
        }
        state.outbox = None;
        state.answered += 1;
        wake_all(&mut state.senders);
        result == SendResult::Sent
    }

    /// Queues what the chain emitted for [`Handle::recv`]; drops it while no handle exists.
    pub(super) fn deliver(this: &Arc<Self>, msgs: impl Iterator<Item = M>) {
        let mut state = this.lock();
        // The connection holds one reference; any other is a handle that may receive.
        if Arc::strong_count(this) == 1 {
            msgs.for_each(drop);
            return;
        }
        let before = state.inbox.len();
        state.inbox.extend(msgs);
        if state.inbox.len() > before {
            wake_all(&mut state.receivers);
        }
    }

    /// The connection is over: a waiting message is gone, and every waiter learns it.
    pub(super) fn end(&self) {
        let mut state = self.lock();
        state.ended = true;
        state.driver = None;
        if state.outbox.take().is_some() {
            let number = state.answered + 1;
            state.gone_from.get_or_insert(number);
            state.answered = state.numbered;
        }
        wake_all(&mut state.senders);
        wake_all(&mut state.receivers);
    }

    /// A handle on this connection.
    pub(super) fn handle(this: &Arc<Self>) -> Handle<M> {
        Handle {
            shared: Arc::clone(this),
        }
    }
}
