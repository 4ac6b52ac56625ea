//! The harness the connection bodies share: the fake peer at the far end of a component's
//! byte stream ([`Wire`]) and the loop that calls a component until it settles
//! ([`settle`]), and the checks on the one error a component may report.

use std::fmt::Debug;

use pipebuf::{EofKind, PBufRdWr, PipeBufPair};

/// A component's byte stream and the fake peer at its far end: the peer feeds pieces, takes
/// every byte the component writes and records it, and how that output ended.
pub(crate) struct Wire {
    /// The buffers: the component uses the upper end, the peer the lower one.
    pub(crate) pair: PipeBufPair,
    /// Every byte the component wrote so far, when kept (see [`Wire::keeping`]).
    pub(crate) out: Vec<u8>,
    /// Whether [`take`](Wire::take) keeps what it takes in `out`.
    keep: bool,
    /// How the component's output ended.
    pub(crate) ended: Option<EofKind>,
}

impl Wire {
    /// A wire whose peer drops what it takes.
    pub(crate) fn new() -> Wire {
        Wire {
            pair: PipeBufPair::new(),
            out: Vec::new(),
            keep: false,
            ended: None,
        }
    }

    /// A wire whose peer keeps every byte it takes in `out`, for bodies that check it.
    pub(crate) fn keeping() -> Wire {
        Wire {
            keep: true,
            ..Wire::new()
        }
    }

    /// The component's end.
    pub(crate) fn upper(&mut self) -> PBufRdWr<'_> {
        self.pair.upper()
    }

    /// The peer sends `piece` (unless it has ended its stream).
    pub(crate) fn feed(&mut self, piece: &[u8]) {
        let mut peer = self.pair.lower();
        if !peer.wr.is_eof() {
            peer.wr.append(piece).expect("the wire takes every piece");
        }
    }

    /// The peer takes every byte the component wrote, its push and its end; returns whether
    /// anything changed.
    pub(crate) fn take(&mut self) -> bool {
        let mut peer = self.pair.lower();
        let before = peer.rd.tripwire();
        if self.keep {
            self.out.extend_from_slice(peer.rd.data());
        }
        peer.rd.consume_all();
        peer.rd.consume_push();
        if let Some(kind) = peer.rd.consume_eof() {
            self.ended = Some(kind);
        }
        before != peer.rd.tripwire()
    }

    /// The peer ends its stream as `end` says (nothing for `None`); returns whether this
    /// ended it (it had not ended before).
    pub(crate) fn end(&mut self, end: Option<EofKind>) -> bool {
        let mut peer = self.pair.lower();
        if peer.wr.is_eof() {
            return false;
        }
        match end {
            Some(EofKind::Close) => peer.wr.close(),
            Some(EofKind::Abort) => peer.wr.abort(),
            None => return false,
        }
        true
    }
}

/// Calls `step` (one call of the component, then of the application and the peer) until it
/// reports no activity twice in a row. `step` returns whether anything was active and whether
/// the call counts against `budget`; the call that passes the budget panics.
pub(crate) fn settle(budget: usize, mut step: impl FnMut() -> (bool, bool)) {
    let (mut idle, mut spent) = (0, 0);
    loop {
        let (active, counted) = step();
        if counted {
            spent += 1;
            assert!(spent <= budget, "no settling within {budget} calls");
        }
        if active {
            idle = 0;
        } else {
            idle += 1;
            if idle == 2 {
                return;
            }
        }
    }
}

/// Takes one `process` result: an error is recorded in `error`, with how the application's
/// incoming stream stood then in `end_before_error`, and counts as activity; a second error
/// panics.
pub(crate) fn first_error<E: Debug>(
    result: Result<bool, E>,
    error: &mut Option<E>,
    end_before_error: &mut Option<Option<EofKind>>,
    incoming_end: Option<EofKind>,
) -> bool {
    match result {
        Ok(active) => active,
        Err(e) => {
            assert!(error.is_none(), "a second error {e:?} after {error:?}");
            *end_before_error = Some(incoming_end);
            *error = Some(e);
            true
        }
    }
}

/// Once settled after an error: the application's incoming stream was aborted (unless it
/// had ended before the error) and the byte stream to the peer has ended.
pub(crate) fn check_ends_after_error<E: Debug>(
    error: &Option<E>,
    end_before_error: Option<Option<EofKind>>,
    incoming_end: Option<EofKind>,
    outgoing_end: Option<EofKind>,
) {
    if let Some(error) = error {
        if end_before_error == Some(None) {
            assert_eq!(
                incoming_end,
                Some(EofKind::Abort),
                "after {error:?} the incoming stream must be aborted"
            );
        }
        assert!(
            outgoing_end.is_some(),
            "after {error:?} the byte side never ended"
        );
    }
}
