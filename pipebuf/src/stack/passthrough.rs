//! An optional layer: `Some(layer)` runs it, `None` passes everything through.

use crate::{Layer, PBufRdWr, Time};

/// Hands data, push and end of stream from `lower` up to `upper` and from `upper` down to
/// `lower`, unchanged (into an empty growable buffer the storage is handed over, not
/// copied); returns whether anything moved. The body of a layer that only watches or
/// decides whether to let a connection through.
pub fn pass_through(mut lower: PBufRdWr<'_>, mut upper: PBufRdWr<'_>) -> bool {
    // Forwarding only fails writing after an EOF, which is checked first.
    let up = !upper.wr.is_eof() && lower.rd.forward(&mut upper.wr).unwrap_or(false);
    let down = !lower.wr.is_eof() && upper.rd.forward(&mut lower.wr).unwrap_or(false);
    up | down
}

/// `None` is a layer that hands data, push and end of stream through unchanged both ways
/// (an empty buffer's storage is handed over, not copied); `Some` is the layer itself. So
/// one stack type serves `ws://` and `wss://`: `Stack<Option<Tls>, WebSocket>`.
impl<L: Layer> Layer for Option<L> {
    type Error = L::Error;

    fn process(
        &mut self,
        now: Time,
        lower: PBufRdWr<'_>,
        upper: PBufRdWr<'_>,
    ) -> Result<bool, L::Error> {
        match self {
            Some(layer) => layer.process(now, lower, upper),
            None => Ok(pass_through(lower, upper)),
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
