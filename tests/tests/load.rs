//! `load` as a process against `ws_echo` and `wss_echo`: one JSON line with the keys the
//! benchmarks read, messages counted, no errors; a non-zero exit when no connection opens.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

use pipebuf_tests::{
    PyWsServer, Server, TempDir, example_bin, json_fields, make_pki, run_bounded, stdout_line,
};

const TIMEOUT: Duration = Duration::from_secs(60);

/// The JSON keys `load` prints, in order.
const KEYS: [&str; 7] = [
    "msgs_per_sec",
    "mib_per_sec",
    "p50_us",
    "p99_us",
    "connections",
    "size",
    "errors",
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
    check_run(&out, 4.0, 64.0);
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
