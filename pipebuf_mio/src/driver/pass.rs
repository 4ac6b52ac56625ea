//! One pass of a connection's chain, the same under the mio [`Driver`](super::Driver) and
//! the tokio `Connection`: a chain that failed keeps delivering what tells the peer (DESIGN
//! §2), and once it is quiet with room to spare its output is ended by the driver.

use std::time::Duration;

use pipebuf::PipeBufPair;

use super::{Chain, Context};

/// How long a connection whose chain failed may take to deliver what was queued before it.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `chain` once over the upper side of `pair`. `failed`: the chain returned an error
/// before; its errors are then ignored, input is discarded and the output closed once the
/// chain stops delivering. Returns whether anything moved, or the chain's (first) error.
pub(crate) fn chain_pass<C: Chain>(
    chain: &mut C,
    pair: &mut PipeBufPair,
    cx: &mut Context<'_, C::Msg>,
    failed: bool,
) -> Result<bool, C::Error> {
    if failed {
        let delivering = chain.process(pair.upper(), cx).unwrap_or(false);
        Ok(delivering || (!pair.down.is_full() && drain(pair)))
    } else {
        chain.process(pair.upper(), cx)
    }
}

/// One pass for a connection whose chain failed: discard input, make sure the output ends.
fn drain(pair: &mut PipeBufPair) -> bool {
    let mut upper = pair.upper();
    let dropped = upper.rd.discard();
    let closing = !upper.wr.is_eof();
    if closing {
        upper.wr.close();
    }
    dropped | closing
}
