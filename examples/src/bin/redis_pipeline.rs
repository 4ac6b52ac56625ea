//! `redis_pipeline`: a pipelined Redis client on [`pipebuf::reqresp::PipelinedClient`] with
//! the RESP2 codec of `pipebuf_examples::resp`, driven by a `pipebuf_mio` [`Driver`](pipebuf_mio::Driver): one
//! connection keeps up to K commands in flight, and every reply is checked.
//!
//! ```text
//! redis-server --port 6379 --save '' --appendonly no &
//! cargo run --release -p pipebuf_examples --bin redis_pipeline -- --addr 127.0.0.1:6379
//! ```
//!
//! Flags: see `redis_pipeline --help` ([`CLI`]).
//!
//! It sends, interleaved, `SET key:i value:i` and `GET key:i` for i in 0..N (2N commands; the
//! GET follows its SET on the same connection, so Redis answers it with the value just set)
//! and checks each reply: `+OK` for a SET, the exact bulk string `value:i` for a GET. Then it
//! closes its sending side and waits for the server's end of stream. Prints one JSON line:
//!
//! ```text
//! {"commands":200000,"pipeline":64,"secs":..,"commands_per_sec":..,"errors":0}
//! ```
//!
//! `secs` runs from the connect to the last reply checked. `errors` counts wrong or failed
//! replies (the first few are described on stderr); the exit status is non-zero if it is
//! not 0, and when the connection fails (with a message). A server silent for 30 s fails
//! the run.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use pipebuf::PBufRdWr;
use pipebuf::reqresp::{ClientEvent, Error, PipelinedClient, Refusal};
use pipebuf_examples::cli::{self, Args, Flag, Program};
use pipebuf_examples::resp::{
    Command, CommandEncoder, EncodeError, Reply, ReplyDecoder, RespError,
};
use pipebuf_mio::{Chain, Context, DriverConfig, LeftReason};

/// How long the server may stay silent before the run fails.
const SILENCE_LIMIT: Duration = Duration::from_secs(30);

/// Errors described on stderr at most.
const MAX_NOTES: usize = 5;

/// What the reply to a command must be.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `+OK` (a SET).
    Ok,
    /// The bulk string `value:i` (a GET of `key:i`).
    Value(u64),
}

/// What the chain reports once every reply is in.
#[derive(Debug)]
struct Summary {
    commands: u64,
    elapsed: Duration,
    errors: u64,
    notes: Vec<String>,
}

/// The whole client: submits commands while fewer than K are in flight, checks the replies.
struct Pipeline {
    client: PipelinedClient<CommandEncoder, ReplyDecoder, Expect>,
    pipeline: usize,
    /// Commands in all (2N).
    total: u64,
    /// The next command to submit.
    next: u64,
    checked: u64,
    errors: u64,
    notes: Vec<String>,
    started: Instant,
    done: bool,
}

impl Pipeline {
    fn new(count: u64, pipeline: usize) -> Self {
        Pipeline {
            client: PipelinedClient::new(CommandEncoder, ReplyDecoder::default(), pipeline),
            pipeline,
            total: count * 2,
            next: 0,
            checked: 0,
            errors: 0,
            notes: Vec::new(),
            started: Instant::now(),
            done: false,
        }
    }

    /// Command `j`: `SET key:i value:i` for even `j`, `GET key:i` for odd, with `i = j / 2`.
    fn command(j: u64) -> (Command, Expect) {
        let i = j / 2;
        let key = format!("key:{i}");
        if j.is_multiple_of(2) {
            let value = format!("value:{i}");
            (Command::new(["SET", &key, &value]), Expect::Ok)
        } else {
            (Command::new(["GET", &key]), Expect::Value(i))
        }
    }
}

/// Whether `reply` is what `expect` asks for; otherwise a description of the difference.
fn check(expect: Expect, reply: &Reply<'_>) -> Result<(), String> {
    match (expect, reply) {
        (Expect::Ok, Reply::Simple(b"OK")) => Ok(()),
        (Expect::Value(i), Reply::Bulk(Some(value)))
            if *value == format!("value:{i}").as_bytes() =>
        {
            Ok(())
        }
        (Expect::Ok, other) => Err(format!("SET: expected +OK, got {other}")),
        (Expect::Value(i), other) => {
            Err(format!("GET key:{i}: expected \"value:{i}\", got {other}"))
        }
    }
}

impl Chain for Pipeline {
    type Msg = Summary;
    type Error = Error<RespError, EncodeError>;

    fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        cx: &mut Context<'_, Summary>,
    ) -> Result<bool, Self::Error> {
        let mut active = false;
        while self.next < self.total && self.client.in_flight() < self.pipeline {
            let (command, expect) = Self::command(self.next);
            match self.client.submit(&mut net.wr, command, expect) {
                Ok(_) => {
                    self.next += 1;
                    active = true;
                }
                Err(refused) => match refused.reason {
                    Refusal::Encode(e) => return Err(Error::Encode(e)),
                    // No room in the output now, or the connection ended: later, or never.
                    _ => break,
                },
            }
        }
        let Pipeline {
            client,
            checked,
            errors,
            notes,
            ..
        } = self;
        let mut note = |what: String| {
            *errors += 1;
            if notes.len() < MAX_NOTES {
                notes.push(what);
            }
        };
        active |= client.process(net.reborrow(), |event| match event {
            ClientEvent::Response {
                context, response, ..
            } => {
                *checked += 1;
                if let Err(what) = check(context, &response) {
                    note(what);
                }
            }
            ClientEvent::Failed {
                ticket, failure, ..
            } => {
                *checked += 1;
                note(format!("command {ticket}: {failure}"));
            }
        })?;
        if !self.done && self.checked == self.total {
            self.done = true;
            cx.emit(Summary {
                commands: self.checked,
                elapsed: self.started.elapsed(),
                errors: self.errors,
                notes: std::mem::take(&mut self.notes),
            });
            // Every reply is in: end our side; Redis closes its side in turn.
            net.wr.close();
            active = true;
        }
        Ok(active)
    }
}

/// The command line.
static CLI: Program = Program {
    name: "redis_pipeline",
    about: "a pipelined Redis client: one connection keeps up to K commands in flight, \
            sending SET key:i value:i and GET key:i for i in 0..N and checking every reply. \
            Prints one JSON line (commands, pipeline, secs, commands_per_sec, errors); exits 1 if errors is not 0 or the \
            connection fails.",
    operand: None,
    flags: &[
        Flag::value("addr", "HOST:PORT", "The Redis server.").default("127.0.0.1:6379"),
        Flag::value("count", "N", "Keys to set and get (2N commands).").default("100000"),
        Flag::value("pipeline", "K", "Commands in flight at most.").default("64"),
    ],
    examples: &[
        "redis-server --port 6379 --save '' --appendonly no &",
        "redis_pipeline --addr 127.0.0.1:6379 --count 100000 --pipeline 64",
    ],
};

fn run(args: &Args<'_>) -> Result<(), cli::Error> {
    let addr: SocketAddr = args.get("addr")?;
    let count: u64 = args.get("count")?;
    let pipeline: usize = args.get("pipeline")?;
    if count == 0 || pipeline == 0 {
        return Err(cli::Error::usage(
            "--count and --pipeline must be at least 1",
        ));
    }
    if count > u64::MAX / 4 {
        return Err(cli::Error::usage("--count is too large"));
    }
    let config = DriverConfig {
        idle_timeout: Some(SILENCE_LIMIT),
        ..DriverConfig::default()
    };
    let (summary, left) =
        pipebuf_examples::run_client(config, addr, Pipeline::new(count, pipeline))?;
    let Some(summary) = summary else {
        return Err(cli::Error::failed(format!(
            "connection to {addr} ended before every reply: {left}"
        )));
    };
    for note in &summary.notes {
        eprintln!("redis_pipeline: {note}");
    }
    let mut errors = summary.errors;
    if !matches!(left, LeftReason::Closed) {
        eprintln!("redis_pipeline: the connection did not end cleanly: {left}");
        errors += 1;
    }
    let secs = summary.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        summary.commands as f64 / secs
    } else {
        0.0
    };
    println!(
        "{{\"commands\":{},\"pipeline\":{pipeline},\"secs\":{secs:.3},\"commands_per_sec\":{rate:.0},\"errors\":{errors}}}",
        summary.commands
    );
    match errors {
        0 => Ok(()),
        n => Err(cli::Error::failed(format!(
            "{n} replies were wrong or failed"
        ))),
    }
}

fn main() -> ExitCode {
    CLI.main(run)
}
