//! The frame layer: RFC 6455 wire formats as pure functions over byte slices.
//!
//! ```text
//!  bytes ─▶ FrameHeader::parse ─▶ header + header length
//!           unmask_into          ─▶ payload, unmasked, copied to where it belongs
//!           Utf8Validator        ─▶ text checked piece by piece, fail fast
//!           parse_close_payload  ─▶ close code + reason
//! ```
//!
//! Nothing here does I/O, allocates, keeps a connection's state or panics on any input;
//! everything works in `no_std`. Each decoder follows one shape: look at the bytes that
//! are there, answer "need more" (`Ok(None)`), "here it is, it took *n* bytes" or a typed
//! [`FrameError`] that says which close code to send ([`FrameError::close_code`]) — the
//! same shape as `rd.data()` then `rd.consume(n)` in a [`pipebuf`] component.
//!
//! | file | concept |
//! |---|---|
//! | `opcode` | [`OpCode`]: the six defined opcodes; reserved ones are errors |
//! | `header` | [`FrameHeader`]: parse and encode (minimal lengths), [`MAX_HEADER_LEN`] |
//! | `mask` | [`apply_mask`], [`unmask_into`]: XOR a word at a time, resumable at any offset |
//! | `utf8` | [`Utf8Validator`]: incremental, fail-fast UTF-8 validation |
//! | `close` | [`parse_close_payload`], [`encode_close_payload`], [`is_valid_close_code`] |
//!
//! # What the caller decides
//!
//! This layer checks only what holds for every frame on every connection: defined
//! opcodes, control frames unfragmented and at most 125 bytes, a 64-bit length with its
//! top bit clear, close payload structure, close codes and UTF-8. The component that
//! drives a connection (it knows its role, the negotiated extensions and the message in
//! progress) checks the rest:
//!
//! - the RSV bits ([`FrameHeader::rsv`]) are 0 unless an extension was negotiated;
//! - masking ([`FrameHeader::mask`]): a server requires it, a client forbids it;
//! - fragmentation order: a continuation only inside a message, no new text or binary
//!   frame before the last one ended (control frames may come in between);
//! - size limits on frames and messages (the header gives the length before any payload);
//! - feeding text payload to a [`Utf8Validator`] and calling `finish` at the message's end.
//!
//! # Receiving a frame
//!
//! ```
//! use pipebuf_websocket::frame::{unmask_into, FrameHeader, OpCode};
//!
//! // A masked text frame "Hello" from a client (RFC 6455 §5.7), and the start of another.
//! let input = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, 0x81];
//! let Ok(Some((header, header_len))) = FrameHeader::parse(&input) else {
//!     panic!("a complete, valid header");
//! };
//! assert_eq!((header.opcode, header.payload_len), (OpCode::Text, 5));
//! let key = header.mask.expect("clients mask");
//! let payload = &input[header_len..header_len + 5];
//! let mut message = [0u8; 5];
//! unmask_into(payload, &mut message, key, 0);
//! assert_eq!(&message, b"Hello");
//! // The byte after the frame belongs to the next one: consume header_len + 5 only.
//! ```

use core::fmt;

mod close;
mod header;
mod mask;
mod opcode;
mod utf8;

pub use close::{
    CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, CLOSE_INVALID_PAYLOAD, CLOSE_MANDATORY_EXTENSION,
    CLOSE_MESSAGE_TOO_BIG, CLOSE_NORMAL, CLOSE_POLICY_VIOLATION, CLOSE_PROTOCOL_ERROR,
    CLOSE_UNSUPPORTED_DATA, MAX_CLOSE_PAYLOAD, MAX_CLOSE_REASON, encode_close_payload,
    is_valid_close_code, parse_close_payload,
};
pub use header::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
pub use mask::{apply_mask, unmask_into};
pub use opcode::OpCode;
pub use utf8::{Utf8Error, Utf8Validator};

/// A rule of RFC 6455 that a frame broke; the connection must be failed with
/// [`close_code`](Self::close_code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// An opcode reserved for future use (3–7, 11–15); carries the value.
    ReservedOpcode(u8),
    /// A close, ping or pong frame with FIN clear: control frames cannot be fragmented.
    FragmentedControlFrame,
    /// A control frame with a payload over 125 bytes; carries the length.
    ControlFrameTooLong(u64),
    /// A 64-bit payload length with its most significant bit set.
    LengthTopBitSet,
    /// A close payload of one byte: too short for a status code.
    CloseFrameTooShort,
    /// A close status code that may not be sent on the wire; carries the code.
    InvalidCloseCode(u16),
    /// Text (a message or a close reason) that is not valid UTF-8.
    InvalidUtf8,
}

impl FrameError {
    /// The status code to close the connection with: 1007 (invalid payload data) for
    /// [`InvalidUtf8`](Self::InvalidUtf8), 1002 (protocol error) for everything else.
    pub const fn close_code(&self) -> u16 {
        match self {
            FrameError::InvalidUtf8 => CLOSE_INVALID_PAYLOAD,
            FrameError::ReservedOpcode(_)
            | FrameError::FragmentedControlFrame
            | FrameError::ControlFrameTooLong(_)
            | FrameError::LengthTopBitSet
            | FrameError::CloseFrameTooShort
            | FrameError::InvalidCloseCode(_) => CLOSE_PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            FrameError::FragmentedControlFrame => f.write_str("fragmented control frame"),
            FrameError::ControlFrameTooLong(len) => {
                write!(f, "control frame payload of {len} bytes (at most 125)")
            }
            FrameError::LengthTopBitSet => {
                f.write_str("64-bit payload length with the most significant bit set")
            }
            FrameError::CloseFrameTooShort => f.write_str("close frame payload of one byte"),
            FrameError::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            FrameError::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FrameError {}

impl From<Utf8Error> for FrameError {
    fn from(_: Utf8Error) -> FrameError {
        FrameError::InvalidUtf8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const ALL: [FrameError; 7] = [
        FrameError::ReservedOpcode(3),
        FrameError::FragmentedControlFrame,
        FrameError::ControlFrameTooLong(126),
        FrameError::LengthTopBitSet,
        FrameError::CloseFrameTooShort,
        FrameError::InvalidCloseCode(1005),
        FrameError::InvalidUtf8,
    ];

    #[test]
    fn invalid_utf8_closes_with_1007_and_every_other_error_with_1002() {
        for e in ALL {
            let expected = if e == FrameError::InvalidUtf8 {
                1007
            } else {
                1002
            };
            assert_eq!(e.close_code(), expected, "{e:?}");
        }
    }

    #[test]
    fn every_error_displays_a_distinct_message() {
        let messages: alloc::vec::Vec<_> = ALL.iter().map(ToString::to_string).collect();
        for (i, m) in messages.iter().enumerate() {
            assert!(!m.is_empty());
            assert!(!messages[..i].contains(m), "{m}");
        }
        assert_eq!(ALL[0].to_string(), "reserved opcode 0x3");
    }

    #[test]
    fn a_utf8_error_becomes_invalid_utf8() {
        assert_eq!(FrameError::from(Utf8Error), FrameError::InvalidUtf8);
    }

    #[cfg(feature = "std")]
    #[test]
    fn frame_errors_are_std_errors() {
        fn takes(_: &dyn std::error::Error) {}
        takes(&FrameError::LengthTopBitSet);
        takes(&Utf8Error);
    }

    #[test]
    fn a_whole_client_frame_decodes_with_parse_and_unmask_into() {
        // Every split of a masked frame: the header parses once complete and the payload,
        // unmasked in two pieces at any point, is the original.
        let key = [9, 8, 7, 6];
        let payload: alloc::vec::Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::Binary,
            mask: Some(key),
            payload_len: payload.len() as u64,
        };
        let mut frame = alloc::vec![0u8; header.encoded_len() + payload.len()];
        let n = header.encode(&mut frame);
        frame[n..].copy_from_slice(&payload);
        apply_mask(&mut frame[n..], key, 0);

        let (parsed, hlen) = FrameHeader::parse(&frame).unwrap().unwrap();
        assert_eq!((parsed, hlen), (header, n));
        for split in 0..=payload.len() {
            let mut out = alloc::vec![0u8; payload.len()];
            let body = &frame[hlen..];
            let a = unmask_into(&body[..split], &mut out[..split], key, 0);
            let b = unmask_into(&body[split..], &mut out[split..], key, split);
            assert_eq!(a + b, payload.len());
            assert_eq!(out, payload);
        }
    }
}
