//! Moving a streamed body between the connection's buffer and the body's own buffer,
//! framed as the codec announced it.

use super::{Body, Decoder, Encoder, Error};
use crate::{EofKind, PBufRd, PBufWr};

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

    pub(crate) fn is_done(&self) -> bool {
        *self == BodyReader::Done
    }

    /// Moves body bytes from `src` into `dst` (or skips them when `dst` is `None`) until the
    /// body ends, `src` runs dry or `dst` is full. The end of a chunk pushes `dst`, the end of
    /// the body closes it. Bytes after the body are never touched.
    pub(crate) fn pump<D: Decoder, EE>(
        &mut self,
        decoder: &mut D,
        src: &mut PBufRd<'_>,
        mut dst: Option<&mut PBufWr<'_>>,
    ) -> Result<(), Error<D::Error, EE>> {
        loop {
            match *self {
                BodyReader::Done => return Ok(()),
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
                        return Ok(());
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
                        return Ok(());
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
                        let Some(body) = space.get_mut(h..h + n) else {
                            return Err(Error::Buffer(crate::Error::CommitBeyondReserved {
                                requested: h + n,
                                reserved: max + n,
                            }));
                        };
                        body.copy_from_slice(&src.data()[..n]);
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
