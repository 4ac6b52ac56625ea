//! Model-based property test of [`PipeBuf`].
//!
//! Random sequences of operations are applied both to a real buffer and to a deliberately
//! simple reference model (a `VecDeque<u8>` of waiting data, the push flag, the EOF state, the
//! bytes of the producer's current reservation and the limit). After every operation the two
//! must agree on:
//!
//! - the operation's return value, including the exact [`Error`] variant and its fields;
//! - the waiting data, byte for byte (written bytes come from a pseudo-random stream, so a
//!   lost, duplicated or stale byte shows);
//! - the stream state, the push flag, every query of both views (`room`, `is_full`, `limit`,
//!   `pending_eof`, `has_pending_eof`, `is_closed`, `is_aborted`, `is_done`, ...);
//! - the reservation, read through the public API: `commit(usize::MAX)` is refused with
//!   [`Error::CommitBeyondReserved`] carrying the reserved count, and changes nothing;
//! - activity: a [`Tripwire`] taken before and after the operation differs exactly when the
//!   model says something observable happened (data consumed or produced, push set or
//!   consumed, EOF state changed, or a reset). Queries must never trip it.
//!
//! A second buffer, the destination of `forward`, is modelled the same way.
//!
//! Storage kinds: growable with a large limit, growable with a small limit (both need
//! `alloc`), a fixed array and a fixed caller slice (also run with `--no-default-features`).

use std::collections::VecDeque;

use pipebuf::{EofKind, Error, PBufState, PipeBuf, Storage};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Limit of the `forward` destination: small, so that forwarding meets backpressure.
const DEST_LIMIT: usize = 24;

// ---------------------------------------------------------------------------------------------
// The model

/// EOF as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ModelEof {
    Open,
    Pending(EofKind),
    Consumed(EofKind),
}

/// Everything about a buffer that its public API lets one observe.
#[derive(Debug, Clone)]
struct Model {
    /// Data waiting for the consumer.
    data: VecDeque<u8>,
    push: bool,
    eof: ModelEof,
    /// The bytes written into the current reservation; its length is the reserved count.
    reserved: Vec<u8>,
    /// The most data the buffer may hold at once.
    limit: usize,
    /// Totals, for the activity check.
    consumed: u64,
    produced: u64,
    resets: u64,
}

/// What the tripwire must follow: two different keys mean activity.
type ActivityKey = (u64, u64, bool, ModelEof, u64);

impl Model {
    fn new(limit: usize) -> Self {
        Model {
            data: VecDeque::new(),
            push: false,
            eof: ModelEof::Open,
            reserved: Vec::new(),
            limit,
            consumed: 0,
            produced: 0,
            resets: 0,
        }
    }

    fn key(&self) -> ActivityKey {
        (
            self.consumed,
            self.produced,
            self.push,
            self.eof,
            self.resets,
        )
    }

    fn is_open(&self) -> bool {
        self.eof == ModelEof::Open
    }

    fn len(&self) -> usize {
        self.data.len()
    }

    /// Free space below the limit, whatever the stream state.
    fn free(&self) -> usize {
        self.limit - self.len()
    }

    fn state(&self) -> PBufState {
        match self.eof {
            ModelEof::Open => PBufState::Open,
            ModelEof::Pending(EofKind::Close) => PBufState::Closing,
            ModelEof::Pending(EofKind::Abort) => PBufState::Aborting,
            ModelEof::Consumed(EofKind::Close) => PBufState::Closed,
            ModelEof::Consumed(EofKind::Abort) => PBufState::Aborted,
        }
    }

    fn eof_kind(&self) -> Option<EofKind> {
        match self.eof {
            ModelEof::Open => None,
            ModelEof::Pending(k) | ModelEof::Consumed(k) => Some(k),
        }
    }

    fn produce(&mut self, bytes: &[u8]) {
        self.data.extend(bytes.iter().copied());
        self.produced += bytes.len() as u64;
    }

    fn consume(&mut self, n: usize) {
        self.data.drain(..n);
        self.consumed += n as u64;
    }

    /// `space(n)`: exactly `n` or an error; an error changes nothing.
    fn space(&self, n: usize) -> Result<usize, Error> {
        if !self.is_open() {
            Err(Error::AfterEof)
        } else if n > self.free() {
            Err(Error::NoSpace {
                requested: n,
                available: self.free(),
            })
        } else {
            Ok(n)
        }
    }

    /// `space_upto(n)`: as much as the limit allows, up to `n`.
    fn space_upto(&self, n: usize) -> Result<usize, Error> {
        if self.is_open() {
            Ok(n.min(self.free()))
        } else {
            Err(Error::AfterEof)
        }
    }

    fn commit(&mut self, k: usize) -> Result<(), Error> {
        if !self.is_open() {
            return Err(Error::AfterEof);
        }
        if k > self.reserved.len() {
            return Err(Error::CommitBeyondReserved {
                requested: k,
                reserved: self.reserved.len(),
            });
        }
        let bytes: Vec<u8> = self.reserved.drain(..k).collect();
        self.produce(&bytes);
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.space(bytes.len())?;
        self.reserved.clear();
        self.produce(bytes);
        Ok(())
    }

    fn append_some(&mut self, bytes: &[u8]) -> Result<usize, Error> {
        let n = self.space_upto(bytes.len())?;
        self.reserved.clear();
        self.produce(&bytes[..n]);
        Ok(n)
    }

    fn push(&mut self) {
        if self.is_open() {
            self.push = true;
        }
    }

    fn end(&mut self, kind: EofKind) {
        if self.is_open() {
            self.eof = ModelEof::Pending(kind);
            self.reserved.clear();
        }
    }

    fn consume_checked(&mut self, n: usize) -> Result<(), Error> {
        if n > self.len() {
            return Err(Error::ConsumeBeyondData {
                requested: n,
                available: self.len(),
            });
        }
        self.consume(n);
        Ok(())
    }

    fn consume_all(&mut self) -> usize {
        let n = self.len();
        self.consume(n);
        n
    }

    fn consume_push(&mut self) -> bool {
        core::mem::take(&mut self.push)
    }

    fn pending_eof(&self) -> Option<EofKind> {
        match self.eof {
            ModelEof::Pending(k) => Some(k),
            _ => None,
        }
    }

    fn consume_eof(&mut self) -> Option<EofKind> {
        match self.eof {
            ModelEof::Pending(k) if self.data.is_empty() => {
                self.eof = ModelEof::Consumed(k);
                Some(k)
            }
            _ => None,
        }
    }

    fn reset(&mut self) {
        self.data.clear();
        self.push = false;
        self.eof = ModelEof::Open;
        self.reserved.clear();
        self.resets += 1;
    }

    /// `forward` as documented: data as far as it fits, then (all data gone) the push, then
    /// the EOF; a push or EOF never goes to a destination that has ended; data or an EOF that
    /// must go there is an `AfterEof` error.
    fn forward(&mut self, dest: &mut Model) -> Result<bool, Error> {
        let mut activity = false;
        if !self.data.is_empty() {
            let bytes: Vec<u8> = self.data.iter().copied().collect();
            let n = dest.append_some(&bytes)?;
            if n > 0 {
                self.consume(n);
                activity = true;
            }
            if !self.data.is_empty() {
                return Ok(activity);
            }
        }
        if self.push && dest.is_open() {
            dest.push();
            self.push = false;
            activity = true;
        }
        if let ModelEof::Pending(kind) = self.eof {
            if !dest.is_open() {
                return Err(Error::AfterEof);
            }
            dest.end(kind);
            self.eof = ModelEof::Consumed(kind);
            activity = true;
        }
        Ok(activity)
    }
}

// ---------------------------------------------------------------------------------------------
// Operations

/// A size, absolute or relative to the current room, length or reservation, so that
/// boundaries are hit whatever the limit.
#[derive(Debug, Clone, Copy)]
enum Size {
    Abs(usize),
    /// The base (room, length, reservation) plus this, at least 0.
    Rel(i8),
    /// `usize::MAX` where only a number is needed; one more than the limit for data.
    Huge,
}

impl Size {
    fn resolve(self, base: usize) -> usize {
        match self {
            Size::Abs(n) => n,
            Size::Rel(d) => base.saturating_add_signed(isize::from(d)),
            Size::Huge => usize::MAX,
        }
    }

    /// For sizes of data that must exist in memory.
    fn resolve_data(self, base: usize, limit: usize) -> usize {
        match self {
            Size::Huge => limit + 1,
            s => s.resolve(base),
        }
    }
}

/// Operations on the consumer side, for either buffer.
#[derive(Debug, Clone, Copy)]
enum RdOp {
    Consume(Size),
    ConsumeAll,
    ConsumePush,
    ConsumeEof,
    /// Flip bits of the waiting data in place through `data_mut` (not activity).
    Transform(u8),
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// `space(n)`, fill it, then `commit(k)` if given (`k` relative to the reservation).
    Space(Size, Option<Size>),
    /// `space_upto(n)`, fill it, then `commit(k)` if given.
    SpaceUpto(Size, Option<Size>),
    /// `space_all()`, fill it, then `commit(k)` if given.
    SpaceAll(Option<Size>),
    /// A lone `commit(k)` against whatever is reserved.
    Commit(Size),
    Append(Size),
    AppendSome(Size),
    Push,
    Close,
    Abort,
    Rd(RdOp),
    /// Consume up to `n` and append as many in one step: still activity.
    ConsumeThenAppend(usize),
    Release,
    Reset,
    /// `pb.rd().forward(&mut dest.wr())`.
    Forward,
    DestRd(RdOp),
    DestEnd(EofKind),
    DestReset,
}

fn size() -> impl Strategy<Value = Size> {
    prop_oneof![
        6 => (0usize..40).prop_map(Size::Abs),
        4 => (-2i8..=2).prop_map(Size::Rel),
        1 => Just(Size::Huge),
    ]
}

fn rd_op() -> impl Strategy<Value = RdOp> {
    prop_oneof![
        4 => size().prop_map(RdOp::Consume),
        1 => Just(RdOp::ConsumeAll),
        2 => Just(RdOp::ConsumePush),
        2 => Just(RdOp::ConsumeEof),
        1 => any::<u8>().prop_map(RdOp::Transform),
    ]
}

fn eof_kind() -> impl Strategy<Value = EofKind> {
    prop_oneof![Just(EofKind::Close), Just(EofKind::Abort)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (size(), proptest::option::weighted(0.8, size())).prop_map(|(n, k)| Op::Space(n, k)),
        3 => (size(), proptest::option::weighted(0.8, size()))
            .prop_map(|(n, k)| Op::SpaceUpto(n, k)),
        2 => proptest::option::weighted(0.8, size()).prop_map(Op::SpaceAll),
        2 => size().prop_map(Op::Commit),
        4 => size().prop_map(Op::Append),
        3 => size().prop_map(Op::AppendSome),
        2 => Just(Op::Push),
        1 => Just(Op::Close),
        1 => Just(Op::Abort),
        8 => rd_op().prop_map(Op::Rd),
        2 => (0usize..40).prop_map(Op::ConsumeThenAppend),
        1 => Just(Op::Release),
        1 => Just(Op::Reset),
        3 => Just(Op::Forward),
        3 => rd_op().prop_map(Op::DestRd),
        1 => eof_kind().prop_map(Op::DestEnd),
        1 => Just(Op::DestReset),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), 0..64)
}

// ---------------------------------------------------------------------------------------------
// The harness

/// Pseudo-random bytes to write, so that every byte written is (almost) distinct from its
/// neighbours and a misplaced byte shows.
#[derive(Debug)]
struct Pattern(u32);

impl Pattern {
    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            // xorshift32
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            *b = (self.0 >> 8) as u8;
        }
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }
}

/// The buffer under test, the `forward` destination, and their models.
struct Harness<S: Storage<u8>> {
    pb: PipeBuf<u8, S>,
    model: Model,
    dest: PipeBuf<u8, [u8; DEST_LIMIT]>,
    dmodel: Model,
    growable: bool,
    pattern: Pattern,
}

impl<S: Storage<u8>> Harness<S> {
    fn new(pb: PipeBuf<u8, S>, limit: usize, growable: bool) -> Self {
        Harness {
            pb,
            model: Model::new(limit),
            dest: PipeBuf::with_storage([0; DEST_LIMIT]),
            dmodel: Model::new(DEST_LIMIT),
            growable,
            pattern: Pattern(0x9e37_79b9),
        }
    }

    fn run(&mut self, ops: &[Op]) -> Result<(), TestCaseError> {
        check(&mut self.pb, &self.model, self.growable)?;
        check(&mut self.dest, &self.dmodel, false)?;
        for (i, op) in ops.iter().enumerate() {
            let before = (self.pb.tripwire(), self.dest.tripwire());
            let model_before = (self.model.key(), self.dmodel.key());
            self.apply(*op)
                .map_err(|e| TestCaseError::fail(format!("op #{i} {op:?}: {e}")))?;
            prop_assert_eq!(
                self.pb.tripwire() != before.0,
                self.model.key() != model_before.0,
                "op #{} {:?}: activity on the buffer (model {:?} -> {:?})",
                i,
                op,
                model_before.0,
                self.model.key()
            );
            prop_assert_eq!(
                self.dest.tripwire() != before.1,
                self.dmodel.key() != model_before.1,
                "op #{} {:?}: activity on the destination",
                i,
                op
            );
            check(&mut self.pb, &self.model, self.growable)
                .map_err(|e| TestCaseError::fail(format!("after op #{i} {op:?}: {e}")))?;
            check(&mut self.dest, &self.dmodel, false)
                .map_err(|e| TestCaseError::fail(format!("dest after op #{i} {op:?}: {e}")))?;
        }
        Ok(())
    }

    /// Fills a fresh reservation and records it in the model, then commits `k` if given.
    fn fill_and_commit(
        &mut self,
        got: Result<usize, Error>,
        expected: Result<usize, Error>,
        reserved: Vec<u8>,
        commit: Option<Size>,
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(got, expected, "space result");
        if got.is_ok() {
            self.model.reserved = reserved;
        }
        if let (Ok(_), Some(k)) = (got, commit) {
            let k = k.resolve(self.model.reserved.len());
            let got = self.pb.wr().commit(k);
            prop_assert_eq!(got, self.model.commit(k), "commit({})", k);
        }
        Ok(())
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        let m = &mut self.model;
        match op {
            Op::Space(n, commit) => {
                let n = n.resolve(m.free());
                let expected = m.space(n);
                let mut wr = self.pb.wr();
                let (got, bytes) = match wr.space(n) {
                    Ok(s) => {
                        self.pattern.fill(s);
                        (Ok(s.len()), s.to_vec())
                    }
                    Err(e) => (Err(e), Vec::new()),
                };
                self.fill_and_commit(got, expected, bytes, commit)?;
            }
            Op::SpaceUpto(n, commit) => {
                let n = n.resolve(m.free());
                let expected = m.space_upto(n);
                let mut wr = self.pb.wr();
                let (got, bytes) = match wr.space_upto(n) {
                    Ok(s) => {
                        self.pattern.fill(s);
                        (Ok(s.len()), s.to_vec())
                    }
                    Err(e) => (Err(e), Vec::new()),
                };
                self.fill_and_commit(got, expected, bytes, commit)?;
            }
            Op::SpaceAll(commit) => {
                let open = m.is_open();
                let free = m.free();
                let mut wr = self.pb.wr();
                let (got, bytes) = match wr.space_all() {
                    Ok(s) => {
                        self.pattern.fill(s);
                        (Ok(s.len()), s.to_vec())
                    }
                    Err(e) => (Err(e), Vec::new()),
                };
                // How much is already held is the storage's business: accept any amount
                // that is within the limit and is not empty while there is room.
                let expected = match got {
                    _ if !open => Err(Error::AfterEof),
                    Ok(len) if len <= free && (len == 0) == (free == 0) => Ok(len),
                    _ => Err(Error::NoSpace {
                        requested: 1,
                        available: free,
                    }),
                };
                prop_assert!(
                    got.map_or(true, |len| len + self.model.len() <= self.pb.capacity()),
                    "space_all handed out more than the storage holds"
                );
                self.fill_and_commit(got, expected, bytes, commit)?;
            }
            Op::Commit(k) => {
                let k = k.resolve(m.reserved.len());
                let got = self.pb.wr().commit(k);
                prop_assert_eq!(got, m.commit(k));
            }
            Op::Append(n) => {
                let n = n.resolve_data(m.free(), m.limit);
                let bytes = self.pattern.bytes(n);
                let got = self.pb.wr().append(&bytes);
                prop_assert_eq!(got, m.append(&bytes));
            }
            Op::AppendSome(n) => {
                let n = n.resolve_data(m.free(), m.limit);
                let bytes = self.pattern.bytes(n);
                let got = self.pb.wr().append_some(&bytes);
                prop_assert_eq!(got, m.append_some(&bytes));
            }
            Op::Push => {
                self.pb.wr().push();
                m.push();
            }
            Op::Close => {
                self.pb.wr().close();
                m.end(EofKind::Close);
            }
            Op::Abort => {
                self.pb.wr().abort();
                m.end(EofKind::Abort);
            }
            Op::Rd(op) => apply_rd(&mut self.pb, m, op)?,
            Op::ConsumeThenAppend(n) => {
                let n = n.min(m.len());
                let len_before = self.pb.len();
                let tripwire_before = self.pb.tripwire();
                self.pb.rd().consume(n).map_err(|e| {
                    TestCaseError::fail(format!("consume({n}) of {len_before}: {e}"))
                })?;
                m.consume(n);
                let bytes = self.pattern.bytes(n);
                let got = self.pb.wr().append(&bytes);
                prop_assert_eq!(got, m.append(&bytes));
                if got.is_ok() {
                    prop_assert_eq!(self.pb.len(), len_before, "same length as before");
                }
                if n > 0 {
                    prop_assert_ne!(self.pb.tripwire(), tripwire_before, "activity unseen");
                }
            }
            Op::Release => {
                let expected = self.growable
                    && m.data.is_empty()
                    && m.reserved.is_empty()
                    && self.pb.capacity() > 0;
                prop_assert_eq!(self.pb.release(), expected, "release()");
                if expected {
                    prop_assert_eq!(self.pb.capacity(), 0, "capacity after release");
                }
            }
            Op::Reset => {
                self.pb.reset();
                m.reset();
            }
            Op::Forward => {
                let got = self.pb.rd().forward(&mut self.dest.wr());
                prop_assert_eq!(got, m.forward(&mut self.dmodel), "forward");
            }
            Op::DestRd(op) => apply_rd(&mut self.dest, &mut self.dmodel, op)?,
            Op::DestEnd(EofKind::Close) => {
                self.dest.wr().close();
                self.dmodel.end(EofKind::Close);
            }
            Op::DestEnd(EofKind::Abort) => {
                self.dest.wr().abort();
                self.dmodel.end(EofKind::Abort);
            }
            Op::DestReset => {
                self.dest.reset();
                self.dmodel.reset();
            }
        }
        Ok(())
    }
}

fn apply_rd<S: Storage<u8>>(
    pb: &mut PipeBuf<u8, S>,
    m: &mut Model,
    op: RdOp,
) -> Result<(), TestCaseError> {
    let mut rd = pb.rd();
    match op {
        RdOp::Consume(n) => {
            let n = n.resolve(m.len());
            prop_assert_eq!(rd.consume(n), m.consume_checked(n), "consume({})", n);
        }
        RdOp::ConsumeAll => prop_assert_eq!(rd.consume_all(), m.consume_all(), "consume_all"),
        RdOp::ConsumePush => {
            prop_assert_eq!(rd.consume_push(), m.consume_push(), "consume_push");
        }
        RdOp::ConsumeEof => prop_assert_eq!(rd.consume_eof(), m.consume_eof(), "consume_eof"),
        RdOp::Transform(mask) => {
            rd.data_mut().iter_mut().for_each(|b| *b ^= mask);
            m.data.iter_mut().for_each(|b| *b ^= mask);
        }
    }
    Ok(())
}

/// Every query of the buffer and of both views against the model; none may trip the
/// tripwire.
fn check<S: Storage<u8>>(
    pb: &mut PipeBuf<u8, S>,
    m: &Model,
    growable: bool,
) -> Result<(), TestCaseError> {
    let before = pb.tripwire();
    let (a, b) = m.data.as_slices();
    let same_data = |d: &[u8]| d.len() == m.len() && d[..a.len()] == *a && d[a.len()..] == *b;

    prop_assert!(
        same_data(pb.data()),
        "data {:?} != model {:?}",
        pb.data(),
        m.data
    );
    prop_assert_eq!(pb.len(), m.len());
    prop_assert_eq!(pb.is_empty(), m.data.is_empty());
    prop_assert_eq!(pb.state(), m.state());
    prop_assert_eq!(pb.has_pending_push(), m.push);
    prop_assert!(pb.capacity() <= m.limit, "capacity above the limit");
    if !growable {
        prop_assert_eq!(pb.capacity(), m.limit, "fixed storage capacity");
    }
    prop_assert!(
        m.is_open() || m.reserved.is_empty(),
        "model: reservation after EOF"
    );

    {
        let rd = pb.rd();
        prop_assert!(same_data(rd.data()), "rd().data()");
        prop_assert_eq!(rd.len(), m.len());
        prop_assert_eq!(rd.is_empty(), m.data.is_empty());
        prop_assert_eq!(rd.has_pending_push(), m.push);
        prop_assert_eq!(rd.pending_eof(), m.pending_eof());
        prop_assert_eq!(
            rd.has_pending_eof(),
            m.data.is_empty() && m.pending_eof().is_some()
        );
        prop_assert_eq!(rd.is_closed(), m.eof_kind() == Some(EofKind::Close));
        prop_assert_eq!(rd.is_aborted(), m.eof_kind() == Some(EofKind::Abort));
        prop_assert_eq!(rd.is_done(), matches!(m.eof, ModelEof::Consumed(_)));
        prop_assert_eq!(rd.state(), m.state());
        prop_assert_eq!(rd.tripwire(), before);
    }

    {
        let mut wr = pb.wr();
        let room = if m.is_open() { m.free() } else { 0 };
        prop_assert_eq!(wr.room(), room, "room()");
        prop_assert_eq!(wr.is_full(), m.free() == 0, "is_full()");
        prop_assert_eq!(wr.limit(), m.limit, "limit()");
        prop_assert_eq!(wr.queued(), m.len());
        prop_assert_eq!(wr.is_eof(), !m.is_open());
        prop_assert_eq!(wr.state(), m.state());
        prop_assert_eq!(wr.tripwire(), before);
        // The reservation, read through the API: an impossible commit is refused, with the
        // reserved count, and changes nothing.
        let probe = if m.is_open() {
            Err(Error::CommitBeyondReserved {
                requested: usize::MAX,
                reserved: m.reserved.len(),
            })
        } else {
            Err(Error::AfterEof)
        };
        prop_assert_eq!(wr.commit(usize::MAX), probe, "reservation");
    }

    prop_assert_eq!(pb.tripwire(), before, "a query tripped the tripwire");
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The tests

#[cfg(feature = "alloc")]
proptest! {
    #![proptest_config(config())]

    #[test]
    fn growable_buffer_with_a_large_limit_agrees_with_the_model(ops in ops()) {
        let pb = PipeBuf::<u8>::with_limits(16, 1 << 16);
        Harness::new(pb, 1 << 16, true).run(&ops)?;
    }

    #[test]
    fn growable_buffer_with_a_small_limit_agrees_with_the_model(ops in ops()) {
        let pb = PipeBuf::<u8>::with_limits(4, 64);
        Harness::new(pb, 64, true).run(&ops)?;
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fixed_array_buffer_agrees_with_the_model(ops in ops()) {
        let pb = PipeBuf::with_storage([0u8; 64]);
        Harness::new(pb, 64, false).run(&ops)?;
    }

    #[test]
    fn fixed_slice_buffer_agrees_with_the_model(ops in ops()) {
        let mut backing = [0u8; 48];
        let pb = PipeBuf::with_storage(&mut backing[..]);
        Harness::new(pb, 48, false).run(&ops)?;
    }
}

/// The sequences every storage kind must get right, whatever the random generator picks.
fn fixed_sequences() -> Vec<Vec<Op>> {
    use Op::*;
    vec![
        // Consuming n and appending n in one step leaves the length as it was, yet is
        // activity; so is a step that consumes and appends everything.
        vec![
            Append(Size::Abs(10)),
            ConsumeThenAppend(4),
            ConsumeThenAppend(10),
            Space(Size::Abs(3), Some(Size::Rel(0))),
            ConsumeThenAppend(13),
        ],
        // Commit beyond the reservation, then within it, then a lone commit of the rest.
        vec![
            Space(Size::Abs(5), Some(Size::Rel(1))),
            Commit(Size::Abs(2)),
            Commit(Size::Rel(0)),
            Commit(Size::Abs(1)),
        ],
        // Fill to the limit exactly, refuse one more, drain, close, see the EOF once.
        vec![
            Append(Size::Rel(0)),
            Append(Size::Abs(1)),
            AppendSome(Size::Abs(1)),
            Space(Size::Huge, None),
            SpaceUpto(Size::Abs(4), Some(Size::Abs(0))),
            SpaceAll(None),
            Push,
            Close,
            Rd(RdOp::ConsumeEof),
            Rd(RdOp::Consume(Size::Rel(1))),
            Rd(RdOp::ConsumeAll),
            Rd(RdOp::ConsumePush),
            Rd(RdOp::ConsumeEof),
            Rd(RdOp::ConsumeEof),
            Abort,
            Append(Size::Abs(0)),
            Release,
            Reset,
            Append(Size::Abs(3)),
        ],
        // Forward under backpressure, with a push and an abort behind the data, then into
        // a destination that has already ended.
        vec![
            Append(Size::Rel(0)),
            Push,
            Abort,
            Forward,
            Forward,
            DestRd(RdOp::ConsumeAll),
            Forward,
            DestRd(RdOp::ConsumeAll),
            Forward,
            Forward,
            DestRd(RdOp::ConsumeAll),
            DestRd(RdOp::ConsumePush),
            DestRd(RdOp::ConsumeEof),
            Reset,
            Append(Size::Abs(2)),
            Close,
            Forward,
        ],
    ]
}

fn run_fixed_sequences<S: Storage<u8>>(make: impl Fn() -> (PipeBuf<u8, S>, usize, bool)) {
    for ops in fixed_sequences() {
        let (pb, limit, growable) = make();
        if let Err(e) = Harness::new(pb, limit, growable).run(&ops) {
            panic!("{ops:?}: {e}");
        }
    }
}

#[cfg(feature = "alloc")]
#[test]
fn growable_buffer_gets_the_fixed_sequences_right() {
    run_fixed_sequences(|| (PipeBuf::<u8>::with_limits(4, 64), 64, true));
    run_fixed_sequences(|| (PipeBuf::<u8>::with_limits(16, 1 << 16), 1 << 16, true));
}

#[test]
fn fixed_buffer_gets_the_fixed_sequences_right() {
    run_fixed_sequences(|| (PipeBuf::with_storage([0u8; 64]), 64, false));
    // No room at all: every write is refused or empty, the stream state still works.
    run_fixed_sequences(|| (PipeBuf::with_storage([0u8; 0]), 0, false));
}

/// A refused `space()` leaves the buffer unchanged, the earlier reservation included, whether or not the
/// buffer had consumed data to compact.
#[test]
fn a_refused_space_keeps_the_earlier_reservation() {
    let mut pb = PipeBuf::with_storage([0u8; 8]);
    pb.wr().append(b"abcd").unwrap();
    pb.rd().consume(2).unwrap();
    pb.wr().space(2).unwrap().copy_from_slice(b"xy");
    assert_eq!(
        pb.wr().space(7).err(),
        Some(Error::NoSpace {
            requested: 7,
            available: 6
        })
    );
    assert_eq!(pb.wr().commit(2), Ok(()));
    assert_eq!(pb.data(), b"cdxy");
}
