//! TLS server and client components on rustls for [`pipebuf`] chains.
//!
//! Not built yet: the components are specified in the project's issue "pipebuf_rustls: TLS
//! server and client components on rustls". This crate exists so the workspace has its final
//! layout; it exports nothing until that work lands.

#![forbid(unsafe_code)]
