//! The buffer itself: storage plus the positions and stream state shared by both ends.

use core::fmt;
use core::marker::PhantomData;

use crate::state::{Eof, PBufState, Tripwire};
#[cfg(feature = "alloc")]
use crate::storage::Growable;
use crate::storage::Storage;
use crate::{PBufRd, PBufWr};

/// Positions and stream state: everything about a buffer except its storage.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    /// Start of the data waiting for the consumer; `[0, rd)` is consumed, awaiting discard.
    pub(crate) rd: usize,
    /// End of the data; `[wr, len)` is free space for the producer.
    pub(crate) wr: usize,
    /// Elements discarded by compaction or reset so far (wrapping), so that the tripwire
    /// counts totals rather than positions.
    pub(crate) base: usize,
    /// Space handed out by the last `space*` call and not yet committed.
    pub(crate) reserved: usize,
    pub(crate) push: bool,
    pub(crate) eof: Eof,
}

impl Meta {
    pub(crate) const fn new() -> Self {
        Meta {
            rd: 0,
            wr: 0,
            base: 0,
            reserved: 0,
            push: false,
            eof: Eof::Open,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.wr - self.rd
    }

    #[inline]
    pub(crate) fn tripwire(&self) -> Tripwire {
        Tripwire {
            consumed: self.base.wrapping_add(self.rd),
            produced: self.base.wrapping_add(self.wr),
            push: self.push,
            state: self.eof.state(),
        }
    }

    /// An empty buffer goes back to the start for free, unless the producer holds a
    /// reservation there.
    #[inline]
    pub(crate) fn reset_if_empty(&mut self) {
        if self.rd == self.wr && self.rd != 0 && self.reserved == 0 {
            self.base = self.base.wrapping_add(self.rd);
            self.rd = 0;
            self.wr = 0;
        }
    }
}

#[cfg(feature = "alloc")]
macro_rules! decl_pipebuf {
    ($(#[$m:meta])*) => {
        $(#[$m])*
        pub struct PipeBuf<T = u8, S = Growable<T>> {
            pub(crate) meta: Meta,
            pub(crate) store: S,
            _elem: PhantomData<T>,
        }
    };
}

#[cfg(not(feature = "alloc"))]
macro_rules! decl_pipebuf {
    ($(#[$m:meta])*) => {
        $(#[$m])*
        pub struct PipeBuf<T, S> {
            pub(crate) meta: Meta,
            pub(crate) store: S,
            _elem: PhantomData<T>,
        }
    };
}

decl_pipebuf! {
    /// A stream buffer shared by one producer and one consumer.
    ///
    /// The storage holds three segments: consumed data awaiting discard, data waiting for the
    /// consumer, and free space for the producer. Data is only moved down (compaction) when the
    /// producer asks for more room than is left at the end, and an empty buffer goes back to
    /// the start for free. Besides data the buffer carries the stream state: a *push* flag
    /// (flush hint) and the EOF (*close* or *abort*), which the consumer must consume
    /// explicitly.
    ///
    /// The producer works through [`wr()`](PipeBuf::wr) ([`PBufWr`]), the consumer through
    /// [`rd()`](PipeBuf::rd) ([`PBufRd`]). `S` is the storage: [`Growable`] (the default,
    /// with the `alloc` feature), an array `[T; N]` or a slice `&mut [T]`.
    ///
    /// ```
    /// use pipebuf::{EofKind, PipeBuf};
    ///
    /// let mut pb = PipeBuf::<u8>::with_limits(16, 1024);
    /// let mut wr = pb.wr();
    /// wr.append(b"hello").unwrap();
    /// wr.push();
    /// wr.close();
    ///
    /// let mut rd = pb.rd();
    /// assert_eq!(rd.data(), b"hello");
    /// rd.consume(5).unwrap();
    /// assert!(rd.consume_push());
    /// assert_eq!(rd.consume_eof(), Some(EofKind::Close));
    /// assert!(rd.is_done());
    /// ```
    ///
    /// Fixed storage, with neither `std` nor `alloc`:
    ///
    /// ```
    /// use pipebuf::PipeBuf;
    ///
    /// let mut pb = PipeBuf::with_storage([0u8; 8]);
    /// assert_eq!(pb.wr().append_some(b"0123456789").unwrap(), 8); // the rest is refused
    /// assert_eq!(pb.rd().data(), b"01234567");
    /// ```
}

#[cfg(feature = "alloc")]
impl<T: Copy + Default> PipeBuf<T, Growable<T>> {
    /// The minimum capacity used by [`new`](PipeBuf::new): the first allocation's size.
    ///
    /// Small, because a buffer that is freed when idle is allocated and zeroed again at its
    /// next use: a connection exchanging small messages pays for the whole first allocation
    /// every time, while one carrying large messages pays only a few doublings, once per
    /// burst.
    pub const DEFAULT_MIN_CAPACITY: usize = 1024;
    /// The maximum capacity used by [`new`](PipeBuf::new): the DoS cap.
    pub const DEFAULT_MAX_CAPACITY: usize = 256 * 1024;

    /// A growable buffer with the default limits ([`DEFAULT_MIN_CAPACITY`] elements at the
    /// first write, at most [`DEFAULT_MAX_CAPACITY`]). Allocates nothing until first written.
    ///
    /// [`DEFAULT_MIN_CAPACITY`]: PipeBuf::DEFAULT_MIN_CAPACITY
    /// [`DEFAULT_MAX_CAPACITY`]: PipeBuf::DEFAULT_MAX_CAPACITY
    pub fn new() -> Self {
        Self::with_limits(Self::DEFAULT_MIN_CAPACITY, Self::DEFAULT_MAX_CAPACITY)
    }

    /// A growable buffer that allocates `min` elements at the first write and grows by
    /// doubling up to `max` elements. A `min` above `max` is lowered to `max`.
    ///
    /// ```
    /// use pipebuf::{Error, PipeBuf};
    ///
    /// let mut pb = PipeBuf::<u8>::with_limits(4, 8);
    /// assert_eq!(pb.capacity(), 0); // nothing allocated yet
    /// pb.wr().append(b"12345678").unwrap();
    /// assert_eq!(pb.wr().append(b"9"), Err(Error::NoSpace { requested: 1, available: 0 }));
    /// ```
    pub fn with_limits(min: usize, max: usize) -> Self {
        Self::with_storage(Growable::new(min, max))
    }
}

#[cfg(feature = "alloc")]
impl<T: Copy + Default> Default for PipeBuf<T, Growable<T>> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy, S: Storage<T>> PipeBuf<T, S> {
    /// A buffer over the given storage: an array `[T; N]` or slice `&mut [T]` (fixed, never
    /// allocates) or a [`Growable`].
    pub const fn with_storage(store: S) -> Self {
        PipeBuf {
            meta: Meta::new(),
            store,
            _elem: PhantomData,
        }
    }

    /// The consumer's view.
    #[inline]
    pub fn rd(&mut self) -> PBufRd<'_, T> {
        PBufRd::new(&mut self.meta, self.store.store_ref())
    }

    /// The producer's view.
    #[inline]
    pub fn wr(&mut self) -> PBufWr<'_, T> {
        PBufWr::new(&mut self.meta, self.store.store_ref())
    }

    /// The data waiting for the consumer.
    pub fn data(&self) -> &[T] {
        &self.store.as_slice()[self.meta.rd..self.meta.wr]
    }

    /// Number of elements waiting for the consumer.
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// Whether no data is waiting (the stream state may still have news).
    pub fn is_empty(&self) -> bool {
        self.meta.rd == self.meta.wr
    }

    /// Elements of storage currently held (allocated, for growable storage).
    pub fn capacity(&self) -> usize {
        self.store.as_slice().len()
    }

    /// The buffer's limit: the most data it can hold at once.
    pub fn limit(&self) -> usize {
        self.store.max_len()
    }

    /// Whether the buffer holds as much data as its limit allows.
    pub fn is_full(&self) -> bool {
        self.len() == self.store.max_len()
    }

    /// The stream state as the consumer sees it.
    pub fn state(&self) -> PBufState {
        self.meta.eof.state()
    }

    /// Whether a push is waiting for the consumer.
    pub fn has_pending_push(&self) -> bool {
        self.meta.push
    }

    /// Snapshot for activity detection; see [`Tripwire`].
    pub fn tripwire(&self) -> Tripwire {
        self.meta.tripwire()
    }

    /// Frees growable storage while the buffer holds no data, so an idle buffer costs no heap
    /// memory; the next write allocates again. Returns whether memory was freed. Does
    /// nothing (returns `false`) while data is waiting, while the producer holds a
    /// reservation, or for fixed storage.
    ///
    /// ```
    /// use pipebuf::PipeBuf;
    ///
    /// let mut pb = PipeBuf::<u8>::new();
    /// pb.wr().append(b"x").unwrap();
    /// assert!(!pb.release()); // data waiting: kept
    /// pb.rd().consume(1).unwrap();
    /// assert!(pb.release());
    /// assert_eq!(pb.capacity(), 0);
    /// ```
    pub fn release(&mut self) -> bool {
        if !self.is_empty() || self.meta.reserved != 0 {
            return false;
        }
        self.meta.base = self.meta.base.wrapping_add(self.meta.rd);
        self.meta.rd = 0;
        self.meta.wr = 0;
        self.store.release()
    }

    /// Makes the buffer new again for another stream: drops all data, the push and the EOF,
    /// keeps the storage. The tripwire still changes, so a reset counts as activity.
    pub fn reset(&mut self) {
        let produced = self.meta.base.wrapping_add(self.meta.wr);
        self.meta = Meta::new();
        self.meta.base = produced.wrapping_add(1);
    }
}

impl<T, S> fmt::Debug for PipeBuf<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeBuf")
            .field("rd", &self.meta.rd)
            .field("wr", &self.meta.wr)
            .field("reserved", &self.meta.reserved)
            .field("push", &self.meta.push)
            .field("state", &self.meta.eof.state())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    #[test]
    fn idle_growable_buffer_is_small_and_holds_no_heap() {
        // Several of these sit in every idle connection; keep them cheap.
        assert!(core::mem::size_of::<PipeBuf<u8>>() <= 80);
        let pb = PipeBuf::<u8>::new();
        assert_eq!(pb.capacity(), 0);
    }

    #[test]
    fn elements_need_only_be_copy() {
        #[derive(Debug, Clone, Copy, PartialEq)]
        struct Sample(i16);

        let mut grow = PipeBuf::with_storage(Growable::with_fill(2, 8, Sample(0)));
        grow.wr()
            .append(&[Sample(1), Sample(2), Sample(3)])
            .unwrap();
        assert_eq!(grow.data(), &[Sample(1), Sample(2), Sample(3)]);

        let mut fixed = PipeBuf::with_storage([Sample(0); 2]);
        assert_eq!(fixed.wr().append_some(&[Sample(7); 3]), Ok(2));
        assert!(fixed.rd().forward(&mut grow.wr()).unwrap());
        assert_eq!(grow.len(), 5);
    }

    #[test]
    fn debug_shows_positions_and_state_not_contents() {
        let mut pb = PipeBuf::<u8>::new();
        pb.wr().append(b"secret").unwrap();
        let text = std::format!("{pb:?}");
        assert!(text.contains("wr: 6"), "{text}");
        assert!(!text.contains("secret"));
    }
}
