//! Stopping a server from another thread.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mio::Waker;

/// Stops a [`RunningServer`](crate::RunningServer) gracefully: every loop stops accepting,
/// closes its connections' application sides (close handshakes run) and ends once they are
/// done or the grace period passed. Cheap to clone; signals stay the application's business
/// (call [`stop`](StopHandle::stop) from its signal handler thread).
#[derive(Clone, Default)]
pub struct StopHandle {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    stopped: AtomicBool,
    wakers: Mutex<Vec<Arc<Waker>>>,
}

impl StopHandle {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn add_waker(&self, waker: Arc<Waker>) {
        if let Ok(mut wakers) = self.inner.wakers.lock() {
            wakers.push(waker);
        }
    }

    /// Asks every loop to shut down gracefully, and wakes them. Idempotent.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        if let Ok(wakers) = self.inner.wakers.lock() {
            for waker in wakers.iter() {
                // A loop that cannot be woken still sees the flag within its poll timeout.
                let _ = waker.wake();
            }
        }
    }

    /// Whether [`stop`](StopHandle::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopHandle")
            .field("stopped", &self.is_stopped())
            .finish_non_exhaustive()
    }
}
