//! Frame opcodes (RFC 6455 §5.2, §11.8).

use super::FrameError;

/// What a frame carries: a piece of a data message or a control message.
///
/// Opcodes 3–7 (reserved for further data frames) and 11–15 (reserved for further control
/// frames) are not representable; [`OpCode::from_u8`] rejects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// 0x0: a further fragment of the data message in progress.
    Continuation = 0x0,
    /// 0x1: the first frame of a text message (UTF-8).
    Text = 0x1,
    /// 0x2: the first frame of a binary message.
    Binary = 0x2,
    /// 0x8: the closing handshake (optional code and reason).
    Close = 0x8,
    /// 0x9: a ping; the peer answers with a pong carrying the same payload.
    Ping = 0x9,
    /// 0xA: a pong, the answer to a ping (or an unsolicited heartbeat).
    Pong = 0xA,
}

impl OpCode {
    /// The opcode whose wire value is `value`, or [`FrameError::ReservedOpcode`] for a
    /// reserved value (3–7, 11–15) or one that does not fit in four bits.
    pub const fn from_u8(value: u8) -> Result<OpCode, FrameError> {
        match value {
            0x0 => Ok(OpCode::Continuation),
            0x1 => Ok(OpCode::Text),
            0x2 => Ok(OpCode::Binary),
            0x8 => Ok(OpCode::Close),
            0x9 => Ok(OpCode::Ping),
            0xA => Ok(OpCode::Pong),
            other => Err(FrameError::ReservedOpcode(other)),
        }
    }

    /// The four-bit wire value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Close, ping and pong: frames that may not be fragmented, carry at most 125 bytes
    /// and may arrive between the fragments of a data message.
    pub const fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }

    /// Continuation, text and binary: the frames that make up data messages.
    pub const fn is_data(self) -> bool {
        !self.is_control()
    }
}

impl TryFrom<u8> for OpCode {
    type Error = FrameError;

    fn try_from(value: u8) -> Result<OpCode, FrameError> {
        OpCode::from_u8(value)
    }
}

impl From<OpCode> for u8 {
    fn from(op: OpCode) -> u8 {
        op.as_u8()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [OpCode; 6] = [
        OpCode::Continuation,
        OpCode::Text,
        OpCode::Binary,
        OpCode::Close,
        OpCode::Ping,
        OpCode::Pong,
    ];

    #[test]
    fn every_defined_opcode_round_trips_through_its_wire_value() {
        for op in ALL {
            assert_eq!(OpCode::from_u8(op.as_u8()), Ok(op));
            assert_eq!(OpCode::try_from(u8::from(op)), Ok(op));
        }
    }

    #[test]
    fn the_wire_values_are_those_of_the_rfc() {
        let values: [u8; 6] = ALL.map(OpCode::as_u8);
        assert_eq!(values, [0x0, 0x1, 0x2, 0x8, 0x9, 0xA]);
    }

    #[test]
    fn every_reserved_opcode_is_an_error_that_names_it() {
        for v in (3..=7).chain(11..=15) {
            assert_eq!(OpCode::from_u8(v), Err(FrameError::ReservedOpcode(v)));
        }
    }

    #[test]
    fn a_value_above_four_bits_is_an_error() {
        assert_eq!(OpCode::from_u8(0x11), Err(FrameError::ReservedOpcode(0x11)));
        assert!(OpCode::from_u8(0xFF).is_err());
    }

    #[test]
    fn close_ping_and_pong_are_control_frames_and_the_rest_data_frames() {
        for op in ALL {
            let control = matches!(op, OpCode::Close | OpCode::Ping | OpCode::Pong);
            assert_eq!(op.is_control(), control, "{op:?}");
            assert_eq!(op.is_data(), !control, "{op:?}");
        }
    }
}
