//! A directory served read-only over HTTP: the `--root DIR` of `wss_chat`.
//!
//! Only regular files inside the root are served, found by a path that cannot leave it:
//! every `..` or `.` segment (also percent-encoded), backslash and NUL is refused, and the
//! file's canonical path (symbolic links resolved) must still lie under the root's. Files
//! are streamed from disk as the peer takes them ([`Body::Reader`]), never read whole.

use std::path::{Path, PathBuf};

use pipebuf_websocket::http::{Body, RequestHead, Response};

/// The `Content-Type` for a file name: html, js, css, png, svg and txt by extension,
/// anything else as bytes.
pub fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file under `root` (canonical) that the request path `path` names, `None` if the path
/// may not be served: undecodable, trying to leave the root, or not a regular file. A path
/// ending in `/` names the `index.html` there.
pub fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(path.strip_prefix('/')?)?;
    let mut file = root.to_path_buf();
    for segment in decoded.split('/') {
        if segment == "." || segment == ".." || segment.contains(['\\', '\0']) {
            return None;
        }
        if !segment.is_empty() {
            file.push(segment);
        }
    }
    if decoded.is_empty() || decoded.ends_with('/') {
        file.push("index.html");
    }
    // Symbolic links may point anywhere: what counts is where the file really is.
    let real = file.canonicalize().ok()?;
    (real.starts_with(root) && real.metadata().ok()?.is_file()).then_some(real)
}

/// `%XX` escapes decoded; `None` for a bad escape or a result that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The response to `request` from the directory `root` (canonical): the file, streamed, or
/// 404 (also for every path that may not be served, so probing tells nothing), or 405 for
/// methods other than GET and HEAD.
pub fn serve(root: &Path, request: &RequestHead) -> Response {
    if request.method() != "GET" && request.method() != "HEAD" {
        return Response::text(405, "Method not allowed\n").header("Allow", "GET, HEAD");
    }
    let not_found = || Response::text(404, "Not found\n");
    let Some(path) = resolve(root, request.path()) else {
        return not_found();
    };
    let Ok(file) = std::fs::File::open(&path) else {
        return not_found();
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return not_found();
    };
    Response::new(200)
        .header("Content-Type", content_type(&path))
        .header("Cache-Control", "no-cache")
        .body(Body::Reader {
            len,
            // Exactly `len` bytes even if the file grows meanwhile; one that shrinks ends
            // the connection (the body reader fails), never a wrong Content-Length.
            source: Box::new(std::io::Read::take(file, len)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("static_files_{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("index.html"), "<p>hi</p>").unwrap();
        std::fs::write(dir.join("sub/a b.txt"), "text").unwrap();
        dir.canonicalize().unwrap()
    }

    #[test]
    fn files_under_the_root_are_found_and_directories_name_their_index() {
        let root = root();
        assert_eq!(resolve(&root, "/"), Some(root.join("index.html")));
        assert_eq!(
            resolve(&root, "/sub/a%20b.txt"),
            Some(root.join("sub/a b.txt"))
        );
        assert_eq!(resolve(&root, "/sub"), None, "a directory is no file");
        assert_eq!(resolve(&root, "/missing.txt"), None);
    }

    #[test]
    fn paths_that_try_to_leave_the_root_are_refused() {
        let root = root();
        for path in [
            "/../etc/passwd",
            "/sub/../../etc/passwd",
            "/sub/..",
            "/%2e%2e/etc/passwd",
            "/sub/%2E%2E/index.html",
            "/..%2fetc%2fpasswd",
            "/sub\\..\\index.html",
            "/index.html%00",
            "/%zz",
            "relative",
        ] {
            assert_eq!(resolve(&root, path), None, "{path}");
        }
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(
            content_type(Path::new("a.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("a.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a.css")), "text/css; charset=utf-8");
        assert_eq!(content_type(Path::new("a.png")), "image/png");
        assert_eq!(content_type(Path::new("a.svg")), "image/svg+xml");
        assert_eq!(
            content_type(Path::new("a.txt")),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a")), "application/octet-stream");
    }
}
