//! `wss_chat`'s rooms and rosters, with `wss_client` processes as members: members of one
//! room see each other's arrivals, lines and departures, each followed by the room's roster
//! (`** here (N): alice, bob`); members of another room see none of it; and the page the
//! server sends says how rooms work and shows the roster.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use pipebuf_tests::{Process, Server, example_bin};

/// The longest the server takes to stop.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A chat member: a `wss_client` in `room`, named by its first line.
struct Member {
    process: Process,
    stdin: Option<ChildStdin>,
}

impl Member {
    /// Joins `room` on `server` as `name`.
    fn join(server: &Server, room: &str, name: &str) -> Member {
        let url = format!("wss://{}/chat?room={room}", server.addr);
        let bin = example_bin("wss_client").unwrap_or_else(|e| panic!("{e}"));
        let mut process = Process::start(
            name,
            Command::new(bin)
                .args([url.as_str(), "--insecure", "--wait", "0"])
                .stdin(Stdio::piped()),
        );
        let stdin = process.take_stdin();
        let mut member = Member { process, stdin };
        member.say(name);
        member
    }

    /// Sends `line`.
    fn say(&mut self, line: &str) {
        let pipe = self.stdin.as_mut().expect("stdin still open");
        pipe.write_all(format!("{line}\n").as_bytes()).unwrap();
        pipe.flush().unwrap();
    }

    /// The next line the member got must be `expected`.
    fn sees(&self, expected: &str) {
        let line = self.process.next_line();
        assert_eq!(
            line.as_deref(),
            Some(expected),
            "stderr: {}",
            self.process.stderr()
        );
    }

    /// Ends its input: it closes and leaves; its exit must be clean.
    fn leave(mut self) {
        drop(self.stdin.take());
        let status = self.process.wait();
        assert!(status.success(), "{status}: {}", self.process.stderr());
    }
}

fn chat() -> Server {
    Server::start("wss_chat", &["--addr", "127.0.0.1:0"]).unwrap_or_else(|e| panic!("{e}"))
}

fn stop(mut server: Server) {
    let status = server
        .stop("TERM", TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "wss_chat: {status}");
}

#[test]
fn members_of_a_room_see_arrivals_lines_and_departures_each_with_the_roster() {
    let server = chat();
    let alice = Member::join(&server, "den", "alice");
    alice.sees("* alice joined den (1 here)");
    alice.sees("** here (1): alice");
    let mut bob = Member::join(&server, "den", "bob");
    for member in [&alice, &bob] {
        member.sees("* bob joined den (2 here)");
        member.sees("** here (2): alice, bob");
    }
    bob.say("hello den");
    alice.sees("bob: hello den");
    bob.sees("bob: hello den");
    bob.leave();
    alice.sees("* bob left");
    alice.sees("** here (1): alice");
    alice.leave();
    stop(server);
}

#[test]
fn a_room_does_not_hear_another_room() {
    let server = chat();
    let alice = Member::join(&server, "den", "alice");
    alice.sees("* alice joined den (1 here)");
    alice.sees("** here (1): alice");
    let mut carol = Member::join(&server, "attic", "carol");
    carol.sees("* carol joined attic (1 here)");
    carol.sees("** here (1): carol");
    carol.say("anyone in the den?");
    carol.sees("carol: anyone in the den?");
    // Alice's next line is the next thing in her own room, not carol's arrival or line.
    let mut dave = Member::join(&server, "den", "dave");
    alice.sees("* dave joined den (2 here)");
    alice.sees("** here (2): alice, dave");
    dave.say("just us");
    alice.sees("dave: just us");
    for member in [alice, carol, dave] {
        member.leave();
    }
    stop(server);
}

#[test]
fn a_name_cannot_pass_for_the_server_or_the_roster_with_a_leading_star() {
    let server = chat();
    let alice = Member::join(&server, "den", "alice");
    alice.sees("* alice joined den (1 here)");
    alice.sees("** here (1): alice");
    let mut mallory = Member::join(&server, "den", "* here (9)");
    alice.sees("* here (9) joined den (2 here)");
    alice.sees("** here (2): alice, here (9)");
    mallory.say("hi");
    alice.sees("here (9): hi");
    for member in [alice, mallory] {
        member.leave();
    }
    stop(server);
}

#[test]
fn the_page_says_how_rooms_work_and_shows_who_is_here() {
    let server = chat();
    let page = https_get(&server.addr, "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    // Rooms: the #name at the end of the address, the lobby without one.
    assert!(
        page.contains("same #name at the end of its address"),
        "{page}"
    );
    assert!(page.contains("lobby"), "{page}");
    assert!(page.contains("onhashchange"), "{page}");
    // The roster goes to its own place in the header.
    assert!(page.contains("id=\"who\""), "{page}");
    assert!(page.contains("e.data.startsWith(\"** here (\")"), "{page}");
    stop(server);
}

/// `GET path` over TLS (any certificate accepted: the server's is self-signed), the whole
/// answer as text.
fn https_get(addr: &str, path: &str) -> String {
    let config = pipebuf_examples::tls::load_client_config(None).unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::clone(&config), name).unwrap();
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    // Until the server closes, or the page is complete (a close without close_notify is
    // an error to rustls, and the page is all we need).
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
        if answer.ends_with(b"</html>\n") {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}
