//! WebSocket server and client components for [`pipebuf`] chains.
//!
//! Not built yet: the components are specified in the project's issue "pipebuf_websocket: a
//! conformant, hostile-input-safe WebSocket server and client". This crate exists so the
//! workspace has its final layout; it exports nothing until that work lands.

#![forbid(unsafe_code)]
