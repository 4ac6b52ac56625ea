//! Two buffers between two components: one carrying data up, one carrying it down.

use core::fmt;

#[cfg(feature = "alloc")]
use crate::storage::Growable;
use crate::storage::Storage;
use crate::{PBufRd, PBufWr, PipeBuf};

/// A consumer view and a producer view together: what one side of a component sees of a
/// [`PipeBufPair`] (it reads what comes towards it and writes what goes away from it).
#[derive(Debug)]
pub struct PBufRdWr<'a, T = u8> {
    /// The incoming data.
    pub rd: PBufRd<'a, T>,
    /// The outgoing data.
    pub wr: PBufWr<'a, T>,
}

impl<T: Copy> PBufRdWr<'_, T> {
    /// Shorter-lived views of the same buffers, to pass on without giving these away.
    pub fn reborrow(&mut self) -> PBufRdWr<'_, T> {
        PBufRdWr {
            rd: self.rd.reborrow(),
            wr: self.wr.reborrow(),
        }
    }

    /// Whether both directions are finished: the incoming EOF was consumed and the outgoing
    /// side was closed or aborted.
    pub fn is_done(&self) -> bool {
        self.rd.is_done() && self.wr.is_eof()
    }
}

#[cfg(feature = "alloc")]
macro_rules! decl_pair {
    ($(#[$m:meta])*) => {
        $(#[$m])*
        pub struct PipeBufPair<T = u8, S = Growable<T>> {
            /// Data flowing up: written by the lower component, read by the upper one.
            pub up: PipeBuf<T, S>,
            /// Data flowing down: written by the upper component, read by the lower one.
            pub down: PipeBuf<T, S>,
        }
    };
}

#[cfg(not(feature = "alloc"))]
macro_rules! decl_pair {
    ($(#[$m:meta])*) => {
        $(#[$m])*
        pub struct PipeBufPair<T, S> {
            /// Data flowing up: written by the lower component, read by the upper one.
            pub up: PipeBuf<T, S>,
            /// Data flowing down: written by the upper component, read by the lower one.
            pub down: PipeBuf<T, S>,
        }
    };
}

decl_pair! {
    /// The two buffers between a lower component (towards the socket) and an upper one
    /// (towards the application): `up` carries data upwards, `down` carries it downwards.
    ///
    /// ```
    /// use pipebuf::PipeBufPair;
    ///
    /// let mut pair = PipeBufPair::<u8>::new();
    /// pair.lower().wr.append(b"from below").unwrap();
    /// let mut upper = pair.upper();
    /// assert_eq!(upper.rd.data(), b"from below");
    /// upper.wr.append(b"from above").unwrap();
    /// assert_eq!(pair.lower().rd.data(), b"from above");
    /// ```
}

#[cfg(feature = "alloc")]
impl<T: Copy + Default> PipeBufPair<T, Growable<T>> {
    /// Two growable buffers with the default limits of [`PipeBuf::new`].
    pub fn new() -> Self {
        Self::with_storage(
            Growable::new(
                PipeBuf::<T>::DEFAULT_MIN_CAPACITY,
                PipeBuf::<T>::DEFAULT_MAX_CAPACITY,
            ),
            Growable::new(
                PipeBuf::<T>::DEFAULT_MIN_CAPACITY,
                PipeBuf::<T>::DEFAULT_MAX_CAPACITY,
            ),
        )
    }

    /// Two growable buffers, each with the limits of [`PipeBuf::with_limits`].
    pub fn with_limits(min: usize, max: usize) -> Self {
        Self::with_storage(Growable::new(min, max), Growable::new(min, max))
    }
}

#[cfg(feature = "alloc")]
impl<T: Copy + Default> Default for PipeBufPair<T, Growable<T>> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy, S: Storage<T>> PipeBufPair<T, S> {
    /// A pair over the given storage for each direction.
    pub const fn with_storage(up: S, down: S) -> Self {
        PipeBufPair {
            up: PipeBuf::with_storage(up),
            down: PipeBuf::with_storage(down),
        }
    }

    /// What the upper component sees: it reads `up` and writes `down`.
    #[inline]
    pub fn upper(&mut self) -> PBufRdWr<'_, T> {
        PBufRdWr {
            rd: self.up.rd(),
            wr: self.down.wr(),
        }
    }

    /// What the lower component sees: it reads `down` and writes `up`.
    #[inline]
    pub fn lower(&mut self) -> PBufRdWr<'_, T> {
        PBufRdWr {
            rd: self.down.rd(),
            wr: self.up.wr(),
        }
    }

    /// Frees both buffers' growable storage where they are empty; returns whether any memory
    /// was freed. See [`PipeBuf::release`].
    pub fn release(&mut self) -> bool {
        let up = self.up.release();
        let down = self.down.release();
        up || down
    }

    /// Whether both directions have finished: each buffer's EOF was consumed.
    pub fn is_done(&self) -> bool {
        self.up.state().is_done() && self.down.state().is_done()
    }
}

impl<T, S> fmt::Debug for PipeBufPair<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeBufPair")
            .field("up", &self.up)
            .field("down", &self.down)
            .finish()
    }
}
