//! Stream state carried by a buffer: end-of-stream kind, the consumer-visible state and the
//! activity tripwire.

/// How a stream ended.
///
/// Close and abort are distinct outcomes and stay distinguishable through every layer of a
/// chain: a close is a clean end after which the data is complete, an abort means the stream
/// broke and the data may be incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EofKind {
    /// Clean end of stream: everything the producer meant to send was sent.
    Close,
    /// Broken stream: the producer failed or gave up; data may be missing.
    Abort,
}

/// Where a buffer's stream is, as the consumer sees it.
///
/// The push flag is independent of this state: see
/// [`PBufRd::has_pending_push`](crate::PBufRd::has_pending_push).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PBufState {
    /// The producer may still write.
    Open,
    /// The producer closed the stream; the consumer has not consumed that EOF yet
    /// (data may still be waiting ahead of it).
    Closing,
    /// The producer aborted the stream; the consumer has not consumed that EOF yet.
    Aborting,
    /// The close was consumed: nothing more will ever happen on this buffer.
    Closed,
    /// The abort was consumed: nothing more will ever happen on this buffer.
    Aborted,
}

impl PBufState {
    /// The EOF kind, if the producer has ended the stream (consumed or not).
    pub fn eof_kind(self) -> Option<EofKind> {
        match self {
            PBufState::Open => None,
            PBufState::Closing | PBufState::Closed => Some(EofKind::Close),
            PBufState::Aborting | PBufState::Aborted => Some(EofKind::Abort),
        }
    }

    /// Whether the consumer has consumed the EOF.
    pub fn is_done(self) -> bool {
        matches!(self, PBufState::Closed | PBufState::Aborted)
    }
}

/// Stream end as stored in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Eof {
    Open,
    Pending(EofKind),
    Consumed(EofKind),
}

impl Eof {
    pub(crate) fn state(self) -> PBufState {
        match self {
            Eof::Open => PBufState::Open,
            Eof::Pending(EofKind::Close) => PBufState::Closing,
            Eof::Pending(EofKind::Abort) => PBufState::Aborting,
            Eof::Consumed(EofKind::Close) => PBufState::Closed,
            Eof::Consumed(EofKind::Abort) => PBufState::Aborted,
        }
    }
}

/// A snapshot of everything observable about a buffer, for exact activity detection.
///
/// Take one before a component's `process()` work and compare it with one taken after: they
/// differ if and only if something was consumed, produced, pushed, or the EOF state changed.
/// The counts are totals since the buffer was created, so reading and writing the same number
/// of elements in one call still shows as activity.
///
/// ```
/// use pipebuf::PipeBuf;
///
/// let mut pb = PipeBuf::<u8>::new();
/// pb.wr().append(b"abc").unwrap();
/// let before = pb.tripwire();
/// pb.rd().consume(3).unwrap();
/// pb.wr().append(b"xyz").unwrap();
/// assert_eq!(pb.len(), 3); // same length as before ...
/// assert_ne!(pb.tripwire(), before); // ... but the activity is seen
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tripwire {
    pub(crate) consumed: usize,
    pub(crate) produced: usize,
    pub(crate) push: bool,
    pub(crate) state: PBufState,
}
