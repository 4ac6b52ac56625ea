//! Writing an HTTP head into a caller's slice, counting the full length even when it does
//! not fit, so that the error can say how much room is needed.

use super::HandshakeError;

/// Appends pieces to `out`; a piece that does not fit is counted but not written.
#[derive(Debug)]
pub(crate) struct Writer<'o> {
    out: &'o mut [u8],
    len: usize,
}

impl<'o> Writer<'o> {
    /// Starts writing at the beginning of `out`.
    pub(crate) fn new(out: &'o mut [u8]) -> Self {
        Writer { out, len: 0 }
    }

    /// Appends `bytes`.
    pub(crate) fn put(&mut self, bytes: &[u8]) -> &mut Self {
        let end = self.len.saturating_add(bytes.len());
        if let Some(dst) = self.out.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
        }
        self.len = end;
        self
    }

    /// Appends `name: value\r\n`.
    pub(crate) fn field(&mut self, name: &str, value: &[u8]) -> &mut Self {
        self.put(name.as_bytes()).put(b": ").put(value).put(b"\r\n")
    }

    /// Appends a three-digit status code (`code` must be in `100..=999`).
    pub(crate) fn status_code(&mut self, code: u16) -> &mut Self {
        let digit = |d: u16| b'0' + (d % 10) as u8;
        self.put(&[digit(code / 100), digit(code / 10), digit(code)])
    }

    /// The length written, or [`HandshakeError::BufferTooSmall`] with the length needed.
    pub(crate) fn finish(&self) -> Result<usize, HandshakeError> {
        if self.len <= self.out.len() {
            Ok(self.len)
        } else {
            Err(HandshakeError::BufferTooSmall { needed: self.len })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_fits_is_written_and_its_length_returned() {
        let mut out = [0u8; 32];
        let mut w = Writer::new(&mut out);
        w.put(b"HTTP/1.1 ").status_code(426).field("A", b"b");
        assert_eq!(w.finish(), Ok(18));
        assert_eq!(&out[..18], b"HTTP/1.1 426A: b\r\n");
    }

    #[test]
    fn what_does_not_fit_reports_the_length_needed() {
        let mut out = [0u8; 4];
        let mut w = Writer::new(&mut out);
        w.put(b"abc").put(b"defg").put(b"h");
        assert_eq!(
            w.finish(),
            Err(HandshakeError::BufferTooSmall { needed: 8 })
        );
    }

    #[test]
    fn an_empty_output_needs_everything() {
        let mut w = Writer::new(&mut []);
        w.put(b"x");
        assert_eq!(
            w.finish(),
            Err(HandshakeError::BufferTooSmall { needed: 1 })
        );
    }
}
