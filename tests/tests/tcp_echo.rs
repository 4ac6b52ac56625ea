//! `tcp_echo` as a process: byte-exact echo, close after the peer's close, clean exit.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use pipebuf_tests::{Server, pattern};

/// Sends `data`, half-closes, and returns everything echoed until the server's close.
fn echo(addr: &str, data: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let out = data.to_vec();
    let sender = std::thread::spawn(move || {
        writer.write_all(&out).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    stream.read_to_end(&mut back).unwrap();
    sender.join().unwrap();
    back
}

#[test]
fn tcp_echo_returns_every_byte_then_closes() {
    let mut server = Server::start("tcp_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    for (i, len) in [0, 1, 125, 65_536, 16 << 20].into_iter().enumerate() {
        let data = pattern(len, i as u8);
        let back = echo(&server.addr, &data);
        assert_eq!(back.len(), data.len(), "length for {len} bytes");
        assert!(back == data, "content for {len} bytes");
    }
    let status = server.stop("TERM", Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn tcp_echo_with_several_threads_serves_clients_in_parallel() {
    let mut server =
        Server::start("tcp_echo", &["--addr", "127.0.0.1:0", "--threads", "3"]).unwrap();
    let clients: Vec<_> = (0..12)
        .map(|i| {
            let addr = server.addr.clone();
            std::thread::spawn(move || {
                let data = pattern(256 * 1024, i);
                assert!(echo(&addr, &data) == data);
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
fn tcp_echo_rejects_bad_flags_with_a_message() {
    let out = std::process::Command::new(pipebuf_tests::example_bin("tcp_echo").unwrap())
        .args(["--addr", "not-an-address"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--addr"));
}
