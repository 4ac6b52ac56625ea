//! A `#![no_std]` library linking `pipebuf` (no features) and, with the `websocket` feature,
//! `pipebuf_websocket` (no `std`): built by scripts/test.sh as evidence that both need
//! neither the standard library nor, for `pipebuf`, an allocator.

#![no_std]
#![forbid(unsafe_code)]

use core::panic::PanicInfo;

use pipebuf::PipeBuf;

/// Passes `input` through a `PipeBuf` on fixed storage (no heap) into `out`; returns how
/// many bytes came out (at most the buffer's 64).
pub fn through_fixed_buffer(input: &[u8], out: &mut [u8]) -> usize {
    let mut buf = PipeBuf::with_storage([0u8; 64]);
    let taken = match buf.wr().space_upto(input.len()) {
        Ok(space) => {
            let n = space.len();
            space.copy_from_slice(&input[..n]);
            n
        }
        Err(_) => return 0,
    };
    if buf.wr().commit(taken).is_err() {
        return 0;
    }
    let mut rd = buf.rd();
    let n = rd.len().min(out.len());
    out[..n].copy_from_slice(&rd.data()[..n]);
    match rd.consume(n) {
        Ok(()) => n,
        Err(_) => 0,
    }
}

#[cfg(feature = "websocket")]
mod websocket {
    use linked_list_allocator::LockedHeap;
    use pipebuf::{PipeBufPair, Time};
    use pipebuf_websocket::{WebSocket, WsConfig, accept_all};

    // The WebSocket needs `alloc`; a bare-metal program brings its own allocator. Empty: this
    // library only has to link, nothing calls it.
    #[global_allocator]
    static HEAP: LockedHeap = LockedHeap::empty();

    /// Runs a WebSocket server over `request` (bytes from the network) once; returns whether
    /// it did anything.
    pub fn websocket_server_once(request: &[u8]) -> bool {
        #[allow(unused_mut)]
        let mut config = WsConfig::default();
        #[cfg(feature = "deflate")]
        {
            config.deflate = Some(pipebuf_websocket::deflate::DeflateConfig::default());
        }
        let mut ws = WebSocket::server(config, accept_all());
        let mut net = PipeBufPair::new();
        let mut app = PipeBufPair::new();
        if net.lower().wr.append(request).is_err() {
            return false;
        }
        ws.process(Time::ZERO, net.upper(), app.lower())
            .unwrap_or(false)
    }
}

#[cfg(feature = "websocket")]
pub use websocket::websocket_server_once;

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {}
}
