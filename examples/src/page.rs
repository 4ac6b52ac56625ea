//! The chat page: what `wss_chat` serves at `/`, and all that `http_page` (the page of the
//! HTTP/1.1 benchmark, `scripts/bench-http.sh`) serves.

use pipebuf_websocket::http::{Body, RequestHead, Response};

/// The page: markup, style and script in one response, nothing fetched from elsewhere.
pub const PAGE: &str = include_str!("bin/wss_chat.html");

/// The page for `GET /` and `HEAD /` (`text/html`, not to be cached: the page and its
/// server go together); `None` for any other request. The body is borrowed from the
/// program, never copied.
pub fn response(request: &RequestHead) -> Option<Response> {
    let method = request.method();
    (request.path() == "/" && (method == "GET" || method == "HEAD")).then(|| {
        Response::new(200)
            .header("Content-Type", "text/html; charset=utf-8")
            .header("Cache-Control", "no-store")
            .body(Body::Bytes(PAGE.as_bytes().into()))
    })
}
