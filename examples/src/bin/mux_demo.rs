//! `mux_demo`: a multiplexed (tagged) request/response protocol, server and client, on
//! [`pipebuf::reqresp::MuxServer`] and [`pipebuf::reqresp::MuxClient`] driven by
//! `pipebuf_mio` `Driver`s (the server's through a `pipebuf_mio::Server`). The server
//! answers each request after a random delay, so answers leave out of order; the client
//! matches them to their requests by tag and checks each.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin mux_demo -- --serve --addr 127.0.0.1:7009
//! cargo run -p pipebuf_examples --bin mux_demo -- --connect 127.0.0.1:7009 --count 10000
//! ```
//!
//! **Wire format**, both directions: a frame is a 4-byte big-endian length (the core's
//! [`LengthPrefixed`] framing, at most 64 KiB), then a 4-byte big-endian tag, then the
//! payload. The answer to a request carries the request's tag and its payload reversed.
//!
//! Flags: see `mux_demo --help` ([`CLI`]).
//!
//! **Server** (`--serve`): a [`MuxService`] whose handler answers each request after a delay
//! drawn uniformly from 0..=`--max-delay-ms` ms by a small deterministic PRNG; the service
//! hands the handler's next due answer to the Driver's timers. Prints `listening on
//! HOST:PORT`; exits cleanly on SIGINT/SIGTERM after answering what it has received (up to
//! 5 s). At most 1024 requests per connection wait for their answer; beyond,
//! the server stops reading that connection.
//!
//! **Client** (`--connect HOST:PORT`): tags come from `0..4K` for `--inflight K`, so they
//! are reused, never while in flight; `--seed` picks payload sizes and bytes. Each request has a 10 s deadline. Once every answer is in, it closes its side and waits
//! for the server's end of stream, then prints one JSON line:
//!
//! ```text
//! {"requests":10000,"matched":10000,"out_of_order":..,"secs":..,"requests_per_sec":..,"errors":0}
//! ```
//!
//! `matched` counts answers with the right payload; `out_of_order` counts answers that arrived
//! after the answer to a later request; `errors` counts wrong payloads, timeouts and failed
//! requests (the first few are described on stderr). Exit status non-zero if `errors` is not
//! 0 or the connection fails.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pipebuf::framing::{FrameError, LengthPrefix, LengthPrefixed};
use pipebuf::reqresp::service::{Handler, MuxService, Reply};
use pipebuf::reqresp::{
    Body, Decoder, Encoded, Encoder, Error, Head, MuxClient, MuxEvent, MuxServer, Refusal, Tagging,
};
use pipebuf::{PBufRdWr, PBufWr, Time};
use pipebuf_examples::cli::flags::{THREADS, listen_addr, server};
use pipebuf_examples::cli::{self, Args, Flag, Program};
use pipebuf_mio::{Chain, Context, DriverConfig, LeftReason};

/// The largest frame body (tag and payload).
const MAX_FRAME: usize = 64 * 1024;

/// Requests per server connection waiting for their answer, at most.
const SERVER_IN_FLIGHT: usize = 1024;

/// How long the client waits for each answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors described on stderr at most.
const MAX_NOTES: usize = 5;

// ---------------------------------------------------------------------------------------
// The protocol

/// An outgoing frame: a request (client) or an answer (server).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Frame {
    tag: u32,
    payload: Vec<u8>,
}

/// An incoming frame, borrowed from the connection's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameRef<'d> {
    tag: u32,
    payload: &'d [u8],
}

/// Why a frame cannot be decoded or encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodecError {
    /// The length prefix announces more than [`MAX_FRAME`], or a payload to send is too long.
    Frame(FrameError),
    /// A frame too short to hold its tag.
    NoTag {
        /// The frame body's length.
        len: usize,
    },
    /// The output has ended.
    Closed,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Frame(e) => write!(f, "frame: {e}"),
            CodecError::NoTag { len } => write!(f, "frame of {len} bytes has no room for a tag"),
            CodecError::Closed => f.write_str("the output has ended"),
        }
    }
}

impl std::error::Error for CodecError {}

/// Frames in both directions: [`LengthPrefixed`] (u32, big endian) around a u32 tag and the
/// payload.
#[derive(Debug, Clone, Copy)]
struct MuxCodec {
    frames: LengthPrefixed,
}

impl MuxCodec {
    fn new() -> Self {
        MuxCodec {
            frames: LengthPrefixed::new(LengthPrefix::U32Be, MAX_FRAME),
        }
    }
}

impl Decoder for MuxCodec {
    type Item<'d> = FrameRef<'d>;
    type Error = CodecError;

    fn decode<'d>(&mut self, data: &'d [u8]) -> Result<Option<Head<FrameRef<'d>>>, CodecError> {
        let Some(record) = self.frames.decode(data).map_err(CodecError::Frame)? else {
            return Ok(None);
        };
        let Some((tag, payload)) = record.body.split_first_chunk::<4>() else {
            return Err(CodecError::NoTag {
                len: record.body.len(),
            });
        };
        Ok(Some(Head {
            message: FrameRef {
                tag: u32::from_be_bytes(*tag),
                payload,
            },
            len: record.frame_len,
            body: Body::None,
        }))
    }
}

impl Encoder for MuxCodec {
    type Item = Frame;
    type Error = CodecError;

    /// Writes prefix, tag and payload straight into the buffer (the same bytes as
    /// `LengthPrefixed::encode` of tag + payload, without assembling them first).
    fn encode(&mut self, frame: &Frame, wr: &mut PBufWr<'_>) -> Result<Encoded, CodecError> {
        let body = 4 + frame.payload.len();
        if body > MAX_FRAME {
            return Err(CodecError::Frame(FrameError::TooLong {
                len: body,
                max: MAX_FRAME,
            }));
        }
        if wr.is_eof() {
            return Err(CodecError::Closed);
        }
        let Ok(space) = wr.space(4 + body) else {
            return Ok(Encoded::Full);
        };
        // body <= MAX_FRAME, so it fits in a u32.
        space[..4].copy_from_slice(&(body as u32).to_be_bytes());
        space[4..8].copy_from_slice(&frame.tag.to_be_bytes());
        space[8..].copy_from_slice(&frame.payload);
        wr.commit(4 + body).map_err(|_| CodecError::Closed)?;
        Ok(Encoded::Written(Body::None))
    }
}

/// Where the tag sits: in the frame, for both sides.
#[derive(Debug, Clone, Copy)]
struct ByTag;

impl Tagging<MuxCodec, MuxCodec> for ByTag {
    fn set_tag(&mut self, frame: &mut Frame, tag: u32) {
        frame.tag = tag;
    }

    fn tag_of(&self, frame: &FrameRef<'_>) -> u32 {
        frame.tag
    }
}

/// A small deterministic PRNG (xorshift64*): delays and payloads reproducible from a seed.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Never zero, and nearby seeds far apart.
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..=max` (bias negligible for small `max`).
    fn upto(&mut self, max: u64) -> u64 {
        self.next() % (max + 1)
    }
}

/// The payload of request `i`: 1 to 64 bytes, derived from the seed and `i`.
fn payload(seed: u64, i: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ i.wrapping_mul(0x1000_0000_01b3));
    let len = 1 + rng.upto(63) as usize;
    (0..len).map(|_| rng.next() as u8).collect()
}

/// What the server answers to a payload.
fn answer_to(payload: &[u8]) -> Vec<u8> {
    payload.iter().rev().copied().collect()
}

// ---------------------------------------------------------------------------------------
// The server

/// An answer waiting for its moment: (due, arrival number, tag, payload).
type Due = Reverse<(Time, u64, u64, Vec<u8>)>;

/// Answers each request of one connection after a random delay.
struct Delayed {
    rng: Rng,
    max_delay_ms: u64,
    due: BinaryHeap<Due>,
    arrivals: u64,
}

impl Handler<MuxCodec, MuxCodec> for Delayed {
    fn call(&mut self, tag: u64, request: FrameRef<'_>, now: Time) -> Reply<Frame> {
        let delay = Duration::from_millis(self.rng.upto(self.max_delay_ms));
        self.arrivals += 1;
        let answer = answer_to(request.payload);
        self.due
            .push(Reverse((now + delay, self.arrivals, tag, answer)));
        Reply::Later
    }

    fn poll(&mut self, now: Time) -> Option<(u64, Frame)> {
        if self.next_ready()? > now {
            return None;
        }
        let Reverse((_, _, tag, payload)) = self.due.pop()?;
        // The service puts the request's tag into the frame.
        Some((tag, Frame { tag: 0, payload }))
    }

    fn next_ready(&self) -> Option<Time> {
        self.due.peek().map(|Reverse((at, ..))| *at)
    }

    fn timed_out(&mut self, _: u64) -> Frame {
        // No deadline is set: every answer comes within --max-delay-ms.
        Frame {
            tag: 0,
            payload: Vec::new(),
        }
    }
}

/// One server connection: the multiplexed service with its delaying handler.
fn connection(seed: u64, max_delay_ms: u64) -> MuxService<MuxCodec, MuxCodec, ByTag, Delayed> {
    let server = MuxServer::new(MuxCodec::new(), MuxCodec::new(), ByTag, SERVER_IN_FLIGHT);
    let handler = Delayed {
        rng: Rng::new(seed),
        max_delay_ms,
        due: BinaryHeap::new(),
        arrivals: 0,
    };
    MuxService::new(server, handler)
}

fn serve(args: &Args<'_>) -> Result<(), cli::Error> {
    let server = server(args)?;
    let max_delay_ms: u64 = args.get("max-delay-ms")?;
    let seed: u64 = args.get("seed")?;
    if max_delay_ms > 60_000 {
        return Err(cli::Error::usage("--max-delay-ms is at most 60000"));
    }
    // The event loops share one factory: connections are numbered across all of them, so
    // every connection's seed differs.
    let conns = AtomicU64::new(0);
    Ok(pipebuf_examples::serve_until_signalled(
        server,
        move |_| {
            let conn = conns.fetch_add(1, Ordering::Relaxed) + 1;
            Some(connection(seed ^ conn, max_delay_ms))
        },
    )?)
}

// ---------------------------------------------------------------------------------------
// The client

/// What the client reports once every request is answered or failed.
#[derive(Debug)]
struct Summary {
    matched: u64,
    out_of_order: u64,
    errors: u64,
    elapsed: Duration,
    notes: Vec<String>,
}

/// The client connection: keeps up to K tagged requests in flight and checks each answer.
struct Connect {
    /// Contexts are request numbers.
    client: MuxClient<MuxCodec, MuxCodec, ByTag, u64>,
    seed: u64,
    count: u64,
    next: u64,
    inflight: usize,
    matched: u64,
    out_of_order: u64,
    errors: u64,
    /// The highest request number answered so far.
    highest: Option<u64>,
    notes: Vec<String>,
    /// When the client started, on the driver's clock; the client's deadlines count from
    /// here.
    started: Time,
    done: bool,
}

impl Connect {
    fn new(seed: u64, count: u64, inflight: usize) -> Self {
        let max_tag = u32::try_from(inflight.saturating_mul(4) - 1).unwrap_or(u32::MAX);
        Connect {
            client: MuxClient::new(MuxCodec::new(), MuxCodec::new(), ByTag, max_tag, inflight),
            seed,
            count,
            next: 0,
            inflight,
            matched: 0,
            out_of_order: 0,
            errors: 0,
            highest: None,
            notes: Vec::new(),
            started: Time::now(),
            done: false,
        }
    }

    fn note(&mut self, what: String) {
        self.errors += 1;
        if self.notes.len() < MAX_NOTES {
            self.notes.push(what);
        }
    }
}

impl Chain for Connect {
    type Msg = Summary;
    type Error = Error<CodecError, CodecError>;

    fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        cx: &mut Context<'_, Summary>,
    ) -> Result<bool, Self::Error> {
        let now = cx.now().saturating_duration_since(self.started);
        let mut active = false;
        while let Some((ticket, i)) = self.client.poll_timeout(now) {
            self.note(format!("request {i} ({ticket}) timed out"));
            active = true;
        }
        while self.next < self.count && self.client.tags_taken() < self.inflight {
            let frame = Frame {
                tag: 0, // set by the client
                payload: payload(self.seed, self.next),
            };
            let deadline = Some(now + REQUEST_TIMEOUT);
            match self.client.submit(&mut net.wr, frame, self.next, deadline) {
                Ok(_) => {
                    self.next += 1;
                    active = true;
                }
                Err(refused) => match refused.reason {
                    Refusal::Encode(e) => return Err(Error::Encode(e)),
                    _ => break, // full, no room now, or ended
                },
            }
        }
        let mut answers = Vec::new();
        let mut failures = Vec::new();
        let seed = self.seed;
        active |= self.client.process(net.reborrow(), |event| match event {
            MuxEvent::Response {
                context, response, ..
            } => {
                let right = response.payload == answer_to(&payload(seed, context));
                answers.push((context, right));
            }
            MuxEvent::Failed {
                ticket,
                context,
                failure,
            } => failures.push(format!("request {context} ({ticket}): {failure}")),
            MuxEvent::Late { tag, .. } => failures.push(format!("late answer with tag {tag}")),
        })?;
        for (i, right) in answers {
            if right {
                self.matched += 1;
            } else {
                self.note(format!("request {i}: wrong payload in the answer"));
            }
            if self.highest.is_some_and(|h| i < h) {
                self.out_of_order += 1;
            }
            self.highest = self.highest.max(Some(i));
        }
        for failure in failures {
            self.note(failure);
        }
        if !self.done && self.matched + self.errors >= self.count {
            self.done = true;
            cx.emit(Summary {
                matched: self.matched,
                out_of_order: self.out_of_order,
                errors: self.errors,
                elapsed: Time::now().saturating_duration_since(self.started),
                notes: std::mem::take(&mut self.notes),
            });
            net.wr.close();
            active = true;
        }
        Ok(active)
    }

    fn next_deadline(&self) -> Option<Time> {
        self.client.next_deadline().map(|d| self.started + d)
    }
}

fn connect(args: &Args<'_>, addr: SocketAddr) -> Result<(), cli::Error> {
    let count: u64 = args.get("count")?;
    let inflight: usize = args.get("inflight")?;
    let seed: u64 = args.get("seed")?;
    if count == 0 || inflight == 0 {
        return Err(cli::Error::usage(
            "--count and --inflight must be at least 1",
        ));
    }
    if inflight > 1 << 20 {
        return Err(cli::Error::usage("--inflight is at most 1048576"));
    }
    let (summary, left) = pipebuf_examples::run_client(
        DriverConfig::default(),
        addr,
        Connect::new(seed, count, inflight),
    )?;
    let Some(summary) = summary else {
        return Err(cli::Error::failed(format!(
            "connection to {addr} ended before every answer: {left}"
        )));
    };
    for note in &summary.notes {
        eprintln!("mux_demo: {note}");
    }
    let mut errors = summary.errors;
    if !matches!(left, LeftReason::Closed) {
        eprintln!("mux_demo: the connection did not end cleanly: {left}");
        errors += 1;
    }
    let secs = summary.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        summary.matched as f64 / secs
    } else {
        0.0
    };
    println!(
        "{{\"requests\":{count},\"matched\":{},\"out_of_order\":{},\"secs\":{secs:.3},\"requests_per_sec\":{rate:.0},\"errors\":{errors}}}",
        summary.matched, summary.out_of_order,
    );
    match errors {
        0 => Ok(()),
        n => Err(cli::Error::failed(format!("{n} requests failed"))),
    }
}

/// The command line.
static CLI: Program = Program {
    name: "mux_demo",
    about: "a multiplexed (tagged) request/response protocol, server and client, on \
            pipebuf's MuxServer and MuxClient: the server answers each request after a random \
            delay, so answers leave out of order; the client matches them to their requests \
            by tag and checks each. The server (--serve) prints `listening on HOST:PORT`; the \
            client (--connect) prints one JSON line (requests, matched, out_of_order, secs, \
            requests_per_sec, errors) and \
            exits 1 if errors is not 0.",
    operand: None,
    flags: &[
        Flag::switch("serve", "Run the server."),
        Flag::value(
            "connect",
            "HOST:PORT",
            "Run the client against this server.",
        )
        .default_text("no client"),
        listen_addr("127.0.0.1:7009"),
        THREADS,
        Flag::value(
            "max-delay-ms",
            "MS",
            "Server: each answer waits a random 0..=MS ms (at most 60000).",
        )
        .default("20"),
        Flag::value("count", "N", "Client: requests to send.").default("10000"),
        Flag::value("inflight", "K", "Client: requests in flight at most.").default("100"),
        Flag::value(
            "seed",
            "S",
            "Server: delays; client: payload sizes and bytes.",
        )
        .default("1"),
    ],
    examples: &[
        "mux_demo --serve --addr 127.0.0.1:7009",
        "mux_demo --connect 127.0.0.1:7009 --count 10000 --inflight 100",
    ],
};

fn run(args: &Args<'_>) -> Result<(), cli::Error> {
    match (args.is_set("serve"), args.opt::<SocketAddr>("connect")?) {
        (true, None) => serve(args),
        (false, Some(addr)) => connect(args, addr),
        _ => Err(cli::Error::usage(
            "give either --serve (with --addr) or --connect HOST:PORT",
        )),
    }
}

fn main() -> ExitCode {
    CLI.main(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipebuf::PipeBuf;

    #[test]
    fn a_frame_is_a_length_prefixed_record_of_tag_and_payload() {
        let mut pb = PipeBuf::<u8>::new();
        let frame = Frame {
            tag: 0x0102_0304,
            payload: b"abc".to_vec(),
        };
        assert_eq!(
            MuxCodec::new().encode(&frame, &mut pb.wr()),
            Ok(Encoded::Written(Body::None))
        );
        assert_eq!(pb.data(), b"\0\0\0\x07\x01\x02\x03\x04abc");
        let record = LengthPrefixed::new(LengthPrefix::U32Be, MAX_FRAME)
            .decode(pb.data())
            .unwrap()
            .unwrap();
        assert_eq!(record.body, b"\x01\x02\x03\x04abc");
        let head = MuxCodec::new().decode(pb.data()).unwrap().unwrap();
        assert_eq!(
            head.message,
            FrameRef {
                tag: 0x0102_0304,
                payload: b"abc"
            }
        );
        assert_eq!(head.len, 11);
    }

    #[test]
    fn a_frame_split_anywhere_needs_more_input_and_the_next_one_stays() {
        let mut pb = PipeBuf::<u8>::new();
        for tag in [7, 8] {
            let frame = Frame {
                tag,
                payload: vec![tag as u8; 5],
            };
            MuxCodec::new().encode(&frame, &mut pb.wr()).unwrap();
        }
        let data = pb.data();
        for split in 0..13 {
            assert_eq!(
                MuxCodec::new().decode(&data[..split]),
                Ok(None),
                "at {split}"
            );
        }
        let head = MuxCodec::new().decode(data).unwrap().unwrap();
        assert_eq!((head.message.tag, head.len), (7, 13));
        let next = MuxCodec::new().decode(&data[13..]).unwrap().unwrap();
        assert_eq!(next.message.tag, 8);
    }

    #[test]
    fn frames_without_room_for_a_tag_or_over_the_limit_are_errors() {
        assert_eq!(
            MuxCodec::new().decode(b"\0\0\0\x03abc"),
            Err(CodecError::NoTag { len: 3 })
        );
        assert!(matches!(
            MuxCodec::new().decode(b"\xff\xff\xff\xff"),
            Err(CodecError::Frame(FrameError::TooLong { .. }))
        ));
        let huge = Frame {
            tag: 1,
            payload: vec![0; MAX_FRAME],
        };
        assert!(matches!(
            MuxCodec::new().encode(&huge, &mut PipeBuf::<u8>::new().wr()),
            Err(CodecError::Frame(FrameError::TooLong { .. }))
        ));
    }

    #[test]
    fn a_frame_that_does_not_fit_now_is_refused_whole() {
        let mut pb = PipeBuf::<u8>::with_limits(8, 16);
        let frame = Frame {
            tag: 1,
            payload: vec![1; 9],
        };
        assert_eq!(
            MuxCodec::new().encode(&frame, &mut pb.wr()),
            Ok(Encoded::Full)
        );
        assert!(pb.is_empty());
    }

    #[test]
    fn payloads_are_reproducible_and_vary() {
        assert_eq!(payload(1, 5), payload(1, 5));
        assert_ne!(payload(1, 5), payload(1, 6));
        assert!((0..1000).all(|i| (1..=64).contains(&payload(3, i).len())));
    }
}
