//! The codec traits: how a message becomes bytes, and bytes become a message.

use crate::PBufWr;

/// How the body after a message head is framed on the wire, as the codec announces it.
///
/// A body flows through its own [`PipeBuf`](crate::PipeBuf): the component moves its bytes
/// between the connection's buffer and the body buffer, so the head's decoder never sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// No body: the next message follows the head at once.
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// A sequence of chunks follows the head, each a chunk header
    /// ([`Decoder::decode_chunk`], [`Encoder::encode_chunk`]) and that many bytes; a chunk
    /// of length 0 ends the body.
    Chunked,
}

/// A decoded message head: the message, the bytes it spans and the body that follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head<M> {
    /// The message, typically borrowing from the buffer's data.
    pub message: M,
    /// How many bytes the head spans; the component consumes exactly these.
    pub len: usize,
    /// The body after the head.
    pub body: Body,
}

/// A decoded chunk header of a [`Body::Chunked`] body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHead {
    /// How many bytes the chunk header spans (the component consumes them).
    pub len: usize,
    /// How many body bytes follow the header; 0 ends the body.
    pub data_len: u64,
}

/// Whether an encoder wrote its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoded {
    /// The whole message head was written; this body must follow it.
    Written(Body),
    /// The output buffer has no room for the whole head now; nothing was written.
    Full,
}

/// Reads messages in place from a buffer's data, in the shape of `httparse` and
/// [`framing`](crate::framing): borrow, report the length, never consume.
///
/// `decode` looks at the start of `data` (the whole waiting data of the incoming buffer) and
/// returns `Ok(None)` when it needs more bytes, or the message and how many bytes it spans.
/// The component consumes exactly that many, so bytes after the message are never lost. An
/// error means the stream cannot be resynchronised; the component fails the connection.
pub trait Decoder {
    /// The decoded message; may borrow from the data.
    type Item<'d>;
    /// Why the data is not a valid message.
    type Error;

    /// The message head at the start of `data`, or `None` if more input is needed.
    fn decode<'d>(&mut self, data: &'d [u8]) -> Result<Option<Head<Self::Item<'d>>>, Self::Error>;

    /// The chunk header at the start of `data` in a [`Body::Chunked`] body, or `None` if more
    /// input is needed. `first` tells whether this is the body's first chunk header (HTTP,
    /// for one, puts a CRLF between chunks). The default ends the body at once without
    /// consuming anything: a codec that never announces chunked bodies need not write it.
    fn decode_chunk(&mut self, data: &[u8], first: bool) -> Result<Option<ChunkHead>, Self::Error> {
        let _ = (data, first);
        Ok(Some(ChunkHead {
            len: 0,
            data_len: 0,
        }))
    }
}

/// Writes messages into a buffer whole or not at all, like the
/// [`framing`](crate::framing) encoders: a full buffer says [`Encoded::Full`] and the
/// caller keeps its message for later.
pub trait Encoder {
    /// The message to encode.
    type Item;
    /// Why the message cannot be encoded (not "no room": that is [`Encoded::Full`]).
    type Error;

    /// Writes `item`'s head into `wr` and says which body follows, or writes nothing and
    /// returns [`Encoded::Full`]. Must not write a part of a head.
    fn encode(&mut self, item: &Self::Item, wr: &mut PBufWr<'_>) -> Result<Encoded, Self::Error>;

    /// The most bytes [`encode_chunk`](Encoder::encode_chunk) writes. Default 0.
    fn max_chunk_header(&self) -> usize {
        0
    }

    /// Writes the header of a chunk of `data_len` bytes (0: the body's last, empty chunk)
    /// into the start of `out` (exactly [`max_chunk_header`](Encoder::max_chunk_header)
    /// bytes long) and returns how many bytes it used. The component reserves the room
    /// for header and data together, so a chunk goes out whole or not at all. The default
    /// writes nothing, for codecs that never announce [`Body::Chunked`].
    fn encode_chunk(
        &mut self,
        data_len: usize,
        first: bool,
        out: &mut [u8],
    ) -> Result<usize, Self::Error> {
        let _ = (data_len, first, out);
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A codec that writes the defaults for chunks.
    struct NoChunks;

    impl Decoder for NoChunks {
        type Item<'d> = &'d [u8];
        type Error = ();
        fn decode<'d>(&mut self, data: &'d [u8]) -> Result<Option<Head<&'d [u8]>>, ()> {
            Ok(data.first().map(|_| Head {
                message: &data[..1],
                len: 1,
                body: Body::None,
            }))
        }
    }

    impl Encoder for NoChunks {
        type Item = u8;
        type Error = ();
        fn encode(&mut self, item: &u8, wr: &mut PBufWr<'_>) -> Result<Encoded, ()> {
            Ok(match wr.append(&[*item]) {
                Ok(()) => Encoded::Written(Body::None),
                Err(_) => Encoded::Full,
            })
        }
    }

    #[test]
    fn default_chunk_decoding_ends_the_body_without_consuming() {
        assert_eq!(
            NoChunks.decode_chunk(b"anything", true),
            Ok(Some(ChunkHead {
                len: 0,
                data_len: 0
            }))
        );
    }

    #[test]
    fn default_chunk_encoding_writes_nothing() {
        assert_eq!(NoChunks.max_chunk_header(), 0);
        assert_eq!(NoChunks.encode_chunk(5, true, &mut []), Ok(0));
    }
}
