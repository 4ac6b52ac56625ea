//! Errors of the request/response components.

use core::fmt;

/// Why a component's `process` failed. Every such failure is fatal for the connection: in
/// the same call the component aborts its outgoing connection buffer, fails each request
/// still pending exactly once (with [`Failure::Broken`](super::Failure::Broken)) and from
/// then on only discards incoming data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<DE, EE> {
    /// The decoder refused the incoming data.
    Decode(DE),
    /// The encoder refused a message or a chunk header.
    Encode(EE),
    /// A response arrived with no request pending for it (pipelined), or with a tag that is
    /// neither in flight nor remembered as timed out or cancelled (multiplexed).
    Desynchronized,
    /// The peer sent a request with a tag that is still in flight (multiplexed server).
    DuplicateTag(u32),
    /// The codec announced a body where the component does not support one (multiplexed).
    UnexpectedBody,
    /// A streamed body did not match the length its head announced: more bytes were
    /// written, or the body was closed early.
    BodyLength {
        /// The length the head announced.
        expected: u64,
        /// Bytes written when the mismatch showed (a lower bound when too many).
        got: u64,
    },
    /// The application aborted an outgoing body; the peer cannot tell where the next
    /// message starts, so the connection is aborted.
    BodyAborted,
    /// The peer keeps more streams alive than the component keeps state for (multiplexed
    /// streams: open, being reset or owed a reset, beyond the server's `max_tags`).
    TooManyStreams,
    /// A buffer refused an operation (for instance the application ended the outgoing
    /// connection buffer while the component still had to write).
    Buffer(crate::Error),
}

impl<DE: fmt::Display, EE: fmt::Display> fmt::Display for Error<DE, EE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Decode(e) => write!(f, "decoding failed: {e}"),
            Error::Encode(e) => write!(f, "encoding failed: {e}"),
            Error::Desynchronized => f.write_str("response with no matching request pending"),
            Error::DuplicateTag(t) => write!(f, "request tag {t} is already in flight"),
            Error::UnexpectedBody => {
                f.write_str("message announces a body where none is supported")
            }
            Error::BodyLength { expected, got } => {
                write!(
                    f,
                    "body length mismatch: {expected} announced, {got} written"
                )
            }
            Error::BodyAborted => f.write_str("outgoing body aborted"),
            Error::TooManyStreams => f.write_str("the peer keeps too many streams alive"),
            Error::Buffer(e) => write!(f, "buffer: {e}"),
        }
    }
}

impl<DE, EE> core::error::Error for Error<DE, EE>
where
    DE: core::error::Error + 'static,
    EE: core::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Decode(e) => Some(e),
            Error::Encode(e) => Some(e),
            Error::Buffer(e) => Some(e),
            _ => None,
        }
    }
}

impl<DE, EE> From<crate::Error> for Error<DE, EE> {
    fn from(e: crate::Error) -> Self {
        Error::Buffer(e)
    }
}

/// Why a client did not take a request now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal<EE> {
    /// The maximum of requests in flight is reached (for multiplexed clients: or no tag is
    /// free); try again after a response, cancellation or timeout.
    Full,
    /// The outgoing connection buffer has no room for the request now; try again after the
    /// connection has sent some data.
    NoRoom,
    /// The previous request's streamed body is not finished; requests leave in order, so
    /// this one must wait.
    BodyInProgress,
    /// The connection has ended or failed; no request will be sent on it again.
    Closed,
    /// The encoder refused the request.
    Encode(EE),
}

/// A request the client did not take, handed back with its context and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitError<R, C, EE> {
    /// Why the request was refused.
    pub reason: Refusal<EE>,
    /// The request, untouched (apart from its tag, for multiplexed clients).
    pub request: R,
    /// The caller's context.
    pub context: C,
}

impl<R, C, EE: fmt::Display> fmt::Display for SubmitError<R, C, EE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            Refusal::Full => f.write_str("request refused: too many in flight"),
            Refusal::NoRoom => f.write_str("request refused: no room in the output buffer now"),
            Refusal::BodyInProgress => {
                f.write_str("request refused: the previous request's body is unfinished")
            }
            Refusal::Closed => f.write_str("request refused: the connection has ended"),
            Refusal::Encode(e) => write!(f, "request refused by the encoder: {e}"),
        }
    }
}

impl<R: fmt::Debug, C: fmt::Debug, EE: core::error::Error + 'static> core::error::Error
    for SubmitError<R, C, EE>
{
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match &self.reason {
            Refusal::Encode(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a server did not take a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FinishError {
    /// No request with this sequence number or tag has been decoded.
    Unknown(u64),
    /// The request was already finished.
    AlreadyFinished(u64),
    /// The connection has ended or failed; the response was dropped.
    Closed,
}

impl fmt::Display for FinishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FinishError::Unknown(id) => write!(f, "no request {id} to finish"),
            FinishError::AlreadyFinished(id) => write!(f, "request {id} was already finished"),
            FinishError::Closed => f.write_str("the connection has ended; response dropped"),
        }
    }
}

impl core::error::Error for FinishError {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn errors_say_what_happened() {
        let e: Error<crate::Error, crate::Error> = Error::BodyLength {
            expected: 4,
            got: 2,
        };
        assert_eq!(
            e.to_string(),
            "body length mismatch: 4 announced, 2 written"
        );
        assert_eq!(
            FinishError::AlreadyFinished(3).to_string(),
            "request 3 was already finished"
        );
        let refused = SubmitError {
            reason: Refusal::<crate::Error>::Full,
            request: (),
            context: (),
        };
        assert_eq!(refused.to_string(), "request refused: too many in flight");
    }

    #[test]
    fn buffer_errors_are_the_source() {
        use core::error::Error as _;
        let e: Error<crate::Error, crate::Error> = Error::Buffer(crate::Error::AfterEof);
        assert!(e.source().is_some());
        assert!(
            Error::<crate::Error, crate::Error>::Desynchronized
                .source()
                .is_none()
        );
    }
}
