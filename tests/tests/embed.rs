//! The embedding examples as processes: `embed_fixed` (line upper-casing on fixed buffers:
//! lines, backpressure without loss, more clients than slots, over-long lines, its `--demo`)
//! and `embed_tokio` (the WebSocket echo chain in tokio tasks, with Python's `websockets` as
//! client for pings, fragments, the close handshake and plain HTTP). Their byte-exact echo of
//! every boundary size is in `echo_sizes.rs`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;
use std::thread;
use std::time::Duration;

use pipebuf_tests::{Server, example_bin, py_script, run_bounded, test_python};

const TIMEOUT: Duration = Duration::from_secs(30);

fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// Sends `data` from a thread (so the server's backpressure cannot deadlock the test),
/// half-closes, and returns everything until the server's close.
fn exchange(addr: &str, data: Vec<u8>) -> Vec<u8> {
    let mut stream = connect(addr);
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        writer.write_all(&data).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    stream.read_to_end(&mut back).unwrap();
    sender.join().unwrap();
    back
}

fn stop(mut server: Server) {
    let status = server.stop("TERM", TIMEOUT).unwrap();
    assert!(status.success(), "exit status {status}");
}

#[test]
fn embed_fixed_upper_cases_lines_and_closes_after_the_clients_close() {
    let server = Server::start("embed_fixed", &["--addr", "127.0.0.1:0"]).unwrap();
    let back = exchange(&server.addr, b"hello\nMixed Case 42\n\nno newline".to_vec());
    assert_eq!(back, b"HELLO\nMIXED CASE 42\n\nNO NEWLINE");
    assert_eq!(exchange(&server.addr, Vec::new()), b"");
    stop(server);
}

#[test]
fn embed_fixed_loses_nothing_when_a_client_sends_megabytes_faster_than_it_reads() {
    let server = Server::start("embed_fixed", &["--addr", "127.0.0.1:0"]).unwrap();
    // 2 MiB through 256-byte buffers: the server's output fills again and again, each
    // time leaving the next line in its input.
    let data: Vec<u8> = (0..100_000)
        .flat_map(|i| format!("line {i} of many, mixed Case\n").into_bytes())
        .collect();
    let expected = data.to_ascii_uppercase();
    let mut stream = connect(&server.addr);
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        writer.write_all(&data).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    // Read nothing for a while: the whole path backs up to the sender.
    thread::sleep(Duration::from_millis(300));
    let mut back = Vec::new();
    stream.read_to_end(&mut back).unwrap();
    sender.join().unwrap();
    assert_eq!(back.len(), expected.len());
    assert!(back == expected, "the upper-cased stream differs");
    stop(server);
}

#[test]
fn embed_fixed_serves_more_clients_than_slots_as_slots_free_up() {
    let server = Server::start("embed_fixed", &["--addr", "127.0.0.1:0"]).unwrap();
    // 8 slots; the other clients wait in the listen backlog.
    let clients: Vec<_> = (0..12)
        .map(|i| {
            let addr = server.addr.clone();
            thread::spawn(move || {
                let line = format!("client {i}\n");
                let back = exchange(&addr, line.clone().into_bytes());
                assert_eq!(back, line.to_uppercase().into_bytes(), "client {i}");
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    stop(server);
}

#[test]
fn embed_fixed_answers_an_over_long_line_with_an_error_and_ends_its_side() {
    let server = Server::start("embed_fixed", &["--addr", "127.0.0.1:0"]).unwrap();
    let mut data = b"fine\n".to_vec();
    data.extend(std::iter::repeat_n(b'x', 300));
    data.extend_from_slice(b"\nafter\n");
    let back = exchange(&server.addr, data);
    assert_eq!(back, b"FINE\nERROR line too long\n");
    // The server goes on serving.
    assert_eq!(exchange(&server.addr, b"again\n".to_vec()), b"AGAIN\n");
    stop(server);
}

#[test]
fn embed_fixed_demo_shows_a_full_fixed_output_refusing_a_line_without_losing_it() {
    let out = run_bounded(
        Command::new(example_bin("embed_fixed").unwrap()).arg("--demo"),
        TIMEOUT,
    )
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{text}", out.status);
    assert!(
        text.contains("output (28 of 32 bytes): \"ONE TWO\\nTHREE FOUR\\nFIVE SIX\\n\""),
        "{text}"
    );
    assert!(
        text.contains("refused by the full output, not lost): \"seven eight\\n"),
        "{text}"
    );
    assert!(
        text.contains("the sender keeps the other 3 bytes"),
        "{text}"
    );
    assert!(
        text.contains("sent 63 bytes, received 63: every line upper-cased, in order: true"),
        "{text}"
    );
}

/// Runs scenario `name` of `ws_client.py` against `embed_tokio`; returns its summary.
fn tokio_scenario(server: &Server, name: &str, args: &[&str]) -> String {
    let url = format!("ws://{}/", server.addr);
    let out = run_bounded(
        Command::new(test_python())
            .arg(py_script("ws_client.py"))
            .args([name, &url, "-"])
            .args(args),
        Duration::from_secs(60),
    )
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && stdout.starts_with("ok"),
        "{name}: {}: {}{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn embed_tokio_speaks_websocket_with_python_websockets_and_exits_cleanly_on_sigterm() {
    let server = Server::start("embed_tokio", &["--addr", "127.0.0.1:0"]).unwrap();
    tokio_scenario(&server, "ping", &[]);
    tokio_scenario(&server, "fragments", &[]);
    tokio_scenario(&server, "burst", &[]);
    let summary = tokio_scenario(&server, "close", &["4001", "bye"]);
    assert!(summary.contains("answered with 4001"), "{summary}");
    let head = tokio_scenario(&server, "http", &[]).to_ascii_lowercase();
    assert!(head.contains("http/1.1 426"), "{head}");
    stop(server);
}
