//! What a link needs from a socket beyond `Read` and `Write`.

use std::io::{self, Read, Write};
use std::net::Shutdown;

/// A connected (or connecting) non-blocking byte stream a [`Link`](crate::Link) can drive:
/// implemented for mio's `TcpStream` and `UnixStream`.
pub trait LinkStream: Read + Write {
    /// Half-closes the sending direction (the peer reads EOF; we can still receive).
    fn shutdown_write(&self) -> io::Result<()>;

    /// Prepares the socket so that the peer sees a broken stream when it is dropped: an RST
    /// (SO_LINGER 0) for TCP, both directions shut for Unix streams.
    fn prepare_abort(&self) -> io::Result<()>;

    /// The socket's pending error (`SO_ERROR`), which is how a failed non-blocking connect
    /// reports itself.
    fn take_error(&self) -> io::Result<Option<io::Error>>;

    /// Whether a non-blocking connect has completed.
    fn is_connected(&self) -> io::Result<bool>;
}

fn connected(result: io::Result<impl Sized>) -> io::Result<bool> {
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

impl LinkStream for mio::net::TcpStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    fn prepare_abort(&self) -> io::Result<()> {
        socket2::SockRef::from(self).set_linger(Some(std::time::Duration::ZERO))
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        mio::net::TcpStream::take_error(self)
    }

    fn is_connected(&self) -> io::Result<bool> {
        connected(self.peer_addr())
    }
}

#[cfg(unix)]
impl LinkStream for mio::net::UnixStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    fn prepare_abort(&self) -> io::Result<()> {
        // No RST on Unix sockets: shutting both directions is the closest signal; the peer
        // sees EOF on read and EPIPE on write.
        self.shutdown(Shutdown::Both)
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        mio::net::UnixStream::take_error(self)
    }

    fn is_connected(&self) -> io::Result<bool> {
        connected(self.peer_addr())
    }
}
