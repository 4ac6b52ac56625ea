//! Writing a connection's frames, shared by client and server: resets, credits, and data
//! frames taken from the streams in turn.

use alloc::collections::BTreeMap;
use core::ops::Bound;

use super::flow::{Inbound, Next, Outbound};
use super::frame::{Emitted, FrameEncoder};
use crate::PBufWr;
use crate::reqresp::Error;

/// A stream's bodies as the writer sees them.
pub(super) trait Bodies {
    /// The body this side sends, and whether its end may go out now.
    fn outbound(&mut self) -> Option<(&mut Outbound, bool)>;
    /// The body this side receives, while credit may be due for it.
    fn inbound(&mut self) -> Option<&mut Inbound>;
}

/// A stream whose outgoing body [`RoundRobin::send`] finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Finished {
    /// The body's last data frame is written.
    Ended(u32),
    /// The application aborted the body: the stream is to be reset.
    Aborted(u32),
}

/// Writes the queued resets, in tag order. Returns `false` if the output filled up first.
pub(super) fn send_resets<E: FrameEncoder, DE>(
    resets: &mut BTreeMap<u32, u32>,
    encoder: &mut E,
    wr: &mut PBufWr<'_>,
) -> Result<bool, Error<DE, E::Error>> {
    while let Some((&tag, &code)) = resets.first_key_value() {
        match encoder.encode_reset(tag, code, wr).map_err(Error::Encode)? {
            Emitted::Written => {
                resets.pop_first();
            }
            Emitted::Full => return Ok(false),
        }
    }
    Ok(true)
}

/// Writes the credit due for every body being received. Returns `false` if the output
/// filled up first.
pub(super) fn send_credits<S: Bodies, E: FrameEncoder, DE>(
    tags: &mut BTreeMap<u32, S>,
    encoder: &mut E,
    wr: &mut PBufWr<'_>,
) -> Result<bool, Error<DE, E::Error>> {
    for (&tag, stream) in tags.iter_mut() {
        let Some(inbound) = stream.inbound() else {
            continue;
        };
        let Some(bytes) = inbound.grant_due() else {
            continue;
        };
        match encoder
            .encode_credit(tag, bytes, wr)
            .map_err(Error::Encode)?
        {
            Emitted::Written => inbound.granted(bytes),
            Emitted::Full => return Ok(false),
        }
    }
    Ok(true)
}

/// Takes data frames from the streams in turn: one frame of at most the maximum size per
/// stream with something to send, then the next stream, so that one big body does not
/// hold up the others.
#[derive(Debug, Clone)]
pub(super) struct RoundRobin {
    /// The tag of the stream served last.
    last: u32,
}

impl RoundRobin {
    pub(super) fn new() -> Self {
        RoundRobin { last: u32::MAX }
    }

    /// Writes data frames of at most `max_data` bytes until the output is full or no stream
    /// has anything it may send, or until a stream's body finishes: then it returns that
    /// stream, for the caller to update it and call again.
    pub(super) fn send<S: Bodies, E: FrameEncoder, DE>(
        &mut self,
        tags: &mut BTreeMap<u32, S>,
        encoder: &mut E,
        wr: &mut PBufWr<'_>,
        max_data: usize,
    ) -> Result<Option<Finished>, Error<DE, E::Error>> {
        loop {
            let Some((tag, next)) = pick(tags, self.last, max_data) else {
                return Ok(None);
            };
            let Some((out, _)) = tags.get_mut(&tag).and_then(|s| s.outbound()) else {
                return Ok(None);
            };
            match next {
                Next::Idle => return Ok(None),
                Next::Aborted => {
                    self.last = tag;
                    return Ok(Some(Finished::Aborted(tag)));
                }
                Next::Data { len, end } => match write_data(encoder, wr, tag, out, len, end)? {
                    None => return Ok(None),
                    Some(ended) => {
                        self.last = tag;
                        if ended {
                            return Ok(Some(Finished::Ended(tag)));
                        }
                    }
                },
            }
        }
    }
}

/// The first stream after `last` (wrapping round) with something to send, and what.
fn pick<S: Bodies>(tags: &mut BTreeMap<u32, S>, last: u32, max: usize) -> Option<(u32, Next)> {
    let ready = |(&tag, stream): (&u32, &mut S)| {
        let (out, end_allowed) = stream.outbound()?;
        match out.next(max, end_allowed) {
            Next::Idle => None,
            next => Some((tag, next)),
        }
    };
    let later = tags
        .range_mut((Bound::Excluded(last), Bound::Unbounded))
        .find_map(ready);
    later.or_else(|| tags.range_mut(..=last).find_map(ready))
}

/// Writes one data frame of up to `len` bytes of `out` (fewer if the output has less room;
/// the end only with the last byte). Returns `None` when not even a header and a byte fit,
/// else whether the end was written.
fn write_data<E: FrameEncoder, DE>(
    encoder: &mut E,
    wr: &mut PBufWr<'_>,
    tag: u32,
    out: &mut Outbound,
    len: usize,
    end: bool,
) -> Result<Option<bool>, Error<DE, E::Error>> {
    let max_header = encoder.max_data_header();
    let data = out.data(len);
    let len = data.len();
    let space = wr.space_upto(max_header.saturating_add(len))?;
    let room = space.len().saturating_sub(max_header);
    if space.len() < max_header || (room == 0 && len > 0) {
        wr.unreserve();
        return Ok(None);
    }
    let n = room.min(len);
    let end = end && n == len;
    let (head, _) = space.split_at_mut(max_header);
    let h = encoder
        .encode_data_header(tag, n, end, head)
        .map_err(Error::Encode)?;
    let total = h.saturating_add(n);
    // A header longer than announced is the codec's bug: an error, not a panic.
    let (Some(dst), Some(src)) = (space.get_mut(h..total), data.get(..n)) else {
        wr.unreserve();
        return Err(Error::Buffer(crate::Error::CommitBeyondReserved {
            requested: total,
            reserved: max_header.saturating_add(n),
        }));
    };
    dst.copy_from_slice(src);
    wr.commit(total)?;
    wr.unreserve();
    out.sent(n, end);
    Ok(Some(end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PipeBuf;
    use crate::reqresp::stream::{FrameDecoder, StreamFrames, WireError};

    type E = Error<WireError, WireError>;

    /// A stream that only sends.
    struct Sender(Outbound, bool);

    impl Bodies for Sender {
        fn outbound(&mut self) -> Option<(&mut Outbound, bool)> {
            Some((&mut self.0, self.1))
        }
        fn inbound(&mut self) -> Option<&mut Inbound> {
            None
        }
    }

    fn sender(data: &[u8], credit: u32, close: bool) -> Sender {
        let mut out = Outbound::new(1024);
        out.wr().append(data).unwrap();
        if close {
            out.wr().close();
        }
        out.add_credit(credit).unwrap();
        Sender(out, true)
    }

    /// The data frames on the wire as (tag, len, end).
    fn frames(wire: &[u8]) -> Vec<(u32, usize, bool)> {
        let mut codec = StreamFrames::default();
        let (mut at, mut out) = (0, Vec::new());
        while let Some((frame, len)) = codec.decode(&wire[at..]).unwrap() {
            if let crate::reqresp::stream::Frame::Data { tag, data, end } = frame {
                out.push((tag, data.len(), end));
            }
            at += len;
        }
        out
    }

    #[test]
    fn streams_take_turns_one_frame_each() {
        let mut tags = BTreeMap::new();
        tags.insert(1, sender(&[1; 10], 100, false));
        tags.insert(2, sender(&[2; 10], 100, false));
        tags.insert(3, sender(&[3; 4], 100, false));
        let (mut wire, mut rr) = (PipeBuf::<u8>::new(), RoundRobin::new());
        let r: Result<_, E> = rr.send(&mut tags, &mut StreamFrames::new(4), &mut wire.wr(), 4);
        assert_eq!(r, Ok(None));
        assert_eq!(
            frames(wire.data()),
            [
                (1, 4, false),
                (2, 4, false),
                (3, 4, false),
                (1, 4, false),
                (2, 4, false),
                (1, 2, false),
                (2, 2, false),
            ]
        );
    }

    #[test]
    fn a_stream_without_credit_is_skipped_and_the_next_turn_starts_after_the_last_served() {
        let mut tags = BTreeMap::new();
        tags.insert(1, sender(b"abc", 0, false));
        tags.insert(2, sender(b"abc", 1, false));
        tags.insert(3, sender(b"abc", 1, false));
        let (mut wire, mut rr) = (PipeBuf::<u8>::new(), RoundRobin::new());
        let r: Result<_, E> = rr.send(&mut tags, &mut StreamFrames::default(), &mut wire.wr(), 8);
        assert_eq!(r, Ok(None));
        assert_eq!(frames(wire.data()), [(2, 1, false), (3, 1, false)]);
        for s in tags.values_mut() {
            s.0.add_credit(1).unwrap();
        }
        wire.rd().consume_all();
        let r: Result<_, E> = rr.send(&mut tags, &mut StreamFrames::default(), &mut wire.wr(), 8);
        assert_eq!(r, Ok(None));
        assert_eq!(
            frames(wire.data()),
            [(1, 1, false), (2, 1, false), (3, 1, false)]
        );
    }

    #[test]
    fn a_finished_body_is_handed_back_at_once() {
        let mut tags = BTreeMap::new();
        tags.insert(5, sender(b"xy", 10, true));
        let (mut wire, mut rr) = (PipeBuf::<u8>::new(), RoundRobin::new());
        let r: Result<_, E> = rr.send(&mut tags, &mut StreamFrames::default(), &mut wire.wr(), 8);
        assert_eq!(r, Ok(Some(Finished::Ended(5))));
        assert_eq!(frames(wire.data()), [(5, 2, true)]);
    }

    #[test]
    fn a_held_end_waits_while_the_data_goes() {
        let mut tags = BTreeMap::new();
        let mut s = sender(b"xy", 10, true);
        s.1 = false;
        tags.insert(5, s);
        let (mut wire, mut rr) = (PipeBuf::<u8>::new(), RoundRobin::new());
        let r: Result<_, E> = rr.send(&mut tags, &mut StreamFrames::default(), &mut wire.wr(), 8);
        assert_eq!(r, Ok(None));
        assert_eq!(frames(wire.data()), [(5, 2, false)]);
    }

    #[test]
    fn a_nearly_full_output_gets_a_shorter_frame_and_a_full_one_none() {
        let mut tags = BTreeMap::new();
        tags.insert(1, sender(&[0; 10], 100, true));
        let mut wire = PipeBuf::with_storage([0u8; 12]);
        let mut rr = RoundRobin::new();
        let r: Result<_, E> = rr.send(&mut tags, &mut StreamFrames::default(), &mut wire.wr(), 8);
        assert_eq!(r, Ok(None));
        assert_eq!(frames(wire.data()), [(1, 3, false)]);
        assert_eq!(tags[&1].0.buffered(), 7);
    }

    #[test]
    fn credits_and_resets_stop_at_a_full_output_without_losing_any() {
        let mut resets = BTreeMap::from([(1, 8), (2, 8)]);
        let mut wire = PipeBuf::with_storage([0u8; 20]);
        let r: Result<_, E> =
            send_resets(&mut resets, &mut StreamFrames::default(), &mut wire.wr());
        assert_eq!(r, Ok(false));
        assert_eq!(resets.len(), 1);
    }
}
