//! An optional layer: `Some(layer)` runs it, `None` passes everything through.

use crate::{Layer, PBufRdWr, Time};

/// `None` is a layer that hands data, push and end of stream through unchanged both ways
/// (an empty buffer's storage is handed over, not copied); `Some` is the layer itself. So
/// one stack type serves `ws://` and `wss://`: `Stack<Option<Tls>, WebSocket>`.
impl<L: Layer> Layer for Option<L> {
    type Error = L::Error;

    fn process(
        &mut self,
        now: Time,
        mut lower: PBufRdWr<'_>,
        mut upper: PBufRdWr<'_>,
    ) -> Result<bool, L::Error> {
        match self {
            Some(layer) => layer.process(now, lower, upper),
            None => {
                // Forwarding only fails writing after an EOF, which it checks first.
                let up = !upper.wr.is_eof() && lower.rd.forward(&mut upper.wr).unwrap_or(false);
                let down = !lower.wr.is_eof() && upper.rd.forward(&mut lower.wr).unwrap_or(false);
                Ok(up | down)
            }
        }
    }

    fn next_deadline(&self) -> Option<Time> {
        self.as_ref().and_then(Layer::next_deadline)
    }

    fn release(&mut self) {
        if let Some(layer) = self {
            layer.release();
        }
    }
}
