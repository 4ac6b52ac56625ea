//! What a [`Connection`](super::Connection) needs from a tokio stream beyond reading and
//! writing: how to make an abort visible to the peer.

use std::io;
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncWrite};

/// A connected tokio byte stream a [`Connection`](super::Connection) can drive.
///
/// Reading, writing, flushing and the clean end (`poll_shutdown`: a TCP FIN, EOF for the
/// peer of a Unix stream or a [`DuplexStream`](::tokio::io::DuplexStream)) come from
/// `AsyncRead` and `AsyncWrite`. What those traits cannot say is *abort*: the chain's output
/// ended broken, or the connection is dropped because something failed. The connection calls
/// [`prepare_abort`](TokioStream::prepare_abort) and then drops the stream, and the peer
/// should see a broken stream, not a clean end (DESIGN §6: "an abort must reach the TCP peer
/// as an RST").
///
/// | stream | what the peer sees on an abort |
/// |---|---|
/// | `TcpStream` | an RST (`SO_LINGER` 0): its reads and writes fail with `ECONNRESET` |
/// | `UnixStream` | both directions shut: EOF on read, `EPIPE` on write (no RST exists) |
/// | `DuplexStream` | a clean EOF: an in-memory pipe has no way to say more |
///
/// For a stream type of your own, implement the trait; the default method does nothing, so
/// the peer sees the drop as whatever dropping the stream means (for most, a clean end). A
/// stream type of another crate needs a newtype around it.
pub trait TokioStream: AsyncRead + AsyncWrite + Unpin {
    /// Prepares the stream so that the peer sees a broken stream when it is dropped. Best
    /// effort: a failure is ignored and the peer may then see a clean end.
    fn prepare_abort(&self) -> io::Result<()> {
        Ok(())
    }
}

impl TokioStream for ::tokio::net::TcpStream {
    fn prepare_abort(&self) -> io::Result<()> {
        // Through socket2 rather than tokio's own linger setter, which newer tokio versions
        // deprecate and older ones lack: one call that works with every tokio 1.x.
        socket2::SockRef::from(self).set_linger(Some(Duration::ZERO))
    }
}

#[cfg(unix)]
impl TokioStream for ::tokio::net::UnixStream {
    fn prepare_abort(&self) -> io::Result<()> {
        // No RST on Unix sockets: shutting both directions is the closest signal, as the mio
        // link does.
        socket2::SockRef::from(self).shutdown(std::net::Shutdown::Both)
    }
}

/// An in-memory pipe: the peer sees an abort as a clean EOF (the default method).
impl TokioStream for ::tokio::io::DuplexStream {}
