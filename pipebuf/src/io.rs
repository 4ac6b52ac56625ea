//! `std::io` on the views, and transfers between a view and any reader or writer (`std`).
//!
//! The trait impls map the buffer's stream state onto `std::io` conventions: an empty open
//! buffer is [`io::ErrorKind::WouldBlock`], a consumed-to-the-end close is `Ok(0)`, an abort
//! is [`io::ErrorKind::ConnectionAborted`]. The transfer helpers instead report every outcome
//! as a value, so a socket link can tell "would block", "peer ended" and "buffer full" apart
//! without matching on error kinds.

use std::io::{self, BufRead, Read, Write};

use crate::state::EofKind;
use crate::{Error, PBufRd, PBufWr};

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        let kind = match e {
            Error::AfterEof => io::ErrorKind::BrokenPipe,
            Error::NoSpace { .. } => io::ErrorKind::WouldBlock,
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}

/// What [`PBufWr::read_from`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStatus {
    /// This many elements were read into the buffer (never 0), filling all the space the
    /// read was offered: the reader may have more.
    Read(usize),
    /// This many elements were read (never 0), fewer than the space offered: the reader had
    /// no more at that moment. For a stream socket that means its receive queue is empty,
    /// so an edge-triggered driver may wait for the next readiness event instead of reading
    /// again only to get `WouldBlock`.
    Partial(usize),
    /// The reader has nothing now (`WouldBlock`); wait for readiness.
    WouldBlock,
    /// The reader reached end of stream (read returned 0). The buffer is left open: the
    /// caller decides whether that is a close or, for example, a truncation.
    EndOfStream,
    /// The buffer is at its limit: nothing was read (backpressure).
    Full,
}

/// What [`PBufRd::write_to`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStatus {
    /// This many elements were written out and consumed (never 0).
    Wrote(usize),
    /// The writer cannot take anything now (`WouldBlock`); wait for readiness.
    WouldBlock,
    /// No data was waiting in the buffer.
    Empty,
}

impl PBufWr<'_, u8> {
    /// One read from `src` straight into this buffer's free space (at most `max` bytes),
    /// retrying on `Interrupted`. Other errors are returned unchanged and leave the buffer
    /// as it was.
    ///
    /// The read is offered all the free space the buffer already holds, up to `max`, so
    /// that one read takes whatever the source has ready; waiting data is moved down first
    /// when that is cheap. Storage grows by one step (doubling) only when nothing is free:
    /// a buffer kept between reads settles at the size its largest burst needed. A buffer
    /// that holds no storage (new, or [released](crate::PipeBuf::release)) reads through a
    /// storage it allocates for the read is freed again when the read brings nothing (would
    /// block, end of stream, error), so an idle buffer stays without storage and no payload
    /// byte is copied twice. No reservation is left behind, so an idle buffer can be
    /// released.
    ///
    /// ```
    /// use pipebuf::{PipeBuf, ReadStatus};
    ///
    /// let mut pb = PipeBuf::<u8>::new();
    /// let mut src: &[u8] = b"socket bytes";
    /// assert_eq!(pb.wr().read_from(&mut src, 4096).unwrap(), ReadStatus::Partial(12));
    /// assert_eq!(pb.wr().read_from(&mut src, 4096).unwrap(), ReadStatus::EndOfStream);
    /// assert_eq!(pb.data(), b"socket bytes");
    /// ```
    pub fn read_from<R: Read + ?Sized>(
        &mut self,
        src: &mut R,
        max: usize,
    ) -> io::Result<ReadStatus> {
        let had_no_storage = self.holds_no_storage();
        let result = self.read_into_space(src, max);
        // Whatever happened, no reservation is left behind to keep an idle buffer alive.
        self.unreserve();
        if had_no_storage {
            // Allocated for this read: freed again if it brought nothing (an idle buffer
            // holds no storage).
            self.release_storage();
        }
        result
    }

    fn read_into_space<R: Read + ?Sized>(
        &mut self,
        src: &mut R,
        max: usize,
    ) -> io::Result<ReadStatus> {
        let space = self.space_for_read(max)?;
        let offered = space.len();
        if offered == 0 {
            return Ok(ReadStatus::Full);
        }
        let n = match read_retrying(src, space)? {
            Some(0) => return Ok(ReadStatus::EndOfStream),
            Some(n) => n.min(offered),
            None => return Ok(ReadStatus::WouldBlock),
        };
        self.commit(n)?;
        Ok(read_status(n, offered))
    }
}

/// One read, retrying on `Interrupted`: `Some(n)` bytes (0 at end of stream), `None` for
/// `WouldBlock`.
fn read_retrying<R: Read + ?Sized>(src: &mut R, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        match src.read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

fn read_status(n: usize, offered: usize) -> ReadStatus {
    if n < offered {
        ReadStatus::Partial(n)
    } else {
        ReadStatus::Read(n)
    }
}

impl PBufRd<'_, u8> {
    /// One write of the waiting data to `dst`, consuming what was written, retrying on
    /// `Interrupted`. A writer that accepts 0 bytes gives `WriteZero`; other errors are
    /// returned unchanged and consume nothing.
    ///
    /// ```
    /// use pipebuf::{PipeBuf, WriteStatus};
    ///
    /// let mut pb = PipeBuf::<u8>::new();
    /// pb.wr().append(b"out").unwrap();
    /// let mut sink = Vec::new();
    /// assert_eq!(pb.rd().write_to(&mut sink).unwrap(), WriteStatus::Wrote(3));
    /// assert_eq!(pb.rd().write_to(&mut sink).unwrap(), WriteStatus::Empty);
    /// assert_eq!(sink, b"out");
    /// ```
    pub fn write_to<W: Write + ?Sized>(&mut self, dst: &mut W) -> io::Result<WriteStatus> {
        if self.is_empty() {
            return Ok(WriteStatus::Empty);
        }
        loop {
            match dst.write(self.data()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    let n = n.min(self.len());
                    self.consume(n)?;
                    return Ok(WriteStatus::Wrote(n));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(WriteStatus::WouldBlock);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn eof_or_would_block(&self) -> io::Result<()> {
        match self.state().eof_kind() {
            Some(EofKind::Close) => Ok(()),
            Some(EofKind::Abort) => Err(io::ErrorKind::ConnectionAborted.into()),
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// Copies waiting data out and consumes it. With nothing waiting: `Ok(0)` once the stream was
/// closed, `ConnectionAborted` if it was aborted, `WouldBlock` while it is open. The EOF
/// itself is not consumed: call [`PBufRd::consume_eof`] for that.
impl Read for PBufRd<'_, u8> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.is_empty() {
            if buf.is_empty() {
                return Ok(0);
            }
            self.eof_or_would_block()?;
            return Ok(0);
        }
        let n = buf.len().min(self.len());
        crate::copy::copy_elements(&mut buf[..n], &self.data()[..n]);
        self.consume(n)?;
        Ok(n)
    }
}

/// The waiting data is the read buffer: no copy. An empty buffer gives the same results as
/// [`Read`]: `Ok(&[])` after a close, errors for abort and "open but empty".
impl BufRead for PBufRd<'_, u8> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.is_empty() {
            self.eof_or_would_block()?;
        }
        Ok(self.data())
    }

    fn consume(&mut self, amt: usize) {
        let n = amt.min(self.len());
        // Cannot fail: n <= len.
        let _ = PBufRd::consume(self, n);
    }
}

/// Appends as much as fits. A full buffer gives `WouldBlock`, a closed or aborted one
/// `BrokenPipe`. `flush` is a [push](PBufWr::push).
impl Write for PBufWr<'_, u8> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.append_some(buf)?;
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.push();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PipeBuf;

    /// A reader or writer that replays scripted results, like a non-blocking socket.
    struct Script(Vec<io::Result<usize>>);

    impl Script {
        fn next(&mut self) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.0.remove(0)
        }
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.next()?;
            buf[..n].fill(b'r');
            Ok(n)
        }
    }

    impl Write for Script {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            self.next()
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn interrupted() -> io::Result<usize> {
        Err(io::ErrorKind::Interrupted.into())
    }

    #[test]
    fn read_from_retries_interrupted_and_reports_would_block() {
        let mut pb = PipeBuf::<u8>::new();
        let mut src = Script(vec![interrupted(), Ok(3)]);
        assert_eq!(
            pb.wr().read_from(&mut src, 64).unwrap(),
            ReadStatus::Partial(3)
        );
        assert_eq!(
            pb.wr().read_from(&mut src, 64).unwrap(),
            ReadStatus::WouldBlock
        );
        assert_eq!(pb.data(), b"rrr");
    }

    #[test]
    fn read_from_leaves_nothing_reserved_so_an_idle_buffer_can_be_released() {
        let mut pb = PipeBuf::<u8>::with_limits(1024, 1 << 20);
        let mut src = Script(vec![Ok(10)]);
        assert_eq!(
            pb.wr().read_from(&mut src, 16384).unwrap(),
            ReadStatus::Partial(10)
        );
        assert_eq!(
            pb.wr().read_from(&mut src, 16384).unwrap(),
            ReadStatus::WouldBlock
        );
        pb.rd().consume_all();
        assert!(pb.release());
        assert_eq!(pb.capacity(), 0);
    }

    #[test]
    fn read_from_uses_free_space_before_growing() {
        let mut pb = PipeBuf::<u8>::with_limits(1024, 1 << 20);
        pb.wr().append(&[1; 16]).unwrap();
        let held = pb.capacity();
        let mut src = Script(vec![Ok(100)]);
        assert_eq!(
            pb.wr().read_from(&mut src, 16384).unwrap(),
            ReadStatus::Partial(100)
        );
        assert_eq!(pb.capacity(), held);
    }

    /// A non-blocking source holding `ready` bytes, counting the reads made.
    struct Queue {
        ready: usize,
        reads: usize,
    }

    impl Read for Queue {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            if self.ready == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.ready);
            buf[..n].fill(b'q');
            self.ready -= n;
            Ok(n)
        }
    }

    /// Reads as a socket link does (until a short read or `WouldBlock`) and consumes it all;
    /// returns how many reads that took.
    fn drain(pb: &mut PipeBuf<u8>, src: &mut Queue) -> usize {
        let before = src.reads;
        while let ReadStatus::Read(_) = pb.wr().read_from(src, 128 * 1024).unwrap() {}
        pb.rd().consume_all();
        src.reads - before
    }

    #[test]
    fn a_read_that_would_block_allocates_nothing() {
        let mut pb = PipeBuf::<u8>::new();
        let mut src = Queue { ready: 0, reads: 0 };
        assert_eq!(
            pb.wr().read_from(&mut src, 128 * 1024).unwrap(),
            ReadStatus::WouldBlock
        );
        assert_eq!(pb.capacity(), 0);
    }

    #[test]
    fn a_first_read_allocates_the_minimum_and_reads_straight_into_it() {
        let mut pb = PipeBuf::<u8>::with_limits(4096, 1 << 20);
        let mut src = Queue {
            ready: 10,
            reads: 0,
        };
        assert_eq!(
            pb.wr().read_from(&mut src, 128 * 1024).unwrap(),
            ReadStatus::Partial(10)
        );
        assert_eq!(pb.capacity(), 4096);
        assert_eq!(pb.data(), b"qqqqqqqqqq");
    }

    #[test]
    fn a_first_read_larger_than_the_minimum_goes_on_as_the_buffer_doubles() {
        let mut pb = PipeBuf::<u8>::with_limits(4096, 1 << 20);
        let mut src = Queue {
            ready: 10_000,
            reads: 0,
        };
        assert_eq!(
            pb.wr().read_from(&mut src, 128 * 1024).unwrap(),
            ReadStatus::Read(4096)
        );
        while let ReadStatus::Read(_) = pb.wr().read_from(&mut src, 128 * 1024).unwrap() {}
        assert_eq!(pb.len(), 10_000);
    }

    #[test]
    fn a_read_is_offered_all_the_free_space_held_up_to_max() {
        let mut pb = PipeBuf::<u8>::with_limits(4096, 1 << 20);
        let mut src = Queue {
            ready: 100_000,
            reads: 0,
        };
        drain(&mut pb, &mut src);
        let held = pb.capacity();
        assert_eq!(held, 128 * 1024);
        src.ready = 100_000;
        assert_eq!(
            pb.wr().read_from(&mut src, usize::MAX).unwrap(),
            ReadStatus::Partial(100_000)
        );
        pb.rd().consume_all();
        src.ready = 100_000;
        assert_eq!(
            pb.wr().read_from(&mut src, 50_000).unwrap(),
            ReadStatus::Read(50_000)
        );
        assert_eq!(pb.capacity(), held);
    }

    #[test]
    fn a_full_buffer_grows_by_doubling_up_to_its_limit() {
        let mut pb = PipeBuf::<u8>::with_limits(4096, 20_000);
        pb.wr().append(&[0; 4096]).unwrap();
        let mut src = Queue {
            ready: 100_000,
            reads: 0,
        };
        assert_eq!(
            pb.wr().read_from(&mut src, 128 * 1024).unwrap(),
            ReadStatus::Read(4096)
        );
        assert_eq!(pb.capacity(), 8192);
        for _ in 0..3 {
            pb.wr().read_from(&mut src, 128 * 1024).unwrap();
        }
        assert_eq!(pb.capacity(), 20_000);
        assert_eq!(
            pb.wr().read_from(&mut src, 128 * 1024).unwrap(),
            ReadStatus::Full
        );
    }

    #[test]
    fn a_64k_message_is_read_in_one_read_once_the_buffer_has_grown() {
        let mut pb = PipeBuf::<u8>::with_limits(4096, 256 * 1024);
        // A 64 KiB WebSocket message and its 14-byte header.
        let mut src = Queue {
            ready: 65_550,
            reads: 0,
        };
        // The first one into a new buffer grows it step by step (2 KiB through the stack,
        // then 4, 8, 16, 32, 64 and 128 KiB of storage).
        assert!(drain(&mut pb, &mut src) <= 7);
        for _ in 0..3 {
            src.ready = 65_550;
            assert_eq!(drain(&mut pb, &mut src), 1);
        }
        assert_eq!(pb.capacity(), 128 * 1024);
    }

    #[test]
    fn waiting_data_moves_down_when_that_copies_less_than_it_frees() {
        let mut pb = PipeBuf::<u8>::with_limits(4096, 1 << 20);
        pb.wr().append(&[1; 4096]).unwrap();
        pb.rd().consume(4000).unwrap();
        let mut src = Queue {
            ready: 10_000,
            reads: 0,
        };
        // 96 bytes wait at the end: moved down, the read gets the rest of the storage.
        assert_eq!(
            pb.wr().read_from(&mut src, 128 * 1024).unwrap(),
            ReadStatus::Read(4000)
        );
        assert_eq!(pb.capacity(), 4096);
        assert_eq!(pb.data()[..96], [1; 96]);
    }

    #[test]
    fn waiting_data_stays_put_when_moving_it_would_copy_more_than_it_frees() {
        let mut pb = PipeBuf::<u8>::with_limits(4096, 1 << 20);
        pb.wr().append(&[1; 3000]).unwrap();
        pb.rd().consume(100).unwrap();
        let mut src = Queue {
            ready: 10_000,
            reads: 0,
        };
        assert_eq!(
            pb.wr().read_from(&mut src, 128 * 1024).unwrap(),
            ReadStatus::Read(1096)
        );
        assert_eq!(pb.capacity(), 4096);
        assert_eq!(pb.len(), 4096 - 100);
    }

    #[test]
    fn read_from_that_fills_the_space_offered_is_not_partial() {
        let mut pb = PipeBuf::with_storage([0u8; 8]);
        let mut src = Script(vec![Ok(5), Ok(3)]);
        assert_eq!(pb.wr().read_from(&mut src, 5).unwrap(), ReadStatus::Read(5));
        assert_eq!(
            pb.wr().read_from(&mut src, 64).unwrap(),
            ReadStatus::Read(3)
        );
        assert_eq!(pb.len(), 8);
    }

    #[test]
    fn read_from_a_full_buffer_reads_nothing() {
        let mut pb = PipeBuf::with_storage([0u8; 2]);
        pb.wr().append(b"ab").unwrap();
        let mut src = Script(vec![Ok(1)]);
        assert_eq!(pb.wr().read_from(&mut src, 64).unwrap(), ReadStatus::Full);
        assert_eq!(src.0.len(), 1);
    }

    #[test]
    fn read_from_passes_other_errors_on_and_keeps_the_buffer() {
        let mut pb = PipeBuf::<u8>::new();
        let mut src = Script(vec![Err(io::ErrorKind::ConnectionReset.into())]);
        let err = pb.wr().read_from(&mut src, 64).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        assert!(pb.is_empty());
    }

    #[test]
    fn read_from_after_eof_is_broken_pipe() {
        let mut pb = PipeBuf::<u8>::new();
        pb.wr().close();
        let mut src: &[u8] = b"x";
        let err = pb.wr().read_from(&mut src, 64).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn write_to_retries_interrupted_and_consumes_what_was_written() {
        let mut pb = PipeBuf::<u8>::new();
        pb.wr().append(b"abcdef").unwrap();
        let mut dst = Script(vec![interrupted(), Ok(4)]);
        assert_eq!(pb.rd().write_to(&mut dst).unwrap(), WriteStatus::Wrote(4));
        assert_eq!(pb.rd().write_to(&mut dst).unwrap(), WriteStatus::WouldBlock);
        assert_eq!(pb.data(), b"ef");
    }

    #[test]
    fn write_to_a_writer_taking_nothing_is_write_zero() {
        let mut pb = PipeBuf::<u8>::new();
        pb.wr().append(b"a").unwrap();
        let err = pb.rd().write_to(&mut Script(vec![Ok(0)])).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
        assert_eq!(pb.data(), b"a");
    }

    #[test]
    fn read_trait_maps_stream_state_to_io_conventions() {
        let mut pb = PipeBuf::<u8>::new();
        let mut buf = [0u8; 8];
        assert_eq!(
            pb.rd().read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        pb.wr().append(b"hi").unwrap();
        pb.wr().close();
        assert_eq!(pb.rd().read(&mut buf).unwrap(), 2);
        assert_eq!(pb.rd().read(&mut buf).unwrap(), 0);
        assert_eq!(pb.rd().consume_eof(), Some(EofKind::Close)); // Read left the EOF alone

        let mut aborted = PipeBuf::<u8>::new();
        aborted.wr().abort();
        assert_eq!(
            aborted.rd().read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::ConnectionAborted
        );
    }

    #[test]
    fn bufread_lends_the_waiting_data() {
        let mut pb = PipeBuf::<u8>::new();
        pb.wr().append(b"line one\nline two\n").unwrap();
        let mut rd = pb.rd();
        let mut line = String::new();
        rd.read_line(&mut line).unwrap();
        assert_eq!(line, "line one\n");
        assert_eq!(rd.fill_buf().unwrap(), b"line two\n");
        BufRead::consume(&mut rd, 100);
        assert!(rd.is_empty());
    }

    #[test]
    fn write_trait_appends_what_fits_and_flush_pushes() {
        let mut pb = PipeBuf::with_storage([0u8; 4]);
        let mut wr = pb.wr();
        assert_eq!(wr.write(b"abcdef").unwrap(), 4);
        assert_eq!(
            wr.write(b"g").unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        wr.flush().unwrap();
        assert!(pb.has_pending_push());
        pb.wr().close();
        assert_eq!(
            pb.wr().write(b"x").unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
    }
}
