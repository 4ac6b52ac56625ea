//! Stream buffers shared by a producer and a consumer, for chains of sans-IO protocol
//! components such as TCP ⇄ TLS ⇄ WebSocket.
//!
//! # The picture
//!
//! ```text
//!  socket ⇄ [link] ⇄ PipeBufPair ⇄ [TLS] ⇄ PipeBufPair ⇄ [WebSocket] ⇄ PipeBufPair ⇄ app
//! ```
//!
//! A [`PipeBuf`] is one buffer with three segments: consumed data awaiting discard, data
//! waiting for the consumer, and free space for the producer. Components do not own their
//! input and output buffers: the owner of the chain passes views of them into each
//! component's `process()` call, so data is written once into the buffer between two
//! components and read from there in place — no copy from one private buffer into the next.
//!
//! A buffer also carries TCP-like stream state:
//!
//! - **push**: a flush hint ("now is a good time to send"), never lost, even when an EOF
//!   follows;
//! - **close**: clean end of stream; **abort**: broken stream. The two stay distinguishable
//!   through every layer ([`EofKind`]).
//!
//! The consumer must consume the EOF explicitly ([`PBufRd::consume_eof`]), so every component
//! sees each end of stream exactly once. A second close or abort is a no-op; writing after
//! the EOF fails with [`Error::AfterEof`]. No method panics on misuse: each returns a typed
//! [`Error`] or is a documented no-op, and every error leaves the buffer unchanged.
//!
//! # Views
//!
//! [`PBufWr`] is the producer's view: ask for space ([`space`](PBufWr::space),
//! [`space_upto`](PBufWr::space_upto), [`space_all`](PBufWr::space_all)), fill it,
//! [`commit`](PBufWr::commit) it, or [`append`](PBufWr::append); then
//! [`push`](PBufWr::push), [`close`](PBufWr::close) or [`abort`](PBufWr::abort).
//! [`PBufRd`] is the consumer's view: [`data`](PBufRd::data) (or
//! [`data_mut`](PBufRd::data_mut) for in-place transforms such as decryption),
//! [`consume`](PBufRd::consume), then the push and the EOF. A [`PipeBufPair`] is the two
//! buffers between two components; [`upper`](PipeBufPair::upper) and
//! [`lower`](PipeBufPair::lower) give each side its [`PBufRdWr`].
//!
//! # Bounds and storage
//!
//! Every buffer has a limit. Growable storage ([`Growable`], feature `alloc`) allocates on
//! first use and grows by doubling up to its maximum, the DoS cap; fixed storage (an array
//! `[T; N]` or a caller slice `&mut [T]`) never allocates, for bare-metal stacks with neither
//! `std` nor `alloc`. A producer that asks for more than fits gets less or nothing — a full
//! buffer is backpressure, not an error — and reports itself blocked. An empty buffer costs
//! nothing to reset, and [`PipeBuf::release`] frees an idle buffer's heap memory so that
//! thousands of idle connections stay cheap.
//!
//! # Activity and the driver loop
//!
//! Each component's `process()` returns whether it did anything observable. A [`Tripwire`]
//! taken before and after tells exactly, counting totals rather than positions, so a call
//! that reads and writes the same amount still counts. The owner of a chain calls every
//! component until a whole pass reports no activity ([`settle`] does this and turns a chain
//! that never settles into an error), then waits for the next event.
//!
//! ```
//! use pipebuf::{settle, EofKind, Error, PBufRdWr, PipeBufPair};
//!
//! /// A sans-IO component: upper-cases what goes up, passes what comes down unchanged.
//! struct Upcase;
//!
//! impl Upcase {
//!     /// `lower` faces the socket, `upper` the application.
//!     fn process(&mut self, mut lower: PBufRdWr, mut upper: PBufRdWr) -> Result<bool, Error> {
//!         let before = (lower.rd.tripwire(), upper.wr.tripwire());
//!         if !lower.rd.is_empty() {
//!             // Transform straight into the next buffer's free space; take what fits.
//!             let space = upper.wr.space_upto(lower.rd.len())?;
//!             let n = space.len();
//!             for (out, b) in space.iter_mut().zip(lower.rd.data()) {
//!                 *out = b.to_ascii_uppercase();
//!             }
//!             upper.wr.commit(n)?;
//!             lower.rd.consume(n)?;
//!         }
//!         if lower.rd.is_empty() {
//!             if lower.rd.consume_push() {
//!                 upper.wr.push();
//!             }
//!             match lower.rd.consume_eof() {
//!                 Some(EofKind::Close) => upper.wr.close(),
//!                 Some(EofKind::Abort) => upper.wr.abort(),
//!                 None => (),
//!             }
//!         }
//!         let down = upper.rd.forward(&mut lower.wr)?;
//!         Ok(down || before != (lower.rd.tripwire(), upper.wr.tripwire()))
//!     }
//! }
//!
//! let (mut below, mut above) = (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
//! below.lower().wr.append(b"hello").unwrap();
//! below.lower().wr.close();
//!
//! let mut upcase = Upcase;
//! settle(8, || upcase.process(below.upper(), above.lower())).unwrap();
//! let mut app = above.upper();
//! assert_eq!(app.rd.data(), b"HELLO");
//! app.rd.consume_all();
//! assert_eq!(app.rd.consume_eof(), Some(EofKind::Close));
//! ```
//!
//! # Stacks and time
//!
//! A component between a lower pair (towards the socket) and an upper pair (towards the
//! application) implements [`Layer`]; [`Stack`] composes two layers with the pair between
//! them and is a layer itself, so TLS, WebSocket and a component of your own nest as
//! `Stack::new(tls, Stack::new(yours, websocket))`, driven by one `process` call with one
//! error type ([`StackError`]). When a layer fails, the stack carries what it wrote for the
//! peer (a close frame, an alert) through the layers below before the error is returned.
//! All of them run on one clock, [`Time`], which drivers hand to every layer.
//!
//! # Features
//!
//! - `std` (default): `std::io` traits on the views and socket-style transfer helpers
//!   ([`PBufWr::read_from`], [`PBufRd::write_to`]). Implies `alloc`.
//! - `alloc`: growable storage.
//! - `reqresp` (default): the [`reqresp`] module. Implies `alloc`.
//!
//! Without any of them, the crate is `#![no_std]` with fixed storage only.
//!
//! The [`framing`] module decodes and encodes delimited lines and length-prefixed records in
//! place.
//!
//! The [`reqresp`] module (feature `reqresp`) builds request/response on top: pipelined and
//! multiplexed clients and servers over one connection's buffers, driven by the caller's
//! codec, with tickets or tags, cancellation, explicit-time timeouts, bounded in-flight
//! state, and request and response bodies streamed through their own PipeBufs.
// Items left out by a feature that is off cannot be linked to: their names point at the
// feature list instead (the empty line ends the paragraph before the link definitions).
#![cfg_attr(not(all(feature = "std", feature = "reqresp")), doc = "")]
#![cfg_attr(not(feature = "std"), doc = "[`PBufWr::read_from`]: crate#features")]
#![cfg_attr(not(feature = "std"), doc = "[`PBufRd::write_to`]: crate#features")]
#![cfg_attr(not(feature = "reqresp"), doc = "[`reqresp`]: crate#features")]
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod buf;
mod copy;
mod error;
pub mod framing;
#[cfg(feature = "std")]
mod io;
mod pair;
mod rd;
#[cfg(feature = "reqresp")]
pub mod reqresp;
mod settle;
mod stack;
mod state;
mod storage;
mod time;
mod wr;

pub use buf::PipeBuf;
pub use copy::copy_slice;
pub use error::Error;
#[cfg(feature = "std")]
pub use io::{ReadStatus, WriteStatus};
pub use pair::{PBufRdWr, PipeBufPair};
pub use rd::PBufRd;
pub use settle::{SettleError, settle};
pub use stack::{Layer, Stack, StackError, pass_through};
pub use state::{EofKind, PBufState, Tripwire};
#[cfg(feature = "alloc")]
pub use storage::Growable;
pub use storage::Storage;
pub use time::Time;
pub use wr::PBufWr;

// The README is the crate's page on crates.io; its example runs as a doctest so that it
// stays true.
#[cfg(all(doctest, feature = "alloc"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
