//! What the driver tells the application.

use std::fmt;
use std::io;

use super::{ClassId, ConnId, ListenerId};

/// Something that happened to a connection, recorded under the class the connection was
/// in (a `Moved` under its destination): see
/// [`Driver::next_event_in`](crate::Driver::next_event_in).
#[derive(Debug)]
pub enum Event<M> {
    /// A connection was accepted (or an outgoing one created) and put in `class`.
    Joined {
        /// The new connection.
        id: ConnId,
        /// Where it came from (`None` for outgoing connections).
        listener: Option<ListenerId>,
        /// The class it starts in.
        class: ClassId,
    },
    /// A connection moved from one class to another.
    Moved {
        /// The connection.
        id: ConnId,
        /// Its old class.
        from: ClassId,
        /// Its new class.
        to: ClassId,
    },
    /// A chain reported a message through [`Context::emit`](crate::Context::emit).
    Message {
        /// The connection whose chain emitted it.
        id: ConnId,
        /// The message.
        msg: M,
    },
    /// A connection is gone: its socket is closed and its id will not be seen again.
    Left {
        /// The connection.
        id: ConnId,
        /// The class it was in.
        class: ClassId,
        /// Why it left.
        reason: LeftReason,
    },
}

/// Why a connection left.
#[derive(Debug)]
#[non_exhaustive]
pub enum LeftReason {
    /// Both directions ended cleanly (close consumed each way).
    Closed,
    /// A direction ended with an abort (peer reset, truncation, or our own abort).
    Aborted,
    /// The chain returned an error.
    ChainError(Box<dyn std::error::Error + Send + Sync>),
    /// The socket failed (including a failed connect).
    Io(io::Error),
    /// Nothing happened on the connection for the configured idle timeout.
    IdleTimeout,
    /// The connection's class was removed with [`Disposition::Close`](crate::Disposition).
    ClassRemoved,
    /// Graceful shutdown's deadline passed before the connection finished.
    ShutdownDeadline,
    /// The chain never settled (a bug in a component): the connection was aborted.
    Unsettled,
}

impl fmt::Display for LeftReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeftReason::Closed => f.write_str("closed"),
            LeftReason::Aborted => f.write_str("aborted"),
            LeftReason::ChainError(e) => write!(f, "chain error: {e}"),
            LeftReason::Io(e) => write!(f, "socket error: {e}"),
            LeftReason::IdleTimeout => f.write_str("idle timeout"),
            LeftReason::ClassRemoved => f.write_str("class removed"),
            LeftReason::ShutdownDeadline => f.write_str("shutdown deadline passed"),
            LeftReason::Unsettled => f.write_str("chain never settled"),
        }
    }
}
