//! Bounds on a handshake head, and how `httparse` is run within them.

use alloc::vec;
use alloc::vec::Vec;

/// Bounds on the HTTP head of a handshake request or response: a peer that exceeds them is
/// refused before it costs more memory or work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeLimits {
    /// Most header fields accepted (default 64).
    pub max_headers: usize,
    /// Most bytes in the head, from the start line through the empty line that ends it
    /// (default 8 KiB). Also the most bytes one parse call looks at.
    pub max_head_len: usize,
}

impl HandshakeLimits {
    /// 64 header fields, 8 KiB of head: more than browsers and common clients send.
    pub const DEFAULT: Self = Self {
        max_headers: 64,
        max_head_len: 8 * 1024,
    };

    /// The part of `input` a parse looks at: the first `max_head_len` bytes.
    pub(crate) fn window<'i>(&self, input: &'i [u8]) -> &'i [u8] {
        input.get(..self.max_head_len).unwrap_or(input)
    }

    /// Empty field slots for `httparse`: [`field_slots_len`](Self::field_slots_len) of them.
    pub(crate) fn field_slots<'b>(&self) -> Vec<httparse::Header<'b>> {
        vec![httparse::EMPTY_HEADER; self.field_slots_len()]
    }

    /// How many field slots `httparse` needs: `max_headers`, but never more than a head of
    /// `max_head_len` bytes could hold (each field takes at least 3 bytes), so a huge limit
    /// does not turn into a huge allocation.
    pub(crate) fn field_slots_len(&self) -> usize {
        self.max_headers.min(self.max_head_len / 3 + 1)
    }

    /// Judges what `httparse` said about [`window`](Self::window)`(input)`: the head length
    /// when complete, `None` while more bytes may still complete it within the limits.
    pub(crate) fn judge(
        &self,
        input: &[u8],
        parsed: Result<httparse::Status<usize>, httparse::Error>,
    ) -> Result<Option<usize>, HeadError> {
        match parsed {
            Ok(httparse::Status::Complete(len)) => Ok(Some(len)),
            Ok(httparse::Status::Partial) if input.len() >= self.max_head_len => {
                Err(HeadError::TooLarge)
            }
            Ok(httparse::Status::Partial) => Ok(None),
            Err(httparse::Error::TooManyHeaders) => Err(HeadError::TooManyHeaders),
            Err(_) => Err(HeadError::Malformed),
        }
    }
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why a head could not be parsed within the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// Not HTTP/1.x syntax.
    Malformed,
    /// Longer than `max_head_len` without ending.
    TooLarge,
    /// More than `max_headers` fields.
    TooManyHeaders,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_capped_at_the_head_limit() {
        let limits = HandshakeLimits {
            max_headers: 4,
            max_head_len: 3,
        };
        assert_eq!(limits.window(b"abcdef"), b"abc");
        assert_eq!(limits.window(b"ab"), b"ab");
    }

    #[test]
    fn a_huge_header_limit_allocates_only_what_the_head_could_hold() {
        let limits = HandshakeLimits {
            max_headers: usize::MAX,
            max_head_len: 300,
        };
        assert_eq!(limits.field_slots().len(), 101);
        assert_eq!(HandshakeLimits::default().field_slots().len(), 64);
    }

    #[test]
    fn a_partial_head_at_the_limit_is_too_large() {
        let limits = HandshakeLimits {
            max_headers: 4,
            max_head_len: 4,
        };
        let partial = Ok(httparse::Status::Partial);
        assert_eq!(limits.judge(b"GET", partial), Ok(None));
        assert_eq!(limits.judge(b"GET ", partial), Err(HeadError::TooLarge));
    }
}
