//! The close handshake (RFC 6455 §5.5.1, §7.1): each side sends one close frame and waits
//! for the other's. Where the handshake stands is one value, so that no combination of
//! flags can claim our frame went out before it was queued, or keep a code nobody will send.
//!
//! | state | our close frame | the peer's |
//! |---|---|---|
//! | [`Open`] | — | — |
//! | [`Requested`] | code chosen, not queued | — |
//! | [`Queued`] | waits to be written | — |
//! | [`Written`] | out | — |
//! | [`PeerClosed`] | not queued | arrived |
//! | [`Answering`] | waits to be written | arrived |
//! | [`Closed`] | out | arrived |
//!
//! The component ([`WebSocket`](crate::WebSocket)) moves it on what it reads and on what
//! the application does; the sender moves it when the application's close record arrives
//! and when our frame is written. Moves that do not apply to a state leave it unchanged:
//! each side's close frame happens once, whatever asks for it again.

use alloc::string::String;
use alloc::vec::Vec;
use core::mem;

use pipebuf::Time;

use crate::frame::{CLOSE_NORMAL, MAX_CLOSE_PAYLOAD, encode_close_payload};

/// What the peer's close frame carried: its status code and reason, or `None` for a frame
/// without a status (answered without one too).
pub(crate) type PeerStatus = Option<(u16, String)>;

/// How far the close handshake has come, with what each side's close frame carries.
///
/// `since` is when the handshake began — our close frame queued or the peer's received,
/// whichever came first — because `close_timeout` bounds the whole exchange, not each
/// half of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseHandshake {
    /// Neither side has begun to close: messages flow both ways.
    Open,
    /// The application chose our close frame's code and reason
    /// ([`WebSocket::close`](crate::WebSocket::close)); the frame is queued only when it
    /// ends its outgoing stream, so messages still flow both ways until then.
    Requested {
        /// The status code asked for.
        code: u16,
        /// The reason asked for, cut to fit only when the frame is encoded.
        reason: String,
    },
    /// Our close frame waits behind the frames queued before it, or for room; the peer's
    /// has not arrived.
    Queued {
        /// The close frame's payload, encoded once so that later requests cannot change it.
        payload: Vec<u8>,
        /// When the handshake began.
        since: Time,
    },
    /// Our close frame is out, so nothing more may be sent; we wait for the peer's.
    Written {
        /// When the handshake began.
        since: Time,
    },
    /// The peer's close frame arrived; our reply waits until the application ends its
    /// outgoing stream (it may still have messages to send) or `close_timeout` passes.
    PeerClosed {
        /// What the peer's close frame carried: the reply echoes its code.
        peer: PeerStatus,
        /// When the handshake began.
        since: Time,
    },
    /// The peer's close frame arrived and ours waits to be written: a reply, or a close of
    /// ours that crossed the peer's on the wire.
    Answering {
        /// What the peer's close frame carried.
        peer: PeerStatus,
        /// Our close frame's payload.
        payload: Vec<u8>,
        /// When the handshake began.
        since: Time,
    },
    /// Both close frames went: ours is out and the peer's arrived, so the byte stream can
    /// close.
    Closed {
        /// What the peer's close frame carried.
        peer: PeerStatus,
        /// When the handshake began; the close timeout still reports it as a deadline.
        since: Time,
    },
}

use CloseHandshake::{Answering, Closed, Open, PeerClosed, Queued, Requested, Written};

impl CloseHandshake {
    // ---------------------------------------------------------------------------------
    // Where the handshake stands

    /// The peer's close frame, once it arrived.
    pub(crate) fn peer(&self) -> Option<&PeerStatus> {
        match self {
            PeerClosed { peer, .. } | Answering { peer, .. } | Closed { peer, .. } => Some(peer),
            Open | Requested { .. } | Queued { .. } | Written { .. } => None,
        }
    }

    /// Whether the peer's close frame arrived: nothing it sends after it counts.
    pub(crate) fn peer_closed(&self) -> bool {
        self.peer().is_some()
    }

    /// When the handshake began, if it did: `close_timeout` counts from here.
    pub(crate) fn since(&self) -> Option<Time> {
        match self {
            Open | Requested { .. } => None,
            Queued { since, .. }
            | Written { since }
            | PeerClosed { since, .. }
            | Answering { since, .. }
            | Closed { since, .. } => Some(*since),
        }
    }

    /// Whether the peer closed and our reply is not queued yet: the application is still
    /// expected to end its outgoing stream.
    pub(crate) fn awaits_reply(&self) -> bool {
        matches!(self, PeerClosed { .. })
    }

    /// Our close frame's payload while the frame waits to be written.
    pub(crate) fn frame_to_write(&self) -> Option<&[u8]> {
        match self {
            Queued { payload, .. } | Answering { payload, .. } => Some(payload),
            _ => None,
        }
    }

    /// Whether our close frame is out: no frame may follow it.
    pub(crate) fn ours_written(&self) -> bool {
        matches!(self, Written { .. } | Closed { .. })
    }

    /// Whether both close frames went: the byte stream can close cleanly.
    pub(crate) fn is_closed(&self) -> bool {
        matches!(self, Closed { .. })
    }

    // ---------------------------------------------------------------------------------
    // Moves

    /// The application asks for this code and reason; the last request wins, as long as
    /// our frame is not encoded yet. After the peer's close frame a request is ignored: the
    /// reply echoes the peer's code (RFC 6455 §5.5.1).
    pub(crate) fn request(&mut self, code: u16, reason: &str) {
        if matches!(self, Open | Requested { .. }) {
            *self = Requested {
                code,
                reason: reason.into(),
            };
        }
    }

    /// The application ended its outgoing stream (or the peer's close frame waited
    /// `close_timeout` for it): our frame echoes the peer's code if the peer closed first,
    /// else carries what was requested, else 1000.
    pub(crate) fn queue_ours(&mut self, now: Time) {
        *self = match mem::replace(self, Open) {
            Open => Queued {
                payload: encode(Some((CLOSE_NORMAL, ""))),
                since: now,
            },
            Requested { code, reason } => Queued {
                payload: encode(Some((code, &reason))),
                since: now,
            },
            PeerClosed { peer, since } => Answering {
                payload: encode(peer.as_ref().map(|(code, _)| (*code, ""))),
                peer,
                since,
            },
            started @ (Queued { .. } | Written { .. } | Answering { .. } | Closed { .. }) => {
                started
            }
        };
    }

    /// The application's close record arrived: like ending the stream, with the record's
    /// code and reason unless [`request`](CloseHandshake::request) chose them first (the
    /// explicit call is the more deliberate of the two).
    pub(crate) fn queue_record(&mut self, code: u16, reason: &str, now: Time) {
        match self {
            Open => {
                *self = Queued {
                    payload: encode(Some((code, reason))),
                    since: now,
                }
            }
            _ => self.queue_ours(now),
        }
    }

    /// Queues our close frame with exactly this status (`None`: an empty payload), whatever
    /// was requested, even after the peer's close frame: an error's code must reach the
    /// peer, whoever began to close.
    pub(crate) fn queue_status(&mut self, status: Option<(u16, &str)>, now: Time) {
        *self = match mem::replace(self, Open) {
            Open | Requested { .. } => Queued {
                payload: encode(status),
                since: now,
            },
            PeerClosed { peer, since } => Answering {
                peer,
                payload: encode(status),
                since,
            },
            started @ (Queued { .. } | Written { .. } | Answering { .. } | Closed { .. }) => {
                started
            }
        };
    }

    /// The byte stream ended without the peer's close frame: nobody can answer ours, so an
    /// empty one only ends our side. After the peer's close frame the reply still waits for
    /// the application, as always.
    pub(crate) fn peer_vanished(&mut self, now: Time) {
        if matches!(self, Open | Requested { .. }) {
            self.queue_status(None, now);
        }
    }

    /// The peer's close frame arrived. A code the application requested is dropped: our
    /// reply will echo the peer's. A second close frame cannot arrive (reading stops at the
    /// first), so one is ignored.
    pub(crate) fn peer_closes(&mut self, peer: PeerStatus, now: Time) {
        *self = match mem::replace(self, Open) {
            Open | Requested { .. } => PeerClosed { peer, since: now },
            Queued { payload, since } => Answering {
                peer,
                payload,
                since,
            },
            Written { since } => Closed { peer, since },
            done @ (PeerClosed { .. } | Answering { .. } | Closed { .. }) => done,
        };
    }

    /// Our close frame was written. Without a queued frame nothing was written, so nothing
    /// changes.
    pub(crate) fn written(&mut self) {
        *self = match mem::replace(self, Open) {
            Queued { since, .. } => Written { since },
            Answering { peer, since, .. } => Closed { peer, since },
            other @ (Open
            | Requested { .. }
            | Written { .. }
            | PeerClosed { .. }
            | Closed { .. }) => other,
        };
    }
}

/// A close frame's payload for `status` (`None`: empty), with the reason cut to fit.
fn encode(status: Option<(u16, &str)>) -> Vec<u8> {
    let mut payload = [0u8; MAX_CLOSE_PAYLOAD];
    let n = status.map_or(0, |(code, reason)| {
        encode_close_payload(code, reason, &mut payload)
    });
    payload[..n].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn at(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    fn payload(code: u16, reason: &str) -> Vec<u8> {
        let mut p = code.to_be_bytes().to_vec();
        p.extend_from_slice(reason.as_bytes());
        p
    }

    fn peer(code: u16, reason: &str) -> PeerStatus {
        Some((code, reason.to_string()))
    }

    #[test]
    fn a_new_handshake_has_begun_nothing_and_sets_no_deadline() {
        let h = Open;
        assert_eq!(h.since(), None);
        assert_eq!(h.peer(), None);
        assert_eq!(h.frame_to_write(), None);
        assert!(!h.ours_written() && !h.is_closed() && !h.awaits_reply());
    }

    #[test]
    fn ending_the_stream_without_a_request_queues_a_normal_close() {
        let mut h = Open;
        h.queue_ours(at(5));
        assert_eq!(h.frame_to_write(), Some(&payload(1000, "")[..]));
        assert_eq!(h.since(), Some(at(5)));
    }

    #[test]
    fn a_request_queues_nothing_and_starts_no_timer() {
        let mut h = Open;
        h.request(4000, "bye");
        assert_eq!(h.frame_to_write(), None);
        assert_eq!(h.since(), None);
    }

    #[test]
    fn ending_the_stream_after_a_request_sends_its_code_and_reason() {
        let mut h = Open;
        h.request(4000, "bye");
        h.queue_ours(at(1));
        assert_eq!(h.frame_to_write(), Some(&payload(4000, "bye")[..]));
    }

    #[test]
    fn a_second_close_request_replaces_the_first() {
        let mut h = Open;
        h.request(4000, "first");
        h.request(4001, "second");
        h.queue_ours(at(1));
        assert_eq!(h.frame_to_write(), Some(&payload(4001, "second")[..]));
    }

    #[test]
    fn a_long_reason_is_cut_to_fit_the_frame() {
        let mut h = Open;
        h.request(4000, &"x".repeat(200));
        h.queue_ours(at(1));
        assert_eq!(h.frame_to_write().map(<[u8]>::len), Some(MAX_CLOSE_PAYLOAD));
    }

    #[test]
    fn a_request_after_our_frame_is_queued_changes_nothing() {
        let mut h = Open;
        h.queue_ours(at(1));
        h.request(4000, "late");
        assert_eq!(h.frame_to_write(), Some(&payload(1000, "")[..]));
    }

    #[test]
    fn a_close_record_without_a_request_sends_its_own_code() {
        let mut h = Open;
        h.queue_record(4002, "record", at(3));
        assert_eq!(h.frame_to_write(), Some(&payload(4002, "record")[..]));
        assert_eq!(h.since(), Some(at(3)));
    }

    #[test]
    fn a_close_record_keeps_the_code_a_close_request_chose_before_it() {
        let mut h = Open;
        h.request(4000, "call");
        h.queue_record(4002, "record", at(3));
        assert_eq!(h.frame_to_write(), Some(&payload(4000, "call")[..]));
    }

    #[test]
    fn a_second_queue_keeps_the_first_payload_and_start_time() {
        let mut h = Open;
        h.queue_status(Some((1011, "")), at(1));
        h.queue_ours(at(2));
        h.queue_record(4000, "x", at(3));
        h.queue_status(None, at(4));
        assert_eq!(h.frame_to_write(), Some(&payload(1011, "")[..]));
        assert_eq!(h.since(), Some(at(1)));
    }

    #[test]
    fn writing_our_frame_waits_for_the_peers_and_allows_nothing_after_it() {
        let mut h = Open;
        h.queue_ours(at(1));
        h.written();
        assert_eq!(h, Written { since: at(1) });
        assert!(h.ours_written() && !h.is_closed());
        assert_eq!(h.frame_to_write(), None);
    }

    #[test]
    fn the_peers_close_after_ours_was_written_completes_the_handshake() {
        let mut h = Open;
        h.queue_ours(at(1));
        h.written();
        h.peer_closes(peer(1000, "ok"), at(9));
        assert!(h.is_closed());
        assert_eq!(h.peer(), Some(&peer(1000, "ok")));
        assert_eq!(h.since(), Some(at(1)));
    }

    #[test]
    fn the_peers_close_waits_for_our_reply_and_starts_the_timer() {
        let mut h = Open;
        h.peer_closes(peer(4000, "bye"), at(7));
        assert!(h.awaits_reply());
        assert_eq!(h.frame_to_write(), None);
        assert_eq!(h.since(), Some(at(7)));
    }

    #[test]
    fn the_reply_to_a_peer_close_echoes_its_code_without_the_reason() {
        let mut h = Open;
        h.peer_closes(peer(4000, "bye"), at(7));
        h.queue_ours(at(8));
        assert_eq!(h.frame_to_write(), Some(&payload(4000, "")[..]));
        assert_eq!(h.since(), Some(at(7)));
        assert!(!h.awaits_reply());
    }

    #[test]
    fn the_reply_to_a_peer_close_without_a_status_is_empty() {
        let mut h = Open;
        h.peer_closes(None, at(7));
        h.queue_ours(at(8));
        assert_eq!(h.frame_to_write(), Some(&[][..]));
        assert_eq!(h.peer(), Some(&None));
    }

    #[test]
    fn a_request_before_the_peers_close_gives_way_to_the_echo() {
        let mut h = Open;
        h.request(4000, "mine");
        h.peer_closes(peer(1001, "away"), at(2));
        h.request(4001, "later");
        h.queue_record(4002, "record", at(3));
        assert_eq!(h.frame_to_write(), Some(&payload(1001, "")[..]));
    }

    #[test]
    fn writing_the_reply_completes_the_handshake() {
        let mut h = Open;
        h.peer_closes(peer(1000, ""), at(2));
        h.queue_ours(at(3));
        h.written();
        assert_eq!(
            h,
            Closed {
                peer: peer(1000, ""),
                since: at(2)
            }
        );
        assert!(h.ours_written());
    }

    #[test]
    fn the_peers_close_crossing_ours_keeps_our_payload_and_start_time() {
        let mut h = Open;
        h.request(4000, "mine");
        h.queue_ours(at(1));
        h.peer_closes(peer(1000, "theirs"), at(2));
        assert_eq!(h.frame_to_write(), Some(&payload(4000, "mine")[..]));
        assert_eq!(h.since(), Some(at(1)));
        assert!(!h.awaits_reply());
        h.written();
        assert!(h.is_closed());
    }

    #[test]
    fn an_errors_status_replaces_the_echo_of_the_peers_code() {
        let mut h = Open;
        h.peer_closes(peer(1000, ""), at(2));
        h.queue_status(Some((1011, "")), at(3));
        assert_eq!(h.frame_to_write(), Some(&payload(1011, "")[..]));
        assert_eq!(h.since(), Some(at(2)));
    }

    #[test]
    fn an_errors_status_replaces_a_request() {
        let mut h = Open;
        h.request(4000, "mine");
        h.queue_status(Some((1002, "")), at(3));
        assert_eq!(h.frame_to_write(), Some(&payload(1002, "")[..]));
    }

    #[test]
    fn a_vanished_peer_ends_our_side_with_an_empty_frame() {
        let mut h = Open;
        h.request(4000, "mine");
        h.peer_vanished(at(4));
        assert_eq!(h.frame_to_write(), Some(&[][..]));
        assert_eq!(h.since(), Some(at(4)));
    }

    #[test]
    fn a_vanished_peer_after_its_close_leaves_the_reply_to_the_application() {
        let mut h = Open;
        h.peer_closes(peer(1000, ""), at(2));
        h.peer_vanished(at(3));
        assert!(h.awaits_reply());
    }

    #[test]
    fn a_vanished_peer_after_ours_was_queued_keeps_our_frame() {
        let mut h = Open;
        h.queue_ours(at(1));
        h.peer_vanished(at(3));
        assert_eq!(h.frame_to_write(), Some(&payload(1000, "")[..]));
    }

    #[test]
    fn writing_without_a_queued_frame_changes_nothing() {
        for mut h in [
            Open,
            Requested {
                code: 4000,
                reason: String::new(),
            },
            PeerClosed {
                peer: None,
                since: at(1),
            },
        ] {
            let before = h.clone();
            h.written();
            assert_eq!(h, before);
        }
    }

    #[test]
    fn a_second_peer_close_is_ignored() {
        let mut h = Open;
        h.peer_closes(peer(1000, "first"), at(1));
        h.peer_closes(peer(1001, "second"), at(2));
        assert_eq!(h.peer(), Some(&peer(1000, "first")));
        assert_eq!(h.since(), Some(at(1)));
    }

    #[test]
    fn nothing_moves_a_closed_handshake() {
        let closed = Closed {
            peer: None,
            since: at(1),
        };
        let mut h = closed.clone();
        h.request(4000, "x");
        h.queue_ours(at(2));
        h.queue_record(4000, "x", at(2));
        h.queue_status(Some((1011, "")), at(2));
        h.peer_vanished(at(2));
        h.peer_closes(peer(1000, ""), at(2));
        h.written();
        assert_eq!(h, closed);
    }
}
