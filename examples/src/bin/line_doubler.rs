//! `line_doubler`: the classic pipelined server. Reads newline-separated integers and answers
//! each with its double (`21\n` → `42\n`), in request order, however many requests the client
//! sends before reading. A bad line gets an error line and the connection goes on:
//! `ERR not an integer`, `ERR out of range` (the number or its double does not fit in 64
//! bits), `ERR line too long` (over 64 bytes; the rest of that line is skipped).
//!
//! ```text
//! cargo run -p pipebuf_examples --bin line_doubler -- --addr 127.0.0.1:7008
//! printf '21\n-4\nabc\n' | nc -N 127.0.0.1 7008
//! ```
//!
//! Built on [`pipebuf::reqresp::service::PipelinedService`] (a handler answers each request;
//! the responses leave in request order) with the core's [`Lines`] framing, served by a
//! `pipebuf_mio` `Server` (one `Driver` per thread) through
//! `pipebuf_examples::serve_until_signalled`.
//!
//! Flags: see `line_doubler --help` ([`CLI`]). Prints `listening on HOST:PORT` once it accepts connections; exits cleanly on SIGINT/SIGTERM, answering what
//! it already received (up to 5 s). A line may end in CRLF; spaces around the number are
//! ignored. After the client's end of stream every complete line is answered and the server
//! closes its side; an unterminated last line is dropped.

use std::io::Write;
use std::process::ExitCode;

use pipebuf::framing::{FrameError, Lines};
use pipebuf::reqresp::service::{Handler, PipelinedService, Reply};
use pipebuf::reqresp::{Body, Decoder, Encoded, Encoder, Head, PipelinedServer};
use pipebuf::{PBufWr, Time};
use pipebuf_examples::cli::flags::{THREADS, listen_addr, server};
use pipebuf_examples::cli::{self, Args, Program};

/// The longest line taken as a request (delimiter excluded).
const MAX_LINE: usize = 64;

/// Requests decoded and not answered on the wire yet, per connection, at most: beyond, the
/// server stops reading (backpressure).
const MAX_IN_FLIGHT: usize = 1024;

/// A request line, as decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    /// A number to double.
    Number(i64),
    /// A line that is not a request; it gets this error line.
    Bad(&'static str),
    /// More of an over-long line that was already answered: gets no answer.
    Rest,
}

/// Decodes lines into [`Request`]s. An over-long line is answered once (its first
/// `MAX_LINE + 1` bytes become `Bad`) and the rest of it, up to its newline, is skipped as
/// `Rest` pieces, so a peer can neither stall the connection nor make it buffer the line.
///
/// Relies on the component consuming every head it returns (the [`Decoder`] contract: the
/// component consumes exactly `len` bytes), since the skipping state changes in `decode`.
#[derive(Debug)]
struct LineDecoder {
    lines: Lines,
    skipping: bool,
}

impl LineDecoder {
    fn new() -> Self {
        LineDecoder {
            lines: Lines::new(b'\n', MAX_LINE),
            skipping: false,
        }
    }
}

/// What a complete line (newline excluded) asks for.
fn parse(line: &[u8]) -> Request {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(text) = std::str::from_utf8(line) else {
        return Request::Bad("ERR not an integer");
    };
    let text = text.trim();
    if text.is_empty()
        || !text
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || (i == 0 && (b == b'-' || b == b'+')))
    {
        return Request::Bad("ERR not an integer");
    }
    match text.parse::<i64>() {
        Ok(n) => Request::Number(n),
        // Only digits and a sign: a parse error is a number out of range (or a bare sign).
        Err(_) if text.len() > 1 => Request::Bad("ERR out of range"),
        Err(_) => Request::Bad("ERR not an integer"),
    }
}

impl Decoder for LineDecoder {
    type Item<'d> = Request;
    type Error = FrameError;

    fn decode(&mut self, data: &[u8]) -> Result<Option<Head<Request>>, FrameError> {
        let head = |message, len| {
            Ok(Some(Head {
                message,
                len,
                body: Body::None,
            }))
        };
        if self.skipping {
            return match data.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    self.skipping = false;
                    head(Request::Rest, at + 1)
                }
                None if data.is_empty() => Ok(None),
                None => head(Request::Rest, data.len()),
            };
        }
        match self.lines.decode(data) {
            Ok(Some(record)) => head(parse(record.body), record.frame_len),
            Ok(None) => Ok(None),
            Err(FrameError::TooLong { .. }) => {
                // No newline in the first MAX_LINE + 1 bytes: answer now, skip the rest.
                self.skipping = true;
                head(Request::Bad("ERR line too long"), MAX_LINE + 1)
            }
            Err(e) => Err(e),
        }
    }
}

/// An answer line, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Number(i64),
    Error(&'static str),
    Nothing,
}

fn answer(request: Request) -> Answer {
    match request {
        Request::Number(n) => match n.checked_mul(2) {
            Some(doubled) => Answer::Number(doubled),
            None => Answer::Error("ERR out of range"),
        },
        Request::Bad(why) => Answer::Error(why),
        Request::Rest => Answer::Nothing,
    }
}

/// Writes [`Answer`]s as lines.
#[derive(Debug, Default)]
struct AnswerEncoder;

impl Encoder for AnswerEncoder {
    type Item = Answer;
    type Error = pipebuf::Error;

    fn encode(&mut self, item: &Answer, wr: &mut PBufWr<'_>) -> Result<Encoded, pipebuf::Error> {
        let mut line = [0u8; 32];
        let len = {
            let mut out = &mut line[..];
            // 32 bytes hold any i64 and every error line, so these writes cannot fail.
            let _ = match item {
                Answer::Number(n) => writeln!(out, "{n}"),
                Answer::Error(why) => writeln!(out, "{why}"),
                Answer::Nothing => Ok(()),
            };
            32 - out.len()
        };
        match wr.append(&line[..len]) {
            Ok(()) => Ok(Encoded::Written(Body::None)),
            Err(pipebuf::Error::NoSpace { .. }) => Ok(Encoded::Full),
            Err(e) => Err(e),
        }
    }
}

/// Answers every request at once; the service writes the answers in request order.
struct Doubler;

impl Handler<LineDecoder, AnswerEncoder> for Doubler {
    fn call(&mut self, _: u64, request: Request, _: Time) -> Reply<Answer> {
        Reply::Now(answer(request))
    }

    fn timed_out(&mut self, _: u64) -> Answer {
        // Every answer is given at once, so no request waits for a deadline.
        Answer::Error("ERR timeout")
    }
}

/// One connection's chain: the pipelined server with its handler.
fn connection() -> PipelinedService<AnswerEncoder, LineDecoder, Doubler> {
    let server = PipelinedServer::new(
        AnswerEncoder,
        LineDecoder::new(),
        MAX_IN_FLIGHT,
        MAX_IN_FLIGHT,
    );
    PipelinedService::new(server, Doubler)
}

/// The command line.
static CLI: Program = Program {
    name: "line_doubler",
    about: "the classic pipelined server: reads newline-separated integers and answers each \
            with its double (21 → 42), in request order, however many requests come before \
            the client reads; a bad line gets an `ERR ...` line. Prints `listening on \
            HOST:PORT` on stdout; SIGINT/SIGTERM stop it cleanly.",
    operand: None,
    flags: &[listen_addr("127.0.0.1:7008"), THREADS],
    examples: &[
        "line_doubler --addr 127.0.0.1:7008",
        "printf '21\\n-4\\nabc\\n' | nc -N 127.0.0.1 7008",
    ],
};

fn run(args: &Args<'_>) -> Result<(), cli::Error> {
    Ok(pipebuf_examples::serve_until_signalled(
        server(args)?,
        |_| Some(connection()),
    )?)
}

fn main() -> ExitCode {
    CLI.main(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipebuf::PipeBufPair;

    /// Feeds `input` to a fresh connection and returns everything it writes, with whether
    /// it closed.
    fn serve(input: &[u8], close: bool) -> (String, bool) {
        let mut pair = PipeBufPair::<u8>::new();
        pair.lower().wr.append(input).unwrap();
        if close {
            pair.lower().wr.close();
        }
        let mut service = connection();
        pipebuf::settle(10_000, || service.process(pair.upper(), Time::ZERO)).unwrap();
        let out = String::from_utf8(pair.down.data().to_vec()).unwrap();
        (out, pair.down.state().eof_kind().is_some())
    }

    #[test]
    fn numbers_are_doubled_in_order() {
        assert_eq!(serve(b"21\n-4\n0\n", false), ("42\n-8\n0\n".into(), false));
    }

    #[test]
    fn crlf_and_spaces_around_the_number_are_accepted() {
        assert_eq!(serve(b"21\r\n +3 \n", false).0, "42\n6\n");
    }

    #[test]
    fn bad_lines_get_error_lines_and_the_good_ones_around_them_their_answers() {
        let input = b"1\nabc\n\n-\n1.5\n9223372036854775807\n99999999999999999999\n-4611686018427387904\n2\n";
        assert_eq!(
            serve(input, false).0,
            "2\nERR not an integer\nERR not an integer\nERR not an integer\nERR not an integer\n\
             ERR out of range\nERR out of range\n-9223372036854775808\n4\n"
        );
    }

    #[test]
    fn an_over_long_line_gets_one_error_and_its_rest_is_skipped() {
        let mut input = b"5\n".to_vec();
        input.extend_from_slice(&[b'7'; 1000]);
        input.extend_from_slice(b"\n6\n");
        assert_eq!(serve(&input, false).0, "10\nERR line too long\n12\n");
    }

    #[test]
    fn an_over_long_line_arriving_in_pieces_is_skipped_piece_by_piece() {
        let mut decoder = LineDecoder::new();
        let long = [b'x'; MAX_LINE + 1];
        let head = decoder.decode(&long).unwrap().unwrap();
        assert_eq!(
            (head.message, head.len),
            (Request::Bad("ERR line too long"), MAX_LINE + 1)
        );
        assert_eq!(decoder.decode(b""), Ok(None));
        let head = decoder.decode(b"xxx").unwrap().unwrap();
        assert_eq!((head.message, head.len), (Request::Rest, 3));
        let head = decoder.decode(b"x\n8\n").unwrap().unwrap();
        assert_eq!((head.message, head.len), (Request::Rest, 2));
        let head = decoder.decode(b"8\n").unwrap().unwrap();
        assert_eq!((head.message, head.len), (Request::Number(8), 2));
    }

    #[test]
    fn after_the_peer_closes_every_line_is_answered_then_the_server_closes() {
        assert_eq!(
            serve(b"1\n2\n3\n4\n5\n6\n7", true),
            ("2\n4\n6\n8\n10\n12\n".into(), true)
        );
    }
}
