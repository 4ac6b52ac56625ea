//! Delimiter-terminated records, such as newline-separated text.

use super::{FrameError, Record};
use crate::PBufWr;

/// Records terminated by a delimiter byte, with a maximum body length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lines {
    delimiter: u8,
    max_len: usize,
}

impl Lines {
    /// Records ending in `delimiter`, whose bodies (delimiter excluded) are at most `max_len`
    /// bytes.
    pub const fn new(delimiter: u8, max_len: usize) -> Self {
        Lines { delimiter, max_len }
    }

    /// The next complete record at the start of `data`, or `None` if more input is needed.
    /// Fails with [`FrameError::TooLong`] as soon as `max_len + 1` bytes show no delimiter,
    /// so a peer cannot make the caller buffer an endless line.
    pub fn decode<'d>(&self, data: &'d [u8]) -> Result<Option<Record<'d>>, FrameError> {
        let window = &data[..data.len().min(self.max_len.saturating_add(1))];
        match window.iter().position(|&b| b == self.delimiter) {
            Some(at) => Ok(Some(Record {
                body: &data[..at],
                frame_len: at + 1,
            })),
            None if window.len() > self.max_len => Err(FrameError::TooLong {
                len: window.len(),
                max: self.max_len,
            }),
            None => Ok(None),
        }
    }

    /// Writes `body` and the delimiter, or nothing: fails if the body is too long, contains
    /// the delimiter, or does not fit in `wr`.
    pub fn encode(&self, wr: &mut PBufWr<'_, u8>, body: &[u8]) -> Result<(), FrameError> {
        if body.len() > self.max_len {
            return Err(FrameError::TooLong {
                len: body.len(),
                max: self.max_len,
            });
        }
        if let Some(at) = body.iter().position(|&b| b == self.delimiter) {
            return Err(FrameError::DelimiterInBody { at });
        }
        let space = wr.space(body.len() + 1)?;
        crate::copy::copy_elements(&mut space[..body.len()], body);
        space[body.len()] = self.delimiter;
        wr.commit(body.len() + 1)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: Lines = Lines::new(b'\n', 4);

    #[test]
    fn partial_line_needs_more_input() {
        assert_eq!(LINES.decode(b"abc"), Ok(None));
        assert_eq!(LINES.decode(b""), Ok(None));
    }

    #[test]
    fn line_at_max_len_decodes_and_leaves_the_rest() {
        let rec = LINES.decode(b"abcd\nrest").unwrap().unwrap();
        assert_eq!(rec.body, b"abcd");
        assert_eq!(rec.frame_len, 5);
    }

    #[test]
    fn empty_line_is_a_record() {
        let rec = LINES.decode(b"\nx").unwrap().unwrap();
        assert_eq!(rec.body, b"");
        assert_eq!(rec.frame_len, 1);
    }

    #[test]
    fn line_over_max_len_fails_without_waiting_for_the_delimiter() {
        assert_eq!(
            LINES.decode(b"abcde"),
            Err(FrameError::TooLong { len: 5, max: 4 })
        );
        assert_eq!(LINES.decode(b"abcd"), Ok(None));
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn encode_refuses_without_writing_when_it_does_not_fit() {
        let mut pb = crate::PipeBuf::<u8>::with_limits(4, 4);
        assert!(LINES.encode(&mut pb.wr(), b"abcd").is_err());
        assert_eq!(pb.len(), 0);
        LINES.encode(&mut pb.wr(), b"abc").unwrap();
        assert_eq!(pb.data(), b"abc\n");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn encode_refuses_a_body_with_the_delimiter() {
        let mut pb = crate::PipeBuf::<u8>::new();
        assert_eq!(
            LINES.encode(&mut pb.wr(), b"a\nb"),
            Err(FrameError::DelimiterInBody { at: 1 })
        );
        assert!(pb.is_empty());
    }
}
