//! A WebSocket server fed an upgrade request and then arbitrary frames (or, for some
//! inputs, arbitrary bytes from the start), whole and cut at points the input chooses; see
//! `ws_frames` for what is checked.

/// Runs one input; panics if an invariant breaks.
pub fn run(data: &[u8]) {
    super::ws_frames::run(data, true);
}
