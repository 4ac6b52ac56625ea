//! Sending: the application's chunk records become frames, written straight into the byte
//! side's free space; control frames go between them.

use alloc::boxed::Box;
use alloc::vec::Vec;

use pipebuf::{PBufRd, PBufWr, Time};

use crate::WsError;
use crate::close_handshake::CloseHandshake;
use crate::frame::{
    CLOSE_NORMAL, FrameHeader, MAX_HEADER_LEN, OpCode, parse_close_payload, unmask_into,
};
use crate::message::{
    CHUNK_HEADER_LEN, ChunkError, ControlRecord, MessageKind, parse_chunk_header,
    parse_control_record, starts_with_control,
};

/// Fills a buffer with random bytes (masking keys).
pub type RandomSource = Box<dyn FnMut(&mut [u8]) + Send>;

/// Pings queued by the application and not yet written: more are dropped (a peer that does
/// not read gains nothing from a pile of them).
const MAX_QUEUED_PINGS: usize = 4;

/// The sending half of a WebSocket connection. The close handshake is not its own: it
/// takes the component's [`CloseHandshake`] on each [`send`](Sender::send), writes our
/// close frame from it and moves it when the application's close record arrives.
pub(crate) struct Sender {
    /// Clients mask every frame with a fresh key from here.
    random: Option<RandomSource>,
    /// Bytes of the first record in the application's buffer already framed.
    record_sent: usize,
    /// The current message's first frame is out (with this kind): the next frames are
    /// continuations.
    in_message: Option<MessageKind>,
    /// The answer to the peer's last ping, until it is written: the component reads no
    /// further frame while one waits, so every ping gets its own pong, in order.
    pong: Option<Vec<u8>>,
    pings: Vec<Vec<u8>>,
    /// The application's close record arrived: it ends the outgoing messages as ending the
    /// stream would, so whatever the application writes after it is dropped, never framed
    /// (not even while our close frame waits for room).
    ended_by_record: bool,
}

impl core::fmt::Debug for Sender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sender")
            .field("masking", &self.random.is_some())
            .field("record_sent", &self.record_sent)
            .field("in_message", &self.in_message)
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub(crate) fn new(random: Option<RandomSource>) -> Self {
        Sender {
            random,
            record_sent: 0,
            in_message: None,
            pong: None,
            pings: Vec::new(),
            ended_by_record: false,
        }
    }

    /// Queues the answer to a ping. Only one waits at a time: the component writes it (see
    /// [`write_pong`](Sender::write_pong)) before it reads the next frame.
    pub(crate) fn queue_pong(&mut self, payload: Vec<u8>) {
        debug_assert!(
            self.pong.is_none(),
            "a second pong queued before the first went"
        );
        self.pong = Some(payload);
    }

    /// Writes the pong that waits, if `wr` has room; returns whether none waits any more.
    /// After our close frame (or once the byte side ended) nothing more can be sent, so a
    /// waiting pong is dropped.
    pub(crate) fn write_pong(&mut self, wr: &mut PBufWr<'_>, close: &CloseHandshake) -> bool {
        if close.ours_written() || wr.is_eof() {
            self.pong = None;
            return true;
        }
        self.write_waiting_pong(wr)
    }

    /// Writes the waiting pong if there is one and `wr` has room; returns whether none
    /// waits any more.
    fn write_waiting_pong(&mut self, wr: &mut PBufWr<'_>) -> bool {
        let Some(pong) = self.pong.take() else {
            return true;
        };
        if write_frame_into(&mut self.random, wr, OpCode::Pong, true, &pong) {
            wr.push();
            return true;
        }
        self.pong = Some(pong);
        false
    }

    /// Queues a ping unless [`MAX_QUEUED_PINGS`] are waiting already; returns whether it
    /// was queued.
    pub(crate) fn queue_ping(&mut self, payload: Vec<u8>) -> bool {
        let queued = self.pings.len() < MAX_QUEUED_PINGS;
        if queued {
            self.pings.push(payload);
        }
        queued
    }

    /// Writes queued control frames (never after our close frame: [`send`](Sender::send)
    /// checks). Returns whether any was written.
    fn send_controls(&mut self, wr: &mut PBufWr<'_>) -> bool {
        let pong_waited = self.pong.is_some();
        if !self.write_waiting_pong(wr) {
            return false;
        }
        let mut wrote = pong_waited;
        while !self.pings.is_empty() {
            let ping = self.pings.remove(0);
            if write_frame_into(&mut self.random, wr, OpCode::Ping, true, &ping) {
                wrote = true;
            } else {
                self.pings.insert(0, ping);
                return wrote;
            }
        }
        wrote
    }

    /// Writes control frames and then data frames from the application's records, as far as
    /// `wr` has room; our close frame (queued in `close`) goes last, once nothing else is to
    /// be written before it, and nothing goes after it. A close record from the application
    /// queues it (`now` starts the close timeout if nothing else did). Returns whether
    /// anything was written.
    pub(crate) fn send(
        &mut self,
        app: &mut PBufRd<'_>,
        wr: &mut PBufWr<'_>,
        close: &mut CloseHandshake,
        now: Time,
        data_allowed: bool,
    ) -> Result<bool, WsError> {
        if close.ours_written() {
            return Ok(false);
        }
        let mut wrote = self.send_controls(wr);
        if data_allowed {
            wrote |= self.send_data(app, wr, close, now)?;
        }
        let data_done = !data_allowed || app.is_empty();
        let controls_done = self.pong.is_none() && self.pings.is_empty();
        if let (Some(payload), true) = (close.frame_to_write(), data_done && controls_done)
            && write_frame_into(&mut self.random, wr, OpCode::Close, true, payload)
        {
            close.written();
            wrote = true;
        }
        Ok(wrote)
    }

    fn send_data(
        &mut self,
        app: &mut PBufRd<'_>,
        wr: &mut PBufWr<'_>,
        close: &mut CloseHandshake,
        now: Time,
    ) -> Result<bool, WsError> {
        let mut wrote = false;
        loop {
            if self.ended_by_record {
                app.discard();
                return Ok(wrote);
            }
            if self.record_sent == 0 && starts_with_control(app.data()) {
                let Some((record, record_len)) = parse_control_record(app.data()) else {
                    return Ok(wrote);
                };
                match record {
                    ControlRecord::Ping(payload) => {
                        // In order: the ping goes before the messages after it, or waits.
                        if !self.queue_ping(payload.to_vec()) {
                            return Ok(wrote);
                        }
                        let _ = app.consume(record_len);
                        wrote |= self.send_controls(wr);
                        if !self.pings.is_empty() {
                            return Ok(wrote);
                        }
                    }
                    ControlRecord::Close(payload) => {
                        // Decoded and encoded again: the payload is the application's to
                        // get wrong, and the peer must only ever see a valid one.
                        let (code, reason) = match parse_close_payload(payload) {
                            Ok(Some(status)) => status,
                            Ok(None) => (CLOSE_NORMAL, ""),
                            Err(_) => return Err(WsError::BadChunk(ChunkError::BadRecord)),
                        };
                        close.queue_record(code, reason, now);
                        let _ = app.consume(record_len);
                        self.ended_by_record = true;
                        continue;
                    }
                }
                continue;
            }
            let Some((kind, fin, len)) =
                parse_chunk_header(app.data()).map_err(WsError::BadChunk)?
            else {
                return Ok(wrote);
            };
            let record_len = CHUNK_HEADER_LEN + len;
            if app.len() < record_len {
                return Ok(wrote);
            }
            let data = &app.data()[CHUNK_HEADER_LEN + self.record_sent..record_len];
            let remaining = data.len();
            if remaining == 0 && !fin {
                // An empty chunk that does not end its message carries nothing.
                let _ = app.consume(record_len);
                self.record_sent = 0;
                continue;
            }
            let n = fitting_payload(wr.room(), remaining, self.random.is_some());
            if n == 0 && remaining > 0 {
                return Ok(wrote);
            }
            let frame_fin = fin && n == remaining;
            let opcode = match (self.in_message, kind) {
                (Some(current), _) if current != kind => {
                    return Err(WsError::BadChunk(ChunkError::KindChanged));
                }
                (Some(_), _) => OpCode::Continuation,
                (None, MessageKind::Text) => OpCode::Text,
                (None, MessageKind::Binary) => OpCode::Binary,
            };
            if !write_frame_into(&mut self.random, wr, opcode, frame_fin, &data[..n]) {
                return Ok(wrote);
            }
            wrote = true;
            self.in_message = if frame_fin { None } else { Some(kind) };
            self.record_sent += n;
            if self.record_sent == len {
                let _ = app.consume(record_len);
                self.record_sent = 0;
            }
        }
    }
}

/// The most payload bytes, at most `remaining`, that fit in `room` together with the header
/// of their frame (2 to 10 bytes, 4 more if `masked`). 0 if none fit, or if an empty frame
/// is all there is to write (whose header may or may not fit).
fn fitting_payload(room: usize, remaining: usize, masked: bool) -> usize {
    let header_len = |n: usize| {
        FrameHeader {
            fin: false,
            rsv: 0,
            opcode: OpCode::Continuation,
            mask: masked.then_some([0; 4]),
            payload_len: n as u64,
        }
        .encoded_len()
    };
    // For each length form (7-bit, 16-bit, 64-bit), the most that fits with its header;
    // a shorter payload never needs a longer header, so the best of the three is the answer.
    [125, u16::MAX as usize, usize::MAX]
        .into_iter()
        .map(|form_max| {
            let n = remaining.min(form_max);
            n.min(room.saturating_sub(header_len(n)))
        })
        .max()
        .unwrap_or(0)
}

/// Writes one frame into `wr`, all or nothing, masking while copying when there is a key
/// source. Returns whether it was written. (A free function so that callers can hold
/// borrows of the sender's other fields.)
fn write_frame_into(
    random: &mut Option<RandomSource>,
    wr: &mut PBufWr<'_>,
    opcode: OpCode,
    fin: bool,
    payload: &[u8],
) -> bool {
    let mask = random.as_mut().map(|random| {
        let mut key = [0u8; 4];
        random(&mut key);
        key
    });
    let header = FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let head_len = header.encode(&mut head);
    let total = head_len + payload.len();
    // (Checked before `space`, which would refuse too, but only after compacting the buffer
    // and growing it to its limit.)
    if total > wr.room() {
        return false;
    }
    let Ok(space) = wr.space(total) else {
        return false;
    };
    let (h, body) = space.split_at_mut(head_len);
    h.copy_from_slice(&head[..head_len]);
    match mask {
        // Masking is an XOR with the key: the same operation as unmasking.
        Some(key) => {
            unmask_into(payload, body, key, 0);
        }
        None => {
            pipebuf::copy_slice(body, payload);
        }
    }
    wr.commit(total).is_ok()
}

#[cfg(test)]
mod tests {
    use pipebuf::PipeBuf;

    use super::*;
    use crate::message::{write_close, write_message};

    /// A close record whose frame finds no room, then a message the application wrote after
    /// it: the message is dropped even once the frame fits, and the close frame is the last
    /// thing on the wire.
    #[test]
    fn a_message_written_after_a_close_record_is_never_sent_even_when_the_close_waits_for_room() {
        let mut app = PipeBuf::<u8>::new();
        let mut close = CloseHandshake::Open;
        let mut sender = Sender::new(None);
        let now = Time::ZERO;
        write_close(&mut app.wr(), 4000, "done").unwrap();
        // Room for 3 bytes: the close frame (2 + 6 bytes) does not fit.
        let mut net = PipeBuf::<u8>::with_limits(3, 3);
        let wrote = sender
            .send(&mut app.rd(), &mut net.wr(), &mut close, now, true)
            .unwrap();
        assert!(!wrote);
        assert!(net.rd().is_empty());
        assert!(matches!(close, CloseHandshake::Queued { .. }));

        write_message(&mut app.wr(), MessageKind::Text, b"after").unwrap();
        let mut wire = PipeBuf::<u8>::new();
        let wrote = sender
            .send(&mut app.rd(), &mut wire.wr(), &mut close, now, true)
            .unwrap();
        assert!(wrote);
        assert!(close.ours_written());
        assert_eq!(wire.rd().data(), b"\x88\x06\x0f\xa0done");
        assert!(app.rd().is_empty());
    }

    #[test]
    fn messages_before_a_close_record_go_before_its_frame() {
        let mut app = PipeBuf::<u8>::new();
        let mut close = CloseHandshake::Open;
        let mut sender = Sender::new(None);
        write_message(&mut app.wr(), MessageKind::Binary, b"ab").unwrap();
        write_close(&mut app.wr(), 1000, "").unwrap();
        write_message(&mut app.wr(), MessageKind::Text, b"after").unwrap();
        let mut wire = PipeBuf::<u8>::new();
        sender
            .send(&mut app.rd(), &mut wire.wr(), &mut close, Time::ZERO, true)
            .unwrap();
        assert_eq!(wire.rd().data(), b"\x82\x02ab\x88\x02\x03\xe8");
        assert!(app.rd().is_empty());
    }
}
