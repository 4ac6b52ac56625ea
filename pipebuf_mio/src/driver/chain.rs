//! What the application plugs into the driver: one connection's protocol chain.

use std::collections::VecDeque;
use std::time::Instant;

use pipebuf::PBufRdWr;

use super::{ConnId, Event};

/// The components of one connection above the socket link (TLS, WebSocket, the application
/// protocol), built by the application for each connection.
///
/// The driver owns the socket, the [`Link`](crate::Link) and the pair of buffers between the
/// link and the chain; every method gets the chain's side of that pair (`net`: read what came
/// from the socket, write what should go to it). All methods are sans-IO.
pub trait Chain {
    /// What the chain reports to the application, through [`Context::emit`].
    type Msg;
    /// Why the chain failed. By the time it is returned the chain must have left the net
    /// buffers in a defined state (an alert written, the output closed or aborted).
    type Error: std::error::Error + Send + Sync + 'static;

    /// One pass over the chain's components; returns whether any did anything (see
    /// [`pipebuf::settle`]). The driver calls it until the whole connection settles.
    fn process(
        &mut self,
        net: PBufRdWr<'_>,
        cx: &mut Context<'_, Self::Msg>,
    ) -> Result<bool, Self::Error>;

    /// Queues application bytes for sending (e.g. one broadcast message). Writes all of
    /// `data` or nothing. The default appends to `net.wr` unchanged, right for plain TCP.
    fn send(&mut self, net: PBufRdWr<'_>, data: &[u8]) -> Result<(), pipebuf::Error> {
        let mut net = net;
        net.wr.append(data)
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
    /// activity (handshake timeout, keepalive); `None` for never.
    fn next_deadline(&self) -> Option<Instant> {
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
    pub(crate) now: Instant,
    pub(crate) events: &'a mut VecDeque<Event<M>>,
}

impl<M> Context<'_, M> {
    /// The connection being processed.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The time of this turn; components take it as their clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Reports a message to the application: it comes out of
    /// [`Driver::next_event`](crate::Driver::next_event) as [`Event::Message`].
    pub fn emit(&mut self, msg: M) {
        self.events.push_back(Event::Message { id: self.id, msg });
    }
}
