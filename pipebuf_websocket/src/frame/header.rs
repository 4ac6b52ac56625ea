//! The frame header (RFC 6455 §5.2): parsed from and encoded to the front of a frame.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```

use super::{FrameError, OpCode};

/// The longest header: 2 fixed bytes, a 64-bit extended length and a masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload that a control frame may carry, and the largest length that fits
/// in the 7-bit length field.
pub const MAX_CONTROL_PAYLOAD: u64 = 125;

/// The header of one frame: everything before its payload.
///
/// [`parse`](Self::parse) checks what the frame layer can check on its own: a defined
/// opcode, unfragmented control frames of at most 125 bytes, and a 64-bit length with its
/// top bit clear. It does **not** judge `rsv` or `mask`, whose rules depend on the role
/// (a server requires masked frames, a client unmasked ones) and on the negotiated
/// extensions (RSV1 for permessage-deflate): the caller checks those.
///
/// # Length encodings
///
/// [`encode`](Self::encode) always writes the shortest length form (RFC 6455 §5.2: "the
/// minimal number of bytes MUST be used"): up to 125 in the 7-bit field, up to 65535 in
/// the 16-bit form, anything longer in the 64-bit form.
///
/// [`parse`](Self::parse) **accepts** non-minimal forms (for example 5 in the 16-bit form,
/// or 65535 in the 64-bit form). The rule binds the sender; a longer form still states one
/// unambiguous length, so rejecting it protects nothing, while known peers send it:
/// embedded-websocket writes a 65535-byte payload with the 64-bit form. Size limits apply
/// to the decoded value, whatever its form — a control frame whose length is written in the
/// 16-bit form is fine as long as the value is at most 125.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// FIN: this frame is the last one of its message.
    pub fin: bool,
    /// The three reserved bits as a number: RSV1 is `0b100`, RSV2 `0b010`, RSV3 `0b001`.
    /// Must be 0 unless an extension defines them. Encoding ignores bits above the low
    /// three.
    pub rsv: u8,
    /// The frame's opcode.
    pub opcode: OpCode,
    /// The masking key, if the MASK bit is set. Frames from a client must be masked,
    /// frames from a server must not be.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes (at most 2⁶³ − 1).
    pub payload_len: u64,
}

impl FrameHeader {
    /// Parses the header at the start of `input`.
    ///
    /// Returns `Ok(None)` if `input` ends before the header does (read more and call again
    /// with all of it), or the header and the number of bytes it occupies; the payload
    /// starts right after. Never looks beyond `input`. A header that breaks a rule is an
    /// error as soon as the offending byte is in `input`, even if the header is not
    /// complete yet.
    ///
    /// ```
    /// use pipebuf_websocket::frame::{FrameHeader, OpCode};
    ///
    /// // A masked text frame "Hello" from a client (RFC 6455 §5.7).
    /// let frame = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    /// let (header, len) = FrameHeader::parse(&frame).unwrap().unwrap();
    /// assert_eq!(len, 6);
    /// assert_eq!(header.opcode, OpCode::Text);
    /// assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
    /// assert_eq!(header.payload_len, 5);
    /// assert_eq!(FrameHeader::parse(&frame[..5]), Ok(None));
    /// ```
    pub fn parse(input: &[u8]) -> Result<Option<(FrameHeader, usize)>, FrameError> {
        let Some(&b0) = input.first() else {
            return Ok(None);
        };
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0x07;
        let opcode = OpCode::from_u8(b0 & 0x0F)?;
        if opcode.is_control() && !fin {
            return Err(FrameError::FragmentedControlFrame);
        }
        let Some(&b1) = input.get(1) else {
            return Ok(None);
        };
        let masked = b1 & 0x80 != 0;
        let (payload_len, mut len) = match b1 & 0x7F {
            126 => match read_array::<2>(input, 2) {
                Some(b) => (u64::from(u16::from_be_bytes(b)), 4),
                None => return Ok(None),
            },
            127 => {
                if input.get(2).is_some_and(|&hi| hi & 0x80 != 0) {
                    return Err(FrameError::LengthTopBitSet);
                }
                match read_array::<8>(input, 2) {
                    Some(b) => (u64::from_be_bytes(b), 10),
                    None => return Ok(None),
                }
            }
            short => (u64::from(short), 2),
        };
        if opcode.is_control() && payload_len > MAX_CONTROL_PAYLOAD {
            return Err(FrameError::ControlFrameTooLong(payload_len));
        }
        let mask = if masked {
            let Some(key) = read_array::<4>(input, len) else {
                return Ok(None);
            };
            len += 4;
            Some(key)
        } else {
            None
        };
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, len)))
    }

    /// The number of bytes [`encode`](Self::encode) writes: 2 to [`MAX_HEADER_LEN`].
    pub const fn encoded_len(&self) -> usize {
        let ext = if self.payload_len <= MAX_CONTROL_PAYLOAD {
            0
        } else if self.payload_len <= 0xFFFF {
            2
        } else {
            8
        };
        let key = if self.mask.is_some() { 4 } else { 0 };
        2 + ext + key
    }

    /// Writes the header to the start of `out` with the minimal length form and returns
    /// the number of bytes written ([`encoded_len`](Self::encoded_len)).
    ///
    /// If `out` is shorter than that, nothing is written and the result is 0; an `out` of
    /// [`MAX_HEADER_LEN`] bytes always suffices. Encoding writes the fields as they are: it
    /// does not check the rules that [`parse`](Self::parse) enforces (a control frame
    /// with `fin` clear or a payload over 125 bytes is written as asked, and a
    /// `payload_len` over 2⁶³ − 1 with the top bit set, which a peer rejects).
    ///
    /// ```
    /// use pipebuf_websocket::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
    ///
    /// let header = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Binary, mask: None, payload_len: 256 };
    /// let mut out = [0u8; MAX_HEADER_LEN];
    /// let n = header.encode(&mut out);
    /// assert_eq!(&out[..n], &[0x82, 0x7E, 0x01, 0x00]);
    /// ```
    pub fn encode(&self, out: &mut [u8]) -> usize {
        let n = self.encoded_len();
        let Some(out) = out.get_mut(..n) else {
            return 0;
        };
        let mut buf = [0u8; MAX_HEADER_LEN];
        buf[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x07) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.payload_len;
        // The same thresholds as `encoded_len`, so each cast below keeps the whole value.
        let key_at = if len <= MAX_CONTROL_PAYLOAD {
            buf[1] = mask_bit | len as u8;
            2
        } else if len <= 0xFFFF {
            buf[1] = mask_bit | 126;
            buf[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        } else {
            buf[1] = mask_bit | 127;
            buf[2..10].copy_from_slice(&len.to_be_bytes());
            10
        };
        if let (Some(key), Some(dst)) = (self.mask, buf.get_mut(key_at..key_at + 4)) {
            dst.copy_from_slice(&key);
        }
        if let Some(src) = buf.get(..n) {
            out.copy_from_slice(src);
        }
        n
    }
}

/// `N` bytes of `input` from `at`, or `None` if `input` ends before them.
fn read_array<const N: usize>(input: &[u8], at: usize) -> Option<[u8; N]> {
    let end = at.checked_add(N)?;
    input.get(at..end)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn header(opcode: OpCode, mask: Option<[u8; 4]>, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask,
            payload_len,
        }
    }

    fn encode(h: &FrameHeader) -> Vec<u8> {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut out);
        out[..n].to_vec()
    }

    /// Asserts that every proper prefix of `bytes` parses as `Ok(None)` and the whole as
    /// `expected` with length `bytes.len()`, also with trailing payload bytes after it.
    fn assert_parses_only_when_complete(bytes: &[u8], expected: FrameHeader) {
        for cut in 0..bytes.len() {
            assert_eq!(FrameHeader::parse(&bytes[..cut]), Ok(None), "prefix {cut}");
        }
        assert_eq!(FrameHeader::parse(bytes), Ok(Some((expected, bytes.len()))));
        let mut with_payload = bytes.to_vec();
        with_payload.extend_from_slice(&[0xEE; 20]);
        assert_eq!(
            FrameHeader::parse(&with_payload),
            Ok(Some((expected, bytes.len())))
        );
    }

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    #[test]
    fn the_rfc_example_headers_parse() {
        // RFC 6455 §5.7.
        let text = header(OpCode::Text, None, 5);
        assert_parses_only_when_complete(&[0x81, 0x05], text);
        let masked = header(OpCode::Text, Some(KEY), 5);
        assert_parses_only_when_complete(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d], masked);
        let first = FrameHeader {
            fin: false,
            payload_len: 3,
            ..text
        };
        assert_parses_only_when_complete(&[0x01, 0x03], first);
        let last = header(OpCode::Continuation, None, 2);
        assert_parses_only_when_complete(&[0x80, 0x02], last);
        assert_parses_only_when_complete(&[0x89, 0x05], header(OpCode::Ping, None, 5));
        let pong = header(OpCode::Pong, Some(KEY), 5);
        assert_parses_only_when_complete(&[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d], pong);
        let bin256 = header(OpCode::Binary, None, 256);
        assert_parses_only_when_complete(&[0x82, 0x7E, 0x01, 0x00], bin256);
        let bin64k = header(OpCode::Binary, None, 65536);
        assert_parses_only_when_complete(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0], bin64k);
    }

    #[test]
    fn every_length_form_with_and_without_mask_parses_at_every_split_point() {
        let lengths = [0, 1, 125, 126, 127, 65535, 65536, u64::MAX >> 1];
        for len in lengths {
            for mask in [None, Some(KEY)] {
                for opcode in [OpCode::Continuation, OpCode::Text, OpCode::Binary] {
                    let h = header(opcode, mask, len);
                    assert_parses_only_when_complete(&encode(&h), h);
                }
            }
        }
    }

    #[test]
    fn control_frames_parse_at_every_split_point() {
        for opcode in [OpCode::Close, OpCode::Ping, OpCode::Pong] {
            for len in [0, 2, 125] {
                for mask in [None, Some(KEY)] {
                    let h = header(opcode, mask, len);
                    assert_parses_only_when_complete(&encode(&h), h);
                }
            }
        }
    }

    #[test]
    fn the_header_length_is_2_4_or_10_plus_4_for_a_mask() {
        let cases = [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)];
        for (len, expected) in cases {
            assert_eq!(header(OpCode::Binary, None, len).encoded_len(), expected);
            assert_eq!(
                header(OpCode::Binary, Some(KEY), len).encoded_len(),
                expected + 4
            );
        }
        let largest = header(OpCode::Binary, Some(KEY), u64::MAX >> 1);
        assert_eq!(largest.encoded_len(), MAX_HEADER_LEN);
    }

    #[test]
    fn encoding_uses_the_minimal_length_form() {
        assert_eq!(encode(&header(OpCode::Binary, None, 125)), [0x82, 125]);
        assert_eq!(
            encode(&header(OpCode::Binary, None, 126)),
            [0x82, 126, 0, 126]
        );
        assert_eq!(
            encode(&header(OpCode::Binary, None, 65536)),
            [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn a_65535_byte_payload_is_encoded_with_the_16_bit_form() {
        assert_eq!(
            encode(&header(OpCode::Binary, None, 65535)),
            [0x82, 126, 0xFF, 0xFF]
        );
    }

    #[test]
    fn a_masked_header_ends_with_the_key() {
        assert_eq!(
            encode(&header(OpCode::Text, Some(KEY), 5)),
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]
        );
        assert_eq!(
            encode(&header(OpCode::Text, Some(KEY), 300)),
            [0x81, 0xFE, 0x01, 0x2C, 0x37, 0xfa, 0x21, 0x3d]
        );
    }

    #[test]
    fn fin_and_each_rsv_bit_land_in_their_place_and_back() {
        for rsv in 0..8 {
            for fin in [false, true] {
                let h = FrameHeader {
                    fin,
                    rsv,
                    ..header(OpCode::Binary, None, 0)
                };
                let bytes = encode(&h);
                assert_eq!(bytes[0], (u8::from(fin) << 7) | (rsv << 4) | 0x2);
                assert_eq!(FrameHeader::parse(&bytes), Ok(Some((h, 2))));
            }
        }
        // RSV1 is the bit after FIN.
        let (h, _) = FrameHeader::parse(&[0xC1, 0x00]).unwrap().unwrap();
        assert_eq!(h.rsv, 0b100);
    }

    #[test]
    fn encoding_ignores_rsv_bits_above_the_low_three() {
        let h = FrameHeader {
            rsv: 0xF9,
            ..header(OpCode::Binary, None, 0)
        };
        assert_eq!(encode(&h), [0x80 | 0x10 | 0x2, 0]);
    }

    #[test]
    fn encoding_into_a_too_short_buffer_writes_nothing_and_returns_zero() {
        let h = header(OpCode::Binary, Some(KEY), 300);
        let mut out = [0xAAu8; 7];
        assert_eq!(h.encode(&mut out), 0);
        assert_eq!(out, [0xAA; 7]);
        let mut exact = [0u8; 8];
        assert_eq!(h.encode(&mut exact), 8);
    }

    #[test]
    fn a_reserved_opcode_is_rejected_from_the_first_byte() {
        for op in (3..=7).chain(11..=15) {
            let b0 = 0x80 | op;
            assert_eq!(
                FrameHeader::parse(&[b0]),
                Err(FrameError::ReservedOpcode(op))
            );
            assert_eq!(
                FrameHeader::parse(&[b0, 0x00]),
                Err(FrameError::ReservedOpcode(op))
            );
        }
    }

    #[test]
    fn a_control_frame_with_fin_clear_is_rejected_from_the_first_byte() {
        for op in [0x8, 0x9, 0xA] {
            assert_eq!(
                FrameHeader::parse(&[op]),
                Err(FrameError::FragmentedControlFrame)
            );
            assert_eq!(
                FrameHeader::parse(&[op, 0x00]),
                Err(FrameError::FragmentedControlFrame)
            );
        }
    }

    #[test]
    fn a_data_frame_with_fin_clear_is_fine() {
        let h = FrameHeader {
            fin: false,
            ..header(OpCode::Text, None, 3)
        };
        assert_eq!(FrameHeader::parse(&[0x01, 0x03]), Ok(Some((h, 2))));
    }

    #[test]
    fn a_control_frame_over_125_bytes_is_rejected() {
        assert_eq!(
            FrameHeader::parse(&[0x89, 126, 0, 126]),
            Err(FrameError::ControlFrameTooLong(126))
        );
        assert_eq!(
            FrameHeader::parse(&[0x88, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
            Err(FrameError::ControlFrameTooLong(65536))
        );
    }

    #[test]
    fn a_control_frame_of_exactly_125_bytes_is_accepted() {
        assert_eq!(
            FrameHeader::parse(&[0x8A, 125]),
            Ok(Some((header(OpCode::Pong, None, 125), 2)))
        );
    }

    #[test]
    fn a_64_bit_length_with_the_top_bit_set_is_rejected() {
        let bytes = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(FrameHeader::parse(&bytes), Err(FrameError::LengthTopBitSet));
    }

    #[test]
    fn a_64_bit_length_with_the_top_bit_set_is_rejected_from_its_first_byte() {
        assert_eq!(
            FrameHeader::parse(&[0x82, 127, 0xFF]),
            Err(FrameError::LengthTopBitSet)
        );
    }

    #[test]
    fn the_largest_legal_64_bit_length_is_accepted() {
        let bytes = [0x82, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        let (h, n) = FrameHeader::parse(&bytes).unwrap().unwrap();
        assert_eq!((h.payload_len, n), (u64::MAX >> 1, 10));
    }

    #[test]
    fn a_non_minimal_16_bit_length_is_accepted() {
        assert_eq!(
            FrameHeader::parse(&[0x82, 126, 0, 5]),
            Ok(Some((header(OpCode::Binary, None, 5), 4)))
        );
    }

    #[test]
    fn a_non_minimal_64_bit_length_is_accepted() {
        // What embedded-websocket sends for a 65535-byte payload.
        let bytes = [0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF];
        assert_eq!(
            FrameHeader::parse(&bytes),
            Ok(Some((header(OpCode::Binary, None, 65535), 10)))
        );
        let tiny = [0x82, 127, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            FrameHeader::parse(&tiny),
            Ok(Some((header(OpCode::Binary, None, 0), 10)))
        );
    }

    #[test]
    fn a_control_frame_with_a_non_minimal_length_of_at_most_125_is_accepted() {
        let bytes = [0x89, 0xFE, 0, 4, 1, 2, 3, 4];
        assert_eq!(
            FrameHeader::parse(&bytes),
            Ok(Some((header(OpCode::Ping, Some([1, 2, 3, 4]), 4), 8)))
        );
    }

    #[test]
    fn the_rsv_bits_and_the_mask_bit_are_reported_not_judged() {
        let (h, n) = FrameHeader::parse(&[0xF2, 0x80, 9, 9, 9, 9])
            .unwrap()
            .unwrap();
        assert_eq!((h.rsv, h.mask, n), (0b111, Some([9; 4]), 6));
    }

    #[test]
    fn empty_input_needs_more_bytes() {
        assert_eq!(FrameHeader::parse(&[]), Ok(None));
    }

    fn any_header() -> impl Strategy<Value = FrameHeader> {
        let data = (
            any::<bool>(),
            prop::sample::select(&[OpCode::Continuation, OpCode::Text, OpCode::Binary][..]),
            prop_oneof![0u64..=130, 60000u64..=70000, 0u64..=(u64::MAX >> 1)],
        );
        let control = (
            Just(true),
            prop::sample::select(&[OpCode::Close, OpCode::Ping, OpCode::Pong][..]),
            0u64..=125,
        );
        (
            prop_oneof![data, control],
            0u8..8,
            proptest::option::of(any::<[u8; 4]>()),
        )
            .prop_map(|((fin, opcode, payload_len), rsv, mask)| FrameHeader {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            })
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(h in any_header()) {
            let bytes = encode(&h);
            prop_assert_eq!(bytes.len(), h.encoded_len());
            prop_assert_eq!(FrameHeader::parse(&bytes), Ok(Some((h, bytes.len()))));
            for cut in 0..bytes.len() {
                prop_assert_eq!(FrameHeader::parse(&bytes[..cut]), Ok(None));
            }
        }

        #[test]
        fn parsing_arbitrary_bytes_never_claims_more_than_the_input(
            bytes in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            if let Ok(Some((h, n))) = FrameHeader::parse(&bytes) {
                prop_assert!(n <= bytes.len());
                prop_assert_eq!(n, 2 + h.mask.map_or(0, |_| 4) + match bytes[1] & 0x7F {
                    126 => 2,
                    127 => 8,
                    _ => 0,
                });
            }
        }

        #[test]
        fn a_parsed_header_re_encodes_to_the_same_bytes_when_minimal(
            bytes in proptest::collection::vec(any::<u8>(), 2..20),
        ) {
            if let Ok(Some((h, n))) = FrameHeader::parse(&bytes) {
                let minimal = h.encoded_len() == n;
                prop_assert_eq!(minimal, encode(&h) == bytes[..n]);
            }
        }
    }
}
