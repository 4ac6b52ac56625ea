//! Records preceded by their length as a fixed-width integer.

use super::{FrameError, Record};
use crate::PBufWr;

/// Width and byte order of a length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthPrefix {
    /// 2 bytes, big endian (network order).
    U16Be,
    /// 2 bytes, little endian.
    U16Le,
    /// 4 bytes, big endian (network order).
    U32Be,
    /// 4 bytes, little endian.
    U32Le,
}

impl LengthPrefix {
    /// Bytes the prefix takes.
    pub const fn width(self) -> usize {
        match self {
            LengthPrefix::U16Be | LengthPrefix::U16Le => 2,
            LengthPrefix::U32Be | LengthPrefix::U32Le => 4,
        }
    }

    /// The largest length the prefix can express.
    pub const fn max_value(self) -> u64 {
        match self {
            LengthPrefix::U16Be | LengthPrefix::U16Le => u16::MAX as u64,
            LengthPrefix::U32Be | LengthPrefix::U32Le => u32::MAX as u64,
        }
    }

    fn read(self, data: &[u8]) -> Option<u64> {
        Some(match self {
            LengthPrefix::U16Be => u64::from(u16::from_be_bytes(data.get(..2)?.try_into().ok()?)),
            LengthPrefix::U16Le => u64::from(u16::from_le_bytes(data.get(..2)?.try_into().ok()?)),
            LengthPrefix::U32Be => u64::from(u32::from_be_bytes(data.get(..4)?.try_into().ok()?)),
            LengthPrefix::U32Le => u64::from(u32::from_le_bytes(data.get(..4)?.try_into().ok()?)),
        })
    }

    /// Writes `len` into `out`, which is exactly [`width`](LengthPrefix::width) bytes long;
    /// the caller has checked `len <= max_value()`.
    fn write(self, len: usize, out: &mut [u8]) {
        match self {
            LengthPrefix::U16Be => out.copy_from_slice(&(len as u16).to_be_bytes()),
            LengthPrefix::U16Le => out.copy_from_slice(&(len as u16).to_le_bytes()),
            LengthPrefix::U32Be => out.copy_from_slice(&(len as u32).to_be_bytes()),
            LengthPrefix::U32Le => out.copy_from_slice(&(len as u32).to_le_bytes()),
        }
    }
}

/// Records preceded by a length prefix, with a maximum body length.
///
/// ```
/// use pipebuf::PipeBuf;
/// use pipebuf::framing::{LengthPrefix, LengthPrefixed};
///
/// let codec = LengthPrefixed::new(LengthPrefix::U16Be, 1024);
/// let mut pb = PipeBuf::<u8>::new();
/// codec.encode(&mut pb.wr(), b"hello").unwrap();
/// assert_eq!(pb.data(), b"\x00\x05hello");
/// let rec = codec.decode(pb.data()).unwrap().unwrap();
/// assert_eq!((rec.body, rec.frame_len), (&b"hello"[..], 7));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthPrefixed {
    prefix: LengthPrefix,
    max_len: usize,
}

impl LengthPrefixed {
    /// Records with the given prefix whose bodies are at most `max_len` bytes (further
    /// limited by what the prefix can express).
    pub fn new(prefix: LengthPrefix, max_len: usize) -> Self {
        let expressible = usize::try_from(prefix.max_value()).unwrap_or(usize::MAX);
        LengthPrefixed {
            prefix,
            max_len: max_len.min(expressible),
        }
    }

    /// The next complete record at the start of `data`, or `None` if more input is needed.
    /// A prefix announcing more than `max_len` fails with [`FrameError::TooLong`] at once,
    /// before any of the body arrives.
    pub fn decode<'d>(&self, data: &'d [u8]) -> Result<Option<Record<'d>>, FrameError> {
        let Some(len) = self.prefix.read(data) else {
            return Ok(None);
        };
        let len = match usize::try_from(len) {
            Ok(len) if len <= self.max_len => len,
            _ => {
                return Err(FrameError::TooLong {
                    len: usize::try_from(len).unwrap_or(usize::MAX),
                    max: self.max_len,
                });
            }
        };
        let width = self.prefix.width();
        match data.get(width..width + len) {
            Some(body) => Ok(Some(Record {
                body,
                frame_len: width + len,
            })),
            None => Ok(None),
        }
    }

    /// Writes the prefix and `body`, or nothing: fails if the body is too long or the record
    /// does not fit in `wr`.
    pub fn encode(&self, wr: &mut PBufWr<'_, u8>, body: &[u8]) -> Result<(), FrameError> {
        if body.len() > self.max_len {
            return Err(FrameError::TooLong {
                len: body.len(),
                max: self.max_len,
            });
        }
        let width = self.prefix.width();
        let space = wr.space(width + body.len())?;
        let (head, tail) = space.split_at_mut(width);
        self.prefix.write(body.len(), head);
        crate::copy::copy_elements(tail, body);
        wr.commit(width + body.len())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_kind_round_trips_its_byte_order() {
        for (prefix, bytes) in [
            (LengthPrefix::U16Be, &b"\x00\x03abc"[..]),
            (LengthPrefix::U16Le, &b"\x03\x00abc"[..]),
            (LengthPrefix::U32Be, &b"\x00\x00\x00\x03abc"[..]),
            (LengthPrefix::U32Le, &b"\x03\x00\x00\x00abc"[..]),
        ] {
            let codec = LengthPrefixed::new(prefix, 16);
            let rec = codec.decode(bytes).unwrap().unwrap();
            assert_eq!(rec.body, b"abc");
            assert_eq!(rec.frame_len, bytes.len());
        }
    }

    #[test]
    fn truncated_prefix_or_body_needs_more_input() {
        let codec = LengthPrefixed::new(LengthPrefix::U32Be, 16);
        assert_eq!(codec.decode(b"\x00\x00\x00"), Ok(None));
        assert_eq!(codec.decode(b"\x00\x00\x00\x03ab"), Ok(None));
    }

    #[test]
    fn oversized_length_fails_before_the_body_arrives() {
        let codec = LengthPrefixed::new(LengthPrefix::U32Be, 16);
        assert_eq!(
            codec.decode(b"\xff\xff\xff\xff"),
            Err(FrameError::TooLong {
                len: 0xffff_ffff,
                max: 16
            })
        );
    }

    #[test]
    fn max_len_is_limited_to_what_the_prefix_expresses() {
        let codec = LengthPrefixed::new(LengthPrefix::U16Le, usize::MAX);
        assert_eq!(codec.max_len, 65535);
    }

    #[test]
    fn zero_length_record_decodes() {
        let codec = LengthPrefixed::new(LengthPrefix::U16Be, 16);
        let rec = codec.decode(b"\x00\x00next").unwrap().unwrap();
        assert_eq!((rec.body, rec.frame_len), (&b""[..], 2));
    }

    #[test]
    fn encode_into_fixed_storage_refuses_what_does_not_fit() {
        let codec = LengthPrefixed::new(LengthPrefix::U16Be, 16);
        let mut pb = crate::PipeBuf::with_storage([0u8; 6]);
        assert_eq!(
            codec.encode(&mut pb.wr(), b"12345"),
            Err(FrameError::Buffer(crate::Error::NoSpace {
                requested: 7,
                available: 6
            }))
        );
        assert!(pb.is_empty());
        codec.encode(&mut pb.wr(), b"1234").unwrap();
        assert_eq!(pb.data(), b"\x00\x041234");
    }
}
