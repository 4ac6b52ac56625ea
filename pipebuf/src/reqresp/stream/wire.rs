//! A ready wire format for multiplexed streams: [`StreamFrames`].

use alloc::vec::Vec;
use core::fmt;

use super::frame::{Emitted, Frame, FrameDecoder, FrameEncoder};
use crate::PBufWr;

/// Frame kinds on the wire.
const HEAD: u8 = 0;
const HEAD_BODY: u8 = 1;
const DATA: u8 = 2;
const DATA_END: u8 = 3;
const CREDIT: u8 = 4;
const RESET: u8 = 5;

/// A simple binary frame format, both [`FrameDecoder`] and [`FrameEncoder`], with head
/// messages as bytes (`&[u8]` decoded in place, `Vec<u8>` to encode).
///
/// Every frame is a 9-byte header — payload length (u32, big-endian), kind (u8), tag (u32,
/// big-endian) — and the payload:
///
/// | kind | frame | payload |
/// |---|---|---|
/// | 0 | head, no body | the message |
/// | 1 | head, body follows | the message |
/// | 2 | data | body bytes |
/// | 3 | data, the body's last | body bytes |
/// | 4 | credit | the bytes allowed (u32 BE) |
/// | 5 | reset | the code (u32 BE) |
///
/// A payload longer than the maximum ([`WireError::Oversize`]), an unknown kind
/// ([`WireError::UnknownKind`]) and a credit or reset payload other than 4 bytes
/// ([`WireError::BadLength`]) are errors as soon as the header is in. The incoming
/// connection buffer must hold [`HEADER`](StreamFrames::HEADER) + the maximum payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamFrames {
    max_payload: usize,
}

impl Default for StreamFrames {
    fn default() -> Self {
        StreamFrames::new(StreamFrames::DEFAULT_MAX_PAYLOAD)
    }
}

impl StreamFrames {
    /// The size of every frame's header.
    pub const HEADER: usize = 9;
    /// The default maximum payload: 16 KiB.
    pub const DEFAULT_MAX_PAYLOAD: usize = 16 * 1024;

    /// Frames with payloads of at most `max_payload` bytes (at least 4, at most
    /// `u32::MAX`).
    pub fn new(max_payload: usize) -> Self {
        let cap = usize::try_from(u32::MAX).unwrap_or(usize::MAX);
        StreamFrames {
            max_payload: max_payload.clamp(4, cap),
        }
    }

    /// The largest payload.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// The header of a frame, after checking the payload length.
    fn header(&self, len: usize, kind: u8, tag: u32) -> Result<[u8; 9], WireError> {
        let Some(n) = u32::try_from(len).ok().filter(|_| len <= self.max_payload) else {
            return Err(WireError::Oversize {
                len: len as u64,
                max: self.max_payload,
            });
        };
        let mut h = [0u8; 9];
        h[..4].copy_from_slice(&n.to_be_bytes());
        h[4] = kind;
        h[5..].copy_from_slice(&tag.to_be_bytes());
        Ok(h)
    }

    /// Writes a whole frame of header and payload, or nothing.
    fn put(
        &self,
        wr: &mut PBufWr<'_>,
        kind: u8,
        tag: u32,
        payload: &[u8],
    ) -> Result<Emitted, WireError> {
        let header = self.header(payload.len(), kind, tag)?;
        let total = Self::HEADER.saturating_add(payload.len());
        let space = match wr.space(total) {
            Ok(space) => space,
            Err(crate::Error::NoSpace { .. }) => return Ok(Emitted::Full),
            Err(e) => return Err(WireError::Buffer(e)),
        };
        let (head, body) = space.split_at_mut(Self::HEADER);
        head.copy_from_slice(&header);
        body.copy_from_slice(payload);
        wr.commit(total).map_err(WireError::Buffer)?;
        Ok(Emitted::Written)
    }
}

impl FrameDecoder for StreamFrames {
    type Item<'d> = &'d [u8];
    type Error = WireError;

    fn decode<'d>(
        &mut self,
        data: &'d [u8],
    ) -> Result<Option<(Frame<'d, &'d [u8]>, usize)>, WireError> {
        let Some((header, rest)) = data.split_first_chunk::<9>() else {
            return Ok(None);
        };
        let [l0, l1, l2, l3, kind, t0, t1, t2, t3] = *header;
        let len32 = u32::from_be_bytes([l0, l1, l2, l3]);
        let tag = u32::from_be_bytes([t0, t1, t2, t3]);
        let Some(len) = usize::try_from(len32)
            .ok()
            .filter(|&n| n <= self.max_payload)
        else {
            return Err(WireError::Oversize {
                len: u64::from(len32),
                max: self.max_payload,
            });
        };
        match kind {
            HEAD | HEAD_BODY | DATA | DATA_END => {}
            CREDIT | RESET if len == 4 => {}
            CREDIT | RESET => return Err(WireError::BadLength { kind, len }),
            _ => return Err(WireError::UnknownKind(kind)),
        }
        let Some(payload) = rest.get(..len) else {
            return Ok(None);
        };
        let number = || {
            payload
                .first_chunk::<4>()
                .map_or(0, |b| u32::from_be_bytes(*b))
        };
        let frame = match kind {
            HEAD | HEAD_BODY => Frame::Head {
                tag,
                message: payload,
                body: kind == HEAD_BODY,
            },
            DATA | DATA_END => Frame::Data {
                tag,
                data: payload,
                end: kind == DATA_END,
            },
            CREDIT => Frame::Credit {
                tag,
                bytes: number(),
            },
            _ => Frame::Reset {
                tag,
                code: number(),
            },
        };
        Ok(Some((frame, Self::HEADER + len)))
    }
}

impl FrameEncoder for StreamFrames {
    type Item = Vec<u8>;
    type Error = WireError;

    fn encode_head(
        &mut self,
        tag: u32,
        message: &Vec<u8>,
        body: bool,
        wr: &mut PBufWr<'_>,
    ) -> Result<Emitted, WireError> {
        let kind = if body { HEAD_BODY } else { HEAD };
        self.put(wr, kind, tag, message)
    }

    fn max_data_header(&self) -> usize {
        Self::HEADER
    }

    fn max_data_len(&self) -> usize {
        self.max_payload
    }

    fn encode_data_header(
        &mut self,
        tag: u32,
        len: usize,
        end: bool,
        out: &mut [u8],
    ) -> Result<usize, WireError> {
        let header = self.header(len, if end { DATA_END } else { DATA }, tag)?;
        let Some(dst) = out.first_chunk_mut::<9>() else {
            return Err(WireError::ShortBuffer {
                needed: Self::HEADER,
                got: out.len(),
            });
        };
        *dst = header;
        Ok(Self::HEADER)
    }

    fn encode_credit(
        &mut self,
        tag: u32,
        bytes: u32,
        wr: &mut PBufWr<'_>,
    ) -> Result<Emitted, WireError> {
        self.put(wr, CREDIT, tag, &bytes.to_be_bytes())
    }

    fn encode_reset(
        &mut self,
        tag: u32,
        code: u32,
        wr: &mut PBufWr<'_>,
    ) -> Result<Emitted, WireError> {
        self.put(wr, RESET, tag, &code.to_be_bytes())
    }
}

/// Why bytes are not a valid [`StreamFrames`] frame, or a frame cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// A frame kind that does not exist.
    UnknownKind(u8),
    /// A payload longer than the maximum (a head message too long to send, or an incoming
    /// frame too long to accept).
    Oversize {
        /// The payload's length.
        len: u64,
        /// The maximum.
        max: usize,
    },
    /// A credit or reset frame whose payload is not 4 bytes.
    BadLength {
        /// The frame's kind.
        kind: u8,
        /// The payload's length.
        len: usize,
    },
    /// The space given for a data frame's header is too short.
    ShortBuffer {
        /// The header's size.
        needed: usize,
        /// The space given.
        got: usize,
    },
    /// The output buffer refused the frame for another reason than room (it was ended).
    Buffer(crate::Error),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::UnknownKind(k) => write!(f, "unknown frame kind {k}"),
            WireError::Oversize { len, max } => {
                write!(
                    f,
                    "frame payload of {len} bytes, more than the {max} allowed"
                )
            }
            WireError::BadLength { kind, len } => {
                write!(f, "frame of kind {kind} with a {len}-byte payload, not 4")
            }
            WireError::ShortBuffer { needed, got } => {
                write!(f, "{got} bytes for a {needed}-byte frame header")
            }
            WireError::Buffer(e) => write!(f, "buffer: {e}"),
        }
    }
}

impl core::error::Error for WireError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            WireError::Buffer(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PipeBuf;

    fn encoded(f: impl FnOnce(&mut StreamFrames, &mut PBufWr<'_>) -> Emitted) -> Vec<u8> {
        let mut pb = PipeBuf::<u8>::new();
        assert_eq!(
            f(&mut StreamFrames::default(), &mut pb.wr()),
            Emitted::Written
        );
        pb.data().to_vec()
    }

    #[test]
    fn every_frame_kind_decodes_back_to_what_was_encoded() {
        let mut wire = encoded(|c, wr| c.encode_head(7, &b"hi".to_vec(), true, wr).unwrap());
        wire.extend(encoded(|c, wr| c.encode_credit(7, 1000, wr).unwrap()));
        wire.extend(encoded(|c, wr| c.encode_reset(7, 8, wr).unwrap()));
        let mut header = [0u8; 9];
        let mut codec = StreamFrames::default();
        let h = codec.encode_data_header(7, 3, true, &mut header).unwrap();
        wire.extend(&header[..h]);
        wire.extend(b"abc");
        wire.extend(b"rest");

        let mut at = 0;
        let mut frames = Vec::new();
        while let Some((frame, len)) = codec.decode(&wire[at..]).unwrap() {
            frames.push(format!("{frame:?}"));
            at += len;
        }
        assert_eq!(
            frames,
            [
                "Head { tag: 7, message: [104, 105], body: true }",
                "Credit { tag: 7, bytes: 1000 }",
                "Reset { tag: 7, code: 8 }",
                "Data { tag: 7, data: [97, 98, 99], end: true }",
            ]
        );
        assert_eq!(&wire[at..], b"rest", "bytes after the last frame are left");
    }

    #[test]
    fn a_partial_frame_needs_more_input() {
        let wire = encoded(|c, wr| c.encode_head(1, &b"hello".to_vec(), false, wr).unwrap());
        for cut in 0..wire.len() {
            assert_eq!(StreamFrames::default().decode(&wire[..cut]), Ok(None));
        }
    }

    #[test]
    fn bad_headers_are_errors_before_the_payload_arrives() {
        let mut codec = StreamFrames::new(16);
        assert_eq!(
            codec.decode(&[0, 0, 0, 17, 2, 0, 0, 0, 1]),
            Err(WireError::Oversize { len: 17, max: 16 })
        );
        assert_eq!(
            codec.decode(&[0, 0, 0, 1, 9, 0, 0, 0, 1]),
            Err(WireError::UnknownKind(9))
        );
        assert_eq!(
            codec.decode(&[0, 0, 0, 3, CREDIT, 0, 0, 0, 1]),
            Err(WireError::BadLength {
                kind: CREDIT,
                len: 3
            })
        );
    }

    #[test]
    fn a_head_longer_than_the_maximum_is_refused_and_nothing_is_written() {
        let mut pb = PipeBuf::<u8>::new();
        let r = StreamFrames::new(4).encode_head(1, &b"12345".to_vec(), false, &mut pb.wr());
        assert_eq!(r, Err(WireError::Oversize { len: 5, max: 4 }));
        assert!(pb.is_empty());
    }

    #[test]
    fn a_full_buffer_takes_no_part_of_a_frame() {
        let mut pb = PipeBuf::with_storage([0u8; 12]);
        let mut codec = StreamFrames::default();
        let r = codec.encode_head(1, &b"four".to_vec(), false, &mut pb.wr());
        assert_eq!(r, Ok(Emitted::Full));
        assert!(pb.is_empty());
        assert_eq!(codec.encode_reset(1, 2, &mut pb.wr()), Ok(Emitted::Full));
        pb.wr().close();
        assert_eq!(
            codec.encode_credit(1, 2, &mut pb.wr()),
            Err(WireError::Buffer(crate::Error::AfterEof))
        );
    }

    #[test]
    fn a_short_header_space_is_an_error_not_a_panic() {
        let r = StreamFrames::default().encode_data_header(1, 1, false, &mut [0u8; 4]);
        assert_eq!(r, Err(WireError::ShortBuffer { needed: 9, got: 4 }));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder() {
        let mut seed = 0x2545_f491_u32;
        for _ in 0..2000 {
            let mut bytes = [0u8; 24];
            for b in &mut bytes {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                *b = (seed % 7) as u8;
            }
            let _ = StreamFrames::new(8).decode(&bytes);
        }
    }
}
