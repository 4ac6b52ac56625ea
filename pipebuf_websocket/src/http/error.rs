//! Why the HTTP server refused a request or ended a connection.

use core::fmt;

/// A request the server refused; [`status`](Self::status) is what it answered with before
/// closing the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Not HTTP/1.x syntax, a field folded over lines (obs-fold), a bare LF, or an HTTP/1.1
    /// request without exactly one `Host` (400).
    Malformed,
    /// The head grew past [`HttpConfig::max_head_len`](super::HttpConfig::max_head_len)
    /// without ending, or (records mode) its head record is larger than the application's
    /// record buffer can ever hold (431).
    HeadTooLarge,
    /// More header fields than [`HttpConfig::max_headers`](super::HttpConfig::max_headers)
    /// (431).
    TooManyHeaders,
    /// The body is longer than [`HttpConfig::max_body`](super::HttpConfig::max_body) (413).
    BodyTooLarge,
    /// The body's length is ambiguous, the shape of request smuggling: `Content-Length` with
    /// `Transfer-Encoding`, `Content-Length`s that differ or are no number, `chunked` not
    /// last or twice, `Transfer-Encoding` in HTTP/1.0 (400).
    AmbiguousLength,
    /// A chunk-size line that is no hexadecimal number, overflows, or lacks its CRLF; a chunk
    /// not followed by CRLF; a trailer section that is malformed or too long (400).
    BadChunk,
    /// A transfer coding other than `chunked` (501).
    UnsupportedCoding,
    /// An `Expect` other than `100-continue` (417).
    UnsupportedExpectation,
    /// The peer went silent in the middle of a request head (408).
    Timeout,
}

impl Refusal {
    /// The HTTP status answered.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed | Self::AmbiguousLength | Self::BadChunk => 400,
            Self::HeadTooLarge | Self::TooManyHeaders => 431,
            Self::BodyTooLarge => 413,
            Self::UnsupportedCoding => 501,
            Self::UnsupportedExpectation => 417,
            Self::Timeout => 408,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::Malformed => "malformed request head",
            Self::HeadTooLarge => "request head too large",
            Self::TooManyHeaders => "too many request header fields",
            Self::BodyTooLarge => "request body too large",
            Self::AmbiguousLength => "ambiguous request body length",
            Self::BadChunk => "malformed chunked body",
            Self::UnsupportedCoding => "unsupported transfer coding",
            Self::UnsupportedExpectation => "unsupported expectation",
            Self::Timeout => "request head not completed in time",
        };
        write!(f, "{what} ({})", self.status())
    }
}

/// Why an [`HttpServer`](super::HttpServer) ended a connection with an error. The buffers
/// are in their final state: a refusal was answered and the byte side closed, any other
/// error aborted the byte side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// The peer's request broke a rule; the answer went out with `Connection: close`.
    Refused(Refusal),
    /// The application's records are not a response: a body before the head, an unknown
    /// record kind, or a head that does not parse.
    BadRecord,
    /// The application's response body did not match the length its head announced.
    ResponseLength,
    /// The handler's body reader failed.
    BodySource,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(refusal) => write!(f, "request refused: {refusal}"),
            Self::BadRecord => f.write_str("the application wrote an invalid response record"),
            Self::ResponseLength => {
                f.write_str("the response body does not match its Content-Length")
            }
            Self::BodySource => f.write_str("reading the response body failed"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HttpError {}

#[cfg(feature = "std")]
impl std::error::Error for Refusal {}
