//! `line_doubler` as a process: many pipelined requests on one connection and on many, bad
//! lines answered with error lines, the half-close, a clean exit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use pipebuf_tests::Server;

/// Connects with a read timeout so that no read waits forever.
fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Writes all of `requests` at once from a writer thread (then half-closes), while this
/// thread reads the answers up to the server's end of stream; returns the answer lines. Fails
/// the test if the end of stream does not come within the read timeout.
fn exchange(addr: &str, requests: Vec<u8>) -> Vec<String> {
    let stream = connect(addr);
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        writer.write_all(&requests).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut all = String::new();
    BufReader::new(stream).read_to_string(&mut all).unwrap();
    sender.join().unwrap();
    all.lines().map(str::to_string).collect()
}

/// `count` request lines starting at `first`, alternating in sign.
fn numbers(first: i64, count: i64) -> Vec<i64> {
    (first..first + count)
        .map(|i| if i % 2 == 0 { i * 7919 } else { -i })
        .collect()
}

fn request_bytes(numbers: &[i64]) -> Vec<u8> {
    numbers
        .iter()
        .map(|n| format!("{n}\n"))
        .collect::<String>()
        .into_bytes()
}

fn check_doubled(numbers: &[i64], answers: &[String]) {
    assert_eq!(answers.len(), numbers.len(), "one answer per request");
    for (i, (n, answer)) in numbers.iter().zip(answers).enumerate() {
        assert_eq!(*answer, (n * 2).to_string(), "answer {i}, to {n}");
    }
}

#[test]
fn line_doubler_answers_10000_pipelined_requests_on_one_connection_in_order() {
    let mut server = Server::start("line_doubler", &["--addr", "127.0.0.1:0"]).unwrap();
    let stream = connect(&server.addr);
    let mut writer = stream.try_clone().unwrap();
    let sent = numbers(0, 10_000);
    let bytes = request_bytes(&sent);
    // Every request goes out before any answer is read.
    let sender = std::thread::spawn(move || writer.write_all(&bytes).unwrap());
    let mut reader = BufReader::new(stream);
    for (i, n) in sent.iter().enumerate() {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, format!("{}\n", n * 2), "answer {i}");
    }
    sender.join().unwrap();
    // Gone before the shutdown, which otherwise waits (up to 5 s) for its close.
    drop(reader);
    let status = server.stop("TERM", Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn fifty_connections_of_1000_pipelined_requests_each_are_answered_concurrently() {
    let mut server = Server::start("line_doubler", &["--addr", "127.0.0.1:0"]).unwrap();
    let clients: Vec<_> = (0..50)
        .map(|c| {
            let addr = server.addr.clone();
            std::thread::spawn(move || {
                let sent = numbers(c * 1000, 1000);
                let answers = exchange(&addr, request_bytes(&sent));
                check_doubled(&sent, &answers);
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    let status = server.stop("INT", Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn bad_lines_interleaved_with_good_ones_get_error_lines_and_the_connection_goes_on() {
    let server = Server::start("line_doubler", &["--addr", "127.0.0.1:0"]).unwrap();
    let long = "9".repeat(100_000);
    let mut requests =
        format!("21\nabc\n-4\n\n{long}\n5\n9223372036854775807\n99999999999999999999\n")
            .into_bytes();
    // Not UTF-8.
    requests.extend_from_slice(b"\xff\n 8\r\n1.5\n6\n");
    let answers = exchange(&server.addr, requests);
    assert_eq!(
        answers,
        [
            "42",
            "ERR not an integer",
            "-8",
            "ERR not an integer",
            "ERR line too long",
            "10",
            "ERR out of range",
            "ERR out of range",
            "ERR not an integer",
            "16",
            "ERR not an integer",
            "12",
        ]
    );
}

#[test]
fn a_client_half_close_gets_every_answer_then_the_end_of_stream() {
    let server = Server::start("line_doubler", &["--addr", "127.0.0.1:0"]).unwrap();
    let mut stream = connect(&server.addr);
    let sent = numbers(1, 300);
    stream.write_all(&request_bytes(&sent)).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    // read_to_string returns only at the server's end of stream.
    let mut all = String::new();
    stream.read_to_string(&mut all).unwrap();
    let answers: Vec<String> = all.lines().map(str::to_string).collect();
    check_doubled(&sent, &answers);
    assert!(all.ends_with('\n'));
}
