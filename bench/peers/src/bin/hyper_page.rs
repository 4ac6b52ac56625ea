//! `hyper_page`: the peer of pipebuf's `http_page` in the HTTP/1.1 benchmark
//! (`scripts/bench-http.sh`): `wss_chat`'s page over plain HTTP/1.1 with hyper 1 on one
//! `current_thread` tokio runtime. `GET /` (or `HEAD /`) gets the page (the same bytes,
//! compiled in) with the fields `http_page` sends: `Content-Type: text/html;
//! charset=utf-8`, `Cache-Control: no-store` and the `Content-Length` hyper adds; any other
//! request gets `404`. Keep-alive (hyper's default) and `pipeline_flush` (hyper's option
//! for pipelined requests: the responses to one read go out in one write), no `Date` field
//! (`http_page` sends none, so both answer with the same bytes).
//!
//! ```text
//! bench/peers/target/release/hyper_page --addr 127.0.0.1:0
//! ```
//!
//! Common flags and behaviour: see the crate's `lib.rs` (`--tls` works too, but the
//! benchmark does not use it). Driven by `wrk`.

use std::convert::Infallible;
use std::process::ExitCode;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use pipebuf_bench_peers::{Handler, run_tokio};
use tokio::io::{AsyncRead, AsyncWrite};

/// The page `wss_chat` and `http_page` serve.
static PAGE: &[u8] = include_bytes!("../../../../examples/src/bin/wss_chat.html");

#[derive(Clone, Debug)]
struct Page;

/// The answer to one request: the page at `/`, else 404.
fn answer(request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method();
    if request.uri().path() == "/" && (method == Method::GET || method == Method::HEAD) {
        let mut response = Response::new(Full::new(Bytes::from_static(PAGE)));
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    } else {
        let mut response = Response::new(Full::new(Bytes::from_static(b"Not found\n")));
        *response.status_mut() = StatusCode::NOT_FOUND;
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}

impl Handler for Page {
    async fn serve<S>(self, stream: S) -> Result<(), String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = service_fn(|request: Request<Incoming>| async move {
            Ok::<_, Infallible>(answer(&request))
        });
        http1::Builder::new()
            .pipeline_flush(true)
            .auto_date_header(false)
            .serve_connection(TokioIo::new(stream), service)
            .await
            .map_err(|e| format!("HTTP: {e}"))
    }
}

fn main() -> ExitCode {
    run_tokio(
        "hyper_page",
        "hyper HTTP/1.1 server of wss_chat's page (keep-alive, pipelining)",
        Page,
    )
}
