//! An `HttpServer` fed a client's bytes, whole and cut at points the input chooses: either
//! arbitrary bytes, or up to four pipelined requests the body builds from the input (method,
//! version, `Content-Length` or chunked bodies cut into chunks with extensions, some near
//! the size-line limit, and trailers; `Expect: 100-continue`, `Connection` fields, upgrades,
//! and the smuggling shapes: both lengths, differing lengths, `chunked` not alone), at times
//! with one byte changed or the rest cut off, then the input's remaining bytes. Records mode
//! (answered once a body ended, or as soon as its head came) or a handler; a record buffer of
//! 64 B to 256 KiB; limits default or small; the peer ends its stream or not.
//!
//! Checked against the reference of `http_conn` in each run: a body delivered is never more
//! than announced nor past `max_body`, is what the reference decoder makes of the same bytes,
//! and all of it when its end record comes; the reference refusing a body means the server
//! refuses it the same way, an incomplete one means no error; each request served is the head
//! that follows the previous body, so a pipelined request is neither lost nor read from inside
//! a body; an error always ends the byte side, with the refusal's 4xx (or 501) written when no
//! answer had begun; every stream ends as the rules say for how the peer ended. Across the
//! two runs: the same requests, bodies, error, answers and stream ends.

use pipebuf::EofKind;

use super::http_conn::{Mode, config, serve_both};
use super::input::Input;

/// Most bytes of a built stream.
const MAX_STREAM: usize = 16 * 1024;

/// Runs one input; panics if an invariant breaks.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = input.byte();
    let flags = input.byte();
    let config = config(limits, flags & 1 == 1);
    let mode = [
        Mode::Records { early: false },
        Mode::Records { early: false },
        Mode::Records { early: true },
        Mode::Handler,
    ][usize::from(flags / 2 % 4)];
    let end = [None, Some(EofKind::Close), Some(EofKind::Abort)][usize::from(flags / 8 % 3)];
    let app_limit = [64, 1024, 256 * 1024][usize::from(flags / 24 % 3)];
    let built = (flags / 72).is_multiple_of(2);
    let choice_count = input.below(16);
    let choices = input.take(choice_count);
    let stream = if built {
        build(&mut input)
    } else {
        input.rest().to_vec()
    };
    let stream = &stream[..stream.len().min(MAX_STREAM)];
    serve_both(stream, choices, config, mode, app_limit, end);
}

/// Up to four pipelined requests built from the input, then the input's remaining bytes.
fn build(input: &mut Input<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..1 + input.below(4) {
        if out.len() > MAX_STREAM {
            break;
        }
        let start = out.len();
        let shape = input.byte();
        let extra = input.byte();
        let method = ["GET", "POST", "PUT", "HEAD"][usize::from(shape % 4)];
        let http10 = extra & 1 == 1;
        let minor = if http10 { 0 } else { 1 };
        out.extend_from_slice(format!("{method} /{i} HTTP/1.{minor}\r\n").as_bytes());
        if !http10 || extra & 2 == 2 {
            out.extend_from_slice(b"Host: x\r\n");
        }
        let body_len = input.below(256);
        let body = input.take(body_len);
        let n = body.len();
        let framing = shape / 4 % 8;
        let fields = match framing {
            0 => String::new(),
            1 => format!("Content-Length: {n}\r\n"),
            2 | 3 => "Transfer-Encoding: chunked\r\n".into(),
            4 => format!("Content-Length: {n}\r\nTransfer-Encoding: chunked\r\n"),
            5 => format!(
                "Content-Length: {n}\r\nContent-Length: {}\r\n",
                n + usize::from(extra & 2 == 2)
            ),
            6 if extra & 2 == 2 => "Transfer-Encoding: gzip, chunked\r\n".into(),
            6 => "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n".into(),
            _ => format!("Content-Length: {n}\r\nExpect: 100-continue\r\n"),
        };
        out.extend_from_slice(fields.as_bytes());
        if extra & 4 == 4 {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        if extra & 8 == 8 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        if extra & 16 == 16 {
            out.extend_from_slice(b"Upgrade: websocket\r\nConnection: Upgrade\r\n");
        }
        out.extend_from_slice(b"\r\n");
        match framing {
            0 => (),
            1 | 5 | 7 => out.extend_from_slice(body),
            _ => encode_chunked(body, input, &mut out),
        }
        let damage = input.byte();
        if damage >= 0xe0 && out.len() > start {
            let at = start + input.below(out.len() - start);
            out[at] = input.byte();
        } else if damage >= 0xd8 && out.len() > start {
            out.truncate(start + input.below(out.len() - start));
        }
    }
    out.extend_from_slice(input.rest());
    out
}

/// `body` as chunks the input cuts, each size in either case with or without leading
/// zeros, some with an extension (a few near the size-line limit), then the last chunk and
/// up to two trailer fields.
fn encode_chunked(body: &[u8], input: &mut Input<'_>, out: &mut Vec<u8>) {
    let mut rest = body;
    loop {
        let style = input.byte();
        let n = if rest.is_empty() {
            0
        } else {
            usize::from(input.byte()) % rest.len() + 1
        };
        if style & 2 == 2 {
            out.extend_from_slice(b"00");
        }
        let size = if style & 1 == 1 {
            format!("{n:X}")
        } else {
            format!("{n:x}")
        };
        out.extend_from_slice(size.as_bytes());
        match style / 4 % 4 {
            2 => out.extend_from_slice(b";name=\"v a\""),
            3 => {
                out.push(b';');
                out.resize(out.len() + 1000 + input.below(48), b'e');
            }
            _ => (),
        }
        out.extend_from_slice(b"\r\n");
        if n == 0 {
            for _ in 0..style / 16 % 3 {
                out.extend_from_slice(b"X-Trailer: t\r\n");
            }
            out.extend_from_slice(b"\r\n");
            return;
        }
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
        if out.len() > MAX_STREAM {
            return;
        }
    }
}
