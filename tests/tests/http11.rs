//! The HTTP/1.1 server component (`pipebuf_websocket::http`) against real clients: `curl`
//! reusing one connection, Python's `http.client` pipelining three requests in one write and
//! uploading a chunked body, and hostile input refused with the connection closed. Two
//! servers: `http_echo` (tests/src/bin, plain TCP, records mode with an echo path) and
//! `wss_chat` (TLS, a handler serving its page and `--root`, then the WebSocket on the same
//! connection).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pipebuf_tests::{Server, TempDir, run_bounded, test_python};

const TIMEOUT: Duration = Duration::from_secs(60);

fn http_echo() -> Server {
    Server::start_program(Path::new(env!("CARGO_BIN_EXE_http_echo")), &[])
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `script` with the test Python and `args`; its stdout, after checking it succeeded.
fn python(script: &str, args: &[&str]) -> String {
    let out = run_bounded(
        Command::new(test_python()).arg("-c").arg(script).args(args),
        TIMEOUT,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Whether `curl` is installed (scripts/test.sh installs it).
fn curl() -> Command {
    let found = Command::new("curl").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "these tests need curl (scripts/test.sh installs it)"
    );
    let mut cmd = Command::new("curl");
    cmd.args(["--silent", "--show-error", "--max-time", "30"]);
    cmd
}

/// Sends `request` on a fresh connection; what comes back until the server closes, and
/// whether it did close (rather than time out).
fn exchange(addr: &str, request: &[u8]) -> (String, bool) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let closed = stream.read_to_end(&mut answer).is_ok();
    (String::from_utf8_lossy(&answer).into_owned(), closed)
}

#[test]
fn curl_reuses_one_connection_for_several_requests() {
    let server = http_echo();
    let urls: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|p| format!("http://{}/{p}", server.addr))
        .collect();
    let out = run_bounded(curl().arg("--verbose").args(&urls), TIMEOUT).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, "path /a\npath /b\npath /c\n");
    assert_eq!(
        stderr.matches("Re-using existing connection").count(),
        2,
        "{stderr}"
    );
}

#[test]
fn three_pipelined_requests_in_one_write_are_answered_in_order() {
    let server = http_echo();
    // http.client reads each response from one shared buffered reader, so the bytes of
    // the second response read ahead with the first are not lost. The fourth request asks
    // to close: the answer says so and the connection ends after it.
    let script = r#"
import http.client, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
sock = socket.create_connection((host, int(port)), timeout=20)
requests = b"".join(
    b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in (1, 2, 3)
)
sock.sendall(requests)
reader = sock.makefile("rb")
class Kept:
    # HTTPResponse closes its reader after the body; the next response needs it open.
    def __getattr__(self, name):
        return getattr(reader, name)
    def close(self):
        pass
class Shared:
    def makefile(self, *args, **kwargs):
        return Kept()
for i in (1, 2, 3):
    response = http.client.HTTPResponse(Shared())
    response.begin()
    print(response.status, response.getheader("Connection"), response.read().decode().strip())
sock.sendall(b"GET /4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
response = http.client.HTTPResponse(Shared())
response.begin()
print(response.status, response.getheader("Connection"), response.read().decode().strip())
print("end", repr(reader.read()))
"#;
    let out = python(script, &[&server.addr]);
    assert_eq!(
        out,
        "200 None path /1\n200 None path /2\n200 None path /3\n200 close path /4\nend b''\n"
    );
}

#[test]
fn a_chunked_upload_is_echoed_back_as_it_streams() {
    let server = http_echo();
    let script = r#"
import http.client, sys
host, port = sys.argv[1].rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port), timeout=20)
pieces = [bytes([i % 251]) * (1000 + i) for i in range(30)]
conn.request("POST", "/echo", body=iter(pieces), encode_chunked=True)
response = conn.getresponse()
body = response.read()
assert response.status == 200, response.status
assert response.getheader("Transfer-Encoding") == "chunked"
assert body == b"".join(pieces), (len(body), sum(map(len, pieces)))
# The connection stays for the next request.
conn.request("GET", "/after")
print(conn.getresponse().read().decode().strip(), len(body))
"#;
    assert_eq!(python(script, &[&server.addr]), "path /after 30435\n");
}

#[test]
fn curl_uploads_a_chunked_body_with_expect_100_continue() {
    let server = http_echo();
    let dir = TempDir::new("http11_upload");
    let data: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let file = dir.path("upload.bin");
    std::fs::write(&file, &data).unwrap();
    let out = run_bounded(
        curl()
            .args(["--verbose", "-H", "Transfer-Encoding: chunked", "-H"])
            .arg("Expect: 100-continue")
            .arg("--data-binary")
            .arg(format!("@{}", file.display()))
            .arg(format!("http://{}/echo", server.addr)),
        TIMEOUT,
    )
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("HTTP/1.1 100 Continue"), "{stderr}");
    assert_eq!(out.stdout, data);
}

#[test]
fn oversized_headers_get_431_and_the_connection_closed() {
    let server = http_echo();
    let big = "a".repeat(10_000);
    let request = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let (answer, closed) = exchange(&server.addr, request.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
    assert!(closed);
}

#[test]
fn a_bad_chunk_size_gets_400_and_the_connection_closed() {
    let server = http_echo();
    // Head and bad chunk in one write: the server refuses before the application answers.
    for request in [
        &b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n"[..],
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n-1\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n",
    ] {
        let (answer, closed) = exchange(&server.addr, request);
        assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
        assert!(closed);
    }
}

#[test]
fn content_length_with_transfer_encoding_gets_400_and_the_smuggled_request_is_never_served() {
    let server = http_echo();
    let request =
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
        0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let (answer, closed) = exchange(&server.addr, request);
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(!answer.contains("smuggled"), "{answer}");
    assert!(closed);
    let request = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\n";
    let (answer, closed) = exchange(&server.addr, request);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(closed);
}

#[test]
fn a_body_over_the_limit_gets_413_and_the_connection_closed() {
    let server = http_echo();
    let request = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n";
    let (answer, closed) = exchange(&server.addr, request);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(closed);
}

/// Starts `wss_chat` serving `root`.
fn wss_chat(root: &Path) -> Server {
    Server::start(
        "wss_chat",
        &[
            "--addr",
            "127.0.0.1:0",
            "--root",
            &root.display().to_string(),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn wss_chat_serves_its_page_and_static_files_on_one_connection() {
    let dir = TempDir::new("http11_root");
    dir.file("hello.txt", "hello file\n");
    dir.file("app.js", "console.log(1)\n");
    let server = wss_chat(&dir.path(""));
    let base = format!("https://{}", server.addr);
    let out = run_bounded(
        curl()
            .args([
                "--insecure",
                "--verbose",
                "--write-out",
                "|%{content_type}\n",
            ])
            .arg(format!("{base}/hello.txt"))
            .arg(format!("{base}/app.js"))
            .arg(format!("{base}/")),
        TIMEOUT,
    )
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.starts_with(
            "hello file\n|text/plain; charset=utf-8\nconsole.log(1)\n|text/javascript; charset=utf-8\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("<html") || stdout.contains("<!doctype"),
        "{stdout}"
    );
    assert_eq!(
        stderr.matches("Re-using existing connection").count(),
        2,
        "{stderr}"
    );
}

#[test]
fn wss_chat_never_serves_a_path_outside_its_root() {
    let dir = TempDir::new("http11_jail");
    dir.file("inside.txt", "inside\n");
    let server = wss_chat(&dir.path(""));
    for path in [
        "/../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
    ] {
        let out = run_bounded(
            curl()
                .args(["--insecure", "--path-as-is", "--write-out", "%{http_code}"])
                .arg(format!("https://{}{path}", server.addr)),
            TIMEOUT,
        )
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.ends_with("404"), "{path}: {stdout}");
        assert!(!stdout.contains("root:"), "{path}: {stdout}");
    }
}

#[test]
fn wss_chat_upgrades_the_connection_that_loaded_its_page() {
    let dir = TempDir::new("http11_upgrade");
    let server = wss_chat(&dir.path(""));
    // One TLS connection: the page (keep-alive), then the upgrade on it, then a chat: the
    // name sent, the server's join announcement received.
    let script = r#"
import base64, os, socket, ssl, struct, sys
host, port = sys.argv[1].rsplit(":", 1)
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
sock = context.wrap_socket(socket.create_connection((host, int(port)), timeout=20), server_hostname="localhost")
reader = sock.makefile("rb")
def head():
    lines = []
    while True:
        line = reader.readline()
        if line in (b"\r\n", b""):
            return lines
        lines.append(line.decode().strip())
sock.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % sys.argv[1].encode())
lines = head()
length = int(next(l.split(":")[1] for l in lines if l.lower().startswith("content-length")))
page = reader.read(length)
print(lines[0], b"wss://" in page or b"WebSocket" in page)
key = base64.b64encode(os.urandom(16))
sock.sendall(b"GET /chat?room=http11 HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
             b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
             % (sys.argv[1].encode(), key))
print(head()[0])
name = b"alice"
mask = os.urandom(4)
sock.sendall(bytes([0x81, 0x80 | len(name)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(name)))
first, second = reader.read(2)
payload = reader.read(second & 0x7f)
print(payload.decode())
"#;
    let out = python(script, &[&server.addr]);
    assert_eq!(
        out,
        "HTTP/1.1 200 OK True\nHTTP/1.1 101 Switching Protocols\n* alice joined http11 (1 here)\n"
    );
}
