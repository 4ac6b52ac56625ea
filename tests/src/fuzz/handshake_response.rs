//! The client's response parser (`handshake::parse_response`) on arbitrary bytes, for a
//! fixed nonce and subprotocols the input chooses.
//!
//! Checked: the same answer twice; a complete head is at most the input and the limit,
//! every shorter prefix of it is `Partial`, and the head alone parses the same; an accepted
//! response names no subprotocol or one that was offered, and carries exactly one
//! `Sec-WebSocket-Accept`, the value for the nonce.

use pipebuf_websocket::handshake::{ResponseStatus, parse_response};

use super::handshake_request::limits;
use super::input::Input;

/// The nonce every fuzzed response answers (`dGhlIHNhbXBsZSBub25jZQ==`, RFC 6455's example).
pub const NONCE: [u8; 16] = *b"the sample nonce";

/// Subprotocols an input may offer.
const SUBPROTOCOLS: [&str; 4] = ["chat", "superchat", "v2.json.example", "x"];

/// Runs one input; panics if an invariant breaks.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = limits(input.byte());
    let pick = input.byte();
    let offered: Vec<String> = SUBPROTOCOLS
        .iter()
        .enumerate()
        .filter(|(i, _)| pick >> i & 1 == 1)
        .map(|(_, s)| s.to_string())
        .collect();
    let cuts = [input.byte(), input.byte()];
    let data = input.rest();
    let first = parse_response(data, NONCE, &offered, &limits);
    assert_eq!(
        parse_response(data, NONCE, &offered, &limits),
        first,
        "a second parse differs"
    );
    let Ok(ResponseStatus::Complete(response, head_len)) = &first else {
        return;
    };
    let head_len = *head_len;
    assert!(
        head_len <= data.len(),
        "head of {head_len} in {} bytes",
        data.len()
    );
    assert!(
        head_len <= limits.max_head_len,
        "head of {head_len} past the limit"
    );
    assert_eq!(
        parse_response(&data[..head_len], NONCE, &offered, &limits),
        first,
        "the head alone parses differently"
    );
    for cut in cuts {
        let k = usize::from(cut) * head_len / 256;
        assert_eq!(
            parse_response(&data[..k], NONCE, &offered, &limits),
            Ok(ResponseStatus::Partial),
            "a prefix of {k} of a complete head of {head_len}"
        );
    }
    if let Some(chosen) = response.subprotocol() {
        assert!(
            offered.iter().any(|o| o == chosen),
            "accepted subprotocol {chosen:?} that was not offered"
        );
    }
    let accept = response
        .headers()
        .get_all("sec-websocket-accept")
        .collect::<Vec<_>>();
    assert_eq!(
        accept,
        [&b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="[..]],
        "accepted without exactly the right Sec-WebSocket-Accept"
    );
}
