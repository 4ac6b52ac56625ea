//! The producer's view of a buffer.

use core::fmt;

use crate::buf::Meta;
use crate::state::{Eof, EofKind, PBufState, Tripwire};
use crate::storage::StoreRef;
use crate::Error;

/// The producer's view of a [`PipeBuf`](crate::PipeBuf): ask for space, fill it, commit it,
/// then push, close or abort.
///
/// Space requests never panic and never allocate beyond the buffer's limit: when the buffer
/// is full the producer gets less or nothing, and should report itself blocked on output.
/// After [`close`](PBufWr::close) or [`abort`](PBufWr::abort) all writes fail with
/// [`Error::AfterEof`].
pub struct PBufWr<'a, T = u8> {
    meta: &'a mut Meta,
    store: StoreRef<'a, T>,
}

impl<'a, T: Copy + Default> PBufWr<'a, T> {
    pub(crate) fn new(meta: &'a mut Meta, store: StoreRef<'a, T>) -> Self {
        PBufWr { meta, store }
    }

    /// A shorter-lived view of the same buffer, to pass to a function without giving this
    /// one away.
    #[inline]
    pub fn reborrow(&mut self) -> PBufWr<'_, T> {
        PBufWr {
            meta: self.meta,
            store: self.store.reborrow(),
        }
    }

    /// Makes at least `n` free elements at the end if the limit allows, compacting first and
    /// growing only if compaction is not enough. Returns the free space at the end.
    #[inline]
    fn make_room(&mut self, n: usize) -> usize {
        let cap = self.store.slice().len();
        let free = cap - self.meta.wr;
        if free >= n {
            return free;
        }
        if self.meta.rd > 0 {
            let (rd, wr) = (self.meta.rd, self.meta.wr);
            self.store.slice_mut().copy_within(rd..wr, 0);
            self.meta.base = self.meta.base.wrapping_add(rd);
            self.meta.wr = wr - rd;
            self.meta.rd = 0;
            self.meta.reserved = 0;
            let free = cap - self.meta.wr;
            if free >= n {
                return free;
            }
        }
        self.store.grow(self.meta.wr.saturating_add(n));
        self.store.slice().len() - self.meta.wr
    }

    #[inline]
    fn check_open(&self) -> Result<(), Error> {
        match self.meta.eof {
            Eof::Open => Ok(()),
            _ => Err(Error::AfterEof),
        }
    }

    #[inline]
    fn reserve(&mut self, n: usize) -> &mut [T] {
        self.meta.reserved = n;
        let wr = self.meta.wr;
        &mut self.store.slice_mut()[wr..wr + n]
    }

    /// Exactly `n` elements of free space to fill and then [`commit`](PBufWr::commit).
    ///
    /// Fails with [`Error::NoSpace`] (carrying how much could be had) if the limit does not
    /// allow `n` more elements now, and with [`Error::AfterEof`] after close or abort. The
    /// slice may hold old data; only what is committed becomes visible.
    ///
    /// ```
    /// use pipebuf::PipeBuf;
    ///
    /// let mut pb = PipeBuf::<u8>::new();
    /// let mut wr = pb.wr();
    /// wr.space(3).unwrap().copy_from_slice(b"abc");
    /// wr.commit(3).unwrap();
    /// assert_eq!(pb.data(), b"abc");
    /// ```
    #[inline]
    pub fn space(&mut self, n: usize) -> Result<&mut [T], Error> {
        self.check_open()?;
        let available = self.make_room(n);
        if available < n {
            return Err(Error::NoSpace {
                requested: n,
                available,
            });
        }
        Ok(self.reserve(n))
    }

    /// Up to `n` elements of free space: as much as the limit allows now, possibly none
    /// (an empty slice means the buffer is full). Fails only after close or abort.
    #[inline]
    pub fn space_upto(&mut self, n: usize) -> Result<&mut [T], Error> {
        self.check_open()?;
        let available = self.make_room(n).min(n);
        Ok(self.reserve(available))
    }

    /// All free space at the end of the storage that is already held, compacting or growing
    /// (by one step) only if there is none. Suits "read as much as fits" transfers without
    /// growing a buffer to its limit at once. Empty when the buffer is full.
    pub fn space_all(&mut self) -> Result<&mut [T], Error> {
        self.check_open()?;
        let available = self.make_room(1);
        Ok(self.reserve(available))
    }

    /// Makes the first `n` elements of the last reserved space part of the data.
    ///
    /// Fails with [`Error::CommitBeyondReserved`] if `n` is more than was reserved and not
    /// yet committed (nothing is committed then), and with [`Error::AfterEof`] after close or
    /// abort. Committing 0 is always fine before EOF.
    #[inline]
    pub fn commit(&mut self, n: usize) -> Result<(), Error> {
        self.check_open()?;
        if n > self.meta.reserved {
            return Err(Error::CommitBeyondReserved {
                requested: n,
                reserved: self.meta.reserved,
            });
        }
        self.meta.wr += n;
        self.meta.reserved -= n;
        Ok(())
    }

    /// Appends all of `data`, or nothing: fails with [`Error::NoSpace`] when it does not fit
    /// (the caller keeps its input and retries later) and with [`Error::AfterEof`] after
    /// close or abort.
    #[inline]
    pub fn append(&mut self, data: &[T]) -> Result<(), Error> {
        let n = data.len();
        self.space(n)?.copy_from_slice(data);
        self.commit(n)
    }

    /// Appends as much of `data` as fits and returns how much that was (0 when full). Fails
    /// only after close or abort.
    #[inline]
    pub fn append_some(&mut self, data: &[T]) -> Result<usize, Error> {
        let space = self.space_upto(data.len())?;
        let n = space.len();
        space.copy_from_slice(&data[..n]);
        self.commit(n)?;
        Ok(n)
    }

    /// Asks the consumer to flush: this is a good moment to send what is buffered. Never
    /// lost, not even when an EOF follows. Does nothing after close or abort (an EOF is the
    /// strongest flush there is).
    #[inline]
    pub fn push(&mut self) {
        if self.meta.eof == Eof::Open {
            self.meta.push = true;
        }
    }

    /// Ends the stream cleanly, after the data already written. A second close or abort is a
    /// no-op: the first end of stream stands.
    #[inline]
    pub fn close(&mut self) {
        self.end(EofKind::Close);
    }

    /// Ends the stream as broken. A no-op if the stream already ended: an abort after a
    /// close does not turn the close into an abort.
    #[inline]
    pub fn abort(&mut self) {
        self.end(EofKind::Abort);
    }

    fn end(&mut self, kind: EofKind) {
        if self.meta.eof == Eof::Open {
            self.meta.eof = Eof::Pending(kind);
            self.meta.reserved = 0;
        }
    }

    /// Whether this producer has ended the stream (close or abort).
    #[inline]
    pub fn is_eof(&self) -> bool {
        self.meta.eof != Eof::Open
    }

    /// The stream state.
    pub fn state(&self) -> PBufState {
        self.meta.eof.state()
    }

    /// How many more elements could be written now: the limit minus the data waiting
    /// (0 after EOF). Space beyond what is held is allocated on demand.
    #[inline]
    pub fn room(&self) -> usize {
        if self.meta.eof != Eof::Open {
            return 0;
        }
        self.store.max_len() - self.meta.len()
    }

    /// The buffer's limit: the most data it can ever hold at once.
    pub fn limit(&self) -> usize {
        self.store.max_len()
    }

    /// Elements written and not consumed yet.
    pub fn queued(&self) -> usize {
        self.meta.len()
    }

    /// Whether the buffer is at its limit: nothing more can be written until the consumer
    /// makes progress.
    pub fn is_full(&self) -> bool {
        self.store.max_len() == self.meta.len()
    }

    /// Snapshot for activity detection; see [`Tripwire`].
    #[inline]
    pub fn tripwire(&self) -> Tripwire {
        self.meta.tripwire()
    }
}

impl<T> fmt::Debug for PBufWr<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PBufWr")
            .field("len", &self.meta.len())
            .field("reserved", &self.meta.reserved)
            .field("state", &self.meta.eof.state())
            .finish()
    }
}
