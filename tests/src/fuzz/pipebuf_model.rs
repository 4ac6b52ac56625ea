//! A `PipeBuf` driven by a sequence of operations read from the input, checked after every
//! step against a deliberately simple reference model (the waiting data as a `VecDeque`,
//! the push flag, the EOF, the producer's reservation and the limit), as
//! `pipebuf/tests/model.rs` does with proptest.
//!
//! Checked after every operation: its return value, including the exact `Error` and its
//! fields; the waiting data byte for byte (written bytes come from a pseudo-random stream,
//! so a lost, duplicated or stale byte shows); every query of both views; the reservation
//! (read through `commit(usize::MAX)`); and activity: the `Tripwire` moves exactly when the
//! model says something observable happened, and queries never move it. A second buffer
//! with a small fixed limit is the destination of `forward`. The first byte chooses the
//! storage: growable with a large or small limit, a fixed array, or a fixed slice.

use std::collections::VecDeque;

use pipebuf::{EofKind, Error, PBufState, PipeBuf, Storage};

use super::input::Input;

/// Limit of the `forward` destination: small, so that forwarding meets backpressure.
const DEST_LIMIT: usize = 24;
/// Most operations per input.
const MAX_OPS: usize = 512;

/// Runs one input; panics if the buffer and the model disagree.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    match input.below(4) {
        0 => Harness::new(PipeBuf::<u8>::with_limits(16, 1 << 16), 1 << 16, true).run(input),
        1 => Harness::new(PipeBuf::<u8>::with_limits(4, 64), 64, true).run(input),
        2 => Harness::new(PipeBuf::with_storage([0u8; 64]), 64, false).run(input),
        _ => {
            let mut backing = [0u8; 48];
            Harness::new(PipeBuf::with_storage(&mut backing[..]), 48, false).run(input);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ModelEof {
    Open,
    Pending(EofKind),
    Consumed(EofKind),
}

/// Everything about a buffer that its public API lets one observe.
#[derive(Debug, Clone)]
struct Model {
    data: VecDeque<u8>,
    push: bool,
    eof: ModelEof,
    /// The bytes written into the current reservation; its length is the reserved count.
    reserved: Vec<u8>,
    limit: usize,
    consumed: u64,
    produced: u64,
    resets: u64,
}

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
    /// the EOF; a push or EOF never goes to a destination that has ended; data or an EOF
    /// that must go there is an `AfterEof` error.
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

/// A size, absolute or relative to the current room, length or reservation, so that
/// boundaries are hit whatever the limit.
#[derive(Debug, Clone, Copy)]
enum Size {
    Abs(usize),
    Rel(i8),
    Huge,
}

impl Size {
    fn read(input: &mut Input<'_>) -> Size {
        let b = input.byte();
        match b % 11 {
            0..=5 => Size::Abs(usize::from(b / 11) % 70),
            6..=9 => Size::Rel((b / 11 % 5) as i8 - 2),
            _ => Size::Huge,
        }
    }

    fn resolve(self, base: usize) -> usize {
        match self {
            Size::Abs(n) => n,
            Size::Rel(d) => base.saturating_add_signed(isize::from(d)),
            Size::Huge => usize::MAX,
        }
    }

    fn resolve_data(self, base: usize, limit: usize) -> usize {
        match self {
            Size::Huge => limit + 1,
            s => s.resolve(base),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum RdOp {
    Consume(Size),
    ConsumeAll,
    ConsumePush,
    ConsumeEof,
    Transform(u8),
}

impl RdOp {
    fn read(input: &mut Input<'_>) -> RdOp {
        match input.below(10) {
            0..=3 => RdOp::Consume(Size::read(input)),
            4 => RdOp::ConsumeAll,
            5 | 6 => RdOp::ConsumePush,
            7 | 8 => RdOp::ConsumeEof,
            _ => RdOp::Transform(input.byte()),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Space(Size, Option<Size>),
    SpaceUpto(Size, Option<Size>),
    SpaceAll(Option<Size>),
    Commit(Size),
    Append(Size),
    AppendSome(Size),
    Push,
    Close,
    Abort,
    Rd(RdOp),
    ConsumeThenAppend(usize),
    Release,
    Reset,
    Forward,
    DestRd(RdOp),
    DestEnd(EofKind),
    DestReset,
}

fn commit_size(input: &mut Input<'_>) -> Option<Size> {
    (input.below(5) != 0).then(|| Size::read(input))
}

impl Op {
    fn read(input: &mut Input<'_>) -> Op {
        match input.below(19) {
            0 | 1 => Op::Space(Size::read(input), commit_size(input)),
            2 | 3 => Op::SpaceUpto(Size::read(input), commit_size(input)),
            4 => Op::SpaceAll(commit_size(input)),
            5 => Op::Commit(Size::read(input)),
            6 => Op::Append(Size::read(input)),
            7 => Op::AppendSome(Size::read(input)),
            8 => Op::Push,
            9 => Op::Close,
            10 => Op::Abort,
            11 | 12 => Op::Rd(RdOp::read(input)),
            13 => Op::ConsumeThenAppend(input.below(70)),
            14 => Op::Release,
            15 => Op::Reset,
            16 => Op::Forward,
            17 => match input.below(4) {
                0 => Op::DestEnd(EofKind::Close),
                1 => Op::DestEnd(EofKind::Abort),
                2 => Op::DestReset,
                _ => Op::DestRd(RdOp::read(input)),
            },
            _ => Op::DestRd(RdOp::read(input)),
        }
    }
}

/// Pseudo-random bytes to write, so that a misplaced byte shows.
#[derive(Debug)]
struct Pattern(u32);

impl Pattern {
    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
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

    fn run(&mut self, mut input: Input<'_>) {
        check(&mut self.pb, &self.model, self.growable, &"start");
        check(&mut self.dest, &self.dmodel, false, &"start");
        for i in 0..MAX_OPS {
            if input.is_empty() {
                break;
            }
            let op = Op::read(&mut input);
            let before = (self.pb.tripwire(), self.dest.tripwire());
            let model_before = (self.model.key(), self.dmodel.key());
            self.apply(op);
            assert_eq!(
                self.pb.tripwire() != before.0,
                self.model.key() != model_before.0,
                "op #{i} {op:?}: activity on the buffer (model {:?} -> {:?})",
                model_before.0,
                self.model.key()
            );
            assert_eq!(
                self.dest.tripwire() != before.1,
                self.dmodel.key() != model_before.1,
                "op #{i} {op:?}: activity on the destination"
            );
            check(&mut self.pb, &self.model, self.growable, &(i, op));
            check(&mut self.dest, &self.dmodel, false, &(i, op));
        }
    }

    fn fill_and_commit(
        &mut self,
        got: Result<usize, Error>,
        expected: Result<usize, Error>,
        reserved: Vec<u8>,
        commit: Option<Size>,
    ) {
        assert_eq!(got, expected, "space result");
        if got.is_ok() {
            self.model.reserved = reserved;
        }
        if let (Ok(_), Some(k)) = (got, commit) {
            let k = k.resolve(self.model.reserved.len());
            let got = self.pb.wr().commit(k);
            assert_eq!(got, self.model.commit(k), "commit({k})");
        }
    }

    fn apply(&mut self, op: Op) {
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
                self.fill_and_commit(got, expected, bytes, commit);
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
                self.fill_and_commit(got, expected, bytes, commit);
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
                // How much is held already is the storage's business: any amount within the
                // limit that is not empty while there is room.
                let expected = match got {
                    _ if !open => Err(Error::AfterEof),
                    Ok(len) if len <= free && (len == 0) == (free == 0) => Ok(len),
                    _ => Err(Error::NoSpace {
                        requested: 1,
                        available: free,
                    }),
                };
                assert!(
                    got.is_err()
                        || got.is_ok_and(|len| len + self.model.len() <= self.pb.capacity()),
                    "space_all handed out more than the storage holds"
                );
                self.fill_and_commit(got, expected, bytes, commit);
            }
            Op::Commit(k) => {
                let k = k.resolve(m.reserved.len());
                let got = self.pb.wr().commit(k);
                assert_eq!(got, m.commit(k), "commit({k})");
            }
            Op::Append(n) => {
                let n = n.resolve_data(m.free(), m.limit);
                let bytes = self.pattern.bytes(n);
                let got = self.pb.wr().append(&bytes);
                assert_eq!(got, m.append(&bytes), "append of {n}");
            }
            Op::AppendSome(n) => {
                let n = n.resolve_data(m.free(), m.limit);
                let bytes = self.pattern.bytes(n);
                let got = self.pb.wr().append_some(&bytes);
                assert_eq!(got, m.append_some(&bytes), "append_some of {n}");
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
            Op::Rd(op) => apply_rd(&mut self.pb, m, op),
            Op::ConsumeThenAppend(n) => {
                let n = n.min(m.len());
                let len_before = self.pb.len();
                let tripwire_before = self.pb.tripwire();
                assert_eq!(self.pb.rd().consume(n), Ok(()), "consume({n})");
                m.consume(n);
                let bytes = self.pattern.bytes(n);
                let got = self.pb.wr().append(&bytes);
                assert_eq!(got, m.append(&bytes), "append after consume");
                if got.is_ok() {
                    assert_eq!(self.pb.len(), len_before, "same length as before");
                }
                if n > 0 {
                    assert_ne!(self.pb.tripwire(), tripwire_before, "activity unseen");
                }
            }
            Op::Release => {
                let expected = self.growable
                    && m.data.is_empty()
                    && m.reserved.is_empty()
                    && self.pb.capacity() > 0;
                assert_eq!(self.pb.release(), expected, "release()");
                if expected {
                    assert_eq!(self.pb.capacity(), 0, "capacity after release");
                }
            }
            Op::Reset => {
                self.pb.reset();
                m.reset();
            }
            Op::Forward => {
                let got = self.pb.rd().forward(&mut self.dest.wr());
                assert_eq!(got, m.forward(&mut self.dmodel), "forward");
            }
            Op::DestRd(op) => apply_rd(&mut self.dest, &mut self.dmodel, op),
            Op::DestEnd(kind) => {
                match kind {
                    EofKind::Close => self.dest.wr().close(),
                    EofKind::Abort => self.dest.wr().abort(),
                }
                self.dmodel.end(kind);
            }
            Op::DestReset => {
                self.dest.reset();
                self.dmodel.reset();
            }
        }
    }
}

fn apply_rd<S: Storage<u8>>(pb: &mut PipeBuf<u8, S>, m: &mut Model, op: RdOp) {
    let mut rd = pb.rd();
    match op {
        RdOp::Consume(n) => {
            let n = n.resolve(m.len());
            assert_eq!(rd.consume(n), m.consume_checked(n), "consume({n})");
        }
        RdOp::ConsumeAll => assert_eq!(rd.consume_all(), m.consume_all(), "consume_all"),
        RdOp::ConsumePush => assert_eq!(rd.consume_push(), m.consume_push(), "consume_push"),
        RdOp::ConsumeEof => assert_eq!(rd.consume_eof(), m.consume_eof(), "consume_eof"),
        RdOp::Transform(mask) => {
            rd.data_mut().iter_mut().for_each(|b| *b ^= mask);
            m.data.iter_mut().for_each(|b| *b ^= mask);
        }
    }
}

/// Every query of the buffer and of both views against the model; none may move the
/// tripwire.
/// `at` names the step for the panic message (formatted only on failure).
fn check<S: Storage<u8>>(
    pb: &mut PipeBuf<u8, S>,
    m: &Model,
    growable: bool,
    at: &dyn std::fmt::Debug,
) {
    let before = pb.tripwire();
    let (a, b) = m.data.as_slices();
    let same_data = |d: &[u8]| d.len() == m.len() && d[..a.len()] == *a && d[a.len()..] == *b;

    assert!(
        same_data(pb.data()),
        "{at:?}: data {:?} != model {:?}",
        pb.data(),
        m.data
    );
    assert_eq!(pb.len(), m.len(), "{at:?}: len");
    assert_eq!(pb.is_empty(), m.data.is_empty(), "{at:?}: is_empty");
    assert_eq!(pb.state(), m.state(), "{at:?}: state");
    assert_eq!(pb.has_pending_push(), m.push, "{at:?}: push");
    assert!(pb.capacity() <= m.limit, "{at:?}: capacity above the limit");
    if !growable {
        assert_eq!(pb.capacity(), m.limit, "{at:?}: fixed storage capacity");
    }

    {
        let rd = pb.rd();
        assert!(same_data(rd.data()), "{at:?}: rd().data()");
        assert_eq!(rd.len(), m.len(), "{at:?}: rd len");
        assert_eq!(rd.is_empty(), m.data.is_empty(), "{at:?}: rd is_empty");
        assert_eq!(rd.has_pending_push(), m.push, "{at:?}: rd push");
        assert_eq!(rd.pending_eof(), m.pending_eof(), "{at:?}: pending_eof");
        assert_eq!(
            rd.has_pending_eof(),
            m.data.is_empty() && m.pending_eof().is_some(),
            "{at:?}: has_pending_eof"
        );
        assert_eq!(
            rd.is_closed(),
            m.eof_kind() == Some(EofKind::Close),
            "{at:?}: is_closed"
        );
        assert_eq!(
            rd.is_aborted(),
            m.eof_kind() == Some(EofKind::Abort),
            "{at:?}: is_aborted"
        );
        assert_eq!(
            rd.is_done(),
            matches!(m.eof, ModelEof::Consumed(_)),
            "{at:?}: is_done"
        );
        assert_eq!(rd.state(), m.state(), "{at:?}: rd state");
        assert_eq!(rd.tripwire(), before, "{at:?}: rd tripwire");
    }

    {
        let mut wr = pb.wr();
        let room = if m.is_open() { m.free() } else { 0 };
        assert_eq!(wr.room(), room, "{at:?}: room()");
        assert_eq!(wr.is_full(), m.free() == 0, "{at:?}: is_full()");
        assert_eq!(wr.limit(), m.limit, "{at:?}: limit()");
        assert_eq!(wr.queued(), m.len(), "{at:?}: queued()");
        assert_eq!(wr.is_eof(), !m.is_open(), "{at:?}: is_eof()");
        assert_eq!(wr.state(), m.state(), "{at:?}: wr state");
        assert_eq!(wr.tripwire(), before, "{at:?}: wr tripwire");
        let probe = if m.is_open() {
            Err(Error::CommitBeyondReserved {
                requested: usize::MAX,
                reserved: m.reserved.len(),
            })
        } else {
            Err(Error::AfterEof)
        };
        assert_eq!(wr.commit(usize::MAX), probe, "{at:?}: reservation");
    }

    assert_eq!(pb.tripwire(), before, "{at:?}: a query moved the tripwire");
}
