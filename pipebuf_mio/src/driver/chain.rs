//! What the application plugs into the driver: one connection's protocol chain.

use std::collections::VecDeque;

use pipebuf::{PBufRdWr, Time};

use super::{ConnId, Event, SendResult};

/// Any error, boxed: what a [`Chain`] may return so that `?` works on every component's
/// error without a wrapper enum, and what [`LeftReason::ChainError`](crate::LeftReason)
/// carries.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The components of one connection above the socket link (TLS, WebSocket, the application
/// protocol), built by the application for each connection.
///
/// The driver owns the socket, the [`Link`](crate::Link) and the pair of buffers between the
/// link and the chain; every method gets the chain's side of that pair (`net`: read what came
/// from the socket, write what should go to it). All methods are sans-IO.
pub trait Chain {
    /// What the chain reports to the application, through [`Context::emit`].
    type Msg;
    /// Why the chain failed: any error type, or [`BoxError`] to use `?` on the errors of
    /// several components.
    ///
    /// When [`process`](Chain::process) returns an error, the chain has written what tells
    /// the peer (an alert, a close frame, an HTTP error) as far as room allowed. The driver
    /// keeps calling `process` (errors from then on are ignored) while it makes progress, so
    /// the rest gets out; once a call is quiet with room left in `net.wr`, the driver
    /// discards input and closes `net.wr` itself. A [`Stack`](pipebuf::Stack) or an
    /// [`Endpoint`](crate::Endpoint) keeps this contract for all its layers.
    type Error: Into<BoxError>;

    /// One pass over the chain's components; returns whether any did anything (see
    /// [`pipebuf::settle`]). The driver calls it until the whole connection settles.
    fn process(
        &mut self,
        net: PBufRdWr<'_>,
        cx: &mut Context<'_, Self::Msg>,
    ) -> Result<bool, Self::Error>;

    /// Queues application bytes for sending (e.g. one broadcast message). Writes all of
    /// `data` or nothing: [`SendResult::Full`] when it does not fit now,
    /// [`SendResult::Gone`] when the output has ended. The default appends to `net.wr`
    /// unchanged, right for plain TCP.
    fn send(&mut self, net: PBufRdWr<'_>, data: &[u8]) -> SendResult {
        let mut net = net;
        match net.wr.append(data) {
            Ok(()) => SendResult::Sent,
            Err(pipebuf::Error::NoSpace { .. }) => SendResult::Full,
            Err(_) => SendResult::Gone,
        }
    }

    /// Ends the application's side cleanly (graceful shutdown, [`Driver::close`]): the chain
    /// should finish what it is sending and then close its output through its layers. The
    /// default closes `net.wr` at once, which suits chains that write only from
    /// [`send`](Chain::send); a chain that also writes from `process` (an echo, a protocol
    /// with replies in flight) should instead remember the request and close once its
    /// pending output is written.
    ///
    /// [`Driver::close`]: crate::Driver::close
    fn close(&mut self, net: PBufRdWr<'_>) {
        let mut net = net;
        net.wr.close();
    }

    /// When the chain next needs [`process`](Chain::process) called even without socket
    /// activity (handshake timeout, keepalive), on the clock of [`Context::now`]; `None` for
    /// never.
    fn next_deadline(&self) -> Option<Time> {
        None
    }

    /// Frees the memory of idle buffers inside the chain (see
    /// [`PipeBuf::release`](pipebuf::PipeBuf::release)); called once the connection has had
    /// no turn for [`DriverConfig::release_after`](crate::DriverConfig::release_after).
    fn release(&mut self) {}
}

/// What a chain sees of the driver during [`Chain::process`].
#[derive(Debug)]
pub struct Context<'a, M> {
    pub(crate) id: ConnId,
    pub(crate) now: Time,
    pub(crate) events: &'a mut VecDeque<Event<M>>,
}

impl<M> Context<'_, M> {
    /// The connection being processed.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The time of this turn, on the process-wide clock of [`Time::now`]; components take
    /// it as their `now`, and [`Chain::next_deadline`] answers on the same clock.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Reports a message to the application: it comes out of
    /// [`Driver::next_event`](crate::Driver::next_event) as [`Event::Message`].
    pub fn emit(&mut self, msg: M) {
        self.events.push_back(Event::Message { id: self.id, msg });
    }
}
