//! The same WebSocket close code reaches a real peer over ws:// and over wss://.
//!
//! - Our servers (`ws_echo`, `wss_echo`, as processes) with a hand-made client
//!   (`tests/py/raw_ws_client.py`, standard library only): a message over `--max-message`
//!   gets 1009, a reserved bit or an unmasked client frame 1002, text that is not UTF-8 1007,
//!   and SIGTERM closes an open connection with 1000.
//! - Our client (`wss_client`, as a process) with a hand-made server
//!   (`tests/py/raw_ws_server.py`): a message over `--max-message` gets 1009, a reserved bit
//!   or a masked server frame 1002, text that is not UTF-8 1007, and the end of stdin 1000.
//!
//! A failing WebSocket over TLS must still deliver its close frame (DESIGN.md §6): each case
//! runs once over each scheme and asserts the exact code.
//!
//! Needs the interop Python (see [`pipebuf_tests::test_python`]); the scripts themselves use
//! only the standard library.

use std::io::Write;
use std::process::{Command, ExitStatus, Stdio};

use pipebuf_tests::{Process, Server, TempDir, example_bin, make_pki};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Ws,
    Wss,
}

// ---------------------------------------------------------------------------------------------
// Our echo servers with a hand-made client

/// `ws_echo` or `wss_echo` (with its own self-signed certificate: the client does not
/// verify) on a free port, with `args`; and the URL that reaches it.
fn echo_server(scheme: Scheme, args: &[&str]) -> (Server, String) {
    let (name, prefix) = match scheme {
        Scheme::Ws => ("ws_echo", "ws"),
        Scheme::Wss => ("wss_echo", "wss"),
    };
    let mut all = vec!["--addr", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let server = Server::start(name, &all).unwrap_or_else(|e| panic!("{e}"));
    let url = format!("{prefix}://{}/", server.addr);
    (server, url)
}

/// Starts the echo server for `scheme` with `server_args`, lets `raw_ws_client.py` do
/// `case` to it; returns the close the client got (`close CODE`, `close none`, ...).
fn server_close(scheme: Scheme, server_args: &[&str], case: &[&str]) -> String {
    let (_server, url) = echo_server(scheme, server_args);
    let mut args = case.to_vec();
    args.push(&url);
    let mut client = Process::script("raw_ws_client.py", &args, Stdio::null());
    let line = client.expect_line("close ");
    let status = client.wait();
    assert!(status.success(), "{status}; stderr: {}", client.stderr());
    line
}

#[test]
fn oversized_message_over_ws_gets_1009_from_the_server() {
    let got = server_close(
        Scheme::Ws,
        &["--max-message", "1000"],
        &["oversized", "5000"],
    );
    assert_eq!(got, "close 1009");
}

#[test]
fn oversized_message_over_wss_gets_1009_from_the_server() {
    let got = server_close(
        Scheme::Wss,
        &["--max-message", "1000"],
        &["oversized", "5000"],
    );
    assert_eq!(got, "close 1009");
}

#[test]
fn frame_with_a_reserved_bit_over_ws_gets_1002_from_the_server() {
    assert_eq!(server_close(Scheme::Ws, &[], &["rsv"]), "close 1002");
}

#[test]
fn frame_with_a_reserved_bit_over_wss_gets_1002_from_the_server() {
    assert_eq!(server_close(Scheme::Wss, &[], &["rsv"]), "close 1002");
}

#[test]
fn unmasked_client_frame_over_ws_gets_1002_from_the_server() {
    assert_eq!(server_close(Scheme::Ws, &[], &["unmasked"]), "close 1002");
}

#[test]
fn unmasked_client_frame_over_wss_gets_1002_from_the_server() {
    assert_eq!(server_close(Scheme::Wss, &[], &["unmasked"]), "close 1002");
}

#[test]
fn invalid_utf8_text_over_ws_gets_1007_from_the_server() {
    assert_eq!(server_close(Scheme::Ws, &[], &["bad-utf8"]), "close 1007");
}

#[test]
fn invalid_utf8_text_over_wss_gets_1007_from_the_server() {
    assert_eq!(server_close(Scheme::Wss, &[], &["bad-utf8"]), "close 1007");
}

/// Connects, exchanges one echo, sends the server SIGTERM: the open connection must get
/// 1000, and the server must exit cleanly.
fn shutdown_closes_with_1000(scheme: Scheme) {
    let (mut server, url) = echo_server(scheme, &[]);
    let mut client = Process::script("raw_ws_client.py", &["shutdown", &url], Stdio::null());
    client.expect_line("echoed");
    let stopped = server.stop("TERM", Process::TIMEOUT);
    assert_eq!(client.expect_line("close "), "close 1000");
    let status = stopped.unwrap_or_else(|e| panic!("{url}: {e}"));
    assert!(status.success(), "{url} exited with {status}");
    let status = client.wait();
    assert!(status.success(), "{status}; stderr: {}", client.stderr());
}

#[test]
fn server_shutdown_over_ws_closes_open_connections_with_1000() {
    shutdown_closes_with_1000(Scheme::Ws);
}

#[test]
fn server_shutdown_over_wss_closes_open_connections_with_1000() {
    shutdown_closes_with_1000(Scheme::Wss);
}

// ---------------------------------------------------------------------------------------------
// Our client with a hand-made server

/// What became of one `wss_client` run against `raw_ws_server.py`.
struct ClientRun {
    /// What the server printed: `closed CODE`, `closed none`, ...
    closed: String,
    status: ExitStatus,
    stdout: Vec<String>,
    stderr: String,
}

/// Starts `raw_ws_server.py case` (over TLS with a test PKI for wss, trusted with `--ca`),
/// runs `wss_client` against it with `input` on stdin. With `echoes`, stdin ends once that
/// many lines came back; without, it stays open: the client must end by itself.
fn client_close(
    scheme: Scheme,
    case: &str,
    client_flags: &[&str],
    input: &str,
    echoes: Option<usize>,
) -> ClientRun {
    let dir = TempDir::new("close-codes");
    let files = make_pki("pipebuf close codes CA").write_to(&dir);
    let (cert, key, ca) = (
        files.cert.display().to_string(),
        files.key.display().to_string(),
        files.ca.display().to_string(),
    );
    let mut server_args = vec![case];
    if scheme == Scheme::Wss {
        server_args.extend(["--tls", &cert, &key]);
    }
    let server = Process::script("raw_ws_server.py", &server_args, Stdio::null());
    let port = server.expect_line("port ")["port ".len()..].to_string();
    let url = match scheme {
        Scheme::Ws => format!("ws://127.0.0.1:{port}/"),
        Scheme::Wss => format!("wss://127.0.0.1:{port}/"),
    };
    let mut client_args = vec![url.as_str()];
    client_args.extend(client_flags);
    if scheme == Scheme::Wss {
        client_args.extend(["--ca", &ca]);
    }
    let mut client = Process::start(
        "wss_client",
        Command::new(example_bin("wss_client").unwrap_or_else(|e| panic!("{e}")))
            .args(&client_args)
            .stdin(Stdio::piped()),
    );
    let mut stdin = client.take_stdin();
    if let Some(pipe) = &mut stdin {
        pipe.write_all(input.as_bytes()).expect("wss_client stdin");
    }
    let mut stdout = Vec::new();
    if let Some(n) = echoes {
        while stdout.len() < n {
            match client.next_line() {
                Some(line) => stdout.push(line),
                None => break,
            }
        }
        drop(stdin.take());
    }
    let closed = server.expect_line("closed ");
    let status = client.wait();
    drop(stdin);
    stdout.extend(client.remaining_lines());
    ClientRun {
        closed,
        status,
        stdout,
        stderr: client.stderr(),
    }
}

/// The server sends `case`'s hostile frame: our client must answer with a close frame
/// carrying `code` and exit 1, saying why.
fn client_fails_with(scheme: Scheme, case: &str, client_flags: &[&str], code: u16) {
    let run = client_close(scheme, case, client_flags, "", None);
    assert_eq!(run.closed, format!("closed {code}"), "{}", run.stderr);
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(run.stderr.starts_with("wss_client: "), "{}", run.stderr);
}

#[test]
fn oversized_message_over_ws_gets_1009_from_our_client() {
    client_fails_with(Scheme::Ws, "big", &["--max-message", "1000"], 1009);
}

#[test]
fn oversized_message_over_wss_gets_1009_from_our_client() {
    client_fails_with(Scheme::Wss, "big", &["--max-message", "1000"], 1009);
}

#[test]
fn frame_with_a_reserved_bit_over_ws_gets_1002_from_our_client() {
    client_fails_with(Scheme::Ws, "rsv", &[], 1002);
}

#[test]
fn frame_with_a_reserved_bit_over_wss_gets_1002_from_our_client() {
    client_fails_with(Scheme::Wss, "rsv", &[], 1002);
}

#[test]
fn masked_server_frame_over_ws_gets_1002_from_our_client() {
    client_fails_with(Scheme::Ws, "masked", &[], 1002);
}

#[test]
fn masked_server_frame_over_wss_gets_1002_from_our_client() {
    client_fails_with(Scheme::Wss, "masked", &[], 1002);
}

#[test]
fn invalid_utf8_text_over_ws_gets_1007_from_our_client() {
    client_fails_with(Scheme::Ws, "bad-utf8", &[], 1007);
}

#[test]
fn invalid_utf8_text_over_wss_gets_1007_from_our_client() {
    client_fails_with(Scheme::Wss, "bad-utf8", &[], 1007);
}

/// One line echoed, then the end of stdin: our client closes with 1000 and exits 0.
fn end_of_stdin_closes_with_1000(scheme: Scheme) {
    let run = client_close(scheme, "echo", &[], "hello\n", Some(1));
    assert_eq!(run.stdout, ["hello"], "{}", run.stderr);
    assert_eq!(run.closed, "closed 1000", "{}", run.stderr);
    assert!(run.status.success(), "{}: {}", run.status, run.stderr);
}

#[test]
fn end_of_stdin_over_ws_makes_our_client_close_with_1000() {
    end_of_stdin_closes_with_1000(Scheme::Ws);
}

#[test]
fn end_of_stdin_over_wss_makes_our_client_close_with_1000() {
    end_of_stdin_closes_with_1000(Scheme::Wss);
}
