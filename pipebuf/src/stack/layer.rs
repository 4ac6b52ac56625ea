//! The trait every component of a stack implements.

use crate::{PBufRdWr, Time};

/// A sans-IO component between a lower pair (towards the socket) and an upper pair (towards
/// the application).
///
/// `lower` is the pair below seen from above (`rd`: what came from the peer, `wr`: what goes
/// to it: [`PipeBufPair::upper`](crate::PipeBufPair::upper)); `upper` is the pair above seen
/// from below (`rd`: what the application sends, `wr`: what it receives:
/// [`PipeBufPair::lower`](crate::PipeBufPair::lower)).
///
/// # Contract
///
/// - [`process`](Layer::process) moves what it can and returns whether anything observable
///   happened (see [`Tripwire`](crate::Tripwire)); it never blocks and never does I/O.
/// - Stream state crosses the layer: a push, a close and an abort on one side reach the
///   other in their meaning (a layer documents its own from → to table).
/// - **On an error**, the layer has already written what tells the peer (an alert, a close
///   frame, an HTTP error) to `lower.wr` as far as room allowed, and aborted `upper.wr`.
///   Every later call returns `Ok`, discards input, writes the rest of that message and then
///   ends `lower.wr`. A [`Stack`](crate::Stack) relies on this to carry the message through
///   the layers below.
/// - Time is explicit: `now` is the chain's one clock ([`Time`]); a layer with timers says
///   when it next needs a call in [`next_deadline`](Layer::next_deadline).
///
/// ```
/// use pipebuf::{Layer, PBufRdWr, PipeBufPair, Time};
///
/// /// Counts the bytes that go up and passes everything through unchanged.
/// #[derive(Default)]
/// struct ByteCounter(usize);
///
/// impl Layer for ByteCounter {
///     type Error = pipebuf::Error;
///     fn process(&mut self, _: Time, mut lower: PBufRdWr<'_>, mut upper: PBufRdWr<'_>) -> Result<bool, pipebuf::Error> {
///         self.0 += lower.rd.len().min(upper.wr.room());
///         let up = lower.rd.forward(&mut upper.wr)?;
///         let down = upper.rd.forward(&mut lower.wr)?;
///         Ok(up | down)
///     }
/// }
///
/// let (mut below, mut above) = (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
/// below.lower().wr.append(b"seven b").unwrap();
/// let mut counter = ByteCounter::default();
/// counter.process(Time::ZERO, below.upper(), above.lower()).unwrap();
/// assert_eq!((counter.0, above.upper().rd.data()), (7, &b"seven b"[..]));
/// ```
pub trait Layer {
    /// Why the layer failed. A stack's error says which of its layers it came from.
    type Error;

    /// One step of the component at `now`: moves data and stream state between `lower` and
    /// `upper` as far as the buffers allow; returns whether anything happened.
    fn process(
        &mut self,
        now: Time,
        lower: PBufRdWr<'_>,
        upper: PBufRdWr<'_>,
    ) -> Result<bool, Self::Error>;

    /// When [`process`](Layer::process) must be called next even if no data arrives
    /// (handshake, keepalive and close timeouts); `None` for never.
    fn next_deadline(&self) -> Option<Time> {
        None
    }

    /// Frees the memory of idle buffers the layer holds (see
    /// [`PipeBuf::release`](crate::PipeBuf::release)); the owner calls it when the
    /// connection has been quiet for a while.
    fn release(&mut self) {}
}
