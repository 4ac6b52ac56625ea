//! TCP and Unix-socket links between [`pipebuf`] buffers and mio event loops, and a driver
//! that runs many connections' chains on one event loop.

#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod driver;
mod link;

pub use driver::{
    Accepted, Chain, ChainFactory, ClassConfig, ClassId, ConnId, Context, Disposition, Driver,
    DriverConfig, DriverStats, Event, LeftReason, ListenerId, LocalAddr, SendResult,
};
pub use link::{DEFAULT_READ_CHUNK, Link, LinkError, LinkStream};
