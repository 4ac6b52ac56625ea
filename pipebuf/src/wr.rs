//! The producer's view of a buffer.

use core::fmt;

use crate::Error;
use crate::buf::Meta;
use crate::state::{Eof, EofKind, PBufState, Tripwire};
use crate::storage::StoreRef;

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

impl<'a, T: Copy> PBufWr<'a, T> {
    pub(crate) fn new(meta: &'a mut Meta, store: StoreRef<'a, T>) -> Self {
        PBufWr { meta, store }
    }

    /// The positions and the storage, for handing storage over (see `PBufRd::forward`).
    #[cfg(feature = "alloc")]
    pub(crate) fn parts(&mut self) -> (&mut Meta, StoreRef<'_, T>) {
        (self.meta, self.store.reborrow())
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
            self.compact();
            let free = cap - self.meta.wr;
            if free >= n {
                return free;
            }
        }
        self.store.grow(self.meta.wr.saturating_add(n));
        self.store.slice().len() - self.meta.wr
    }

    /// Moves the waiting data down to the start of the storage. The reserved elements move
    /// with the data, so that a request refused after compacting leaves the earlier
    /// reservation usable.
    #[inline]
    fn compact(&mut self) {
        let (rd, wr) = (self.meta.rd, self.meta.wr);
        let end = wr + self.meta.reserved;
        self.store.slice_mut().copy_within(rd..end, 0);
        self.meta.base = self.meta.base.wrapping_add(rd);
        self.meta.wr = wr - rd;
        self.meta.rd = 0;
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

    /// Like [`space`](PBufWr::space), but when the buffer is empty the space starts
    /// `headroom` elements into the storage, so that its consumer can later put a header of
    /// up to `headroom` elements in front of the data without moving it (see
    /// [`PBufRd::hand_over_with_head`](crate::PBufRd::hand_over_with_head)). When the
    /// buffer holds data, or `headroom + n` exceeds the limit or what fixed storage holds,
    /// it is plain `space(n)`. The room left in front lasts until the buffer moves its data
    /// down to make space.
    ///
    /// ```
    /// use pipebuf::PipeBuf;
    ///
    /// let mut pb = PipeBuf::<u8>::new();
    /// let mut wr = pb.wr();
    /// wr.space_with_headroom(16, 3).unwrap().copy_from_slice(b"abc");
    /// wr.commit(3).unwrap();
    /// assert_eq!(pb.data(), b"abc");
    /// ```
    pub fn space_with_headroom(&mut self, headroom: usize, n: usize) -> Result<&mut [T], Error> {
        self.check_open()?;
        let total = headroom.saturating_add(n);
        if self.meta.len() == 0 && self.meta.reserved == 0 && total <= self.store.max_len() {
            if self.store.slice().len() < total {
                self.store.grow(total);
            }
            if self.store.slice().len() >= total {
                // Only the empty position moves: the totals the tripwires count stay.
                self.meta.base = self
                    .meta
                    .base
                    .wrapping_add(self.meta.rd)
                    .wrapping_sub(headroom);
                self.meta.rd = headroom;
                self.meta.wr = headroom;
                return Ok(self.reserve(n));
            }
        }
        self.space(n)
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

    /// Free space for a read of at most `max` elements (see
    /// [`read_from`](PBufWr::read_from)): all the free space at the end of the storage
    /// already held, up to `max`. Waiting data is moved down first when the end offers less
    /// than `max` and the move copies no more than it frees (or nothing is free at the
    /// end). The storage grows by one step (the first allocation, then doubling) only when
    /// nothing is free even then: a buffer that keeps up with its reader stays at the size
    /// its largest burst needed, and a read is never limited by a size smaller than that.
    #[cfg(feature = "std")]
    pub(crate) fn space_for_read(&mut self, max: usize) -> Result<&mut [T], Error> {
        self.check_open()?;
        let held = self.store.slice().len();
        let mut free = held - self.meta.wr;
        if self.meta.rd > 0 && (free == 0 || (free < max && self.meta.len() <= self.meta.rd)) {
            self.compact();
            free = held - self.meta.wr;
        }
        if free == 0 {
            self.store.grow(self.meta.wr.saturating_add(1));
            free = self.store.slice().len() - self.meta.wr;
        }
        Ok(self.reserve(free.min(max)))
    }

    /// Whether the buffer holds no storage now but could get some (growable storage that
    /// was never written or was released).
    #[cfg(feature = "std")]
    pub(crate) fn holds_no_storage(&self) -> bool {
        self.store.slice().is_empty() && self.store.max_len() > 0
    }

    /// Frees the storage of an empty buffer with no reservation, as
    /// [`PipeBuf::release`](crate::PipeBuf::release) does.
    #[cfg(feature = "std")]
    pub(crate) fn release_storage(&mut self) {
        if self.meta.len() != 0 || self.meta.reserved != 0 {
            return;
        }
        self.meta.base = self.meta.base.wrapping_add(self.meta.rd);
        self.meta.rd = 0;
        self.meta.wr = 0;
        self.store.release();
    }

    /// Drops what is left of the last reservation (the space a `space*` call handed out and
    /// [`commit`](PBufWr::commit) did not take). A producer that fills less than it asked
    /// for calls this after its commit: a reservation left standing keeps
    /// [`PipeBuf::release`](crate::PipeBuf::release) from freeing the buffer once it is idle,
    /// and keeps an empty buffer from going back to the start of its storage.
    ///
    /// ```
    /// use pipebuf::PipeBuf;
    ///
    /// let mut pb = PipeBuf::<u8>::new();
    /// let mut wr = pb.wr();
    /// wr.space(64).unwrap()[..5].copy_from_slice(b"hello");
    /// wr.commit(5).unwrap();
    /// wr.unreserve();
    /// pb.rd().consume(5).unwrap();
    /// assert!(pb.release());
    /// assert_eq!(pb.capacity(), 0);
    /// ```
    pub fn unreserve(&mut self) {
        self.meta.reserved = 0;
        self.meta.reset_if_empty();
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
        crate::copy::copy_elements(self.space(n)?, data);
        self.commit(n)
    }

    /// Appends as much of `data` as fits and returns how much that was (0 when full). Fails
    /// only after close or abort.
    #[inline]
    pub fn append_some(&mut self, data: &[T]) -> Result<usize, Error> {
        let space = self.space_upto(data.len())?;
        let n = space.len();
        crate::copy::copy_elements(space, &data[..n]);
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

#[cfg(test)]
mod tests {
    use crate::{EofKind, Error, PBufState, PipeBuf};

    fn fixed() -> PipeBuf<u8, [u8; 16]> {
        PipeBuf::with_storage([0; 16])
    }

    #[test]
    fn push_sets_a_flag_the_consumer_sees() {
        let mut pb = fixed();
        pb.wr().push();
        assert!(pb.has_pending_push());
        assert_eq!(pb.state(), PBufState::Open);
    }

    #[test]
    fn close_ends_the_stream_cleanly() {
        let mut pb = fixed();
        pb.wr().close();
        assert_eq!(pb.state(), PBufState::Closing);
        assert!(pb.wr().is_eof());
    }

    #[test]
    fn abort_ends_the_stream_as_broken() {
        let mut pb = fixed();
        pb.wr().abort();
        assert_eq!(pb.state(), PBufState::Aborting);
    }

    #[test]
    fn second_close_is_a_no_op() {
        let mut pb = fixed();
        pb.wr().close();
        let before = pb.tripwire();
        pb.wr().close();
        assert_eq!(pb.state(), PBufState::Closing);
        assert_eq!(pb.tripwire(), before);
    }

    #[test]
    fn abort_after_close_keeps_the_close() {
        let mut pb = fixed();
        pb.wr().close();
        pb.wr().abort();
        assert_eq!(pb.state(), PBufState::Closing);
        assert_eq!(pb.rd().consume_eof(), Some(EofKind::Close));
    }

    #[test]
    fn close_after_abort_is_ignored() {
        let mut pb = fixed();
        pb.wr().abort();
        pb.wr().close();
        assert_eq!(pb.rd().consume_eof(), Some(EofKind::Abort));
    }

    #[test]
    fn close_after_consumed_eof_is_a_no_op() {
        let mut pb = fixed();
        pb.wr().close();
        pb.rd().consume_eof();
        pb.wr().abort();
        pb.wr().close();
        assert_eq!(pb.state(), PBufState::Closed);
    }

    #[test]
    fn push_then_close_keeps_the_push() {
        let mut pb = fixed();
        pb.wr().append(b"ab").unwrap();
        pb.wr().push();
        pb.wr().close();
        let mut rd = pb.rd();
        assert!(rd.has_pending_push());
        rd.consume(2).unwrap();
        assert!(rd.consume_push());
        assert_eq!(rd.consume_eof(), Some(EofKind::Close));
    }

    #[test]
    fn push_after_eof_is_a_no_op() {
        let mut pb = fixed();
        pb.wr().close();
        pb.wr().push();
        assert!(!pb.has_pending_push());
    }

    #[test]
    fn write_after_eof_is_refused() {
        for end in [EofKind::Close, EofKind::Abort] {
            let mut pb = fixed();
            let mut wr = pb.wr();
            match end {
                EofKind::Close => wr.close(),
                EofKind::Abort => wr.abort(),
            }
            assert_eq!(wr.append(b"x"), Err(Error::AfterEof));
            assert_eq!(wr.append_some(b"x"), Err(Error::AfterEof));
            assert_eq!(wr.space(1).map(|s| s.len()), Err(Error::AfterEof));
            assert_eq!(wr.space_upto(1).map(|s| s.len()), Err(Error::AfterEof));
            assert_eq!(wr.space_all().map(|s| s.len()), Err(Error::AfterEof));
            assert_eq!(wr.commit(0), Err(Error::AfterEof));
            assert_eq!(wr.room(), 0);
            assert!(pb.is_empty());
        }
    }

    #[test]
    fn reservation_made_before_close_cannot_be_committed_after_it() {
        let mut pb = fixed();
        let mut wr = pb.wr();
        wr.space(4).unwrap().copy_from_slice(b"abcd");
        wr.close();
        assert_eq!(wr.commit(4), Err(Error::AfterEof));
        assert!(pb.is_empty());
    }

    #[test]
    fn commit_beyond_reservation_is_refused_and_commits_nothing() {
        let mut pb = fixed();
        let mut wr = pb.wr();
        wr.space(2).unwrap();
        assert_eq!(
            wr.commit(3),
            Err(Error::CommitBeyondReserved {
                requested: 3,
                reserved: 2
            })
        );
        wr.commit(1).unwrap();
        wr.commit(1).unwrap();
        assert_eq!(
            wr.commit(1),
            Err(Error::CommitBeyondReserved {
                requested: 1,
                reserved: 0
            })
        );
        assert_eq!(pb.len(), 2);
    }

    #[test]
    fn commit_without_reservation_is_refused() {
        let mut pb = fixed();
        assert!(pb.wr().commit(1).is_err());
        assert!(pb.is_empty());
    }

    #[test]
    fn full_buffer_refuses_exact_space_and_gives_none_up_to() {
        let mut pb = fixed();
        pb.wr().append(&[7; 16]).unwrap();
        let mut wr = pb.wr();
        assert!(wr.is_full());
        assert_eq!(
            wr.space(1).map(|s| s.len()),
            Err(Error::NoSpace {
                requested: 1,
                available: 0
            })
        );
        assert_eq!(wr.space_upto(8).map(|s| s.len()), Ok(0));
        assert_eq!(wr.space_all().map(|s| s.len()), Ok(0));
        assert_eq!(wr.append_some(b"xyz"), Ok(0));
        assert_eq!(wr.room(), 0);
    }

    #[test]
    fn append_that_does_not_fit_writes_nothing() {
        let mut pb = fixed();
        pb.wr().append(&[1; 10]).unwrap();
        assert_eq!(
            pb.wr().append(&[2; 7]),
            Err(Error::NoSpace {
                requested: 7,
                available: 6
            })
        );
        assert_eq!(pb.data(), &[1; 10]);
    }

    #[test]
    fn compaction_happens_only_when_room_at_the_end_runs_out() {
        let mut pb = fixed();
        pb.wr().append(b"0123456789").unwrap();
        pb.rd().consume(8).unwrap();
        // 6 free at the end: no compaction needed for 6.
        assert_eq!(pb.wr().space(6).map(|s| s.len()), Ok(6));
        assert_eq!(pb.meta.rd, 8);
        // 7 needs the consumed segment back.
        pb.wr().append(b"abcdefg").unwrap();
        assert_eq!(pb.meta.rd, 0);
        assert_eq!(pb.data(), b"89abcdefg");
    }

    #[test]
    fn consuming_everything_resets_to_the_start() {
        let mut pb = fixed();
        pb.wr().append(b"abc").unwrap();
        pb.rd().consume(3).unwrap();
        assert_eq!((pb.meta.rd, pb.meta.wr), (0, 0));
        assert_eq!(pb.wr().space_all().map(|s| s.len()), Ok(16));
    }

    #[test]
    fn refused_space_keeps_the_earlier_reservation() {
        let mut pb = fixed();
        pb.wr().append(b"abcdefghijkl").unwrap();
        pb.rd().consume(10).unwrap();
        pb.wr().space(2).unwrap().copy_from_slice(b"xy");
        assert!(pb.wr().space(15).is_err()); // compacts, then refuses
        pb.wr().commit(2).unwrap();
        assert_eq!(pb.data(), b"klxy");
    }

    #[test]
    fn reservation_survives_the_consumer_emptying_the_buffer() {
        let mut pb = fixed();
        pb.wr().append(b"abc").unwrap();
        pb.wr().space(2).unwrap().copy_from_slice(b"de");
        pb.rd().consume(3).unwrap();
        pb.wr().commit(2).unwrap();
        assert_eq!(pb.data(), b"de");
    }

    #[test]
    fn room_and_limit_report_the_cap() {
        let mut pb = fixed();
        pb.wr().append(b"abcd").unwrap();
        let wr = pb.wr();
        assert_eq!(wr.limit(), 16);
        assert_eq!(wr.room(), 12);
        assert_eq!(wr.queued(), 4);
    }

    #[test]
    fn slice_storage_works_like_array_storage() {
        let mut store = [0u8; 4];
        let mut pb = PipeBuf::with_storage(&mut store[..]);
        assert_eq!(pb.wr().append_some(b"abcdef"), Ok(4));
        assert_eq!(pb.data(), b"abcd");
        assert!(!pb.release());
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn growable_buffer_grows_by_doubling_up_to_its_cap() {
        let mut pb = PipeBuf::<u8>::with_limits(4, 20);
        pb.wr().append(b"a").unwrap();
        assert_eq!(pb.capacity(), 4);
        pb.wr().append(b"bcde").unwrap();
        assert_eq!(pb.capacity(), 8);
        pb.wr().append(&[0; 10]).unwrap();
        assert_eq!(pb.capacity(), 16);
        assert_eq!(pb.wr().append_some(&[0; 10]), Ok(5));
        assert_eq!(pb.capacity(), 20);
        assert!(pb.wr().is_full());
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn growable_buffer_compacts_before_it_grows() {
        let mut pb = PipeBuf::<u8>::with_limits(8, 64);
        pb.wr().append(b"01234567").unwrap();
        pb.rd().consume(6).unwrap();
        pb.wr().append(b"abcd").unwrap();
        assert_eq!(pb.capacity(), 8);
        assert_eq!(pb.data(), b"67abcd");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn zero_limit_buffer_accepts_nothing_and_never_allocates() {
        let mut pb = PipeBuf::<u8>::with_limits(16, 0);
        assert!(pb.wr().append(b"x").is_err());
        assert_eq!(pb.wr().space_all().map(|s| s.len()), Ok(0));
        assert_eq!(pb.capacity(), 0);
        pb.wr().append(b"").unwrap();
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn released_buffer_allocates_again_on_the_next_write() {
        let mut pb = PipeBuf::<u8>::with_limits(8, 64);
        pb.wr().append(b"abc").unwrap();
        pb.rd().consume(3).unwrap();
        assert!(pb.release());
        assert_eq!(pb.capacity(), 0);
        assert!(!pb.release());
        pb.wr().append(b"xyz").unwrap();
        assert_eq!(pb.data(), b"xyz");
        assert_eq!(pb.capacity(), 8);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn space_with_headroom_leaves_room_in_front_only_of_an_empty_buffer() {
        let mut pb = PipeBuf::<u8>::with_limits(16, 64);
        let trip = pb.tripwire();
        let mut wr = pb.wr();
        wr.space_with_headroom(8, 3)
            .unwrap()
            .copy_from_slice(b"abc");
        wr.commit(3).unwrap();
        assert_eq!(pb.data(), b"abc");
        assert_eq!(pb.meta.rd, 8, "room left in front");
        assert_eq!(pb.tripwire().produced - trip.produced, 3);
        assert_eq!(pb.tripwire().consumed, trip.consumed);
        // Holding data: plain space after it.
        let mut wr = pb.wr();
        wr.space_with_headroom(8, 2).unwrap().copy_from_slice(b"de");
        wr.commit(2).unwrap();
        assert_eq!(pb.data(), b"abcde");
        // Growing past the storage moves the data down, headroom and all, intact.
        pb.wr().append(&[b'f'; 50]).unwrap();
        assert_eq!(&pb.data()[..5], b"abcde");
        assert_eq!(pb.len(), 55);
        pb.rd().consume_all();
        // Beyond the limit with the headroom: plain space from the start.
        let mut wr = pb.wr();
        wr.space_with_headroom(8, 60).unwrap().fill(1);
        wr.commit(60).unwrap();
        assert_eq!(pb.meta.rd, 0);
        assert_eq!(pb.len(), 60);
        // Fixed storage too small for headroom and data: plain space.
        let mut fixed = PipeBuf::with_storage([0u8; 8]);
        let mut wr = fixed.wr();
        wr.space_with_headroom(4, 6)
            .unwrap()
            .copy_from_slice(b"123456");
        wr.commit(6).unwrap();
        assert_eq!(fixed.data(), b"123456");
        // After the end of the stream: refused like space.
        let mut ended = PipeBuf::<u8>::new();
        ended.wr().close();
        assert_eq!(
            ended.wr().space_with_headroom(4, 1).err(),
            Some(Error::AfterEof)
        );
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn release_keeps_an_outstanding_reservation() {
        let mut pb = PipeBuf::<u8>::with_limits(8, 64);
        pb.wr().space(3).unwrap().copy_from_slice(b"abc");
        assert!(!pb.release());
        pb.wr().commit(3).unwrap();
        assert_eq!(pb.data(), b"abc");
    }
}
