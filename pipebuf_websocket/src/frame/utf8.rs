//! Incremental UTF-8 validation for text messages that arrive in pieces.
//!
//! A text message may be split into frames, and each frame into reads, at any byte, also in
//! the middle of a character. [`Utf8Validator`] checks the pieces as they come and rejects
//! the message as soon as a byte arrives that no continuation could make valid (RFC 6455
//! §8.1: "fail the WebSocket connection" on invalid UTF-8, which Autobahn's 6.4.x cases
//! expect to happen without waiting for the rest of the message).

use core::fmt;

/// A text payload is not valid UTF-8 (close code 1007).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Error;

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("text payload is not valid UTF-8")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Utf8Error {}

/// Validates UTF-8 fed in chunks split at arbitrary byte boundaries.
///
/// Feed every chunk of a message with [`feed`](Self::feed), then call
/// [`finish`](Self::finish) at the end of the message, which also fails if the message
/// ends inside a character. Validation fails fast: `feed` returns the error for the chunk
/// that contains the first byte no continuation could make valid — an impossible byte
/// (`C0`, `C1`, `F5`..`FF`), a continuation byte without a lead, an overlong form (`E0 80`,
/// `F0 80`), a surrogate (`ED A0`), a code point above U+10FFFF (`F4 90`) — even when the
/// character is still incomplete at the end of the chunk.
///
/// The bulk of each chunk goes through [`core::str::from_utf8`]; the validator itself only
/// carries the up to three bytes of a character that straddles two chunks. After an error
/// every call returns the error again until [`reset`](Self::reset). A successful `finish`
/// leaves the validator ready for the next message.
///
/// ```
/// use pipebuf_websocket::frame::Utf8Validator;
///
/// let mut v = Utf8Validator::new();
/// let text = "κόσμε".as_bytes();
/// let (a, b) = text.split_at(3); // splits the second character
/// assert!(v.feed(a).is_ok());
/// assert!(v.feed(b).is_ok());
/// assert!(v.finish().is_ok());
///
/// // A surrogate is rejected at its second byte, long before the message ends.
/// assert!(v.feed(b"edit\xed").is_ok());
/// assert!(v.feed(b"\xa0").is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    /// The start of a character that the last chunk ended inside of.
    partial: [u8; 4],
    /// How many bytes of `partial` are used (0 when between characters).
    partial_len: usize,
    /// An error was reported; sticky until `reset`.
    failed: bool,
}

/// The length of the character that `lead` starts and the range its second byte must be
/// in (RFC 3629 §4), or `None` if `lead` cannot start a multi-byte character.
fn multibyte_lead(lead: u8) -> Option<(usize, u8, u8)> {
    match lead {
        0xC2..=0xDF => Some((2, 0x80, 0xBF)),
        0xE0 => Some((3, 0xA0, 0xBF)),
        0xE1..=0xEC | 0xEE..=0xEF => Some((3, 0x80, 0xBF)),
        0xED => Some((3, 0x80, 0x9F)),
        0xF0 => Some((4, 0x90, 0xBF)),
        0xF1..=0xF3 => Some((4, 0x80, 0xBF)),
        0xF4 => Some((4, 0x80, 0x8F)),
        _ => None,
    }
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Utf8Validator {
            partial: [0; 4],
            partial_len: 0,
            failed: false,
        }
    }

    /// Forgets everything: ready for a new message, also after an error.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Validates the next chunk of the message.
    ///
    /// Returns an error as soon as the bytes seen so far can no longer be the start of
    /// valid UTF-8, and for every call after that until [`reset`](Self::reset).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Utf8Error> {
        if self.failed {
            return Err(Utf8Error);
        }
        let rest = match self.complete_partial(chunk) {
            Ok(rest) => rest,
            Err(e) => return self.fail(e),
        };
        match core::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) => {
                if e.error_len().is_some() {
                    return self.fail(Utf8Error);
                }
                // The chunk ends inside a character whose bytes so far are valid (the
                // standard library checks the second byte's range before saying so).
                let tail = rest.get(e.valid_up_to()..).unwrap_or_default();
                match self.partial.get_mut(..tail.len()) {
                    Some(dst) => {
                        dst.copy_from_slice(tail);
                        self.partial_len = tail.len();
                        Ok(())
                    }
                    // A valid prefix is at most 3 bytes; anything else is not UTF-8.
                    None => self.fail(Utf8Error),
                }
            }
        }
    }

    /// Ends the message: fails if it ended inside a character (or an error was reported
    /// before). On success the validator is ready for the next message.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        if self.failed {
            return Err(Utf8Error);
        }
        if self.partial_len != 0 {
            return self.fail(Utf8Error);
        }
        Ok(())
    }

    /// Whether [`finish`](Self::finish) would fail now: the bytes fed so far end inside a
    /// character, or an error was reported.
    pub fn is_incomplete(&self) -> bool {
        self.failed || self.partial_len != 0
    }

    fn fail(&mut self, e: Utf8Error) -> Result<(), Utf8Error> {
        self.failed = true;
        Err(e)
    }

    /// Continues the character carried over from the previous chunk with the first bytes
    /// of `chunk`, checking each byte as it arrives; returns the rest of `chunk`.
    fn complete_partial<'a>(&mut self, chunk: &'a [u8]) -> Result<&'a [u8], Utf8Error> {
        if self.partial_len == 0 {
            return Ok(chunk);
        }
        let (len, lo, hi) = multibyte_lead(self.partial[0]).ok_or(Utf8Error)?;
        let mut used = 0;
        for &b in chunk {
            if self.partial_len == len {
                break;
            }
            let ok = if self.partial_len == 1 {
                (lo..=hi).contains(&b)
            } else {
                (0x80..=0xBF).contains(&b)
            };
            if !ok {
                return Err(Utf8Error);
            }
            if let Some(slot) = self.partial.get_mut(self.partial_len) {
                *slot = b;
            }
            self.partial_len += 1;
            used += 1;
        }
        if self.partial_len == len {
            self.partial_len = 0;
        }
        Ok(chunk.get(used..).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// Validates `bytes` split at `cuts` (sorted positions) and returns the index of the
    /// chunk whose `feed` failed, `Some(chunks)` if only `finish` failed, or `None` if the
    /// whole input was accepted.
    fn run(bytes: &[u8], cuts: &[usize]) -> Option<usize> {
        let mut v = Utf8Validator::new();
        let mut bounds = Vec::with_capacity(cuts.len() + 2);
        bounds.push(0);
        bounds.extend_from_slice(cuts);
        bounds.push(bytes.len());
        for (i, w) in bounds.windows(2).enumerate() {
            if v.feed(&bytes[w[0]..w[1]]).is_err() {
                return Some(i);
            }
        }
        v.finish().err().map(|_| bounds.len() - 1)
    }

    /// The index of the first byte after which `bytes[..=k]` cannot begin valid UTF-8.
    fn first_hopeless_byte(bytes: &[u8]) -> Option<usize> {
        (0..bytes.len()).find(
            |&k| matches!(core::str::from_utf8(&bytes[..=k]), Err(e) if e.error_len().is_some()),
        )
    }

    /// Checks `bytes` whole and split at every single position and every pair of
    /// positions, against `valid`.
    fn check_every_split(bytes: &[u8], valid: bool) {
        assert_eq!(core::str::from_utf8(bytes).is_ok(), valid, "{bytes:02x?}");
        let hopeless = first_hopeless_byte(bytes);
        let verdict = |cuts: &[usize]| {
            let failed_at = run(bytes, cuts);
            assert_eq!(failed_at.is_none(), valid, "{bytes:02x?} cut at {cuts:?}");
            if let Some(k) = hopeless {
                // The chunk that holds byte k must be the one that fails.
                let chunk = cuts.iter().filter(|&&c| c <= k).count();
                assert_eq!(failed_at, Some(chunk), "{bytes:02x?} cut at {cuts:?}");
            }
        };
        verdict(&[]);
        for a in 0..=bytes.len() {
            verdict(&[a]);
            for b in a..=bytes.len() {
                verdict(&[a, b]);
            }
        }
    }

    const VALID: &[&[u8]] = &[
        b"",
        b"hello\x24world",
        b"hello\xc2\xa2world",
        b"hello\xe2\x82\xacworld",
        b"hello\xf0\xa4\xad\xa2world",
        "κόσμε".as_bytes(),
        "µ@ßöäüàá".as_bytes(),
        // 2.1 first possible sequence of each length
        b"\x00",
        b"\xc2\x80",
        b"\xe0\xa0\x80",
        b"\xf0\x90\x80\x80",
        // 2.2 last possible sequence of each length
        b"\x7f",
        b"\xdf\xbf",
        b"\xef\xbf\xbf",
        b"\xf4\x8f\xbf\xbf",
        // 2.3 other boundary conditions
        b"\xed\x9f\xbf",
        b"\xee\x80\x80",
        b"\xef\xbf\xbd",
        // 5.3 non-characters are valid UTF-8
        b"\xef\xbf\xbe",
        b"\xf1\x8f\xbf\xbe",
        b"\xf3\xbf\xbf\xbf",
        // Unicode specials
        b"\xef\xbf\xb9",
        b"\xef\xbf\xbc",
    ];

    const INVALID: &[&[u8]] = &[
        // 2.1 / 2.2: 5- and 6-byte forms and code points above U+10FFFF
        b"\xf8\x88\x80\x80\x80",
        b"\xfc\x84\x80\x80\x80\x80",
        b"\xf7\xbf\xbf\xbf",
        b"\xfb\xbf\xbf\xbf\xbf",
        b"\xfd\xbf\xbf\xbf\xbf\xbf",
        b"\xf4\x90\x80\x80",
        // 3.1 unexpected continuation bytes
        b"\x80",
        b"\xbf",
        b"\x80\xbf\x80\xbf\x80\xbf",
        // 3.2 lonely start characters
        b"\xc0 \xc1 \xc2 ",
        b"\xe0 \xe1 ",
        b"\xf0 \xf1 ",
        // 3.3 sequences with the last continuation byte missing
        b"\xc0",
        b"\xe0\x80",
        b"\xf0\x80\x80",
        b"\xdf",
        b"\xef\xbf",
        b"\xf7\xbf\xbf",
        b"\xf4\x8f\xbf",
        // 3.4 concatenation of incomplete sequences
        b"\xc0\xe0\x80\xf0\x80\x80\xdf\xef\xbf",
        // 3.5 impossible bytes
        b"\xfe",
        b"\xff",
        b"\xfe\xfe\xff\xff",
        // 4.1 overlong ASCII
        b"\xc0\xaf",
        b"\xe0\x80\xaf",
        b"\xf0\x80\x80\xaf",
        // 4.2 maximum overlong sequences
        b"\xc1\xbf",
        b"\xe0\x9f\xbf",
        b"\xf0\x8f\xbf\xbf",
        // 4.3 overlong NUL
        b"\xc0\x80",
        b"\xe0\x80\x80",
        b"\xf0\x80\x80\x80",
        // 5.1 single surrogates
        b"\xed\xa0\x80",
        b"\xed\xad\xbf",
        b"\xed\xaf\xbf",
        b"\xed\xb0\x80",
        b"\xed\xbf\xbf",
        // 5.2 paired surrogates
        b"\xed\xa0\x80\xed\xb0\x80",
        b"\xed\xaf\xbf\xed\xbf\xbf",
        // 6.4.x: valid text, then a surrogate or an impossible byte
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64",
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
        b"edited\xed\xa0\x80",
        b"\xf5",
    ];

    #[test]
    fn every_split_of_every_valid_autobahn_sequence_is_accepted() {
        for bytes in VALID {
            check_every_split(bytes, true);
        }
    }

    #[test]
    fn every_split_of_every_invalid_autobahn_sequence_fails_at_the_first_hopeless_byte() {
        for bytes in INVALID {
            check_every_split(bytes, false);
        }
    }

    #[test]
    fn every_prefix_of_a_valid_multibyte_string_is_accepted_until_finish() {
        let s = "κόσμε".as_bytes();
        for i in 0..=s.len() {
            let mut v = Utf8Validator::new();
            assert!(v.feed(&s[..i]).is_ok());
            let complete = core::str::from_utf8(&s[..i]).is_ok();
            assert_eq!(v.is_incomplete(), !complete);
            assert_eq!(v.finish().is_ok(), complete, "prefix {i}");
        }
    }

    #[test]
    fn every_code_point_is_accepted_and_every_surrogate_rejected() {
        let mut v = Utf8Validator::new();
        let mut buf = [0u8; 4];
        for cp in 0..=0x10FFFFu32 {
            match char::from_u32(cp) {
                Some(c) => {
                    let bytes = c.encode_utf8(&mut buf).as_bytes();
                    // Split inside the character to exercise the carry-over path.
                    let (a, b) = bytes.split_at(bytes.len() / 2);
                    assert!(v.feed(a).is_ok() && v.feed(b).is_ok(), "U+{cp:04X}");
                    assert!(v.finish().is_ok(), "U+{cp:04X}");
                }
                None => {
                    // A surrogate: what its three-byte encoding would be.
                    let bytes = [
                        0xE0 | (cp >> 12) as u8,
                        0x80 | ((cp >> 6) & 0x3F) as u8,
                        0x80 | (cp & 0x3F) as u8,
                    ];
                    v.reset();
                    assert!(v.feed(&bytes[..1]).is_ok());
                    assert!(v.feed(&bytes[1..]).is_err(), "U+{cp:04X}");
                    v.reset();
                }
            }
        }
    }

    #[test]
    fn an_error_is_sticky_until_reset() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(b"\xff").is_err());
        assert!(v.feed(b"ok").is_err());
        assert!(v.finish().is_err());
        assert!(v.is_incomplete());
        v.reset();
        assert!(v.feed(b"ok").is_ok());
        assert!(v.finish().is_ok());
    }

    #[test]
    fn an_incomplete_character_at_finish_is_an_error_and_sticky() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(b"a\xe2\x82").is_ok());
        assert_eq!(v.finish(), Err(Utf8Error));
        assert_eq!(v.finish(), Err(Utf8Error));
    }

    #[test]
    fn a_successful_finish_leaves_the_validator_ready_for_the_next_message() {
        let mut v = Utf8Validator::new();
        assert!(v.feed("€".as_bytes()).is_ok());
        assert!(v.finish().is_ok());
        assert!(v.feed(b"\xc3").is_ok());
        assert!(v.feed(b"\xa9").is_ok());
        assert!(v.finish().is_ok());
    }

    #[test]
    fn empty_chunks_change_nothing() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(b"").is_ok());
        assert!(v.feed(b"\xf0").is_ok());
        assert!(v.feed(b"").is_ok());
        assert!(v.feed(b"\x9f").is_ok());
        assert!(v.feed(b"").is_ok());
        assert!(v.feed(b"\x98\x80").is_ok());
        assert!(v.finish().is_ok());
    }

    #[test]
    fn a_four_byte_character_fed_one_byte_at_a_time_is_accepted() {
        let mut v = Utf8Validator::new();
        for b in "😀".bytes() {
            assert!(v.feed(&[b]).is_ok());
        }
        assert!(v.finish().is_ok());
    }

    #[test]
    fn the_byte_after_a_completed_carry_over_is_checked_too() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(b"\xc3").is_ok());
        assert!(v.feed(b"\xa9\xff").is_err());
    }

    #[test]
    fn the_error_displays_as_a_sentence() {
        assert_eq!(
            alloc::format!("{Utf8Error}"),
            "text payload is not valid UTF-8"
        );
    }

    /// Bytes biased towards UTF-8's interesting values, so that random input often holds
    /// multi-byte characters rather than failing at the first byte.
    fn utf8ish() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            0x00u8..0x80,
            0x80u8..0xC0,
            prop::sample::select(&[0xC0u8, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF][..]),
            prop::sample::select(&[0xF0u8, 0xF1, 0xF4, 0xF5, 0xFF][..]),
        ];
        let text = any::<alloc::string::String>().prop_map(|s| s.into_bytes());
        prop_oneof![
            proptest::collection::vec(byte, 0..40),
            text.clone(),
            (
                text,
                proptest::collection::vec(any::<u8>(), 0..4),
                any::<prop::sample::Index>()
            )
                .prop_map(|(mut t, junk, at)| {
                    let at = at.index(t.len() + 1);
                    t.splice(at..at, junk);
                    t
                }),
        ]
    }

    proptest! {
        #[test]
        fn the_verdict_and_failure_point_match_the_standard_library(
            bytes in utf8ish(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let failed_at = run(&bytes, &cuts);
            prop_assert_eq!(failed_at.is_none(), core::str::from_utf8(&bytes).is_ok());
            if let Some(k) = first_hopeless_byte(&bytes) {
                let chunk = cuts.iter().filter(|&&c| c <= k).count();
                prop_assert_eq!(failed_at, Some(chunk));
            }
        }
    }
}
