//! One direction of one stream's body, with its credit: [`Inbound`] on the receiving side,
//! [`Outbound`] on the sending side.

use super::StreamFault;
use crate::{PBufRd, PBufState, PBufWr, PipeBuf};

/// `n` as a `usize`, saturated (for targets whose `usize` is narrower than 32 bits).
pub(super) fn to_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A body buffer limit as the components use it: at least 1 byte (so that credit can
/// ever be granted) and at most `u32::MAX` (the most one credit frame grants).
pub(super) fn clamp_limit(limit: usize) -> usize {
    limit.clamp(1, to_usize(u32::MAX))
}

/// A growable body buffer with at most `limit` bytes.
fn body_buf(limit: usize) -> PipeBuf<u8> {
    PipeBuf::with_limits(limit.min(4096), limit)
}

/// Where an incoming body stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InState {
    /// Data may arrive: the peer may still send `credit` bytes (granted, not received).
    Receiving { credit: u32 },
    /// The end arrived (or the body was aborted); the application reads what is left.
    Ended,
}

/// A body this side receives: its buffer (the application reads it) and the credit the peer
/// holds. The credit never exceeds the buffer's free room, so every data frame within
/// credit fits: a slow reader holds up its own stream only.
#[derive(Debug)]
pub(super) struct Inbound {
    buf: PipeBuf<u8>,
    state: InState,
}

impl Inbound {
    /// A body of at most `limit` bytes buffered (see [`clamp_limit`]), no credit granted yet.
    pub(super) fn new(limit: usize) -> Self {
        Inbound {
            buf: body_buf(clamp_limit(limit)),
            state: InState::Receiving { credit: 0 },
        }
    }

    /// The credit worth a frame now: the buffer's free room not yet granted, once it is at
    /// least half the limit (all of it when the body starts). Batched so that a reader
    /// consuming a byte at a time does not cost a frame per byte.
    pub(super) fn grant_due(&self) -> Option<u32> {
        let InState::Receiving { credit } = self.state else {
            return None;
        };
        let room = self.buf.limit().saturating_sub(self.buf.len());
        let free = room.saturating_sub(to_usize(credit));
        let threshold = (self.buf.limit() / 2).max(1);
        (free >= threshold).then(|| u32::try_from(free).unwrap_or(u32::MAX))
    }

    /// Records `bytes` of credit written to the peer.
    pub(super) fn granted(&mut self, bytes: u32) {
        if let InState::Receiving { credit } = &mut self.state {
            *credit = credit.saturating_add(bytes);
        }
    }

    /// Takes a data frame: its bytes go into the buffer, `end` closes it. Bytes beyond the
    /// credit, and data after the end, are refused whole (the stream is to be reset).
    pub(super) fn on_data(&mut self, data: &[u8], end: bool) -> Result<(), StreamFault> {
        let InState::Receiving { credit } = self.state else {
            return Err(StreamFault::UnexpectedData);
        };
        let exceeded = StreamFault::CreditExceeded {
            credit,
            got: data.len(),
        };
        let Some(left) = u32::try_from(data.len())
            .ok()
            .and_then(|n| credit.checked_sub(n))
        else {
            return Err(exceeded);
        };
        let mut wr = self.buf.wr();
        // Within credit the data fits; a refusal would be a bug here, reported as the fault.
        wr.append(data).map_err(|_| exceeded)?;
        if end {
            wr.close();
            self.state = InState::Ended;
        } else {
            self.state = InState::Receiving { credit: left };
        }
        Ok(())
    }

    /// Whether the end arrived (or the body was aborted).
    pub(super) fn is_ended(&self) -> bool {
        self.state == InState::Ended
    }

    /// The body is cut off: a body still receiving is aborted, so the reader sees an abort
    /// after the bytes that arrived.
    pub(super) fn abort(&mut self) {
        if let InState::Receiving { .. } = self.state {
            self.buf.wr().abort();
            self.state = InState::Ended;
        }
    }

    /// The reader's view, until the application consumed the EOF.
    pub(super) fn rd(&mut self) -> Option<PBufRd<'_>> {
        (!self.is_consumed()).then(|| self.buf.rd())
    }

    /// Whether the application consumed the body's EOF: nothing more to do with it.
    pub(super) fn is_consumed(&self) -> bool {
        self.buf.state().is_done()
    }

    /// Bytes waiting in the buffer.
    pub(super) fn buffered(&self) -> usize {
        self.buf.len()
    }

    #[cfg(test)]
    pub(super) fn tripwire(&self) -> crate::Tripwire {
        self.buf.tripwire()
    }
}

/// What an [`Outbound`] body has to send next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// Nothing now: no data, no credit, or an end that must wait.
    Idle,
    /// A data frame of `len` bytes (within credit), the body's last if `end`.
    Data { len: usize, end: bool },
    /// The application aborted the body: the stream is to be reset.
    Aborted,
}

/// A body this side sends: its buffer (the application writes it) and the credit the peer
/// granted. Pushes are flush hints for the connection and are dropped: data goes out as
/// soon as credit and room allow anyway.
#[derive(Debug)]
pub(super) struct Outbound {
    buf: PipeBuf<u8>,
    credit: u32,
}

impl Outbound {
    /// A body of at most `limit` bytes buffered (see [`clamp_limit`]), no credit yet.
    pub(super) fn new(limit: usize) -> Self {
        Outbound {
            buf: body_buf(clamp_limit(limit)),
            credit: 0,
        }
    }

    /// The writer's view.
    pub(super) fn wr(&mut self) -> PBufWr<'_> {
        self.buf.wr()
    }

    /// Adds credit granted by the peer. More than `u32::MAX` outstanding is a fault that
    /// leaves the stream going: the credit is capped.
    pub(super) fn add_credit(&mut self, bytes: u32) -> Result<(), StreamFault> {
        match self.credit.checked_add(bytes) {
            Some(c) => {
                self.credit = c;
                Ok(())
            }
            None => {
                self.credit = u32::MAX;
                Err(StreamFault::CreditOverflow)
            }
        }
    }

    /// What to send next: at most `max` bytes and no more than the credit; the end only if
    /// `end_allowed` and everything before it fits in this frame.
    pub(super) fn next(&self, max: usize, end_allowed: bool) -> Next {
        let state = self.buf.state();
        if state == PBufState::Aborting {
            return Next::Aborted;
        }
        let waiting = self.buf.len();
        let len = waiting.min(to_usize(self.credit)).min(max);
        let end = end_allowed && len == waiting && state == PBufState::Closing;
        if len == 0 && !end {
            Next::Idle
        } else {
            Next::Data { len, end }
        }
    }

    /// The first `len` waiting bytes, to frame.
    pub(super) fn data(&self, len: usize) -> &[u8] {
        let data = self.buf.data();
        data.get(..len).unwrap_or(data)
    }

    /// Takes the `len` bytes just framed, and the end if it went with them.
    pub(super) fn sent(&mut self, len: usize, end: bool) {
        let mut rd = self.buf.rd();
        let len = len.min(rd.len());
        // `len` is at most the data waiting: cannot fail.
        let _ = rd.consume(len);
        rd.consume_push();
        if end {
            rd.consume_eof();
        }
        let used = u32::try_from(len).unwrap_or(u32::MAX);
        self.credit = self.credit.saturating_sub(used);
    }

    /// Whether this body can never finish on a connection whose peer grants no more
    /// credit: bytes wait and none may go.
    pub(super) fn starved(&self) -> bool {
        self.credit == 0 && !self.buf.is_empty()
    }

    /// Bytes waiting in the buffer.
    pub(super) fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_body_grants_its_whole_buffer_at_once() {
        let mut inb = Inbound::new(100);
        assert_eq!(inb.grant_due(), Some(100));
        inb.granted(100);
        assert_eq!(inb.grant_due(), None);
    }

    #[test]
    fn more_credit_is_granted_only_once_half_the_buffer_is_free_again() {
        let mut inb = Inbound::new(100);
        inb.granted(100);
        inb.on_data(&[7; 100], false).unwrap();
        let mut rd = inb.rd().unwrap();
        rd.consume(49).unwrap();
        assert_eq!(inb.grant_due(), None, "49 free: not worth a frame yet");
        inb.rd().unwrap().consume(1).unwrap();
        assert_eq!(inb.grant_due(), Some(50));
    }

    #[test]
    fn data_beyond_the_credit_is_refused_whole() {
        let mut inb = Inbound::new(10);
        inb.granted(4);
        let before = inb.tripwire();
        assert_eq!(
            inb.on_data(b"12345", false),
            Err(StreamFault::CreditExceeded { credit: 4, got: 5 })
        );
        assert_eq!(inb.tripwire(), before, "nothing of it was taken");
        inb.on_data(b"1234", true).unwrap();
        assert!(inb.is_ended());
        assert_eq!(inb.on_data(b"", false), Err(StreamFault::UnexpectedData));
    }

    #[test]
    fn an_aborted_body_keeps_what_arrived_and_then_reports_the_abort() {
        let mut inb = Inbound::new(10);
        inb.granted(10);
        inb.on_data(b"ab", false).unwrap();
        inb.abort();
        let mut rd = inb.rd().unwrap();
        assert_eq!(rd.data(), b"ab");
        rd.consume_all();
        assert_eq!(rd.consume_eof(), Some(crate::EofKind::Abort));
        assert!(inb.is_consumed());
        assert!(inb.rd().is_none());
    }

    #[test]
    fn a_body_sends_within_its_credit_and_ends_only_when_allowed() {
        let mut out = Outbound::new(64);
        out.wr().append(b"hello").unwrap();
        out.wr().close();
        assert_eq!(out.next(100, true), Next::Idle, "no credit yet");
        out.add_credit(3).unwrap();
        assert_eq!(out.next(100, true), Next::Data { len: 3, end: false });
        assert_eq!(out.next(2, true), Next::Data { len: 2, end: false });
        out.sent(3, false);
        out.add_credit(10).unwrap();
        assert_eq!(out.next(100, false), Next::Data { len: 2, end: false });
        assert_eq!(out.next(100, true), Next::Data { len: 2, end: true });
        out.sent(2, true);
        assert_eq!(out.next(100, true), Next::Idle);
    }

    #[test]
    fn the_end_of_an_empty_body_needs_no_credit() {
        let mut out = Outbound::new(64);
        out.wr().close();
        assert_eq!(out.next(100, true), Next::Data { len: 0, end: true });
    }

    #[test]
    fn an_aborted_body_asks_for_a_reset() {
        let mut out = Outbound::new(64);
        out.wr().append(b"x").unwrap();
        out.wr().abort();
        assert_eq!(out.next(100, true), Next::Aborted);
    }

    #[test]
    fn credit_beyond_u32_is_capped_and_reported() {
        let mut out = Outbound::new(64);
        out.add_credit(u32::MAX).unwrap();
        assert_eq!(out.add_credit(1), Err(StreamFault::CreditOverflow));
        out.wr().append(b"x").unwrap();
        assert_eq!(out.next(100, true), Next::Data { len: 1, end: false });
    }

    #[test]
    fn limits_are_clamped_to_what_credit_can_express() {
        assert_eq!(clamp_limit(0), 1);
        assert_eq!(clamp_limit(usize::MAX), to_usize(u32::MAX));
    }
}
