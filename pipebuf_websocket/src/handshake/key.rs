//! `Sec-WebSocket-Key` (base64 of a 16-byte nonce) and its `Sec-WebSocket-Accept` value.
//!
//! The accept value is SHA-1 over the key and a fixed GUID, in base64 (RFC 6455 §4.2.2).
//! embedded-websocket computes it in a private function, `http::build_accept_string`; its
//! smallest public entry point is `WebSocketServer::server_accept`, which writes a whole
//! `101` response. [`Key::accept`] calls that with a checked key, no subprotocol and a 1 KiB
//! scratch buffer (the most it can write: it builds the response in a 1 KiB string and
//! panics if the output slice is shorter than what it built), then takes the value out of
//! the response.

use super::HandshakeError;
use embedded_websocket::{WebSocketKey, WebSocketServer};

/// The base64 alphabet (RFC 4648 §4, not the URL-safe one).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Length of a key: 16 bytes in base64 with padding.
const KEY_LEN: usize = 24;

/// Length of an accept value: 20 bytes (a SHA-1 digest) in base64 with padding.
pub(crate) const ACCEPT_LEN: usize = 28;

/// The 6-bit value of a base64 character, `None` for anything else (padding included).
fn sextet(c: u8) -> Option<u8> {
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|i| u8::try_from(i).ok())
}

/// A well-formed `Sec-WebSocket-Key`: exactly 24 characters, the base64 of 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key([u8; KEY_LEN]);

impl Key {
    /// Checks a received key: 22 base64 characters, the last of which carries only 2 data
    /// bits (its low 4 bits zero), then `==`.
    pub(crate) fn parse(value: &[u8]) -> Option<Key> {
        let bytes: [u8; KEY_LEN] = value.try_into().ok()?;
        let (data, padding) = bytes.split_at(KEY_LEN - 2);
        let last = sextet(*data.last()?)?;
        let valid =
            padding == b"==" && data.iter().all(|&c| sextet(c).is_some()) && last & 0x0f == 0;
        valid.then_some(Key(bytes))
    }

    /// The key for a 16-byte nonce (the client draws it from a random source).
    pub(crate) fn from_nonce(nonce: &[u8; 16]) -> Key {
        let mut out = [b'='; KEY_LEN];
        let mut slots = out.iter_mut();
        for chunk in nonce.chunks(3) {
            let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
            let group = (byte(0) << 16) | (byte(1) << 8) | byte(2);
            // n input bytes make n + 1 characters; the rest of the group is padding.
            for i in 0..=chunk.len() {
                if let Some(slot) = slots.next() {
                    *slot = ALPHABET[((group >> (18 - 6 * i)) & 0x3f) as usize];
                }
            }
        }
        Key(out)
    }

    /// The key as text.
    pub(crate) fn as_str(&self) -> &str {
        // Only base64 characters are ever stored, so this is never the fallback.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The `Sec-WebSocket-Accept` value for this key, computed by embedded-websocket.
    pub(crate) fn accept(&self) -> Result<[u8; ACCEPT_LEN], HandshakeError> {
        const FIELD: &[u8] = b"Sec-WebSocket-Accept: ";
        let failed = HandshakeError::AcceptComputation;
        // A 24-byte key fits its 24-byte string; `parse` reports overflow instead of
        // panicking like its `From<&str>`.
        let key: WebSocketKey = self.as_str().parse().map_err(|()| failed)?;
        let mut scratch = [0u8; 1024];
        let len = WebSocketServer::new_server()
            .server_accept(&key, None, &mut scratch)
            .map_err(|_| failed)?;
        let response = scratch.get(..len).ok_or(failed)?;
        let at = response
            .windows(FIELD.len())
            .position(|w| w == FIELD)
            .ok_or(failed)?;
        let start = at + FIELD.len();
        let value = response.get(start..start + ACCEPT_LEN).ok_or(failed)?;
        let (data, padding) = value.split_at(ACCEPT_LEN - 1);
        if padding != b"=" || !data.iter().all(|&c| sextet(c).is_some()) {
            return Err(failed);
        }
        value.try_into().map_err(|_| failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    #[test]
    fn the_rfc_sample_key_has_the_rfc_accept_value() {
        let key = Key::parse(RFC_KEY.as_bytes()).expect("valid key");
        assert_eq!(
            &key.accept().expect("computed"),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn the_rfc_sample_nonce_encodes_to_the_rfc_sample_key() {
        assert_eq!(Key::from_nonce(b"the sample nonce").as_str(), RFC_KEY);
        assert_eq!(
            Key::from_nonce(&[0; 16]).as_str(),
            "AAAAAAAAAAAAAAAAAAAAAA=="
        );
        assert_eq!(
            Key::from_nonce(&[0xff; 16]).as_str(),
            "/////////////////////w=="
        );
    }

    #[test]
    fn a_key_of_any_length_but_24_is_refused() {
        assert_eq!(Key::parse(b"dGhlIHNhbXBsZSBub25jZQ==A"), None);
        assert_eq!(Key::parse(b"dGhlIHNhbXBsZSBub25jZQ="), None);
        assert_eq!(Key::parse(b""), None);
    }

    #[test]
    fn a_key_outside_the_base64_alphabet_is_refused() {
        assert_eq!(Key::parse(b"dGhlIHNhbXBsZSBub2-jZQ=="), None);
        assert_eq!(Key::parse(b"dGhlIHNhbXBsZSBub2_jZQ=="), None);
        assert_eq!(Key::parse(b"dGhlIHNhbXBsZSBub2 jZQ=="), None);
        assert_eq!(Key::parse(b"dGhlIHNhbXBsZSBub2\xffjZQ=="), None);
    }

    #[test]
    fn a_key_with_wrong_padding_is_refused() {
        assert_eq!(Key::parse(b"dGhlIHNhbXBsZSBub25jZQA="), None);
        assert_eq!(Key::parse(b"dGhlIHNhbXBsZSBub25jZQAA"), None);
        assert_eq!(Key::parse(b"dGhlIHNhbXBsZSBub25j=Q=="), None);
    }

    #[test]
    fn a_key_whose_last_character_carries_extra_bits_is_refused() {
        // 'R' is 0b010001: its low 4 bits would be a 17th byte.
        assert_eq!(Key::parse(b"dGhlIHNhbXBsZSBub25jZR=="), None);
        assert!(Key::parse(b"dGhlIHNhbXBsZSBub25jZQ==").is_some());
    }

    proptest::proptest! {
        #[test]
        fn every_nonce_encodes_to_a_key_that_parses_back(nonce: [u8; 16]) {
            let key = Key::from_nonce(&nonce);
            proptest::prop_assert_eq!(Key::parse(key.as_str().as_bytes()), Some(key));
            proptest::prop_assert!(key.accept().is_ok());
        }
    }
}
