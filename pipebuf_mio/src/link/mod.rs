//! The link between a socket and a [`PipeBufPair`](pipebuf::PipeBufPair): the lowest
//! component of a chain, and the only one that does I/O.

mod stream;

use std::fmt;
use std::io;

use mio::event::Event;
use pipebuf::{EofKind, PBufRdWr, ReadStatus, WriteStatus};

pub use stream::LinkStream;

/// Default for [`Link::set_read_chunk`]: the most one read system call asks for. Large
/// enough for a 64 KiB message and its framing in one read; a read never asks for more than
/// the free space the incoming buffer holds (see [`PBufWr::read_from`](pipebuf::PBufWr::read_from)).
pub const DEFAULT_READ_CHUNK: usize = 128 * 1024;

/// Why a [`Link`] failed. Peer resets and broken pipes are not errors: they reach the chain
/// as an abort of the incoming buffer.
#[derive(Debug)]
#[non_exhaustive]
pub enum LinkError {
    /// A non-blocking connect failed (refused, unreachable, timed out). Reported once; the
    /// incoming buffer is aborted.
    Connect(io::Error),
    /// The socket failed in a way that is not a peer reset.
    Io(io::Error),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Connect(e) => write!(f, "connect failed: {e}"),
            LinkError::Io(e) => write!(f, "socket error: {e}"),
        }
    }
}

impl std::error::Error for LinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LinkError::Connect(e) | LinkError::Io(e) => Some(e),
        }
    }
}

/// Whether an I/O error means the peer is gone (the stream broke) rather than a local fault.
/// (Also the rule of the tokio link.) A stream that takes no bytes (`WriteZero`) cannot
/// carry output any more either.
pub(crate) fn is_peer_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected
            | io::ErrorKind::TimedOut
            | io::ErrorKind::WriteZero
    )
}

/// Connects a socket to a pair of buffers: outgoing data (the pair's `down` buffer) is written
/// to the socket, socket data is read straight into the incoming buffer's free space (`up`).
///
/// # Stream state
///
/// - outgoing close → `shutdown(Write)` once everything before it is written (half-close:
///   the incoming side stays open);
/// - outgoing abort → pending outgoing data is dropped, the incoming side is aborted and the
///   socket is set to send an RST when dropped ([`is_aborted`](Link::is_aborted) tells the
///   driver to drop it now);
/// - peer FIN → incoming close; peer RST, `ECONNRESET`, `EPIPE` → incoming abort (and outgoing
///   data is discarded from then on), not an `Err`;
/// - outgoing push: a socket write is already a flush, so the push is consumed; incoming
///   data is pushed each time the link has drained the socket.
///
/// # The driver's obligations
///
/// mio readiness is edge-triggered: an event says "became ready" once, and readiness lasts
/// until an operation hits `WouldBlock`. So the driver passes **every** event for the socket to
/// [`on_event`](Link::on_event) before calling [`process`](Link::process), and calls `process`
/// again whenever anything above the link made progress (space freed in the incoming buffer,
/// data added to the outgoing one), not only after events. The link remembers readiness
/// itself: when it stops reading because the incoming buffer is full, it keeps the socket
/// marked readable and resumes on the next `process` once there is space, without waiting for
/// an event that will never come. [`wants_read`](Link::wants_read) tells the driver whether
/// the link is paused with data possibly left in the socket, which is when read interest can
/// be dropped and when a read budget (see [`set_read_budget`](Link::set_read_budget)) that
/// ran out means the connection must be scheduled again.
///
/// ```
/// use std::io::{Read, Write};
/// use std::time::Duration;
/// use mio::{Events, Interest, Poll, Token};
/// use pipebuf::PipeBufPair;
/// use pipebuf_mio::Link;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
/// let (ours, _) = listener.accept().unwrap();
/// ours.set_nonblocking(true).unwrap();
/// let mut stream = mio::net::TcpStream::from_std(ours);
///
/// let mut poll = Poll::new().unwrap();
/// let mut events = Events::with_capacity(8);
/// poll.registry()
///     .register(&mut stream, Token(0), Interest::READABLE | Interest::WRITABLE)
///     .unwrap();
/// let (mut link, mut pair) = (Link::new(), PipeBufPair::<u8>::new());
///
/// peer.write_all(b"ping").unwrap();
/// while pair.up.len() < 4 {
///     poll.poll(&mut events, Some(Duration::from_secs(5))).unwrap();
///     for event in &events {
///         link.on_event(event);
///     }
///     link.process(&mut stream, pair.lower()).unwrap();
/// }
/// assert_eq!(pair.up.data(), b"ping");
///
/// pair.upper().wr.append(b"pong").unwrap();
/// pair.upper().wr.close();
/// link.process(&mut stream, pair.lower()).unwrap();
/// let mut reply = Vec::new();
/// peer.read_to_end(&mut reply).unwrap(); // ends: the close became a FIN
/// assert_eq!(reply, b"pong");
/// ```
#[derive(Debug, Clone)]
pub struct Link {
    readable: bool,
    /// An event reported the peer's FIN or an error: read until the end, even after a
    /// partial read.
    read_closed: bool,
    writable: bool,
    connecting: bool,
    /// The socket cannot carry outgoing data any more (peer gone or we aborted).
    write_dead: bool,
    aborted: bool,
    read_chunk: usize,
    read_budget: usize,
    bytes_read: u64,
    bytes_written: u64,
}

impl Default for Link {
    fn default() -> Self {
        Self::new()
    }
}

impl Link {
    /// A link for a connected socket (e.g. one just accepted).
    pub fn new() -> Self {
        Link {
            readable: true,
            read_closed: false,
            writable: true,
            connecting: false,
            write_dead: false,
            aborted: false,
            read_chunk: DEFAULT_READ_CHUNK,
            read_budget: usize::MAX,
            bytes_read: 0,
            bytes_written: 0,
        }
    }

    /// Bytes read from the socket so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Bytes written to the socket so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// A link for a socket whose non-blocking connect is in progress. Outgoing data waits
    /// until the connect completes; a failed connect is reported once as
    /// [`LinkError::Connect`].
    pub fn connecting() -> Self {
        Link {
            readable: false,
            writable: false,
            connecting: true,
            ..Self::new()
        }
    }

    /// The most one read asks for (default [`DEFAULT_READ_CHUNK`]). Each read is offered the
    /// free space the incoming buffer already holds, up to this; the buffer grows (by
    /// doubling, up to its limit) only when it has no free space left, so a buffer kept
    /// between messages settles at the size of the largest burst and reads it in one call.
    pub fn set_read_chunk(&mut self, bytes: usize) {
        self.read_chunk = bytes.max(1);
    }

    /// Bytes the link may read from now on, until set again (default: unlimited). A driver
    /// sets this per turn to share reading fairly between connections; a link whose budget ran
    /// out while the socket may hold more data keeps [`wants_read`](Link::wants_read) true.
    pub fn set_read_budget(&mut self, bytes: usize) {
        self.read_budget = bytes;
    }

    /// What is left of the read budget.
    pub fn read_budget_left(&self) -> usize {
        self.read_budget
    }

    /// Records the readiness an event reports. Call for every event of this socket.
    pub fn on_event(&mut self, event: &Event) {
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.readable = true;
        }
        if event.is_read_closed() || event.is_error() {
            self.read_closed = true;
        }
        if event.is_writable() || event.is_write_closed() || event.is_error() {
            self.writable = true;
        }
    }

    /// Whether the socket may hold data the link has not read because the incoming buffer is
    /// full or the read budget ran out.
    pub fn wants_read(&self) -> bool {
        self.readable && !self.connecting
    }

    /// Whether the outgoing side was aborted: the socket is set up to send an RST and should
    /// be dropped now.
    pub fn is_aborted(&self) -> bool {
        self.aborted
    }

    /// Whether the socket can no longer carry outgoing data (the peer reset the connection,
    /// a write failed with `EPIPE`, or we aborted). From then on outgoing data is discarded.
    /// When the incoming side had already ended, this is the only sign of it: a driver
    /// should then drop the connection.
    pub fn is_write_dead(&self) -> bool {
        self.write_dead
    }

    /// Whether a non-blocking connect is still in progress.
    pub fn is_connecting(&self) -> bool {
        self.connecting
    }

    /// Moves data between the socket and the buffers as far as readiness, buffer space and
    /// the read budget allow; returns whether anything observable happened.
    ///
    /// One call runs the link to its fixpoint: calling again before the buffers change or a
    /// new event arrives does nothing and returns `false`. A driver may rely on that to end
    /// a turn as soon as the components after the link are quiet.
    ///
    /// `io.rd` is the outgoing buffer (data to send), `io.wr` the incoming one: pass
    /// [`PipeBufPair::lower`](pipebuf::PipeBufPair::lower).
    pub fn process<S: LinkStream>(
        &mut self,
        stream: &mut S,
        mut io: PBufRdWr<'_>,
    ) -> Result<bool, LinkError> {
        let before = (io.rd.tripwire(), io.wr.tripwire());
        if self.connecting && !self.finish_connect(stream, &mut io)? {
            return Ok(false);
        }
        self.write_side(stream, &mut io)?;
        let dead_before_read = self.write_dead;
        self.read_side(stream, &mut io)?;
        if self.write_dead && !dead_before_read {
            // The read found the peer gone: settle the outgoing side now, so that a second
            // call has nothing left to do.
            self.write_side(stream, &mut io)?;
        }
        Ok(before != (io.rd.tripwire(), io.wr.tripwire()))
    }

    /// Returns whether the connection is up.
    fn finish_connect<S: LinkStream>(
        &mut self,
        stream: &mut S,
        io: &mut PBufRdWr<'_>,
    ) -> Result<bool, LinkError> {
        if !(self.readable || self.writable) {
            return Ok(false);
        }
        let failure = match stream.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match stream.is_connected() {
                Ok(true) => None,
                Ok(false) => {
                    // Spurious wake-up: still connecting.
                    self.readable = false;
                    self.writable = false;
                    return Ok(false);
                }
                Err(e) => Some(e),
            },
        };
        self.connecting = false;
        match failure {
            None => Ok(true),
            Some(e) => {
                self.peer_gone(io);
                Err(LinkError::Connect(e))
            }
        }
    }

    fn write_side<S: LinkStream>(
        &mut self,
        stream: &mut S,
        io: &mut PBufRdWr<'_>,
    ) -> Result<(), LinkError> {
        if io.rd.pending_eof() == Some(EofKind::Abort) || self.write_dead {
            // An abort drops what was queued before it; a dead socket cannot take it.
            io.rd.consume_all();
        }
        while self.writable && !io.rd.is_empty() {
            match io.rd.write_to(stream) {
                Ok(WriteStatus::Wrote(n)) => self.bytes_written += n as u64,
                Ok(WriteStatus::WouldBlock) => self.writable = false,
                Ok(WriteStatus::Empty) => break,
                Err(e) if is_peer_gone(&e) => self.peer_gone(io),
                Err(e) => return Err(LinkError::Io(e)),
            }
        }
        if !io.rd.is_empty() {
            return Ok(());
        }
        io.rd.consume_push();
        match io.rd.consume_eof() {
            Some(EofKind::Close) if !self.write_dead => match stream.shutdown_write() {
                Ok(()) => (),
                Err(e) if is_peer_gone(&e) => self.peer_gone(io),
                Err(e) => return Err(LinkError::Io(e)),
            },
            Some(EofKind::Abort) => {
                self.write_dead = true;
                self.aborted = true;
                if !io.wr.is_eof() {
                    io.wr.abort();
                }
                // Best effort: if this fails the peer sees a FIN instead of an RST.
                let _ = stream.prepare_abort();
            }
            _ => (),
        }
        Ok(())
    }

    fn read_side<S: LinkStream>(
        &mut self,
        stream: &mut S,
        io: &mut PBufRdWr<'_>,
    ) -> Result<(), LinkError> {
        let mut got_data = false;
        while self.readable && !io.wr.is_eof() && self.read_budget > 0 {
            let max = self.read_chunk.min(self.read_budget);
            match io.wr.read_from(stream, max) {
                Ok(ReadStatus::Read(n)) => {
                    self.read_budget = self.read_budget.saturating_sub(n);
                    self.bytes_read += n as u64;
                    got_data = true;
                }
                Ok(ReadStatus::Partial(n)) => {
                    self.read_budget = self.read_budget.saturating_sub(n);
                    self.bytes_read += n as u64;
                    got_data = true;
                    if !self.read_closed {
                        // A stream socket that gave less than asked has an empty receive
                        // queue; edge-triggered readiness reports the next arrival, so the
                        // read that would only say `WouldBlock` is saved (as tokio does).
                        // Once a FIN or error was reported, reading goes on to see it.
                        self.readable = false;
                        io.wr.push();
                    }
                }
                Ok(ReadStatus::WouldBlock) => {
                    self.readable = false;
                    // The socket is drained: what arrived is all there is for now, which
                    // is what a push tells the layers above.
                    if got_data {
                        io.wr.push();
                    }
                }
                Ok(ReadStatus::EndOfStream) => {
                    self.readable = false;
                    io.wr.close();
                }
                Ok(ReadStatus::Full) => break,
                Err(e) if is_peer_gone(&e) => self.peer_gone(io),
                Err(e) => return Err(LinkError::Io(e)),
            }
        }
        if io.wr.is_eof() {
            // Nothing more will be read; stale readiness must not keep the driver busy.
            self.readable = false;
        }
        Ok(())
    }

    /// The peer reset the connection or it never came up: the incoming stream is broken, and
    /// outgoing data has nowhere to go.
    fn peer_gone(&mut self, io: &mut PBufRdWr<'_>) {
        self.write_dead = true;
        self.readable = false;
        if !io.wr.is_eof() {
            io.wr.abort();
        }
        io.rd.consume_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipebuf::PipeBufPair;
    use std::io::{Read, Write};

    /// A socket whose sending side is blocked and whose receiving side says the peer reset.
    struct ResetWhileBlocked;

    impl Read for ResetWhileBlocked {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::ErrorKind::ConnectionReset.into())
        }
    }

    impl Write for ResetWhileBlocked {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::WouldBlock.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl LinkStream for ResetWhileBlocked {
        fn shutdown_write(&self) -> io::Result<()> {
            Err(io::ErrorKind::NotConnected.into())
        }
        fn prepare_abort(&self) -> io::Result<()> {
            Ok(())
        }
        fn take_error(&self) -> io::Result<Option<io::Error>> {
            Ok(None)
        }
        fn is_connected(&self) -> io::Result<bool> {
            Ok(true)
        }
    }

    /// An in-memory socket: `ready` bytes waiting to be read, the reads counted; writes are
    /// taken whole.
    struct Loopback {
        ready: usize,
        reads: usize,
    }

    impl Read for Loopback {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            if self.ready == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.ready);
            self.ready -= n;
            Ok(n)
        }
    }

    impl Write for Loopback {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl LinkStream for Loopback {
        fn shutdown_write(&self) -> io::Result<()> {
            Ok(())
        }
        fn prepare_abort(&self) -> io::Result<()> {
            Ok(())
        }
        fn take_error(&self) -> io::Result<Option<io::Error>> {
            Ok(None)
        }
        fn is_connected(&self) -> io::Result<bool> {
            Ok(true)
        }
    }

    /// Delivers one message of `len` bytes to the link as a readiness event would, lets the
    /// layer above consume it, and returns the reads it took.
    fn deliver(
        link: &mut Link,
        pair: &mut PipeBufPair,
        socket: &mut Loopback,
        len: usize,
    ) -> usize {
        socket.ready = len;
        socket.reads = 0;
        link.readable = true;
        link.process(socket, pair.lower()).unwrap();
        assert_eq!(pair.up.len(), len);
        pair.upper().rd.consume_all();
        socket.reads
    }

    #[test]
    fn a_64k_message_is_read_in_at_most_two_reads() {
        // The driver's default limits: 4 KiB first allocation, 256 KiB cap.
        let mut pair = PipeBufPair::<u8>::with_limits(4096, 256 * 1024);
        let (mut link, mut socket) = (Link::new(), Loopback { ready: 0, reads: 0 });
        // A 64 KiB WebSocket message with its 14-byte header. The first one grows the new
        // buffer by doubling; from then on the buffer has room for a whole message.
        assert!(deliver(&mut link, &mut pair, &mut socket, 65_550) <= 8);
        for _ in 0..3 {
            assert!(deliver(&mut link, &mut pair, &mut socket, 65_550) <= 2);
        }
        // A short read ends reading until the next event: no read only to hear `WouldBlock`.
        assert_eq!(deliver(&mut link, &mut pair, &mut socket, 65_550), 1);
        assert_eq!(deliver(&mut link, &mut pair, &mut socket, 16), 1);
    }

    #[test]
    fn a_read_that_finds_nothing_allocates_no_buffer() {
        let mut pair = PipeBufPair::<u8>::new();
        let (mut link, mut socket) = (Link::new(), Loopback { ready: 0, reads: 0 });
        // A new connection is taken as readable; its first read finds nothing yet.
        assert!(!link.process(&mut socket, pair.lower()).unwrap());
        assert_eq!(socket.reads, 1);
        assert_eq!(pair.up.capacity(), 0);
    }

    #[test]
    fn a_reset_found_by_reading_settles_the_outgoing_side_in_the_same_call() {
        let mut link = Link::new();
        let mut pair = PipeBufPair::<u8>::new();
        pair.down.wr().append(b"queued").unwrap();
        pair.down.wr().close();
        let mut stream = ResetWhileBlocked;
        // First call: the write blocks, then the read finds the reset.
        assert!(link.process(&mut stream, pair.lower()).unwrap());
        assert!(link.is_write_dead());
        assert_eq!(pair.up.state().eof_kind(), Some(EofKind::Abort));
        assert!(pair.down.is_empty());
        assert!(
            !pair.down.rd().has_pending_eof(),
            "the close was left pending"
        );
        // So a second call has nothing to do, which a driver relies on to end its turn.
        assert!(!link.process(&mut stream, pair.lower()).unwrap());
    }
}
