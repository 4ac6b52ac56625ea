//! `tokio_floor_echo`: the floor of the benchmarks, with no WebSocket: a plain tokio byte
//! echo over TCP, or with `--tls` over TLS (tokio-rustls, ring), on one `current_thread`
//! runtime. Each connection is one task that reads up to 64 KiB, writes it back and flushes,
//! and after the peer's end of stream (TLS: its close_notify) shuts down its sending side
//! (TLS: close_notify, then the TCP half-close).
//!
//! ```text
//! bench/peers/target/release/tokio_floor_echo --addr 127.0.0.1:0 [--tls [--cert PEM --key PEM]]
//! ```
//!
//! Common flags and behaviour: see the crate's `lib.rs`. Driven by pipebuf's `echo_load`.

use std::process::ExitCode;

use pipebuf_bench_peers::{Handler, run_tokio};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes asked for per read.
const CHUNK: usize = 64 * 1024;

#[derive(Clone, Debug)]
struct ByteEcho;

impl Handler for ByteEcho {
    async fn serve<S>(self, mut stream: S) -> Result<(), String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                break;
            }
            stream
                .write_all(&buf[..n])
                .await
                .map_err(|e| format!("write: {e}"))?;
            // A no-op on plain TCP; sends what tokio-rustls still holds.
            stream.flush().await.map_err(|e| format!("flush: {e}"))?;
        }
        stream
            .shutdown()
            .await
            .map_err(|e| format!("shutdown: {e}"))
    }
}

fn main() -> ExitCode {
    run_tokio(
        "tokio_floor_echo",
        "tokio TCP (or, with --tls, tokio-rustls) byte echo server",
        ByteEcho,
    )
}
