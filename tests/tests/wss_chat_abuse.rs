//! `wss_chat` under abuse, driven by `tests/py/chat_abuse.py` (Python's `websockets`): 199
//! well-behaved members and one flooder that never reads share a room, while one connection
//! stalls halfway through its TLS ClientHello and another halfway through its HTTP upgrade.
//! Every member must get every other member's lines (and its own), each sender's in order,
//! none may be disconnected, the flooder must be, and afterwards a newcomer still chats with
//! everyone. Two floods: long lines (200 members), and one-byte lines under a long name, each
//! copied to every member at about six times its size (50 members).
//!
//! Needs Python with `websockets` like the interop tests (see
//! [`pipebuf_tests::test_python`]).

use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use pipebuf_tests::{Server, py_script, run_bounded, test_python};

/// Lines each well-behaved member sends.
const MESSAGES: &str = "3";
/// The longest one abuse run may take (the script's own limit is 100 s).
const RUN_TIMEOUT: Duration = Duration::from_secs(150);

/// One run at a time: two rooms of 200 at once on a small machine measure the machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Starts `wss_chat`, runs the abuse script with `clients` members (the flooder included) and
/// `flood` against it, checks that the flooder was disconnected and that the server still
/// exits cleanly; returns the script's summary.
fn abuse(clients: &str, flood: &str) -> String {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut server =
        Server::start("wss_chat", &["--addr", "127.0.0.1:0"]).unwrap_or_else(|e| panic!("{e}"));
    let out = run_bounded(
        Command::new(test_python())
            .arg(py_script("chat_abuse.py"))
            .args([&server.addr, clients, MESSAGES, flood]),
        RUN_TIMEOUT,
    )
    .unwrap_or_else(|e| panic!("chat_abuse.py {flood}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && stdout.starts_with("ok"),
        "abuse with the {flood} flood failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim(),
        stdout
    );
    assert!(
        stdout.contains("flooder aborted"),
        "the flooder was not disconnected: {stdout}"
    );
    println!("{stdout}");
    let status = server
        .stop("TERM", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("wss_chat: {e}"));
    assert!(status.success(), "wss_chat exited with {status}");
    stdout
}

#[test]
fn two_hundred_members_get_every_line_in_order_while_one_floods_without_reading_and_two_handshakes_stall()
 {
    abuse("200", "long");
}

#[test]
fn a_flood_of_one_byte_lines_under_a_long_name_gets_the_flooder_disconnected_not_the_other_members()
{
    // Fewer members than above: each gets some 2000 flood lines before the flooder is cut off,
    // and the Python peers' time grows with members times lines. One turn of the server
    // reading the flood used to be enough to disconnect every member, whatever their number.
    abuse("50", "short");
}
