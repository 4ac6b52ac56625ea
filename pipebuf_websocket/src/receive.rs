//! Receiving: frames from the byte side become chunk records for the application, with
//! every receive-side rule of RFC 6455 checked on the way.

use alloc::vec::Vec;

use pipebuf::{PBufRd, PBufWr};

use crate::WsError;
use crate::frame::{FrameHeader, OpCode, Utf8Validator, parse_close_payload, unmask_into};
use crate::message::{CHUNK_HEADER_LEN, MessageKind, chunk_header};

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
    size: u64,
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
            if !self.data_payload(rd, wr)? {
                return Ok(None);
            }
        }
    }

    /// Checks a new frame's header against the connection's state.
    fn start_frame(&mut self, header: FrameHeader) -> Result<(), WsError> {
        if header.rsv != 0 {
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
                if message.size > self.max_message {
                    return Err(WsError::MessageTooBig);
                }
            }
            OpCode::Text | OpCode::Binary => {
                if self.message.is_some() {
                    return Err(WsError::Fragmentation);
                }
                if header.payload_len > self.max_message {
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
        // One record per call, as large as the room allows: afterwards either the frame is
        // complete, or the input or the room is used up. (An empty final frame still gets a
        // record: it ends the message.)
        let room = wr.room();
        if room < CHUNK_HEADER_LEN || (room == CHUNK_HEADER_LEN && available > 0) {
            return Ok(false);
        }
        let n = available.min(room - CHUNK_HEADER_LEN);
        let fin = n as u64 == frame.remaining && fin_frame;
        let Ok(space) = wr.space(CHUNK_HEADER_LEN + n) else {
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
