//! Composing components: a [`Layer`] sits between a lower pair (towards the socket) and an
//! upper pair (towards the application); a [`Stack`] is two layers with the pair between
//! them, and is itself a layer, so stacks nest.
//!
//! ```text
//!  lower pair ⇄ [Stack: [L] ⇄ pair ⇄ [U]] ⇄ upper pair
//! ```
//!
//! TLS, WebSocket and a user's own component implement the same trait, so a WSS stack is
//! `Stack::new(tls, websocket)` and a byte counter between the two is
//! `Stack::new(tls, Stack::new(counter, websocket))`. The stack keeps the contract of
//! DESIGN §2 for every layer in it: when one fails, what it wrote for the peer (a close
//! frame, an HTTP error, an alert) is driven through the layers below it before the error is
//! returned, and every later call keeps delivering it until the lower output ends.
//!
//! Calls are static (no dynamic dispatch per byte) and the stack adds no copy: each layer
//! reads and writes the shared pair in place.

mod compose;
mod error;
mod layer;
mod passthrough;

pub use compose::Stack;
pub use error::StackError;
pub use layer::Layer;
pub use passthrough::pass_through;
