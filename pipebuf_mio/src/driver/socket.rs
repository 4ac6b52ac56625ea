//! The socket kinds a driver handles: TCP and Unix streams, and their listeners.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
#[cfg(unix)]
use std::path::Path;

use mio::event::Source;
use mio::{Interest, Registry, Token};

use crate::LinkStream;

/// A connected stream of either kind.
#[derive(Debug)]
pub(crate) enum Socket {
    Tcp(mio::net::TcpStream),
    #[cfg(unix)]
    Unix(mio::net::UnixStream),
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Socket::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Socket::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl LinkStream for Socket {
    fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.shutdown_write(),
            #[cfg(unix)]
            Socket::Unix(s) => s.shutdown_write(),
        }
    }

    fn prepare_abort(&self) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.prepare_abort(),
            #[cfg(unix)]
            Socket::Unix(s) => s.prepare_abort(),
        }
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Socket::Tcp(s) => LinkStream::take_error(s),
            #[cfg(unix)]
            Socket::Unix(s) => LinkStream::take_error(s),
        }
    }

    fn is_connected(&self) -> io::Result<bool> {
        match self {
            Socket::Tcp(s) => s.is_connected(),
            #[cfg(unix)]
            Socket::Unix(s) => s.is_connected(),
        }
    }
}

impl Socket {
    fn source(&mut self) -> &mut dyn Source {
        match self {
            Socket::Tcp(s) => s,
            #[cfg(unix)]
            Socket::Unix(s) => s,
        }
    }

    pub(crate) fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        r.register(self.source(), t, i)
    }

    pub(crate) fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        r.reregister(self.source(), t, i)
    }

    pub(crate) fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        r.deregister(self.source())
    }
}

/// A listening socket of either kind.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(mio::net::TcpListener),
    #[cfg(unix)]
    Unix(mio::net::UnixListener),
}

impl Listener {
    pub(crate) fn bind_tcp(addr: SocketAddr, reuse_port: bool) -> io::Result<Self> {
        use socket2::{Domain, Protocol, Socket as RawSocket, Type};
        let socket = RawSocket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        if reuse_port {
            #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
            socket.set_reuse_port(true)?;
        }
        if addr.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        Ok(Listener::Tcp(mio::net::TcpListener::from_std(
            socket.into(),
        )))
    }

    #[cfg(unix)]
    pub(crate) fn bind_unix(path: &Path) -> io::Result<Self> {
        Ok(Listener::Unix(mio::net::UnixListener::bind(path)?))
    }

    pub(crate) fn accept(&mut self) -> io::Result<Socket> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                // Small writes go out at once: the chain batches, the push says when.
                let _ = s.set_nodelay(true);
                Ok(Socket::Tcp(s))
            }
            #[cfg(unix)]
            Listener::Unix(l) => Ok(Socket::Unix(l.accept()?.0)),
        }
    }

    pub(crate) fn local_addr(&self) -> io::Result<LocalAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().map(LocalAddr::Tcp),
            #[cfg(unix)]
            Listener::Unix(l) => Ok(LocalAddr::Unix(
                l.local_addr()?
                    .as_pathname()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
            )),
        }
    }

    fn source(&mut self) -> &mut dyn Source {
        match self {
            Listener::Tcp(l) => l,
            #[cfg(unix)]
            Listener::Unix(l) => l,
        }
    }

    pub(crate) fn register(&mut self, r: &Registry, t: Token) -> io::Result<()> {
        r.register(self.source(), t, Interest::READABLE)
    }

    pub(crate) fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        r.deregister(self.source())
    }
}

/// Where a listener listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalAddr {
    /// A TCP address (with the port chosen by the system if 0 was asked for).
    Tcp(SocketAddr),
    /// A Unix socket path.
    #[cfg(unix)]
    Unix(std::path::PathBuf),
}

impl std::fmt::Display for LocalAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocalAddr::Tcp(a) => write!(f, "{a}"),
            #[cfg(unix)]
            LocalAddr::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}
