//! Shared helpers for the `pipebuf_rustls` integration tests: a test PKI (rcgen), configs,
//! one TLS endpoint with its two pairs, and an in-memory client ⇄ server [`Pair`] whose wire
//! is delivered on a chosen [`Schedule`] (whole, byte by byte, or seeded random chunks).
//!
//! Everything is deterministic apart from the key material: no sockets, no threads, no
//! clock (rustls reads the system time only to check certificate validity).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::sync::Arc;

use pipebuf::{EofKind, PBufRdWr, PipeBuf, PipeBufPair};
use pipebuf_rustls::{RustlsApi, Tls, TlsError, config};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};

// ---------------------------------------------------------------------------------------------
// PKI

/// A certificate authority that issues leaf certificates.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// The CA certificate (PEM), what a peer must trust.
    pub pem: String,
}

/// A leaf certificate and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Ca {
    /// A fresh CA with its own key and the common name `name`.
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let pem = issuer.pem();
        Ca { issuer, pem }
    }

    /// A leaf for `names` (DNS names or IP addresses).
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_with(names, |_| {})
    }

    /// A leaf for `names`, with its parameters adjusted by `tweak` (validity, usages, ...).
    pub fn leaf_with(&self, names: &[&str], tweak: impl FnOnce(&mut CertificateParams)) -> Leaf {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        tweak(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &*self.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// A self-signed leaf (its own trust anchor), as `rcgen::generate_simple_self_signed` makes.
pub fn self_signed(names: &[&str]) -> Leaf {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names).unwrap();
    Leaf {
        cert_pem: ck.cert.pem(),
        key_pem: ck.signing_key.serialize_pem(),
    }
}

/// A server config for `leaf` with `options`.
pub fn server_config(leaf: &Leaf, options: &config::ServerOptions) -> Arc<ServerConfig> {
    config::server_config(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes(), options).unwrap()
}

/// A client config trusting `ca_pem`, with `options`.
pub fn client_config(ca_pem: &str, options: &config::ClientOptions) -> Arc<ClientConfig> {
    config::client_config(ca_pem.as_bytes(), options).unwrap()
}

/// A server name from a string (DNS name or IP address).
pub fn name(s: &str) -> ServerName<'static> {
    ServerName::try_from(s.to_string()).unwrap()
}

/// A ready-made CA, leaf for `localhost` and matching server and client configs.
pub struct Basic {
    pub ca: Ca,
    pub leaf: Leaf,
    pub server: Arc<ServerConfig>,
    pub client: Arc<ClientConfig>,
}

impl Basic {
    pub fn new() -> Basic {
        let ca = Ca::new("pipebuf test CA");
        let leaf = ca.leaf(&["localhost"]);
        let server = server_config(&leaf, &Default::default());
        let client = client_config(&ca.pem, &Default::default());
        Basic {
            ca,
            leaf,
            server,
            client,
        }
    }

    /// A fresh client ⇄ server pair on these configs, connecting to `localhost`.
    pub fn pair(&self, schedule: Schedule) -> Pair {
        Pair::new(
            tls_client(Arc::clone(&self.client), name("localhost")).unwrap(),
            tls_server(Arc::clone(&self.server)).unwrap(),
            schedule,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// One endpoint

/// A `Tls` with its encrypted pair (the Tls takes `wire.upper()`, the network
/// `wire.lower()`) and its plaintext pair (the Tls takes `plain.lower()`, the application
/// `plain.upper()`).
#[derive(Debug)]
pub struct Endpoint {
    pub tls: Tls,
    pub wire: PipeBufPair,
    pub plain: PipeBufPair,
}

impl Endpoint {
    pub fn new(tls: Tls) -> Endpoint {
        Endpoint {
            tls,
            wire: PipeBufPair::new(),
            plain: PipeBufPair::new(),
        }
    }

    /// Puts bytes on the wire towards the Tls, as the network would.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.wire.lower().wr.append(bytes).unwrap();
    }

    /// One `process()` call.
    pub fn process(&mut self) -> Result<bool, TlsError> {
        self.tls.process(self.wire.upper(), self.plain.lower())
    }

    /// Takes everything the Tls has written towards the network.
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut net = self.wire.lower();
        let out = net.rd.data().to_vec();
        net.rd.consume_all();
        out
    }

    /// How the Tls ended its encrypted output so far (`None`: still open).
    pub fn crypt_out_eof(&self) -> Option<EofKind> {
        self.wire.down.state().eof_kind()
    }

    /// How the Tls ended the application's plaintext input so far (`None`: still open).
    pub fn plain_in_eof(&self) -> Option<EofKind> {
        self.plain.up.state().eof_kind()
    }
}

/// `(content type, payload length)` of every complete TLS record in `bytes`; a trailing
/// partial record is ignored.
pub fn records(bytes: &[u8]) -> Vec<(u8, usize)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest.len() < 5 + len {
            break;
        }
        out.push((rest[0], len));
        rest = &rest[5 + len..];
    }
    out
}

/// Whether `record` is an alert: a plaintext one (type 21, 2 bytes) or a TLS 1.3 encrypted
/// one (type 23: 2 bytes of alert, 1 of inner content type, 16 of AEAD tag).
pub fn is_alert_record(record: (u8, usize)) -> bool {
    matches!(record, (21, 2) | (23, 19))
}

// ---------------------------------------------------------------------------------------------
// The application on each side

/// What an application does to its plaintext output, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Data(Vec<u8>),
    Push,
    Close,
    Abort,
}

/// A scripted application: writes its `ops` as fast as the buffer allows and records what it
/// receives.
#[derive(Debug, Default)]
pub struct App {
    /// What is still to be written.
    pub ops: VecDeque<Op>,
    /// Bytes of the front `Op::Data` already written.
    offset: usize,
    /// Everything received, in order.
    pub received: Vec<u8>,
    /// For each push received: how many bytes had been received at that moment.
    pub pushes: Vec<usize>,
    /// The end of stream received.
    pub eof: Option<EofKind>,
    /// Reads at most this many bytes per step (`None`: everything available).
    pub read_limit: Option<usize>,
}

impl App {
    /// Queues operations.
    pub fn script(&mut self, ops: impl IntoIterator<Item = Op>) {
        self.ops.extend(ops);
    }

    /// The data this application has been told to send, in order.
    pub fn all_data(ops: &[Op]) -> Vec<u8> {
        ops.iter()
            .flat_map(|op| match op {
                Op::Data(d) => d.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// One step: write what fits, read what is there. Returns activity.
    pub fn pump(&mut self, mut plain: PBufRdWr<'_>) -> bool {
        let mut act = false;
        while let Some(op) = self.ops.front() {
            match op {
                Op::Data(d) => {
                    let n = plain.wr.append_some(&d[self.offset..]).unwrap();
                    act |= n > 0;
                    self.offset += n;
                    if self.offset < d.len() {
                        break;
                    }
                    self.offset = 0;
                }
                Op::Push => plain.wr.push(),
                Op::Close => plain.wr.close(),
                Op::Abort => plain.wr.abort(),
            }
            self.ops.pop_front();
            act = true;
        }
        let n = self.read_limit.unwrap_or(usize::MAX).min(plain.rd.len());
        if n > 0 {
            self.received.extend_from_slice(&plain.rd.data()[..n]);
            plain.rd.consume(n).unwrap();
            act = true;
        }
        if plain.rd.is_empty() {
            if plain.rd.consume_push() {
                self.pushes.push(self.received.len());
                act = true;
            }
            if let Some(kind) = plain.rd.consume_eof() {
                assert!(self.eof.is_none(), "second EOF seen");
                self.eof = Some(kind);
                act = true;
            }
        }
        act
    }
}

// ---------------------------------------------------------------------------------------------
// The wire

/// How the wire delivers bytes between the two endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Everything queued moves at once (as far as the receiving buffer takes it).
    Whole,
    /// One byte per direction per step.
    ByteByByte,
    /// A random number of bytes in `1..=max` per direction per step, from a seeded RNG.
    Random { seed: u64, max: usize },
}

/// xorshift64*: small, seeded, good enough for chunk sizes.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `1..=max`.
    pub fn chunk(&mut self, max: usize) -> usize {
        1 + (self.next() % max.max(1) as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// What the wire carried in one direction.
#[derive(Debug, Default, Clone)]
pub struct WireStats {
    /// Bytes delivered.
    pub bytes: usize,
    /// Pushes delivered.
    pub pushes: usize,
    /// The end of stream delivered.
    pub eof: Option<EofKind>,
    /// Bytes dropped because the receiving side had already been cut.
    pub dropped: usize,
}

/// Moves at most `k` bytes from `src` (one endpoint's encrypted output) to `dst` (the other
/// endpoint's encrypted input), then the push and the EOF once nothing is left in `src`.
/// With `abort_as_fin` an abort is delivered as a close, the way a TCP stack that was not
/// asked for an RST sends a FIN. If `dst` has already been ended (the test cut the wire),
/// what is in flight is lost.
fn transfer(
    src: &mut PipeBuf,
    dst: &mut PipeBuf,
    k: usize,
    abort_as_fin: bool,
    stats: &mut WireStats,
) -> bool {
    let mut rd = src.rd();
    let mut wr = dst.wr();
    if wr.is_eof() {
        let n = rd.consume_all();
        stats.dropped += n;
        let p = rd.consume_push();
        let e = rd.consume_eof().is_some();
        return n > 0 || p || e;
    }
    let mut act = false;
    if !rd.is_empty() {
        let n = k.min(rd.len());
        let moved = wr.append_some(&rd.data()[..n]).unwrap();
        rd.consume(moved).unwrap();
        stats.bytes += moved;
        act |= moved > 0;
    }
    if rd.is_empty() {
        if rd.consume_push() {
            wr.push();
            stats.pushes += 1;
            act = true;
        }
        if let Some(kind) = rd.consume_eof() {
            let kind = if abort_as_fin { EofKind::Close } else { kind };
            match kind {
                EofKind::Close => wr.close(),
                EofKind::Abort => wr.abort(),
            }
            stats.eof = Some(kind);
            act = true;
        }
    }
    act
}

/// A `process()` call that failed.
#[derive(Debug)]
pub struct Failure {
    pub error: TlsError,
    /// Encrypted bytes the failing call wrote (the alert, and whatever was pending).
    pub written_in_call: usize,
    /// The last complete record of those bytes.
    pub last_record: Option<(u8, usize)>,
    /// How the plaintext side towards the application stood right after the call.
    pub plain_in_eof: Option<EofKind>,
}

/// Runs one `process()` on `ep`, recording a failure instead of stopping.
fn run(ep: &mut Endpoint, failures: &mut Vec<Failure>) -> bool {
    let before = ep.wire.down.len();
    match ep.process() {
        Ok(act) => act,
        Err(error) => {
            // Nobody consumes this buffer during the call, so the new bytes are at the end.
            let after = ep.wire.down.data();
            let new = &after[before.min(after.len())..];
            failures.push(Failure {
                error,
                written_in_call: new.len(),
                last_record: records(new).last().copied(),
                plain_in_eof: ep.plain_in_eof(),
            });
            true
        }
    }
}

/// The client ⇄ server pair with a scheduled wire between them.
#[derive(Debug)]
pub struct Pair {
    pub client: Endpoint,
    pub server: Endpoint,
    pub client_app: App,
    pub server_app: App,
    pub schedule: Schedule,
    rng: Rng,
    /// Deliver wire aborts as FINs (no RST).
    pub abort_as_fin: bool,
    pub client_failures: Vec<Failure>,
    pub server_failures: Vec<Failure>,
    /// client → server
    pub c2s: WireStats,
    /// server → client
    pub s2c: WireStats,
    /// Steps taken so far.
    pub steps: usize,
    /// Largest amount of data seen in each of the eight buffers, with its limit.
    pub high_water: [(usize, usize); 8],
}

/// The most steps one `settle()` may take before the pair counts as livelocked.
pub const MAX_STEPS: usize = 200_000;

impl Pair {
    pub fn new(client: Tls, server: Tls, schedule: Schedule) -> Pair {
        let seed = match schedule {
            Schedule::Random { seed, .. } => seed,
            _ => 1,
        };
        Pair {
            client: Endpoint::new(client),
            server: Endpoint::new(server),
            client_app: App::default(),
            server_app: App::default(),
            schedule,
            rng: Rng::new(seed),
            abort_as_fin: false,
            client_failures: Vec::new(),
            server_failures: Vec::new(),
            c2s: WireStats::default(),
            s2c: WireStats::default(),
            steps: 0,
            high_water: [(0, 0); 8],
        }
    }

    /// Replaces the four encrypted buffers with ones limited to `min..=max` bytes.
    pub fn with_wire_limits(mut self, min: usize, max: usize) -> Pair {
        self.client.wire = PipeBufPair::with_limits(min, max);
        self.server.wire = PipeBufPair::with_limits(min, max);
        self
    }

    /// Replaces the four plaintext buffers with ones limited to `min..=max` bytes.
    pub fn with_plain_limits(mut self, min: usize, max: usize) -> Pair {
        self.client.plain = PipeBufPair::with_limits(min, max);
        self.server.plain = PipeBufPair::with_limits(min, max);
        self
    }

    fn chunk(&mut self) -> usize {
        match self.schedule {
            Schedule::Whole => usize::MAX,
            Schedule::ByteByByte => 1,
            Schedule::Random { max, .. } => self.rng.chunk(max),
        }
    }

    fn note_high_water(&mut self) {
        let bufs = [
            &self.client.wire.up,
            &self.client.wire.down,
            &self.client.plain.up,
            &self.client.plain.down,
            &self.server.wire.up,
            &self.server.wire.down,
            &self.server.plain.up,
            &self.server.plain.down,
        ];
        for (hw, b) in self.high_water.iter_mut().zip(bufs) {
            assert!(b.len() <= b.limit(), "buffer over its limit: {b:?}");
            assert!(b.capacity() <= b.limit(), "storage over its limit: {b:?}");
            hw.0 = hw.0.max(b.len());
            hw.1 = b.limit();
        }
    }

    /// One step: both applications, both Tls, then the wire in both directions. Returns
    /// whether anything happened.
    pub fn step(&mut self) -> bool {
        self.steps += 1;
        let mut act = self.client_app.pump(self.client.plain.upper());
        act |= self.server_app.pump(self.server.plain.upper());
        act |= run(&mut self.client, &mut self.client_failures);
        act |= run(&mut self.server, &mut self.server_failures);
        self.note_high_water();
        let k = self.chunk();
        act |= transfer(
            &mut self.client.wire.down,
            &mut self.server.wire.up,
            k,
            self.abort_as_fin,
            &mut self.c2s,
        );
        let k = self.chunk();
        act |= transfer(
            &mut self.server.wire.down,
            &mut self.client.wire.up,
            k,
            self.abort_as_fin,
            &mut self.s2c,
        );
        self.note_high_water();
        act
    }

    /// Steps until a whole step does nothing; panics (livelock) after [`MAX_STEPS`].
    pub fn settle(&mut self) {
        for _ in 0..MAX_STEPS {
            if !self.step() {
                return;
            }
        }
        panic!("pair did not settle within {MAX_STEPS} steps: {self:#?}");
    }

    /// Steps until `cond` holds (checked before every step); panics after [`MAX_STEPS`].
    pub fn step_until(&mut self, mut cond: impl FnMut(&Pair) -> bool) {
        for _ in 0..MAX_STEPS {
            if cond(self) {
                return;
            }
            self.step();
        }
        panic!("condition not reached within {MAX_STEPS} steps");
    }

    /// Settles the handshake and checks that it succeeded on both sides.
    pub fn handshake(&mut self) {
        self.settle();
        self.assert_no_failures();
        assert!(
            !self.client.tls.is_handshaking(),
            "client still handshaking"
        );
        assert!(
            !self.server.tls.is_handshaking(),
            "server still handshaking"
        );
    }

    pub fn assert_no_failures(&self) {
        assert!(
            self.client_failures.is_empty() && self.server_failures.is_empty(),
            "unexpected failures: client {:?}, server {:?}",
            self.client_failures,
            self.server_failures
        );
    }

    /// Whether every one of the eight buffers has had its EOF consumed.
    pub fn all_done(&self) -> bool {
        self.client.wire.is_done()
            && self.client.plain.is_done()
            && self.server.wire.is_done()
            && self.server.plain.is_done()
    }
}

// ---------------------------------------------------------------------------------------------
// Which rustls API the suites run on

/// The API under test: `PIPEBUF_RUSTLS_API=buffered` or `=unbuffered` (the test script runs
/// the suites once per API); the crate's default otherwise.
pub fn api() -> RustlsApi {
    match std::env::var("PIPEBUF_RUSTLS_API").as_deref() {
        Ok("buffered") => RustlsApi::Buffered,
        Ok("unbuffered") => RustlsApi::Unbuffered,
        Ok(other) => panic!("PIPEBUF_RUSTLS_API={other}: expected buffered or unbuffered"),
        Err(_) => RustlsApi::default(),
    }
}

/// A server session on the API under test.
pub fn tls_server(config: Arc<ServerConfig>) -> Result<Tls, TlsError> {
    Tls::server_using(config, api())
}

/// A client session on the API under test.
pub fn tls_client(config: Arc<ClientConfig>, name: ServerName<'static>) -> Result<Tls, TlsError> {
    Tls::client_using(config, name, api())
}
