//! Responses: what a handler returns, and the head the server writes for it.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::fmt;

use crate::handshake::syntax::{is_field_value, is_token};

/// A response body a handler returns.
pub enum Body {
    /// Bytes in memory (a page compiled in, a short message).
    Bytes(Cow<'static, [u8]>),
    /// Exactly `len` bytes read from `source` as the peer takes them (a file): never held
    /// whole. A source that ends early or fails aborts the connection.
    #[cfg(feature = "std")]
    Reader {
        /// How many bytes the source gives (the `Content-Length`).
        len: u64,
        /// Where they come from.
        source: alloc::boxed::Box<dyn std::io::Read + Send>,
    },
}

impl Body {
    /// The body's length.
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(bytes) => bytes.len() as u64,
            #[cfg(feature = "std")]
            Body::Reader { len, .. } => *len,
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            #[cfg(feature = "std")]
            Body::Reader { len, .. } => write!(f, "Reader({len} bytes)"),
        }
    }
}

/// A handler's answer: status, header fields and body. The server adds the framing fields
/// (`Content-Length`, `Connection`) itself.
#[derive(Debug)]
pub struct Response {
    /// The status code (200, 404, ...); one outside `200..=599` is answered as 500.
    pub status: u16,
    /// Header fields besides the framing ones, in order.
    pub headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// The body (not sent for `HEAD` requests, nor for 204 and 304).
    pub body: Body,
}

impl Response {
    /// A response with `status`, no fields and an empty body.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Cow::Borrowed(&[])),
        }
    }

    /// `status` with a `text/plain` body.
    pub fn text(status: u16, text: impl Into<Cow<'static, str>>) -> Response {
        let body = match text.into() {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        };
        Response::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(Body::Bytes(body))
    }

    /// Adds a header field.
    pub fn header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Body) -> Response {
        self.body = body;
        self
    }
}

/// Whether a status never carries a body (RFC 9110 §6.4.1).
pub(crate) fn is_bodiless(status: u16) -> bool {
    status < 200 || status == 204 || status == 304
}

/// Whether `name` is a field the server writes itself.
pub(crate) fn is_framing_field(name: &str) -> bool {
    ["content-length", "transfer-encoding", "connection"]
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name))
}

/// Whether a field can be written as given: a token name that is no framing field and a
/// value without line breaks.
pub(crate) fn is_writable_field(name: &str, value: &str) -> bool {
    is_token(name.as_bytes()) && !is_framing_field(name) && is_field_value(value.as_bytes())
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutLength {
    /// `Content-Length`.
    Fixed(u64),
    /// `Transfer-Encoding: chunked` (HTTP/1.1 peers).
    Chunked,
    /// Until the connection closes (HTTP/1.0 peers, length unknown).
    UntilClose,
    /// No body at all (204, 304, 1xx).
    None,
}

/// The head of a response: status line, the `fields` (already `Name: value\r\n` lines),
/// framing and connection fields, the empty line.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    status: u16,
    fields: &[u8],
    length: OutLength,
    keep_alive: bool,
    http11: bool,
) {
    write_status_line(out, status);
    out.extend_from_slice(fields);
    write_framing(out, length, keep_alive, http11);
}

/// The status line of a head (a status outside `200..=599` and other than 101 as 500).
pub(crate) fn write_status_line(out: &mut Vec<u8>, status: u16) {
    let status = if (200..=599).contains(&status) || status == 101 {
        status
    } else {
        500
    };
    // Three digits from here on: the line is put together on the stack and appended in
    // two pieces, since it is written for every response.
    let mut line = *b"HTTP/1.1 000 ";
    for (at, unit) in [(9, 100), (10, 10), (11, 1)] {
        line[at] = b'0' + ((status / unit) % 10) as u8;
    }
    let reason = reason(status).as_bytes();
    out.reserve(line.len() + reason.len() + 2);
    out.extend_from_slice(&line);
    out.extend_from_slice(reason);
    out.extend_from_slice(b"\r\n");
}

/// The end of a head after its fields: framing and connection fields, the empty line.
pub(crate) fn write_framing(out: &mut Vec<u8>, length: OutLength, keep_alive: bool, http11: bool) {
    match length {
        OutLength::Fixed(n) => {
            out.extend_from_slice(b"Content-Length: ");
            push_decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
        OutLength::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        OutLength::UntilClose | OutLength::None => (),
    }
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if !http11 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends the fields of `headers` that can be written as `Name: value\r\n` lines; returns
/// whether all could.
pub(crate) fn push_fields(
    out: &mut Vec<u8>,
    headers: &[(Cow<'static, str>, Cow<'static, str>)],
) -> bool {
    let mut all = true;
    for (name, value) in headers {
        if is_writable_field(name, value) {
            push_field(out, name, value);
        } else {
            all = false;
        }
    }
    all
}

/// Appends one `Name: value\r\n` line.
pub(crate) fn push_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.reserve(name.len() + value.len() + 4);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The reason phrase for `status`: the common ones by name, others by class.
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        505 => "HTTP Version Not Supported",
        _ => crate::handshake::reason_phrase(status),
    }
}

/// Appends `n` in decimal.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The bodiless answer to a refused request, closing the connection.
pub(crate) fn refusal_head(out: &mut Vec<u8>, status: u16) {
    write_head(out, status, b"", OutLength::Fixed(0), false, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(length: OutLength, keep_alive: bool, http11: bool) -> alloc::string::String {
        let mut out = Vec::new();
        write_head(&mut out, 200, b"X: y\r\n", length, keep_alive, http11);
        alloc::string::String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_head_names_its_length_and_the_connections_fate() {
        assert_eq!(
            head(OutLength::Fixed(12), true, true),
            "HTTP/1.1 200 OK\r\nX: y\r\nContent-Length: 12\r\n\r\n"
        );
        assert_eq!(
            head(OutLength::Chunked, false, true),
            "HTTP/1.1 200 OK\r\nX: y\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            head(OutLength::Fixed(0), true, false),
            "HTTP/1.1 200 OK\r\nX: y\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn fields_with_line_breaks_or_framing_names_are_not_written() {
        let mut out = Vec::new();
        let fields = [
            (Cow::Borrowed("A"), Cow::Borrowed("1")),
            (Cow::Borrowed("B"), Cow::Borrowed("2\r\nInjected: yes")),
            (Cow::Borrowed("Content-Length"), Cow::Borrowed("5")),
            (Cow::Borrowed("C d"), Cow::Borrowed("3")),
        ];
        assert!(!push_fields(&mut out, &fields));
        assert_eq!(out, b"A: 1\r\n");
    }

    #[test]
    fn an_impossible_status_is_answered_as_500() {
        let mut out = Vec::new();
        write_head(&mut out, 42, b"", OutLength::None, true, true);
        assert!(out.starts_with(b"HTTP/1.1 500 "));
    }
}
