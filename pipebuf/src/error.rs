//! The error type for misuse of a buffer.

use core::fmt;

/// What went wrong when a producer or consumer asked a buffer for something it cannot do.
///
/// Every error leaves the buffer unchanged: nothing is written, consumed or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The producer already closed or aborted the stream; no more data is accepted.
    AfterEof,
    /// There is not enough free space below the buffer's limit for the request.
    /// This is backpressure: try again after the consumer has made progress.
    NoSpace {
        /// Elements asked for.
        requested: usize,
        /// Elements that could be had at this moment.
        available: usize,
    },
    /// The consumer tried to consume more than the data waiting.
    ConsumeBeyondData {
        /// Elements the consumer tried to consume.
        requested: usize,
        /// Elements that were waiting.
        available: usize,
    },
    /// The producer tried to commit more than the space it had reserved.
    CommitBeyondReserved {
        /// Elements the producer tried to commit.
        requested: usize,
        /// Elements reserved by the last `space*` call and not yet committed.
        reserved: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::AfterEof => f.write_str("write after end of stream"),
            Error::NoSpace {
                requested,
                available,
            } => write!(
                f,
                "no space: {requested} requested, {available} available below the limit"
            ),
            Error::ConsumeBeyondData {
                requested,
                available,
            } => write!(f, "consume of {requested} with only {available} waiting"),
            Error::CommitBeyondReserved {
                requested,
                reserved,
            } => write!(f, "commit of {requested} with only {reserved} reserved"),
        }
    }
}

impl core::error::Error for Error {}
