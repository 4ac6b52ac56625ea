//! Moving a streamed body between the connection's buffer and the body's own buffer,
//! framed as the codec announced it.

use super::{Body, Decoder, Encoder, Error};
use crate::{EofKind, PBufRd, PBufWr, PipeBuf};

/// A growable body buffer with at most `limit` bytes.
pub(crate) fn body_buf(limit: usize) -> PipeBuf<u8> {
    PipeBuf::with_limits(limit.min(4096), limit)
}

/// Why [`BodyReader::pump`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The body needs bytes `src` does not have yet: the rest of a chunk header, or data.
    Input,
    /// The destination is full; bytes of the body wait in `src`.
    Output,
    /// The body is complete.
    Done,
}

/// Where the reading of an incoming body stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyReader {
    /// A length-delimited body with this many bytes still to come.
    Length(u64),
    /// A chunked body, before a chunk header.
    Header { first: bool },
    /// A chunked body, inside a chunk with this many bytes still to come.
    Data(u64),
    /// The body is complete.
    Done,
}

impl BodyReader {
    pub(crate) fn new(body: Body) -> Self {
        match body {
            Body::None => BodyReader::Done,
            Body::Length(n) => BodyReader::Length(n),
            Body::Chunked => BodyReader::Header { first: true },
        }
    }

    /// Moves body bytes from `src` into `dst` (or skips them when `dst` is `None`) until the
    /// body ends, `src` runs dry or `dst` is full, and says which. The end of a chunk pushes
    /// `dst`, the end of the body closes it. Bytes after the body are never touched.
    pub(crate) fn pump<D: Decoder, EE>(
        &mut self,
        decoder: &mut D,
        src: &mut PBufRd<'_>,
        mut dst: Option<&mut PBufWr<'_>>,
    ) -> Result<Stop, Error<D::Error, EE>> {
        loop {
            match *self {
                BodyReader::Done => return Ok(Stop::Done),
                BodyReader::Length(left) | BodyReader::Data(left) => {
                    let want = usize::try_from(left).unwrap_or(usize::MAX).min(src.len());
                    let moved = match dst.as_deref_mut() {
                        Some(wr) => wr.append_some(&src.data()[..want])?,
                        None => want,
                    };
                    src.consume(moved)?;
                    let left = left - moved as u64;
                    if left > 0 {
                        *self = match *self {
                            BodyReader::Length(_) => BodyReader::Length(left),
                            _ => BodyReader::Data(left),
                        };
                        return Ok(if moved < want {
                            Stop::Output
                        } else {
                            Stop::Input
                        });
                    }
                    if let BodyReader::Data(_) = *self {
                        if let Some(wr) = dst.as_deref_mut() {
                            wr.push();
                        }
                        *self = BodyReader::Header { first: false };
                    } else {
                        self.finish(dst.as_deref_mut());
                    }
                }
                BodyReader::Header { first } => {
                    let Some(chunk) = decoder
                        .decode_chunk(src.data(), first)
                        .map_err(Error::Decode)?
                    else {
                        return Ok(Stop::Input);
                    };
                    src.consume(chunk.len)?;
                    if chunk.data_len == 0 {
                        self.finish(dst.as_deref_mut());
                    } else {
                        *self = BodyReader::Data(chunk.data_len);
                    }
                }
            }
        }
    }

    fn finish(&mut self, dst: Option<&mut PBufWr<'_>>) {
        if let Some(wr) = dst {
            wr.close();
        }
        *self = BodyReader::Done;
    }
}

/// What holds up the incoming side of a connection after [`BodyIn::pump`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// Nothing: the next head may be decoded.
    Free,
    /// The body being received needs bytes the connection has not delivered yet.
    Input,
    /// The application: the body buffer is full, or the body's end is not consumed yet.
    App,
}

impl Incoming {
    /// Whether the end of `src` may be handled now, with the connection held up this way
    /// (for `Free`: after no head could be decoded). Only bytes that can still be decoded
    /// once the application has caught up hold the end back; a body that needs more input
    /// than is left is truncated.
    pub(crate) fn lets_eof_through(self, src: &PBufRd<'_>) -> bool {
        self != Incoming::App || src.is_empty()
    }
}

/// The receiving side of streamed bodies on one connection: the body being read from the
/// connection, and the buffer the application reads it from until it consumed its EOF.
/// `I` names the message the body belongs to (ticket or sequence number).
#[derive(Debug)]
pub(crate) struct BodyIn<I> {
    /// The body being read from the connection.
    reader: Option<BodyReader>,
    /// Whose body sits in `buf`, until the application consumed its EOF. `None` while a
    /// body is read means it is skipped (nobody wants it).
    owner: Option<I>,
    buf: PipeBuf<u8>,
}

impl<I: Copy + PartialEq> BodyIn<I> {
    /// Body buffers of at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        BodyIn {
            reader: None,
            owner: None,
            buf: body_buf(limit),
        }
    }

    /// Starts reading the body announced by the head just decoded: into the buffer for
    /// `owner`, or skipped when `owner` is `None`. Only after [`pump`](Self::pump) said
    /// [`Incoming::Free`].
    pub(crate) fn start(&mut self, owner: Option<I>, body: Body) {
        if owner.is_some() {
            self.buf.reset();
        }
        self.owner = owner;
        self.reader = Some(BodyReader::new(body));
    }

    /// Drops `id`'s body if it is the one in the buffer: the rest of it, if still arriving,
    /// is skipped.
    pub(crate) fn drop_body_of(&mut self, id: I) {
        if self.owner == Some(id) {
            self.owner = None;
            self.buf.reset();
        }
    }

    /// The body buffer with its owner, until the application consumed its EOF.
    pub(crate) fn rd(&mut self) -> Option<(I, PBufRd<'_>)> {
        let id = self.owner?;
        if self.buf.state().is_done() {
            return None;
        }
        Some((id, self.buf.rd()))
    }

    pub(crate) fn tripwire(&self) -> crate::Tripwire {
        self.buf.tripwire()
    }

    /// Moves the body being received on from `src` and says what holds up the connection.
    /// Sets `activity` when it frees the buffer of a body whose end the application consumed.
    pub(crate) fn pump<D: Decoder, EE>(
        &mut self,
        decoder: &mut D,
        src: &mut PBufRd<'_>,
        activity: &mut bool,
    ) -> Result<Incoming, Error<D::Error, EE>> {
        if let Some(reader) = &mut self.reader {
            let mut wr = self.buf.wr();
            let dst = self.owner.is_some().then_some(&mut wr);
            match reader.pump(decoder, src, dst)? {
                Stop::Input => return Ok(Incoming::Input),
                Stop::Output => return Ok(Incoming::App),
                Stop::Done => self.reader = None,
            }
        }
        if self.owner.is_some() {
            if !self.buf.state().is_done() {
                return Ok(Incoming::App); // the application is still reading the last body
            }
            self.owner = None;
            *activity = true;
        }
        Ok(Incoming::Free)
    }

    /// The connection ended or broke: a body being received is aborted (if anyone wants it).
    pub(crate) fn abort(&mut self) {
        if self.reader.take().is_some() && self.owner.is_some() {
            self.buf.wr().abort();
        }
    }
}

/// Where the writing of an outgoing body stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyWriter {
    /// A length-delimited body of `total` bytes with `left` still to write.
    Length { left: u64, total: u64 },
    /// A chunked body; `first` until its first chunk is written.
    Chunked { first: bool },
    /// The body is complete.
    Done,
}

impl BodyWriter {
    pub(crate) fn new(body: Body) -> Self {
        match body {
            Body::None => BodyWriter::Done,
            Body::Length(total) => BodyWriter::Length { left: total, total },
            Body::Chunked => BodyWriter::Chunked { first: true },
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        *self == BodyWriter::Done
    }

    /// Moves what the application wrote into `src` to `dst`, framed, until `src` runs dry or
    /// `dst` is full. A push on `src` pushes `dst`; closing `src` ends the body (for a
    /// length-delimited body, only once every announced byte is written); aborting it is
    /// [`Error::BodyAborted`].
    pub(crate) fn pump<E: Encoder, DE>(
        &mut self,
        encoder: &mut E,
        src: &mut PBufRd<'_>,
        dst: &mut PBufWr<'_>,
    ) -> Result<(), Error<DE, E::Error>> {
        match *self {
            BodyWriter::Done => return Ok(()),
            BodyWriter::Length { left, total } => {
                let want = usize::try_from(left).unwrap_or(usize::MAX).min(src.len());
                let moved = dst.append_some(&src.data()[..want])?;
                src.consume(moved)?;
                let left = left - moved as u64;
                *self = BodyWriter::Length { left, total };
                if left == 0 && !src.is_empty() {
                    return Err(Error::BodyLength {
                        expected: total,
                        got: total + src.len() as u64,
                    });
                }
            }
            BodyWriter::Chunked { first } => {
                if !src.is_empty() {
                    let max = encoder.max_chunk_header();
                    let space = dst.space_upto(max.saturating_add(src.len()))?;
                    if space.len() > max {
                        let n = space.len() - max;
                        let (head, _) = space.split_at_mut(max);
                        let h = encoder
                            .encode_chunk(n, first, head)
                            .map_err(Error::Encode)?;
                        // A header longer than announced is the codec's bug: an error,
                        // not a panic.
                        let Some(body) = (h <= max).then(|| &mut space[h..h + n]) else {
                            return Err(Error::Buffer(crate::Error::CommitBeyondReserved {
                                requested: h.saturating_add(n),
                                reserved: max + n,
                            }));
                        };
                        crate::copy::copy_elements(body, &src.data()[..n]);
                        dst.commit(h + n)?;
                        src.consume(n)?;
                        *self = BodyWriter::Chunked { first: false };
                    }
                }
            }
        }
        if !src.is_empty() {
            return Ok(());
        }
        if src.consume_push() {
            dst.push();
        }
        match (src.pending_eof(), *self) {
            (None, _) => Ok(()),
            (Some(EofKind::Abort), _) => {
                src.consume_eof();
                Err(Error::BodyAborted)
            }
            (Some(EofKind::Close), BodyWriter::Length { left: 0, .. }) => {
                src.consume_eof();
                *self = BodyWriter::Done;
                Ok(())
            }
            (Some(EofKind::Close), BodyWriter::Length { left, total }) => {
                src.consume_eof();
                Err(Error::BodyLength {
                    expected: total,
                    got: total - left,
                })
            }
            (Some(EofKind::Close), BodyWriter::Chunked { first }) => {
                let max = encoder.max_chunk_header();
                let space = match dst.space(max) {
                    Ok(space) => space,
                    // No room for the last chunk now; the close waits.
                    Err(crate::Error::NoSpace { .. }) => return Ok(()),
                    Err(e) => return Err(e.into()),
                };
                let h = encoder
                    .encode_chunk(0, first, space)
                    .map_err(Error::Encode)?;
                dst.commit(h)?;
                src.consume_eof();
                *self = BodyWriter::Done;
                Ok(())
            }
            (Some(EofKind::Close), BodyWriter::Done) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reqresp::{ChunkHead, Encoded, Head};

    /// Chunk headers only, framed as in the integration tests' text codec: `<len>\n`, with
    /// `;` before every header but the first (`2\nab;0\n`). Heads are not this file's business.
    struct Chunks;

    /// A chunk header that is not `[;]<decimal>\n`.
    #[derive(Debug, PartialEq)]
    struct BadHeader;

    impl Decoder for Chunks {
        type Item<'d> = ();
        type Error = BadHeader;

        fn decode(&mut self, _: &[u8]) -> Result<Option<Head<()>>, BadHeader> {
            Ok(None)
        }

        fn decode_chunk(
            &mut self,
            data: &[u8],
            first: bool,
        ) -> Result<Option<ChunkHead>, BadHeader> {
            let Some(nl) = data.iter().position(|&b| b == b'\n') else {
                return Ok(None);
            };
            let digits = match first {
                true => &data[..nl],
                false => data[..nl].strip_prefix(b";").ok_or(BadHeader)?,
            };
            let data_len = core::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse().ok());
            Ok(Some(ChunkHead {
                len: nl + 1,
                data_len: data_len.ok_or(BadHeader)?,
            }))
        }
    }

    impl Encoder for Chunks {
        type Item = ();
        type Error = BadHeader;

        fn encode(&mut self, _: &(), _: &mut PBufWr<'_>) -> Result<Encoded, BadHeader> {
            Ok(Encoded::Full)
        }

        fn max_chunk_header(&self) -> usize {
            22
        }

        fn encode_chunk(
            &mut self,
            len: usize,
            first: bool,
            out: &mut [u8],
        ) -> Result<usize, BadHeader> {
            let head = format!("{}{len}\n", if first { "" } else { ";" });
            out[..head.len()].copy_from_slice(head.as_bytes());
            Ok(head.len())
        }
    }

    type E = Error<BadHeader, BadHeader>;

    fn read(
        body: Body,
        input: &[u8],
        dst_limit: usize,
    ) -> (BodyReader, Stop, PipeBuf<u8>, PipeBuf<u8>) {
        let (mut src, mut dst) = (
            PipeBuf::<u8>::new(),
            PipeBuf::<u8>::with_limits(4, dst_limit),
        );
        src.wr().append(input).unwrap();
        let mut reader = BodyReader::new(body);
        let r: Result<Stop, E> = reader.pump(&mut Chunks, &mut src.rd(), Some(&mut dst.wr()));
        (reader, r.unwrap(), src, dst)
    }

    #[test]
    fn length_body_stops_at_its_end_and_leaves_the_next_message() {
        let (reader, stop, src, dst) = read(Body::Length(3), b"abcnext", 64);
        assert_eq!(reader, BodyReader::Done);
        assert_eq!(stop, Stop::Done);
        assert_eq!(dst.data(), b"abc");
        assert_eq!(dst.state(), crate::PBufState::Closing);
        assert_eq!(src.data(), b"next");
    }

    #[test]
    fn full_destination_leaves_the_rest_in_the_source() {
        let (reader, stop, src, dst) = read(Body::Length(6), b"abcdefnext", 4);
        assert_eq!(reader, BodyReader::Length(2));
        assert_eq!(stop, Stop::Output);
        assert_eq!(dst.data(), b"abcd");
        assert_eq!(src.data(), b"efnext");
    }

    #[test]
    fn chunked_body_pushes_at_each_chunk_end_and_closes_at_the_empty_chunk() {
        let (reader, stop, src, dst) = read(Body::Chunked, b"2\nab;1\nc;0\nrest", 64);
        assert_eq!(reader, BodyReader::Done);
        assert_eq!(stop, Stop::Done);
        assert_eq!(dst.data(), b"abc");
        assert!(dst.has_pending_push());
        assert_eq!(src.data(), b"rest");
    }

    #[test]
    fn body_waiting_for_input_says_so_whether_inside_data_or_a_chunk_header() {
        let (reader, stop, src, _) = read(Body::Length(6), b"abc", 64);
        assert_eq!((reader, stop), (BodyReader::Length(3), Stop::Input));
        assert!(src.is_empty());
        let (reader, stop, src, dst) = read(Body::Chunked, b"3\nabc;1", 64);
        assert_eq!(
            (reader, stop),
            (BodyReader::Header { first: false }, Stop::Input)
        );
        assert_eq!((src.data(), dst.data()), (&b";1"[..], &b"abc"[..]));
    }

    #[test]
    fn skipped_body_is_consumed_without_a_destination() {
        let mut src = PipeBuf::<u8>::new();
        src.wr().append(b"1\nx;0\nrest").unwrap();
        let mut reader = BodyReader::new(Body::Chunked);
        let r: Result<Stop, E> = reader.pump(&mut Chunks, &mut src.rd(), None);
        assert_eq!(r, Ok(Stop::Done));
        assert_eq!(src.data(), b"rest");
    }

    #[test]
    fn bad_chunk_header_is_a_decode_error() {
        let mut src = PipeBuf::<u8>::new();
        src.wr().append(b"zz\n").unwrap();
        let mut reader = BodyReader::new(Body::Chunked);
        let r: Result<Stop, E> = reader.pump(&mut Chunks, &mut src.rd(), None);
        assert_eq!(r, Err(Error::Decode(BadHeader)));
    }

    #[test]
    fn chunk_writer_frames_what_is_there_and_ends_with_the_empty_chunk() {
        let (mut src, mut dst) = (PipeBuf::<u8>::new(), PipeBuf::<u8>::new());
        let mut writer = BodyWriter::new(Body::Chunked);
        src.wr().append(b"abc").unwrap();
        let r: Result<(), E> = writer.pump(&mut Chunks, &mut src.rd(), &mut dst.wr());
        r.unwrap();
        src.wr().append(b"de").unwrap();
        src.wr().close();
        let r: Result<(), E> = writer.pump(&mut Chunks, &mut src.rd(), &mut dst.wr());
        r.unwrap();
        assert!(writer.is_done());
        assert_eq!(dst.data(), b"3\nabc;2\nde;0\n");
    }

    #[test]
    fn last_chunk_waits_for_room_without_losing_the_close() {
        let (mut src, mut dst) = (PipeBuf::<u8>::new(), PipeBuf::with_storage([0u8; 24]));
        dst.wr().append(&[b'.'; 10]).unwrap();
        let mut writer = BodyWriter::new(Body::Chunked);
        src.wr().close();
        let r: Result<(), E> = writer.pump(&mut Chunks, &mut src.rd(), &mut dst.wr());
        r.unwrap();
        assert!(!writer.is_done());
        assert_eq!(src.rd().pending_eof(), Some(EofKind::Close));
        dst.rd().consume_all();
        let r: Result<(), E> = writer.pump(&mut Chunks, &mut src.rd(), &mut dst.wr());
        r.unwrap();
        assert!(writer.is_done());
        assert_eq!(dst.data(), b"0\n");
    }

    #[test]
    fn length_writer_needs_the_close_and_every_announced_byte() {
        let (mut src, mut dst) = (PipeBuf::<u8>::new(), PipeBuf::<u8>::new());
        let mut writer = BodyWriter::new(Body::Length(2));
        src.wr().append(b"ab").unwrap();
        let r: Result<(), E> = writer.pump(&mut Chunks, &mut src.rd(), &mut dst.wr());
        r.unwrap();
        assert!(!writer.is_done(), "done only once the application closes");
        src.wr().close();
        let r: Result<(), E> = writer.pump(&mut Chunks, &mut src.rd(), &mut dst.wr());
        r.unwrap();
        assert!(writer.is_done());
        assert_eq!(dst.data(), b"ab");
    }
}
