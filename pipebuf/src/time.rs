//! The one clock of a chain: components, stacks and drivers all speak [`Time`].

use core::fmt;
use core::ops::{Add, AddAssign};
use core::time::Duration;

/// A moment on a chain's monotonic clock: the time elapsed since an origin.
///
/// Every component with timers takes its `now` as a `Time` and reports its deadlines as
/// `Time`, so a stack of components and the driver that runs it share one clock, and no
/// component keeps an origin of its own. The owner of the chain chooses the origin: a
/// bare-metal stack counts from boot (`Time::from_duration`), a `std` program uses
/// [`Time::now`], whose origin is one process-wide moment, so that times taken by different
/// drivers and threads compare.
///
// Without `std` there is no `Time::now` to link to: the name points at the feature list.
#[cfg_attr(not(feature = "std"), doc = "[`Time::now`]: crate#features\n")]
/// ```
/// use core::time::Duration;
/// use pipebuf::Time;
///
/// let start = Time::from_millis(1500);
/// let later = start + Duration::from_secs(2);
/// assert!(later > start);
/// assert_eq!(later.saturating_duration_since(start), Duration::from_secs(2));
/// assert_eq!(start.saturating_duration_since(later), Duration::ZERO);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(Duration);

impl Time {
    /// The origin of the clock.
    pub const ZERO: Time = Time(Duration::ZERO);

    /// The moment `since` after the origin.
    pub const fn from_duration(since: Duration) -> Time {
        Time(since)
    }

    /// The moment `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Time {
        Time(Duration::from_millis(ms))
    }

    /// How long after the origin this moment is.
    pub const fn since_origin(self) -> Duration {
        self.0
    }

    /// How long after `earlier` this moment is; zero if it is not after it.
    pub fn saturating_duration_since(self, earlier: Time) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Time> {
        self.0.checked_add(d).map(Time)
    }
}

impl Add<Duration> for Time {
    type Output = Time;

    /// Saturates instead of overflowing: a deadline too far away is simply never reached.
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d))
    }
}

impl AddAssign<Duration> for Time {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Time({:?})", self.0)
    }
}

#[cfg(feature = "std")]
mod wall {
    use super::Time;
    use std::sync::OnceLock;
    use std::time::Instant;

    /// The process-wide origin of [`Time::now`], fixed at its first use.
    fn origin() -> Instant {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        *ORIGIN.get_or_init(Instant::now)
    }

    impl Time {
        /// The current moment, on the process-wide clock (its origin is the first call of
        /// this or of [`Time::from_instant`]).
        pub fn now() -> Time {
            Time::from_instant(Instant::now())
        }

        /// The moment `at` on the process-wide clock. Instants before the clock's origin
        /// (taken before its first use) map to the origin.
        pub fn from_instant(at: Instant) -> Time {
            Time(at.saturating_duration_since(origin()))
        }

        /// This moment as an [`Instant`], for `std` timers and event loops.
        pub fn to_instant(self) -> Instant {
            let origin = origin();
            origin.checked_add(self.0).unwrap_or(origin)
        }
    }

    impl From<Instant> for Time {
        fn from(at: Instant) -> Time {
            Time::from_instant(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_past_the_end_of_time_saturates_instead_of_panicking() {
        let far = Time::from_duration(Duration::MAX);
        assert_eq!(far + Duration::from_secs(1), far);
        assert_eq!(far.checked_add(Duration::from_secs(1)), None);
    }

    #[test]
    fn times_order_and_subtract_like_durations() {
        let a = Time::from_millis(10);
        let mut b = a;
        b += Duration::from_millis(5);
        assert!(a < b);
        assert_eq!(b.since_origin(), Duration::from_millis(15));
        assert_eq!(b.saturating_duration_since(a), Duration::from_millis(5));
    }

    #[cfg(feature = "std")]
    #[test]
    fn instants_round_trip_through_the_process_clock() {
        let first = Time::now();
        let now = std::time::Instant::now();
        let t = Time::from_instant(now);
        assert!(t >= first);
        assert_eq!(Time::from_instant(t.to_instant()), t);
        assert!(Time::now() >= t);
        let later = now + Duration::from_secs(3);
        assert_eq!(
            Time::from(later).saturating_duration_since(t),
            Duration::from_secs(3)
        );
    }
}
