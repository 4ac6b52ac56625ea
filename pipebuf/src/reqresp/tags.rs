//! Tags for multiplexed protocols: how the caller's codec carries them, and handing them
//! out without reuse while in flight.

use super::{Decoder, Encoder};

/// How a multiplexed protocol carries the tag that pairs a response with its request.
///
/// `E` encodes the outgoing messages and `D` decodes the incoming ones: for a client those
/// are requests and responses, for a server the other way round. The same implementation
/// often serves both sides.
pub trait Tagging<E: Encoder, D: Decoder> {
    /// Puts `tag` into an outgoing message before it is encoded.
    fn set_tag(&mut self, message: &mut E::Item, tag: u32);
    /// Reads the tag of a decoded incoming message.
    fn tag_of(&self, message: &D::Item<'_>) -> u32;
}

/// What a multiplexed client does with a response that arrives after its request timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LatePolicy {
    /// Skip it silently (the default).
    #[default]
    Drop,
    /// Report it as [`MuxEvent::Late`](super::MuxEvent::Late).
    Report,
}

/// Hands out tags from `0..=max` round-robin, skipping tags still taken.
#[derive(Debug, Clone)]
pub(crate) struct TagSpace {
    max: u32,
    next: u32,
}

impl TagSpace {
    pub(crate) fn new(max: u32) -> Self {
        TagSpace { max, next: 0 }
    }

    /// How many tags there are, saturated at `usize::MAX`.
    pub(crate) fn size(&self) -> usize {
        usize::try_from(u64::from(self.max) + 1).unwrap_or(usize::MAX)
    }

    /// The next tag for which `taken` says no. The caller ensures one exists (fewer tags
    /// taken than [`size`](TagSpace::size)); the search then ends after at most as many
    /// steps as there are tags taken, plus one.
    pub(crate) fn alloc(&mut self, taken: impl Fn(u32) -> bool) -> Option<u32> {
        let mut tag = self.next;
        for _ in 0..=self.max {
            let next = if tag == self.max { 0 } else { tag + 1 };
            if !taken(tag) {
                self.next = next;
                return Some(tag);
            }
            tag = next;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_go_round_robin_and_skip_the_taken_ones() {
        let mut space = TagSpace::new(3);
        assert_eq!(space.size(), 4);
        assert_eq!(space.alloc(|_| false), Some(0));
        assert_eq!(space.alloc(|t| t == 1), Some(2));
        assert_eq!(space.alloc(|_| false), Some(3));
        assert_eq!(space.alloc(|_| false), Some(0));
        assert_eq!(space.alloc(|_| true), None);
    }

    #[test]
    fn the_whole_u32_space_has_a_size() {
        assert_eq!(TagSpace::new(u32::MAX).size(), 1 << 32);
    }
}
