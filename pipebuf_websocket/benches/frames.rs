//! Frame codec benchmarks: `pipebuf_websocket::frame` against tungstenite's and
//! fastwebsockets' frame code.
//!
//! Run with `cargo bench -p pipebuf_websocket --bench frames` (a few minutes); add
//! `-- --test` to run every variant once as a smoke test.
//!
//! Groups, each for 16 B, 1 KiB, 64 KiB and 1 MiB binary payloads, throughput in payload
//! bytes:
//!
//! - `decode/*`: a masked client frame in memory → header parsed, payload unmasked into a
//!   destination buffer (the server's receive path).
//!   - `pipebuf`: `FrameHeader::parse` + `unmask_into` from the input into the
//!     destination: one pass over the payload.
//!   - `tungstenite`: `protocol::WebSocket` (server role) `read()` of a binary message.
//!     Its frame API has no public unmask (`FrameSocket` does not unmask and `mask` is a
//!     private module), so this is the cheapest public path that ends with an unmasked
//!     payload: copy into its read buffer, then unmask in place.
//!   - `fastwebsockets`: `WebSocket::read_frame` (server role, auto-unmask), polled once
//!     with a no-op waker: copy into its read buffer, then unmask in place.
//!
//!   Both libraries read from an in-memory stream that repeats the frame forever, many
//!   small frames per read, so each iteration decodes one frame in steady state.
//! - `encode_unmasked/*`: header + payload into an output buffer (the server's send path).
//!   - `pipebuf`: `FrameHeader::encode` + `copy_from_slice`;
//!   - `tungstenite`: `Frame::message(..).format(&mut Vec)`;
//!   - `fastwebsockets`: `Frame::binary(..).write(&mut Vec)`.
//! - `encode_masked/*`: the same with a masking key (the client's send path).
//!   - `pipebuf`: `FrameHeader::encode` + `unmask_into` (copy and mask in one pass);
//!   - `tungstenite`: `Frame::format` with `header_mut().mask` set (copies the payload to
//!     a `Vec`, masks it, writes it out);
//!   - `fastwebsockets`: `Frame::mask` over a borrowed scratch copy of the payload (masks in
//!     place) + `Frame::write`.
//! - `mask_in_place/*`: `apply_mask` against `fastwebsockets::unmask` (tungstenite's
//!   masking is not public).
//! - `header_parse/*`: `FrameHeader::parse` of a 14-byte header (masked, 64-bit length)
//!   against tungstenite's `FrameHeader::parse`.
//!
//! Every variant's output is checked against the expected bytes before it is measured. The
//! same fixed masking key is used everywhere, so no variant pays for random numbers.
//!
//! Layout: where the bench owns both ends of a payload copy (our decode, every encode
//! except tungstenite's masked one, which copies into a `Vec` of its own first), the source
//! is placed so that `(dst - src) mod 4096 == 256`, away from the 4 KiB aliasing that
//! slows `rep movsb` copies about 20-fold on an AMD Zen 3 machine (see
//! `pipebuf/src/copy.rs`); the bench prints each placed copy's layout on stderr. The
//! libraries' decode paths copy into buffers of their own, whose layout the bench cannot
//! choose.
//! `benches/component.rs` measures the component over the buffers an application gets, at
//! whatever distances they land.

use std::future::Future;
use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use criterion::{criterion_group, criterion_main};
use pipebuf_websocket::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, apply_mask, unmask_into};

/// Payload sizes measured in every group.
const SIZES: [usize; 4] = [16, 1024, 64 * 1024, 1024 * 1024];
/// The masking key of every masked frame.
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// Page size assumed for the layout of copies.
const PAGE: usize = 4096;
/// `(destination - source) mod PAGE` of every copy whose buffers the bench places.
const SKEW: usize = 256;

fn payload(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}

fn label(len: usize) -> String {
    match len {
        n if n >= 1 << 20 => format!("{}MiB", n >> 20),
        n if n >= 1 << 10 => format!("{}KiB", n >> 10),
        n => format!("{n}B"),
    }
}

fn header(len: usize, mask: Option<[u8; 4]>) -> FrameHeader {
    FrameHeader {
        fin: true,
        rsv: 0,
        opcode: OpCode::Binary,
        mask,
        payload_len: len as u64,
    }
}

/// A whole frame carrying `payload`, masked with `KEY` if `masked`.
fn frame(payload: &[u8], masked: bool) -> Vec<u8> {
    let h = header(payload.len(), masked.then_some(KEY));
    let mut out = vec![0u8; h.encoded_len() + payload.len()];
    let n = h.encode(&mut out);
    out[n..].copy_from_slice(payload);
    if masked {
        apply_mask(&mut out[n..], KEY, 0);
    }
    out
}

/// A copy of `data` in a leaked allocation, placed so that a copy from it to `dst` has
/// `(dst - src) mod PAGE == SKEW`.
///
/// On an AMD Zen 3 machine (see `pipebuf/src/copy.rs`), glibc copies blocks over about
/// 2 KiB with `rep movsb`, which runs about 20 times slower when `(dst - src) mod 4096` is in `1..32` (4 KiB
/// aliasing), and separate heap allocations often land at such distances. Placing the
/// source measures the codecs instead of the allocator's luck.
fn place(data: &[u8], dst: *const u8) -> &'static mut [u8] {
    let arena = Vec::leak(vec![0u8; data.len() + PAGE]);
    let base = arena.as_ptr() as usize;
    let off = (dst as usize).wrapping_sub(SKEW).wrapping_sub(base) % PAGE;
    let src = &mut arena[off..off + data.len()];
    src.copy_from_slice(data);
    src
}

/// `(dst - src) mod PAGE`, for the layout report on stderr.
fn skew(src: *const u8, dst: *const u8) -> usize {
    (dst as usize).wrapping_sub(src as usize) % PAGE
}

// ---------------------------------------------------------------------------------------
// In-memory streams for the libraries that read from a stream.

/// Endless input that repeats one frame; writes are discarded.
///
/// The frame is stored back to back as often as fits in 64 KiB (at least once), and a read
/// gets as much as it asks for up to the end of that block, so small frames arrive many
/// per read, as from a busy socket. (Reading one small frame per call would mostly measure
/// tungstenite zeroing its 128 KiB read buffer before every read.)
struct Repeat {
    data: Vec<u8>,
    pos: usize,
}

impl Repeat {
    fn new(frame: Vec<u8>) -> Self {
        let copies = (64 * 1024 / frame.len()).max(1);
        Repeat {
            data: frame.repeat(copies),
            pos: 0,
        }
    }

    fn fill(&mut self, out: &mut [u8]) -> usize {
        let rest = &self.data[self.pos..];
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.pos = (self.pos + n) % self.data.len();
        n
    }
}

impl Read for Repeat {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.fill(buf))
    }
}

impl Write for Repeat {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Repeat {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let rest = &this.data[this.pos..];
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        this.pos = (this.pos + n) % this.data.len();
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Repeat {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Polls a future that never waits (its stream is in memory) to completion.
fn ready<F: Future>(fut: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-memory read returned Pending"),
    }
}

// ---------------------------------------------------------------------------------------
// Decode.

struct OursDecoder {
    input: &'static [u8],
    dst: Vec<u8>,
}

impl OursDecoder {
    fn decode(&mut self) -> &[u8] {
        let Ok(Some((h, n))) = FrameHeader::parse(self.input) else {
            panic!("bad frame");
        };
        let len = h.payload_len as usize;
        let key = h.mask.unwrap_or_default();
        let done = unmask_into(&self.input[n..n + len], &mut self.dst, key, 0);
        &self.dst[..done]
    }
}

fn tungstenite_socket(input: Vec<u8>) -> tungstenite::WebSocket<Repeat> {
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    tungstenite::WebSocket::from_raw_socket(
        Repeat::new(input),
        tungstenite::protocol::Role::Server,
        Some(config),
    )
}

fn tungstenite_read(ws: &mut tungstenite::WebSocket<Repeat>) -> tungstenite::Bytes {
    match ws.read() {
        Ok(tungstenite::Message::Binary(b)) => b,
        other => panic!("unexpected {other:?}"),
    }
}

fn fastwebsockets_socket(input: Vec<u8>) -> fastwebsockets::WebSocket<Repeat> {
    let mut ws = fastwebsockets::WebSocket::after_handshake(
        Repeat::new(input),
        fastwebsockets::Role::Server,
    );
    ws.set_max_message_size(64 << 20);
    ws
}

fn decode(g: &mut BenchmarkGroup<'_, WallTime>, len: usize) {
    let plain = payload(len);
    let input = frame(&plain, true);
    let id = |name: &str| BenchmarkId::new(name, label(len));

    let dst = vec![0u8; len];
    let hlen = header(len, Some(KEY)).encoded_len();
    let mut ours = OursDecoder {
        input: place(&input, dst.as_ptr().wrapping_sub(hlen)),
        dst,
    };
    assert_eq!(ours.decode(), &plain[..]);
    let layout = skew(ours.input[hlen..].as_ptr(), ours.dst.as_ptr());
    eprintln!(
        "decode/pipebuf/{}: (dst - src) mod 4096 = {layout}",
        label(len)
    );
    g.bench_function(id("pipebuf"), |b| b.iter(|| black_box(ours.decode().len())));

    let mut ws = tungstenite_socket(input.clone());
    assert_eq!(&tungstenite_read(&mut ws)[..], &plain[..]);
    g.bench_function(id("tungstenite"), |b| {
        b.iter(|| black_box(tungstenite_read(&mut ws)))
    });

    let mut ws = fastwebsockets_socket(input);
    {
        let f = ready(ws.read_frame()).expect("frame");
        assert_eq!(f.opcode, fastwebsockets::OpCode::Binary);
        assert_eq!(&f.payload[..], &plain[..]);
    }
    g.bench_function(id("fastwebsockets"), |b| {
        b.iter(|| {
            let f = ready(ws.read_frame()).expect("frame");
            black_box(f.payload.len())
        })
    });
}

// ---------------------------------------------------------------------------------------
// Encode.

/// Our encoder: header, then the payload copied (and masked) into the same buffer.
fn encode_ours(out: &mut [u8], plain: &[u8], mask: Option<[u8; 4]>) -> usize {
    let h = header(plain.len(), mask);
    let n = h.encode(out);
    let body = &mut out[n..n + plain.len()];
    match mask {
        Some(key) => unmask_into(plain, body, key, 0),
        None => {
            body.copy_from_slice(plain);
            plain.len()
        }
    };
    n + plain.len()
}

fn encode_tungstenite(out: &mut Vec<u8>, plain: &tungstenite::Bytes, mask: Option<[u8; 4]>) {
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode as TOpCode};
    out.clear();
    let mut f = Frame::message(plain.clone(), TOpCode::Data(Data::Binary), true);
    f.header_mut().mask = mask;
    f.format(out).expect("format into a Vec");
}

fn encode_fastwebsockets<'a>(
    out: &'a mut Vec<u8>,
    plain: &[u8],
    scratch: &mut [u8],
    mask: Option<[u8; 4]>,
) -> &'a [u8] {
    use fastwebsockets::{Frame, OpCode as FOpCode, Payload};
    match mask {
        None => Frame::binary(Payload::Borrowed(plain)).write(out),
        Some(key) => {
            // `mask` XORs the scratch copy in place, so it flips between plain and masked
            // from one call to the next, which costs the same either way.
            let mut f = Frame::new(
                true,
                FOpCode::Binary,
                Some(key),
                Payload::BorrowedMut(scratch),
            );
            f.mask();
            f.write(out)
        }
    }
}

fn encode(g: &mut BenchmarkGroup<'_, WallTime>, len: usize, masked: bool) {
    let plain = payload(len);
    let expected = frame(&plain, masked);
    let mask = masked.then_some(KEY);
    let hlen = header(len, mask).encoded_len();
    let id = |name: &str| BenchmarkId::new(name, label(len));
    let group = if masked {
        "encode_masked"
    } else {
        "encode_unmasked"
    };
    let report = |name: &str, src: *const u8, dst: *const u8| {
        let layout = skew(src, dst.wrapping_add(hlen));
        eprintln!(
            "{group}/{name}/{}: (dst - src) mod 4096 = {layout}",
            label(len)
        );
    };

    let mut out = vec![0u8; len + MAX_HEADER_LEN];
    let src: &[u8] = place(&plain, out.as_ptr().wrapping_add(hlen));
    report("pipebuf", src.as_ptr(), out.as_ptr());
    let n = encode_ours(&mut out, src, mask);
    assert_eq!(&out[..n], &expected[..]);
    g.bench_function(id("pipebuf"), |b| {
        b.iter(|| black_box(encode_ours(&mut out, src, mask)))
    });

    let mut out: Vec<u8> = Vec::with_capacity(len + MAX_HEADER_LEN);
    let src: &'static [u8] = place(&plain, out.as_ptr().wrapping_add(hlen));
    if !masked {
        // Masked, tungstenite copies the payload into a fresh Vec first: not placed.
        report("tungstenite", src.as_ptr(), out.as_ptr());
    }
    let bytes = tungstenite::Bytes::from_static(src);
    encode_tungstenite(&mut out, &bytes, mask);
    assert_eq!(out, expected);
    g.bench_function(id("tungstenite"), |b| {
        b.iter(|| {
            encode_tungstenite(&mut out, &bytes, mask);
            black_box(out.len())
        })
    });

    // `write` sizes the Vec on first use; place the source after that.
    let mut out = Vec::new();
    let mut scratch = plain.clone();
    let written = encode_fastwebsockets(&mut out, &plain, &mut scratch, mask).to_vec();
    assert_eq!(written, expected);
    let src: &[u8] = place(&plain, out.as_ptr().wrapping_add(hlen));
    let scratch = place(&plain, out.as_ptr().wrapping_add(hlen));
    let copied_from = if masked {
        scratch.as_ptr()
    } else {
        src.as_ptr()
    };
    report("fastwebsockets", copied_from, out.as_ptr());
    let written = encode_fastwebsockets(&mut out, src, scratch, mask);
    assert_eq!(written, &expected[..]);
    if masked {
        // Undo the masking so the scratch copy starts plain again.
        apply_mask(scratch, KEY, 0);
    }
    g.bench_function(id("fastwebsockets"), |b| {
        b.iter(|| black_box(encode_fastwebsockets(&mut out, src, scratch, mask).len()))
    });
}

// ---------------------------------------------------------------------------------------
// Masking and header parsing on their own.

fn mask_in_place(g: &mut BenchmarkGroup<'_, WallTime>, len: usize) {
    let plain = payload(len);
    let mut expected = plain.clone();
    for (i, b) in expected.iter_mut().enumerate() {
        *b ^= KEY[i % 4];
    }
    let id = |name: &str| BenchmarkId::new(name, label(len));

    let mut buf = plain.clone();
    apply_mask(&mut buf, KEY, 0);
    assert_eq!(buf, expected);
    g.bench_function(id("pipebuf"), |b| {
        b.iter(|| apply_mask(black_box(&mut buf), KEY, 0))
    });

    let mut buf = plain.clone();
    fastwebsockets::unmask(&mut buf, KEY);
    assert_eq!(buf, expected);
    g.bench_function(id("fastwebsockets"), |b| {
        b.iter(|| fastwebsockets::unmask(black_box(&mut buf), KEY))
    });
}

fn header_parse(c: &mut Criterion) {
    let bytes = frame(&payload(70_000), true);
    let bytes = &bytes[..MAX_HEADER_LEN];
    let mut g = c.benchmark_group("header_parse");
    g.throughput(Throughput::Elements(1));

    let (h, n) = FrameHeader::parse(bytes).expect("valid").expect("complete");
    assert_eq!((h.payload_len, n), (70_000, MAX_HEADER_LEN));
    g.bench_function("pipebuf/masked_64bit", |b| {
        b.iter(|| FrameHeader::parse(black_box(bytes)))
    });

    let mut cursor = Cursor::new(bytes);
    let parsed = tungstenite::protocol::frame::FrameHeader::parse(&mut cursor);
    let (th, tlen) = parsed.expect("valid").expect("complete");
    assert_eq!((th.mask, tlen, cursor.position()), (Some(KEY), 70_000, 14));
    g.bench_function("tungstenite/masked_64bit", |b| {
        b.iter(|| {
            let mut cursor = Cursor::new(black_box(bytes));
            let parsed = tungstenite::protocol::frame::FrameHeader::parse(&mut cursor);
            black_box(parsed.ok().flatten().map(|(_, len)| len))
        })
    });
    g.finish();
}

fn frames(c: &mut Criterion) {
    for (name, run) in [
        ("decode", 0),
        ("encode_unmasked", 1),
        ("encode_masked", 2),
        ("mask_in_place", 3),
    ] {
        let mut g = c.benchmark_group(name);
        for len in SIZES {
            g.throughput(Throughput::Bytes(len as u64));
            match run {
                0 => decode(&mut g, len),
                1 => encode(&mut g, len, false),
                2 => encode(&mut g, len, true),
                _ => mask_in_place(&mut g, len),
            }
        }
        g.finish();
    }
    header_parse(c);
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = frames
}
criterion_main!(benches);
