//! The link between a tokio stream and the connection's byte pair: the
//! [`Link`](crate::Link)'s stream-state rules, on readiness that comes from polling.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use pipebuf::{EofKind, PBufRdWr, ReadStatus, WriteStatus};

use super::TokioStream;
use crate::link::is_peer_gone;

/// A stream seen through `std::io` for one poll: `Pending` becomes `WouldBlock`, so the
/// buffers' own `read_from` and `write_to` (no storage held while idle, no copy) work on
/// it. A `WouldBlock` means the stream has registered the task's waker.
struct Polled<'a, 'b, T> {
    stream: &'a mut T,
    cx: &'a mut Context<'b>,
}

fn pending_is_would_block<R>(poll: Poll<io::Result<R>>) -> io::Result<R> {
    match poll {
        Poll::Ready(result) => result,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

impl<T: AsyncRead + Unpin> Read for Polled<'_, '_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut buf = ReadBuf::new(buf);
        pending_is_would_block(Pin::new(&mut *self.stream).poll_read(self.cx, &mut buf))?;
        Ok(buf.filled().len())
    }
}

impl<T: AsyncWrite + Unpin> Write for Polled<'_, '_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        pending_is_would_block(Pin::new(&mut *self.stream).poll_write(self.cx, buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        pending_is_would_block(Pin::new(&mut *self.stream).poll_flush(self.cx))
    }
}

/// Moves bytes between a tokio stream and the pair under the chain, with the mio link's
/// stream-state rules: outgoing close → `poll_shutdown` once everything before it is
/// written; outgoing abort → queued data dropped, incoming side aborted, the stream prepared
/// for an RST ([`is_aborted`](PollLink::is_aborted) then says to drop it); peer EOF →
/// incoming close; peer reset → incoming abort; outgoing push → `poll_flush`; incoming
/// data pushed once the stream has no more.
///
/// Each call reads and writes until the stream says `Pending` (its waker is then
/// registered), a buffer is full or empty, or the stream ended, so the connection's task is
/// woken for everything that can make progress without the chain.
#[derive(Debug)]
pub(super) struct PollLink {
    read_chunk: usize,
    /// The stream cannot carry outgoing data any more (peer gone or we aborted).
    write_dead: bool,
    aborted: bool,
    /// A push was consumed and `poll_flush` has not completed yet.
    flushing: bool,
    /// The close was consumed and `poll_shutdown` has not completed yet.
    shutting_down: bool,
}

impl PollLink {
    pub(super) fn new(read_chunk: usize) -> Self {
        PollLink {
            read_chunk: read_chunk.max(1),
            write_dead: false,
            aborted: false,
            flushing: false,
            shutting_down: false,
        }
    }

    /// Whether the outgoing side was aborted: the stream is prepared for an abort and should
    /// be dropped now.
    pub(super) fn is_aborted(&self) -> bool {
        self.aborted
    }

    /// Whether outgoing data can no longer be delivered (peer gone or our abort).
    pub(super) fn is_write_dead(&self) -> bool {
        self.write_dead
    }

    /// Whether a clean end of the outgoing side is still being sent (`poll_shutdown`
    /// pending): the connection must not end before it completes.
    pub(super) fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// One round of I/O; `io.rd` is the outgoing buffer, `io.wr` the incoming one
    /// ([`PipeBufPair::lower`](pipebuf::PipeBufPair::lower)). Returns whether a buffer
    /// changed.
    pub(super) fn process<T: TokioStream>(
        &mut self,
        stream: &mut T,
        cx: &mut Context<'_>,
        mut io: PBufRdWr<'_>,
    ) -> io::Result<bool> {
        let before = (io.rd.tripwire(), io.wr.tripwire());
        let mut polled = Polled { stream, cx };
        self.write_side(&mut polled, &mut io)?;
        let dead_before_read = self.write_dead;
        self.read_side(&mut polled, &mut io)?;
        if self.write_dead && !dead_before_read {
            // The read found the peer gone: settle the outgoing side now, as the mio link
            // does, so that the close or abort queued there is not left pending.
            self.write_side(&mut polled, &mut io)?;
        }
        Ok(before != (io.rd.tripwire(), io.wr.tripwire()))
    }

    fn write_side<T: TokioStream>(
        &mut self,
        polled: &mut Polled<'_, '_, T>,
        io: &mut PBufRdWr<'_>,
    ) -> io::Result<()> {
        if io.rd.pending_eof() == Some(EofKind::Abort) || self.write_dead {
            // An abort drops what was queued before it; a dead stream cannot take it.
            io.rd.consume_all();
        }
        while !io.rd.is_empty() {
            match io.rd.write_to(polled) {
                Ok(WriteStatus::Wrote(_)) => (),
                Ok(WriteStatus::WouldBlock | WriteStatus::Empty) => break,
                Err(e) if is_peer_gone(&e) => self.peer_gone(io),
                Err(e) => return Err(e),
            }
        }
        if !io.rd.is_empty() {
            return Ok(());
        }
        if io.rd.consume_push() {
            self.flushing = true;
        }
        match io.rd.consume_eof() {
            Some(EofKind::Close) if !self.write_dead => self.shutting_down = true,
            Some(EofKind::Abort) => {
                self.write_dead = true;
                self.aborted = true;
                self.flushing = false;
                self.shutting_down = false;
                if !io.wr.is_eof() {
                    io.wr.abort();
                }
                // Best effort: if this fails the peer sees a clean end instead.
                let _ = polled.stream.prepare_abort();
            }
            _ => (),
        }
        // A shutdown flushes too, so one pending call covers both.
        let finishing = if self.shutting_down {
            Pin::new(&mut *polled.stream).poll_shutdown(polled.cx)
        } else if self.flushing {
            Pin::new(&mut *polled.stream).poll_flush(polled.cx)
        } else {
            return Ok(());
        };
        match finishing {
            Poll::Pending => (),
            Poll::Ready(Ok(())) => {
                self.flushing = false;
                self.shutting_down = false;
            }
            Poll::Ready(Err(e)) if is_peer_gone(&e) => {
                self.flushing = false;
                self.shutting_down = false;
                self.peer_gone(io);
            }
            Poll::Ready(Err(e)) => return Err(e),
        }
        Ok(())
    }

    fn read_side<T: TokioStream>(
        &mut self,
        polled: &mut Polled<'_, '_, T>,
        io: &mut PBufRdWr<'_>,
    ) -> io::Result<()> {
        let mut got_data = false;
        while !io.wr.is_eof() {
            match io.wr.read_from(polled, self.read_chunk) {
                // After a short read tokio's sockets forget their readiness, so the next
                // read costs no system call: it only registers the waker.
                Ok(ReadStatus::Read(_) | ReadStatus::Partial(_)) => got_data = true,
                Ok(ReadStatus::WouldBlock) => {
                    // The stream is drained: what arrived is all there is for now, which is
                    // what a push tells the layers above.
                    if got_data {
                        io.wr.push();
                    }
                    break;
                }
                Ok(ReadStatus::EndOfStream) => io.wr.close(),
                // Backpressure: no read (and so no waker) until the chain makes room, which
                // happens in this task's own turns.
                Ok(ReadStatus::Full) => break,
                Err(e) if is_peer_gone(&e) => self.peer_gone(io),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The peer reset the connection: the incoming stream is broken, and outgoing data has
    /// nowhere to go.
    fn peer_gone(&mut self, io: &mut PBufRdWr<'_>) {
        self.write_dead = true;
        // A flush or shutdown still pending could only fail now; the end must not wait on it.
        self.flushing = false;
        self.shutting_down = false;
        if !io.wr.is_eof() {
            io.wr.abort();
        }
        io.rd.consume_all();
    }
}
