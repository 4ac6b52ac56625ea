//! Arbitrary bytes as an HTTP/1.1 request head: through the public parser
//! (`http::RequestHead::parse`) and through an `HttpServer` (a handler, or records), whole
//! and cut at points the input chooses, with default or small limits.
//!
//! Parser: the same answer twice; a parsed head is the start of the input (its raw bytes,
//! at most the input), parses the same alone, and none of its prefixes parses; its path and
//! query make up its target and its request line reads back from the raw head.
//!
//! Server: one piece and many give the same heads, error, answers and stream ends; and each
//! run agrees with the reference of `http_conn`: the head the server serves is what the
//! parser finds at that point within the limits and one the framing rules accept; a head
//! the rules refuse is refused for one of their reasons; over `max_head_len` or
//! `max_headers` it is 431, a `Content-Length` over `max_body` 413; every refusal is
//! written and the connection closed; silence only while the head is incomplete.

use pipebuf::EofKind;
use pipebuf_websocket::http::RequestHead;

use super::http_conn::{Mode, blank_len, config, serve_both};
use super::input::Input;

/// Most input bytes used.
const MAX_DATA: usize = 16 * 1024;

/// Runs one input; panics if an invariant breaks.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = input.byte();
    let flags = input.byte();
    let config = config(limits, flags & 1 == 1);
    let mode = if flags & 2 == 0 {
        Mode::Handler
    } else {
        Mode::Records { early: false }
    };
    let end = [None, Some(EofKind::Close), Some(EofKind::Abort)][usize::from(flags / 4 % 3)];
    let choice_count = input.below(16);
    let choices = input.take(choice_count);
    let bytes = input.rest();
    let bytes = &bytes[..bytes.len().min(MAX_DATA)];

    parse(bytes, choices);
    serve_both(bytes, choices, config, mode, 256 * 1024, end);
}

/// The parser alone.
fn parse(bytes: &[u8], cuts: &[u8]) {
    let parsed = RequestHead::parse(bytes);
    assert_eq!(RequestHead::parse(bytes), parsed, "a second parse differs");
    let Some(head) = &parsed else {
        return;
    };
    let raw = head.headers().raw_head();
    assert!(
        bytes.starts_with(raw),
        "the raw head ({} bytes) is not the start of the input ({} bytes)",
        raw.len(),
        bytes.len()
    );
    assert_eq!(
        RequestHead::parse(raw).as_ref(),
        Some(head),
        "the head alone parses differently"
    );
    for &cut in cuts.iter().take(3) {
        let k = usize::from(cut) * raw.len() / 256;
        assert_eq!(
            RequestHead::parse(&raw[..k]),
            None,
            "a prefix of {k} of a head of {}",
            raw.len()
        );
    }
    let target = head.target();
    match head.query() {
        Some(query) => assert_eq!(format!("{}?{query}", head.path()), target),
        None => assert_eq!(head.path(), target),
    }
    let version = if head.is_http11() { "1.1" } else { "1.0" };
    let line = format!("{} {target} HTTP/{version}", head.method());
    assert!(
        raw[blank_len(raw)..].starts_with(line.as_bytes()),
        "the request line is not {line:?}: {}",
        raw.escape_ascii()
    );
    assert!(raw.ends_with(b"\n"), "a head that does not end a line");
}
