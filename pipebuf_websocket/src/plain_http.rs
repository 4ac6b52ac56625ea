//! A server's answer to a plain HTTP request (one that is not an upgrade): a page, a
//! redirect, an error, written by the component itself so that a stack needs no HTTP code of
//! its own.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// A plain HTTP request that arrived where a WebSocket upgrade was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlainRequest<'a> {
    /// The method (`GET`, `POST`, ...).
    pub method: &'a str,
    /// The request target: path and query.
    pub path: &'a str,
}

/// The answer to a [`PlainRequest`]; the connection closes after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The status code (200, 404, 426, ...).
    pub status: u16,
    /// The `Content-Type` of the body.
    pub content_type: &'static str,
    /// The body.
    pub body: Cow<'static, [u8]>,
}

impl HttpAnswer {
    /// A `text/plain` answer.
    pub fn text(status: u16, body: &'static str) -> HttpAnswer {
        HttpAnswer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Cow::Borrowed(body.as_bytes()),
        }
    }

    /// A `text/html` answer.
    pub fn html(body: &'static str) -> HttpAnswer {
        HttpAnswer {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: Cow::Borrowed(body.as_bytes()),
        }
    }

    /// `426 Upgrade Required`: this endpoint speaks WebSocket only.
    pub fn upgrade_required() -> HttpAnswer {
        HttpAnswer::text(426, "")
    }

    /// The whole response: status line, head fields (`Connection: close`; a 426 also names
    /// the protocol to upgrade to) and body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let status = if (100..=999).contains(&self.status) {
            self.status
        } else {
            500
        };
        let mut out = Vec::with_capacity(160 + self.body.len());
        let mut put = |bytes: &[u8]| out.extend_from_slice(bytes);
        put(b"HTTP/1.1 ");
        put(&[
            b'0' + (status / 100) as u8,
            b'0' + (status / 10 % 10) as u8,
            b'0' + (status % 10) as u8,
        ]);
        put(b" ");
        put(crate::handshake::reason_phrase(status).as_bytes());
        put(b"\r\n");
        if status == 426 {
            put(b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
        }
        put(b"Content-Type: ");
        put(self.content_type.as_bytes());
        put(b"\r\nContent-Length: ");
        let mut digits = [0u8; 20];
        let mut n = self.body.len();
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        put(&digits[at..]);
        put(b"\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
        put(&self.body);
        out
    }
}

/// A server's answer to plain HTTP requests (see
/// [`WebSocket::answer_plain_http`](crate::WebSocket::answer_plain_http)).
pub type HttpFn = Box<dyn FnMut(&PlainRequest<'_>) -> HttpAnswer + Send>;

/// Reads the method and target of the request head at the start of `data` (already known to
/// be complete and not an upgrade); `None` if they cannot be read.
pub(crate) fn parse_plain(data: &[u8]) -> Option<(&str, &str)> {
    let mut headers = [httparse::EMPTY_HEADER; 0];
    let mut request = httparse::Request::new(&mut headers);
    // Too many headers for the empty array is fine: the request line is parsed by then.
    let _ = request.parse(data);
    Some((request.method?, request.path?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_has_its_status_type_length_and_body() {
        let bytes = HttpAnswer::text(404, "nope").to_bytes();
        let text = core::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(text.contains("Content-Length: 4\r\n"));
        assert!(text.contains("Connection: close\r\n"));
        assert!(text.ends_with("\r\n\r\nnope"));
    }

    #[test]
    fn upgrade_required_names_the_protocol() {
        let bytes = HttpAnswer::upgrade_required().to_bytes();
        let text = core::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(text.contains("Upgrade: websocket\r\n"));
    }

    #[test]
    fn method_and_path_are_read_from_a_request_with_headers() {
        let head = b"GET /chat?room=a HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
        assert_eq!(parse_plain(head), Some(("GET", "/chat?room=a")));
        assert_eq!(parse_plain(b"\x16\x03garbage"), None);
    }
}
