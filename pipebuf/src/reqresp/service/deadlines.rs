//! The answers a handler has promised, and when each must be given.

use alloc::collections::{BTreeMap, VecDeque};
use core::time::Duration;

use crate::Time;

/// Requests answered with [`Reply::Later`](super::Reply::Later) and not yet answered, with
/// their deadlines. Ids may be reused once answered (multiplexed tags), so each promise has
/// a serial number and a stale deadline never times out a newer request with the same id.
#[derive(Debug)]
pub(super) struct Promises {
    timeout: Option<Duration>,
    /// Open promises: id → serial.
    open: BTreeMap<u64, u64>,
    /// Deadlines in promise order (a single timeout keeps them sorted): (at, id, serial).
    due: VecDeque<(Time, u64, u64)>,
    serial: u64,
}

impl Promises {
    pub(super) fn new(timeout: Option<Duration>) -> Self {
        Promises {
            timeout,
            open: BTreeMap::new(),
            due: VecDeque::new(),
            serial: 0,
        }
    }

    pub(super) fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// Records that request `id`, received at `now`, will be answered later.
    pub(super) fn promise(&mut self, id: u64, now: Time) {
        self.serial += 1;
        self.open.insert(id, self.serial);
        if let Some(at) = self.timeout.and_then(|t| now.checked_add(t)) {
            self.due.push_back((at, id, self.serial));
        }
    }

    /// Takes the promise for `id`; `false` if there is none (never made, or timed out).
    pub(super) fn keep(&mut self, id: u64) -> bool {
        let kept = self.open.remove(&id).is_some();
        self.prune();
        kept
    }

    /// One open promise whose deadline is at or before `now`, taken.
    pub(super) fn expired(&mut self, now: Time) -> Option<u64> {
        self.prune();
        let &(at, id, _) = self.due.front()?;
        if at > now {
            return None;
        }
        self.due.pop_front();
        self.open.remove(&id);
        self.prune();
        Some(id)
    }

    /// The earliest deadline of an open promise.
    pub(super) fn next_deadline(&self) -> Option<Time> {
        self.due.front().map(|&(at, ..)| at)
    }

    pub(super) fn len(&self) -> usize {
        self.open.len()
    }

    pub(super) fn clear(&mut self) {
        self.open.clear();
        self.due.clear();
    }

    /// Drops deadlines at the front whose promise is kept (or replaced by a newer one).
    fn prune(&mut self) {
        while let Some(&(_, id, serial)) = self.due.front() {
            if self.open.get(&id) == Some(&serial) {
                break;
            }
            self.due.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_promise_never_times_out() {
        let mut p = Promises::new(Some(Duration::from_secs(1)));
        p.promise(3, Time::ZERO);
        assert!(p.keep(3));
        assert_eq!(p.expired(Time::from_millis(5000)), None);
        assert_eq!(p.next_deadline(), None);
    }

    #[test]
    fn promises_time_out_in_order_and_only_once() {
        let mut p = Promises::new(Some(Duration::from_secs(1)));
        p.promise(1, Time::ZERO);
        p.promise(2, Time::from_millis(500));
        assert_eq!(p.next_deadline(), Some(Time::from_millis(1000)));
        assert_eq!(p.expired(Time::from_millis(999)), None);
        assert_eq!(p.expired(Time::from_millis(1500)), Some(1));
        assert_eq!(p.expired(Time::from_millis(1500)), Some(2));
        assert_eq!(p.expired(Time::from_millis(9000)), None);
        assert!(!p.keep(1), "a timed-out promise cannot be kept");
    }

    #[test]
    fn a_reused_id_is_not_timed_out_by_the_old_deadline() {
        let mut p = Promises::new(Some(Duration::from_secs(1)));
        p.promise(7, Time::ZERO);
        assert!(p.keep(7));
        p.promise(7, Time::from_millis(900));
        assert_eq!(p.expired(Time::from_millis(1000)), None);
        assert_eq!(p.expired(Time::from_millis(1900)), Some(7));
    }

    #[test]
    fn without_a_timeout_promises_wait_for_ever() {
        let mut p = Promises::new(None);
        p.promise(1, Time::ZERO);
        assert_eq!(p.next_deadline(), None);
        assert_eq!(p.expired(Time::from_millis(u64::MAX)), None);
        assert_eq!(p.len(), 1);
    }
}
