//! `fastws_echo`: a WebSocket echo server on fastwebsockets (the HTTP upgrade through hyper 1
//! with fastwebsockets' `upgrade` feature; one `current_thread` tokio runtime; with `--tls`
//! over tokio-rustls with ring). The echo loop is the one of fastwebsockets' own
//! `examples/echo_server.rs`: a `FragmentCollector` hands over whole messages, each written
//! back at once with `write_frame` (the crate has no write buffering to batch echoes; writev,
//! on by default, sends header and payload of frames over 1 KiB in one vectored write), in a
//! `tokio::task::unconstrained` task as in that example. Messages are echoed unchanged with
//! their type (up to 64 MiB); auto_pong answers pings and auto_close replies to
//! the close frame, after which the server shuts down its sending side and drains input until
//! the peer's end of stream. A request that is not a WebSocket upgrade gets
//! `426 Upgrade Required`.
//!
//! ```text
//! bench/peers/target/release/fastws_echo --addr 127.0.0.1:0 [--tls [--cert PEM --key PEM]]
//! ```
//!
//! Common flags and behaviour: see the crate's `lib.rs`. Driven by pipebuf's `load`.

use std::convert::Infallible;
use std::process::ExitCode;

use fastwebsockets::upgrade::{UpgradeFut, is_upgrade_request, upgrade};
use fastwebsockets::{FragmentCollector, OpCode, WebSocketError};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use pipebuf_bench_peers::{FlushingIo, Handler, MAX_MESSAGE, linger, run_tokio};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

#[derive(Clone, Debug)]
struct FastWsEcho;

/// A response with no body.
fn status(code: StatusCode) -> Response<Empty<Bytes>> {
    let mut response = Response::new(Empty::new());
    *response.status_mut() = code;
    response
}

/// Echoes the messages of an upgraded connection until the close handshake.
async fn echo(upgraded: UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = upgraded.await?;
    ws.set_auto_close(true);
    ws.set_auto_pong(true);
    ws.set_max_message_size(MAX_MESSAGE);
    let mut ws = FragmentCollector::new(ws);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            // auto_close has sent the reply.
            OpCode::Close => break,
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
    // The server closes the TCP connection first after the close handshake (then waits for
    // the peer's end of stream).
    let mut stream = ws.into_inner();
    stream.shutdown().await?;
    linger(&mut stream).await;
    Ok(())
}

impl Handler for FastWsEcho {
    async fn serve<S>(self, stream: S) -> Result<(), String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = service_fn(|mut request: Request<Incoming>| async move {
            if !is_upgrade_request(&request) {
                return Ok::<_, Infallible>(status(StatusCode::UPGRADE_REQUIRED));
            }
            match upgrade(&mut request) {
                Ok((response, upgraded)) => {
                    // Runs once hyper has sent the response and handed the connection over.
                    // `unconstrained` as in fastwebsockets' `examples/echo_server.rs`: no
                    // forced yields from tokio's cooperative budget.
                    tokio::task::spawn_local(async move {
                        if let Err(e) = tokio::task::unconstrained(echo(upgraded)).await {
                            eprintln!("fastws_echo: WebSocket: {e}");
                        }
                    });
                    Ok(response)
                }
                Err(_) => Ok(status(StatusCode::BAD_REQUEST)),
            }
        });
        http1::Builder::new()
            .serve_connection(TokioIo::new(FlushingIo::new(stream)), service)
            .with_upgrades()
            .await
            .map_err(|e| format!("HTTP: {e}"))
    }
}

fn main() -> ExitCode {
    run_tokio(
        "fastws_echo",
        "fastwebsockets WebSocket echo server (with --tls: over tokio-rustls)",
        FastWsEcho,
    )
}
