//! `wss_chat`'s origin check over real sockets: a browser lets any page open a WebSocket to
//! any server, so the chat answers `403 Forbidden` to an upgrade request whose `Origin` is
//! not its own page (the host and port of the request's `Host`) or one of `--allow-origin`;
//! its own page, the listed ones and programs without `Origin` get `101` and can chat.
//!
//! The client is written out here: TLS from rustls (any certificate accepted: the server's
//! is self-signed), then the upgrade request with the `Host` and `Origin` a browser would
//! send, and masked frames by hand.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use pipebuf_tests::Server;
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};

/// The longest any read or the server's stop may take.
const TIMEOUT: Duration = Duration::from_secs(20);

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn chat(args: &[&str]) -> Server {
    let mut all = vec!["--addr", "127.0.0.1:0"];
    all.extend(args);
    Server::start("wss_chat", &all).unwrap_or_else(|e| panic!("{e}"))
}

fn stop(mut server: Server) {
    let status = server
        .stop("TERM", TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "wss_chat: {status}");
}

/// Connects to `server` over TLS and asks to open the lobby with `origin` (none: `None`);
/// returns the response's status and the connection.
fn upgrade(server: &Server, origin: Option<&str>) -> (u16, Tls) {
    let config = pipebuf_examples::tls::load_client_config(None).unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let conn = ClientConnection::new(Arc::clone(&config), name).unwrap();
    let sock = TcpStream::connect(&server.addr).unwrap();
    sock.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut tls = StreamOwned::new(conn, sock);
    let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
    let request = format!(
        "GET /chat?room=lobby HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n{origin}\r\n",
        server.addr
    );
    tls.write_all(request.as_bytes()).unwrap();
    // The head, byte by byte: what follows it belongs to the WebSocket.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tls.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!("the response head ended early ({other:?}): {head:?}"),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status: {head}"));
    (status, tls)
}

/// Sends `text` as one masked text frame (under 126 bytes).
fn send_text(tls: &mut Tls, text: &str) {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let len = u8::try_from(text.len()).ok().filter(|&n| n < 126).unwrap();
    let mut frame = vec![0x81, 0x80 | len];
    frame.extend_from_slice(&mask);
    frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    tls.write_all(&frame).unwrap();
}

/// The next frame from the server, which must be an unfragmented text frame under 64 KiB
/// (no compression: this client offers none).
fn next_text(tls: &mut Tls) -> String {
    let mut header = [0u8; 2];
    tls.read_exact(&mut header).unwrap();
    assert_eq!(header[0], 0x81, "not a final text frame: {header:?}");
    let len = match header[1] {
        n @ 0..=125 => usize::from(n),
        126 => {
            let mut ext = [0u8; 2];
            tls.read_exact(&mut ext).unwrap();
            usize::from(u16::from_be_bytes(ext))
        }
        other => panic!("unexpected length byte {other}"),
    };
    let mut payload = vec![0u8; len];
    tls.read_exact(&mut payload).unwrap();
    String::from_utf8(payload).unwrap()
}

/// `origin` gets 101 and can chat: naming itself, it sees its own arrival.
fn opens_and_chats(server: &Server, origin: Option<&str>, name: &str) {
    let (status, mut tls) = upgrade(server, origin);
    assert_eq!(status, 101, "{origin:?}");
    send_text(&mut tls, name);
    let arrival = next_text(&mut tls);
    assert!(
        arrival.starts_with(&format!("* {name} joined lobby (")),
        "{origin:?}: {arrival}"
    );
}

/// `origin` gets 403, and then the end of the connection.
fn refused(server: &Server, origin: &str) {
    let (status, mut tls) = upgrade(server, Some(origin));
    assert_eq!(status, 403, "{origin}");
    let mut rest = Vec::new();
    // The end may come as a clean close or as an error from rustls (no close_notify after
    // the refusal would be a truncation to it); either way nothing more comes.
    let _ = tls.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{origin}: {rest:?}");
}

#[test]
fn a_page_of_another_origin_gets_403_and_the_chats_own_page_gets_in() {
    let server = chat(&[]);
    refused(&server, "https://evil.example");
    refused(&server, "null");
    // Same address, another port: another origin.
    refused(&server, "https://127.0.0.1:1");
    refused(&server, "https://localhost");
    let own = format!("https://{}", server.addr);
    opens_and_chats(&server, Some(&own), "page");
    // Browsers write scheme and host in lower case; the check does not depend on it.
    opens_and_chats(&server, Some(&own.to_uppercase()), "shouty");
    stop(server);
}

#[test]
fn a_program_without_origin_gets_in() {
    let server = chat(&[]);
    opens_and_chats(&server, None, "program");
    stop(server);
}

#[test]
fn allow_origin_lets_the_listed_pages_in_and_no_others() {
    let server = chat(&[
        "--allow-origin",
        "https://app.example, http://localhost:3000",
    ]);
    opens_and_chats(&server, Some("https://app.example"), "app");
    opens_and_chats(&server, Some("https://app.example:443"), "app443");
    opens_and_chats(&server, Some("http://localhost:3000"), "dev");
    refused(&server, "http://app.example");
    refused(&server, "http://localhost:3001");
    refused(&server, "https://evil.example");
    let own = format!("https://{}", server.addr);
    opens_and_chats(&server, Some(&own), "own");
    stop(server);
}
