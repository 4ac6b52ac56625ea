//! Request bodies: the chunked decoder (RFC 9112 §7.1) as a state machine fed any split of
//! its input, and the chunk framing of response bodies.

use pipebuf::PBufWr;

use super::error::Refusal;

/// Longest chunk-size line accepted (digits and extensions, without its CRLF): a chunk
/// extension is no place for kilobytes of data, and a bound keeps a dribbling peer's cost
/// fixed.
const MAX_SIZE_LINE: usize = 1024;

/// Longest trailer section accepted (its field lines with their CRLFs, without the final
/// empty line; trailers are read and dropped).
const MAX_TRAILERS: usize = 8 * 1024;

/// Where the decoder is in a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunked {
    /// Reading the chunk size's hex digits: the value so far and the line length so far.
    Size {
        value: u64,
        digits: usize,
        line: usize,
    },
    /// After the size: a chunk extension up to the CR.
    Extension { value: u64, line: usize },
    /// The size line's CR came; its LF must follow.
    SizeLf { value: u64 },
    /// Inside a chunk's data, with this many bytes left.
    Data { left: u64 },
    /// After a chunk's data: its CR.
    DataCr,
    /// After a chunk's data: its LF.
    DataLf,
    /// At the start of a trailer line (or of the final empty line); `seen` trailer bytes.
    TrailerStart { seen: usize },
    /// Inside a trailer line.
    Trailer { seen: usize },
    /// A trailer line's CR came.
    TrailerLf { seen: usize },
    /// The final empty line's CR came.
    EndLf,
    /// The body is complete.
    Done,
}

impl Chunked {
    /// At the start of a chunked body.
    pub(crate) const START: Chunked = Chunked::Size {
        value: 0,
        digits: 0,
        line: 0,
    };

    /// Reads framing from the start of `input` until chunk data (or the end of the body, or
    /// of the input) is reached; returns how many bytes it used, all to be consumed.
    pub(crate) fn skip_framing(&mut self, input: &[u8]) -> Result<usize, Refusal> {
        let mut used = 0;
        for &b in input {
            if matches!(self, Chunked::Data { .. } | Chunked::Done) {
                break;
            }
            used += 1;
            *self = self.step(b)?;
        }
        Ok(used)
    }

    /// One framing byte.
    fn step(self, b: u8) -> Result<Chunked, Refusal> {
        use Chunked::*;
        Ok(match self {
            Size {
                value,
                digits,
                line,
            } => {
                if line >= MAX_SIZE_LINE {
                    return Err(Refusal::BadChunk);
                }
                match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        let digit = match b {
                            b'0'..=b'9' => b - b'0',
                            b'a'..=b'f' => b - b'a' + 10,
                            _ => b - b'A' + 10,
                        };
                        // 16 hex digits fill a u64; a 17th is an overflow whatever its value.
                        if digits >= 16 {
                            return Err(Refusal::BadChunk);
                        }
                        Size {
                            value: value << 4 | u64::from(digit),
                            digits: digits + 1,
                            line: line + 1,
                        }
                    }
                    // No digit at all is no size; whitespace before `;` is tolerated by RFC
                    // 9112's BWS only inside extensions, which start with `;`.
                    b';' if digits > 0 => Extension {
                        value,
                        line: line + 1,
                    },
                    b'\r' if digits > 0 => SizeLf { value },
                    _ => return Err(Refusal::BadChunk),
                }
            }
            Extension { value, line } => match b {
                // The CR ends the line; only a byte that lengthens it can pass the limit.
                b'\r' => SizeLf { value },
                b'\n' => return Err(Refusal::BadChunk),
                _ if line >= MAX_SIZE_LINE => return Err(Refusal::BadChunk),
                b'\t' | 0x20..=0x7e | 0x80..=0xff => Extension {
                    value,
                    line: line + 1,
                },
                _ => return Err(Refusal::BadChunk),
            },
            SizeLf { value } => match b {
                b'\n' if value == 0 => TrailerStart { seen: 0 },
                b'\n' => Data { left: value },
                _ => return Err(Refusal::BadChunk),
            },
            DataCr => match b {
                b'\r' => DataLf,
                _ => return Err(Refusal::BadChunk),
            },
            DataLf => match b {
                b'\n' => Chunked::START,
                _ => return Err(Refusal::BadChunk),
            },
            // `seen` counts the trailer bytes before `b`: each byte of a field line, its CRLF
            // included, must stay within the limit.
            TrailerStart { seen } => match b {
                b'\r' => EndLf,
                b'\n' | b' ' | b'\t' => return Err(Refusal::BadChunk),
                _ if seen >= MAX_TRAILERS => return Err(Refusal::BadChunk),
                _ => Trailer { seen: seen + 1 },
            },
            Trailer { seen } => match b {
                _ if seen >= MAX_TRAILERS => return Err(Refusal::BadChunk),
                b'\r' => TrailerLf { seen: seen + 1 },
                b'\n' => return Err(Refusal::BadChunk),
                _ => Trailer { seen: seen + 1 },
            },
            TrailerLf { seen } => match b {
                b'\n' if seen < MAX_TRAILERS => TrailerStart { seen: seen + 1 },
                _ => return Err(Refusal::BadChunk),
            },
            EndLf => match b {
                b'\n' => Done,
                _ => return Err(Refusal::BadChunk),
            },
            // Not called in these states (see `skip_framing`).
            Data { .. } | Done => self,
        })
    }

    /// Data bytes the current chunk still holds (0 outside chunk data).
    pub(crate) fn data_left(&self) -> u64 {
        match self {
            Chunked::Data { left } => *left,
            _ => 0,
        }
    }

    /// `n` (at most [`data_left`](Self::data_left)) data bytes were taken.
    pub(crate) fn take_data(&mut self, n: u64) {
        if let Chunked::Data { left } = self {
            *left = left.saturating_sub(n);
            if *left == 0 {
                *self = Chunked::DataCr;
            }
        }
    }
}

/// Room a chunk header and trailer take at most: 16 hex digits and two CRLFs.
const CHUNK_OVERHEAD: usize = 16 + 4;

/// Writes as much of `data` as fits into `wr` as one chunk (`SIZE\r\nDATA\r\n`); returns how
/// many bytes of `data` went (0 when there is no room for a chunk with at least one byte).
pub(crate) fn write_chunk(wr: &mut PBufWr<'_>, data: &[u8]) -> usize {
    if data.is_empty() {
        return 0;
    }
    let room = wr.room();
    let n = data.len().min(room.saturating_sub(CHUNK_OVERHEAD));
    if n == 0 {
        return 0;
    }
    let mut hex = [0u8; 16];
    let digits = hex_digits(n as u64, &mut hex);
    let total = digits.len() + 2 + n + 2;
    let Ok(space) = wr.space(total) else {
        return 0;
    };
    let (size, rest) = space.split_at_mut(digits.len());
    size.copy_from_slice(digits);
    let (crlf, rest) = rest.split_at_mut(2);
    crlf.copy_from_slice(b"\r\n");
    let (body, end) = rest.split_at_mut(n);
    body.copy_from_slice(&data[..n]);
    end.copy_from_slice(b"\r\n");
    if wr.commit(total).is_err() {
        return 0;
    }
    n
}

/// The last chunk and the empty trailer section.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// `n` in lower-case hex, in the end of `buf`.
fn hex_digits(mut n: u64, buf: &mut [u8; 16]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b"0123456789abcdef"[(n & 15) as usize];
        n >>= 4;
        if n == 0 || at == 0 {
            break;
        }
    }
    &buf[at..]
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use pipebuf::PipeBuf;

    use super::*;

    /// Decodes `input` fed in pieces cut at `cuts`; the data, or the refusal.
    fn decode(input: &[u8], piece: usize) -> Result<(Vec<u8>, bool), Refusal> {
        let mut state = Chunked::START;
        let mut data = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        for part in input.chunks(piece.max(1)) {
            pending.extend_from_slice(part);
            loop {
                let used = state.skip_framing(&pending)?;
                pending.drain(..used);
                let n = (state.data_left() as usize).min(pending.len());
                data.extend(pending.drain(..n));
                state.take_data(n as u64);
                if used == 0 && n == 0 {
                    break;
                }
            }
        }
        Ok((data, state == Chunked::Done && pending.is_empty()))
    }

    const BODY: &[u8] =
        b"5\r\nhello\r\n7;name=\"v\"\r\n, world\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n";

    #[test]
    fn a_chunked_body_decodes_the_same_split_at_every_byte() {
        for piece in 1..=BODY.len() {
            let (data, done) = decode(BODY, piece).unwrap();
            assert_eq!(data, b"hello, world0123456789", "piece {piece}");
            assert!(done);
        }
    }

    #[test]
    fn bytes_after_the_last_chunk_are_left_for_the_next_request() {
        let mut input = BODY.to_vec();
        input.extend_from_slice(b"GET /");
        let mut state = Chunked::START;
        let mut at = 0;
        while state != Chunked::Done {
            at += state.skip_framing(&input[at..]).unwrap();
            let n = state.data_left() as usize;
            state.take_data(n as u64);
            at += n;
        }
        assert_eq!(&input[at..], b"GET /");
    }

    #[test]
    fn bad_chunk_sizes_are_refused() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"-1\r\n",
            b" 5\r\n",
            b"5 \r\n",
            b"0x5\r\n",
            b"11111111111111111\r\n",
            b"5\n",
            b"5\r\r",
            b"5\r\nhelloXY",
            b"5\r\nhello\n",
        ] {
            assert_eq!(decode(bad, 1).err(), Some(Refusal::BadChunk), "{bad:?}");
        }
    }

    #[test]
    fn the_largest_chunk_size_is_accepted_without_overflow() {
        let mut state = Chunked::START;
        state.skip_framing(b"ffffffffffffffff\r\n").unwrap();
        assert_eq!(state.data_left(), u64::MAX);
    }

    #[test]
    fn an_endless_size_line_or_trailer_is_refused() {
        let mut line = b"5;".to_vec();
        line.resize(MAX_SIZE_LINE + 10, b'a');
        assert_eq!(decode(&line, 7).err(), Some(Refusal::BadChunk));
        let mut trailer = b"0\r\nX: ".to_vec();
        trailer.resize(MAX_TRAILERS + 10, b'a');
        assert_eq!(decode(&trailer, 100).err(), Some(Refusal::BadChunk));
    }

    #[test]
    fn a_size_line_of_exactly_the_limit_is_accepted_and_one_byte_more_is_refused() {
        let mut line = b"3;".to_vec();
        line.resize(MAX_SIZE_LINE, b'e');
        let mut body = line.clone();
        body.extend_from_slice(b"\r\nabc\r\n0\r\n\r\n");
        assert_eq!(decode(&body, 1), Ok((b"abc".to_vec(), true)));
        line.push(b'e');
        line.extend_from_slice(b"\r\n");
        assert_eq!(decode(&line, 1).err(), Some(Refusal::BadChunk));
    }

    #[test]
    fn a_trailer_section_of_exactly_the_limit_is_accepted_and_one_byte_more_is_refused() {
        // Field lines of 8 bytes with their CRLF fill the limit exactly.
        let mut body = b"0\r\n".to_vec();
        for _ in 0..MAX_TRAILERS / 8 {
            body.extend_from_slice(b"X: abc\r\n");
        }
        body.extend_from_slice(b"\r\n");
        assert_eq!(decode(&body, 7), Ok((Vec::new(), true)));
        // One more byte in a field line, or one more field line of any length, is too long.
        let mut longer = body.clone();
        longer.insert(4, b'Y');
        assert_eq!(decode(&longer, 7).err(), Some(Refusal::BadChunk));
        let mut more = body[..body.len() - 2].to_vec();
        more.extend_from_slice(b"Z\r\n\r\n");
        assert_eq!(decode(&more, 7).err(), Some(Refusal::BadChunk));
    }

    #[test]
    fn a_chunk_is_written_with_its_hex_size_and_crlfs() {
        let mut buf = PipeBuf::<u8>::new();
        assert_eq!(write_chunk(&mut buf.wr(), b"0123456789abcdefXYZ"), 19);
        assert_eq!(buf.data(), b"13\r\n0123456789abcdefXYZ\r\n");
    }

    #[test]
    fn a_chunk_shrinks_to_the_room_left_and_round_trips() {
        let mut buf = PipeBuf::<u8>::with_limits(64, 64);
        let data = [7u8; 100];
        let n = write_chunk(&mut buf.wr(), &data);
        assert_eq!(n, 64 - CHUNK_OVERHEAD);
        assert_eq!(write_chunk(&mut buf.wr(), &data), 0);
        let mut encoded = buf.data().to_vec();
        encoded.extend_from_slice(LAST_CHUNK);
        let (decoded, done) = decode(&encoded, 3).unwrap();
        assert_eq!(decoded, &data[..n]);
        assert!(done);
    }
}
