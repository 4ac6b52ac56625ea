//! `wss_chat` as a process, for what a new user meets before any chat: a browser given
//! `http://` for the HTTPS port gets a plain answer saying to use `https://`, not a broken
//! connection. (The page itself and the chat are checked by `wss_chat_browser`; load and
//! hostile peers by `wss_chat_abuse`.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use pipebuf_tests::Server;

#[test]
fn a_plain_http_request_on_the_https_port_gets_a_400_that_says_to_use_https() {
    let mut server =
        Server::start("wss_chat", &["--addr", "127.0.0.1:0"]).unwrap_or_else(|e| panic!("{e}"));
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "answer: {answer:?}"
    );
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains(&format!("Content-Length: {}", body.len())),
        "answer: {answer:?}"
    );
    assert!(body.contains("https://"), "answer: {answer:?}");
    let status = server
        .stop("TERM", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("wss_chat: {e}"));
    assert!(status.success(), "wss_chat exited with {status}");
}
