//! TCP and Unix-socket links between [`pipebuf`] buffers and mio event loops.
//!
//! Not built yet: the links and the server/client driver are specified in the project's
//! issue "pipebuf_mio: socket links and an event-loop server/client driver". This crate
//! exists so the workspace has its final layout; it exports nothing until that work lands.

#![forbid(unsafe_code)]
