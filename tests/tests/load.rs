//! `load` as a process against `ws_echo` and `wss_echo`: one JSON line with the keys the
//! benchmarks read, messages counted, no errors; a non-zero exit when no connection opens;
//! the server's CPU time, the handshake mode and the hold mode that `scripts/bench-ws.sh`
//! uses.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

use pipebuf_tests::{
    PyWsServer, Server, TempDir, example_bin, json_fields, make_pki, run_bounded, stdout_line,
};

const TIMEOUT: Duration = Duration::from_secs(60);

/// The JSON keys `load` prints, in order (without `--server-pid`, `--messages` or
/// `--reconnect-every`).
const KEYS: [&str; 10] = [
    "msgs_per_sec",
    "mib_per_sec",
    "p50_us",
    "p99_us",
    "connections",
    "size",
    "errors",
    "wire_sent_per_msg",
    "wire_received_per_msg",
    "payload_per_msg",
];

fn load(args: &[&str]) -> Output {
    run_bounded(
        Command::new(example_bin("load").unwrap()).args(args),
        TIMEOUT,
    )
    .unwrap()
}

/// The keys and values of the one JSON line `load` printed.
fn parse_json(out: &Output) -> Vec<(String, f64)> {
    json_fields(&stdout_line(out))
}

/// Checks the shape and the counts of a successful run; returns the values by key order.
fn check_run(out: &Output, connections: f64, size: f64) -> Vec<f64> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    let fields = parse_json(out);
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, KEYS, "{fields:?}");
    let v: Vec<f64> = fields.iter().map(|(_, v)| *v).collect();
    assert!(v[0] > 0.0, "msgs_per_sec {fields:?}; {stderr}");
    assert!(v[1] > 0.0 || size == 0.0, "mib_per_sec {fields:?}");
    assert!(v[2] > 0.0 && v[3] >= v[2], "p50/p99 {fields:?}");
    assert_eq!(
        (v[4], v[5], v[6]),
        (connections, size, 0.0),
        "{fields:?}; {stderr}"
    );
    // Fixed-size messages: the payload per message is the size.
    assert_eq!(v[9], size, "{fields:?}");
    v
}

#[test]
fn load_against_ws_echo_counts_messages_with_no_errors() {
    let mut server = Server::start("ws_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let url = format!("ws://{}/", server.addr);
    let out = load(&[
        "--url",
        &url,
        "--duration",
        "1",
        "--connections",
        "4",
        "--in-flight",
        "2",
    ]);
    let v = check_run(&out, 4.0, 64.0);
    // Uncompressed binary messages of 64 bytes: a 6-byte masked header out, 2 bytes back
    // (and a share of the close handshake).
    assert!((70.0..72.0).contains(&v[7]), "wire_sent_per_msg {v:?}");
    assert!((66.0..68.0).contains(&v[8]), "wire_received_per_msg {v:?}");
    // Messages larger than one chunk record stream through too.
    let out = load(&[
        "--url",
        &url,
        "--duration",
        "1",
        "--connections",
        "2",
        "--size",
        "200000",
    ]);
    check_run(&out, 2.0, 200_000.0);
    let status = server.stop("TERM", TIMEOUT).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn load_against_wss_echo_verifying_its_certificate_counts_messages_with_no_errors() {
    let dir = TempDir::new("load");
    let files = make_pki("pipebuf load test CA").write_to(&dir);
    let ca = files.ca.display().to_string();
    let cert = files.cert.display().to_string();
    let key = files.key.display().to_string();
    let mut server = Server::start(
        "wss_echo",
        &["--addr", "127.0.0.1:0", "--cert", &cert, "--key", &key],
    )
    .unwrap();
    let url = format!("wss://{}/", server.addr);
    let out = load(&[
        "--url",
        &url,
        "--ca",
        &ca,
        "--duration",
        "1",
        "--connections",
        "4",
        "--size",
        "1000",
        "--in-flight",
        "3",
    ]);
    check_run(&out, 4.0, 1000.0);
    let status = server.stop("TERM", TIMEOUT).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn load_exits_non_zero_with_every_connection_counted_as_an_error_when_none_opens() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = load(&[
        "--url",
        &format!("ws://127.0.0.1:{port}/"),
        "--duration",
        "1",
        "--connections",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let fields = parse_json(&out);
    assert_eq!(fields[0], ("msgs_per_sec".to_string(), 0.0));
    assert_eq!(fields[6], ("errors".to_string(), 3.0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no connection could be opened"));
}

#[test]
fn load_exits_non_zero_when_an_echo_comes_back_changed() {
    // Python's websockets, echoing each binary message with its last byte flipped.
    let server = PyWsServer::start(&["corrupt"]);
    let out = load(&[
        "--url",
        &format!("ws://127.0.0.1:{}/", server.port),
        "--duration",
        "1",
        "--connections",
        "2",
    ]);
    drop(server);
    assert_eq!(out.status.code(), Some(1));
    let fields = parse_json(&out);
    assert_eq!(fields[6], ("errors".to_string(), 2.0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wrong echo: echo 0 differs"), "{stderr}");
}

#[test]
fn load_rejects_bad_flags_with_exit_2() {
    for args in [
        &[][..],
        &["--url", "http://127.0.0.1:1/"],
        &["--url", "wss://127.0.0.1:1/"],
        &["--url", "ws://127.0.0.1:1/", "--connections", "0"],
        &["--url", "ws://127.0.0.1:1/", "--duration", "-1"],
        &["--url", "ws://127.0.0.1:1/", "--size", "lots"],
    ] {
        let out = load(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// The value of `key` in `fields`, failing the test without it.
fn field(fields: &[(String, f64)], key: &str) -> f64 {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key} in {fields:?}"))
        .1
}

#[test]
fn load_with_the_server_pid_reports_the_servers_cpu_time_per_message() {
    let mut server = Server::start("ws_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let url = format!("ws://{}/", server.addr);
    let pid = server.pid().to_string();
    let out = load(&["--url", &url, "--duration", "1", "--server-pid", &pid]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fields = parse_json(&out);
    let msgs = field(&fields, "msgs_per_sec");
    let cpu = field(&fields, "server_cpu_s");
    let per_msg = field(&fields, "server_us_per_msg");
    assert!(msgs > 0.0 && cpu > 0.0, "{fields:?}");
    // The server cannot have used more than the window's second of one CPU (with slack for
    // reading the clocks).
    assert!(cpu < 1.5, "{fields:?}");
    let expected = cpu * 1e6 / msgs;
    assert!(
        (per_msg - expected).abs() <= expected * 0.01 + 0.01,
        "{fields:?}"
    );
    assert!(server.stop("TERM", TIMEOUT).unwrap().success());
}

#[test]
fn load_in_handshake_mode_counts_complete_opening_and_closing_handshakes() {
    let mut server = Server::start("wss_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let url = format!("wss://{}/", server.addr);
    let out = load(&[
        "--url",
        &url,
        "--insecure",
        "--handshakes",
        "--connections",
        "4",
        "--duration",
        "1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fields = parse_json(&out);
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["handshakes_per_sec", "connections", "errors"]);
    assert!(field(&fields, "handshakes_per_sec") >= 1.0, "{fields:?}");
    assert_eq!(field(&fields, "errors"), 0.0, "{fields:?}");
    assert!(server.stop("TERM", TIMEOUT).unwrap().success());
}

#[test]
fn load_in_hold_mode_says_ready_once_every_connection_is_open_and_then_holds_them() {
    let mut server = Server::start("ws_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let url = format!("ws://{}/", server.addr);
    let out = load(&["--url", &url, "--connections", "5", "--hold", "0.3"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0], "ready 5");
    let fields = json_fields(lines[1]);
    assert_eq!(field(&fields, "held"), 5.0, "{fields:?}");
    assert_eq!(field(&fields, "errors"), 0.0, "{fields:?}");
    assert!(server.stop("TERM", TIMEOUT).unwrap().success());
}

/// The value of `key` in `load`'s JSON line.
fn value(out: &Output, key: &str) -> f64 {
    field(&parse_json(out), key)
}

#[test]
fn load_messages_mode_checks_exactly_n_echoes_of_varied_sizes_per_connection() {
    let mut server = Server::start("wss_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let url = format!("wss://{}/", server.addr);
    let out = load(&[
        "--url",
        &url,
        "--insecure",
        "--connections",
        "5",
        "--messages",
        "40",
        "--size",
        "16",
        "--max-size",
        "70000",
        "--in-flight",
        "3",
        "--duration",
        "30",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert_eq!(value(&out, "errors"), 0.0, "{stderr}");
    assert_eq!(value(&out, "messages"), 200.0);
    assert_eq!(value(&out, "opened"), 5.0);
    assert!(value(&out, "mib_per_sec") > 0.0);
    // Bad combinations are refused with status 2.
    for bad in [
        &["--messages", "1", "--reconnect-every", "1"][..],
        &["--messages", "0"],
        &["--size", "100", "--max-size", "99"],
        &["--messages", "5", "--handshakes"],
    ] {
        let mut args = vec!["--url", &url, "--insecure"];
        args.extend_from_slice(bad);
        let out = load(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    let status = server.stop("TERM", TIMEOUT).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn load_reconnect_mode_opens_new_connections_and_checks_every_echo() {
    let mut server = Server::start("ws_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let url = format!("ws://{}/", server.addr);
    let out = load(&[
        "--url",
        &url,
        "--connections",
        "4",
        "--reconnect-every",
        "5",
        "--max-size",
        "3000",
        "--duration",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert_eq!(value(&out, "errors"), 0.0, "{stderr}");
    let (messages, opened) = (value(&out, "messages"), value(&out, "opened"));
    // More connections than slots opened, each for at most 5 messages.
    assert!(opened > 4.0, "opened {opened}");
    assert!(
        messages > 0.0 && messages <= opened * 5.0,
        "{messages} {opened}"
    );
    let status = server.stop("TERM", TIMEOUT).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn load_sends_json_text_compressed_against_ws_echo_with_deflate_and_counts_the_wire_bytes() {
    let mut server = Server::start("ws_echo", &["--addr", "127.0.0.1:0", "--deflate"]).unwrap();
    let url = format!("ws://{}/", server.addr);
    let mut wire = Vec::new();
    for context in ["keep", "reset"] {
        let out = load(&[
            "--url",
            &url,
            "--duration",
            "1",
            "--connections",
            "3",
            "--in-flight",
            "2",
            "--size",
            "1024",
            "--payload",
            "json",
            "--deflate",
            "--deflate-context",
            context,
        ]);
        let v = check_run(&out, 3.0, 1024.0);
        // Compressed both ways: far fewer bytes on the wire than the payload.
        assert!(v[7] > 0.0 && v[7] < 0.8 * v[9], "{context}: sent {v:?}");
        assert!(v[8] > 0.0 && v[8] < 0.8 * v[9], "{context}: received {v:?}");
        wire.push(v[7]);
    }
    // Keeping the window between messages compresses better than starting afresh.
    assert!(wire[0] < wire[1], "keep {} vs reset {}", wire[0], wire[1]);
    // Uncompressed JSON text costs the payload plus the frame headers.
    let out = load(&[
        "--url",
        &url,
        "--duration",
        "1",
        "--connections",
        "2",
        "--size",
        "1024",
        "--payload",
        "json",
    ]);
    let v = check_run(&out, 2.0, 1024.0);
    assert!(v[7] >= 1024.0 + 8.0 && v[8] >= 1024.0 + 4.0, "{v:?}");
    let status = server.stop("TERM", TIMEOUT).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn load_rejects_a_bad_payload_and_a_context_without_deflate() {
    for (args, message) in [
        (&["--payload", "xml"][..], "--payload needs binary or json"),
        (
            &["--deflate-context", "reset"][..],
            "--deflate-context needs --deflate",
        ),
    ] {
        let mut all = vec!["--url", "ws://127.0.0.1:1/"];
        all.extend_from_slice(args);
        let out = load(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
