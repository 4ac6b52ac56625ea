//! permessage-deflate (RFC 7692): compressed messages, negotiated in the opening handshake.
//!
//! ```text
//!  handshake:  Sec-WebSocket-Extensions ─negotiation─▶ Agreed
//!  receive:    frames (RSV1 on the first) ─unmask─▶ Inflater ─▶ chunk records
//!  send:       chunk records ─▶ Deflater ─▶ frames (RSV1 on the first)
//! ```
//!
//! Enabled with [`WsConfig::deflate`](crate::WsConfig::deflate) (the `deflate` cargo
//! feature). A server accepts the first offer it can honour; a client offers
//! permessage-deflate and fails the handshake on an answer it did not ask for. Either side
//! then compresses each outgoing message of at least
//! [`DeflateConfig::threshold`] bytes (a message can opt out:
//! [`Compression::Never`](crate::message::Compression::Never)), and inflates every incoming
//! message whose first frame has RSV1 set.
//!
//! | file | concept |
//! |---|---|
//! | `negotiation` | parsing offers and answers, choosing parameters |
//! | `inflater` | the receive side's decompressor, allocated on the first compressed message |
//! | `deflater` | the send side's compressor and its output waiting to be framed |
//!
//! # Windows
//!
//! miniz_oxide keeps a 32 KiB window on both sides. Inflating, that decodes any window a
//! peer uses (8 to 15 bits), so we never limit the peer's. Compressing, we cannot honour a
//! smaller window: a server declines offers with `server_max_window_bits` under 15 (and
//! tries the next offer), and a client never offers `client_max_window_bits`.
//!
//! # Receiving
//!
//! The payload is inflated straight into the application's chunk records, a record at a
//! time as room allows; the compressed message is never held whole. `max_message` applies
//! to the **inflated** size: a deflate bomb fails with 1009 once it inflates past the
//! limit, having cost no more memory than the message buffer's own limit. The compressed
//! size on the wire may exceed `max_message` by the stored-block overhead (1/4096 + 64
//! bytes) and no more. Text is validated as UTF-8 after inflating (1007). Compressed data
//! that does not inflate fails the connection with **1007** (invalid payload data): the
//! frames were well formed, the message's content was not, which is what 1007 says;
//! 1002 would blame the framing.
//!
//! # Memory
//!
//! Measured on x86_64 with miniz_oxide 0.8.9, counting the allocator's live bytes around
//! each allocation (the unit test `the_inflaters_state_is_the_size_the_docs_say` keeps the
//! first figure honest):
//!
//! | state | heap per connection |
//! |---|---|
//! | negotiated, no compressed message yet | none: both sides allocate on first use |
//! | inflater (receiving compressed messages) | 43,296 bytes (`InflateState`: 32 KiB window, Huffman tables) |
//! | deflater (sending compressed messages) | 319,326 bytes (`CompressorOxide`: 64 KiB LZ codes, 83 KiB output buffer, 160 KiB window and hash chains, 4 KiB Huffman tables) |
//! | idle, context takeover | both kept: 354 KiB |
//! | idle, no context takeover both ways | none: each is dropped after its message |
//!
//! The component itself grows by a few dozen bytes with the feature (the two optional
//! boxes and the per-message state).
//!
//! So a server with many idle connections wants no context takeover both ways
//! ([`ContextTakeover::Reset`] for [`own_context`](DeflateConfig::own_context) and
//! [`peer_context`](DeflateConfig::peer_context)), paying an allocation and worse ratios
//! per message instead; the default keeps context, as browsers do, for the better ratio.
//! The compressor's output waits in a vector until it is framed (at most one 16 KiB input
//! step's worth plus what the compressor held back); it is freed after each message.

use alloc::string::String;

pub(crate) mod deflater;
pub(crate) mod inflater;
pub(crate) mod negotiation;

/// Whether a compressor keeps its window (its LZ77 context) from one message to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextTakeover {
    /// Keep it: later messages can refer to earlier ones, for a better ratio, at the cost
    /// of keeping the (de)compressor's memory for the connection's life.
    Keep,
    /// Reset it after every message (`*_no_context_takeover`): the (de)compressor is
    /// dropped between messages.
    Reset,
}

/// What a [`WebSocket`](crate::WebSocket) asks for and accepts of permessage-deflate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Our compressor's context: [`Reset`](ContextTakeover::Reset) announces
    /// `server_no_context_takeover` (server) or offers `client_no_context_takeover`
    /// (client). Honoured also when the peer asks for a reset on its own.
    pub own_context: ContextTakeover,
    /// The peer's compressor's context: [`Reset`](ContextTakeover::Reset) requires
    /// `client_no_context_takeover` (server) or asks for `server_no_context_takeover`
    /// (client; the server may refuse, and the connection goes on with the server keeping
    /// its context). Lets our inflater go between messages.
    pub peer_context: ContextTakeover,
    /// Messages shorter than this many bytes, written as one record, are sent uncompressed:
    /// compressing them costs more CPU than the bytes it saves. A message streamed in
    /// several records is compressed whatever its size.
    pub threshold: usize,
    /// Compression level, 1 (fastest) to 9 (smallest); 0 sends stored blocks.
    pub level: u8,
}

impl Default for DeflateConfig {
    /// Context kept both ways (as browsers do), threshold 64 bytes, level 6 (zlib's
    /// default).
    fn default() -> Self {
        DeflateConfig {
            own_context: ContextTakeover::Keep,
            peer_context: ContextTakeover::Keep,
            threshold: 64,
            level: 6,
        }
    }
}

/// The permessage-deflate parameters both sides agreed on in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// The largest window the server's compressor uses, if the response named one.
    pub server_max_window_bits: Option<u8>,
    /// The largest window the client's compressor may use, if the response named one
    /// (never, with us on either side: see the module docs).
    pub client_max_window_bits: Option<u8>,
}

impl Agreed {
    /// The `Sec-WebSocket-Extensions` value of a response that accepts with these
    /// parameters.
    pub fn response(&self) -> String {
        let mut out = String::from(negotiation::EXTENSION);
        if self.server_no_context_takeover {
            out.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            out.push_str("; client_no_context_takeover");
        }
        for (name, bits) in [
            ("server_max_window_bits", self.server_max_window_bits),
            ("client_max_window_bits", self.client_max_window_bits),
        ] {
            if let Some(bits) = bits {
                out.push_str(&alloc::format!("; {name}={bits}"));
            }
        }
        out
    }

    /// Whether the side that is the server (`server`) or the client resets its compressor
    /// after every message.
    pub(crate) fn resets(&self, server: bool) -> ContextTakeover {
        let reset = if server {
            self.server_no_context_takeover
        } else {
            self.client_no_context_takeover
        };
        if reset {
            ContextTakeover::Reset
        } else {
            ContextTakeover::Keep
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_inflaters_state_is_the_size_the_docs_say() {
        // 32 KiB window plus tables; the deflater's 319,326 bytes sit behind private boxes
        // and were measured with a counting allocator.
        let size = core::mem::size_of::<miniz_oxide::inflate::stream::InflateState>();
        assert!((32 * 1024..=44 * 1024).contains(&size), "{size}");
    }
}
