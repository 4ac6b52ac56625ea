//! The send side's compressor: a message's data goes in step by step, and its compressed
//! output waits here until the sender cuts frames from it.
//!
//! The output goes through a vector, not straight into the byte buffer, because a frame's
//! header (its length first) precedes its payload and the compressed length is known only
//! afterwards; compressed bytes are usually far fewer than the message's, so this copy is
//! the cheap one. Each step compresses at most [`STEP`] input bytes and the sender frames
//! all output before the next, which bounds the vector.

use alloc::boxed::Box;
use alloc::vec::Vec;

use miniz_oxide::deflate::core::{
    CompressorOxide, TDEFLFlush, TDEFLStatus, compress_to_output, create_comp_flags_from_zip_params,
};

use super::ContextTakeover;
use super::inflater::TAIL;

/// Most input bytes compressed in one step.
pub(crate) const STEP: usize = 16 * 1024;

/// The compressor reported a failure (it documents none for valid parameters: reported
/// rather than trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompressorFailed;

/// Compresses outgoing messages.
pub(crate) struct Deflater {
    /// `None` until the first compressed message, and between messages without context
    /// takeover (about 300 KiB: boxed).
    compressor: Option<Box<CompressorOxide>>,
    level: u8,
    own_context: ContextTakeover,
    /// Messages of one record shorter than this go uncompressed.
    threshold: usize,
    /// Compressed output of the current message not yet framed: `out[framed..]`.
    out: Vec<u8>,
    framed: usize,
}

impl core::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Deflater")
            .field("allocated", &self.compressor.is_some())
            .field("own_context", &self.own_context)
            .field("waiting", &self.output().len())
            .finish_non_exhaustive()
    }
}

impl Deflater {
    pub(crate) fn new(level: u8, own_context: ContextTakeover, threshold: usize) -> Self {
        Deflater {
            compressor: None,
            level,
            own_context,
            threshold,
            out: Vec::new(),
            framed: 0,
        }
    }

    /// Compresses all of `input`, the message's next bytes; `last` ends the message with a
    /// sync flush whose trailing `00 00 ff ff` is removed (RFC 7692 §7.2.1). The output
    /// adds to [`output`](Self::output).
    pub(crate) fn compress(&mut self, input: &[u8], last: bool) -> Result<(), CompressorFailed> {
        let level = self.level;
        let compressor = self.compressor.get_or_insert_with(|| {
            // Negative window bits: a raw deflate stream, no zlib wrapper.
            let flags = create_comp_flags_from_zip_params(i32::from(level), -15, 0);
            Box::new(CompressorOxide::new(flags))
        });
        let flush = if last {
            TDEFLFlush::Sync
        } else {
            TDEFLFlush::None
        };
        let out = &mut self.out;
        // With an output callback the compressor never stops for room: it takes all the
        // input, and a sync flush always completes in this one call.
        let (status, consumed) = compress_to_output(compressor, input, flush, |bytes| {
            out.extend_from_slice(bytes);
            true
        });
        if status != TDEFLStatus::Okay || consumed != input.len() {
            return Err(CompressorFailed);
        }
        if last {
            if !self.out[self.framed..].ends_with(&TAIL) {
                return Err(CompressorFailed);
            }
            self.out.truncate(self.out.len() - TAIL.len());
        }
        Ok(())
    }

    /// Messages of one record shorter than this go uncompressed.
    pub(crate) fn threshold(&self) -> usize {
        self.threshold
    }

    /// Compressed bytes waiting to be framed.
    pub(crate) fn output(&self) -> &[u8] {
        self.out.get(self.framed..).unwrap_or_default()
    }

    /// The first `n` bytes of [`output`](Self::output) went into a frame.
    pub(crate) fn framed(&mut self, n: usize) {
        self.framed = (self.framed + n).min(self.out.len());
        if self.framed == self.out.len() {
            self.out.clear();
            self.framed = 0;
        }
    }

    /// The message's last frame is out: free the output vector, and the compressor too
    /// without context takeover.
    pub(crate) fn end_message(&mut self) {
        self.out = Vec::new();
        self.framed = 0;
        if self.own_context == ContextTakeover::Reset {
            self.compressor = None;
        }
    }

    /// Whether the compressor's memory is allocated now.
    #[cfg(test)]
    pub(crate) fn is_allocated(&self) -> bool {
        self.compressor.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::super::inflater::Inflater;
    use super::*;
    use alloc::vec;

    fn inflate(inflater: &mut Inflater, compressed: &[u8]) -> Vec<u8> {
        let mut input = compressed.to_vec();
        input.extend_from_slice(&TAIL);
        let mut out = vec![0u8; 1 << 20];
        let r = inflater.inflate(&input, &mut out).expect("valid deflate");
        assert_eq!(r.consumed, input.len());
        out.truncate(r.written);
        out
    }

    fn message(deflater: &mut Deflater, data: &[u8]) -> Vec<u8> {
        let mut chunks = data.chunks(STEP).peekable();
        if data.is_empty() {
            deflater.compress(&[], true).expect("compressed");
        }
        while let Some(chunk) = chunks.next() {
            deflater
                .compress(chunk, chunks.peek().is_none())
                .expect("compressed");
        }
        let out = deflater.output().to_vec();
        deflater.framed(out.len());
        deflater.end_message();
        out
    }

    #[test]
    fn messages_round_trip_with_and_without_context_takeover() {
        for context in [ContextTakeover::Keep, ContextTakeover::Reset] {
            let mut deflater = Deflater::new(6, context, 0);
            let mut inflater = Inflater::new(context);
            for data in [
                &b"hello hello hello"[..],
                b"",
                &[7u8; 100_000],
                b"hello hello hello",
            ] {
                let compressed = message(&mut deflater, data);
                assert!(!compressed.ends_with(&TAIL));
                assert_eq!(inflate(&mut inflater, &compressed), data);
                inflater.end_message(false);
            }
            assert_eq!(deflater.is_allocated(), context == ContextTakeover::Keep);
        }
    }

    #[test]
    fn context_takeover_makes_a_repeated_message_smaller() {
        let text = b"a message that repeats itself, word for word, message after message";
        let mut keep = Deflater::new(6, ContextTakeover::Keep, 0);
        let first = message(&mut keep, text);
        let second = message(&mut keep, text);
        assert!(
            second.len() < first.len() / 2,
            "{} vs {}",
            second.len(),
            first.len()
        );
        let mut reset = Deflater::new(6, ContextTakeover::Reset, 0);
        assert_eq!(message(&mut reset, text), message(&mut reset, text));
    }

    #[test]
    fn framing_part_of_the_output_leaves_the_rest() {
        let mut deflater = Deflater::new(1, ContextTakeover::Keep, 0);
        deflater
            .compress(&[1, 2, 3, 4, 5, 6, 7, 8], true)
            .expect("compressed");
        let all = deflater.output().to_vec();
        deflater.framed(2);
        assert_eq!(deflater.output(), &all[2..]);
        deflater.framed(all.len());
        assert!(deflater.output().is_empty());
    }
}
