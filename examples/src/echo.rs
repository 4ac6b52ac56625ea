//! The echo step shared by the echo servers: what came in goes back out, data, push and end
//! of stream alike.

use pipebuf::PBufRdWr;

/// Echoes `io.rd` into `io.wr`. After [`close`](Echo::close) it finishes echoing what has
/// arrived, then closes; input after its own close is dropped.
#[derive(Debug, Default)]
pub struct Echo {
    closing: bool,
}

impl Echo {
    /// One pass; returns whether anything moved.
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

    /// Asks the echo to finish what it has and close (graceful shutdown).
    pub fn close(&mut self) {
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
        let mut echo = Echo::default();
        echo.close();
        while echo.step(pair.upper()).unwrap() {}
        pair.lower().wr.append(b"after").unwrap();
        while echo.step(pair.upper()).unwrap() {}
        assert_eq!(pair.down.data(), b"before");
        assert_eq!(pair.down.state().eof_kind(), Some(EofKind::Close));
        assert!(pair.up.is_empty());
    }
}
