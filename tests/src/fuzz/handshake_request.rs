//! The server's upgrade-request parser (`handshake::parse_request`) on arbitrary bytes, and
//! the client's request writer (`ClientRequest::write_request`) on arbitrary fields.
//!
//! Parser (most inputs): the same answer twice; a complete head is at most the input and
//! the limit, every shorter prefix of it is `Partial`, and the head alone parses the same;
//! an accepted request has a 24-character key that decodes to 16 bytes, and the library's
//! 101 answer to it (with a subprotocol the client offered, if any) is accepted by the
//! client-side parser for that key and those subprotocols; a refusal's status is a 4xx, and
//! the library's refusal answer reads back as that status.
//!
//! Writer (inputs whose first byte is odd): a request the client writes from fields cut out
//! of the input either fails with a named error or is accepted by the server's parser with
//! the same path, host, origin, subprotocols and key.

use pipebuf_websocket::HandshakeError;
use pipebuf_websocket::handshake::{
    ClientRequest, HandshakeLimits, RequestStatus, ResponseStatus, parse_request, parse_response,
    write_accept, write_reject,
};

use super::input::Input;

/// Runs one input; panics if an invariant breaks.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte();
    if mode & 1 == 1 {
        write_then_parse(mode >> 1, input);
    } else {
        parse(mode >> 1, input);
    }
}

/// Limits chosen by `bits`: the defaults, or small ones that inputs can reach.
pub(crate) fn limits(bits: u8) -> HandshakeLimits {
    match bits % 4 {
        0 | 1 => HandshakeLimits::default(),
        2 => HandshakeLimits {
            max_headers: 6,
            max_head_len: 512,
        },
        _ => HandshakeLimits {
            max_headers: 1 + usize::from(bits / 4 % 8),
            max_head_len: 64 + usize::from(bits / 32) * 64,
        },
    }
}

/// Decodes 24 characters of base64 (with `==`) into 16 bytes.
pub(crate) fn decode_key(key: &str) -> Option<[u8; 16]> {
    fn value(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let bytes = key.as_bytes();
    if bytes.len() != 24 || &bytes[22..] != b"==" {
        return None;
    }
    let mut out = [0u8; 18];
    for (i, quad) in bytes[..24].chunks(4).enumerate() {
        let mut n = 0u32;
        for &c in quad {
            n = n << 6 | if c == b'=' { 0 } else { value(c)? };
        }
        out[i * 3..i * 3 + 3].copy_from_slice(&n.to_be_bytes()[1..]);
    }
    out[..16].try_into().ok()
}

fn parse(bits: u8, mut input: Input<'_>) {
    let limits = limits(bits);
    let cuts = [input.byte(), input.byte(), input.byte()];
    let data = input.rest();
    let first = parse_request(data, &limits);
    assert_eq!(
        parse_request(data, &limits),
        first,
        "a second parse differs"
    );
    let head_len = match &first {
        Ok(RequestStatus::Partial) => return,
        Ok(RequestStatus::Complete(_, len)) | Ok(RequestStatus::NotWebSocket { head_len: len }) => {
            *len
        }
        Err(reason) => {
            let status = reason.status();
            assert!((400..500).contains(&status), "{reason:?} answers {status}");
            let mut out = [0u8; 256];
            let n = write_reject(status, &mut out).expect("a refusal fits 256 bytes");
            assert_eq!(
                parse_response(&out[..n], [0; 16], &[], &HandshakeLimits::default()),
                Err(HandshakeError::UnexpectedStatus(status)),
                "the refusal does not read back as {status}"
            );
            return;
        }
    };
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
        parse_request(&data[..head_len], &limits),
        first,
        "the head alone parses differently"
    );
    for cut in cuts {
        let k = usize::from(cut) * head_len / 256;
        assert_eq!(
            parse_request(&data[..k], &limits),
            Ok(RequestStatus::Partial),
            "a prefix of {k} of a complete head of {head_len}"
        );
    }
    let Ok(RequestStatus::Complete(request, _)) = first else {
        return;
    };
    let nonce = decode_key(request.key())
        .unwrap_or_else(|| panic!("accepted key {:?} is not 16 bytes of base64", request.key()));
    let offered: Vec<String> = request.subprotocols().map(String::from).collect();
    let chosen = offered.get(usize::from(cuts[0]) % (offered.len() + 1));
    let mut out = vec![0u8; 512];
    let n = match write_accept(&request, chosen.map(String::as_str), &[], &mut out) {
        Ok(n) => n,
        Err(HandshakeError::BufferTooSmall { needed }) => {
            out.resize(needed, 0);
            write_accept(&request, chosen.map(String::as_str), &[], &mut out)
                .expect("the room asked for")
        }
        Err(e) => panic!("no 101 answer to an accepted request: {e:?}"),
    };
    match parse_response(&out[..n], nonce, &offered, &HandshakeLimits::default()) {
        Ok(ResponseStatus::Complete(response, len)) => {
            assert_eq!(len, n, "the 101 answer's length");
            assert_eq!(
                response.subprotocol(),
                chosen.map(String::as_str),
                "subprotocol"
            );
        }
        other => panic!("our own 101 answer is refused: {other:?}"),
    }
}

/// A string of up to `max` bytes from the input (lossy UTF-8).
fn field(input: &mut Input<'_>, max: usize) -> String {
    let n = input.below(max + 1);
    String::from_utf8_lossy(input.take(n)).into_owned()
}

fn write_then_parse(bits: u8, mut input: Input<'_>) {
    let mut nonce = [0u8; 16];
    nonce.copy_from_slice(&{
        let mut n = [0u8; 16];
        let got = input.take(16);
        n[..got.len()].copy_from_slice(got);
        n
    });
    let mut request = ClientRequest::new(field(&mut input, 40), field(&mut input, 40));
    if bits & 1 == 1 {
        request.origin = Some(field(&mut input, 40));
    }
    for _ in 0..input.below(4) {
        request.subprotocols.push(field(&mut input, 16));
    }
    for _ in 0..input.below(3) {
        let name = field(&mut input, 16);
        request.extra_headers.push((name, field(&mut input, 40)));
    }
    let mut out = vec![0u8; 64 + input.below(512)];
    let n = match request.write_request(nonce, &mut out) {
        Ok(n) => n,
        Err(HandshakeError::BufferTooSmall { needed }) => {
            assert!(
                needed > out.len(),
                "asked for {needed} with {} given",
                out.len()
            );
            out.resize(needed, 0);
            request
                .write_request(nonce, &mut out)
                .expect("the room asked for")
        }
        Err(HandshakeError::InvalidField(_) | HandshakeError::ReservedHeader) => return,
        Err(e) => panic!("unexpected error writing a request: {e:?}"),
    };
    let limits = HandshakeLimits {
        max_headers: 64,
        max_head_len: 64 * 1024,
    };
    match parse_request(&out[..n], &limits) {
        Ok(RequestStatus::Complete(parsed, len)) => {
            assert_eq!(len, n, "length of our own request");
            assert_eq!(parsed.path(), request.path, "path");
            assert_eq!(parsed.host(), request.host, "host");
            assert_eq!(parsed.origin(), request.origin.as_deref(), "origin");
            let offered: Vec<&str> = parsed.subprotocols().collect();
            assert_eq!(offered, request.subprotocols, "subprotocols");
            assert_eq!(decode_key(parsed.key()), Some(nonce), "key");
        }
        other => panic!(
            "the server refuses our own request {:?}: {other:?}",
            String::from_utf8_lossy(&out[..n])
        ),
    }
}
