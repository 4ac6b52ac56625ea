//! A RESP2 codec (the Redis protocol) for the request/response components of
//! [`pipebuf::reqresp`]: commands go out as arrays of bulk strings, replies are decoded in
//! place from the incoming buffer.
//!
//! ```
//! use pipebuf::PipeBuf;
//! use pipebuf::reqresp::{Decoder, Encoded, Encoder};
//! use pipebuf_examples::resp::{Command, CommandEncoder, Reply, ReplyDecoder};
//!
//! let mut out = PipeBuf::<u8>::new();
//! let set = Command::new([&b"SET"[..], b"k", b"v"]);
//! assert!(matches!(CommandEncoder.encode(&set, &mut out.wr()), Ok(Encoded::Written(_))));
//! assert_eq!(out.data(), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
//!
//! let mut decoder = ReplyDecoder::default();
//! let head = decoder.decode(b"$5\r\nhello\r\n+OK").unwrap().unwrap();
//! assert_eq!(head.message, Reply::Bulk(Some(b"hello")));
//! assert_eq!(head.len, 11); // "+OK" waits for its CRLF
//! ```
//!
//! The decoder never panics and never allocates more than its input justifies: lines, bulk
//! strings, arrays and nesting are bounded by [`Limits`], and anything that is not RESP2 is
//! a [`RespError`]. A reply split anywhere decodes as "need more input" until it is whole.
//! Each call parses from the start of the data, so a large array that arrives in many pieces
//! is parsed several times; the limits bound that work too.

use std::fmt;

use pipebuf::PBufWr;
use pipebuf::reqresp::{Body, Decoder, Encoded, Encoder, Head};

/// A command: its name and arguments, sent as a RESP array of bulk strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    args: Vec<Vec<u8>>,
}

impl Command {
    /// A command from its name and arguments, e.g. `[b"GET", b"key"]`.
    pub fn new<A: AsRef<[u8]>>(args: impl IntoIterator<Item = A>) -> Self {
        Command {
            args: args.into_iter().map(|a| a.as_ref().to_vec()).collect(),
        }
    }

    /// The name and arguments.
    pub fn args(&self) -> &[Vec<u8>] {
        &self.args
    }

    /// Bytes the encoded command takes.
    pub fn encoded_len(&self) -> usize {
        let head = 3 + decimal_len(self.args.len());
        self.args
            .iter()
            .map(|a| 5 + decimal_len(a.len()) + a.len())
            .fold(head, usize::saturating_add)
    }
}

/// Why a command cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A command needs at least its name.
    Empty,
    /// The command is larger than the output buffer can ever hold.
    TooLarge {
        /// Bytes the command takes.
        len: usize,
        /// The output buffer's limit.
        limit: usize,
    },
    /// The output buffer has ended (closed or aborted).
    Closed,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::Empty => f.write_str("a command needs at least its name"),
            EncodeError::TooLarge { len, limit } => {
                write!(
                    f,
                    "command of {len} bytes exceeds the buffer limit of {limit}"
                )
            }
            EncodeError::Closed => f.write_str("the output has ended"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Writes [`Command`]s as RESP arrays of bulk strings, whole or not at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommandEncoder;

impl Encoder for CommandEncoder {
    type Item = Command;
    type Error = EncodeError;

    fn encode(&mut self, item: &Command, wr: &mut PBufWr<'_>) -> Result<Encoded, EncodeError> {
        if item.args.is_empty() {
            return Err(EncodeError::Empty);
        }
        if wr.is_eof() {
            return Err(EncodeError::Closed);
        }
        let len = item.encoded_len();
        if len > wr.limit() {
            return Err(EncodeError::TooLarge {
                len,
                limit: wr.limit(),
            });
        }
        let Ok(space) = wr.space(len) else {
            return Ok(Encoded::Full);
        };
        let mut at = put_header(space, b'*', item.args.len());
        for arg in &item.args {
            at += put_header(&mut space[at..], b'$', arg.len());
            space[at..at + arg.len()].copy_from_slice(arg);
            at += arg.len();
            space[at..at + 2].copy_from_slice(b"\r\n");
            at += 2;
        }
        debug_assert_eq!(at, len);
        wr.commit(len).map_err(|_| EncodeError::Closed)?;
        Ok(Encoded::Written(Body::None))
    }
}

/// Digits of `v` in decimal.
fn decimal_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

/// Writes `{kind}{n}\r\n` at the start of `out` (which has room: see
/// [`Command::encoded_len`]) and returns its length.
fn put_header(out: &mut [u8], kind: u8, n: usize) -> usize {
    let digits = decimal_len(n);
    out[0] = kind;
    let mut v = n;
    for i in (1..=digits).rev() {
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out[digits + 1..digits + 3].copy_from_slice(b"\r\n");
    digits + 3
}

/// A decoded reply, borrowing its strings from the incoming buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'d> {
    /// `+text`: a status such as `OK`.
    Simple(&'d [u8]),
    /// `-text`: an error such as `ERR unknown command`.
    Error(&'d [u8]),
    /// `:n`: a signed 64-bit integer.
    Integer(i64),
    /// `$len` and that many bytes; `None` for the null bulk string (`$-1`).
    Bulk(Option<&'d [u8]>),
    /// `*count` and that many replies; `None` for the null array (`*-1`).
    Array(Option<Vec<Reply<'d>>>),
}

impl fmt::Display for Reply<'_> {
    /// Readable, in the style of `redis-cli`: `+OK`, `-ERR ..`, `:1`, `"text"` (non-ASCII
    /// bytes escaped), `(nil)`, `[..]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Simple(s) => write!(f, "+{}", s.escape_ascii()),
            Reply::Error(s) => write!(f, "-{}", s.escape_ascii()),
            Reply::Integer(n) => write!(f, ":{n}"),
            Reply::Bulk(Some(s)) => write!(f, "\"{}\"", s.escape_ascii()),
            Reply::Bulk(None) | Reply::Array(None) => f.write_str("(nil)"),
            Reply::Array(Some(items)) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Bounds on what the decoder accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line (simple string, error, integer or length), CRLF excluded.
    pub max_line: usize,
    /// Longest bulk string. Keep it below the incoming buffer's limit, or a reply that can
    /// never fit would stall the connection.
    pub max_bulk: usize,
    /// Most elements of one array.
    pub max_array: usize,
    /// Deepest nesting of arrays (1: arrays of scalars only; 0: no arrays at all). A null
    /// array counts as an array.
    pub max_depth: usize,
}

impl Default for Limits {
    /// Lines up to 1 KiB, bulk strings up to 64 KiB, arrays up to 4096 elements nested up to
    /// 8 deep.
    fn default() -> Self {
        Limits {
            max_line: 1024,
            max_bulk: 64 * 1024,
            max_array: 4096,
            max_depth: 8,
        }
    }
}

/// Why incoming data is not a valid RESP2 reply. The stream cannot be resynchronised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RespError {
    /// The first byte of a reply is not one of `+ - : $ *`.
    UnknownType(u8),
    /// A line is not terminated by CRLF (a lone CR or LF in it).
    BadLineEnd,
    /// A line is longer than [`Limits::max_line`].
    LineTooLong {
        /// The limit.
        max: usize,
    },
    /// An integer or length is not a decimal number, or does not fit in 64 bits.
    BadNumber,
    /// A length below -1.
    NegativeLength(i64),
    /// A bulk string longer than [`Limits::max_bulk`].
    BulkTooLong {
        /// Its announced length.
        len: i64,
        /// The limit.
        max: usize,
    },
    /// A bulk string not followed by CRLF.
    BadBulkEnd,
    /// An array with more elements than [`Limits::max_array`].
    ArrayTooLong {
        /// Its announced count.
        len: i64,
        /// The limit.
        max: usize,
    },
    /// Arrays nested deeper than [`Limits::max_depth`].
    TooDeep {
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for RespError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RespError::UnknownType(b) => write!(f, "unknown reply type byte 0x{b:02x}"),
            RespError::BadLineEnd => f.write_str("line not terminated by CRLF"),
            RespError::LineTooLong { max } => write!(f, "line longer than {max} bytes"),
            RespError::BadNumber => f.write_str("not a 64-bit decimal number"),
            RespError::NegativeLength(n) => write!(f, "invalid length {n}"),
            RespError::BulkTooLong { len, max } => {
                write!(f, "bulk string of {len} bytes exceeds the limit of {max}")
            }
            RespError::BadBulkEnd => f.write_str("bulk string not followed by CRLF"),
            RespError::ArrayTooLong { len, max } => {
                write!(f, "array of {len} elements exceeds the limit of {max}")
            }
            RespError::TooDeep { max } => write!(f, "arrays nested deeper than {max}"),
        }
    }
}

impl std::error::Error for RespError {}

/// Decodes RESP2 replies in place, within [`Limits`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplyDecoder {
    limits: Limits,
}

impl ReplyDecoder {
    /// A decoder with these limits.
    pub fn new(limits: Limits) -> Self {
        ReplyDecoder { limits }
    }

    /// The reply at the start of `data` and the bytes it spans, or `None` if it is not
    /// complete yet.
    pub fn decode_reply<'d>(
        &self,
        data: &'d [u8],
    ) -> Result<Option<(Reply<'d>, usize)>, RespError> {
        self.parse(data, 0, 0)
    }

    /// The line starting at `at` (without CRLF) and the offset after its CRLF.
    fn line<'d>(&self, data: &'d [u8], at: usize) -> Result<Option<(&'d [u8], usize)>, RespError> {
        let rest = data.get(at..).unwrap_or_default();
        // A line of max_line bytes plus its CRLF.
        let window = &rest[..rest.len().min(self.limits.max_line.saturating_add(2))];
        match window.iter().position(|&b| b == b'\r' || b == b'\n') {
            // Too long whatever ends it: the verdict a shorter arrival already gave.
            Some(i) if i > self.limits.max_line => Err(RespError::LineTooLong {
                max: self.limits.max_line,
            }),
            Some(i) => {
                if window[i] == b'\n' {
                    return Err(RespError::BadLineEnd);
                }
                match window.get(i + 1) {
                    Some(b'\n') => Ok(Some((&rest[..i], at + i + 2))),
                    Some(_) => Err(RespError::BadLineEnd),
                    None => Ok(None),
                }
            }
            None if window.len() > self.limits.max_line => Err(RespError::LineTooLong {
                max: self.limits.max_line,
            }),
            None => Ok(None),
        }
    }

    fn parse<'d>(
        &self,
        data: &'d [u8],
        at: usize,
        depth: usize,
    ) -> Result<Option<(Reply<'d>, usize)>, RespError> {
        let Some(&kind) = data.get(at) else {
            return Ok(None);
        };
        if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
            return Err(RespError::UnknownType(kind));
        }
        let Some((line, next)) = self.line(data, at + 1)? else {
            return Ok(None);
        };
        match kind {
            b'+' => Ok(Some((Reply::Simple(line), next))),
            b'-' => Ok(Some((Reply::Error(line), next))),
            b':' => Ok(Some((Reply::Integer(parse_i64(line)?), next))),
            b'$' => {
                let len = parse_i64(line)?;
                if len == -1 {
                    return Ok(Some((Reply::Bulk(None), next)));
                }
                let n = self.length(len, self.limits.max_bulk, |len, max| {
                    RespError::BulkTooLong { len, max }
                })?;
                let end = next + n;
                let Some(tail) = data.get(end..end + 2) else {
                    return Ok(None);
                };
                if tail != b"\r\n" {
                    return Err(RespError::BadBulkEnd);
                }
                Ok(Some((Reply::Bulk(Some(&data[next..end])), end + 2)))
            }
            _ => {
                // This array is nesting level depth + 1.
                if depth >= self.limits.max_depth {
                    return Err(RespError::TooDeep {
                        max: self.limits.max_depth,
                    });
                }
                let count = parse_i64(line)?;
                if count == -1 {
                    return Ok(Some((Reply::Array(None), next)));
                }
                let n = self.length(count, self.limits.max_array, |len, max| {
                    RespError::ArrayTooLong { len, max }
                })?;
                let mut items = Vec::with_capacity(n.min(64));
                let mut pos = next;
                for _ in 0..n {
                    let Some((item, after)) = self.parse(data, pos, depth + 1)? else {
                        return Ok(None);
                    };
                    items.push(item);
                    pos = after;
                }
                Ok(Some((Reply::Array(Some(items)), pos)))
            }
        }
    }

    /// A non-negative length within `max`.
    fn length(
        &self,
        len: i64,
        max: usize,
        too_long: impl Fn(i64, usize) -> RespError,
    ) -> Result<usize, RespError> {
        if len < 0 {
            return Err(RespError::NegativeLength(len));
        }
        match usize::try_from(len) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(too_long(len, max)),
        }
    }
}

/// A decimal `i64` with an optional minus sign and at least one digit.
fn parse_i64(text: &[u8]) -> Result<i64, RespError> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return Err(RespError::BadNumber);
    }
    let mut value: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(RespError::BadNumber);
        }
        let digit = i64::from(d - b'0');
        // Accumulate negatively so that i64::MIN parses too.
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_sub(digit))
            .ok_or(RespError::BadNumber)?;
    }
    if negative {
        Ok(value)
    } else {
        value.checked_neg().ok_or(RespError::BadNumber)
    }
}

impl Decoder for ReplyDecoder {
    type Item<'d> = Reply<'d>;
    type Error = RespError;

    fn decode<'d>(&mut self, data: &'d [u8]) -> Result<Option<Head<Reply<'d>>>, RespError> {
        Ok(self.decode_reply(data)?.map(|(message, len)| Head {
            message,
            len,
            body: Body::None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipebuf::PipeBuf;

    fn decode(data: &[u8]) -> Result<Option<(Reply<'_>, usize)>, RespError> {
        ReplyDecoder::default().decode_reply(data)
    }

    /// Sample replies and what they decode to.
    fn samples() -> Vec<(&'static [u8], Reply<'static>)> {
        vec![
            (b"+OK\r\n", Reply::Simple(b"OK")),
            (b"+\r\n", Reply::Simple(b"")),
            (b"-ERR wrong type\r\n", Reply::Error(b"ERR wrong type")),
            (b":0\r\n", Reply::Integer(0)),
            (b":-42\r\n", Reply::Integer(-42)),
            (b":9223372036854775807\r\n", Reply::Integer(i64::MAX)),
            (b":-9223372036854775808\r\n", Reply::Integer(i64::MIN)),
            (b"$5\r\nhello\r\n", Reply::Bulk(Some(b"hello"))),
            (b"$0\r\n\r\n", Reply::Bulk(Some(b""))),
            (b"$4\r\na\r\nb\r\n", Reply::Bulk(Some(b"a\r\nb"))),
            (b"$-1\r\n", Reply::Bulk(None)),
            (b"*-1\r\n", Reply::Array(None)),
            (b"*0\r\n", Reply::Array(Some(vec![]))),
            (
                b"*3\r\n:1\r\n$3\r\nfoo\r\n$-1\r\n",
                Reply::Array(Some(vec![
                    Reply::Integer(1),
                    Reply::Bulk(Some(b"foo")),
                    Reply::Bulk(None),
                ])),
            ),
            (
                b"*2\r\n*2\r\n+a\r\n-b\r\n*1\r\n*-1\r\n",
                Reply::Array(Some(vec![
                    Reply::Array(Some(vec![Reply::Simple(b"a"), Reply::Error(b"b")])),
                    Reply::Array(Some(vec![Reply::Array(None)])),
                ])),
            ),
        ]
    }

    #[test]
    fn every_sample_reply_decodes_whole_and_leaves_what_follows() {
        for (bytes, expected) in samples() {
            let mut data = bytes.to_vec();
            data.extend_from_slice(b"+NEXT\r\n");
            let (reply, len) = decode(&data).unwrap().unwrap();
            assert_eq!(reply, expected, "{:?}", String::from_utf8_lossy(bytes));
            assert_eq!(len, bytes.len());
            let (next, _) = decode(&data[len..]).unwrap().unwrap();
            assert_eq!(next, Reply::Simple(b"NEXT"));
        }
    }

    #[test]
    fn every_split_point_of_every_sample_needs_more_input() {
        for (bytes, _) in samples() {
            for split in 0..bytes.len() {
                assert_eq!(
                    decode(&bytes[..split]),
                    Ok(None),
                    "{:?} cut at {split}",
                    String::from_utf8_lossy(bytes)
                );
            }
        }
    }

    #[test]
    fn a_pipeline_of_replies_decodes_one_by_one_at_any_arrival_pattern() {
        let all: Vec<u8> = samples().iter().flat_map(|(b, _)| b.to_vec()).collect();
        let expected: Vec<Reply<'_>> = samples().into_iter().map(|(_, r)| r).collect();
        for step in [1, 2, 3, 7, 64] {
            let mut buf = PipeBuf::<u8>::new();
            let mut got = Vec::new();
            for chunk in all.chunks(step) {
                buf.wr().append(chunk).unwrap();
                let mut rd = buf.rd();
                while let Some((reply, len)) = decode(rd.data()).unwrap() {
                    got.push(format!("{reply:?}"));
                    rd.consume(len).unwrap();
                }
            }
            let want: Vec<String> = expected.iter().map(|r| format!("{r:?}")).collect();
            assert_eq!(got, want, "step {step}");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn malformed_replies_are_errors() {
        let cases: &[(&[u8], RespError)] = &[
            (b"?x\r\n", RespError::UnknownType(b'?')),
            (b"\r\n", RespError::UnknownType(b'\r')),
            (b"+OK\n", RespError::BadLineEnd),
            (b"+O\rK\r\n", RespError::BadLineEnd),
            (b":12a\r\n", RespError::BadNumber),
            (b":\r\n", RespError::BadNumber),
            (b":-\r\n", RespError::BadNumber),
            (b":+1\r\n", RespError::BadNumber),
            (b":9223372036854775808\r\n", RespError::BadNumber),
            (b"$-2\r\n", RespError::NegativeLength(-2)),
            (b"*-5\r\n", RespError::NegativeLength(-5)),
            (b"$3\r\nabcX\r\n", RespError::BadBulkEnd),
            (b"$3\r\nabc\n\r", RespError::BadBulkEnd),
            (b"*2\r\n:1\r\n!\r\n", RespError::UnknownType(b'!')),
        ];
        for (bytes, err) in cases {
            assert_eq!(
                decode(bytes),
                Err(*err),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn limits_refuse_long_lines_bulks_arrays_and_deep_nesting_early() {
        let decoder = ReplyDecoder::new(Limits {
            max_line: 8,
            max_bulk: 4,
            max_array: 2,
            max_depth: 2,
        });
        // A line at the limit is fine; one byte more fails before its CRLF arrives.
        assert!(decoder.decode_reply(b"+12345678\r\n").unwrap().is_some());
        assert_eq!(decoder.decode_reply(b"+12345678"), Ok(None));
        assert_eq!(
            decoder.decode_reply(b"+123456789"),
            Err(RespError::LineTooLong { max: 8 })
        );
        assert_eq!(
            decoder.decode_reply(b"+123456789\r"),
            Err(RespError::LineTooLong { max: 8 })
        );
        // Announced lengths fail before the data arrives.
        assert!(decoder.decode_reply(b"$4\r\nabcd\r\n").unwrap().is_some());
        assert_eq!(
            decoder.decode_reply(b"$5\r\n"),
            Err(RespError::BulkTooLong { len: 5, max: 4 })
        );
        assert_eq!(
            decoder.decode_reply(b"$9223372036854775807\r\n"),
            Err(RespError::LineTooLong { max: 8 })
        );
        assert_eq!(
            decoder.decode_reply(b"*3\r\n"),
            Err(RespError::ArrayTooLong { len: 3, max: 2 })
        );
        assert!(
            decoder
                .decode_reply(b"*1\r\n*1\r\n:1\r\n")
                .unwrap()
                .is_some()
        );
        assert_eq!(
            decoder.decode_reply(b"*1\r\n*1\r\n*0\r\n"),
            Err(RespError::TooDeep { max: 2 })
        );
        let wide = ReplyDecoder::new(Limits {
            max_line: 32,
            ..Limits::default()
        });
        assert_eq!(
            wide.decode_reply(b"$99999999999\r\n"),
            Err(RespError::BulkTooLong {
                len: 99_999_999_999,
                max: 64 * 1024
            })
        );
    }

    #[test]
    fn an_overlong_line_is_too_long_however_its_bytes_arrive() {
        // Found by the codecs fuzz target: a line over the limit ended by a bare LF was
        // BadLineEnd when it arrived whole but LineTooLong when its start arrived first.
        let decoder = ReplyDecoder::new(Limits {
            max_line: 1,
            ..Limits::default()
        });
        for whole in [&b"+ab\n"[..], b"+ab\r", b"+ab\rx", b"+abc"] {
            for cut in 3..=whole.len() {
                assert_eq!(
                    decoder.decode_reply(&whole[..cut]),
                    Err(RespError::LineTooLong { max: 1 }),
                    "{:?} cut at {cut}",
                    whole.escape_ascii().to_string()
                );
            }
        }
        assert_eq!(decoder.decode_reply(b"+a\n"), Err(RespError::BadLineEnd));
        assert_eq!(decoder.decode_reply(b"+\rx"), Err(RespError::BadLineEnd));
        assert_eq!(decoder.decode_reply(b"+a\r"), Ok(None));
    }

    #[test]
    fn deeply_nested_garbage_is_refused_without_recursing_far() {
        let data = b"*1\r\n".repeat(100_000);
        assert_eq!(decode(&data), Err(RespError::TooDeep { max: 8 }));
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"+-:$*\r\n0123456789-ab";
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 == 0 {
                        r as u8
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            if let Ok(Some((_, n))) = decode(&data) {
                assert!(n <= data.len());
            }
        }
    }

    #[test]
    fn replies_display_like_redis_cli() {
        let (reply, _) = decode(b"*4\r\n+OK\r\n:-1\r\n$2\r\na\xff\r\n*-1\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(reply.to_string(), r#"[+OK, :-1, "a\xff", (nil)]"#);
    }

    #[test]
    fn commands_encode_as_arrays_of_bulk_strings() {
        let mut pb = PipeBuf::<u8>::new();
        let cmd = Command::new(["GET", "key:1234567890"]);
        assert_eq!(
            CommandEncoder.encode(&cmd, &mut pb.wr()),
            Ok(Encoded::Written(Body::None))
        );
        assert_eq!(pb.data(), b"*2\r\n$3\r\nGET\r\n$14\r\nkey:1234567890\r\n");
        assert_eq!(cmd.encoded_len(), pb.len());
        let empty_arg = Command::new(["ECHO", ""]);
        let mut pb = PipeBuf::<u8>::new();
        CommandEncoder.encode(&empty_arg, &mut pb.wr()).unwrap();
        assert_eq!(pb.data(), b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
    }

    #[test]
    fn a_command_that_does_not_fit_now_is_refused_whole() {
        let mut pb = PipeBuf::<u8>::with_limits(16, 32);
        pb.wr().append(&[b'x'; 20]).unwrap();
        let cmd = Command::new(["SET", "k", "v"]);
        assert_eq!(CommandEncoder.encode(&cmd, &mut pb.wr()), Ok(Encoded::Full));
        assert_eq!(pb.len(), 20);
        let huge = Command::new(["SET", "k", "0123456789012345678901234567890123456789"]);
        assert!(matches!(
            CommandEncoder.encode(&huge, &mut pb.wr()),
            Err(EncodeError::TooLarge { .. })
        ));
        assert_eq!(
            CommandEncoder.encode(&Command::new(Vec::<&[u8]>::new()), &mut pb.wr()),
            Err(EncodeError::Empty)
        );
        pb.wr().close();
        assert_eq!(
            CommandEncoder.encode(&cmd, &mut pb.wr()),
            Err(EncodeError::Closed)
        );
    }
}
