//! The `log` feature of `pipebuf_mio`, `pipebuf_rustls` and `pipebuf_websocket`, seen from
//! an application: a WSS echo server built from the library, with a logger that keeps every
//! record, serves a well-behaved client (Python `websockets`: a close handshake with code
//! 1000) and one that speaks plain HTTP to the TLS port. The records must tell each
//! connection's start with the peer address, the TLS handshake's outcome, the WebSocket's
//! opening and the close code the peer sent, and each connection's end with its reason.
//!
//! One test in this binary: the logger is global.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use log::{Level, LevelFilter, Log, Metadata, Record};
use pipebuf::Stack;
use pipebuf_mio::{Echo, Endpoint, Server};
use pipebuf_rustls::{Tls, config};
use pipebuf_tests::{Process, make_pki};
use pipebuf_websocket::{WebSocket, WsConfig, accept_all};

/// Every record of the pipebuf crates, as `LEVEL target: message`.
static RECORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Keep;

impl Log for Keep {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("pipebuf")
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {}: {}", record.level(), record.target(), record.args());
            RECORDS.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    }

    fn flush(&self) {}
}

static LOGGER: Keep = Keep;

fn records() -> Vec<String> {
    RECORDS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The one record that contains every part of `parts`, or a failure listing all records.
fn find(all: &[String], parts: &[&str]) -> String {
    all.iter()
        .find(|r| parts.iter().all(|p| r.contains(p)))
        .cloned()
        .unwrap_or_else(|| panic!("no record with {parts:?} in:\n{}", all.join("\n")))
}

#[test]
fn a_wss_server_records_joins_handshakes_close_codes_failures_and_ends_with_the_peer() {
    log::set_logger(&LOGGER).expect("the only logger");
    log::set_max_level(LevelFilter::Debug);

    let pki = make_pki("pipebuf logging test CA");
    let tls = config::server_config(
        pki.cert_pem.as_bytes(),
        pki.key_pem.as_bytes(),
        &Default::default(),
    )
    .expect("server config");
    let server = Server::bind("127.0.0.1:0".parse().expect("an address"))
        .serve(move |_| {
            let ws = WebSocket::server(WsConfig::default(), accept_all());
            Some(Endpoint::new(
                Stack::new(Tls::server(Arc::clone(&tls)).ok()?, ws),
                Echo::default(),
            ))
        })
        .expect("the server runs");
    let addr = server.local_addr();

    // A well-behaved client: messages, then a close handshake it starts with 1000.
    let url = format!("wss://{addr}/");
    let mut client = Process::script("ws_client.py", &["close", &url, "-", "1000"], Stdio::null());
    client.expect_line("ok");
    let status = client.wait();
    assert!(status.success(), "{status}; stderr: {}", client.stderr());

    // A client that speaks plain HTTP to the TLS port: the server answers with an alert.
    let mut http = TcpStream::connect(addr).expect("a connection");
    http.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a timeout");
    let http_port = http.local_addr().expect("an address").port();
    http.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("the request goes out");
    let mut answer = Vec::new();
    let _ = http.read_to_end(&mut answer);
    assert_eq!(
        answer.first(),
        Some(&0x15),
        "a TLS alert record: {answer:?}"
    );

    // The server drains a failed connection until the peer's end of stream: give it.
    drop(http);
    let deadline = Instant::now() + Duration::from_secs(10);
    while records().iter().filter(|r| r.contains(" left: ")).count() < 2 {
        assert!(
            Instant::now() < deadline,
            "no two ends in:\n{}",
            records().join("\n")
        );
        thread::sleep(Duration::from_millis(10));
    }
    server.stop_handle().stop();
    server.wait().expect("the server stops");

    let all = records();
    let debug = Level::Debug.as_str();
    find(&all, &[debug, "pipebuf_mio", "joined: 127.0.0.1:"]);
    find(
        &all,
        &[
            debug,
            "pipebuf_rustls",
            "TLS handshake complete: Some(TLSv1_3)",
        ],
    );
    find(
        &all,
        &[
            debug,
            "pipebuf_websocket",
            "WebSocket open: subprotocol None",
        ],
    );
    find(
        &all,
        &[
            debug,
            "pipebuf_websocket",
            "WebSocket close from the peer: 1000",
        ],
    );
    find(
        &all,
        &[debug, "pipebuf_mio", "from 127.0.0.1:", "left: closed"],
    );
    find(&all, &[debug, "pipebuf_rustls", "TLS failed:"]);
    let failed = find(
        &all,
        &[
            debug,
            "pipebuf_mio",
            &format!("from 127.0.0.1:{http_port} left: chain error"),
        ],
    );
    assert!(
        failed.contains("TLS"),
        "the reason names the layer: {failed}"
    );
    // Graceful shutdown is worth an info record; nothing here is the server's fault, so
    // nothing else is above debug.
    find(
        &all,
        &["INFO pipebuf_mio", "shutting down: 0 connections to finish"],
    );
    let loud: Vec<_> = all
        .iter()
        .filter(|r| !r.starts_with(debug) && !r.contains("shutting down"))
        .collect();
    assert!(loud.is_empty(), "records above debug: {loud:?}");
}
