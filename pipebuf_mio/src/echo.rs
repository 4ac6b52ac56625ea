//! The simplest application: everything that arrives goes back.

use pipebuf::PBufRdWr;

use crate::{Chain, Context};

/// An application that sends back everything it receives, push and end of stream included:
/// bytes over TCP or TLS, and whole messages with their types on top of a WebSocket (its
/// message records go back unchanged). On [`close`](Chain::close) (graceful shutdown) it
/// finishes echoing what has arrived, then closes; what comes after its own close is dropped.
#[derive(Debug, Default)]
pub struct Echo {
    closing: bool,
}

impl Echo {
    /// One step outside a driver: echoes `io.rd` into `io.wr`; returns whether anything moved.
    pub fn step(&mut self, mut io: PBufRdWr<'_>) -> Result<bool, pipebuf::Error> {
        if io.wr.is_eof() {
            // Our side is closed: what the peer still sends has nowhere to go.
            return Ok(io.rd.discard());
        }
        let moved = io.rd.forward(&mut io.wr)?;
        if self.closing && io.rd.is_empty() && !io.wr.is_eof() {
            io.wr.close();
            return Ok(true);
        }
        Ok(moved)
    }
}

impl Chain for Echo {
    type Msg = ();
    type Error = pipebuf::Error;

    fn process(
        &mut self,
        io: PBufRdWr<'_>,
        _: &mut Context<'_, ()>,
    ) -> Result<bool, pipebuf::Error> {
        self.step(io)
    }

    fn close(&mut self, _: PBufRdWr<'_>) {
        self.closing = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipebuf::{EofKind, PipeBufPair};

    #[test]
    fn echo_returns_data_and_the_close() {
        let mut pair = PipeBufPair::<u8>::new();
        pair.lower().wr.append(b"abc").unwrap();
        pair.lower().wr.close();
        let mut echo = Echo::default();
        while echo.step(pair.upper()).unwrap() {}
        let mut lower = pair.lower();
        assert_eq!(lower.rd.data(), b"abc");
        lower.rd.consume_all();
        assert_eq!(lower.rd.consume_eof(), Some(EofKind::Close));
    }

    #[test]
    fn closing_echo_finishes_what_arrived_then_drops_later_input() {
        let mut pair = PipeBufPair::<u8>::new();
        pair.lower().wr.append(b"before").unwrap();
        let mut echo = Echo { closing: true };
        while echo.step(pair.upper()).unwrap() {}
        pair.lower().wr.append(b"after").unwrap();
        while echo.step(pair.upper()).unwrap() {}
        assert_eq!(pair.down.data(), b"before");
        assert_eq!(pair.down.state().eof_kind(), Some(EofKind::Close));
        assert!(pair.up.is_empty());
    }
}
