//! Reading choices out of a fuzz input.

/// A fuzz input read front to back: small numbers for choices, byte slices for data. An
/// exhausted input reads as zeros and empty slices, so every input means something.
#[derive(Debug, Clone)]
pub(crate) struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// The next byte, 0 when none is left.
    pub(crate) fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Whether the next byte is odd.
    pub(crate) fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// A number in `0..n` (0 for `n == 0`), from one byte when `n <= 256`, else two.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            let _ = self.byte();
            return 0;
        }
        let raw = if n <= 256 {
            usize::from(self.byte())
        } else {
            usize::from(u16::from_le_bytes([self.byte(), self.byte()]))
        };
        raw % n
    }

    /// Up to `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// Whether nothing is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }
}

/// Cuts `data` into pieces at points chosen by `choices` (each byte a piece length from 1 to
/// 64, or the whole rest for 0): how bytes arrive from a network.
pub(crate) fn pieces<'d>(data: &'d [u8], choices: &mut Input<'_>) -> Vec<&'d [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = match choices.byte() {
            0 => rest.len(),
            b => usize::from(b % 64) + 1,
        };
        let (head, tail) = rest.split_at(n.min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}
