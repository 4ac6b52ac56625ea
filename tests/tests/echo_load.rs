//! `echo_load` (the client behind every TCP and TLS figure of the benchmark scripts) as a
//! process: one JSON line with the keys the scripts read, messages counted, no errors against
//! `tcp_echo` and `tls_echo`; exit status 1 when an echo comes back changed or nothing was
//! echoed, 2 on bad flags.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::process::{Command, Output};
use std::time::Duration;

use pipebuf_tests::{Server, example_bin, json_fields, run_bounded, stdout_line};

const TIMEOUT: Duration = Duration::from_secs(60);

/// The JSON keys of a message run, in order.
const KEYS: [&str; 9] = [
    "conns",
    "size",
    "secs",
    "msgs",
    "msgs_per_sec",
    "mib_per_sec",
    "p50_us",
    "p99_us",
    "errors",
];

/// The JSON keys of a handshake run (`--tls --handshakes`), in order.
const HANDSHAKE_KEYS: [&str; 8] = [
    "conns",
    "size",
    "secs",
    "handshakes",
    "handshakes_per_sec",
    "p50_us",
    "p99_us",
    "errors",
];

fn echo_load(args: &[&str]) -> Output {
    run_bounded(
        Command::new(example_bin("echo_load").unwrap()).args(args),
        TIMEOUT,
    )
    .unwrap()
}

/// The fields of the one JSON line, after checking that its keys are `keys`, in order.
fn fields(out: &Output, keys: &[&str]) -> Vec<(String, f64)> {
    let fields = json_fields(&stdout_line(out));
    let got: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(got, keys, "{fields:?}");
    fields
}

fn value(fields: &[(String, f64)], key: &str) -> f64 {
    fields
        .iter()
        .find_map(|(k, v)| (k == key).then_some(*v))
        .unwrap_or_else(|| panic!("no {key} in {fields:?}"))
}

/// Checks a run that must have succeeded: exit 0, the keys, `conns` and `size` as asked,
/// something counted, no errors, sensible latencies.
fn check_success(out: &Output, keys: &[&str], conns: f64, size: f64) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    let f = fields(out, keys);
    assert_eq!(value(&f, "conns"), conns, "{f:?}");
    assert_eq!(value(&f, "size"), size, "{f:?}");
    assert_eq!(value(&f, "errors"), 0.0, "{f:?}; {stderr}");
    assert!(value(&f, keys[3]) > 0.0, "nothing counted: {f:?}; {stderr}");
    assert!(value(&f, keys[4]) > 0.0, "{f:?}");
    let (p50, p99) = (value(&f, "p50_us"), value(&f, "p99_us"));
    assert!(p50 > 0.0 && p99 >= p50, "p50/p99 {f:?}");
}

#[test]
fn echo_load_against_tcp_echo_counts_messages_with_no_errors() {
    let mut server = Server::start("tcp_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let addr = server.addr.clone();
    let out = echo_load(&["--addr", &addr, "--conns", "4", "--secs", "0.5"]);
    check_success(&out, &KEYS, 4.0, 16.0);
    // Several in flight, two client threads, and messages larger than one read.
    let out = echo_load(&[
        "--addr",
        &addr,
        "--conns",
        "3",
        "--size",
        "200000",
        "--inflight",
        "3",
        "--threads",
        "2",
        "--secs",
        "0.5",
    ]);
    check_success(&out, &KEYS, 3.0, 200_000.0);
    let status = server.stop("TERM", TIMEOUT).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn echo_load_against_tls_echo_counts_messages_and_handshakes_with_no_errors() {
    let mut server = Server::start("tls_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let addr = server.addr.clone();
    let out = echo_load(&[
        "--tls", "--addr", &addr, "--conns", "4", "--size", "1024", "--secs", "0.5",
    ]);
    check_success(&out, &KEYS, 4.0, 1024.0);
    let out = echo_load(&[
        "--tls",
        "--handshakes",
        "--addr",
        &addr,
        "--conns",
        "2",
        "--secs",
        "0.5",
    ]);
    check_success(&out, &HANDSHAKE_KEYS, 2.0, 16.0);
    let status = server.stop("TERM", TIMEOUT).unwrap();
    assert!(status.success(), "{status}");
}

/// A TCP echo server on a thread per connection that flips the first byte of every read
/// before echoing it; returns its address. Its threads end with their connections (the
/// accepting one with the test process).
fn corrupting_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            buf[0] ^= 0xff;
                            if stream.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = stream.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

#[test]
fn echo_load_exits_1_and_counts_every_connection_when_echoes_come_back_changed() {
    let addr = corrupting_server().to_string();
    let out = echo_load(&["--addr", &addr, "--conns", "3", "--secs", "0.5"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let f = fields(&out, &KEYS);
    assert_eq!(value(&f, "msgs"), 0.0, "{f:?}");
    assert_eq!(value(&f, "errors"), 3.0, "{f:?}");
    assert!(
        stderr.contains("wrong bytes in echo 0 at offset 0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 connections got wrong echoes"),
        "{stderr}"
    );
}

#[test]
fn echo_load_exits_1_with_every_connection_counted_as_an_error_when_none_opens() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let out = echo_load(&["--addr", &addr, "--conns", "2", "--secs", "0.2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let f = fields(&out, &KEYS);
    assert_eq!(value(&f, "msgs"), 0.0, "{f:?}");
    assert_eq!(value(&f, "errors"), 2.0, "{f:?}");
    assert!(stderr.contains("no message completed in time"), "{stderr}");
}

#[test]
fn echo_load_rejects_bad_flags_with_exit_2() {
    for args in [
        &[][..],
        &["--addr", "not-an-address"],
        &["--addr", "127.0.0.1:1", "--conns", "0"],
        &["--addr", "127.0.0.1:1", "--secs", "0"],
        &["--addr", "127.0.0.1:1", "--handshakes"],
        &["--addr", "127.0.0.1:1", "--bogus", "1"],
    ] {
        let out = echo_load(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn echo_load_with_the_server_pid_adds_the_servers_cpu_time_per_message() {
    let mut server = Server::start("tcp_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let pid = server.pid().to_string();
    let out = echo_load(&[
        "--addr",
        &server.addr,
        "--conns",
        "4",
        "--secs",
        "1",
        "--server-pid",
        &pid,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut keys = KEYS.to_vec();
    keys.extend(["server_cpu_s", "server_us_per_msg"]);
    let fields = fields(&out, &keys);
    let (msgs, cpu) = (value(&fields, "msgs"), value(&fields, "server_cpu_s"));
    assert!(msgs > 0.0 && cpu > 0.0 && cpu < 1.5, "{fields:?}");
    let expected = cpu * 1e6 / msgs;
    let per_msg = value(&fields, "server_us_per_msg");
    assert!(
        (per_msg - expected).abs() <= expected * 0.01 + 0.01,
        "{fields:?}"
    );
    assert!(server.stop("TERM", TIMEOUT).unwrap().success());
}
