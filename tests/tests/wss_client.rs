//! `wss_client` as a process: stdin lines out as text messages, echoes on stdout, the close
//! handshake at the end of stdin; against Python's `websockets` server (`tests/py/
//! ws_server.py`, ws:// and wss:// with `--ca`) and against our own `ws_echo`/`wss_echo`;
//! with `--deflate`, compression agreed with `websockets` (`tests/py/deflate_server.py`)
//! and with `wss_echo --deflate`; clear errors and a non-zero exit for a refused
//! connection, a refused upgrade and a certificate that does not verify (against the CA
//! given, or against the public roots trusted without `--ca`).
//!
//! Needs Python with `websockets` (see [`pipebuf_tests::test_python`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use pipebuf_tests::{PkiFiles, Process, PyWsServer, Server, TempDir, example_bin, make_pki};

/// The longest any one client run or wait may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// When the test ends `wss_client`'s stdin.
#[derive(Debug, Clone, Copy)]
enum StdinEnd {
    /// Right after the input: the client closes while echoes may still be on their way.
    AfterInput,
    /// Once this many lines were printed. A server that answers a close frame at once
    /// (Python's websockets does, from its protocol layer) drops echoes its handler has not
    /// sent yet, so tests against it close only after the echoes are in.
    AfterLines(usize),
    /// Never: the client must end by itself (server's close, errors).
    Never,
}

/// Runs `wss_client` with `args`, `input` on its stdin, ending stdin as `end` says; kills
/// it after [`TIMEOUT`].
fn client(args: &[&str], input: &[u8], end: StdinEnd) -> Output {
    let mut child = Command::new(example_bin("wss_client").unwrap())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = Some(child.stdin.take().unwrap());
    if let Some(pipe) = &mut stdin {
        pipe.write_all(input).unwrap();
    }
    let (line_tx, line_rx) = mpsc::channel();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let stdout = thread::spawn(move || {
        let mut all = Vec::new();
        loop {
            let before = all.len();
            match out.read_until(b'\n', &mut all) {
                Ok(0) | Err(_) => return all,
                Ok(_) if all[before..].ends_with(b"\n") => {
                    let _ = line_tx.send(());
                }
                Ok(_) => (),
            }
        }
    });
    let mut err = child.stderr.take().unwrap();
    let stderr = thread::spawn(move || {
        let mut all = Vec::new();
        let _ = err.read_to_end(&mut all);
        all
    });
    let deadline = Instant::now() + TIMEOUT;
    let mut lines = 0;
    let status = loop {
        let close = match end {
            StdinEnd::AfterInput => true,
            StdinEnd::AfterLines(n) => lines >= n,
            StdinEnd::Never => false,
        };
        if close {
            stdin = None;
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wss_client {args:?} did not exit within {TIMEOUT:?}");
        }
        if line_rx.recv_timeout(Duration::from_millis(10)).is_ok() {
            lines += 1;
        }
    };
    drop(stdin);
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A test PKI in files (the CA for clients, certificate and key for servers), and the
/// directory that holds them, to keep while they are used.
fn pki_files() -> (TempDir, PkiFiles) {
    let dir = TempDir::new("wss-client");
    let files = make_pki("pipebuf wss_client test CA").write_to(&dir);
    (dir, files)
}

/// Lines that cover the cases: plain, non-ASCII, empty, long.
fn input_lines() -> Vec<String> {
    vec![
        "hello".into(),
        "wörld ✓".into(),
        String::new(),
        "x".repeat(70_000),
        "last".into(),
    ]
}

fn check_echoed(out: &Output, lines: &[String]) {
    assert!(
        out.status.success(),
        "exit {}; stderr: {}",
        out.status,
        stderr(out)
    );
    let expected: String = lines.iter().map(|l| format!("{l}\n")).collect();
    assert!(
        stdout(out) == expected,
        "stdout differs: {:?}",
        stdout(out).chars().take(200).collect::<String>()
    );
}

#[test]
fn wss_client_sends_stdin_lines_to_websockets_over_ws_and_closes_with_1000_at_eof() {
    let server = PyWsServer::start(&["echo"]);
    let lines = input_lines();
    let input = lines.join("\n") + "\n";
    let url = format!("ws://127.0.0.1:{}/", server.port);
    let out = client(&[&url], input.as_bytes(), StdinEnd::AfterLines(lines.len()));
    check_echoed(&out, &lines);
    assert_eq!(server.expect_line("closed"), "closed 1000 ''");
}

#[test]
fn wss_client_talks_to_websockets_over_wss_verifying_the_server_against_ca() {
    let (_dir, files) = pki_files();
    let server = PyWsServer::start(&[
        "echo",
        "--tls",
        files.cert.to_str().unwrap(),
        files.key.to_str().unwrap(),
    ]);
    let lines = input_lines();
    // CRLF line ends are taken off too.
    let input = lines.join("\r\n") + "\r\n";
    let url = format!("wss://127.0.0.1:{}/path?q=1", server.port);
    let out = client(
        &["--url", &url, "--ca", files.ca.to_str().unwrap()],
        input.as_bytes(),
        StdinEnd::AfterLines(lines.len()),
    );
    check_echoed(&out, &lines);
    assert_eq!(server.expect_line("closed"), "closed 1000 ''");
}

#[test]
fn wss_client_exits_0_when_the_server_closes_first_and_prints_what_came_before() {
    let server = PyWsServer::start(&["echo"]);
    let url = format!("ws://127.0.0.1:{}/", server.port);
    // stdin stays open: the end comes from the server's close frame.
    let out = client(
        &[&url],
        b"first\nclose-me 4002 server says bye\n",
        StdinEnd::Never,
    );
    assert!(out.status.success(), "{}; {}", out.status, stderr(&out));
    assert_eq!(stdout(&out), "first\n");
    // Our answer carries the server's code.
    assert_eq!(server.expect_line("closed"), "closed 4002 ''");
}

#[test]
fn wss_client_reports_a_refused_upgrade_with_its_status_and_exits_1() {
    let server = PyWsServer::start(&["reject"]);
    let url = format!("ws://127.0.0.1:{}/", server.port);
    let out = client(&[&url], b"never sent\n", StdinEnd::Never);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("403"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

#[test]
fn wss_client_gets_echoes_from_our_ws_echo_and_wss_echo() {
    let (_dir, files) = pki_files();
    let lines = input_lines();
    let input = lines.join("\n") + "\n";
    let mut ws = Server::start("ws_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let out = client(
        &[&format!("ws://{}/", ws.addr)],
        input.as_bytes(),
        StdinEnd::AfterInput,
    );
    check_echoed(&out, &lines);
    let mut wss = Server::start(
        "wss_echo",
        &[
            "--addr",
            "127.0.0.1:0",
            "--cert",
            files.cert.to_str().unwrap(),
            "--key",
            files.key.to_str().unwrap(),
        ],
    )
    .unwrap();
    let url = format!("wss://{}/", wss.addr);
    // CRLF line ends; a last line without a line end is a line too (and goes out with the
    // close: our servers echo everything that came before a close frame).
    let input = lines.join("\r\n");
    let out = client(
        &[&url, "--ca", files.ca.to_str().unwrap()],
        input.as_bytes(),
        StdinEnd::AfterInput,
    );
    check_echoed(&out, &lines);
    // --insecure accepts the same server without its CA.
    let out = client(&[&url, "--insecure"], b"trusting\n", StdinEnd::AfterInput);
    check_echoed(&out, &["trusting".to_string()]);
    for server in [&mut ws, &mut wss] {
        let status = server.stop("TERM", TIMEOUT).unwrap();
        assert!(status.success(), "{status}");
    }
}

#[test]
fn wss_client_refuses_a_certificate_its_ca_did_not_sign_and_exits_1() {
    let (_dir, files) = pki_files();
    // wss_echo with its own self-signed certificate, not signed by the test CA.
    let server = Server::start("wss_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let url = format!("wss://{}/", server.addr);
    let out = client(
        &[&url, "--ca", files.ca.to_str().unwrap()],
        b"hi\n",
        StdinEnd::Never,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("TLS"), "{}", stderr(&out));
    assert!(
        stderr(&out).to_lowercase().contains("certificate"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
}

#[test]
fn wss_client_reports_a_refused_connection_and_exits_1() {
    // A port that was free a moment ago: nothing listens there now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = client(
        &[&format!("ws://127.0.0.1:{port}/")],
        b"hi\n",
        StdinEnd::Never,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot connect") && stderr(&out).contains("refused"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn wss_client_rejects_bad_arguments_with_exit_2_and_no_panic() {
    for args in [
        &[][..],
        &["http://127.0.0.1:1/"],
        &["ws://127.0.0.1:99999/"],
        &["ws://[::1/"],
        &["ws://127.0.0.1:1/", "--insecure"],
        &["ws://127.0.0.1:1/", "ws://127.0.0.1:2/"],
        &["ws://127.0.0.1:1/", "--bogus"],
        &["wss://127.0.0.1:1/", "--ca"],
    ] {
        let out = client(args, b"", StdinEnd::AfterInput);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("wss_client: ") && !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn wss_client_with_deflate_gets_websockets_to_agree_on_compression_and_gets_exact_echoes() {
    let server = Process::script("deflate_server.py", &[], Stdio::piped());
    let line = server.expect_line("port ");
    let url = format!("ws://127.0.0.1:{}/", &line["port ".len()..]);
    let lines = input_lines();
    let input = lines.join("\n") + "\n";
    let out = client(
        &[&url, "--deflate"],
        input.as_bytes(),
        StdinEnd::AfterLines(lines.len()),
    );
    check_echoed(&out, &lines);
    // The server's answer to our offer: compression agreed, context kept both ways.
    assert_eq!(
        server.expect_line("extensions "),
        "extensions permessage-deflate"
    );
}

#[test]
fn wss_client_asks_websockets_for_no_context_takeover_with_deflate_context_reset() {
    let server = Process::script("deflate_server.py", &[], Stdio::piped());
    let line = server.expect_line("port ");
    let url = format!("ws://127.0.0.1:{}/", &line["port ".len()..]);
    let lines = input_lines();
    let input = lines.join("\n") + "\n";
    let out = client(
        &[&url, "--deflate", "--deflate-context", "reset"],
        input.as_bytes(),
        StdinEnd::AfterLines(lines.len()),
    );
    check_echoed(&out, &lines);
    // We offer client_no_context_takeover and ask for server_no_context_takeover; the
    // server grants both.
    let agreed = server.expect_line("extensions ");
    assert!(
        agreed.contains("server_no_context_takeover")
            && agreed.contains("client_no_context_takeover"),
        "{agreed}"
    );
}

#[test]
fn wss_client_with_deflate_gets_exact_echoes_from_wss_echo_with_deflate() {
    let mut server = Server::start("wss_echo", &["--addr", "127.0.0.1:0", "--deflate"]).unwrap();
    let lines = input_lines();
    let input = lines.join("\n") + "\n";
    let url = format!("wss://{}/", server.addr);
    let out = client(
        &[&url, "--insecure", "--deflate"],
        input.as_bytes(),
        StdinEnd::AfterInput,
    );
    check_echoed(&out, &lines);
    let status = server.stop("TERM", TIMEOUT).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn wss_client_without_ca_trusts_only_the_public_roots_and_refuses_a_self_signed_server() {
    // wss_echo with the self-signed certificate it makes at start: no public CA signed it.
    let mut server = Server::start("wss_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let url = format!("wss://{}/", server.addr);
    let out = client(&[&url], b"hi\n", StdinEnd::Never);
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(
        message.starts_with("wss_client: ") && message.contains("TLS"),
        "{message}"
    );
    // What rustls found, and what the user can do about it.
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert!(
        message.contains("not signed by a CA this client trusts") && message.contains("--ca"),
        "{message}"
    );
    assert_eq!(stdout(&out), "");
    let status = server.stop("TERM", TIMEOUT).unwrap();
    assert!(status.success(), "{status}");
}
