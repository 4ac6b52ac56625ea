//! The application side of an [`HttpServer`](super::HttpServer) in records mode: requests
//! and responses as records in an ordinary byte PipeBuf.
//!
//! Each record is a 5-byte header — one kind byte, then the payload length as a big-endian
//! `u32` — followed by the payload. Upwards (to the application) a request is a head record
//! (the request head as received: parse it with [`RequestHead::parse`], or let
//! [`read_request`] do it), then body records as the body arrives (decoded: no chunk
//! framing), then an end record. Downwards the application answers with a response head
//! ([`write_response_head`]: status, fields, and the body length if known), body records
//! ([`write_body`]) and an end record ([`write_end`]).
//!
//! The request body stops being delivered once the response's end record is read: the rest
//! of it is dropped. The buffer's own end of stream keeps its meaning for the whole
//! connection: the server closes it when the peer ends the connection between requests and
//! aborts it when the peer breaks off inside one; the application closes its side to end
//! the connection after the response in progress.

use pipebuf::{PBufRd, PBufWr};

use super::RequestHead;
use super::response::is_writable_field;

/// Length of a record's header.
pub const RECORD_HEADER_LEN: usize = 5;

/// Kind byte of a head record.
const KIND_HEAD: u8 = 1;
/// Kind byte of a body record.
const KIND_BODY: u8 = 2;
/// Kind byte of an end record.
const KIND_END: u8 = 3;

/// Length in a response head record that means "not known": the body goes chunked (or,
/// to an HTTP/1.0 client, until the connection closes).
const UNKNOWN_LENGTH: u64 = u64::MAX;

/// Why a record could not be written or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// Not enough room now; nothing was written. Try again once the server took some.
    Full,
    /// The buffer's stream has ended; nothing was written.
    Ended,
    /// A record of an unknown kind, or a head record that does not parse.
    BadRecord,
    /// A header field with a name that is no token, a value with a line break, or a field
    /// the server writes itself (`Content-Length`, `Transfer-Encoding`, `Connection`).
    BadField,
}

impl core::fmt::Display for RecordError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            RecordError::Full => "no room for the record now",
            RecordError::Ended => "the record stream has ended",
            RecordError::BadRecord => "invalid record",
            RecordError::BadField => "header field that cannot be written",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RecordError {}

/// One record, borrowed from the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Record<'a> {
    Head(&'a [u8]),
    Body(&'a [u8]),
    End,
}

/// The complete record at the start of `data` and its length, `Ok(None)` if none is complete.
pub(crate) fn parse_record(data: &[u8]) -> Result<Option<(Record<'_>, usize)>, RecordError> {
    let Some(&[kind, a, b, c, d]) = data.first_chunk::<RECORD_HEADER_LEN>() else {
        return Ok(None);
    };
    if !matches!(kind, KIND_HEAD | KIND_BODY | KIND_END) {
        return Err(RecordError::BadRecord);
    }
    let len = u32::from_be_bytes([a, b, c, d]) as usize;
    let Some(payload) = data.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + len) else {
        return Ok(None);
    };
    let record = match kind {
        KIND_HEAD => Record::Head(payload),
        KIND_BODY => Record::Body(payload),
        _ if len == 0 => Record::End,
        _ => return Err(RecordError::BadRecord),
    };
    Ok(Some((record, RECORD_HEADER_LEN + len)))
}

/// Writes one record whole, or nothing.
pub(crate) fn put_record(
    wr: &mut PBufWr<'_>,
    kind: u8,
    payload: &[&[u8]],
) -> Result<(), RecordError> {
    if wr.is_eof() {
        return Err(RecordError::Ended);
    }
    let len: usize = payload.iter().map(|p| p.len()).sum();
    let len32 = u32::try_from(len).map_err(|_| RecordError::Full)?;
    let space = wr
        .space(RECORD_HEADER_LEN + len)
        .map_err(|_| RecordError::Full)?;
    space[0] = kind;
    space[1..RECORD_HEADER_LEN].copy_from_slice(&len32.to_be_bytes());
    let mut at = RECORD_HEADER_LEN;
    for part in payload {
        space[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    wr.commit(at).map_err(|_| RecordError::Full)
}

/// Writes as much of `data` as fits as one body record; returns how much went (0 with no
/// room, or when `data` is empty).
pub(crate) fn put_body_some(wr: &mut PBufWr<'_>, data: &[u8]) -> Result<usize, RecordError> {
    if wr.is_eof() {
        return Err(RecordError::Ended);
    }
    let n = data
        .len()
        .min(wr.room().saturating_sub(RECORD_HEADER_LEN))
        .min(u32::MAX as usize);
    if n == 0 {
        return Ok(0);
    }
    put_record(wr, KIND_BODY, &[&data[..n]])?;
    Ok(n)
}

/// A request head record.
pub(crate) fn put_head(wr: &mut PBufWr<'_>, head: &[u8]) -> Result<(), RecordError> {
    put_record(wr, KIND_HEAD, &[head])
}

/// An end record.
pub(crate) fn put_end(wr: &mut PBufWr<'_>) -> Result<(), RecordError> {
    put_record(wr, KIND_END, &[])
}

/// A response head as the application wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResponseHeadRecord<'a> {
    pub(crate) status: u16,
    pub(crate) length: Option<u64>,
    /// `Name: value\r\n` lines.
    pub(crate) fields: &'a [u8],
}

/// Reads a response head record's payload.
pub(crate) fn parse_response_head(payload: &[u8]) -> Option<ResponseHeadRecord<'_>> {
    let (&[s0, s1], rest) = payload.split_first_chunk::<2>()?;
    let (&len, fields) = rest.split_first_chunk::<8>()?;
    let length = u64::from_be_bytes(len);
    Some(ResponseHeadRecord {
        status: u16::from_be_bytes([s0, s1]),
        length: (length != UNKNOWN_LENGTH).then_some(length),
        fields,
    })
}

/// What the application reads: a request head, a piece of its body, or its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A new request.
    Request(RequestHead),
    /// The next piece of the current request's body.
    Body(&'a [u8]),
    /// The current request's body is complete.
    End,
}

/// The next record in `rd`, and its length to consume once it is used; `Ok(None)` until one
/// is complete.
pub fn read_request<'a>(rd: &'a PBufRd<'_>) -> Result<Option<(Incoming<'a>, usize)>, RecordError> {
    let Some((record, len)) = parse_record(rd.data())? else {
        return Ok(None);
    };
    let incoming = match record {
        Record::Head(head) => {
            Incoming::Request(RequestHead::parse(head).ok_or(RecordError::BadRecord)?)
        }
        Record::Body(data) => Incoming::Body(data),
        Record::End => Incoming::End,
    };
    Ok(Some((incoming, len)))
}

/// Writes a response head: `status`, the header `fields` (the server adds `Content-Length`
/// or `Transfer-Encoding` and `Connection`), and the body's `length` if known (else it goes
/// chunked). Whole or nothing.
pub fn write_response_head(
    wr: &mut PBufWr<'_>,
    status: u16,
    fields: &[(&str, &str)],
    length: Option<u64>,
) -> Result<(), RecordError> {
    let mut lines = alloc::vec::Vec::new();
    for (name, value) in fields {
        if !is_writable_field(name, value) {
            return Err(RecordError::BadField);
        }
        super::response::push_field(&mut lines, name, value);
    }
    let length = match length {
        // (A body of 2^64 - 1 bytes is not a practical loss.)
        Some(n) => n.min(UNKNOWN_LENGTH - 1),
        None => UNKNOWN_LENGTH,
    };
    put_record(
        wr,
        KIND_HEAD,
        &[&status.to_be_bytes(), &length.to_be_bytes(), &lines],
    )
}

/// Writes as much of `data` as fits as one body record of the response; returns how many
/// bytes went (0 when the buffer is full: try again later).
pub fn write_body(wr: &mut PBufWr<'_>, data: &[u8]) -> Result<usize, RecordError> {
    put_body_some(wr, data)
}

/// Ends the response.
pub fn write_end(wr: &mut PBufWr<'_>) -> Result<(), RecordError> {
    put_end(wr)
}

#[cfg(test)]
mod tests {
    use pipebuf::PipeBuf;

    use super::*;

    #[test]
    fn a_response_head_record_round_trips() {
        let mut buf = PipeBuf::<u8>::new();
        write_response_head(&mut buf.wr(), 201, &[("X-A", "1")], Some(7)).unwrap();
        let Ok(Some((Record::Head(payload), len))) = parse_record(buf.data()) else {
            panic!()
        };
        assert_eq!(len, buf.data().len());
        let head = parse_response_head(payload).unwrap();
        assert_eq!(
            head,
            ResponseHeadRecord {
                status: 201,
                length: Some(7),
                fields: b"X-A: 1\r\n"
            }
        );
    }

    #[test]
    fn an_unknown_length_is_none_and_bad_fields_are_refused() {
        let mut buf = PipeBuf::<u8>::new();
        write_response_head(&mut buf.wr(), 200, &[], None).unwrap();
        let Ok(Some((Record::Head(payload), _))) = parse_record(buf.data()) else {
            panic!()
        };
        assert_eq!(parse_response_head(payload).unwrap().length, None);
        let mut wr = buf.wr();
        for field in [("Content-Length", "1"), ("A", "b\r\nC: d"), ("", "x")] {
            assert_eq!(
                write_response_head(&mut wr, 200, &[field], None),
                Err(RecordError::BadField)
            );
        }
    }

    #[test]
    fn a_body_record_shrinks_to_the_room_left() {
        let mut buf = PipeBuf::<u8>::with_limits(16, 16);
        assert_eq!(write_body(&mut buf.wr(), &[1; 40]).unwrap(), 11);
        assert_eq!(write_body(&mut buf.wr(), &[1; 40]).unwrap(), 0);
        assert_eq!(write_end(&mut buf.wr()), Err(RecordError::Full));
    }

    #[test]
    fn partial_records_wait_and_unknown_kinds_are_refused() {
        let mut buf = PipeBuf::<u8>::new();
        put_head(&mut buf.wr(), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let whole = buf.data().to_vec();
        for cut in 0..whole.len() {
            assert_eq!(parse_record(&whole[..cut]), Ok(None), "{cut}");
        }
        assert_eq!(parse_record(&[9, 0, 0, 0, 0]), Err(RecordError::BadRecord));
        assert_eq!(
            parse_record(&[KIND_END, 0, 0, 0, 1, 0]),
            Err(RecordError::BadRecord)
        );
    }
}
