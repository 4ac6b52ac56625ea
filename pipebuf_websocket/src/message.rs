//! The application side of a [`WebSocket`](crate::WebSocket): messages as a stream of chunk
//! records in an ordinary byte PipeBuf.
//!
//! Each record is a 5-byte header — one flags byte, then the chunk length as a big-endian
//! `u32` — followed by that many bytes of message data. The flags say whether the message
//! is text or binary and whether this chunk is the message's last ([`Chunk::fin`]). A small
//! message is usually one record; a large one arrives as many records as its frames arrive,
//! so it is never buffered whole. The buffer's own end of stream keeps its meaning for the
//! whole connection: close is the clean close handshake, abort a broken connection.
//!
//! Sending uses the same records: [`write_message`] for a whole message, or
//! [`write_chunk`] repeatedly with `fin` on the last chunk to stream one, or
//! [`write_chunk_some`] repeatedly to stream one as fast as the buffer takes it. Two control
//! records go the same way, between messages: [`write_ping`] (the WebSocket sends a ping)
//! and [`write_close`] (the close frame's code and reason; the close handshake starts and
//! nothing after the record is sent). [`Messages`](crate::Messages) wraps all of this.
//!
//! A record of 1 KiB or more written into an empty buffer starts a few bytes in, so that a
//! server's WebSocket can turn its header into the frame header where it lies and hand the
//! whole storage to the socket side: a large message is sent without its payload being
//! copied. Received large frames come the same way, so an echo or a relay of large
//! messages touches each payload once (to unmask it).

use pipebuf::{PBufRd, PBufWr};

/// Length of a chunk record's header.
pub const CHUNK_HEADER_LEN: usize = 5;

/// Chunks of at least this many bytes that start an empty buffer are written with
/// [`RECORD_HEADROOM`] in front, and the sender frames them without copying their data
/// (see [`PBufRd::hand_over_with_head`](pipebuf::PBufRd::hand_over_with_head)). Smaller
/// ones are cheaper to copy than to hand over.
pub(crate) const HAND_OVER_MIN: usize = 1024;

/// Room in front of a record that lets its header become the header of any frame in place.
pub(crate) const RECORD_HEADROOM: usize = crate::frame::MAX_HEADER_LEN - CHUNK_HEADER_LEN;

/// Space for a record of `total` bytes (header included) whose data is `data_len` bytes:
/// with headroom when the data is large enough to be handed over whole.
pub(crate) fn record_space<'w>(
    wr: &'w mut PBufWr<'_>,
    total: usize,
    data_len: usize,
) -> Result<&'w mut [u8], pipebuf::Error> {
    if data_len >= HAND_OVER_MIN {
        wr.space_with_headroom(RECORD_HEADROOM, total)
    } else {
        wr.space(total)
    }
}

/// Flag bit: the message is binary (clear: text).
const FLAG_BINARY: u8 = 0x01;
/// Flag bit: the last chunk of its message.
const FLAG_FIN: u8 = 0x02;
/// Flags of a ping record (outgoing only): the data is the ping's payload.
const FLAGS_PING: u8 = 0x04;
/// Flags of a close record (outgoing only): the data is a close frame's payload (code, then
/// reason).
const FLAGS_CLOSE: u8 = 0x08;
/// Flag bit (outgoing only, read on a message's first record): send the message
/// uncompressed ([`Compression::Never`]).
const FLAG_UNCOMPRESSED: u8 = 0x10;

/// Whether an outgoing message may be compressed (permessage-deflate, when the connection
/// negotiated it; without, every message goes uncompressed anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Compressed if the connection negotiated permessage-deflate, unless it is one record
    /// shorter than the configured threshold.
    #[default]
    Auto,
    /// Sent as it is: for data that is already compressed or encrypted, or so small or
    /// latency-bound that compressing it does not pay.
    Never,
}

/// Text or binary: the type a message was sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (checked on receipt).
    Text,
    /// Arbitrary bytes.
    Binary,
}

/// One chunk record, borrowed from the buffer it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// The message's type (the same on every chunk of a message).
    pub kind: MessageKind,
    /// This chunk ends its message.
    pub fin: bool,
    /// The chunk's data.
    pub data: &'a [u8],
    /// Bytes the record takes in the buffer (header included): what to consume.
    pub record_len: usize,
}

/// Why a record could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkError {
    /// Not enough room below the buffer's limit now (nothing was written); try again after
    /// the WebSocket took some, or stream the message in smaller chunks.
    Full,
    /// The buffer's stream already ended (nothing was written).
    Ended,
    /// A chunk of 4 GiB or more cannot be one record.
    TooLong,
    /// A record header has a flag bit this version does not know.
    BadRecord,
    /// The stream ended in the middle of a record.
    Truncated,
    /// A chunk's kind differs from the kind of the message it continues.
    KindChanged,
}

impl core::fmt::Display for ChunkError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ChunkError::Full => "no room for the chunk record now",
            ChunkError::Ended => "the message stream has ended",
            ChunkError::TooLong => "chunk of 4 GiB or more",
            ChunkError::BadRecord => "chunk record with unknown flags",
            ChunkError::Truncated => "the stream ended inside a chunk record",
            ChunkError::KindChanged => "a chunk changes the type of its message",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ChunkError {}

/// A control record the application wrote between its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ControlRecord<'a> {
    /// Send a ping with this payload.
    Ping(&'a [u8]),
    /// Start the close handshake with this close-frame payload.
    Close(&'a [u8]),
}

/// The control record at the start of `data`: `Ok(None)` if the data does not start with
/// one (a chunk record, or nothing complete yet); its length in the buffer with it.
pub(crate) fn parse_control_record(data: &[u8]) -> Option<(ControlRecord<'_>, usize)> {
    let &[flags, a, b, c, d] = data.first_chunk::<CHUNK_HEADER_LEN>()?;
    if flags != FLAGS_PING && flags != FLAGS_CLOSE {
        return None;
    }
    let len = u32::from_be_bytes([a, b, c, d]) as usize;
    let body = data.get(CHUNK_HEADER_LEN..CHUNK_HEADER_LEN.checked_add(len)?)?;
    let record = if flags == FLAGS_PING {
        ControlRecord::Ping(body)
    } else {
        ControlRecord::Close(body)
    };
    Some((record, CHUNK_HEADER_LEN + len))
}

/// Whether `data` starts with the header of a control record (complete or not).
pub(crate) fn starts_with_control(data: &[u8]) -> bool {
    matches!(data.first(), Some(&(FLAGS_PING | FLAGS_CLOSE)))
}

/// Writes a record with raw `flags`; all or nothing. The data is copied once, straight
/// into the buffer's free space.
fn write_record(wr: &mut PBufWr<'_>, flags: u8, data: &[u8]) -> Result<(), ChunkError> {
    if wr.is_eof() {
        return Err(ChunkError::Ended);
    }
    let len = u32::try_from(data.len()).map_err(|_| ChunkError::TooLong)?;
    let total = CHUNK_HEADER_LEN + data.len();
    // (Checked before `space`, which would refuse too, but only after compacting the buffer
    // and growing it to its limit.)
    if total > wr.room() {
        return Err(ChunkError::Full);
    }
    let space = record_space(wr, total, data.len()).map_err(|_| ChunkError::Full)?;
    let (head, body) = space.split_at_mut(CHUNK_HEADER_LEN);
    let [a, b, c, d] = len.to_be_bytes();
    head.copy_from_slice(&[flags, a, b, c, d]);
    pipebuf::copy_slice(body, data);
    wr.commit(total).map_err(|_| ChunkError::Full)
}

/// Asks the WebSocket to send a ping with `payload` (at most 125 bytes, longer is cut), in
/// order with the messages around it. All or nothing.
pub fn write_ping(wr: &mut PBufWr<'_>, payload: &[u8]) -> Result<(), ChunkError> {
    let n = payload
        .len()
        .min(crate::frame::MAX_CONTROL_PAYLOAD as usize);
    write_record(wr, FLAGS_PING, &payload[..n])
}

/// Asks the WebSocket to start the close handshake once the messages before this record are
/// sent: its close frame carries `code` and `reason` (cut to fit 123 bytes at a character
/// boundary). Messages after it are not sent; close the stream after it
/// ([`Messages::close`](crate::Messages::close) does both). All or nothing.
pub fn write_close(wr: &mut PBufWr<'_>, code: u16, reason: &str) -> Result<(), ChunkError> {
    let mut payload = [0u8; crate::frame::MAX_CLOSE_PAYLOAD];
    let n = crate::frame::encode_close_payload(code, reason, &mut payload);
    write_record(wr, FLAGS_CLOSE, &payload[..n])
}

/// Encodes a chunk record header.
pub(crate) fn chunk_header(kind: MessageKind, fin: bool, len: u32) -> [u8; CHUNK_HEADER_LEN] {
    let mut flags = 0;
    if kind == MessageKind::Binary {
        flags |= FLAG_BINARY;
    }
    if fin {
        flags |= FLAG_FIN;
    }
    let [a, b, c, d] = len.to_be_bytes();
    [flags, a, b, c, d]
}

/// A decoded record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub(crate) kind: MessageKind,
    pub(crate) fin: bool,
    pub(crate) len: usize,
    /// What the application asked for its message (read on the first record only).
    pub(crate) compression: Compression,
}

/// Decodes the record header at the start of `data`: kind, fin, chunk length; `Ok(None)`
/// if the header is not complete.
pub(crate) fn parse_chunk_header(
    data: &[u8],
) -> Result<Option<(MessageKind, bool, usize)>, ChunkError> {
    Ok(parse_record_header(data)?.map(|h| (h.kind, h.fin, h.len)))
}

/// [`parse_chunk_header`] with the compression flag.
pub(crate) fn parse_record_header(data: &[u8]) -> Result<Option<RecordHeader>, ChunkError> {
    let Some(&[flags, a, b, c, d]) = data.first_chunk::<CHUNK_HEADER_LEN>() else {
        return Ok(None);
    };
    if flags & !(FLAG_BINARY | FLAG_FIN | FLAG_UNCOMPRESSED) != 0 {
        return Err(ChunkError::BadRecord);
    }
    let compression = if flags & FLAG_UNCOMPRESSED != 0 {
        Compression::Never
    } else {
        Compression::Auto
    };
    let kind = if flags & FLAG_BINARY != 0 {
        MessageKind::Binary
    } else {
        MessageKind::Text
    };
    let len = u32::from_be_bytes([a, b, c, d]) as usize;
    Ok(Some(RecordHeader {
        kind,
        fin: flags & FLAG_FIN != 0,
        len,
        compression,
    }))
}

/// Writes one chunk of a message; `fin` on the last. All or nothing.
pub fn write_chunk(
    wr: &mut PBufWr<'_>,
    kind: MessageKind,
    fin: bool,
    data: &[u8],
) -> Result<(), ChunkError> {
    let [flags, ..] = chunk_header(kind, fin, 0);
    write_record(wr, flags, data)
}

/// [`write_chunk`] that says whether the message may be compressed: the first chunk of a
/// message decides for all of it. All or nothing.
///
/// ```
/// use pipebuf::PipeBuf;
/// use pipebuf_websocket::message::{Compression, MessageKind, read_chunk, write_chunk_with};
///
/// let mut buf = PipeBuf::<u8>::new();
/// let jpeg = [0xff, 0xd8, 0xff, 0xe0];
/// write_chunk_with(&mut buf.wr(), MessageKind::Binary, true, &jpeg, Compression::Never).unwrap();
/// let rd = buf.rd();
/// let chunk = read_chunk(&rd).unwrap().unwrap();
/// assert_eq!(chunk.data, &jpeg);
/// ```
pub fn write_chunk_with(
    wr: &mut PBufWr<'_>,
    kind: MessageKind,
    fin: bool,
    data: &[u8],
    compression: Compression,
) -> Result<(), ChunkError> {
    let [mut flags, ..] = chunk_header(kind, fin, 0);
    if compression == Compression::Never {
        flags |= FLAG_UNCOMPRESSED;
    }
    write_record(wr, flags, data)
}

/// Writes the start of `data`, the rest of a message, as one record: as much as fits now,
/// at most `max_chunk` bytes (and less than 4 GiB). Returns how many bytes of `data` went
/// and whether that was all of it, which ends the message (the record has `fin` set).
/// Call again with the rest, once there is room, until it returns `true`.
///
/// Fails with [`ChunkError::Full`] when not even a record with one byte of data fits (with
/// no data, when the empty record that ends the message does not fit), and with
/// [`ChunkError::Ended`] after the stream ended; nothing is written then. A `max_chunk` of
/// 0 counts as 1.
///
/// ```
/// use pipebuf::PipeBuf;
/// use pipebuf_websocket::message::{ChunkError, MessageKind, write_chunk_some};
///
/// let mut buf = PipeBuf::<u8>::with_limits(16, 16);
/// let data = b"a message of 25 bytes ...";
/// let mut sent = 0;
/// // Room for 16 bytes: one record of 11 data bytes.
/// assert_eq!(
///     write_chunk_some(&mut buf.wr(), MessageKind::Text, &data[sent..], 1024),
///     Ok((11, false))
/// );
/// sent += 11;
/// assert_eq!(
///     write_chunk_some(&mut buf.wr(), MessageKind::Text, &data[sent..], 1024),
///     Err(ChunkError::Full)
/// );
/// buf.rd().consume_all();
/// assert_eq!(
///     write_chunk_some(&mut buf.wr(), MessageKind::Text, &data[sent..], 1024),
///     Ok((11, false))
/// );
/// sent += 11;
/// buf.rd().consume_all();
/// assert_eq!(
///     write_chunk_some(&mut buf.wr(), MessageKind::Text, &data[sent..], 1024),
///     Ok((3, true))
/// );
/// ```
pub fn write_chunk_some(
    wr: &mut PBufWr<'_>,
    kind: MessageKind,
    data: &[u8],
    max_chunk: usize,
) -> Result<(usize, bool), ChunkError> {
    if wr.is_eof() {
        return Err(ChunkError::Ended);
    }
    let n = data
        .len()
        .min(max_chunk.max(1))
        .min(u32::MAX as usize)
        .min(wr.room().saturating_sub(CHUNK_HEADER_LEN));
    if n == 0 && !data.is_empty() {
        return Err(ChunkError::Full);
    }
    let fin = n == data.len();
    write_chunk(wr, kind, fin, &data[..n])?;
    Ok((n, fin))
}

/// Writes a whole message as one record. All or nothing.
///
/// ```
/// use pipebuf::PipeBuf;
/// use pipebuf_websocket::message::{MessageKind, read_chunk, write_message};
///
/// let mut buf = PipeBuf::<u8>::new();
/// write_message(&mut buf.wr(), MessageKind::Text, b"hello").unwrap();
/// let mut rd = buf.rd();
/// let chunk = read_chunk(&rd).unwrap().unwrap();
/// assert_eq!((chunk.kind, chunk.fin, chunk.data), (MessageKind::Text, true, &b"hello"[..]));
/// let n = chunk.record_len;
/// rd.consume(n).unwrap();
/// assert!(rd.is_empty());
/// ```
pub fn write_message(
    wr: &mut PBufWr<'_>,
    kind: MessageKind,
    data: &[u8],
) -> Result<(), ChunkError> {
    write_chunk(wr, kind, true, data)
}

/// The complete record at the start of `rd`, if there is one. Consume
/// [`record_len`](Chunk::record_len) bytes once done with it.
pub fn read_chunk<'a>(rd: &'a PBufRd<'_>) -> Result<Option<Chunk<'a>>, ChunkError> {
    chunk_at(rd.data())
}

fn chunk_at(data: &[u8]) -> Result<Option<Chunk<'_>>, ChunkError> {
    let Some((kind, fin, len)) = parse_chunk_header(data)? else {
        return Ok(None);
    };
    let Some(body) = data.get(CHUNK_HEADER_LEN..CHUNK_HEADER_LEN + len) else {
        return Ok(None);
    };
    Ok(Some(Chunk {
        kind,
        fin,
        data: body,
        record_len: CHUNK_HEADER_LEN + len,
    }))
}

/// Collects chunk records into whole messages, for applications whose messages are small
/// enough to hold (a chat server, a request/response API).
#[derive(Debug, Default)]
pub struct MessageAssembler {
    data: alloc::vec::Vec<u8>,
    /// The last call returned a complete message: the next one starts afresh.
    returned: bool,
}

impl MessageAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes records from `rd` until a message is complete, and returns its kind and
    /// data (valid until the next call); `Ok(None)` when the records so far do not end a
    /// message yet. The WebSocket's maximum message size bounds what this holds.
    ///
    /// Copies every message into the assembler; [`next_message_ref`] does not copy a
    /// message that came as one record.
    ///
    /// [`next_message_ref`]: MessageAssembler::next_message_ref
    pub fn next_message(
        &mut self,
        rd: &mut PBufRd<'_>,
    ) -> Result<Option<(MessageKind, &[u8])>, ChunkError> {
        if self.returned {
            self.data.clear();
            self.returned = false;
        }
        loop {
            let Some(chunk) = chunk_at(rd.data())? else {
                return Ok(None);
            };
            let (kind, fin, len) = (chunk.kind, chunk.fin, chunk.record_len);
            self.data.extend_from_slice(chunk.data);
            let _ = rd.consume(len);
            if fin {
                self.returned = true;
                return Ok(Some((kind, &self.data)));
            }
        }
    }

    /// Like [`next_message`](MessageAssembler::next_message), but a message that is one
    /// record (the usual case for small messages) is not copied: the returned
    /// [`MessageRef`] reads it where it is in `rd`, and consumes it when dropped. A message
    /// of several records is assembled as by `next_message`, its records consumed at once.
    /// Either way, `rd` is borrowed for as long as the `MessageRef` lives, and once it is
    /// dropped the message is consumed.
    ///
    /// ```
    /// use pipebuf::PipeBuf;
    /// use pipebuf_websocket::message::{MessageAssembler, MessageKind, write_message};
    ///
    /// let mut buf = PipeBuf::<u8>::new();
    /// write_message(&mut buf.wr(), MessageKind::Text, b"one").unwrap();
    /// write_message(&mut buf.wr(), MessageKind::Binary, b"two").unwrap();
    /// let mut assembler = MessageAssembler::new();
    /// let mut rd = buf.rd();
    /// let mut got = Vec::new();
    /// while let Some(message) = assembler.next_message_ref(&mut rd).unwrap() {
    ///     got.push((message.kind(), message.data().to_vec()));
    /// }
    /// assert_eq!(got, [(MessageKind::Text, b"one".to_vec()), (MessageKind::Binary, b"two".to_vec())]);
    /// assert!(rd.is_empty());
    /// ```
    pub fn next_message_ref<'a>(
        &'a mut self,
        rd: &'a mut PBufRd<'_>,
    ) -> Result<Option<MessageRef<'a>>, ChunkError> {
        let first = chunk_at(rd.data())?.map(|chunk| (chunk.kind, chunk.fin, chunk.record_len));
        let message_starts = self.returned || self.data.is_empty();
        if let (Some((kind, true, len)), true) = (first, message_starts) {
            // The message is this one record: read it in place.
            self.data.clear();
            self.returned = false;
            return Ok(Some(MessageRef {
                kind,
                source: Source::Record {
                    rd: rd.reborrow(),
                    len,
                },
            }));
        }
        Ok(self.next_message(rd)?.map(|(kind, data)| MessageRef {
            kind,
            source: Source::Assembled(data),
        }))
    }
}

/// A complete message from [`MessageAssembler::next_message_ref`]. Dropping it consumes the
/// message's record if it is still in the buffer.
pub struct MessageRef<'a> {
    kind: MessageKind,
    source: Source<'a>,
}

enum Source<'a> {
    /// Assembled from several records, all consumed.
    Assembled(&'a [u8]),
    /// The one record at the start of `rd`, `len` bytes long, to consume on drop.
    Record { rd: PBufRd<'a>, len: usize },
}

impl MessageRef<'_> {
    /// The message's type.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The message's data.
    pub fn data(&self) -> &[u8] {
        match &self.source {
            Source::Assembled(data) => data,
            Source::Record { rd, len } => &rd.data()[CHUNK_HEADER_LEN..*len],
        }
    }
}

impl Drop for MessageRef<'_> {
    fn drop(&mut self) {
        if let Source::Record { rd, len } = &mut self.source {
            let _ = rd.consume(*len);
        }
    }
}

impl core::fmt::Debug for MessageRef<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MessageRef")
            .field("kind", &self.kind)
            .field("len", &self.data().len())
            .field("in_place", &matches!(self.source, Source::Record { .. }))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipebuf::PipeBuf;

    #[test]
    fn chunks_of_a_streamed_message_are_assembled_in_order() {
        let mut buf = PipeBuf::<u8>::new();
        write_chunk(&mut buf.wr(), MessageKind::Binary, false, b"ab").unwrap();
        write_chunk(&mut buf.wr(), MessageKind::Binary, false, b"").unwrap();
        let mut assembler = MessageAssembler::new();
        assert_eq!(assembler.next_message(&mut buf.rd()), Ok(None));
        write_chunk(&mut buf.wr(), MessageKind::Binary, true, b"cd").unwrap();
        write_message(&mut buf.wr(), MessageKind::Text, b"next").unwrap();
        assert_eq!(
            assembler.next_message(&mut buf.rd()),
            Ok(Some((MessageKind::Binary, &b"abcd"[..])))
        );
        assert_eq!(
            assembler.next_message(&mut buf.rd()),
            Ok(Some((MessageKind::Text, &b"next"[..])))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn a_record_split_anywhere_is_incomplete_until_whole() {
        let mut whole = PipeBuf::<u8>::new();
        write_message(&mut whole.wr(), MessageKind::Text, b"hello").unwrap();
        let bytes = whole.data().to_vec();
        for cut in 0..bytes.len() {
            assert_eq!(chunk_at(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        assert!(chunk_at(&bytes).unwrap().is_some());
    }

    #[test]
    fn a_full_buffer_refuses_the_whole_record() {
        let mut buf = PipeBuf::with_storage([0u8; 8]);
        assert_eq!(
            write_message(&mut buf.wr(), MessageKind::Text, b"four"),
            Err(ChunkError::Full)
        );
        assert!(buf.is_empty());
        write_message(&mut buf.wr(), MessageKind::Text, b"123").unwrap();
        assert_eq!(buf.len(), 8);
    }

    #[test]
    fn unknown_flags_are_refused() {
        assert_eq!(chunk_at(&[0x80, 0, 0, 0, 0]), Err(ChunkError::BadRecord));
    }

    #[test]
    fn writing_after_the_end_of_stream_is_refused() {
        let mut buf = PipeBuf::<u8>::new();
        buf.wr().close();
        assert_eq!(
            write_message(&mut buf.wr(), MessageKind::Text, b"x"),
            Err(ChunkError::Ended)
        );
        for data in [&b""[..], b"x"] {
            assert_eq!(
                write_chunk_some(&mut buf.wr(), MessageKind::Text, data, 10),
                Err(ChunkError::Ended)
            );
        }
    }

    /// The records in `buf`: kind, fin, data.
    fn records(mut data: &[u8]) -> alloc::vec::Vec<(MessageKind, bool, alloc::vec::Vec<u8>)> {
        let mut out = alloc::vec::Vec::new();
        while let Some(chunk) = chunk_at(data).unwrap() {
            out.push((chunk.kind, chunk.fin, chunk.data.to_vec()));
            data = &data[chunk.record_len..];
        }
        assert!(data.is_empty(), "a partial record");
        out
    }

    #[test]
    fn write_chunk_some_writes_what_fits_and_ends_the_message_with_the_last_byte() {
        // 16 bytes of room: 11 data bytes per record.
        let mut buf = PipeBuf::<u8>::with_limits(16, 16);
        let data = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut sent = 0;
        let mut lens = alloc::vec::Vec::new();
        let mut message = alloc::vec::Vec::new();
        loop {
            match write_chunk_some(&mut buf.wr(), MessageKind::Binary, &data[sent..], 100) {
                Ok((n, fin)) => {
                    sent += n;
                    lens.push(n);
                    assert_eq!(fin, sent == data.len());
                    if fin {
                        break;
                    }
                }
                Err(ChunkError::Full) => {
                    for (kind, fin, chunk) in records(buf.data()) {
                        assert_eq!(kind, MessageKind::Binary);
                        assert_eq!(fin, message.len() + chunk.len() == data.len());
                        message.extend(chunk);
                    }
                    buf.rd().consume_all();
                }
                Err(e) => panic!("{e}"),
            }
        }
        for (_, _, chunk) in records(buf.data()) {
            message.extend(chunk);
        }
        assert_eq!(lens, [11, 11, 11, 3]);
        assert_eq!(message, data);
    }

    #[test]
    fn write_chunk_some_keeps_records_to_max_chunk() {
        let mut buf = PipeBuf::<u8>::new();
        let mut wr = buf.wr();
        assert_eq!(
            write_chunk_some(&mut wr, MessageKind::Text, b"hello", 2),
            Ok((2, false))
        );
        assert_eq!(
            write_chunk_some(&mut wr, MessageKind::Text, b"llo", 0),
            Ok((1, false))
        );
        assert_eq!(
            write_chunk_some(&mut wr, MessageKind::Text, b"lo", 2),
            Ok((2, true))
        );
        let got = records(buf.data());
        let lens: alloc::vec::Vec<_> = got.iter().map(|(_, fin, d)| (d.len(), *fin)).collect();
        assert_eq!(lens, [(2, false), (1, false), (2, true)]);
    }

    #[test]
    fn write_chunk_some_needs_room_for_one_byte_or_the_empty_final_record() {
        let mut buf = PipeBuf::with_storage([0u8; 5]);
        // A header alone cannot carry data...
        assert_eq!(
            write_chunk_some(&mut buf.wr(), MessageKind::Text, b"x", 10),
            Err(ChunkError::Full)
        );
        assert!(buf.is_empty());
        // ...but it ends an empty message (or one whose data all went already).
        assert_eq!(
            write_chunk_some(&mut buf.wr(), MessageKind::Text, b"", 10),
            Ok((0, true))
        );
        assert_eq!(
            records(buf.data()),
            [(MessageKind::Text, true, alloc::vec![])]
        );
        assert_eq!(
            write_chunk_some(&mut buf.wr(), MessageKind::Text, b"", 10),
            Err(ChunkError::Full)
        );
    }

    #[test]
    fn a_one_record_message_is_read_in_place_and_consumed_when_dropped() {
        let mut buf = PipeBuf::<u8>::new();
        write_message(&mut buf.wr(), MessageKind::Text, b"hello").unwrap();
        write_message(&mut buf.wr(), MessageKind::Binary, b"world").unwrap();
        let mut assembler = MessageAssembler::new();
        let mut rd = buf.rd();
        let start = rd.data().as_ptr();
        {
            let message = assembler.next_message_ref(&mut rd).unwrap().unwrap();
            assert_eq!(
                (message.kind(), message.data()),
                (MessageKind::Text, &b"hello"[..])
            );
            assert!(matches!(message.source, Source::Record { .. }));
            assert_eq!(
                message.data().as_ptr(),
                start.wrapping_add(CHUNK_HEADER_LEN)
            );
        }
        assert_eq!(rd.len(), CHUNK_HEADER_LEN + 5);
        let message = assembler.next_message_ref(&mut rd).unwrap().unwrap();
        assert_eq!(
            (message.kind(), message.data()),
            (MessageKind::Binary, &b"world"[..])
        );
        drop(message);
        assert!(rd.is_empty());
        assert!(assembler.next_message_ref(&mut rd).unwrap().is_none());
    }

    #[test]
    fn a_message_ref_that_is_not_dropped_leaves_its_record_in_place() {
        let mut buf = PipeBuf::<u8>::new();
        write_message(&mut buf.wr(), MessageKind::Text, b"again").unwrap();
        let mut assembler = MessageAssembler::new();
        let mut rd = buf.rd();
        core::mem::forget(assembler.next_message_ref(&mut rd).unwrap());
        // Nothing consumed, nothing lost: the same message comes again.
        let message = assembler.next_message_ref(&mut rd).unwrap().unwrap();
        assert_eq!(message.data(), b"again");
        drop(message);
        assert!(rd.is_empty());
    }

    #[test]
    fn next_message_ref_assembles_messages_of_several_records_between_one_record_ones() {
        let mut buf = PipeBuf::<u8>::new();
        write_message(&mut buf.wr(), MessageKind::Text, b"a").unwrap();
        write_chunk(&mut buf.wr(), MessageKind::Binary, false, b"bc").unwrap();
        let mut assembler = MessageAssembler::new();
        let mut got = alloc::vec::Vec::new();
        let mut collect = |assembler: &mut MessageAssembler, buf: &mut PipeBuf<u8>| {
            let mut rd = buf.rd();
            while let Some(m) = assembler.next_message_ref(&mut rd).unwrap() {
                let in_place = matches!(m.source, Source::Record { .. });
                got.push((m.kind(), m.data().to_vec(), in_place));
            }
        };
        // "a" goes; the start of "bcd" is held by the assembler.
        collect(&mut assembler, &mut buf);
        assert!(buf.is_empty());
        write_chunk(&mut buf.wr(), MessageKind::Binary, true, b"d").unwrap();
        write_message(&mut buf.wr(), MessageKind::Text, b"e").unwrap();
        // An empty record before the final one: still one message, read in place.
        write_chunk(&mut buf.wr(), MessageKind::Text, false, b"").unwrap();
        write_chunk(&mut buf.wr(), MessageKind::Text, true, b"f").unwrap();
        collect(&mut assembler, &mut buf);
        assert!(buf.is_empty());
        let expected = [
            (MessageKind::Text, &b"a"[..], true),
            (MessageKind::Binary, b"bcd", false),
            (MessageKind::Text, b"e", true),
            (MessageKind::Text, b"f", false),
        ];
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(expected) {
            assert_eq!((g.0, &g.1[..], g.2), e);
        }
        // And the copying call after an in-place one starts afresh.
        write_message(&mut buf.wr(), MessageKind::Text, b"g").unwrap();
        write_message(&mut buf.wr(), MessageKind::Text, b"h").unwrap();
        drop(assembler.next_message_ref(&mut buf.rd()).unwrap());
        assert_eq!(
            assembler.next_message(&mut buf.rd()),
            Ok(Some((MessageKind::Text, &b"h"[..])))
        );
    }
}
