//! The close frame's payload (RFC 6455 §5.5.1, §7.4): an optional status code and a UTF-8
//! reason.

use super::FrameError;

/// 1000: the purpose of the connection has been fulfilled.
pub const CLOSE_NORMAL: u16 = 1000;
/// 1001: the endpoint is going away (server shutdown, page navigation).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// 1002: the peer broke the protocol.
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// 1003: a data type the endpoint cannot accept (e.g. binary to a text-only endpoint).
pub const CLOSE_UNSUPPORTED_DATA: u16 = 1003;
/// 1007: data inconsistent with the message type, e.g. text that is not UTF-8.
pub const CLOSE_INVALID_PAYLOAD: u16 = 1007;
/// 1008: a message violates the endpoint's policy.
pub const CLOSE_POLICY_VIOLATION: u16 = 1008;
/// 1009: a message too big to process.
pub const CLOSE_MESSAGE_TOO_BIG: u16 = 1009;
/// 1010 (client only): the server did not negotiate a required extension.
pub const CLOSE_MANDATORY_EXTENSION: u16 = 1010;
/// 1011: an unexpected condition prevented the server from fulfilling the request.
pub const CLOSE_INTERNAL_ERROR: u16 = 1011;

/// The longest close payload: a control frame carries at most 125 bytes.
pub const MAX_CLOSE_PAYLOAD: usize = 125;

/// The longest reason that fits next to the status code.
pub const MAX_CLOSE_REASON: usize = MAX_CLOSE_PAYLOAD - 2;

/// Whether `code` may appear in a close frame on the wire.
///
/// Valid: 1000–1003 and 1007–1011 (RFC 6455 §7.4.1), 1012–1014 (registered with IANA
/// since: service restart, try again later, bad gateway), 3000–3999 (registered by
/// libraries and frameworks) and 4000–4999 (private use).
///
/// Invalid: 0–999 (unused); 1004 (reserved); 1005, 1006 and 1015 (reserved for reporting
/// "no status", "abnormal closure" and "TLS failure" locally, never to be sent); 1016–2999
/// (reserved for future RFCs, not yet assigned, so no conforming peer sends them); 5000
/// and above (undefined). This matches Autobahn|Testsuite's cases 7.7.x (valid codes) and
/// 7.9.x (invalid codes), whose current list no longer includes 1012–1014.
pub const fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Splits a close frame's (unmasked) payload into its status code and reason.
///
/// An empty payload is a close without a status (`Ok(None)`); the peer should then be
/// told 1005 locally, never on the wire. Otherwise the payload must start with a valid
/// two-byte code ([`is_valid_close_code`]) followed by a UTF-8 reason, which may be
/// empty.
///
/// Errors: a one-byte payload ([`FrameError::CloseFrameTooShort`]) or an invalid code
/// ([`FrameError::InvalidCloseCode`]), both close code 1002; a reason that is not UTF-8
/// ([`FrameError::InvalidUtf8`], close code 1007).
///
/// ```
/// use pipebuf_websocket::frame::parse_close_payload;
///
/// assert_eq!(parse_close_payload(b"\x03\xe8bye"), Ok(Some((1000, "bye"))));
/// assert_eq!(parse_close_payload(b""), Ok(None));
/// assert!(parse_close_payload(b"\x03").is_err());
/// ```
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<(u16, &str)>, FrameError> {
    let (code, reason) = match payload {
        [] => return Ok(None),
        [_] => return Err(FrameError::CloseFrameTooShort),
        [hi, lo, reason @ ..] => (u16::from_be_bytes([*hi, *lo]), reason),
    };
    if !is_valid_close_code(code) {
        return Err(FrameError::InvalidCloseCode(code));
    }
    let reason = core::str::from_utf8(reason).map_err(|_| FrameError::InvalidUtf8)?;
    Ok(Some((code, reason)))
}

/// Writes a close payload — `code` big-endian, then `reason` — to the start of `out` and
/// returns its length.
///
/// The reason is cut at a character boundary so that the payload fits in both
/// [`MAX_CLOSE_PAYLOAD`] bytes and `out`; if `out` is shorter than 2 bytes nothing is
/// written and the result is 0. The code is written as given: check it with
/// [`is_valid_close_code`] unless it is one of this module's constants, which all are valid.
///
/// ```
/// use pipebuf_websocket::frame::{encode_close_payload, CLOSE_GOING_AWAY};
///
/// let mut out = [0u8; 125];
/// let n = encode_close_payload(CLOSE_GOING_AWAY, "restarting", &mut out);
/// assert_eq!(&out[..n], b"\x03\xe9restarting");
///
/// let long = "é".repeat(100); // 200 bytes
/// let n = encode_close_payload(CLOSE_GOING_AWAY, &long, &mut out);
/// assert_eq!(n, 124); // the code and 61 whole characters
/// ```
pub fn encode_close_payload(code: u16, reason: &str, out: &mut [u8]) -> usize {
    let Some((code_out, rest)) = out.split_first_chunk_mut::<2>() else {
        return 0;
    };
    *code_out = code.to_be_bytes();
    let mut n = reason.len().min(MAX_CLOSE_REASON).min(rest.len());
    while !reason.is_char_boundary(n) {
        n -= 1;
    }
    let (Some(src), Some(dst)) = (reason.as_bytes().get(..n), rest.get_mut(..n)) else {
        return 2;
    };
    dst.copy_from_slice(src);
    2 + n
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    fn the_codes_autobahn_expects_to_be_accepted_are_valid() {
        // Case 7.7.x.
        let valid = [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ];
        for code in valid {
            assert!(is_valid_close_code(code), "{code}");
        }
    }

    #[test]
    fn the_codes_autobahn_expects_to_be_rejected_are_invalid() {
        // Case 7.9.x.
        for code in [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999] {
            assert!(!is_valid_close_code(code), "{code}");
        }
    }

    #[test]
    fn the_iana_codes_1012_to_1014_are_valid_and_1015_is_not() {
        for code in 1012..=1014 {
            assert!(is_valid_close_code(code), "{code}");
        }
        assert!(!is_valid_close_code(1015));
    }

    #[test]
    fn codes_above_4999_are_invalid() {
        for code in [5000, 6000, 65535] {
            assert!(!is_valid_close_code(code), "{code}");
        }
    }

    #[test]
    fn every_code_is_valid_exactly_in_the_documented_ranges() {
        let valid = (0..=u16::MAX).filter(|&c| is_valid_close_code(c)).count();
        assert_eq!(valid, 4 + 8 + 2000);
    }

    #[test]
    fn every_constant_is_a_valid_code() {
        for code in [
            CLOSE_NORMAL,
            CLOSE_GOING_AWAY,
            CLOSE_PROTOCOL_ERROR,
            CLOSE_UNSUPPORTED_DATA,
            CLOSE_INVALID_PAYLOAD,
            CLOSE_POLICY_VIOLATION,
            CLOSE_MESSAGE_TOO_BIG,
            CLOSE_MANDATORY_EXTENSION,
            CLOSE_INTERNAL_ERROR,
        ] {
            assert!(is_valid_close_code(code), "{code}");
        }
    }

    #[test]
    fn an_empty_close_payload_has_no_code() {
        assert_eq!(parse_close_payload(&[]), Ok(None));
    }

    #[test]
    fn a_one_byte_close_payload_is_a_protocol_error() {
        let err = parse_close_payload(&[0x03]).unwrap_err();
        assert_eq!(err, FrameError::CloseFrameTooShort);
        assert_eq!(err.close_code(), 1002);
    }

    #[test]
    fn a_code_without_a_reason_parses() {
        assert_eq!(parse_close_payload(&[0x03, 0xE8]), Ok(Some((1000, ""))));
    }

    #[test]
    fn a_code_with_a_utf8_reason_parses() {
        let mut payload = Vec::from(4000u16.to_be_bytes());
        payload.extend_from_slice("κόσμε".as_bytes());
        assert_eq!(parse_close_payload(&payload), Ok(Some((4000, "κόσμε"))));
    }

    #[test]
    fn an_invalid_code_is_a_protocol_error_that_names_it() {
        for code in [0u16, 1005, 1006, 1015, 2999, 5000] {
            let err = parse_close_payload(&code.to_be_bytes()).unwrap_err();
            assert_eq!(err, FrameError::InvalidCloseCode(code));
            assert_eq!(err.close_code(), 1002);
        }
    }

    #[test]
    fn an_invalid_utf8_reason_is_an_invalid_payload_error() {
        // Autobahn 7.5.1: "κόσμε" with a surrogate, then "edited".
        let mut payload = alloc::vec![0x03, 0xE8];
        payload
            .extend_from_slice(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited");
        let err = parse_close_payload(&payload).unwrap_err();
        assert_eq!(err, FrameError::InvalidUtf8);
        assert_eq!(err.close_code(), 1007);
    }

    #[test]
    fn an_invalid_code_is_reported_before_an_invalid_reason() {
        assert_eq!(
            parse_close_payload(&[0x03, 0xED, 0xFF]),
            Err(FrameError::InvalidCloseCode(1005))
        );
    }

    #[test]
    fn encoding_writes_the_code_big_endian_then_the_reason() {
        let mut out = [0u8; 16];
        let n = encode_close_payload(1001, "bye", &mut out);
        assert_eq!(&out[..n], b"\x03\xe9bye");
    }

    #[test]
    fn a_long_ascii_reason_is_cut_to_123_bytes() {
        let reason = "x".repeat(200);
        let mut out = [0u8; 200];
        let n = encode_close_payload(1000, &reason, &mut out);
        assert_eq!(n, MAX_CLOSE_PAYLOAD);
        assert_eq!(&out[2..n], &reason.as_bytes()[..MAX_CLOSE_REASON]);
    }

    #[test]
    fn a_reason_is_cut_at_a_character_boundary_never_inside_one() {
        // 121 ASCII bytes, then a 4-byte character that would end at byte 125 of 123.
        let mut reason = "a".repeat(121);
        reason.push('😀');
        let mut out = [0u8; 125];
        let n = encode_close_payload(1000, &reason, &mut out);
        assert_eq!(n, 2 + 121);
        assert_eq!(
            parse_close_payload(&out[..n]),
            Ok(Some((1000, &reason[..121])))
        );
    }

    #[test]
    fn a_reason_is_cut_to_fit_a_short_output() {
        let mut out = [0u8; 5];
        let n = encode_close_payload(1000, "é€", &mut out);
        // 2 + 2 ("é"); the 3-byte "€" does not fit in the last byte.
        assert_eq!(n, 4);
        assert_eq!(parse_close_payload(&out[..n]), Ok(Some((1000, "é"))));
    }

    #[test]
    fn an_output_shorter_than_a_code_gets_nothing() {
        let mut out = [0xAAu8; 1];
        assert_eq!(encode_close_payload(1000, "x", &mut out), 0);
        assert_eq!(out, [0xAA]);
        assert_eq!(encode_close_payload(1000, "x", &mut []), 0);
    }

    #[test]
    fn an_output_of_exactly_two_bytes_gets_the_code_only() {
        let mut out = [0u8; 2];
        assert_eq!(encode_close_payload(1000, "reason", &mut out), 2);
        assert_eq!(out, [0x03, 0xE8]);
    }

    proptest! {
        #[test]
        fn encoding_then_parsing_gives_the_code_and_a_prefix_of_the_reason(
            code in prop::sample::select(&[1000u16, 1001, 1011, 1014, 3000, 4999][..]),
            reason in any::<String>(),
            out_len in 0usize..200,
        ) {
            let mut out = alloc::vec![0u8; out_len];
            let n = encode_close_payload(code, &reason, &mut out);
            prop_assert!(n <= MAX_CLOSE_PAYLOAD && n <= out_len);
            if out_len < 2 {
                prop_assert_eq!(n, 0);
            } else {
                let (c, r) = parse_close_payload(&out[..n]).unwrap().unwrap();
                prop_assert_eq!(c, code);
                prop_assert!(reason.starts_with(r));
                // Cut only as far as needed: the next character would not have fit.
                if let Some(next) = reason[r.len()..].chars().next() {
                    prop_assert!(n + next.len_utf8() > MAX_CLOSE_PAYLOAD.min(out_len));
                }
            }
        }

        #[test]
        fn parsing_arbitrary_payloads_never_panics_and_agrees_with_the_rules(
            payload in proptest::collection::vec(any::<u8>(), 0..130),
        ) {
            match parse_close_payload(&payload) {
                Ok(None) => prop_assert!(payload.is_empty()),
                Ok(Some((code, reason))) => {
                    prop_assert!(is_valid_close_code(code));
                    prop_assert_eq!(reason.as_bytes(), &payload[2..]);
                }
                Err(e) => prop_assert!(matches!(e.close_code(), 1002 | 1007)),
            }
        }
    }
}
