//! `http_page` as a process: `wss_chat`'s page over plain HTTP/1.1, pipelined requests
//! answered in order on one kept-alive connection, and a clean exit on SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use pipebuf_tests::Server;

/// The page the server must send, byte for byte.
const PAGE: &[u8] = include_bytes!("../../examples/src/bin/wss_chat.html");

/// One response: the head as text, and the body.
struct Answer {
    head: String,
    body: Vec<u8>,
}

/// Reads `count` responses (each framed by its `Content-Length`; none for a `HEAD`
/// request's, as `bodiless` says per response) from `stream`.
fn read_answers(stream: &mut TcpStream, bodiless: &[bool]) -> Vec<Answer> {
    let mut input = Vec::new();
    let mut answers = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while answers.len() < bodiless.len() {
        let Some(end) = input.windows(4).position(|w| w == b"\r\n\r\n") else {
            let n = stream.read(&mut buf).expect("read");
            assert!(n > 0, "the server closed after {} answers", answers.len());
            input.extend_from_slice(&buf[..n]);
            continue;
        };
        let head = String::from_utf8(input[..end + 4].to_vec()).expect("a text head");
        let length: usize = if bodiless[answers.len()] {
            0
        } else {
            head.lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().expect("a length"))
                })
                .expect("a Content-Length")
        };
        while input.len() < end + 4 + length {
            let n = stream.read(&mut buf).expect("read");
            assert!(n > 0, "the server closed inside a body");
            input.extend_from_slice(&buf[..n]);
        }
        let body = input[end + 4..end + 4 + length].to_vec();
        input.drain(..end + 4 + length);
        answers.push(Answer { head, body });
    }
    assert!(input.is_empty(), "more than asked for: {input:?}");
    answers
}

#[test]
fn pipelined_requests_on_one_connection_get_the_page_in_order() {
    let mut server = Server::start("http_page", &["--addr", "127.0.0.1:0"]).unwrap();
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // Two GETs in one write, then a HEAD, a miss and a last GET in another.
    let get = format!("GET / HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    stream.write_all(format!("{get}{get}").as_bytes()).unwrap();
    let first = read_answers(&mut stream, &[false, false]);
    let more =
        format!("HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /missing HTTP/1.1\r\nHost: a\r\n\r\n{get}");
    stream.write_all(more.as_bytes()).unwrap();
    let second = read_answers(&mut stream, &[true, false, false]);

    for answer in first.iter().chain([&second[2]]) {
        assert!(
            answer.head.starts_with("HTTP/1.1 200 OK\r\n"),
            "{}",
            answer.head
        );
        assert!(
            answer
                .head
                .contains("Content-Type: text/html; charset=utf-8\r\n"),
            "{}",
            answer.head
        );
        assert!(
            !answer.head.contains("Connection: close"),
            "{}",
            answer.head
        );
        assert!(answer.body == PAGE, "the page's bytes");
    }
    let head = &second[0];
    assert!(
        head.head.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        head.head
    );
    assert!(
        head.head
            .contains(&format!("Content-Length: {}\r\n", PAGE.len())),
        "{}",
        head.head
    );
    assert!(
        second[1].head.starts_with("HTTP/1.1 404 "),
        "{}",
        second[1].head
    );

    let status = server.stop("TERM", Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}
