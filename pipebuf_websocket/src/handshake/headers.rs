//! A parsed HTTP head kept as one owned copy of its bytes plus the positions of its fields.
//!
//! `httparse` borrows from the caller's buffer, but the caller consumes the head right after
//! parsing it, so what the application gets to see must be owned. One allocation holds the
//! whole head and one more the field positions, instead of a `String` per name and value;
//! a server that parses head after head refills the same two ([`Headers::recapture`]).

use alloc::vec::Vec;
use core::fmt;

/// A byte range inside a stored head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: usize,
    end: usize,
}

impl Span {
    /// The empty range at the start.
    pub(crate) const EMPTY: Span = Span { start: 0, end: 0 };

    /// Where `part` lies inside `base`, or `None` if it is not a sub-slice of `base`.
    ///
    /// Compares addresses only (no unsafe): `httparse` returns sub-slices of its input, and
    /// this turns them into offsets that stay valid for a copy of that input.
    pub(crate) fn within(base: &[u8], part: &[u8]) -> Option<Span> {
        let start = (part.as_ptr() as usize).checked_sub(base.as_ptr() as usize)?;
        let end = start.checked_add(part.len())?;
        (end <= base.len()).then_some(Span { start, end })
    }
}

/// One header field: positions of its name and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    name: Span,
    value: Span,
}

/// The header fields of a parsed request or response head, in the order received.
///
/// Names compare case-insensitively. Values are bytes: HTTP allows non-UTF-8 octets in them
/// (use [`core::str::from_utf8`] where text is expected); surrounding whitespace is already
/// stripped. A repeated field appears once per occurrence.
#[derive(Clone, PartialEq, Eq)]
pub struct Headers {
    head: Vec<u8>,
    fields: Vec<Field>,
}

impl Headers {
    /// No head and no fields, holding no memory.
    pub(crate) const fn empty() -> Headers {
        Headers {
            head: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// Copies the head `input[..head_len]` and records where each of `fields` lies in it.
    /// `None` if a field does not lie inside the head (not the case for what `httparse`
    /// returns from parsing `input`).
    pub(crate) fn capture(
        input: &[u8],
        head_len: usize,
        fields: &[httparse::Header<'_>],
    ) -> Option<Headers> {
        let mut headers = Headers::empty();
        headers
            .recapture(input, head_len, fields)
            .then_some(headers)
    }

    /// Like [`capture`](Self::capture), into `self`: its memory is reused, so a server that
    /// keeps one `Headers` allocates nothing for heads no larger than earlier ones. `false`
    /// (and `self` holding no fields) if a field does not lie inside the head.
    pub(crate) fn recapture(
        &mut self,
        input: &[u8],
        head_len: usize,
        fields: &[httparse::Header<'_>],
    ) -> bool {
        self.head.clear();
        self.fields.clear();
        let Some(head) = input.get(..head_len) else {
            return false;
        };
        for h in fields {
            let (Some(name), Some(value)) = (
                Span::within(head, h.name.as_bytes()),
                Span::within(head, h.value),
            ) else {
                self.fields.clear();
                return false;
            };
            self.fields.push(Field { name, value });
        }
        self.head.extend_from_slice(head);
        true
    }

    /// The stored bytes at `span` (empty if out of range, which spans made by
    /// [`Span::within`] for this head never are).
    pub(crate) fn bytes(&self, span: Span) -> &[u8] {
        self.head.get(span.start..span.end).unwrap_or_default()
    }

    /// The stored bytes at `span` as text (empty if not UTF-8; callers only pass spans they
    /// checked, or that `httparse` returned as `&str`).
    pub(crate) fn text(&self, span: Span) -> &str {
        core::str::from_utf8(self.bytes(span)).unwrap_or_default()
    }

    /// Every field as `(name, value)`, in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields
            .iter()
            .map(|f| (self.text(f.name), self.bytes(f.value)))
    }

    /// The value of the first field called `name` (any case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.get_all(name).next()
    }

    /// The values of every field called `name` (any case), in the order received.
    pub fn get_all<'h, 'n>(
        &'h self,
        name: &'n str,
    ) -> impl Iterator<Item = &'h [u8]> + use<'h, 'n> {
        self.named(name).map(|f| self.bytes(f.value))
    }

    /// The fields called `name` (any case). Names compare as bytes: they are tokens, so
    /// ASCII, and need no UTF-8 check.
    fn named<'h, 'n>(&'h self, name: &'n str) -> impl Iterator<Item = &'h Field> + use<'h, 'n> {
        self.fields
            .iter()
            .filter(move |f| self.bytes(f.name).eq_ignore_ascii_case(name.as_bytes()))
    }

    /// How many fields called `name` (any case) there are.
    pub(crate) fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// The value of the field called `name` if it occurs exactly once; `Err(n)` with the
    /// number of occurrences otherwise.
    pub(crate) fn single(&self, name: &str) -> Result<&[u8], usize> {
        let mut all = self.get_all(name);
        match (all.next(), all.next()) {
            (Some(value), None) => Ok(value),
            _ => Err(self.count(name)),
        }
    }

    /// Like [`single`](Self::single) but returns the span.
    pub(crate) fn single_span(&self, name: &str) -> Result<Span, usize> {
        let mut all = self.named(name);
        match (all.next(), all.next()) {
            (Some(field), None) => Ok(field.value),
            _ => Err(self.count(name)),
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields at all.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The raw head as received: start line and fields, up to and including the empty line.
    pub fn raw_head(&self) -> &[u8] {
        &self.head
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Escaped<'a>(&'a [u8]);
        impl fmt::Debug for Escaped<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "\"{}\"", self.0.escape_ascii())
            }
        }
        f.debug_list()
            .entries(self.iter().map(|(name, value)| (name, Escaped(value))))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn parsed(input: &[u8]) -> Headers {
        let mut fields = [httparse::EMPTY_HEADER; 8];
        let mut req = httparse::Request::new(&mut fields);
        let Ok(httparse::Status::Complete(len)) = req.parse(input) else {
            panic!("test input must be a complete head");
        };
        Headers::capture(input, len, req.headers).expect("fields lie in the head")
    }

    #[test]
    fn fields_are_kept_in_order_and_found_in_any_case() {
        let h = parsed(b"GET / HTTP/1.1\r\nA: 1\r\nb: 2\r\nA: 3\r\n\r\nrest");
        assert_eq!(h.len(), 3);
        assert_eq!(h.get("a"), Some(&b"1"[..]));
        assert_eq!(h.get_all("A").collect::<Vec<_>>(), [&b"1"[..], b"3"]);
        assert_eq!(h.single("B"), Ok(&b"2"[..]));
        assert_eq!(h.single("a"), Err(2));
        assert_eq!(h.single("c"), Err(0));
        assert_eq!(
            h.raw_head(),
            b"GET / HTTP/1.1\r\nA: 1\r\nb: 2\r\nA: 3\r\n\r\n"
        );
    }

    #[test]
    fn a_slice_outside_the_base_has_no_span() {
        let base = [0u8; 8];
        let other = [0u8; 8];
        assert_eq!(Span::within(&base, &other), None);
        assert_eq!(Span::within(&other, &base), None);
        assert_eq!(
            Span::within(&base, &base[2..5]),
            Some(Span { start: 2, end: 5 })
        );
    }

    #[test]
    fn debug_output_escapes_non_text_values() {
        let h = parsed(b"GET / HTTP/1.1\r\nX: a\xffb\r\n\r\n");
        assert_eq!(format!("{h:?}"), r#"[("X", "a\xffb")]"#);
    }
}
