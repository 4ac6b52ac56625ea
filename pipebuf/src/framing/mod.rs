//! Record framing over byte buffers: delimited lines and length-prefixed records.
//!
//! Decoders follow one shape: `decode(rd.data())` borrows the next complete record from the
//! buffer (no copy) and says how many bytes it spans; the caller handles the record and then
//! consumes exactly that many bytes. Bytes after the record are never touched, so nothing is
//! lost between records. Encoders write a whole record or nothing, so a full output buffer
//! refuses a record without losing it.
//!
//! ```
//! use pipebuf::PipeBuf;
//! use pipebuf::framing::Lines;
//!
//! let lines = Lines::new(b'\n', 64);
//! let mut pb = PipeBuf::<u8>::new();
//! pb.wr().append(b"one\ntwo\nthr").unwrap();
//! let mut rd = pb.rd();
//! let mut seen = Vec::new();
//! while let Some(rec) = lines.decode(rd.data()).unwrap() {
//!     seen.push(rec.body.to_vec());
//!     let n = rec.frame_len;
//!     rd.consume(n).unwrap();
//! }
//! assert_eq!(seen, [b"one".to_vec(), b"two".to_vec()]);
//! assert_eq!(rd.data(), b"thr"); // the partial line waits for more input
//! ```

mod length_prefixed;
mod lines;

pub use length_prefixed::{LengthPrefix, LengthPrefixed};
pub use lines::Lines;

use core::fmt;

/// A complete record borrowed from a buffer's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'d> {
    /// The record's content, without delimiter or length prefix.
    pub body: &'d [u8],
    /// How many bytes of the buffer the record spans (prefix or delimiter included): consume
    /// exactly this many once the body has been handled.
    pub frame_len: usize,
}

/// Why a record could not be decoded or encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The record is longer than the configured maximum. On decode nothing is consumed; the
    /// stream cannot be resynchronised, so the caller should fail it.
    TooLong {
        /// The record's length, or for an unterminated line a lower bound of it.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A line to encode contains the delimiter at this offset.
    DelimiterInBody {
        /// Offset of the first delimiter in the body.
        at: usize,
    },
    /// The output buffer refused the record (full, or after EOF); nothing was written.
    Buffer(crate::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLong { len, max } => {
                write!(f, "record of {len} bytes exceeds the maximum of {max}")
            }
            FrameError::DelimiterInBody { at } => {
                write!(f, "line contains the delimiter at offset {at}")
            }
            FrameError::Buffer(e) => write!(f, "output buffer: {e}"),
        }
    }
}

impl core::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            FrameError::Buffer(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::Error> for FrameError {
    fn from(e: crate::Error) -> Self {
        FrameError::Buffer(e)
    }
}
