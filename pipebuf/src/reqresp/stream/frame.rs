//! The frame codec traits: one connection carries the frames of many streams, each frame
//! for one tag.

use crate::PBufWr;

/// One frame of a multiplexed-stream connection, for the stream named by `tag`.
///
/// `M` is the message of a head; `'d` the data a decoder borrows from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'d, M> {
    /// A request head (client to server, opening the stream) or a response head (server to
    /// client).
    Head {
        /// The stream.
        tag: u32,
        /// The head's message.
        message: M,
        /// Whether a body follows in [`Data`](Frame::Data) frames.
        body: bool,
    },
    /// Body bytes of the stream.
    Data {
        /// The stream.
        tag: u32,
        /// The bytes (possibly none).
        data: &'d [u8],
        /// Whether this is the body's last data frame.
        end: bool,
    },
    /// The receiver of a body allows its sender `bytes` more body bytes.
    Credit {
        /// The stream.
        tag: u32,
        /// How many more bytes the sender may send.
        bytes: u32,
    },
    /// Cancels the stream; `code` says why (see [`code`](super::code)).
    Reset {
        /// The stream.
        tag: u32,
        /// Why.
        code: u32,
    },
}

impl<M> Frame<'_, M> {
    /// The stream the frame belongs to.
    pub fn tag(&self) -> u32 {
        match *self {
            Frame::Head { tag, .. }
            | Frame::Data { tag, .. }
            | Frame::Credit { tag, .. }
            | Frame::Reset { tag, .. } => tag,
        }
    }
}

/// Whether a [`FrameEncoder`] wrote a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Emitted {
    /// The whole frame was written.
    Written,
    /// The output buffer has no room for the whole frame now; nothing was written.
    Full,
}

/// Reads frames in place from a connection buffer's data, like
/// [`Decoder`](super::super::Decoder): borrow, report the length, never consume.
///
/// `decode` looks at the start of `data` and returns `Ok(None)` when it needs more bytes, or
/// the frame and how many bytes it spans; the component consumes exactly that many. A data
/// frame is returned only whole, so the incoming connection buffer must be able to hold the
/// largest frame the format allows. An error means the connection cannot be resynchronised;
/// the component fails it.
pub trait FrameDecoder {
    /// The message of a head; may borrow from the data.
    type Item<'d>;
    /// Why the data is not a valid frame.
    type Error;

    /// The frame at the start of `data` with its length in bytes, or `None` if more input
    /// is needed.
    #[allow(clippy::type_complexity)] // the shape of the trait: frame and length, or none
    fn decode<'d>(
        &mut self,
        data: &'d [u8],
    ) -> Result<Option<(Frame<'d, Self::Item<'d>>, usize)>, Self::Error>;
}

/// Writes frames into a connection buffer, each whole or not at all: a full buffer says
/// [`Emitted::Full`] and the component tries again later. On an error nothing is written.
///
/// Data frames are written in two steps so that their bytes are copied once: the component
/// reserves [`max_data_header`](FrameEncoder::max_data_header) bytes plus the data, has
/// [`encode_data_header`](FrameEncoder::encode_data_header) fill the start, puts the data
/// right after the header and commits both together.
pub trait FrameEncoder {
    /// The message of a head.
    type Item;
    /// Why a frame cannot be encoded (not "no room": that is [`Emitted::Full`]).
    type Error;

    /// Writes a head frame for stream `tag`, announcing whether a body follows.
    fn encode_head(
        &mut self,
        tag: u32,
        message: &Self::Item,
        body: bool,
        wr: &mut PBufWr<'_>,
    ) -> Result<Emitted, Self::Error>;

    /// The most bytes [`encode_data_header`](FrameEncoder::encode_data_header) writes.
    fn max_data_header(&self) -> usize;

    /// The most body bytes one data frame may carry (at least 1).
    fn max_data_len(&self) -> usize;

    /// Writes the header of a data frame of `len` bytes (at most
    /// [`max_data_len`](FrameEncoder::max_data_len)) into the start of `out`, which is
    /// [`max_data_header`](FrameEncoder::max_data_header) bytes long, and returns how many
    /// bytes it used; the data follows right after them.
    fn encode_data_header(
        &mut self,
        tag: u32,
        len: usize,
        end: bool,
        out: &mut [u8],
    ) -> Result<usize, Self::Error>;

    /// Writes a credit frame: the peer may send `bytes` more body bytes on stream `tag`.
    fn encode_credit(
        &mut self,
        tag: u32,
        bytes: u32,
        wr: &mut PBufWr<'_>,
    ) -> Result<Emitted, Self::Error>;

    /// Writes a reset frame for stream `tag` with `code`.
    fn encode_reset(
        &mut self,
        tag: u32,
        code: u32,
        wr: &mut PBufWr<'_>,
    ) -> Result<Emitted, Self::Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_names_its_stream() {
        let frames: [Frame<'_, ()>; 4] = [
            Frame::Head {
                tag: 1,
                message: (),
                body: false,
            },
            Frame::Data {
                tag: 2,
                data: b"x",
                end: true,
            },
            Frame::Credit { tag: 3, bytes: 9 },
            Frame::Reset { tag: 4, code: 0 },
        ];
        let tags: Vec<u32> = frames.iter().map(Frame::tag).collect();
        assert_eq!(tags, [1, 2, 3, 4]);
    }
}
