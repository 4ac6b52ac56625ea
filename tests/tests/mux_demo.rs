//! `mux_demo` as processes: the server answers tagged requests out of order after random
//! delays, the client matches every answer to its request by tag.

use std::process::Command;
use std::time::Duration;

use pipebuf_tests::{Server, example_bin, json_number, run_bounded, stdout_line};

/// Runs the client against `addr` with `args` and returns its JSON line, after checking
/// that it succeeded.
fn client(addr: &str, args: &[&str]) -> String {
    let out = run_bounded(
        Command::new(example_bin("mux_demo").unwrap())
            .args(["--connect", addr])
            .args(args),
        Duration::from_secs(40),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}: {} {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout_line(&out)
}

#[test]
fn mux_demo_client_matches_every_answer_though_the_server_answers_out_of_order() {
    let mut server = Server::start("mux_demo", &["--serve", "--addr", "127.0.0.1:0"]).unwrap();
    let json = client(&server.addr, &["--count", "5000", "--inflight", "100"]);
    assert_eq!(json_number(&json, "requests"), 5000.0, "{json}");
    assert_eq!(json_number(&json, "matched"), 5000.0, "{json}");
    assert_eq!(json_number(&json, "errors"), 0.0, "{json}");
    // With delays of 0-20 ms and 100 in flight, a good share must overtake each other.
    assert!(json_number(&json, "out_of_order") > 500.0, "{json}");
    let status = server.stop("TERM", Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn several_mux_demo_clients_share_one_server_without_mixing_their_answers() {
    let mut server = Server::start(
        "mux_demo",
        &["--serve", "--addr", "127.0.0.1:0", "--max-delay-ms", "5"],
    )
    .unwrap();
    let clients: Vec<_> = (1..=4)
        .map(|seed| {
            let addr = server.addr.clone();
            std::thread::spawn(move || {
                let seed = seed.to_string();
                client(
                    &addr,
                    &["--count", "2000", "--inflight", "50", "--seed", &seed],
                )
            })
        })
        .collect();
    for handle in clients {
        let json = handle.join().unwrap();
        assert_eq!(json_number(&json, "matched"), 2000.0, "{json}");
        assert_eq!(json_number(&json, "errors"), 0.0, "{json}");
    }
    let status = server.stop("INT", Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn a_pipelined_exchange_with_one_in_flight_is_never_out_of_order() {
    let server = Server::start("mux_demo", &["--serve", "--addr", "127.0.0.1:0"]).unwrap();
    let json = client(&server.addr, &["--count", "50", "--inflight", "1"]);
    assert_eq!(json_number(&json, "matched"), 50.0, "{json}");
    assert_eq!(json_number(&json, "out_of_order"), 0.0, "{json}");
}

#[test]
fn mux_demo_without_a_mode_fails_with_a_message() {
    let out = run_bounded(
        &mut Command::new(example_bin("mux_demo").unwrap()),
        Duration::from_secs(30),
    )
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--serve"));
}
