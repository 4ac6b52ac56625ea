//! The receive side's decompressor: one raw deflate stream per connection (or per message
//! without context takeover), allocated when the first compressed message arrives.

use alloc::boxed::Box;

use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

use super::ContextTakeover;

/// What the sender strips from the end of every compressed message (the empty stored
/// block of a sync flush) and the receiver puts back before inflating its end
/// (RFC 7692 §7.2.2).
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The result of one [`Inflater::inflate`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Inflated {
    /// Input bytes taken.
    pub(crate) consumed: usize,
    /// Output bytes written.
    pub(crate) written: usize,
    /// The stream ended (a block with BFINAL set, all its output delivered): no more input
    /// belongs to it, and the next message starts a new stream.
    pub(crate) ended: bool,
}

/// The compressed data is not valid deflate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadData;

/// Inflates compressed messages.
pub(crate) struct Inflater {
    /// `None` until the first compressed message, and between messages without context
    /// takeover (43 KiB each: boxed, never on the stack).
    state: Option<Box<InflateState>>,
    /// The peer's compressor's context across messages, as agreed.
    peer_context: ContextTakeover,
}

impl core::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Inflater")
            .field("allocated", &self.state.is_some())
            .field("peer_context", &self.peer_context)
            .finish()
    }
}

impl Inflater {
    pub(crate) fn new(peer_context: ContextTakeover) -> Self {
        Inflater {
            state: None,
            peer_context,
        }
    }

    /// Inflates as much of `input` into `out` as both allow. Output the decompressor holds
    /// back for lack of room comes out in later calls, even with no input.
    pub(crate) fn inflate(&mut self, input: &[u8], out: &mut [u8]) -> Result<Inflated, BadData> {
        if out.is_empty() {
            return Ok(Inflated {
                consumed: 0,
                written: 0,
                ended: false,
            });
        }
        let state = self
            .state
            .get_or_insert_with(|| InflateState::new_boxed(DataFormat::Raw));
        let result = inflate(state, input, out, MZFlush::None);
        let ended = match result.status {
            Ok(MZStatus::Ok) => false,
            Ok(MZStatus::StreamEnd) => true,
            // "No progress possible": no input, or no output held back. Not an error.
            Err(MZError::Buf) => false,
            Ok(MZStatus::NeedDict) | Err(_) => return Err(BadData),
        };
        Ok(Inflated {
            consumed: result.bytes_consumed,
            written: result.bytes_written,
            ended,
        })
    }

    /// A message ended (its stream too, if `stream_ended`): without context takeover, or
    /// after a final block, the next message starts afresh, so the state goes.
    pub(crate) fn end_message(&mut self, stream_ended: bool) {
        if stream_ended || self.peer_context == ContextTakeover::Reset {
            self.state = None;
        }
    }

    /// Whether the decompressor's memory is allocated now.
    #[cfg(test)]
    pub(crate) fn is_allocated(&self) -> bool {
        self.state.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use miniz_oxide::deflate::compress_to_vec;

    /// Inflates `input` then the tail, with `room`-byte outputs, and returns the output.
    fn inflate_all(inflater: &mut Inflater, input: &[u8], room: usize) -> Result<Vec<u8>, BadData> {
        let mut out = Vec::new();
        for part in [input, &TAIL[..]] {
            let mut rest = part;
            loop {
                let mut buf = vec![0u8; room];
                let r = inflater.inflate(rest, &mut buf)?;
                out.extend_from_slice(&buf[..r.written]);
                rest = &rest[r.consumed..];
                if r.ended || (rest.is_empty() && r.written < room) {
                    break;
                }
            }
        }
        Ok(out)
    }

    #[test]
    fn a_final_block_stream_inflates_and_ends() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 7) as u8).collect();
        let compressed = compress_to_vec(&data, 6);
        let mut inflater = Inflater::new(ContextTakeover::Keep);
        assert_eq!(inflate_all(&mut inflater, &compressed, 100), Ok(data));
        inflater.end_message(true);
        assert!(!inflater.is_allocated());
    }

    #[test]
    fn garbage_is_bad_data() {
        let mut inflater = Inflater::new(ContextTakeover::Keep);
        // BTYPE 11 is reserved.
        assert_eq!(
            inflate_all(&mut inflater, &[0xff, 0xff, 0xff], 64),
            Err(BadData)
        );
    }

    #[test]
    fn without_context_takeover_the_state_goes_after_each_message() {
        let mut inflater = Inflater::new(ContextTakeover::Reset);
        let mut out = [0u8; 8];
        inflater
            .inflate(&TAIL, &mut out)
            .expect("an empty stored block");
        assert!(inflater.is_allocated());
        inflater.end_message(false);
        assert!(!inflater.is_allocated());
        let mut kept = Inflater::new(ContextTakeover::Keep);
        kept.inflate(&TAIL, &mut out)
            .expect("an empty stored block");
        kept.end_message(false);
        assert!(kept.is_allocated());
    }
}
