//! Component benchmark: one 64 KiB binary message through a [`WebSocket`] with the buffers
//! an application gets by default (`PipeBufPair::new()`, allocated by the component's own
//! writes, one after another), not placed by the bench.
//!
//! Run with `cargo bench -p pipebuf_websocket --bench component`; add `-- --test` to run
//! every variant once as a smoke test.
//!
//! - `server_send`: `write_message` of 64 KiB into the server's message pair, the server's
//!   `process()` framing it (unmasked) into the byte pair, the bytes consumed.
//! - `server_receive`: a masked 64 KiB frame appended to the byte pair towards the server,
//!   the server's `process()` unmasking it into a chunk record, the record consumed.
//! - `client_receive`: the same with an unmasked frame towards the client.
//!
//! The receive variants include appending the frame (`PBufWr::append`, a chunked copy).
//! Unlike `benches/frames.rs`, which places every copy's source away from the 4 KiB
//! aliasing that slows glibc's `rep movsb`, this bench keeps the heap's layout: it prints
//! each copy's `(dst - src) mod 4096` on stderr, since that distance decides what an
//! unchunked 64 KiB copy costs (see `pipebuf/src/copy.rs`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pipebuf::PipeBufPair;
use pipebuf_websocket::frame::{FrameHeader, OpCode, apply_mask};
use pipebuf_websocket::handshake::ClientRequest;
use pipebuf_websocket::message::{CHUNK_HEADER_LEN, MessageKind, read_chunk, write_message};
use pipebuf_websocket::{WebSocket, WsConfig, accept_all};

/// The message size.
const LEN: usize = 64 * 1024;
const PAGE: usize = 4096;

/// An open server and client, their byte pair (client above, server below) and a message
/// pair each, all default-allocated in this order.
struct Link {
    server: WebSocket,
    client: WebSocket,
    wire: PipeBufPair,
    server_msgs: PipeBufPair,
    client_msgs: PipeBufPair,
}

impl Link {
    fn open() -> Link {
        let mut link = Link {
            server: WebSocket::server(WsConfig::default(), accept_all()),
            client: WebSocket::client(WsConfig::default(), ClientRequest::new("/", "localhost")),
            wire: PipeBufPair::new(),
            server_msgs: PipeBufPair::new(),
            client_msgs: PipeBufPair::new(),
        };
        for _ in 0..20 {
            link.client_turn();
            link.server_turn();
        }
        assert!(link.server.is_open() && link.client.is_open());
        link
    }

    fn server_turn(&mut self) {
        self.server
            .process(
                pipebuf::Time::ZERO,
                self.wire.lower(),
                self.server_msgs.lower(),
            )
            .expect("server");
    }

    fn client_turn(&mut self) {
        self.client
            .process(
                pipebuf::Time::ZERO,
                self.wire.upper(),
                self.client_msgs.lower(),
            )
            .expect("client");
    }

    /// The server frames one message; returns the frame bytes' length.
    fn server_send(&mut self, msg: &[u8]) -> usize {
        write_message(&mut self.server_msgs.upper().wr, MessageKind::Binary, msg).expect("room");
        self.server_turn();
        self.wire.upper().rd.consume_all()
    }

    /// `frame` arrives at the server (`to_server`) or the client; returns the record's
    /// length after checking that the whole message is in it.
    fn receive(&mut self, frame: &[u8], to_server: bool) -> usize {
        let msgs = if to_server {
            self.wire.upper().wr.append(frame).expect("room");
            self.server_turn();
            &mut self.server_msgs
        } else {
            self.wire.lower().wr.append(frame).expect("room");
            self.client_turn();
            &mut self.client_msgs
        };
        let mut app = msgs.upper();
        let chunk = read_chunk(&app.rd).expect("record").expect("whole record");
        assert!(chunk.fin && chunk.data.len() == LEN);
        let n = chunk.record_len;
        app.rd.consume(n).expect("consume");
        n
    }

    /// One `server_send`, printing `(dst - src) mod 4096` of its two payload copies.
    fn server_send_layout(&mut self, msg: &[u8]) {
        write_message(&mut self.server_msgs.upper().wr, MessageKind::Binary, msg).expect("room");
        let record = self.server_msgs.lower().rd.data()[CHUNK_HEADER_LEN..].as_ptr();
        self.server_turn();
        // The frame's header is 10 bytes (64 KiB takes the 64-bit length form).
        let out = &self.wire.up.data()[self.wire.up.len() - LEN..];
        let out = out.as_ptr();
        eprintln!(
            "server_send: message -> record skew {}, record -> frame skew {}",
            skew(record, msg.as_ptr()),
            skew(out, record),
        );
        self.wire.upper().rd.consume_all();
    }

    /// One `receive`, printing `(dst - src) mod 4096` of its payload copy.
    fn receive_layout(&mut self, name: &str, frame: &[u8], to_server: bool) {
        let header = frame.len() - LEN;
        let (input, msgs) = if to_server {
            self.wire.upper().wr.append(frame).expect("room");
            let input = self.wire.lower().rd.data()[header..].as_ptr();
            self.server_turn();
            (input, &mut self.server_msgs)
        } else {
            self.wire.lower().wr.append(frame).expect("room");
            let input = self.wire.upper().rd.data()[header..].as_ptr();
            self.client_turn();
            (input, &mut self.client_msgs)
        };
        let record = msgs.up.data()[CHUNK_HEADER_LEN..].as_ptr();
        eprintln!("{name}: frame -> record skew {}", skew(record, input));
        msgs.upper().rd.consume_all();
    }
}

fn frame(payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let h = FrameHeader {
        fin: true,
        rsv: 0,
        opcode: OpCode::Binary,
        mask,
        payload_len: payload.len() as u64,
    };
    let mut out = vec![0u8; h.encoded_len() + payload.len()];
    let n = h.encode(&mut out);
    out[n..].copy_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[n..], key, 0);
    }
    out
}

fn skew(dst: *const u8, src: *const u8) -> usize {
    (dst as usize).wrapping_sub(src as usize) % PAGE
}

fn component(c: &mut Criterion) {
    let msg: Vec<u8> = (0..LEN).map(|i| ((i * 31) ^ (i >> 8)) as u8).collect();
    let masked = frame(&msg, Some([0x37, 0xfa, 0x21, 0x3d]));
    let unmasked = frame(&msg, None);

    let mut g = c.benchmark_group("component_64KiB");
    g.throughput(Throughput::Bytes(LEN as u64));
    // Each variant gets its own connection; the first message sizes its buffers.
    let mut link = Link::open();
    link.server_send(&msg);
    link.server_send_layout(&msg);
    g.bench_function("server_send", |b| {
        b.iter(|| black_box(link.server_send(black_box(&msg))))
    });
    for (name, frame, to_server) in [
        ("server_receive", &masked, true),
        ("client_receive", &unmasked, false),
    ] {
        let mut link = Link::open();
        link.receive(frame, to_server);
        link.receive_layout(name, frame, to_server);
        g.bench_function(name, |b| {
            b.iter(|| black_box(link.receive(black_box(frame), to_server)))
        });
    }
    g.finish();
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
    targets = component
}
criterion_main!(benches);
