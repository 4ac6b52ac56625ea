//! Receiving: frames from the byte side become chunk records for the application, with
//! every receive-side rule of RFC 6455 checked on the way.

use alloc::vec::Vec;

use pipebuf::{PBufRd, PBufWr};

use crate::WsError;
#[cfg(feature = "deflate")]
use crate::deflate::inflater::{Inflated, Inflater, TAIL};
use crate::frame::{
    FrameHeader, OpCode, Utf8Validator, apply_mask, parse_close_payload, unmask_into,
};
use crate::message::{CHUNK_HEADER_LEN, HAND_OVER_MIN, MessageKind, chunk_header, record_space};

/// RSV1: the message is compressed (permessage-deflate, on its first frame only).
const RSV1: u8 = 0b100;

/// Masked compressed payload is unmasked through a stack buffer of this size on its way to
/// the inflater (the inflater may not take all of it; the rest stays masked in the input).
#[cfg(feature = "deflate")]
const SCRATCH: usize = 2048;

/// Most bytes one record of inflated data holds: a compressed message asks the message
/// buffer for room a step at a time, so that a small message does not grow it to its limit.
#[cfg(feature = "deflate")]
const INFLATE_STEP: usize = 64 * 1024;

/// A control frame that arrived, for the component to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    Ping(Vec<u8>),
    Pong,
    /// The peer's close frame: code and reason, if it had any.
    Close(Option<(u16, alloc::string::String)>),
}

/// The frame being read.
#[derive(Debug, Clone, Copy)]
struct Frame {
    header: FrameHeader,
    /// Payload bytes still to come.
    remaining: u64,
}

impl Frame {
    /// Where the next payload byte falls in the masking key.
    fn key_offset(&self) -> usize {
        ((self.header.payload_len - self.remaining) % 4) as usize
    }
}

/// The data message being received.
#[derive(Debug)]
struct Message {
    kind: MessageKind,
    /// Payload bytes on the wire so far.
    size: u64,
    /// How far a compressed message's inflation stands; `None` for an uncompressed one.
    #[cfg(feature = "deflate")]
    inflation: Option<Inflation>,
}

/// A compressed message on its way through the inflater; `inflated` bytes came out so far.
#[cfg(feature = "deflate")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inflation {
    /// Frame payloads go in. `full`: the last call filled its output, so the inflater may
    /// hold back more, to come out even before the next frame.
    Payload { inflated: u64, full: bool },
    /// The deflate stream ended (a final block) inside the message: what payload follows
    /// is skipped, and the next message starts a new stream.
    Ended { inflated: u64 },
    /// Every frame's payload went in; the tail `00 00 ff ff` goes in next, `fed` bytes of
    /// it so far, then the message ends once the inflater has given out everything.
    Tail { inflated: u64, fed: usize },
}

#[cfg(feature = "deflate")]
impl Inflation {
    fn inflated(self) -> u64 {
        match self {
            Inflation::Payload { inflated, .. }
            | Inflation::Ended { inflated }
            | Inflation::Tail { inflated, .. } => inflated,
        }
    }
}

/// What a step on a compressed message achieved.
#[cfg(feature = "deflate")]
enum Step {
    /// It did what it could; the caller may go on to the next frame.
    Done,
    /// It waits for input or room: the caller stops.
    Blocked,
}

/// The receiving half of a WebSocket connection.
#[derive(Debug)]
pub(crate) struct Receiver {
    /// Frames must be masked (we are a server) or must not be (a client).
    expect_masked: bool,
    max_message: u64,
    frame: Option<Frame>,
    message: Option<Message>,
    utf8: Utf8Validator,
    /// Payload of the control frame being read.
    control: Vec<u8>,
    /// permessage-deflate was agreed: RSV1 marks compressed messages.
    #[cfg(feature = "deflate")]
    inflater: Option<Inflater>,
}

impl Receiver {
    pub(crate) fn new(expect_masked: bool, max_message: usize) -> Self {
        Receiver {
            expect_masked,
            max_message: max_message as u64,
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
            control: Vec::new(),
            #[cfg(feature = "deflate")]
            inflater: None,
        }
    }

    /// From now on, messages with RSV1 set are inflated.
    #[cfg(feature = "deflate")]
    pub(crate) fn inflate_with(&mut self, inflater: Inflater) {
        self.inflater = Some(inflater);
    }

    /// Whether the current message is compressed.
    fn compressed(&self) -> bool {
        #[cfg(feature = "deflate")]
        if let Some(Message {
            inflation: Some(_), ..
        }) = self.message
        {
            return true;
        }
        false
    }

    /// Largest wire size a message may reach: `max_message`, plus, for a compressed one,
    /// what stored blocks add to incompressible data (5 bytes per 64 KiB) and some slack.
    fn max_wire(&self, compressed: bool) -> u64 {
        if compressed {
            self.max_message
                .saturating_add(self.max_message / 4096)
                .saturating_add(64)
        } else {
            self.max_message
        }
    }

    /// Whether `input` is too short for the next step (an incomplete header or control
    /// payload, or no payload at all), as opposed to waiting for room in the message buffer.
    pub(crate) fn is_starved(&self, input: &[u8]) -> bool {
        match &self.frame {
            None => matches!(FrameHeader::parse(input), Ok(None)),
            Some(frame) if frame.header.opcode.is_control() => {
                (input.len() as u64) < frame.remaining
            }
            Some(_) => input.is_empty(),
        }
    }

    /// Reads frames from `rd` into chunk records in `wr` as far as both allow. Stops after
    /// a control frame (returned) so the component can answer it in order.
    pub(crate) fn receive(
        &mut self,
        rd: &mut PBufRd<'_>,
        wr: &mut PBufWr<'_>,
    ) -> Result<Option<Control>, WsError> {
        loop {
            #[cfg(feature = "deflate")]
            if self.frame.is_none() {
                // A compressed message's end (or output the inflater held back) comes out
                // before the next frame is read.
                if let Step::Blocked = self.between_frames(wr)? {
                    return Ok(None);
                }
            }
            let frame = match self.frame {
                Some(frame) => frame,
                None => {
                    let Some((header, len)) = FrameHeader::parse(rd.data())? else {
                        return Ok(None);
                    };
                    self.start_frame(header)?;
                    let _ = rd.consume(len);
                    let frame = Frame {
                        header,
                        remaining: header.payload_len,
                    };
                    self.frame = Some(frame);
                    frame
                }
            };
            if frame.header.opcode.is_control() {
                match self.control_payload(rd)? {
                    Some(control) => return Ok(Some(control)),
                    None => return Ok(None),
                }
            }
            #[cfg(feature = "deflate")]
            if self.compressed() {
                if let Step::Blocked = self.inflate_payload(rd, wr)? {
                    return Ok(None);
                }
                continue;
            }
            if !self.data_payload(rd, wr)? {
                return Ok(None);
            }
        }
    }

    /// Checks a new frame's header against the connection's state.
    fn start_frame(&mut self, header: FrameHeader) -> Result<(), WsError> {
        let compressed = header.rsv & RSV1 != 0;
        #[cfg(feature = "deflate")]
        let rsv1_allowed =
            self.inflater.is_some() && matches!(header.opcode, OpCode::Text | OpCode::Binary);
        #[cfg(not(feature = "deflate"))]
        let rsv1_allowed = false;
        if header.rsv & !RSV1 != 0 || (compressed && !rsv1_allowed) {
            return Err(WsError::ReservedBits);
        }
        if header.mask.is_some() != self.expect_masked {
            return Err(WsError::Masking);
        }
        match header.opcode {
            OpCode::Continuation => {
                let Some(message) = &mut self.message else {
                    return Err(WsError::Fragmentation);
                };
                message.size = message.size.saturating_add(header.payload_len);
                let size = message.size;
                if size > self.max_wire(self.compressed()) {
                    return Err(WsError::MessageTooBig);
                }
            }
            OpCode::Text | OpCode::Binary => {
                if self.message.is_some() {
                    return Err(WsError::Fragmentation);
                }
                if header.payload_len > self.max_wire(compressed) {
                    return Err(WsError::MessageTooBig);
                }
                let kind = if header.opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                self.utf8.reset();
                self.message = Some(Message {
                    kind,
                    size: header.payload_len,
                    #[cfg(feature = "deflate")]
                    inflation: compressed.then_some(Inflation::Payload {
                        inflated: 0,
                        full: false,
                    }),
                });
            }
            OpCode::Close | OpCode::Ping | OpCode::Pong => self.control.clear(),
        }
        Ok(())
    }

    /// Moves data-frame payload into chunk records. Returns whether the frame is complete
    /// (so the next one can be read).
    fn data_payload(&mut self, rd: &mut PBufRd<'_>, wr: &mut PBufWr<'_>) -> Result<bool, WsError> {
        let Some(frame) = &mut self.frame else {
            return Ok(true);
        };
        let Some(message) = &self.message else {
            return Ok(true);
        };
        let kind = message.kind;
        let fin_frame = frame.header.fin;
        if frame.remaining == 0 && !fin_frame {
            // An empty frame in the middle of a message: nothing to hand on.
            self.frame = None;
            return Ok(true);
        }
        let available = (rd.len() as u64).min(frame.remaining) as usize;
        if available == 0 && frame.remaining > 0 {
            return Ok(false);
        }
        // The rest of a large frame that is all the input holds: unmasked where it lies and
        // handed on with a record header in front, so that its payload is never copied.
        if available >= HAND_OVER_MIN
            && available as u64 == frame.remaining
            && rd.len() == available
        {
            let (mask, offset) = (frame.header.mask, frame.key_offset());
            let utf8 = &mut self.utf8;
            let unmask_and_check = |payload: &mut [u8]| {
                if let Some(key) = mask {
                    apply_mask(payload, key, offset);
                }
                if kind == MessageKind::Text {
                    // Checked before the application can see it.
                    utf8.feed(payload)?;
                    if fin_frame {
                        utf8.finish()?;
                    }
                }
                Ok::<(), crate::frame::Utf8Error>(())
            };
            let head = chunk_header(kind, fin_frame, available as u32);
            match rd.hand_over_transformed(0, &head, wr, unmask_and_check) {
                Ok(true) => {
                    self.frame = None;
                    if fin_frame {
                        self.message = None;
                    }
                    return Ok(true);
                }
                Ok(false) => (),
                Err(_) => return Err(WsError::Frame(crate::frame::FrameError::InvalidUtf8)),
            }
        }
        // One record per call, as large as the room allows: afterwards either the frame is
        // complete, or the input or the room is used up. (An empty final frame still gets a
        // record: it ends the message.)
        let room = wr.room();
        if room < CHUNK_HEADER_LEN || (room == CHUNK_HEADER_LEN && available > 0) {
            return Ok(false);
        }
        let n = available.min(room - CHUNK_HEADER_LEN);
        let fin = n as u64 == frame.remaining && fin_frame;
        let Ok(space) = record_space(wr, CHUNK_HEADER_LEN + n, n) else {
            return Ok(false);
        };
        let (head, body) = space.split_at_mut(CHUNK_HEADER_LEN);
        head.copy_from_slice(&chunk_header(kind, fin, n as u32));
        let src = &rd.data()[..n];
        match frame.header.mask {
            Some(key) => {
                unmask_into(src, body, key, frame.key_offset());
            }
            None => {
                pipebuf::copy_slice(body, src);
            }
        }
        if kind == MessageKind::Text {
            self.utf8
                .feed(body)
                .map_err(|_| WsError::Frame(crate::frame::FrameError::InvalidUtf8))?;
            if fin {
                self.utf8
                    .finish()
                    .map_err(|_| WsError::Frame(crate::frame::FrameError::InvalidUtf8))?;
            }
        }
        let _ = wr.commit(CHUNK_HEADER_LEN + n);
        let _ = rd.consume(n);
        frame.remaining -= n as u64;
        if frame.remaining > 0 {
            return Ok(false);
        }
        self.frame = None;
        if fin_frame {
            self.message = None;
        }
        Ok(true)
    }

    /// Collects a control frame's payload; returns the control once complete.
    fn control_payload(&mut self, rd: &mut PBufRd<'_>) -> Result<Option<Control>, WsError> {
        let Some(frame) = &mut self.frame else {
            return Ok(None);
        };
        let n = (rd.len() as u64).min(frame.remaining) as usize;
        if n > 0 {
            let start = self.control.len();
            self.control.resize(start + n, 0);
            let dst = &mut self.control[start..];
            match frame.header.mask {
                Some(key) => {
                    unmask_into(&rd.data()[..n], dst, key, frame.key_offset());
                }
                None => dst.copy_from_slice(&rd.data()[..n]),
            }
            let _ = rd.consume(n);
            frame.remaining -= n as u64;
        }
        if frame.remaining > 0 {
            return Ok(None);
        }
        let opcode = frame.header.opcode;
        self.frame = None;
        let payload = core::mem::take(&mut self.control);
        Ok(Some(match opcode {
            OpCode::Ping => Control::Ping(payload),
            OpCode::Pong => Control::Pong,
            _ => Control::Close(
                parse_close_payload(&payload)?.map(|(code, reason)| (code, reason.into())),
            ),
        }))
    }
}

#[cfg(feature = "deflate")]
impl Receiver {
    /// Feeds the current frame's payload to the inflater, a record at a time, until the
    /// frame is done ([`Step::Done`]) or input or room runs out.
    fn inflate_payload(
        &mut self,
        rd: &mut PBufRd<'_>,
        wr: &mut PBufWr<'_>,
    ) -> Result<Step, WsError> {
        loop {
            let Some(frame) = self.frame else {
                return Ok(Step::Done);
            };
            let Some(inflation) = self.message.as_ref().and_then(|m| m.inflation) else {
                return Ok(Step::Done);
            };
            if frame.remaining == 0 {
                self.frame = None;
                if frame.header.fin {
                    self.set_inflation(Inflation::Tail {
                        inflated: inflation.inflated(),
                        // After a final block the tail belongs to no stream.
                        fed: match inflation {
                            Inflation::Ended { .. } => TAIL.len(),
                            _ => 0,
                        },
                    });
                }
                return Ok(Step::Done);
            }
            let available = (rd.len() as u64).min(frame.remaining) as usize;
            if available == 0 {
                // What the inflater holds back comes out now, not with the next payload
                // bytes: the application gets what can be decoded while the rest of the
                // frame is awaited, and sees it (and its errors) however the bytes arrive.
                if let Inflation::Payload { full: true, .. } = inflation
                    && let Some((step, _)) = self.inflate_record(&[], wr, false)?
                    && step.written > 0
                {
                    continue;
                }
                return Ok(Step::Blocked);
            }
            if let Inflation::Ended { .. } = inflation {
                // After a final block the rest of the message belongs to no stream: the
                // example of a final block in RFC 7692 §7.2.3 sends a byte there, and zlib
                // ignores it too. (The wire-size limit still bounds it.)
                let _ = rd.consume(available);
                if let Some(frame) = &mut self.frame {
                    frame.remaining -= available as u64;
                }
                continue;
            }
            let mut scratch = [0u8; SCRATCH];
            let input: &[u8] = match frame.header.mask {
                Some(key) => {
                    let n = available.min(SCRATCH);
                    unmask_into(&rd.data()[..n], &mut scratch[..n], key, frame.key_offset());
                    &scratch[..n]
                }
                None => &rd.data()[..available],
            };
            let Some((step, _)) = self.inflate_record(input, wr, false)? else {
                return Ok(Step::Blocked);
            };
            let _ = rd.consume(step.consumed);
            if let Some(frame) = &mut self.frame {
                frame.remaining -= step.consumed as u64;
            }
            if step.consumed == 0 && step.written == 0 {
                return Ok(Step::Blocked);
            }
        }
    }

    /// Between frames of a compressed message: ends it once its last frame went in (tail,
    /// then the final record), or lets out what the inflater held back.
    fn between_frames(&mut self, wr: &mut PBufWr<'_>) -> Result<Step, WsError> {
        loop {
            let Some(inflation) = self.message.as_ref().and_then(|m| m.inflation) else {
                return Ok(Step::Done);
            };
            match inflation {
                Inflation::Payload { full: true, .. } => {
                    if self.inflate_record(&[], wr, false)?.is_none() {
                        // No room: wait for it, as an uncompressed frame waits until its
                        // payload is out. Reading on would meet a ping, a close or a bad
                        // header behind this frame before or after its output (and that
                        // output's own errors) depending on how the bytes arrived.
                        return Ok(Step::Blocked);
                    }
                }
                Inflation::Payload { full: false, .. } | Inflation::Ended { .. } => {
                    return Ok(Step::Done);
                }
                Inflation::Tail { fed, .. } => {
                    let rest = TAIL.get(fed..).unwrap_or_default();
                    let Some((step, ended_message)) = self.inflate_record(rest, wr, true)? else {
                        return Ok(Step::Blocked);
                    };
                    if ended_message {
                        self.message = None;
                        if let Some(inflater) = &mut self.inflater {
                            inflater.end_message(step.ended);
                        }
                        return Ok(Step::Done);
                    }
                    if let Some(Message {
                        inflation: Some(Inflation::Tail { fed, .. }),
                        ..
                    }) = &mut self.message
                    {
                        *fed += step.consumed;
                    }
                    if step.consumed == 0 && step.written == 0 {
                        return Ok(Step::Blocked);
                    }
                }
            }
        }
    }

    fn set_inflation(&mut self, inflation: Inflation) {
        if let Some(message) = &mut self.message {
            message.inflation = Some(inflation);
        }
    }

    /// Inflates `input` into one chunk record in `wr`. `ending`: `input` is what is left of
    /// the tail, and the record ends the message if the inflater gives out everything.
    /// `None` if there is no room for a record with at least one byte. Checks the inflated
    /// size against `max_message` and text against UTF-8; returns what the inflater did
    /// and whether the message ended.
    fn inflate_record(
        &mut self,
        input: &[u8],
        wr: &mut PBufWr<'_>,
        ending: bool,
    ) -> Result<Option<(Inflated, bool)>, WsError> {
        let (Some(message), Some(inflater)) = (&mut self.message, &mut self.inflater) else {
            return Ok(None);
        };
        let Some(inflation) = message.inflation else {
            return Ok(None);
        };
        let room = wr.room();
        if room <= CHUNK_HEADER_LEN {
            return Ok(None);
        }
        let inflated = inflation.inflated();
        // One byte over the limit is enough to know it was passed.
        let allowance = self.max_message.saturating_sub(inflated).saturating_add(1);
        let out_len = (room - CHUNK_HEADER_LEN)
            .min(INFLATE_STEP)
            .min(usize::try_from(allowance).unwrap_or(usize::MAX));
        let Ok(space) = wr.space(CHUNK_HEADER_LEN + out_len) else {
            return Ok(None);
        };
        let (head, body) = space.split_at_mut(CHUNK_HEADER_LEN);
        let step = inflater
            .inflate(input, body)
            .map_err(|_| WsError::BadCompressedData)?;
        let output = &body[..step.written];
        if message.kind == MessageKind::Text {
            // The bytes within the limit are checked first: a UTF-8 error among them comes
            // before the message passes the limit, however the output fell into records
            // (else a large record would report the size, and the same bytes in smaller
            // records the UTF-8 error).
            let within = self.max_message.saturating_sub(inflated);
            let within = usize::try_from(within).map_or(output.len(), |w| w.min(output.len()));
            self.utf8
                .feed(&output[..within])
                .map_err(|_| WsError::Frame(crate::frame::FrameError::InvalidUtf8))?;
        }
        let inflated = inflated + step.written as u64;
        if inflated > self.max_message {
            return Err(WsError::MessageTooBig);
        }
        let full = step.written == out_len;
        let ended_message = ending && (step.ended || (step.consumed == input.len() && !full));
        if message.kind == MessageKind::Text && ended_message {
            self.utf8
                .finish()
                .map_err(|_| WsError::Frame(crate::frame::FrameError::InvalidUtf8))?;
        }
        if step.written > 0 || ended_message {
            // (u32: `out_len` is at most INFLATE_STEP.)
            head.copy_from_slice(&chunk_header(
                message.kind,
                ended_message,
                step.written as u32,
            ));
            let _ = wr.commit(CHUNK_HEADER_LEN + step.written);
        }
        // Less than asked for was used: the rest must not stay reserved.
        wr.unreserve();
        message.inflation = Some(match inflation {
            Inflation::Tail { fed, .. } => Inflation::Tail { inflated, fed },
            _ if step.ended => Inflation::Ended { inflated },
            _ => Inflation::Payload { inflated, full },
        });
        Ok(Some((step, ended_message)))
    }
}

#[cfg(test)]
#[cfg(feature = "deflate")]
mod tests {
    use super::*;
    use crate::deflate::ContextTakeover;
    use crate::message::read_chunk;
    use pipebuf::PipeBuf;

    fn put_frame(input: &mut PipeBuf<u8>, fin: bool, rsv: u8, opcode: OpCode, payload: &[u8]) {
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask: None,
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; crate::frame::MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        let mut wr = input.wr();
        wr.append(&head[..n]).expect("room");
        wr.append(payload).expect("room");
    }

    #[test]
    fn output_the_inflater_holds_back_comes_out_before_the_next_frame_is_read() {
        // 4000 bytes from a few dozen: the inflater takes the whole frame at once and holds
        // back what the 64-byte message buffer cannot take; a ping follows, then the
        // message's empty last frame.
        let data = [b'a'; 4000];
        let compressed = miniz_oxide::deflate::compress_to_vec(&data, 6);
        let mut input = PipeBuf::<u8>::new();
        put_frame(&mut input, false, RSV1, OpCode::Binary, &compressed);
        put_frame(&mut input, true, 0, OpCode::Ping, b"");
        put_frame(&mut input, true, 0, OpCode::Continuation, b"");
        let mut receiver = Receiver::new(false, 1 << 20);
        receiver.inflate_with(Inflater::new(ContextTakeover::Keep));
        let mut out = PipeBuf::<u8>::with_limits(64, 64);
        let mut delivered = 0;
        for _ in 0..1000 {
            let control = receiver
                .receive(&mut input.rd(), &mut out.wr())
                .expect("valid frames");
            let mut rd = out.rd();
            while let Ok(Some(chunk)) = read_chunk(&rd) {
                delivered += chunk.data.len();
                let len = chunk.record_len;
                rd.consume(len).expect("a whole record");
            }
            if let Some(control) = control {
                assert_eq!(control, Control::Ping(Vec::new()));
                assert_eq!(delivered, data.len(), "the ping was read before the output");
                return;
            }
        }
        panic!("the ping never came");
    }

    #[test]
    fn output_ready_in_the_inflater_comes_out_while_the_rest_of_the_frame_is_awaited() {
        // The frame announces 100 bytes more than arrive: the 4000 bytes its first part
        // inflates to reach the 64-byte message buffer as it is read, without more input.
        let data = [b'a'; 4000];
        let compressed = miniz_oxide::deflate::compress_to_vec(&data, 6);
        let mut input = PipeBuf::<u8>::new();
        let header = FrameHeader {
            fin: true,
            rsv: RSV1,
            opcode: OpCode::Binary,
            mask: None,
            payload_len: compressed.len() as u64 + 100,
        };
        let mut head = [0u8; crate::frame::MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        input.wr().append(&head[..n]).expect("room");
        input.wr().append(&compressed).expect("room");
        let mut receiver = Receiver::new(false, 1 << 20);
        receiver.inflate_with(Inflater::new(ContextTakeover::Keep));
        let mut out = PipeBuf::<u8>::with_limits(64, 64);
        let mut delivered = 0;
        for _ in 0..1000 {
            receiver
                .receive(&mut input.rd(), &mut out.wr())
                .expect("valid so far");
            let mut rd = out.rd();
            while let Ok(Some(chunk)) = read_chunk(&rd) {
                delivered += chunk.data.len();
                let len = chunk.record_len;
                rd.consume(len).expect("a whole record");
            }
        }
        assert_eq!(delivered, data.len());
    }

    /// Feeds a compressed text message of an invalid byte and then 1000 ASCII bytes to a
    /// receiver with `max_message` 100 whose message buffer holds `room` bytes; returns the
    /// error.
    fn invalid_text_over_the_limit(room: usize) -> WsError {
        let mut data = alloc::vec![0xff];
        data.extend_from_slice(&[b'a'; 1000]);
        let compressed = miniz_oxide::deflate::compress_to_vec(&data, 6);
        let mut input = PipeBuf::<u8>::new();
        put_frame(&mut input, true, RSV1, OpCode::Text, &compressed);
        let mut receiver = Receiver::new(false, 100);
        receiver.inflate_with(Inflater::new(ContextTakeover::Keep));
        let mut out = PipeBuf::<u8>::with_limits(room, room);
        for _ in 0..1000 {
            if let Err(e) = receiver.receive(&mut input.rd(), &mut out.wr()) {
                return e;
            }
            out.rd().consume_all();
        }
        panic!("no error");
    }

    #[test]
    fn a_utf8_error_within_the_limit_is_reported_before_the_size_however_large_the_record() {
        let utf8 = WsError::Frame(crate::frame::FrameError::InvalidUtf8);
        // A 4096-byte buffer takes all 101 bytes that pass the limit in one record; a 16-byte
        // one takes 11 at a time.
        assert_eq!(invalid_text_over_the_limit(4096), utf8);
        assert_eq!(invalid_text_over_the_limit(16), utf8);
    }
}

#[cfg(test)]
mod hand_over_tests {
    use alloc::vec::Vec;

    use pipebuf::PipeBuf;

    use super::*;
    use crate::message::read_chunk;

    const KEY: [u8; 4] = [0x11, 0x7e, 0xa5, 0x03];

    /// A record as the application reads it: kind, fin and data.
    type Record = (MessageKind, bool, Vec<u8>);

    /// A masked frame as a client sends it.
    fn masked_frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
        let header = FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask: Some(KEY),
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; crate::frame::MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        let mut frame = head[..n].to_vec();
        let at = frame.len();
        frame.extend_from_slice(payload);
        apply_mask(&mut frame[at..], KEY, 0);
        frame
    }

    /// Feeds `wire` to a server receiver in pieces of `piece` bytes, taking every record as
    /// it comes; returns the records (kind, fin, data) and how many came by hand-over (the
    /// record buffer took the input buffer's storage).
    fn receive_in_pieces(wire: &[u8], piece: usize) -> Result<(Vec<Record>, usize), WsError> {
        let mut receiver = Receiver::new(true, 1 << 20);
        let (mut input, mut records) = (PipeBuf::<u8>::new(), PipeBuf::<u8>::new());
        let (mut got, mut handed) = (Vec::new(), 0);
        for part in wire.chunks(piece) {
            input.wr().append(part).expect("room");
            loop {
                let input_storage = input.capacity();
                let before = records.len();
                receiver.receive(&mut input.rd(), &mut records.wr())?;
                if records.len() > before && input.capacity() != input_storage {
                    handed += 1;
                }
                let mut rd = records.rd();
                let Some(chunk) = read_chunk(&rd).expect("valid records") else {
                    break;
                };
                got.push((chunk.kind, chunk.fin, chunk.data.to_vec()));
                let n = chunk.record_len;
                rd.consume(n).expect("in the buffer");
            }
        }
        Ok((got, handed))
    }

    fn payload(len: usize) -> Vec<u8> {
        (0..len).map(|i| b'a' + (i * 7 % 26) as u8).collect()
    }

    #[test]
    fn a_large_frame_alone_in_the_input_is_unmasked_in_place_and_handed_on_whole() {
        let data = payload(70_000);
        let wire = masked_frame(OpCode::Binary, true, &data);
        let (got, handed) = receive_in_pieces(&wire, wire.len()).unwrap();
        assert_eq!(got, [(MessageKind::Binary, true, data.clone())]);
        assert_eq!(handed, 1);
        // Text too, checked on the way.
        let wire = masked_frame(OpCode::Text, true, &data);
        let (got, handed) = receive_in_pieces(&wire, wire.len()).unwrap();
        assert_eq!(got, [(MessageKind::Text, true, data)]);
        assert_eq!(handed, 1);
    }

    #[test]
    fn frames_in_any_pieces_give_the_same_data_whether_handed_on_or_copied() {
        let (a, b, c) = (payload(5000), payload(HAND_OVER_MIN), payload(300));
        let mut wire = masked_frame(OpCode::Binary, false, &a);
        wire.extend(masked_frame(OpCode::Continuation, true, &b));
        wire.extend(masked_frame(OpCode::Text, true, &c));
        let whole: Vec<u8> = [&a[..], &b[..]].concat();
        for piece in [1, 7, 999, 1024, 1500, 4096, 5006, 6040, wire.len()] {
            let (got, _) = receive_in_pieces(&wire, piece).unwrap();
            let binary: Vec<u8> = got
                .iter()
                .filter(|(kind, ..)| *kind == MessageKind::Binary)
                .flat_map(|(_, _, d)| d.iter().copied())
                .collect();
            assert_eq!(binary, whole, "piece {piece}");
            let text: Vec<u8> = got
                .iter()
                .filter(|(kind, ..)| *kind == MessageKind::Text)
                .flat_map(|(_, _, d)| d.iter().copied())
                .collect();
            assert_eq!(text, c, "piece {piece}");
            let fins: Vec<bool> = got
                .iter()
                .filter(|(_, fin, _)| *fin)
                .map(|_| true)
                .collect();
            assert_eq!(fins.len(), 2, "piece {piece}");
        }
    }

    #[test]
    fn invalid_utf8_in_a_handed_on_frame_fails_before_the_application_sees_it() {
        let mut data = payload(4000);
        data[3000] = 0xff;
        let wire = masked_frame(OpCode::Text, true, &data);
        let mut receiver = Receiver::new(true, 1 << 20);
        let (mut input, mut records) = (PipeBuf::<u8>::new(), PipeBuf::<u8>::new());
        input.wr().append(&wire).expect("room");
        let result = receiver.receive(&mut input.rd(), &mut records.wr());
        assert!(matches!(
            result,
            Err(WsError::Frame(crate::frame::FrameError::InvalidUtf8))
        ));
        assert!(records.is_empty());
    }
}
