//! The WSS echo server of README.md, compiled from the README's own text (see `build.rs`).

#![allow(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/readme_main.rs"));
