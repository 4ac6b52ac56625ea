//! HTTP field syntax (RFC 9110 §5.6): tokens, comma-separated lists, field values.
//!
//! Everything works on bytes, since field values need not be UTF-8, and compares
//! case-insensitively where HTTP does.

/// A `tchar`: any visible ASCII character except delimiters.
fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// [`is_tchar`] as a table: checked for every byte of every field name a server writes.
static TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(c, b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'^'..=b'`' | b'|' | b'~');
        b += 1;
    }
    table
};

/// Whether `s` is a non-empty `token`.
pub(crate) fn is_token(s: &[u8]) -> bool {
    // A fold without early exit: one table lookup per byte, no branch per byte.
    !s.is_empty() && s.iter().fold(true, |ok, &b| ok & is_tchar(b))
}

/// `s` without leading and trailing spaces and tabs (optional whitespace, `OWS`).
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = s.iter().position(|b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !is_ows(b)).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

/// The non-empty elements of a comma-separated list value, trimmed (`#element`, which allows
/// empty elements such as in `a, , b`).
pub(crate) fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|item| !item.is_empty())
}

/// Whether any of `values` (one list each, as from repeated fields) holds `token`, compared
/// case-insensitively.
pub(crate) fn lists_contain<'a>(values: impl Iterator<Item = &'a [u8]>, token: &str) -> bool {
    values
        .flat_map(list_items)
        .any(|item| item.eq_ignore_ascii_case(token.as_bytes()))
}

/// Whether `s` may be written as a field value: no control characters but tab, and no
/// leading or trailing whitespace (a parser would strip it, so it would not round-trip).
pub(crate) fn is_field_value(s: &[u8]) -> bool {
    // Checked for every field of every response a server writes: a fold without early exit,
    // so no branch per byte.
    let bad = s.iter().fold(false, |bad, &b| {
        bad | ((b < 0x20) & (b != b'\t')) | (b == 0x7f)
    });
    let ows = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
    !bad && !ows(s.first()) && !ows(s.last())
}

/// Whether `s` is non-empty visible ASCII (no spaces): a `Host` value or a request target.
pub(crate) fn is_visible_ascii(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| (0x21..0x7f).contains(&b))
}

/// Whether `s` is printable ASCII, spaces allowed (an `Origin` may be a space-separated list).
pub(crate) fn is_printable_ascii(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| (0x20..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn tokens_are_non_empty_tchars() {
        assert!(is_token(b"chat.v2+json"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a,b"));
        assert!(!is_token("ü".as_bytes()));
    }

    #[test]
    fn the_tchars_are_letters_digits_and_the_fifteen_marks_of_rfc_9110() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_tchar(b), expected, "{b:#04x}");
        }
    }

    #[test]
    fn ows_trimming_removes_spaces_and_tabs_at_both_ends_only() {
        assert_eq!(trim_ows(b" \ta b\t "), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(trim_ows(b""), b"");
    }

    #[test]
    fn list_items_skip_empty_elements() {
        let items: Vec<&[u8]> = list_items(b" keep-alive ,, Upgrade ,").collect();
        assert_eq!(items, [&b"keep-alive"[..], b"Upgrade"]);
    }

    #[test]
    fn list_membership_is_case_insensitive_across_repeated_fields() {
        let fields: [&[u8]; 2] = [b"keep-alive", b"close, UPGRADE"];
        assert!(lists_contain(fields.into_iter(), "upgrade"));
        assert!(!lists_contain(fields.into_iter(), "websocket"));
        let partial: [&[u8]; 1] = [b"upgrades"];
        assert!(!lists_contain(partial.into_iter(), "upgrade"));
    }

    #[test]
    fn field_values_refuse_line_breaks_and_edge_whitespace() {
        assert!(is_field_value(b"a\tb c"));
        assert!(is_field_value(b""));
        assert!(!is_field_value(b"a\r\nInjected: yes"));
        assert!(!is_field_value(b"a\0"));
        assert!(!is_field_value(b" a"));
        assert!(!is_field_value(b"a\t"));
    }
}
