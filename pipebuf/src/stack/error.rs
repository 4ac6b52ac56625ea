//! The error of a stack: which layer failed, and its own error.

use core::fmt;

/// Why a [`Stack`](crate::Stack) failed: its lower or its upper layer did. Nested stacks nest
/// this type, so a match names the path to the layer:
/// `StackError::Upper(StackError::Lower(e))` is the middle layer of three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackError<L, U> {
    /// The lower layer (towards the socket) failed.
    Lower(L),
    /// The upper layer (towards the application) failed.
    Upper(U),
}

impl<L: fmt::Display, U: fmt::Display> fmt::Display for StackError<L, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::Lower(e) => e.fmt(f),
            StackError::Upper(e) => e.fmt(f),
        }
    }
}

impl<L, U> core::error::Error for StackError<L, U>
where
    L: core::error::Error + 'static,
    U: core::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            StackError::Lower(e) => Some(e),
            StackError::Upper(e) => Some(e),
        }
    }
}
