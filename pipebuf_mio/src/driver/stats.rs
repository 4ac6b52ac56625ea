//! Counters a driver keeps for itself and for each class.

use super::LeftReason;

/// Counters since the driver (or the class) started: connections, bytes on the sockets,
/// messages, and why connections left.
///
/// [`Driver::stats`](crate::Driver::stats) counts every connection;
/// [`Driver::class_stats`](crate::Driver::class_stats) counts what happened while a
/// connection was in that class (bytes and messages go to the class the connection is in at
/// the time; a connection that moved leaves from its last class). Refusals happen before a
/// connection has a class and are counted by the driver only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverStats {
    /// Connections accepted and given a chain.
    pub accepted: u64,
    /// Connections accepted and closed at once (limit reached or refused by the factory).
    pub refused: u64,
    /// Connections that left, for whatever reason (the next fields break some of them down).
    pub left: u64,
    /// Connections that left with both directions closed cleanly.
    pub closed: u64,
    /// Connections that left on an abort (peer reset, truncation, or an abort of ours).
    pub aborted: u64,
    /// Connections that left because their chain failed (a protocol error, a failed
    /// handshake, a refused upgrade).
    pub chain_errors: u64,
    /// Connections that left because their socket failed (a failed connect included).
    pub io_errors: u64,
    /// Connections that left on the idle timeout or on graceful shutdown's deadline.
    pub timeouts: u64,
    /// Bytes read from the sockets.
    pub bytes_read: u64,
    /// Bytes written to the sockets.
    pub bytes_written: u64,
    /// Messages the chains reported through [`Context::emit`](crate::Context::emit).
    pub messages: u64,
}

impl DriverStats {
    /// Counts a connection that left for `reason`.
    pub(crate) fn count_left(&mut self, reason: &LeftReason) {
        self.left += 1;
        let counter = match reason {
            LeftReason::Closed => &mut self.closed,
            LeftReason::Aborted => &mut self.aborted,
            LeftReason::ChainError(_) => &mut self.chain_errors,
            LeftReason::Io(_) => &mut self.io_errors,
            LeftReason::IdleTimeout | LeftReason::ShutdownDeadline => &mut self.timeouts,
            LeftReason::ClassRemoved | LeftReason::Unsettled => return,
        };
        *counter += 1;
    }

    /// Counts one turn's traffic.
    pub(crate) fn count_traffic(&mut self, read: u64, written: u64, messages: u64) {
        self.bytes_read += read;
        self.bytes_written += written;
        self.messages += messages;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_to_leave_has_its_counter_and_all_count_as_left() {
        let mut stats = DriverStats::default();
        let reasons = [
            LeftReason::Closed,
            LeftReason::Aborted,
            LeftReason::ChainError("bad frame".into()),
            LeftReason::Io(std::io::Error::other("reset")),
            LeftReason::IdleTimeout,
            LeftReason::ShutdownDeadline,
            LeftReason::ClassRemoved,
            LeftReason::Unsettled,
        ];
        for reason in &reasons {
            stats.count_left(reason);
        }
        assert_eq!(stats.left, 8);
        assert_eq!(
            (
                stats.closed,
                stats.aborted,
                stats.chain_errors,
                stats.io_errors,
                stats.timeouts
            ),
            (1, 1, 1, 1, 2)
        );
    }
}
