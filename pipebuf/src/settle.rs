//! Running a chain's activity loop until it settles.

use core::fmt;

/// Why [`settle`] stopped without the chain settling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleError<E> {
    /// A component failed; the pass was cut short there.
    Component(E),
    /// Every one of the allowed passes reported activity: the chain never settles, which is a
    /// bug in a component (for example one that reports activity without making progress).
    Unsettled {
        /// Passes run.
        passes: usize,
    },
}

impl<E: fmt::Display> fmt::Display for SettleError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettleError::Component(e) => write!(f, "component failed: {e}"),
            SettleError::Unsettled { passes } => {
                write!(f, "chain still active after {passes} passes")
            }
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for SettleError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            SettleError::Component(e) => Some(e),
            SettleError::Unsettled { .. } => None,
        }
    }
}

/// Runs `pass` (one call of every component's `process()`, returning whether any reported
/// activity) until a whole pass reports none, and returns how many passes ran, the quiet one
/// included.
///
/// A chain settles in a number of passes bounded by its length and by how much data fits in
/// its buffers; `max_passes` turns a chain that never settles into
/// [`SettleError::Unsettled`] instead of a spinning event loop. Then wait for the next event
/// (readiness, timer, message) and settle again.
///
/// ```
/// use pipebuf::{settle, PipeBuf};
///
/// let (mut a, mut b, mut c) = (PipeBuf::<u8>::new(), PipeBuf::<u8>::new(), PipeBuf::<u8>::new());
/// a.wr().append(b"hop").unwrap();
/// a.wr().close();
/// let passes = settle(16, || -> Result<bool, pipebuf::Error> {
///     // Two forwarding components: a -> b -> c.
///     let hop1 = a.rd().forward(&mut b.wr())?;
///     let hop2 = b.rd().forward(&mut c.wr())?;
///     Ok(hop1 | hop2)
/// })
/// .unwrap();
/// assert_eq!(passes, 2);
/// assert_eq!(c.data(), b"hop");
/// ```
pub fn settle<E>(
    max_passes: usize,
    mut pass: impl FnMut() -> Result<bool, E>,
) -> Result<usize, SettleError<E>> {
    for passes in 1..=max_passes {
        if !pass().map_err(SettleError::Component)? {
            return Ok(passes);
        }
    }
    Err(SettleError::Unsettled { passes: max_passes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_that_never_settles_is_an_error_not_a_spin() {
        let mut calls = 0;
        let result = settle(10, || -> Result<bool, ()> {
            calls += 1;
            Ok(true)
        });
        assert_eq!(result, Err(SettleError::Unsettled { passes: 10 }));
        assert_eq!(calls, 10);
    }

    #[test]
    fn quiet_first_pass_settles_at_once() {
        assert_eq!(settle(10, || -> Result<bool, ()> { Ok(false) }), Ok(1));
    }

    #[test]
    fn component_error_stops_the_loop() {
        let mut calls = 0;
        let result = settle(10, || {
            calls += 1;
            if calls == 3 { Err("boom") } else { Ok(true) }
        });
        assert_eq!(result, Err(SettleError::Component("boom")));
        assert_eq!(calls, 3);
    }

    #[test]
    fn zero_passes_allowed_is_unsettled() {
        assert_eq!(
            settle(0, || -> Result<bool, ()> { Ok(false) }),
            Err(SettleError::Unsettled { passes: 0 })
        );
    }
}
