//! Throughput benchmarks for `PipeBuf` against plain `memcpy`, `Vec<u8>`, `std::io`
//! buffering, `VecDeque<u8>` and `bytes::BytesMut`.
//!
//! Run with `cargo bench -p pipebuf --bench throughput`.
//!
//! Two groups:
//!
//! - `chain_64k_x4`: a 64 KiB chunk enters buffer 1 from a source slice and moves hop by hop
//!   to buffer 4, where it is consumed: four copies per iteration. The throughput is set to
//!   4 × 64 KiB, so the reported rate is the *per-hop* rate. `memcpy` (four
//!   `copy_from_slice`) is the physical limit. Every variant reuses its buffers across
//!   iterations (steady state, no allocation) and hands each hop's destination to
//!   `black_box`, so no copy can be elided or forwarded.
//!
//!   Where the buffers sit matters more than any per-hop bookkeeping: with glibc's
//!   `rep movsb` memcpy on AMD Zen 3, a copy whose `(dst - src) mod 4096` lies in `1..32`
//!   runs about 20 times slower (4 KiB aliasing), and consecutive 64 KiB heap allocations
//!   sit exactly 16 bytes apart modulo a page. So the group has two layouts, and the bench
//!   prints each variant's per-hop `(dst - src) mod 4096` on stderr:
//!   - `heap/*`: every buffer is its own heap allocation, as each type makes it (what a
//!     user gets; placement is up to the allocator);
//!   - `arena_skew{256,16}/*`: source and buffers are carved from one page-aligned
//!     allocation so that every hop has the stated skew; `memcpy` and `PipeBuf` (over
//!     `&mut [u8]` storage) then copy between identical addresses, which isolates the
//!     library's own overhead.
//! - `records_16b/*/backlog_N`: 1000 cycles of "append one 16-byte record, copy the oldest
//!   record out, consume it", with `N` records kept queued in the buffer throughout.
//!
//! Each variant is checked for correct output before it is measured.

use std::collections::VecDeque;
use std::hint::black_box;
use std::io::{BufRead, BufReader, BufWriter, Read, Sink, Write};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use criterion::{criterion_group, criterion_main};
use pipebuf::{PipeBuf, Storage};

/// Size of the chunk moved through the chain.
const CHUNK: usize = 64 * 1024;
/// Copies per chain iteration: source → 1 → 2 → 3 → 4.
const HOPS: usize = 4;
/// Size of one small record.
const REC: usize = 16;
/// Push/consume cycles per small-record iteration.
const CYCLES: usize = 1000;
/// Page size assumed for the aliasing report and the arena layout.
const PAGE: usize = 4096;

/// Moves a chunk from its source through four buffers.
trait Chain {
    /// The bytes that enter buffer 1.
    fn src(&self) -> &[u8];
    /// One iteration: copies the source into buffer 1, moves it to buffer 4 hop by hop,
    /// hands what arrived in buffer 4 to `sink` and consumes it there.
    fn run(&mut self, sink: impl FnOnce(&[u8]));
    /// Start addresses of the source and of buffers 1 to 4, for the aliasing report.
    fn addrs(&mut self) -> [usize; HOPS + 1];
}

fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 8)) as u8
}

/// The source of the `heap` layout: its own allocation, leaked so every variant can hold it.
fn heap_source() -> &'static [u8] {
    Vec::leak((0..CHUNK).map(pattern).collect())
}

/// The source and four buffers of the `arena` layout: one page-aligned leaked allocation,
/// slot `i` at `i * (CHUNK + skew)`, so that every hop has `(dst - src) mod 4096 == skew`.
fn arena(skew: usize) -> (&'static [u8], [&'static mut [u8]; HOPS]) {
    let stride = CHUNK + skew;
    let whole = Vec::leak(vec![0u8; PAGE + stride * (HOPS + 1)]);
    let pad = whole.as_ptr().align_offset(PAGE);
    let (_, mut rest) = whole.split_at_mut(pad);
    let slots = core::array::from_fn::<_, { HOPS + 1 }, _>(|_| {
        let (slot, tail) = core::mem::take(&mut rest).split_at_mut(stride);
        rest = tail;
        &mut slot[..CHUNK]
    });
    for (i, b) in slots[0].iter_mut().enumerate() {
        *b = pattern(i);
    }
    let [src, b1, b2, b3, b4] = slots;
    (src, [b1, b2, b3, b4])
}

/// Reference: four `copy_from_slice`.
struct Memcpy<B> {
    src: &'static [u8],
    bufs: [B; HOPS],
}

impl<B: AsMut<[u8]> + AsRef<[u8]>> Chain for Memcpy<B> {
    fn src(&self) -> &[u8] {
        self.src
    }
    fn run(&mut self, sink: impl FnOnce(&[u8])) {
        let [b1, b2, b3, b4] = &mut self.bufs;
        b1.as_mut().copy_from_slice(black_box(self.src));
        black_box(b1.as_ref());
        b2.as_mut().copy_from_slice(b1.as_ref());
        black_box(b2.as_ref());
        b3.as_mut().copy_from_slice(b2.as_ref());
        black_box(b3.as_ref());
        b4.as_mut().copy_from_slice(b3.as_ref());
        sink(b4.as_ref());
    }
    fn addrs(&mut self) -> [usize; HOPS + 1] {
        let [b1, b2, b3, b4] = &self.bufs;
        [self.src, b1.as_ref(), b2.as_ref(), b3.as_ref(), b4.as_ref()].map(|s| s.as_ptr() as usize)
    }
}

/// Four `Vec<u8>`: `extend_from_slice` into the next, `clear` the previous.
struct VecHops {
    src: &'static [u8],
    v: [Vec<u8>; HOPS],
}

impl Chain for VecHops {
    fn src(&self) -> &[u8] {
        self.src
    }
    fn run(&mut self, sink: impl FnOnce(&[u8])) {
        let [v1, v2, v3, v4] = &mut self.v;
        v1.extend_from_slice(black_box(self.src));
        black_box(v1.as_slice());
        v2.extend_from_slice(v1);
        v1.clear();
        black_box(v2.as_slice());
        v3.extend_from_slice(v2);
        v2.clear();
        black_box(v3.as_slice());
        v4.extend_from_slice(v3);
        v3.clear();
        sink(v4);
        v4.clear();
    }
    fn addrs(&mut self) -> [usize; HOPS + 1] {
        let [v1, v2, v3, v4] = &self.v;
        [self.src, v1, v2, v3, v4].map(|s| s.as_ptr() as usize)
    }
}

/// A `BufWriter` big enough that a chunk is really buffered (a write of at least its capacity
/// into an empty `BufWriter` bypasses the buffer). Data is read in place through `buffer()`
/// and consumed by flushing into `io::Sink`, which copies nothing.
fn bufwriter() -> BufWriter<Sink> {
    BufWriter::with_capacity(2 * CHUNK, std::io::sink())
}

/// Four `BufWriter<Sink>` hops: `write_all` of the previous one's `buffer()`, then `flush`.
struct BufWriterHops {
    src: &'static [u8],
    w: [BufWriter<Sink>; HOPS],
}

impl Chain for BufWriterHops {
    fn src(&self) -> &[u8] {
        self.src
    }
    fn run(&mut self, sink: impl FnOnce(&[u8])) {
        let [w1, w2, w3, w4] = &mut self.w;
        w1.write_all(black_box(self.src)).unwrap();
        black_box(w1.buffer());
        w2.write_all(w1.buffer()).unwrap();
        w1.flush().unwrap();
        black_box(w2.buffer());
        w3.write_all(w2.buffer()).unwrap();
        w2.flush().unwrap();
        black_box(w3.buffer());
        w4.write_all(w3.buffer()).unwrap();
        w3.flush().unwrap();
        sink(w4.buffer());
        w4.flush().unwrap();
    }
    fn addrs(&mut self) -> [usize; HOPS + 1] {
        let [w1, w2, w3, w4] = &self.w;
        [self.src, w1.buffer(), w2.buffer(), w3.buffer(), w4.buffer()].map(|s| s.as_ptr() as usize)
    }
}

/// Hop 1 through a `BufReader` reading the source slice (`fill_buf` copies into its
/// buffer), hops 2 to 4 through `BufWriter<Sink>` as in [`BufWriterHops`].
struct BufReaderHops {
    src: &'static [u8],
    /// Reused across iterations: only its inner reader is pointed at the source again.
    rd: BufReader<&'static [u8]>,
    w: [BufWriter<Sink>; HOPS - 1],
}

impl Chain for BufReaderHops {
    fn src(&self) -> &[u8] {
        self.src
    }
    fn run(&mut self, sink: impl FnOnce(&[u8])) {
        *self.rd.get_mut() = black_box(self.src);
        let [w2, w3, w4] = &mut self.w;
        let data = self.rd.fill_buf().unwrap();
        let n = data.len();
        black_box(data);
        w2.write_all(data).unwrap();
        self.rd.consume(n);
        black_box(w2.buffer());
        w3.write_all(w2.buffer()).unwrap();
        w2.flush().unwrap();
        black_box(w3.buffer());
        w4.write_all(w3.buffer()).unwrap();
        w3.flush().unwrap();
        sink(w4.buffer());
        w4.flush().unwrap();
    }
    fn addrs(&mut self) -> [usize; HOPS + 1] {
        // After a full consume `buffer()` is empty at the end of the filled part, which is
        // CHUNK (a multiple of the page size) past the start; fine modulo 4096.
        let [w2, w3, w4] = &self.w;
        let r = self.rd.buffer();
        [self.src, r, w2.buffer(), w3.buffer(), w4.buffer()].map(|s| s.as_ptr() as usize)
    }
}

/// How a `PipeBuf` hop is written.
#[derive(Clone, Copy)]
enum Hop {
    /// `rd.forward(&mut next.wr())`.
    Forward,
    /// `space(n)`, `copy_from_slice`, `commit(n)`, `consume(n)`.
    SpaceCommit,
}

/// Four `PipeBuf`s over any storage.
struct PipeBufChain<S> {
    src: &'static [u8],
    bufs: [Box<PipeBuf<u8, S>>; HOPS],
    hop: Hop,
}

/// One `PipeBuf` hop: everything waiting in `from` goes to `to`.
#[inline]
fn hop<S1: Storage<u8>, S2: Storage<u8>>(
    how: Hop,
    from: &mut PipeBuf<u8, S1>,
    to: &mut PipeBuf<u8, S2>,
) {
    match how {
        Hop::Forward => {
            from.rd().forward(&mut to.wr()).unwrap();
        }
        Hop::SpaceCommit => {
            let mut rd = from.rd();
            let mut wr = to.wr();
            let n = rd.len();
            wr.space(n).unwrap().copy_from_slice(rd.data());
            wr.commit(n).unwrap();
            rd.consume(n).unwrap();
        }
    }
}

impl<S: Storage<u8>> Chain for PipeBufChain<S> {
    fn src(&self) -> &[u8] {
        self.src
    }
    fn run(&mut self, sink: impl FnOnce(&[u8])) {
        let [p1, p2, p3, p4] = &mut self.bufs;
        let src = black_box(self.src);
        match self.hop {
            Hop::Forward => p1.wr().append(src).unwrap(),
            Hop::SpaceCommit => {
                let mut wr = p1.wr();
                wr.space(src.len()).unwrap().copy_from_slice(src);
                wr.commit(src.len()).unwrap();
            }
        }
        black_box(p1.data());
        hop(self.hop, p1, p2);
        black_box(p2.data());
        hop(self.hop, p2, p3);
        black_box(p3.data());
        hop(self.hop, p3, p4);
        let mut rd = p4.rd();
        sink(rd.data());
        rd.consume_all();
    }
    fn addrs(&mut self) -> [usize; HOPS + 1] {
        // Empty buffers are reset to the start of their storage, so `data()` is an empty
        // slice at the storage's start (once growable storage has been allocated).
        let [p1, p2, p3, p4] = &self.bufs;
        [self.src, p1.data(), p2.data(), p3.data(), p4.data()].map(|s| s.as_ptr() as usize)
    }
}

fn bench_chain<C: Chain>(g: &mut BenchmarkGroup<'_, WallTime>, layout: &str, name: &str, mut c: C) {
    // Twice: the second run checks the steady state (buffers reused).
    for _ in 0..2 {
        let src = c.src().to_vec();
        let mut seen = false;
        c.run(|out| {
            assert_eq!(
                out, src,
                "{layout}/{name}: wrong bytes at the end of the chain"
            );
            seen = true;
        });
        assert!(seen);
    }
    let a = c.addrs();
    let skews: Vec<usize> = a
        .windows(2)
        .map(|w| w[1].wrapping_sub(w[0]) % PAGE)
        .collect();
    eprintln!("chain_64k_x4/{layout}/{name}: per-hop (dst - src) mod {PAGE} = {skews:?}");
    g.bench_function(BenchmarkId::new(layout, name), |b| {
        b.iter(|| {
            c.run(|out| {
                black_box(out);
            })
        })
    });
}

fn chain(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("chain_64k_x4");
    g.throughput(Throughput::Bytes((CHUNK * HOPS) as u64));

    let src = heap_source();
    let bufs = || core::array::from_fn(|_| vec![0u8; CHUNK]);
    bench_chain(&mut g, "heap", "memcpy", Memcpy { src, bufs: bufs() });
    let v = core::array::from_fn(|_| Vec::with_capacity(CHUNK));
    bench_chain(&mut g, "heap", "vec_extend_clear", VecHops { src, v });
    let w = core::array::from_fn(|_| bufwriter());
    bench_chain(&mut g, "heap", "std_bufwriter", BufWriterHops { src, w });
    let hops = BufReaderHops {
        src,
        rd: BufReader::with_capacity(2 * CHUNK, &[]),
        w: core::array::from_fn(|_| bufwriter()),
    };
    bench_chain(&mut g, "heap", "std_bufreader_bufwriter", hops);
    for (name, hop) in [
        ("pipebuf_forward", Hop::Forward),
        ("pipebuf_space_commit", Hop::SpaceCommit),
    ] {
        let bufs = core::array::from_fn(|_| Box::new(PipeBuf::with_limits(CHUNK, CHUNK)));
        bench_chain(&mut g, "heap", name, PipeBufChain { src, bufs, hop });
    }
    let bufs = core::array::from_fn(|_| Box::new(PipeBuf::with_storage([0u8; CHUNK])));
    let hop = Hop::Forward;
    bench_chain(
        &mut g,
        "heap",
        "pipebuf_fixed_forward",
        PipeBufChain { src, bufs, hop },
    );

    for skew in [256, 16] {
        let layout = format!("arena_skew{skew}");
        let (src, bufs) = arena(skew);
        bench_chain(&mut g, &layout, "memcpy", Memcpy { src, bufs });
        let variants: &[_] = if skew == 16 {
            &[("pipebuf_forward", Hop::Forward)]
        } else {
            &[
                ("pipebuf_forward", Hop::Forward),
                ("pipebuf_space_commit", Hop::SpaceCommit),
            ]
        };
        for &(name, hop) in variants {
            let (src, slots) = arena(skew);
            let bufs = slots.map(|s| Box::new(PipeBuf::with_storage(s)));
            bench_chain(&mut g, &layout, name, PipeBufChain { src, bufs, hop });
        }
    }
    g.finish();
}

/// A FIFO of bytes that can take one 16-byte record and give back the oldest one.
trait Fifo {
    /// An empty FIFO with room for a few hundred records.
    fn new() -> Self;
    /// Appends one record.
    fn push(&mut self, rec: &[u8; REC]);
    /// Copies the oldest record out and consumes it.
    fn pop(&mut self) -> [u8; REC];
    /// Bytes queued.
    fn queued(&self) -> usize;
}

/// Initial (and, for `PipeBuf`, fixed) capacity of the small-record FIFOs.
const FIFO_CAP: usize = 4096;

impl Fifo for PipeBuf<u8> {
    fn new() -> Self {
        PipeBuf::with_limits(FIFO_CAP, 64 * 1024)
    }
    #[inline]
    fn push(&mut self, rec: &[u8; REC]) {
        self.wr().append(rec).unwrap();
    }
    #[inline]
    fn pop(&mut self) -> [u8; REC] {
        let mut rd = self.rd();
        let mut out = [0; REC];
        out.copy_from_slice(&rd.data()[..REC]);
        rd.consume(REC).unwrap();
        out
    }
    fn queued(&self) -> usize {
        self.len()
    }
}

impl Fifo for PipeBuf<u8, [u8; FIFO_CAP]> {
    fn new() -> Self {
        PipeBuf::with_storage([0; FIFO_CAP])
    }
    #[inline]
    fn push(&mut self, rec: &[u8; REC]) {
        self.wr().append(rec).unwrap();
    }
    #[inline]
    fn pop(&mut self) -> [u8; REC] {
        let mut rd = self.rd();
        let mut out = [0; REC];
        out.copy_from_slice(&rd.data()[..REC]);
        rd.consume(REC).unwrap();
        out
    }
    fn queued(&self) -> usize {
        self.len()
    }
}

impl Fifo for VecDeque<u8> {
    fn new() -> Self {
        VecDeque::with_capacity(FIFO_CAP)
    }
    #[inline]
    fn push(&mut self, rec: &[u8; REC]) {
        // `Extend<&u8>` from a slice iterator is specialised to a slice copy.
        self.extend(rec);
    }
    #[inline]
    fn pop(&mut self) -> [u8; REC] {
        // `Read for VecDeque<u8>`: copies from `as_slices()`, then `drain(..REC)`.
        let mut out = [0; REC];
        self.read_exact(&mut out).unwrap();
        out
    }
    fn queued(&self) -> usize {
        self.len()
    }
}

/// `BytesMut` consumed with `advance` (no split, stays a unique vector).
struct BytesAdvance(BytesMut);

impl Fifo for BytesAdvance {
    fn new() -> Self {
        BytesAdvance(BytesMut::with_capacity(FIFO_CAP))
    }
    #[inline]
    fn push(&mut self, rec: &[u8; REC]) {
        self.0.extend_from_slice(rec);
    }
    #[inline]
    fn pop(&mut self) -> [u8; REC] {
        let mut out = [0; REC];
        out.copy_from_slice(&self.0[..REC]);
        self.0.advance(REC);
        out
    }
    fn queued(&self) -> usize {
        self.0.len()
    }
}

/// `BytesMut` consumed with `split_to` (the usual framing idiom; shares the allocation).
struct BytesSplitTo(BytesMut);

impl Fifo for BytesSplitTo {
    fn new() -> Self {
        BytesSplitTo(BytesMut::with_capacity(FIFO_CAP))
    }
    #[inline]
    fn push(&mut self, rec: &[u8; REC]) {
        self.0.extend_from_slice(rec);
    }
    #[inline]
    fn pop(&mut self) -> [u8; REC] {
        let rec = self.0.split_to(REC);
        let mut out = [0; REC];
        out.copy_from_slice(&rec);
        out
    }
    fn queued(&self) -> usize {
        self.0.len()
    }
}

/// One iteration: `CYCLES` times push one record, pop one record.
#[inline]
fn cycles<F: Fifo>(f: &mut F, rec: &[u8; REC]) {
    for _ in 0..CYCLES {
        f.push(rec);
        black_box(f.pop());
    }
}

fn bench_records<F: Fifo>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    backlog: usize,
) {
    let mut f = F::new();
    for i in 0..backlog {
        f.push(&[i as u8; REC]);
    }
    // Check: FIFO order, and the backlog stays constant.
    for i in 0..(backlog + 3) {
        let rec = [(backlog + i) as u8; REC];
        f.push(&rec);
        assert_eq!(f.pop(), [i as u8; REC], "{name}: FIFO order");
    }
    assert_eq!(f.queued(), backlog * REC);
    let rec = [0x5a; REC];
    g.bench_with_input(
        BenchmarkId::new(name, format!("backlog_{backlog}")),
        &rec,
        |b, rec| b.iter(|| cycles(&mut f, black_box(rec))),
    );
    assert_eq!(f.queued(), backlog * REC);
}

fn records(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("records_16b");
    g.throughput(Throughput::Elements(CYCLES as u64));
    for backlog in [0, 4] {
        bench_records::<PipeBuf<u8>>(&mut g, "pipebuf", backlog);
        bench_records::<PipeBuf<u8, [u8; FIFO_CAP]>>(&mut g, "pipebuf_fixed", backlog);
        bench_records::<VecDeque<u8>>(&mut g, "vecdeque", backlog);
        bench_records::<BytesAdvance>(&mut g, "bytesmut_advance", backlog);
        bench_records::<BytesSplitTo>(&mut g, "bytesmut_split_to", backlog);
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = chain, records
}
criterion_main!(benches);
