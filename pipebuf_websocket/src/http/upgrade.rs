//! The layer that serves HTTP until a request upgrades the connection, then hands the same
//! pairs, unread bytes included, to the upgraded layer.

use alloc::boxed::Box;
use core::fmt;

use pipebuf::{Layer, PBufRdWr, Time};

use super::{HttpError, HttpServer};

/// Which side serves the connection.
enum Serving<L> {
    /// HTTP, with the layer to switch to kept ready (boxed: the server is dropped at the
    /// switch, and the upgraded layer should not carry its size for the connection's life).
    Http { http: Box<HttpServer>, next: L },
    /// The upgraded layer.
    Upgraded(L),
    /// Only while switching.
    Switching,
}

/// An [`HttpServer`] (made with [`HttpConfig::stop_at_websocket_upgrade`]) until it stops at
/// an upgrade request, then `L` — typically a server [`WebSocket`](crate::WebSocket) — on
/// the same pairs. The HTTP server leaves the upgrade request unread, so `L` parses it as if
/// the connection had begun with it (see the [module docs](super#upgrades)).
///
/// The upper pair belongs to `L`: while HTTP serves (with a handler), the server closes it
/// when the connection ends without an upgrade, and the application closing it ends the
/// connection after the response in progress.
///
/// [`HttpConfig::stop_at_websocket_upgrade`]: super::HttpConfig::stop_at_websocket_upgrade
pub struct Upgrading<L> {
    serving: Serving<L>,
}

impl<L> fmt::Debug for Upgrading<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let serving = match &self.serving {
            Serving::Http { .. } => "http",
            Serving::Upgraded(_) => "upgraded",
            Serving::Switching => "switching",
        };
        f.debug_struct("Upgrading")
            .field("serving", &serving)
            .finish()
    }
}

/// Why an [`Upgrading`] layer failed: in HTTP, or in the upgraded layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpgradingError<E> {
    /// The HTTP server failed (a refused request, ...).
    Http(HttpError),
    /// The upgraded layer failed.
    Upgraded(E),
}

impl<E: fmt::Display> fmt::Display for UpgradingError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpgradingError::Http(e) => e.fmt(f),
            UpgradingError::Upgraded(e) => e.fmt(f),
        }
    }
}

#[cfg(feature = "std")]
impl<E: std::error::Error + 'static> std::error::Error for UpgradingError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UpgradingError::Http(e) => Some(e),
            UpgradingError::Upgraded(e) => Some(e),
        }
    }
}

impl<L> Upgrading<L> {
    /// Serves `http` first, `next` after an upgrade request.
    pub fn new(http: HttpServer, next: L) -> Self {
        Upgrading {
            serving: Serving::Http {
                http: Box::new(http),
                next,
            },
        }
    }

    /// The upgraded layer, once the connection switched to it.
    pub fn upgraded(&self) -> Option<&L> {
        match &self.serving {
            Serving::Upgraded(next) => Some(next),
            _ => None,
        }
    }

    /// The upgraded layer, mutably, once the connection switched to it.
    pub fn upgraded_mut(&mut self) -> Option<&mut L> {
        match &mut self.serving {
            Serving::Upgraded(next) => Some(next),
            _ => None,
        }
    }

    /// The HTTP server, while it serves.
    pub fn http(&self) -> Option<&HttpServer> {
        match &self.serving {
            Serving::Http { http, .. } => Some(http),
            _ => None,
        }
    }
}

impl<L: Layer> Layer for Upgrading<L> {
    type Error = UpgradingError<L::Error>;

    fn process(
        &mut self,
        now: Time,
        mut lower: PBufRdWr<'_>,
        mut upper: PBufRdWr<'_>,
    ) -> Result<bool, Self::Error> {
        let mut active = false;
        if let Serving::Http { http, .. } = &mut self.serving {
            active = http
                .process(now, lower.reborrow(), upper.reborrow())
                .map_err(UpgradingError::Http)?;
            if !http.upgrade_pending() {
                return Ok(active);
            }
            if let Serving::Http { next, .. } =
                core::mem::replace(&mut self.serving, Serving::Switching)
            {
                self.serving = Serving::Upgraded(next);
            }
            active = true;
        }
        match &mut self.serving {
            Serving::Upgraded(next) => Ok(next
                .process(now, lower, upper)
                .map_err(UpgradingError::Upgraded)?
                | active),
            _ => Ok(active),
        }
    }

    fn next_deadline(&self) -> Option<Time> {
        match &self.serving {
            Serving::Http { http, .. } => http.next_deadline(),
            Serving::Upgraded(next) => next.next_deadline(),
            Serving::Switching => None,
        }
    }

    fn release(&mut self) {
        match &mut self.serving {
            Serving::Http { http, .. } => http.release(),
            Serving::Upgraded(next) => next.release(),
            Serving::Switching => (),
        }
    }
}
