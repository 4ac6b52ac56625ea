//! Two layers and the pair between them, run as one layer.

use core::fmt;

#[cfg(feature = "alloc")]
use crate::storage::Growable;
use crate::storage::Storage;
use crate::{Layer, PBufRdWr, PipeBufPair, StackError, Time};

/// How many lower-layer steps a failing upper layer's last words get within the call that
/// reports the failure; later calls carry on with the rest.
const DELIVERY_STEPS: usize = 8;

/// Where a stack is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Both layers run.
    Running,
    /// A layer failed and the error was returned: both layers only deliver what tells the
    /// peer, then end the lower output.
    Delivering,
}

#[cfg(feature = "alloc")]
macro_rules! decl_stack {
    ($(#[$m:meta])*) => {
        $(#[$m])*
        pub struct Stack<L, U, S = Growable<u8>> {
            lower: L,
            pair: PipeBufPair<u8, S>,
            upper: U,
            phase: Phase,
        }
    };
}

#[cfg(not(feature = "alloc"))]
macro_rules! decl_stack {
    ($(#[$m:meta])*) => {
        $(#[$m])*
        pub struct Stack<L, U, S> {
            lower: L,
            pair: PipeBufPair<u8, S>,
            upper: U,
            phase: Phase,
        }
    };
}

decl_stack! {
    /// Two [`Layer`]s with the [`PipeBufPair`] between them, itself a layer: `L` towards the
    /// socket, `U` towards the application.
    ///
    /// One [`process`](Layer::process) call runs `L`, then `U`, then `L` again if `U` wrote
    /// towards it, so a request and its answer cross the stack in one pass. Its error is a
    /// [`StackError`] naming the layer. When `U` fails, `L` is run until what `U` wrote for
    /// the peer has gone through it (a close frame encrypted by TLS, say) before the error is
    /// returned; after any failure, later calls keep running both layers, which only deliver
    /// their last words and end the lower output (see [`Layer`]'s contract).
    ///
    /// ```
    /// use pipebuf::{Layer, PBufRdWr, PipeBufPair, Stack, StackError, Time};
    ///
    /// /// Turns bytes up into upper case; refuses a `!` by sending "bye" and closing.
    /// struct Shout;
    /// impl Layer for Shout {
    ///     type Error = &'static str;
    ///     fn process(&mut self, _: Time, mut lower: PBufRdWr<'_>, mut upper: PBufRdWr<'_>) -> Result<bool, &'static str> {
    ///         if lower.wr.is_eof() {
    ///             return Ok(lower.rd.discard());
    ///         }
    ///         let data = lower.rd.data().to_ascii_uppercase();
    ///         if data.contains(&b'!') {
    ///             lower.wr.append(b"bye").map_err(|_| "no room")?;
    ///             lower.wr.close();
    ///             upper.wr.abort();
    ///             return Err("shouted at");
    ///         }
    ///         upper.wr.append(&data).map_err(|_| "no room")?;
    ///         lower.rd.consume_all();
    ///         Ok(!data.is_empty())
    ///     }
    /// }
    ///
    /// /// Below Shout: passes bytes through, wrapping what goes down in brackets.
    /// struct Brackets;
    /// impl Layer for Brackets {
    ///     type Error = pipebuf::Error;
    ///     fn process(&mut self, _: Time, mut lower: PBufRdWr<'_>, mut upper: PBufRdWr<'_>) -> Result<bool, pipebuf::Error> {
    ///         let up = lower.rd.forward(&mut upper.wr)?;
    ///         let mut down = false;
    ///         if !upper.rd.is_empty() {
    ///             let framed = [b"[", upper.rd.data(), b"]"].concat();
    ///             lower.wr.append(&framed)?;
    ///             upper.rd.consume_all();
    ///             down = true;
    ///         }
    ///         if upper.rd.has_pending_eof() {
    ///             upper.rd.forward(&mut lower.wr)?;
    ///             down = true;
    ///         }
    ///         Ok(up | down)
    ///     }
    /// }
    ///
    /// let mut stack = Stack::new(Brackets, Shout);
    /// let (mut net, mut app) = (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
    /// net.lower().wr.append(b"hi").unwrap();
    /// stack.process(Time::ZERO, net.upper(), app.lower()).unwrap();
    /// assert_eq!(app.upper().rd.data(), b"HI");
    ///
    /// net.lower().wr.append(b"hey!").unwrap();
    /// let failed = stack.process(Time::ZERO, net.upper(), app.lower());
    /// assert_eq!(failed, Err(StackError::Upper("shouted at")));
    /// // Shout's last word went through Brackets before the error was returned.
    /// assert_eq!(net.lower().rd.data(), b"[bye]");
    /// assert!(net.down.state().eof_kind().is_some());
    /// ```
}

#[cfg(feature = "alloc")]
impl<L, U> Stack<L, U> {
    /// `lower` under `upper`, with a growable pair of the default limits between them.
    pub fn new(lower: L, upper: U) -> Self {
        Self::with_pair(lower, PipeBufPair::new(), upper)
    }
}

impl<L, U, S: Storage<u8>> Stack<L, U, S> {
    /// `lower` under `upper` with the given pair between them (fixed storage, other limits).
    pub fn with_pair(lower: L, pair: PipeBufPair<u8, S>, upper: U) -> Self {
        Stack {
            lower,
            pair,
            upper,
            phase: Phase::Running,
        }
    }

    /// The layer towards the socket.
    pub fn lower(&self) -> &L {
        &self.lower
    }

    /// The layer towards the socket, to configure or query it.
    pub fn lower_mut(&mut self) -> &mut L {
        &mut self.lower
    }

    /// The layer towards the application.
    pub fn upper(&self) -> &U {
        &self.upper
    }

    /// The layer towards the application, to configure or query it.
    pub fn upper_mut(&mut self) -> &mut U {
        &mut self.upper
    }

    /// The pair between the two layers.
    pub fn pair(&self) -> &PipeBufPair<u8, S> {
        &self.pair
    }

    /// Whether a layer has failed: the stack only delivers what tells the peer now.
    pub fn has_failed(&self) -> bool {
        self.phase == Phase::Delivering
    }
}

impl<L: Layer, U: Layer, S: Storage<u8>> Stack<L, U, S> {
    fn run_lower(&mut self, now: Time, lower: &mut PBufRdWr<'_>) -> Result<bool, L::Error> {
        self.lower.process(now, lower.reborrow(), self.pair.lower())
    }

    /// After a failure: both layers only deliver; a second error changes nothing more.
    fn deliver(&mut self, now: Time, mut lower: PBufRdWr<'_>, mut upper: PBufRdWr<'_>) -> bool {
        let below = self.run_lower(now, &mut lower).unwrap_or(false);
        let above = self
            .upper
            .process(now, self.pair.upper(), upper.reborrow())
            .unwrap_or(false);
        let again = above && self.run_lower(now, &mut lower).unwrap_or(false);
        below | above | again
    }
}

impl<L: Layer, U: Layer, S: Storage<u8>> Layer for Stack<L, U, S> {
    type Error = StackError<L::Error, U::Error>;

    fn process(
        &mut self,
        now: Time,
        mut lower: PBufRdWr<'_>,
        mut upper: PBufRdWr<'_>,
    ) -> Result<bool, Self::Error> {
        if self.phase == Phase::Delivering {
            return Ok(self.deliver(now, lower, upper));
        }
        let mut active = match self.run_lower(now, &mut lower) {
            Ok(active) => active,
            Err(e) => {
                // The lower layer wrote its own last words below itself; the upper one
                // learns of the failure from the abort on the pair at its next call.
                self.phase = Phase::Delivering;
                return Err(StackError::Lower(e));
            }
        };
        let down_before = self.pair.down.tripwire();
        match self.upper.process(now, self.pair.upper(), upper.reborrow()) {
            Ok(up) => active |= up,
            Err(e) => {
                self.phase = Phase::Delivering;
                for _ in 0..DELIVERY_STEPS {
                    if !self.run_lower(now, &mut lower).unwrap_or(false) {
                        break;
                    }
                }
                return Err(StackError::Upper(e));
            }
        }
        if self.pair.down.tripwire() != down_before {
            match self.run_lower(now, &mut lower) {
                Ok(down) => active |= down,
                Err(e) => {
                    self.phase = Phase::Delivering;
                    return Err(StackError::Lower(e));
                }
            }
        }
        Ok(active)
    }

    fn next_deadline(&self) -> Option<Time> {
        match (self.lower.next_deadline(), self.upper.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn release(&mut self) {
        self.pair.release();
        self.lower.release();
        self.upper.release();
    }
}

impl<L: fmt::Debug, U: fmt::Debug, S> fmt::Debug for Stack<L, U, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stack")
            .field("lower", &self.lower)
            .field("upper", &self.upper)
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}
