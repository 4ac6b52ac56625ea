//! The consumer's view of a buffer.

use core::fmt;

use crate::buf::Meta;
use crate::state::{Eof, EofKind, PBufState, Tripwire};
use crate::storage::StoreRef;
use crate::{Error, PBufWr};

/// The consumer's view of a [`PipeBuf`](crate::PipeBuf): read and consume data, then the
/// push and the EOF.
///
/// The consumer must consume the EOF explicitly ([`consume_eof`](PBufRd::consume_eof)), so
/// every component sees every end of stream exactly once.
pub struct PBufRd<'a, T = u8> {
    meta: &'a mut Meta,
    store: StoreRef<'a, T>,
}

impl<'a, T: Copy> PBufRd<'a, T> {
    pub(crate) fn new(meta: &'a mut Meta, store: StoreRef<'a, T>) -> Self {
        PBufRd { meta, store }
    }

    /// A shorter-lived view of the same buffer, to pass to a function without giving this
    /// one away.
    #[inline]
    pub fn reborrow(&mut self) -> PBufRd<'_, T> {
        PBufRd {
            meta: self.meta,
            store: self.store.reborrow(),
        }
    }

    /// The data waiting to be consumed.
    #[inline]
    pub fn data(&self) -> &[T] {
        &self.store.slice()[self.meta.rd..self.meta.wr]
    }

    /// The data waiting to be consumed, mutable for in-place transforms (decryption,
    /// unmasking) before it is consumed.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [T] {
        let (rd, wr) = (self.meta.rd, self.meta.wr);
        &mut self.store.slice_mut()[rd..wr]
    }

    /// Consumes the view and returns the waiting data for the view's whole lifetime.
    pub fn into_data(self) -> &'a [T] {
        let (rd, wr) = (self.meta.rd, self.meta.wr);
        &self.store.into_slice()[rd..wr]
    }

    /// Number of elements waiting.
    #[inline]
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// Whether no data is waiting.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.meta.rd == self.meta.wr
    }

    /// Marks the first `n` waiting elements as consumed.
    ///
    /// Consuming more than is waiting fails with [`Error::ConsumeBeyondData`] and consumes
    /// nothing. When the buffer becomes empty it goes back to the start of its storage.
    ///
    /// ```
    /// use pipebuf::{Error, PipeBuf};
    ///
    /// let mut pb = PipeBuf::<u8>::new();
    /// pb.wr().append(b"abc").unwrap();
    /// pb.rd().consume(2).unwrap();
    /// assert_eq!(pb.rd().consume(2), Err(Error::ConsumeBeyondData { requested: 2, available: 1 }));
    /// assert_eq!(pb.data(), b"c");
    /// ```
    #[inline]
    pub fn consume(&mut self, n: usize) -> Result<(), Error> {
        let available = self.meta.len();
        if n > available {
            return Err(Error::ConsumeBeyondData {
                requested: n,
                available,
            });
        }
        self.meta.rd += n;
        self.meta.reset_if_empty();
        Ok(())
    }

    /// Consumes everything waiting and returns how much that was.
    pub fn consume_all(&mut self) -> usize {
        let n = self.meta.len();
        self.meta.rd = self.meta.wr;
        self.meta.reset_if_empty();
        n
    }

    /// Whether the producer pushed (asked for a flush) and the push was not consumed yet.
    #[inline]
    pub fn has_pending_push(&self) -> bool {
        self.meta.push
    }

    /// Consumes a pending push; returns whether there was one.
    #[inline]
    pub fn consume_push(&mut self) -> bool {
        core::mem::take(&mut self.meta.push)
    }

    /// The EOF the producer set and the consumer has not consumed, whether or not data is
    /// still waiting ahead of it. Lets a consumer react early to an abort.
    #[inline]
    pub fn pending_eof(&self) -> Option<EofKind> {
        match self.meta.eof {
            Eof::Pending(kind) => Some(kind),
            _ => None,
        }
    }

    /// Whether the consumer has reached an EOF it has not consumed: the producer ended the
    /// stream and no data is waiting.
    #[inline]
    pub fn has_pending_eof(&self) -> bool {
        self.is_empty() && matches!(self.meta.eof, Eof::Pending(_))
    }

    /// Consumes the EOF once it is reached (no data waiting), returning its kind; returns
    /// `None` while data is waiting, when the stream is open, and when the EOF was already
    /// consumed, so each EOF is seen exactly once. To give up on data ahead of an abort,
    /// [`consume_all`](PBufRd::consume_all) first.
    #[inline]
    pub fn consume_eof(&mut self) -> Option<EofKind> {
        match self.meta.eof {
            Eof::Pending(kind) if self.is_empty() => {
                self.meta.eof = Eof::Consumed(kind);
                Some(kind)
            }
            _ => None,
        }
    }

    /// Drops everything the producer offers: the waiting data, a push and the EOF (once it
    /// is set). Returns whether anything was dropped. For a consumer that can no longer
    /// use its input (its own output ended, the session failed) but must still let the
    /// stream finish.
    pub fn discard(&mut self) -> bool {
        let data = self.consume_all() > 0;
        let push = self.consume_push();
        let eof = self.consume_eof().is_some();
        data | push | eof
    }

    /// Whether the producer closed the stream cleanly (EOF consumed or not).
    pub fn is_closed(&self) -> bool {
        self.state().eof_kind() == Some(EofKind::Close)
    }

    /// Whether the producer aborted the stream (EOF consumed or not).
    pub fn is_aborted(&self) -> bool {
        self.state().eof_kind() == Some(EofKind::Abort)
    }

    /// Whether the EOF was consumed: nothing more will happen on this buffer.
    pub fn is_done(&self) -> bool {
        matches!(self.meta.eof, Eof::Consumed(_))
    }

    /// The stream state.
    #[inline]
    pub fn state(&self) -> PBufState {
        self.meta.eof.state()
    }

    /// Snapshot for activity detection; see [`Tripwire`].
    #[inline]
    pub fn tripwire(&self) -> Tripwire {
        self.meta.tripwire()
    }

    /// Moves as much data as fits into `dest`, then, once all data has gone, the push and the
    /// EOF with its kind. Returns whether anything moved (activity).
    ///
    /// When `dest` is empty and both buffers are growable, the two exchange their storage
    /// instead of copying the data (an echo or a pass-through layer then copies nothing).
    /// When `dest` is full the rest stays here (backpressure); a push or EOF waits behind the
    /// data it follows. Fails with [`Error::AfterEof`] only if data or an EOF must go to a
    /// `dest` whose producer side has already ended.
    ///
    /// ```
    /// use pipebuf::{EofKind, PipeBuf};
    ///
    /// let (mut a, mut b) = (PipeBuf::<u8>::new(), PipeBuf::<u8>::new());
    /// a.wr().append(b"data").unwrap();
    /// a.wr().abort();
    /// assert!(a.rd().forward(&mut b.wr()).unwrap());
    /// assert_eq!(b.data(), b"data");
    /// assert_eq!(b.rd().pending_eof(), Some(EofKind::Abort));
    /// assert!(a.rd().is_done());
    /// ```
    pub fn forward(&mut self, dest: &mut PBufWr<'_, T>) -> Result<bool, Error> {
        let mut activity = false;
        if !self.is_empty() && self.hand_over(dest) {
            activity = true;
        } else if !self.is_empty() {
            let n = dest.append_some(self.data())?;
            if n > 0 {
                // Cannot fail: n <= len.
                self.consume(n)?;
                activity = true;
            }
            if !self.is_empty() {
                return Ok(activity);
            }
        }
        if self.meta.push && !dest.is_eof() {
            dest.push();
            self.meta.push = false;
            activity = true;
        }
        if let Eof::Pending(kind) = self.meta.eof {
            if dest.is_eof() {
                return Err(Error::AfterEof);
            }
            match kind {
                EofKind::Close => dest.close(),
                EofKind::Abort => dest.abort(),
            }
            self.meta.eof = Eof::Consumed(kind);
            activity = true;
        }
        Ok(activity)
    }
}

impl<T: Copy> PBufRd<'_, T> {
    /// Moves all waiting data to `dest` without copying it: when `dest` is empty and both
    /// buffers are growable, the two exchange their storage (each must fit under the other's
    /// cap, and neither producer may hold a reservation, whose bytes would go with it).
    /// Returns whether it did; if not, nothing changed.
    fn hand_over(&mut self, dest: &mut PBufWr<'_, T>) -> bool {
        self.hand_over_with_head(0, &[], dest)
    }

    /// Moves the waiting data after its first `skip` elements to `dest` with `head` in
    /// front, without copying the data: a layer that turns one record into another whose
    /// header differs (a WebSocket message chunk into a frame) hands the payload on as it
    /// lies in memory, and writes only the new header.
    ///
    /// It happens only when `dest` is empty (and not ended), both buffers are growable and
    /// fit under each other's cap, neither producer holds a reservation, at least `skip`
    /// elements wait here, and the storage has room for `head` before the data: `skip`
    /// plus the elements already consumed in front of it (see
    /// [`PBufWr::space_with_headroom`], which leaves such room) come to at least
    /// `head.len()`. Then the two buffers exchange their storage, `head` is written just
    /// before the data, this buffer is left empty (all consumed) and `dest` holds `head`
    /// and the data, as if its producer had written them. Returns whether it did; if not,
    /// nothing changed, and the caller copies instead.
    ///
    /// ```
    /// use pipebuf::PipeBuf;
    ///
    /// let (mut records, mut frames) = (PipeBuf::<u8>::new(), PipeBuf::<u8>::new());
    /// // A 2-byte record header, with 3 elements of room left in front of it.
    /// let mut wr = records.wr();
    /// wr.space_with_headroom(3, 7).unwrap().copy_from_slice(b"r:hello");
    /// wr.commit(7).unwrap();
    /// // The record becomes a frame with a 4-byte header; "hello" is not copied.
    /// assert!(records.rd().hand_over_with_head(2, b"F05:", &mut frames.wr()));
    /// assert_eq!(frames.data(), b"F05:hello");
    /// assert!(records.is_empty());
    /// // Without room in front, nothing happens.
    /// records.wr().append(b"r:bye").unwrap();
    /// let mut more = PipeBuf::<u8>::new();
    /// assert!(!records.rd().hand_over_with_head(2, b"F03:", &mut more.wr()));
    /// assert_eq!(records.data(), b"r:bye");
    /// ```
    pub fn hand_over_with_head(
        &mut self,
        skip: usize,
        head: &[T],
        dest: &mut PBufWr<'_, T>,
    ) -> bool {
        let unchanged = |_: &mut [T]| Ok::<(), core::convert::Infallible>(());
        match self.hand_over_transformed(skip, head, dest, unchanged) {
            Ok(done) => done,
            Err(never) => match never {},
        }
    }

    /// [`hand_over_with_head`](PBufRd::hand_over_with_head) that first runs `transform` on
    /// the data it moves (after the `skip` elements), in place: for a layer that unmasks,
    /// decrypts or checks data as it hands it on. `transform` runs only once the hand-over
    /// is certain, so data is never transformed and then left to be copied: `Ok(false)`
    /// means nothing changed. If `transform` fails, its error is returned and nothing is
    /// handed over, but the data stays as `transform` left it (the caller is failing the
    /// stream anyway).
    ///
    /// ```
    /// use pipebuf::PipeBuf;
    ///
    /// let (mut masked, mut plain) = (PipeBuf::<u8>::new(), PipeBuf::<u8>::new());
    /// let mut wr = masked.wr();
    /// wr.space_with_headroom(1, 5).unwrap().copy_from_slice(&[b'#', 0x21, 0x22, 0x23, 0x24]);
    /// wr.commit(5).unwrap();
    /// let unmask = |data: &mut [u8]| {
    ///     data.iter_mut().for_each(|b| *b ^= 0x40);
    ///     Ok::<(), ()>(())
    /// };
    /// assert_eq!(masked.rd().hand_over_transformed(1, b"->", &mut plain.wr(), unmask), Ok(true));
    /// assert_eq!(plain.data(), b"->abcd");
    /// ```
    #[cfg(feature = "alloc")]
    pub fn hand_over_transformed<E>(
        &mut self,
        skip: usize,
        head: &[T],
        dest: &mut PBufWr<'_, T>,
        transform: impl FnOnce(&mut [T]) -> Result<(), E>,
    ) -> Result<bool, E> {
        if !self.can_hand_over_with_head(skip, head.len(), dest) {
            return Ok(false);
        }
        let data_start = self.meta.rd + skip;
        let (dmeta, dstore) = dest.parts();
        let (StoreRef::Growable(src), StoreRef::Growable(dst)) = (&mut self.store, dstore) else {
            return Ok(false);
        };
        transform(&mut src.as_mut_slice()[data_start..self.meta.wr])?;
        if !src.swap_allocations(dst) {
            return Ok(false);
        }
        let head_start = data_start - head.len();
        dst.as_mut_slice()[head_start..data_start].copy_from_slice(head);
        // The totals the tripwires count: `dest` produced the head and the data (its
        // consumed total stays), this buffer consumed it all.
        let consumed = dmeta.base.wrapping_add(dmeta.rd);
        dmeta.base = consumed.wrapping_sub(head_start);
        dmeta.rd = head_start;
        dmeta.wr = self.meta.wr;
        self.meta.base = self.meta.base.wrapping_add(self.meta.wr);
        self.meta.rd = 0;
        self.meta.wr = 0;
        Ok(true)
    }

    /// Whether a hand-over with these arguments (and a head of `head_len` elements) would
    /// happen now.
    #[cfg(feature = "alloc")]
    fn can_hand_over_with_head(
        &mut self,
        skip: usize,
        head_len: usize,
        dest: &mut PBufWr<'_, T>,
    ) -> bool {
        let data_start = self.meta.rd.saturating_add(skip);
        if self.meta.len() < skip || data_start < head_len {
            return false;
        }
        if dest.is_eof() || self.meta.reserved != 0 {
            return false;
        }
        let (dmeta, dstore) = dest.parts();
        if dmeta.len() != 0 || dmeta.reserved != 0 {
            return false;
        }
        match (&self.store, dstore) {
            (StoreRef::Growable(src), StoreRef::Growable(dst)) => src.can_swap_allocations(dst),
            _ => false,
        }
    }

    /// Without growable storage there is nothing to exchange: always `Ok(false)`.
    #[cfg(not(feature = "alloc"))]
    pub fn hand_over_transformed<E>(
        &mut self,
        _: usize,
        _: &[T],
        _: &mut PBufWr<'_, T>,
        _: impl FnOnce(&mut [T]) -> Result<(), E>,
    ) -> Result<bool, E> {
        Ok(false)
    }
}

impl<T> fmt::Debug for PBufRd<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PBufRd")
            .field("len", &self.meta.len())
            .field("push", &self.meta.push)
            .field("state", &self.meta.eof.state())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn discard_drops_data_push_and_eof_and_reports_it() {
        let mut pb = PipeBuf::with_storage([0u8; 8]);
        assert!(!pb.rd().discard());
        pb.wr().append(b"abc").unwrap();
        pb.wr().push();
        pb.wr().abort();
        assert!(pb.rd().discard());
        assert!(pb.is_empty());
        assert!(pb.rd().is_done());
        assert_eq!(pb.state().eof_kind(), Some(EofKind::Abort));
        assert!(!pb.rd().discard());
    }

    use crate::{EofKind, Error, PBufState, PipeBuf};

    #[cfg(feature = "alloc")]
    #[test]
    fn forward_into_an_empty_growable_buffer_hands_the_storage_over_instead_of_copying() {
        let (mut a, mut b) = (PipeBuf::<u8>::new(), PipeBuf::<u8>::new());
        a.wr().append(&[7; 5000]).unwrap();
        a.rd().consume(1000).unwrap();
        a.wr().push();
        a.wr().close();
        let (a_cap, a_trip, b_trip) = (a.capacity(), a.tripwire(), b.tripwire());
        assert!(a.rd().forward(&mut b.wr()).unwrap());
        assert_eq!(b.capacity(), a_cap, "the storage moved");
        assert_eq!(a.capacity(), 0);
        assert_eq!(b.data(), &[7; 4000][..]);
        assert!(a.rd().is_done());
        assert_eq!(b.state(), PBufState::Closing);
        assert!(b.rd().has_pending_push());
        assert_ne!(a.tripwire(), a_trip);
        assert_ne!(b.tripwire(), b_trip);
        // Both ends go on as usual: b's data is consumed, a is written again.
        let mut rd = b.rd();
        rd.consume_all();
        assert_eq!(rd.consume_eof(), Some(EofKind::Close));
        let mut c = PipeBuf::<u8>::new();
        c.wr().append(b"next").unwrap();
        let mut d = PipeBuf::<u8>::new();
        d.wr().append(b"x").unwrap();
        assert!(
            c.rd().forward(&mut d.wr()).unwrap(),
            "a non-empty dest is appended to"
        );
        assert_eq!(d.data(), b"xnext");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn hand_over_with_head_moves_the_payload_and_writes_the_head_in_front() {
        let (mut records, mut frames) = (PipeBuf::<u8>::new(), PipeBuf::<u8>::new());
        let mut wr = records.wr();
        let space = wr.space_with_headroom(9, 5 + 3000).unwrap();
        space[..5].copy_from_slice(b"HDR05");
        space[5..].fill(0xab);
        wr.commit(5 + 3000).unwrap();
        let (rec_trip, frm_trip) = (records.tripwire(), frames.tripwire());
        let storage = records.capacity();
        assert!(
            records
                .rd()
                .hand_over_with_head(5, b"0123456789", &mut frames.wr())
        );
        assert_eq!(frames.capacity(), storage, "the storage moved");
        assert_eq!(&frames.data()[..10], b"0123456789");
        assert!(frames.data()[10..].iter().all(|&b| b == 0xab));
        assert_eq!(frames.len(), 3010);
        assert!(records.is_empty());
        // Totals: the records were all consumed; the frames' producer made head and data.
        assert_eq!(records.tripwire().consumed - rec_trip.consumed, 3005);
        assert_eq!(records.tripwire().produced, rec_trip.produced);
        assert_eq!(frames.tripwire().produced - frm_trip.produced, 3010);
        assert_eq!(frames.tripwire().consumed, frm_trip.consumed);
        // Both go on as usual.
        frames.rd().consume(10).unwrap();
        frames.rd().consume_all();
        assert!(frames.is_empty());
        records.wr().append(b"again").unwrap();
        assert_eq!(records.data(), b"again");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn a_failing_transform_hands_nothing_over() {
        let (mut src, mut dest) = (PipeBuf::<u8>::new(), PipeBuf::<u8>::new());
        let mut wr = src.wr();
        wr.space_with_headroom(4, 6)
            .unwrap()
            .copy_from_slice(b"hdbody");
        wr.commit(6).unwrap();
        let failed = src
            .rd()
            .hand_over_transformed(2, b"HEAD", &mut dest.wr(), |data| {
                data[0] = b'B';
                Err("bad data")
            });
        assert_eq!(failed, Err("bad data"));
        assert!(dest.is_empty());
        assert_eq!(src.data(), b"hdBody", "left as the transform left it");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn hand_over_with_head_refuses_and_changes_nothing_when_it_cannot_be_done() {
        fn with_headroom(headroom: usize, data: &[u8]) -> PipeBuf<u8> {
            let mut pb = PipeBuf::<u8>::new();
            let mut wr = pb.wr();
            wr.space_with_headroom(headroom, data.len())
                .unwrap()
                .copy_from_slice(data);
            wr.commit(data.len()).unwrap();
            pb
        }
        let unchanged = |pb: &PipeBuf<u8>, dest: &PipeBuf<u8>, dest_len: usize| {
            assert_eq!(pb.data(), b"r:payload");
            assert_eq!(dest.len(), dest_len);
        };
        // Too little room in front: 2 skipped + 1 of headroom < 4.
        let (mut pb, mut dest) = (with_headroom(1, b"r:payload"), PipeBuf::<u8>::new());
        let mut transformed = false;
        let refused = pb
            .rd()
            .hand_over_transformed(2, b"HEAD", &mut dest.wr(), |_| {
                transformed = true;
                Ok::<(), ()>(())
            });
        assert_eq!(refused, Ok(false));
        assert!(!transformed, "no transform without the hand-over");
        assert!(!pb.rd().hand_over_with_head(2, b"HEAD", &mut dest.wr()));
        unchanged(&pb, &dest, 0);
        // Exactly enough works.
        assert!(pb.rd().hand_over_with_head(2, b"HED", &mut dest.wr()));
        assert_eq!(dest.data(), b"HEDpayload");
        // A destination holding data.
        let (mut pb, mut dest) = (with_headroom(8, b"r:payload"), PipeBuf::<u8>::new());
        dest.wr().append(b"x").unwrap();
        assert!(!pb.rd().hand_over_with_head(2, b"HEAD", &mut dest.wr()));
        unchanged(&pb, &dest, 1);
        // A destination whose stream ended.
        let mut dest = PipeBuf::<u8>::new();
        dest.wr().close();
        assert!(!pb.rd().hand_over_with_head(2, b"HEAD", &mut dest.wr()));
        unchanged(&pb, &dest, 0);
        // Skipping more than waits.
        let mut dest = PipeBuf::<u8>::new();
        assert!(!pb.rd().hand_over_with_head(10, b"HEAD", &mut dest.wr()));
        unchanged(&pb, &dest, 0);
        // The source's producer holds a reservation.
        pb.wr().space(4).unwrap();
        assert!(!pb.rd().hand_over_with_head(2, b"HEAD", &mut dest.wr()));
        unchanged(&pb, &dest, 0);
        // Fixed storage has nothing to exchange.
        let mut fixed = PipeBuf::with_storage([0u8; 16]);
        let mut wr = fixed.wr();
        wr.space_with_headroom(4, 9)
            .unwrap()
            .copy_from_slice(b"r:payload");
        wr.commit(9).unwrap();
        let mut fixed_dest = PipeBuf::with_storage([0u8; 16]);
        assert!(
            !fixed
                .rd()
                .hand_over_with_head(2, b"HEAD", &mut fixed_dest.wr())
        );
        assert_eq!(fixed.data(), b"r:payload");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn forward_copies_when_the_storage_cannot_be_handed_over() {
        // The source's allocation exceeds the destination's cap.
        let mut big = PipeBuf::<u8>::with_limits(8192, 8192);
        let mut small = PipeBuf::<u8>::with_limits(16, 4096);
        big.wr().append(&[1; 3000]).unwrap();
        assert!(big.rd().forward(&mut small.wr()).unwrap());
        assert_eq!(small.data(), &[1; 3000][..]);
        assert_eq!(big.capacity(), 8192, "copied, not handed over");
        // The source's producer holds a reservation: its bytes must stay with it.
        let mut src = PipeBuf::<u8>::new();
        let mut dst = PipeBuf::<u8>::new();
        src.wr().append(b"abc").unwrap();
        src.wr().space(10).unwrap()[..2].copy_from_slice(b"de");
        assert!(src.rd().forward(&mut dst.wr()).unwrap());
        assert_eq!(dst.data(), b"abc");
        src.wr().commit(2).unwrap();
        assert_eq!(src.data(), b"de");
    }

    fn fixed() -> PipeBuf<u8, [u8; 16]> {
        PipeBuf::with_storage([0; 16])
    }

    #[test]
    fn eof_is_reached_only_after_the_data() {
        let mut pb = fixed();
        pb.wr().append(b"abc").unwrap();
        pb.wr().close();
        let mut rd = pb.rd();
        assert_eq!(rd.pending_eof(), Some(EofKind::Close));
        assert!(!rd.has_pending_eof());
        assert_eq!(rd.consume_eof(), None);
        rd.consume(3).unwrap();
        assert!(rd.has_pending_eof());
        assert_eq!(rd.consume_eof(), Some(EofKind::Close));
    }

    #[test]
    fn eof_is_consumed_exactly_once() {
        let mut pb = fixed();
        pb.wr().abort();
        assert_eq!(pb.rd().consume_eof(), Some(EofKind::Abort));
        assert_eq!(pb.rd().consume_eof(), None);
        assert_eq!(pb.rd().pending_eof(), None);
        assert!(!pb.rd().has_pending_eof());
        assert_eq!(pb.state(), PBufState::Aborted);
        assert!(pb.rd().is_done());
        assert!(pb.rd().is_aborted());
        assert!(!pb.rd().is_closed());
    }

    #[test]
    fn open_stream_has_no_eof_to_consume() {
        let mut pb = fixed();
        assert_eq!(pb.rd().consume_eof(), None);
        assert!(!pb.rd().is_done());
        assert_eq!(pb.state(), PBufState::Open);
    }

    #[test]
    fn consume_push_reports_the_push_once() {
        let mut pb = fixed();
        pb.wr().push();
        assert!(pb.rd().consume_push());
        assert!(!pb.rd().consume_push());
    }

    #[test]
    fn consuming_more_than_is_waiting_consumes_nothing() {
        let mut pb = fixed();
        pb.wr().append(b"ab").unwrap();
        let before = pb.tripwire();
        assert_eq!(
            pb.rd().consume(3),
            Err(Error::ConsumeBeyondData {
                requested: 3,
                available: 2
            })
        );
        assert_eq!(pb.data(), b"ab");
        assert_eq!(pb.tripwire(), before);
    }

    #[test]
    fn consume_all_gives_up_data_ahead_of_an_abort() {
        let mut pb = fixed();
        pb.wr().append(b"partial").unwrap();
        pb.wr().abort();
        let mut rd = pb.rd();
        assert_eq!(rd.pending_eof(), Some(EofKind::Abort));
        assert_eq!(rd.consume_all(), 7);
        assert_eq!(rd.consume_eof(), Some(EofKind::Abort));
    }

    #[test]
    fn data_mut_transforms_in_place() {
        let mut pb = fixed();
        pb.wr().append(b"abc").unwrap();
        pb.rd().data_mut().make_ascii_uppercase();
        assert_eq!(pb.data(), b"ABC");
    }

    #[test]
    fn equal_read_and_write_in_one_step_is_activity() {
        let mut pb = fixed();
        pb.wr().append(b"abcd").unwrap();
        let before = pb.tripwire();
        pb.rd().consume(4).unwrap();
        pb.wr().append(b"wxyz").unwrap();
        assert_eq!(pb.data(), b"wxyz");
        assert_ne!(pb.tripwire(), before);
    }

    #[test]
    fn push_and_eof_consumption_are_activity() {
        let mut pb = fixed();
        pb.wr().push();
        pb.wr().close();
        let t0 = pb.tripwire();
        pb.rd().consume_push();
        let t1 = pb.tripwire();
        assert_ne!(t0, t1);
        pb.rd().consume_eof();
        assert_ne!(t1, pb.tripwire());
    }

    #[test]
    fn reset_clears_state_and_counts_as_activity() {
        let mut pb = fixed();
        pb.wr().append(b"abc").unwrap();
        pb.wr().close();
        let before = pb.tripwire();
        pb.reset();
        assert_ne!(pb.tripwire(), before);
        assert!(pb.is_empty());
        assert_eq!(pb.state(), PBufState::Open);
        pb.wr().append(b"new").unwrap();
    }

    #[test]
    fn forward_moves_data_push_and_close() {
        let (mut a, mut b) = (fixed(), fixed());
        a.wr().append(b"abc").unwrap();
        a.wr().push();
        a.wr().close();
        assert_eq!(a.rd().forward(&mut b.wr()), Ok(true));
        assert_eq!(b.data(), b"abc");
        assert!(b.has_pending_push());
        assert_eq!(b.state(), PBufState::Closing);
        assert_eq!(a.state(), PBufState::Closed);
        assert_eq!(a.rd().forward(&mut b.wr()), Ok(false));
    }

    #[test]
    fn forward_into_a_full_buffer_holds_push_and_eof_behind_the_data() {
        let mut a = fixed();
        let mut b = PipeBuf::with_storage([0u8; 4]);
        a.wr().append(b"abcdef").unwrap();
        a.wr().push();
        a.wr().abort();
        assert_eq!(a.rd().forward(&mut b.wr()), Ok(true));
        assert_eq!(b.data(), b"abcd");
        assert!(!b.has_pending_push());
        assert_eq!(b.state(), PBufState::Open);
        assert_eq!(a.rd().forward(&mut b.wr()), Ok(false));
        b.rd().consume_all();
        assert_eq!(a.rd().forward(&mut b.wr()), Ok(true));
        assert_eq!(b.data(), b"ef");
        assert!(b.has_pending_push());
        assert_eq!(b.state(), PBufState::Aborting);
    }

    #[test]
    fn forward_to_an_ended_buffer_is_refused_without_losing_data() {
        let (mut a, mut b) = (fixed(), fixed());
        b.wr().close();
        a.wr().append(b"abc").unwrap();
        assert_eq!(a.rd().forward(&mut b.wr()), Err(Error::AfterEof));
        assert_eq!(a.data(), b"abc");
    }
}
