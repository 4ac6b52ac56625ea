//! TLS benchmarks for the `pipebuf_rustls` component against rustls' own `Stream` and
//! tokio-rustls, with ring's raw AEAD speed as the ceiling, all in one criterion run so the
//! figures sit side by side.
//!
//! Run with `cargo bench -p pipebuf_rustls --bench tls` (add a filter such as `c2s_16B` or
//! `handshake` after `--` to run a part).
//!
//! Every session is TLS 1.3 with the default suite of the ring provider (the negotiated
//! suite and version are printed on stderr) and a self-signed ECDSA P-256 certificate for
//! `localhost` made with rcgen. Client resumption is off, so every handshake is a full one.
//!
//! Groups:
//!
//! - `c2s_{16B,1KiB,16KiB,64KiB}`: in-memory encrypted throughput, client to server, with
//!   application writes of that size. One iteration moves a 1 MiB batch as 16 rounds of
//!   64 KiB: the client makes 64 KiB / size writes, each of which becomes its own record(s)
//!   (write-then-send semantics, as `Stream::write` and tokio-rustls' `poll_write` have),
//!   then the server reads the round out; byte counts are checked every round and the
//!   content once before measuring. Throughput is plaintext bytes. One thread runs both
//!   ends, so each byte costs one encryption and one decryption.
//!   - `pipebuf_buffered` / `pipebuf_unbuffered`: the [`Tls`] component driving rustls'
//!     buffered or unbuffered API ([`RustlsApi`]), client and server, with a plaintext
//!     `PipeBufPair` each and one wire `PipeBufPair` (default limits, 256 KiB): after each
//!     write the client component runs once; after each round the chain is settled with
//!     `pipebuf::settle`, the server application consuming what arrives.
//!   - `pipebuf*_coalesced` (16 B and 1 KiB only): the same, but the application appends the
//!     whole round to its plaintext buffer before the chain runs, as writes made during one
//!     event do; the component then sends full 16 KiB records. Not the same wire format as
//!     the others: it shows what buffering in the chain buys, not per-write cost.
//!   - `rustls_stream`: `rustls::Stream` over two in-memory `VecDeque` pipes (an empty pipe
//!     reads as `WouldBlock`).
//!   - `tokio_rustls`: tokio-rustls over `tokio::io::duplex` (256 KiB) on a current-thread
//!     runtime; the client writes in a spawned task while the server reads in `block_on`,
//!     timed with `iter_custom` around both.
//! - `aead_16KiB`: ring `LessSafeKey` on one 16 KiB record-sized buffer: `seal` alone, and
//!   `seal_open` (seal then open), the fair ceiling for the `c2s` figures. The algorithm the
//!   TLS session negotiated carries a `_negotiated` suffix; AES-128-GCM and
//!   ChaCha20-Poly1305 are there for reference.
//! - `handshake_tls13` / `handshake_tls12`: one full handshake in memory per iteration,
//!   both sides in one thread (session creation included), in handshakes per second:
//!   `pipebuf*` settles two fresh components, `rustls_buffered` drives two rustls
//!   connections with `write_tls` / `read_tls` / `process_new_packets`.
//!
//! Copies of 4 KiB and more go through glibc's `rep movsb` path, which on AMD Zen 3 runs
//! many times slower when `(dst - src) mod 4096` is small (4 KiB aliasing). Heap buffers of
//! power-of-two sizes tend to sit 16 bytes apart modulo a page, so figures for large writes
//! depend on where the buffers land; run with
//! `GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=2000000` to take that path out of the
//! comparison.
//!
//! The pipebuf variants are listed in [`variants`]; each is a pair of constructors, so that
//! another engine of the component is benchmarked by adding one line there.

use std::collections::VecDeque;
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use criterion::{criterion_group, criterion_main};
use pipebuf::PipeBufPair;
use pipebuf_rustls::{RustlsApi, Tls, TlsError, config};
use ring::aead;
use rustls::client::Resumption;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Plaintext per round: the client writes this much, then the server reads it out.
const ROUND: usize = 64 * 1024;
/// Rounds per iteration (1 MiB).
const ROUNDS: usize = 16;
/// Plaintext bytes per iteration.
const BATCH: usize = ROUND * ROUNDS;
/// Application write sizes.
const WRITE_SIZES: [usize; 4] = [16, 1024, 16 * 1024, 64 * 1024];
/// Write sizes that also get the coalesced pipebuf variant.
const COALESCED_SIZES: [usize; 2] = [16, 1024];
/// The AEAD buffer: one full TLS record of plaintext.
const AEAD_LEN: usize = 16 * 1024;
/// tokio duplex capacity, like the pipebuf wire pair's limit.
const DUPLEX: usize = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Setup

/// Certificates and configs shared by every benchmark.
struct Pki {
    server: Arc<ServerConfig>,
    /// TLS 1.3 (safe defaults), resumption off.
    client: Arc<ClientConfig>,
    /// TLS 1.2 only, resumption off.
    client_tls12: Arc<ClientConfig>,
}

fn pki() -> Pki {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen");
    let cert_pem = cert.cert.pem();
    let key_pem = cert.signing_key.serialize_pem();
    let server =
        config::server_config(cert_pem.as_bytes(), key_pem.as_bytes(), &Default::default())
            .expect("server config");
    let client =
        config::client_config(cert_pem.as_bytes(), &Default::default()).expect("client config");
    let mut client = (*client).clone();
    client.resumption = Resumption::disabled();

    let mut roots = RootCertStore::empty();
    roots.add(cert.cert.der().clone()).expect("root");
    let mut client_tls12 =
        ClientConfig::builder_with_provider(config::crypto_provider().expect("provider"))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .expect("TLS 1.2")
            .with_root_certificates(roots)
            .with_no_client_auth();
    client_tls12.resumption = Resumption::disabled();
    Pki {
        server,
        client: Arc::new(client),
        client_tls12: Arc::new(client_tls12),
    }
}

fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").expect("name")
}

/// 64 KiB of non-repeating-looking bytes: one round's plaintext.
fn payload() -> Vec<u8> {
    (0..ROUND).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn size_label(n: usize) -> String {
    if n >= 1024 {
        format!("{}KiB", n / 1024)
    } else {
        format!("{n}B")
    }
}

// ---------------------------------------------------------------------------------------------
// pipebuf

type MakeServer = fn(Arc<ServerConfig>) -> Result<Tls, TlsError>;
type MakeClient = fn(Arc<ClientConfig>, ServerName<'static>) -> Result<Tls, TlsError>;

/// One way of making the pipebuf TLS components.
#[derive(Clone, Copy)]
struct Variant {
    name: &'static str,
    server: MakeServer,
    client: MakeClient,
}

/// The pipebuf component variants benchmarked: one per rustls API the component can drive.
/// Another engine is benchmarked by adding its line here.
fn variants() -> Vec<Variant> {
    vec![
        Variant {
            name: "pipebuf_buffered",
            server: |c| Tls::server_using(c, RustlsApi::Buffered),
            client: |c, n| Tls::client_using(c, n, RustlsApi::Buffered),
        },
        Variant {
            name: "pipebuf_unbuffered",
            server: |c| Tls::server_using(c, RustlsApi::Unbuffered),
            client: |c, n| Tls::client_using(c, n, RustlsApi::Unbuffered),
        },
    ]
}

/// A pipebuf client and server joined by one wire pair, each with its plaintext pair.
struct PbSession {
    client: Tls,
    server: Tls,
    wire: PipeBufPair,
    client_plain: PipeBufPair,
    server_plain: PipeBufPair,
}

impl PbSession {
    /// Fresh components; no handshake yet.
    fn new(v: Variant, server: &Arc<ServerConfig>, client: &Arc<ClientConfig>) -> Self {
        PbSession {
            client: (v.client)(Arc::clone(client), localhost()).expect("client"),
            server: (v.server)(Arc::clone(server)).expect("server"),
            wire: PipeBufPair::new(),
            client_plain: PipeBufPair::new(),
            server_plain: PipeBufPair::new(),
        }
    }

    /// A session with its handshake done.
    fn connected(v: Variant, pki: &Pki) -> Self {
        let mut s = Self::new(v, &pki.server, &pki.client);
        s.settle(&mut |_| panic!("no data expected during the handshake"));
        assert!(!s.client.is_handshaking() && !s.server.is_handshaking());
        s
    }

    /// Runs both components and the server application until nothing moves; the server
    /// application hands everything it receives to `sink` and consumes it. Returns the
    /// plaintext bytes it received.
    fn settle(&mut self, sink: &mut dyn FnMut(&[u8])) -> usize {
        let mut got = 0;
        pipebuf::settle(100_000, || -> Result<bool, TlsError> {
            let c = self
                .client
                .process(self.wire.upper(), self.client_plain.lower())?;
            let s = self
                .server
                .process(self.wire.lower(), self.server_plain.lower())?;
            let mut app = self.server_plain.upper();
            let n = app.rd.len();
            if n > 0 {
                sink(app.rd.data());
                app.rd.consume_all();
                got += n;
            }
            Ok(c | s | (n > 0))
        })
        .expect("the chain settles without error");
        got
    }

    /// Appends `data` to the client's plaintext buffer, settling the chain whenever the
    /// buffer is full; returns what the server received meanwhile.
    fn append(&mut self, mut data: &[u8], sink: &mut dyn FnMut(&[u8])) -> usize {
        let mut got = 0;
        while !data.is_empty() {
            let n = self
                .client_plain
                .upper()
                .wr
                .append_some(data)
                .expect("plaintext open");
            data = &data[n..];
            if n == 0 {
                got += self.settle(sink);
            }
        }
        got
    }

    /// One round: `payload` in writes of `write` bytes, then the server reads it all.
    /// Without `coalesce` the client component runs after every write (one record per
    /// write); with it, only once the whole round is in its plaintext buffer.
    fn round(
        &mut self,
        payload: &[u8],
        write: usize,
        coalesce: bool,
        sink: &mut dyn FnMut(&[u8]),
    ) -> usize {
        let mut got = 0;
        for chunk in payload.chunks(write) {
            got += self.append(chunk, sink);
            if !coalesce {
                self.client
                    .process(self.wire.upper(), self.client_plain.lower())
                    .expect("client");
            }
        }
        got + self.settle(sink)
    }
}

// ---------------------------------------------------------------------------------------------
// rustls buffered API and Stream over in-memory pipes

/// The two directions of an in-memory connection.
#[derive(Default)]
struct Pipes {
    c2s: VecDeque<u8>,
    s2c: VecDeque<u8>,
}

/// One end of [`Pipes`] as a non-blocking socket: an empty pipe reads as `WouldBlock`.
struct End<'a> {
    rx: &'a mut VecDeque<u8>,
    tx: &'a mut VecDeque<u8>,
}

impl Read for End<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.rx.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.rx.read(buf)
    }
}

impl Write for End<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Drives a full handshake with rustls' buffered API until neither side has anything to
/// send (TLS 1.3 session tickets included).
fn rustls_handshake(client: &mut ClientConnection, server: &mut ServerConnection, p: &mut Pipes) {
    loop {
        let mut moved = false;
        while client.wants_write() {
            client.write_tls(&mut p.c2s).expect("client write_tls");
        }
        while !p.c2s.is_empty() {
            server.read_tls(&mut p.c2s).expect("server read_tls");
            server.process_new_packets().expect("server");
            moved = true;
        }
        while server.wants_write() {
            server.write_tls(&mut p.s2c).expect("server write_tls");
        }
        while !p.s2c.is_empty() {
            client.read_tls(&mut p.s2c).expect("client read_tls");
            client.process_new_packets().expect("client");
            moved = true;
        }
        if !moved {
            break;
        }
    }
    assert!(!client.is_handshaking() && !server.is_handshaking());
}

/// A connected rustls client and server for the `Stream` benchmark.
struct StreamSession {
    client: ClientConnection,
    server: ServerConnection,
    pipes: Pipes,
    rx: Vec<u8>,
}

impl StreamSession {
    fn connected(pki: &Pki) -> Self {
        let mut client = ClientConnection::new(Arc::clone(&pki.client), localhost()).expect("c");
        let mut server = ServerConnection::new(Arc::clone(&pki.server)).expect("s");
        let mut pipes = Pipes::default();
        rustls_handshake(&mut client, &mut server, &mut pipes);
        StreamSession {
            client,
            server,
            pipes,
            rx: vec![0; ROUND],
        }
    }

    /// One round through `rustls::Stream`: the client writes, then the server reads.
    fn round(&mut self, payload: &[u8], write: usize, sink: &mut dyn FnMut(&[u8])) -> usize {
        {
            let mut end = End {
                rx: &mut self.pipes.s2c,
                tx: &mut self.pipes.c2s,
            };
            let mut stream = rustls::Stream::new(&mut self.client, &mut end);
            for chunk in payload.chunks(write) {
                stream.write_all(chunk).expect("client write");
            }
            stream.flush().expect("client flush");
        }
        let mut end = End {
            rx: &mut self.pipes.c2s,
            tx: &mut self.pipes.s2c,
        };
        let mut stream = rustls::Stream::new(&mut self.server, &mut end);
        let mut got = 0;
        while got < payload.len() {
            let n = stream.read(&mut self.rx).expect("server read");
            assert!(n > 0, "early end of stream");
            sink(&self.rx[..n]);
            got += n;
        }
        got
    }
}

// ---------------------------------------------------------------------------------------------
// tokio-rustls

/// A connected tokio-rustls client and server over an in-memory duplex, with their runtime.
struct TokioSession {
    rt: tokio::runtime::Runtime,
    /// Taken by the writer task during a run, put back after.
    client: Option<tokio_rustls::client::TlsStream<DuplexStream>>,
    server: tokio_rustls::server::TlsStream<DuplexStream>,
    payload: Arc<[u8]>,
    rx: Vec<u8>,
}

impl TokioSession {
    fn connected(pki: &Pki, payload: &[u8]) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let (client_io, server_io) = tokio::io::duplex(DUPLEX);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&pki.server));
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&pki.client));
        let accept = rt.spawn(async move { acceptor.accept(server_io).await });
        let client = rt
            .block_on(connector.connect(localhost(), client_io))
            .expect("tokio client handshake");
        let server = rt
            .block_on(accept)
            .expect("accept task")
            .expect("tokio server handshake");
        TokioSession {
            rt,
            client: Some(client),
            server,
            payload: payload.into(),
            rx: vec![0; ROUND],
        }
    }

    /// `rounds` rounds: a spawned client task writes them (flushing after each), the server
    /// reads everything in `block_on`. Returns the time taken and the bytes received.
    fn run(
        &mut self,
        rounds: usize,
        write: usize,
        sink: &mut dyn FnMut(&[u8]),
    ) -> (Duration, usize) {
        let mut client = self.client.take().expect("client stream");
        let payload = Arc::clone(&self.payload);
        let total = rounds * payload.len();
        let (server, rx) = (&mut self.server, &mut self.rx);
        let start = Instant::now();
        let writer = self.rt.spawn(async move {
            for _ in 0..rounds {
                for chunk in payload.chunks(write) {
                    client.write_all(chunk).await?;
                }
                client.flush().await?;
            }
            Ok::<_, io::Error>(client)
        });
        let (got, client) = self.rt.block_on(async {
            let mut got = 0;
            while got < total {
                let n = server.read(rx).await.expect("server read");
                assert!(n > 0, "early end of stream");
                sink(&rx[..n]);
                got += n;
            }
            let client = writer.await.expect("writer task").expect("client write");
            (got, client)
        });
        let elapsed = start.elapsed();
        self.client = Some(client);
        (elapsed, got)
    }
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

/// Checks that one round delivers exactly `payload` to the server application.
fn verify(name: &str, write: usize, payload: &[u8], round: impl FnOnce(&mut dyn FnMut(&[u8]))) {
    let mut received = Vec::with_capacity(payload.len());
    round(&mut |d: &[u8]| received.extend_from_slice(d));
    assert!(
        received == payload,
        "{name} with {write}-byte writes delivered {} bytes, not the payload",
        received.len()
    );
}

fn throughput(c: &mut Criterion, pki: &Pki) {
    let payload = payload();
    let mut discard = |d: &[u8]| {
        black_box(d);
    };
    for write in WRITE_SIZES {
        let mut g = c.benchmark_group(format!("c2s_{}", size_label(write)));
        g.throughput(Throughput::Bytes(BATCH as u64));
        g.sampling_mode(SamplingMode::Flat);

        for v in variants() {
            let mut modes = vec![(v.name.to_string(), false)];
            if COALESCED_SIZES.contains(&write) {
                modes.push((format!("{}_coalesced", v.name), true));
            }
            for (name, coalesce) in modes {
                let mut s = PbSession::connected(v, pki);
                verify(&name, write, &payload, |sink| {
                    assert_eq!(s.round(&payload, write, coalesce, sink), ROUND);
                });
                g.bench_function(&name, |b| {
                    b.iter(|| {
                        for _ in 0..ROUNDS {
                            let got = s.round(&payload, write, coalesce, &mut discard);
                            assert_eq!(got, ROUND);
                        }
                    })
                });
            }
        }

        let mut s = StreamSession::connected(pki);
        verify("rustls_stream", write, &payload, |sink| {
            assert_eq!(s.round(&payload, write, sink), ROUND);
        });
        g.bench_function("rustls_stream", |b| {
            b.iter(|| {
                for _ in 0..ROUNDS {
                    assert_eq!(s.round(&payload, write, &mut discard), ROUND);
                }
            })
        });

        let mut s = TokioSession::connected(pki, &payload);
        verify("tokio_rustls", write, &payload, |sink| {
            assert_eq!(s.run(1, write, sink).1, ROUND);
        });
        g.bench_function("tokio_rustls", |b| {
            b.iter_custom(|iters| {
                let rounds = usize::try_from(iters).expect("iters") * ROUNDS;
                let (elapsed, got) = s.run(rounds, write, &mut discard);
                assert_eq!(got, rounds * ROUND);
                elapsed
            })
        });
        g.finish();
    }
}

/// The ring algorithm of a negotiated suite, by name.
fn ring_aead(suite: rustls::SupportedCipherSuite) -> Option<&'static aead::Algorithm> {
    let name = format!("{:?}", suite.suite());
    if name.contains("AES_256_GCM") {
        Some(&aead::AES_256_GCM)
    } else if name.contains("AES_128_GCM") {
        Some(&aead::AES_128_GCM)
    } else if name.contains("CHACHA20_POLY1305") {
        Some(&aead::CHACHA20_POLY1305)
    } else {
        None
    }
}

fn nonce(seq: u64) -> aead::Nonce {
    let mut n = [0u8; aead::NONCE_LEN];
    n[4..].copy_from_slice(&seq.to_be_bytes());
    aead::Nonce::assume_unique_for_key(n)
}

fn aead(c: &mut Criterion, negotiated: Option<&'static aead::Algorithm>) {
    let mut g = c.benchmark_group("aead_16KiB");
    g.throughput(Throughput::Bytes(AEAD_LEN as u64));
    let algorithms: [(&str, &'static aead::Algorithm); 3] = [
        ("AES_256_GCM", &aead::AES_256_GCM),
        ("AES_128_GCM", &aead::AES_128_GCM),
        ("CHACHA20_POLY1305", &aead::CHACHA20_POLY1305),
    ];
    // A TLS 1.3 application-data record header as the additional data.
    let header = [0x17u8, 0x03, 0x03, 0x40, 0x11];
    for (name, alg) in algorithms {
        let name = if negotiated == Some(alg) {
            format!("{name}_negotiated")
        } else {
            name.to_string()
        };
        let key_bytes = vec![0x42u8; alg.key_len()];
        let key = aead::LessSafeKey::new(aead::UnboundKey::new(alg, &key_bytes).expect("key"));
        let mut buf = payload()[..AEAD_LEN].to_vec();
        let original = buf.clone();
        let mut seq = 0u64;

        // Check seal/open round-trips before measuring.
        let tag = key
            .seal_in_place_separate_tag(nonce(seq), aead::Aad::from(header), &mut buf)
            .expect("seal");
        assert_ne!(buf, original);
        key.open_in_place_separate_tag(nonce(seq), aead::Aad::from(header), tag, &mut buf, 0..)
            .expect("open");
        assert_eq!(buf, original);

        g.bench_function(BenchmarkId::new("seal", &name), |b| {
            b.iter(|| {
                seq += 1;
                let tag = key
                    .seal_in_place_separate_tag(nonce(seq), aead::Aad::from(header), &mut buf)
                    .expect("seal");
                black_box((&tag, &buf));
            })
        });
        g.bench_function(BenchmarkId::new("seal_open", &name), |b| {
            b.iter(|| {
                seq += 1;
                let tag = key
                    .seal_in_place_separate_tag(nonce(seq), aead::Aad::from(header), &mut buf)
                    .expect("seal");
                let plain = key
                    .open_in_place_separate_tag(
                        nonce(seq),
                        aead::Aad::from(header),
                        tag,
                        &mut buf,
                        0..,
                    )
                    .expect("open");
                black_box(plain);
            })
        });
    }
    g.finish();
}

fn handshakes(c: &mut Criterion, pki: &Pki) {
    for (group, client) in [
        ("handshake_tls13", &pki.client),
        ("handshake_tls12", &pki.client_tls12),
    ] {
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(1));
        for v in variants() {
            g.bench_function(v.name, |b| {
                b.iter(|| {
                    let mut s = PbSession::new(v, &pki.server, client);
                    s.settle(&mut |_| panic!("no data expected"));
                    assert!(!s.client.is_handshaking() && !s.server.is_handshaking());
                    s
                })
            });
        }
        g.bench_function("rustls_buffered", |b| {
            b.iter(|| {
                let mut client = ClientConnection::new(Arc::clone(client), localhost()).expect("c");
                let mut server = ServerConnection::new(Arc::clone(&pki.server)).expect("s");
                let mut pipes = Pipes::default();
                rustls_handshake(&mut client, &mut server, &mut pipes);
                (client, server)
            })
        });
        g.finish();
    }
}

fn all(c: &mut Criterion) {
    let pki = pki();

    // What the sessions negotiate, for the record (and the AEAD group's marker).
    let s = PbSession::connected(variants()[0], &pki);
    let suite = s.client.cipher_suite().expect("suite");
    eprintln!(
        "negotiated: {:?} {:?}",
        s.client.protocol_version().expect("version"),
        suite.suite()
    );
    let rs = StreamSession::connected(&pki);
    assert_eq!(rs.client.negotiated_cipher_suite(), Some(suite));
    let ts = TokioSession::connected(&pki, &payload());
    let tokio_suite = ts
        .client
        .as_ref()
        .and_then(|c| c.get_ref().1.negotiated_cipher_suite());
    assert_eq!(tokio_suite, Some(suite));
    let mut tls12 = PbSession::new(variants()[0], &pki.server, &pki.client_tls12);
    tls12.settle(&mut |_| ());
    eprintln!(
        "handshake_tls12 negotiates: {:?} {:?}",
        tls12.client.protocol_version().expect("version"),
        tls12.client.cipher_suite().expect("suite").suite()
    );
    drop((s, rs, ts, tls12));

    throughput(c, &pki);
    aead(c, ring_aead(suite));
    handshakes(c, &pki);
}

fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = all
}
criterion_main!(benches);
