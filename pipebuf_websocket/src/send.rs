//! Sending: the application's chunk records become frames, written straight into the byte
//! side's free space; control frames go between them.

use alloc::boxed::Box;
use alloc::vec::Vec;

use pipebuf::{PBufRd, PBufWr, Time};

use crate::WsError;
use crate::close_handshake::CloseHandshake;
#[cfg(feature = "deflate")]
use crate::deflate::deflater::{Deflater, STEP};
use crate::frame::{
    CLOSE_NORMAL, FrameHeader, MAX_HEADER_LEN, OpCode, parse_close_payload, unmask_into,
};
#[cfg(feature = "deflate")]
use crate::message::Compression;
use crate::message::{
    CHUNK_HEADER_LEN, ChunkError, ControlRecord, HAND_OVER_MIN, MessageKind, parse_control_record,
    parse_record_header, starts_with_control,
};

/// RSV1: set on a compressed message's first frame.
#[cfg(feature = "deflate")]
const RSV1: u8 = 0b100;

/// The outgoing data message in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outgoing {
    /// Between messages.
    Idle,
    /// Sent as it is; its first frame is out, the next ones are continuations.
    Plain(MessageKind),
    /// Compressed: its records go through the deflater, and frames are cut from the
    /// deflater's output. `started`: the first frame (with RSV1) is out.
    #[cfg(feature = "deflate")]
    Compressing { kind: MessageKind, started: bool },
    /// Compressed, all its data went into the deflater: what is left is framing the
    /// deflater's output, the last frame with FIN.
    #[cfg(feature = "deflate")]
    Flushed { kind: MessageKind, started: bool },
}

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
    /// Bytes of the first record in the application's buffer already framed (or, for a
    /// compressed message, compressed).
    record_sent: usize,
    /// The message being sent.
    outgoing: Outgoing,
    /// permessage-deflate was agreed: messages may be compressed.
    #[cfg(feature = "deflate")]
    deflater: Option<Deflater>,
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
            .field("outgoing", &self.outgoing)
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub(crate) fn new(random: Option<RandomSource>) -> Self {
        Sender {
            random,
            record_sent: 0,
            outgoing: Outgoing::Idle,
            #[cfg(feature = "deflate")]
            deflater: None,
            pong: None,
            pings: Vec::new(),
            ended_by_record: false,
        }
    }

    /// From now on, messages are compressed as `deflater` decides.
    #[cfg(feature = "deflate")]
    pub(crate) fn deflate_with(&mut self, deflater: Deflater) {
        self.deflater = Some(deflater);
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
        if write_frame_into(&mut self.random, wr, OpCode::Pong, 0, true, &pong) {
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
            if write_frame_into(&mut self.random, wr, OpCode::Ping, 0, true, &ping) {
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
            && write_frame_into(&mut self.random, wr, OpCode::Close, 0, true, payload)
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
            #[cfg(feature = "deflate")]
            if let Outgoing::Flushed { .. } = self.outgoing {
                // The message's data is all in: its frames go before anything else.
                if !self.frame_deflated(wr) {
                    return Ok(wrote);
                }
                wrote = true;
                continue;
            }
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
            let Some(record) = parse_record_header(app.data()).map_err(WsError::BadChunk)? else {
                return Ok(wrote);
            };
            let (kind, fin, len) = (record.kind, record.fin, record.len);
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
            #[cfg(feature = "deflate")]
            {
                if self.outgoing == Outgoing::Idle
                    && let Some(deflater) = &self.deflater
                    && record.compression == Compression::Auto
                    && !(fin && len < deflater.threshold())
                {
                    self.outgoing = Outgoing::Compressing {
                        kind,
                        started: false,
                    };
                }
                if let Outgoing::Compressing { kind: current, .. } = self.outgoing {
                    if current != kind {
                        return Err(WsError::BadChunk(ChunkError::KindChanged));
                    }
                    if !self
                        .deflater
                        .as_ref()
                        .is_some_and(|d| d.output().is_empty())
                    {
                        // What was compressed is framed before more goes in, which bounds
                        // the deflater's output.
                        if !self.frame_deflated(wr) {
                            return Ok(wrote);
                        }
                        wrote = true;
                        continue;
                    }
                    let step = remaining.min(STEP);
                    let last = fin && step == remaining;
                    if let Some(deflater) = &mut self.deflater {
                        deflater
                            .compress(&data[..step], last)
                            .map_err(|_| WsError::CompressorFailed)?;
                    }
                    self.record_sent += step;
                    if self.record_sent == len {
                        let _ = app.consume(record_len);
                        self.record_sent = 0;
                    }
                    if last {
                        self.outgoing = Outgoing::Flushed {
                            kind,
                            started: matches!(
                                self.outgoing,
                                Outgoing::Compressing { started: true, .. }
                            ),
                        };
                    }
                    continue;
                }
            }
            let opcode = match self.outgoing {
                Outgoing::Plain(current) if current != kind => {
                    return Err(WsError::BadChunk(ChunkError::KindChanged));
                }
                Outgoing::Plain(_) => OpCode::Continuation,
                _ => first_opcode(kind),
            };
            // A large record that is all there is: its payload becomes the frame where it
            // lies, and only the header is written (unmasked frames only; a client's mask
            // would have to be applied to the data anyway).
            if self.random.is_none()
                && self.record_sent == 0
                && len >= HAND_OVER_MIN
                && app.len() == record_len
                && hand_over_frame(app, wr, opcode, fin, len)
            {
                wrote = true;
                self.outgoing = if fin {
                    Outgoing::Idle
                } else {
                    Outgoing::Plain(kind)
                };
                continue;
            }
            let n = fitting_payload(wr.room(), remaining, self.random.is_some());
            if n == 0 && remaining > 0 {
                return Ok(wrote);
            }
            let frame_fin = fin && n == remaining;
            let data = &app.data()[CHUNK_HEADER_LEN + self.record_sent..record_len];
            if !write_frame_into(&mut self.random, wr, opcode, 0, frame_fin, &data[..n]) {
                return Ok(wrote);
            }
            wrote = true;
            self.outgoing = if frame_fin {
                Outgoing::Idle
            } else {
                Outgoing::Plain(kind)
            };
            self.record_sent += n;
            if self.record_sent == len {
                let _ = app.consume(record_len);
                self.record_sent = 0;
            }
        }
    }
}

/// The opcode of a message's first frame.
fn first_opcode(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}

#[cfg(feature = "deflate")]
impl Sender {
    /// Writes one frame of the deflater's output, as much as fits; the last of a flushed
    /// message has FIN and ends the message. Returns whether a frame was written.
    fn frame_deflated(&mut self, wr: &mut PBufWr<'_>) -> bool {
        let (kind, started, flushed) = match self.outgoing {
            Outgoing::Compressing { kind, started } => (kind, started, false),
            Outgoing::Flushed { kind, started } => (kind, started, true),
            Outgoing::Idle | Outgoing::Plain(_) => return false,
        };
        let Some(deflater) = &mut self.deflater else {
            return false;
        };
        let output = deflater.output();
        let n = fitting_payload(wr.room(), output.len(), self.random.is_some());
        if n == 0 && (!output.is_empty() || !flushed) {
            return false;
        }
        let fin = flushed && n == output.len();
        let (opcode, rsv) = if started {
            (OpCode::Continuation, 0)
        } else {
            (first_opcode(kind), RSV1)
        };
        if !write_frame_into(&mut self.random, wr, opcode, rsv, fin, &output[..n]) {
            return false;
        }
        deflater.framed(n);
        self.outgoing = match self.outgoing {
            _ if fin => {
                deflater.end_message();
                Outgoing::Idle
            }
            Outgoing::Flushed { kind, .. } => Outgoing::Flushed {
                kind,
                started: true,
            },
            _ => Outgoing::Compressing {
                kind,
                started: true,
            },
        };
        true
    }
}

/// The most payload bytes, at most `remaining`, that fit in `room` together with the header
/// of their frame (2 to 10 bytes, 4 more if `masked`). 0 if none fit, or if an empty frame
/// is all there is to write (whose header may or may not fit).
fn fitting_payload(room: usize, remaining: usize, masked: bool) -> usize {
    // The usual case, a whole chunk with room to spare, without trying each length form.
    let longest_header = MAX_HEADER_LEN - if masked { 0 } else { 4 };
    if remaining.saturating_add(longest_header) <= room {
        return remaining;
    }
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

/// Sends the one record waiting in `app` (its payload `len` bytes) as an unmasked frame by
/// handing its storage over to `wr` with the frame header written in front of the payload.
/// Returns whether it did; if not, nothing changed.
fn hand_over_frame(
    app: &mut PBufRd<'_>,
    wr: &mut PBufWr<'_>,
    opcode: OpCode,
    fin: bool,
    len: usize,
) -> bool {
    let header = FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask: None,
        payload_len: len as u64,
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let head_len = header.encode(&mut head);
    // The frame must fit where a copied one would: `wr`'s limit.
    head_len + len <= wr.room() && app.hand_over_with_head(CHUNK_HEADER_LEN, &head[..head_len], wr)
}

/// Writes one frame into `wr`, all or nothing, masking while copying when there is a key
/// source. Returns whether it was written. (A free function so that callers can hold
/// borrows of the sender's other fields.)
fn write_frame_into(
    random: &mut Option<RandomSource>,
    wr: &mut PBufWr<'_>,
    opcode: OpCode,
    rsv: u8,
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
        rsv,
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
    use alloc::vec;
    use alloc::vec::Vec;
    use pipebuf::PipeBuf;

    use super::*;
    use crate::message::{write_close, write_message};

    /// The length of a frame header for `n` payload bytes, from the encoder itself.
    fn header_len(n: usize, masked: bool) -> usize {
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::Binary,
            mask: masked.then_some([0; 4]),
            payload_len: n as u64,
        }
        .encoded_len()
    }

    #[test]
    fn fitting_payload_is_the_largest_frame_that_fits_around_every_length_form_boundary() {
        let edges = [
            0, 1, 2, 124, 125, 126, 127, 128, 65_534, 65_535, 65_536, 65_537, 70_000,
        ];
        for masked in [false, true] {
            for &remaining in &edges {
                for base in [0, 125, 65_535, 65_550] {
                    for room in base..base + 20 {
                        let n = fitting_payload(room, remaining, masked);
                        assert!(n <= remaining);
                        if n > 0 {
                            assert!(n + header_len(n, masked) <= room, "{room} {remaining}");
                        }
                        // One byte more would not fit (or there is no more).
                        if n < remaining {
                            let more = n + 1;
                            assert!(more + header_len(more, masked) > room, "{room} {remaining}");
                        }
                    }
                }
            }
        }
    }

    /// The frames a server sender writes for `records` (kind, fin, length), each record
    /// written alone into the application buffer with `write_chunk` (headroom for large
    /// ones) or written at the start of the buffer, and sent into an empty wire buffer; with
    /// whether each went by hand-over (the wire buffer took the record buffer's storage).
    fn server_frames(
        records: &[(MessageKind, bool, usize)],
        headroom: bool,
    ) -> (Vec<u8>, Vec<bool>) {
        let mut sender = Sender::new(None);
        let mut close = CloseHandshake::Open;
        let (mut wire_out, mut handed) = (Vec::new(), Vec::new());
        for (i, &(kind, fin, len)) in records.iter().enumerate() {
            let data: Vec<u8> = (0..len).map(|j| (i * 31 + j * 7) as u8).collect();
            let mut app = PipeBuf::<u8>::new();
            if headroom {
                crate::message::write_chunk(&mut app.wr(), kind, fin, &data).unwrap();
            } else {
                let mut wr = app.wr();
                let space = wr.space(CHUNK_HEADER_LEN + len).unwrap();
                space[..CHUNK_HEADER_LEN]
                    .copy_from_slice(&crate::message::chunk_header(kind, fin, len as u32));
                space[CHUNK_HEADER_LEN..].copy_from_slice(&data);
                wr.commit(CHUNK_HEADER_LEN + len).unwrap();
            }
            let mut wire = PipeBuf::<u8>::new();
            let app_storage = app.capacity();
            sender
                .send(&mut app.rd(), &mut wire.wr(), &mut close, Time::ZERO, true)
                .unwrap();
            assert!(app.is_empty());
            handed.push(wire.capacity() == app_storage && app.capacity() == 0);
            wire_out.extend_from_slice(wire.data());
        }
        (wire_out, handed)
    }

    #[test]
    fn large_records_written_with_headroom_become_frames_without_a_copy_and_the_same_bytes() {
        use MessageKind::{Binary, Text};
        // Around the hand-over threshold and every length form; a message in three chunks.
        let records = [
            (Binary, true, HAND_OVER_MIN - 1),
            (Binary, true, HAND_OVER_MIN),
            (Text, true, 65_535),
            (Binary, true, 65_536),
            (Binary, false, 5000),
            (Binary, false, 10),
            (Binary, true, 70_000),
        ];
        let (with_headroom, handed) = server_frames(&records, true);
        let (without, without_handed) = server_frames(&records, false);
        assert_eq!(with_headroom, without);
        assert_eq!(handed, [false, true, true, true, true, false, true]);
        // Without headroom only the record header's own 5 bytes are there for the frame
        // header: enough up to 65,535 bytes (4-byte header), not beyond (10 bytes).
        assert_eq!(
            without_handed,
            [false, true, true, false, true, false, false]
        );
        // And the bytes are the frames: check the 65,536-byte one's header.
        let at = (HAND_OVER_MIN - 1 + 4) + (HAND_OVER_MIN + 4) + (65_535 + 4);
        assert_eq!(
            &with_headroom[at..at + 10],
            &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn a_record_is_copied_when_the_wire_buffer_holds_data_or_more_records_wait() {
        let mut sender = Sender::new(None);
        let mut close = CloseHandshake::Open;
        let data = vec![9u8; 4000];
        // The wire buffer holds data: copied after it.
        let mut app = PipeBuf::<u8>::new();
        write_message(&mut app.wr(), MessageKind::Binary, &data).unwrap();
        let mut wire = PipeBuf::<u8>::new();
        wire.wr().append(b"xy").unwrap();
        sender
            .send(&mut app.rd(), &mut wire.wr(), &mut close, Time::ZERO, true)
            .unwrap();
        assert_eq!(&wire.data()[..6], b"xy\x82\x7e\x0f\xa0");
        assert_eq!(&wire.data()[6..], &data[..]);
        // Two records wait: both copied, in order.
        let mut app = PipeBuf::<u8>::new();
        write_message(&mut app.wr(), MessageKind::Binary, &data).unwrap();
        write_message(&mut app.wr(), MessageKind::Text, b"next").unwrap();
        let mut wire = PipeBuf::<u8>::new();
        sender
            .send(&mut app.rd(), &mut wire.wr(), &mut close, Time::ZERO, true)
            .unwrap();
        assert_eq!(wire.len(), 4 + 4000 + 2 + 4);
        assert_eq!(&wire.data()[4004..], b"\x81\x04next");
        assert!(app.is_empty());
    }

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
