//! Negotiating permessage-deflate (RFC 7692 §5, §7.1) in `Sec-WebSocket-Extensions`.
//!
//! The header holds a comma-separated list of extensions, each a token followed by
//! `; name` or `; name=value` parameters, the value a token or a quoted string (RFC 6455
//! §9.1); it may be split over several header fields. A client lists its offers in order of
//! preference; the server accepts at most one and answers with the parameters agreed.
//!
//! What our side can honour decides. The inflater (miniz_oxide) always keeps a 32 KiB
//! window, so it decodes any window the peer uses, and we never need to limit the peer's.
//! The compressor always uses a 32 KiB window too, so we cannot honour a limit below 15
//! bits on what *we* compress: a server declines an offer with `server_max_window_bits`
//! under 15, and a client never offers `client_max_window_bits` (which would allow the
//! server to impose a smaller window on us).

use alloc::string::String;
use alloc::vec::Vec;

use super::{Agreed, ContextTakeover, DeflateConfig};
use crate::handshake::syntax::{is_token, trim_ows};

/// The extension's registered name.
pub(crate) const EXTENSION: &str = "permessage-deflate";

/// One extension element of a `Sec-WebSocket-Extensions` list: its name and its
/// parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) params: Vec<(&'a [u8], Value<'a>)>,
}

/// A parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// `; name` alone.
    Absent,
    /// A token, or a quoted string's content.
    Given(&'a [u8]),
    /// A quoted string with an escape (`\`) in it: no permessage-deflate value needs
    /// one, so it is invalid wherever it appears.
    Escaped,
}

/// Parses every element of the list values in `fields` (one per header field), in order.
/// `None` if any of them breaks the list syntax.
pub(crate) fn parse_elements<'a>(
    fields: impl Iterator<Item = &'a [u8]>,
) -> Option<Vec<Element<'a>>> {
    let mut elements = Vec::new();
    for field in fields {
        for item in split_outside_quotes(field, b',')? {
            let item = trim_ows(item);
            if item.is_empty() {
                // `#element` lists allow empty elements (`a, , b`).
                continue;
            }
            elements.push(parse_element(item)?);
        }
    }
    Some(elements)
}

/// Splits `s` at each `sep` that is not inside a quoted string; `None` if a quoted string
/// does not end.
fn split_outside_quotes(s: &[u8], sep: u8) -> Option<Vec<&[u8]>> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &b) in s.iter().enumerate() {
        if quoted {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => quoted = false,
                _ => (),
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == sep {
            parts.push(s.get(start..i)?);
            start = i + 1;
        }
    }
    if quoted {
        return None;
    }
    parts.push(s.get(start..)?);
    Some(parts)
}

fn parse_element(item: &[u8]) -> Option<Element<'_>> {
    let mut pieces = split_outside_quotes(item, b';')?.into_iter().map(trim_ows);
    let name = pieces.next().filter(|n| is_token(n))?;
    let mut params = Vec::new();
    for piece in pieces {
        let (pname, value) = match piece.iter().position(|&b| b == b'=') {
            None => (piece, Value::Absent),
            Some(eq) => {
                let pname = trim_ows(piece.get(..eq)?);
                let raw = trim_ows(piece.get(eq + 1..)?);
                (pname, parse_value(raw)?)
            }
        };
        if !is_token(pname) {
            return None;
        }
        params.push((pname, value));
    }
    Some(Element { name, params })
}

/// A parameter value: a token or a quoted string; `None` if it is neither.
fn parse_value(raw: &[u8]) -> Option<Value<'_>> {
    match raw {
        [b'"', inner @ .., b'"'] => Some(if inner.contains(&b'\\') {
            Value::Escaped
        } else {
            Value::Given(inner)
        }),
        token if is_token(token) => Some(Value::Given(token)),
        _ => None,
    }
}

/// A window-bits value: a decimal integer 8 to 15 with no leading zero (RFC 7692 §7.1.2).
fn window_bits(value: &[u8]) -> Option<u8> {
    match value {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

/// The parameters of one permessage-deflate element, each at most once and with a valid
/// value; `None` if the element breaks a rule (unknown, repeated or badly valued
/// parameter). `max_window_bits` of `Some(None)` is the parameter without a value.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Option<Option<u8>>,
}

impl Params {
    /// `value_optional_client_bits`: whether `client_max_window_bits` may come without a
    /// value (in an offer it may, in a response it may not).
    fn parse(element: &Element<'_>, value_optional_client_bits: bool) -> Option<Params> {
        let mut p = Params::default();
        for (i, (name, value)) in element.params.iter().enumerate() {
            let repeated = element.params[..i]
                .iter()
                .any(|(earlier, _)| earlier.eq_ignore_ascii_case(name));
            if repeated {
                return None;
            }
            let value = match value {
                Value::Absent => None,
                Value::Given(v) => Some(*v),
                Value::Escaped => return None,
            };
            let is = |wanted: &str| name.eq_ignore_ascii_case(wanted.as_bytes());
            if is("server_no_context_takeover") && value.is_none() {
                p.server_no_context_takeover = true;
            } else if is("client_no_context_takeover") && value.is_none() {
                p.client_no_context_takeover = true;
            } else if is("server_max_window_bits") {
                p.server_max_window_bits = Some(window_bits(value?)?);
            } else if is("client_max_window_bits") {
                p.client_max_window_bits = Some(match value {
                    Some(v) => Some(window_bits(v)?),
                    None if value_optional_client_bits => None,
                    None => return None,
                });
            } else {
                return None;
            }
        }
        Some(p)
    }
}

fn is_deflate(element: &Element<'_>) -> bool {
    element.name.eq_ignore_ascii_case(EXTENSION.as_bytes())
}

/// Server: the first permessage-deflate offer in `fields` (the request's
/// `Sec-WebSocket-Extensions` values) that we can honour, and what we agree to.
///
/// Offers that break a rule of RFC 7692 §7.1 (unknown, repeated or badly valued
/// parameters) are declined, as §5 requires, and so are offers that limit our compressor's
/// window below 15 bits; the next offer is tried. A header whose list syntax is broken
/// makes every offer in it unusable: compression is declined, the handshake goes on.
pub(crate) fn server_accept<'a>(
    fields: impl Iterator<Item = &'a [u8]>,
    config: &DeflateConfig,
) -> Option<Agreed> {
    parse_elements(fields)?
        .iter()
        .filter(|e| is_deflate(e))
        .find_map(|offer| {
            let p = Params::parse(offer, true)?;
            if p.server_max_window_bits.is_some_and(|bits| bits < 15) {
                // Our compressor's window is always 32 KiB.
                return None;
            }
            Some(Agreed {
                server_no_context_takeover: p.server_no_context_takeover
                    || config.own_context == ContextTakeover::Reset,
                // (Offered, it is the client's hint that it resets anyway: saying so lets
                // our inflater go between messages.)
                client_no_context_takeover: p.client_no_context_takeover
                    || config.peer_context == ContextTakeover::Reset,
                server_max_window_bits: p.server_max_window_bits,
                // Our inflater takes any window: no need to limit the client's.
                client_max_window_bits: None,
            })
        })
}

/// Client: the offer to send, for `config`.
pub(crate) fn client_offer(config: &DeflateConfig) -> String {
    let mut offer = String::from(EXTENSION);
    if config.own_context == ContextTakeover::Reset {
        offer.push_str("; client_no_context_takeover");
    }
    if config.peer_context == ContextTakeover::Reset {
        offer.push_str("; server_no_context_takeover");
    }
    offer
}

/// Client: what the server's `Sec-WebSocket-Extensions` values accept of our one offer.
/// `Ok(None)` if there are none (compression declined); `Err(())` if the answer is not a
/// valid acceptance: broken syntax, more than one element or another extension, a
/// parameter that is unknown, repeated, badly valued, or `client_max_window_bits`, which
/// we never offer (RFC 7692 §5: the client must fail the connection then).
pub(crate) fn client_check<'a>(
    fields: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<Agreed>, ()> {
    let elements = parse_elements(fields).ok_or(())?;
    let element = match elements.as_slice() {
        [] => return Ok(None),
        [one] if is_deflate(one) => one,
        _ => return Err(()),
    };
    let p = Params::parse(element, false).ok_or(())?;
    if p.client_max_window_bits.is_some() {
        return Err(());
    }
    Ok(Some(Agreed {
        server_no_context_takeover: p.server_no_context_takeover,
        client_no_context_takeover: p.client_no_context_takeover,
        server_max_window_bits: p.server_max_window_bits,
        client_max_window_bits: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> DeflateConfig {
        DeflateConfig::default()
    }

    fn accept(header: &str) -> Option<Agreed> {
        server_accept([header.as_bytes()].into_iter(), &config())
    }

    fn plain() -> Agreed {
        Agreed {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
        }
    }

    #[test]
    fn a_bare_offer_is_accepted_with_no_parameters() {
        assert_eq!(accept("permessage-deflate"), Some(plain()));
        assert_eq!(plain().response(), "permessage-deflate");
    }

    #[test]
    fn the_browser_offer_with_client_max_window_bits_is_accepted_without_limiting_the_client() {
        let agreed = accept("permessage-deflate; client_max_window_bits");
        assert_eq!(agreed, Some(plain()));
        let agreed = accept("permessage-deflate; client_max_window_bits=10");
        assert_eq!(agreed, Some(plain()));
    }

    #[test]
    fn context_takeover_requests_are_honoured_and_echoed() {
        let agreed =
            accept("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
                .expect("accepted");
        assert!(agreed.server_no_context_takeover && agreed.client_no_context_takeover);
        assert_eq!(
            agreed.response(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
    }

    #[test]
    fn our_own_no_context_takeover_preferences_go_into_the_response_unasked() {
        let config = DeflateConfig {
            own_context: ContextTakeover::Reset,
            peer_context: ContextTakeover::Reset,
            ..DeflateConfig::default()
        };
        let agreed = server_accept([&b"permessage-deflate"[..]].into_iter(), &config);
        let agreed = agreed.expect("accepted");
        assert!(agreed.server_no_context_takeover && agreed.client_no_context_takeover);
    }

    #[test]
    fn a_server_window_of_15_bits_is_accepted_and_a_smaller_one_declined() {
        let agreed = accept("permessage-deflate; server_max_window_bits=15").expect("accepted");
        assert_eq!(agreed.server_max_window_bits, Some(15));
        assert_eq!(
            agreed.response(),
            "permessage-deflate; server_max_window_bits=15"
        );
        assert_eq!(
            accept("permessage-deflate; server_max_window_bits=10"),
            None
        );
    }

    #[test]
    fn the_first_offer_we_can_honour_wins() {
        let agreed = accept(
            "permessage-deflate; server_max_window_bits=10, \
             permessage-deflate; server_no_context_takeover, permessage-deflate",
        )
        .expect("the second offer");
        assert!(agreed.server_no_context_takeover);
    }

    #[test]
    fn offers_spread_over_several_fields_are_taken_in_order() {
        let fields: [&[u8]; 2] = [
            b"x-other; a=1",
            b"permessage-deflate; server_max_window_bits=\"15\"",
        ];
        let agreed = server_accept(fields.into_iter(), &config()).expect("accepted");
        assert_eq!(agreed.server_max_window_bits, Some(15));
    }

    #[test]
    fn invalid_offers_are_declined_and_the_next_one_tried() {
        for bad in [
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; unknown_parameter",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=015",
            "permessage-deflate; client_max_window_bits=0",
            "permessage-deflate; client_max_window_bits=\"1\\5\"",
        ] {
            assert_eq!(accept(bad), None, "{bad}");
            let with_fallback = alloc::format!("{bad}, permessage-deflate");
            assert_eq!(accept(&with_fallback), Some(plain()), "{with_fallback}");
        }
    }

    #[test]
    fn a_header_with_broken_syntax_declines_compression() {
        for broken in [
            "permessage-deflate; server_max_window_bits=\"15",
            "permessage-deflate; =15",
            "permessage deflate",
            "permessage-deflate; a b",
        ] {
            assert_eq!(accept(broken), None, "{broken}");
        }
    }

    #[test]
    fn other_extensions_are_ignored() {
        assert_eq!(accept("x-webkit-deflate-frame"), None);
        assert_eq!(accept(""), None);
    }

    #[test]
    fn the_client_offer_names_only_what_the_config_asks_for() {
        assert_eq!(client_offer(&config()), "permessage-deflate");
        let config = DeflateConfig {
            own_context: ContextTakeover::Reset,
            peer_context: ContextTakeover::Reset,
            ..DeflateConfig::default()
        };
        assert_eq!(
            client_offer(&config),
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover"
        );
    }

    fn check(header: &str) -> Result<Option<Agreed>, ()> {
        client_check([header.as_bytes()].into_iter())
    }

    #[test]
    fn the_client_takes_every_valid_response() {
        assert_eq!(check(""), Ok(None));
        assert_eq!(check("permessage-deflate"), Ok(Some(plain())));
        let agreed = check(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=9",
        )
        .expect("valid")
        .expect("agreed");
        assert!(agreed.server_no_context_takeover && agreed.client_no_context_takeover);
        assert_eq!(agreed.server_max_window_bits, Some(9));
    }

    #[test]
    fn the_client_refuses_responses_it_did_not_offer_or_that_break_a_rule() {
        for bad in [
            "permessage-deflate; client_max_window_bits=15",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=20",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; unknown",
            "permessage-deflate, permessage-deflate",
            "x-other",
            "permessage-deflate; \"",
        ] {
            assert_eq!(check(bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn window_bits_are_8_to_15_without_leading_zeros() {
        let valid: Vec<u8> = (0..=99u8)
            .filter_map(|n| window_bits(alloc::format!("{n}").as_bytes()))
            .collect();
        assert_eq!(valid, [8, 9, 10, 11, 12, 13, 14, 15]);
        assert_eq!(window_bits(b"08"), None);
        assert_eq!(window_bits(b""), None);
    }
}
