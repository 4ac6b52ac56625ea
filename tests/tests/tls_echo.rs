//! `tls_echo` as a process against independent TLS stacks: Python's `ssl` module and
//! `openssl s_client` (both OpenSSL). Byte-exact echo over TLS 1.2 and 1.3, close_notify both
//! ways, certificates from `--cert`/`--key` files, and a server that survives truncated
//! connections and garbage.
//!
//! Needs `python3` (standard library only) and Debian's `openssl` on the PATH.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use pipebuf_tests::{
    PkiFiles, Server, TempDir, example_bin, make_pki, pattern, read_to_end_on_thread,
    run_bounded_with_input, wait_bounded,
};

/// The longest any child process (client or server start-up) may take.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(30);

/// The TLS client, run as `python3 -c PY_CLIENT MODE ARGS...`. Every socket has a timeout.
///
/// - `echo HOST PORT VERSION CAFILE|-`: sends stdin in 64 KiB steps, reading each step's echo
///   before the next; then `unwrap()` (our close_notify, then waits for the server's) and
///   expects the server's FIN. Prints the negotiated version, a newline, and the echo.
/// - `truncate HOST PORT close|halfclose|midstream`: handshake, one echoed `ping`, then ends
///   the TCP connection without close_notify. `halfclose` then reports how the server ended
///   the connection (`reset`/`eof`) and what TLS saw (`close_notify`/`nothing`/`data`).
const PY_CLIENT: &str = r#"
import socket, ssl, sys

TIMEOUT = 10
CHUNK = 65536

def context(version, ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca == '-':
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.load_verify_locations(ca)
    ctx.minimum_version = getattr(ssl.TLSVersion, version)
    ctx.maximum_version = getattr(ssl.TLSVersion, version)
    return ctx

def connect(host, port):
    return socket.create_connection((host, int(port)), timeout=TIMEOUT)

def echo(host, port, version, ca):
    data = sys.stdin.buffer.read()
    s = context(version, ca).wrap_socket(connect(host, port), server_hostname='localhost')
    negotiated = s.version()
    out = bytearray()
    for off in range(0, len(data), CHUNK):
        s.sendall(data[off:off + CHUNK])
        want = min(off + CHUNK, len(data))
        while len(out) < want:
            got = s.recv(CHUNK)
            if not got:
                sys.exit('server ended the stream after %d of %d bytes' % (len(out), len(data)))
            out += got
    raw = s.unwrap()
    rest = raw.recv(1)
    if rest:
        sys.exit('bytes after the close_notify: %r' % rest)
    raw.close()
    sys.stdout.buffer.write(negotiated.encode() + b'\n' + bytes(out))

class Raw:
    """TLS over memory BIOs: we decide exactly what reaches the socket."""
    def __init__(self, host, port):
        self.sock = connect(host, port)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context('TLSv1_3', '-').wrap_bio(self.inc, self.out, server_hostname='localhost')
        self.call(self.tls.do_handshake)

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def call(self, f, *args):
        while True:
            try:
                result = f(*args)
                self.flush()
                return result
            except ssl.SSLWantReadError:
                self.flush()
                data = self.sock.recv(CHUNK)
                if data:
                    self.inc.write(data)
                else:
                    self.inc.write_eof()

def truncate(host, port, how):
    c = Raw(host, port)
    c.call(c.tls.write, b'ping')
    got = b''
    while len(got) < 4:
        got += c.call(c.tls.read, 4 - len(got))
    if got != b'ping':
        sys.exit('echo before the truncation: %r' % got)
    if how == 'close':
        c.sock.close()
        print('closed')
    elif how == 'halfclose':
        c.sock.shutdown(socket.SHUT_WR)
        try:
            while True:
                data = c.sock.recv(CHUNK)
                if not data:
                    ended = 'eof'
                    break
                c.inc.write(data)
        except ConnectionResetError:
            ended = 'reset'
        try:
            saw = 'data %r' % c.tls.read(CHUNK)
        except ssl.SSLZeroReturnError:
            saw = 'close_notify'
        except ssl.SSLWantReadError:
            saw = 'nothing'
        print(ended, saw)
    elif how == 'midstream':
        # 4 MiB of records, sent until the socket would block, then a close mid-record.
        c.tls.write(bytes(4 << 20))
        data = c.out.read()
        c.sock.setblocking(False)
        sent = 0
        try:
            while sent < len(data):
                sent += c.sock.send(data[sent:sent + CHUNK])
        except BlockingIOError:
            pass
        c.sock.close()
        print('closed after', sent)
    else:
        sys.exit('unknown truncation ' + how)

mode = sys.argv[1]
if mode == 'echo':
    echo(*sys.argv[2:6])
elif mode == 'truncate':
    truncate(*sys.argv[2:5])
else:
    sys.exit('unknown mode ' + mode)
"#;

// ---------------------------------------------------------------------------------------------
// Processes

/// Spawns `cmd`, naming the tool to install when it is missing.
fn spawn(cmd: &mut Command) -> Child {
    cmd.spawn().unwrap_or_else(|e| {
        let program = cmd.get_program().to_string_lossy().into_owned();
        if e.kind() == ErrorKind::NotFound {
            panic!(
                "{program} is not installed: these interop tests need it on the PATH \
                 (Debian: apt-get install {program})"
            );
        }
        panic!("cannot start {program}: {e}");
    })
}

/// Runs `cmd` with `input` on stdin and returns its output; panics if it cannot start or
/// runs longer than `timeout`.
fn run(cmd: &mut Command, input: &[u8], timeout: Duration) -> Output {
    run_bounded_with_input(cmd, Some(input), timeout).unwrap_or_else(|e| panic!("{e}"))
}

fn host_port(addr: &str) -> (&str, &str) {
    addr.rsplit_once(':').expect("HOST:PORT")
}

/// The Python client in `mode` with `args`, fed `input`.
fn python(args: &[&str], input: &[u8]) -> Output {
    run(
        Command::new("python3").arg("-c").arg(PY_CLIENT).args(args),
        input,
        PROCESS_TIMEOUT,
    )
}

/// Echoes `data` through the server at `addr` with Python's ssl, pinned to `version`
/// (`TLSv1_2`, `TLSv1_3`), verifying against `ca` if given. Returns the negotiated version
/// and the echo, or the client's complaint.
fn python_echo(
    addr: &str,
    version: &str,
    ca: Option<&Path>,
    data: &[u8],
) -> Result<(String, Vec<u8>), String> {
    let (host, port) = host_port(addr);
    let ca = ca.map_or("-".into(), |p| p.display().to_string());
    let out = python(&["echo", host, port, version, &ca], data);
    if !out.status.success() {
        return Err(format!(
            "python client failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let newline = out
        .stdout
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no version line")?;
    let negotiated = String::from_utf8_lossy(&out.stdout[..newline]).into_owned();
    Ok((negotiated, out.stdout[newline + 1..].to_vec()))
}

/// A 16 KiB echo that must work: the server is alive and serving.
fn assert_serves(addr: &str, seed: u8) {
    let data = pattern(16 * 1024, seed);
    let (_, back) = python_echo(addr, "TLSv1_3", None, &data).expect("echo");
    assert!(back == data, "echo after seed {seed} differs");
}

// ---------------------------------------------------------------------------------------------
// 1. Python ssl: byte-exact echo and close_notify both ways

#[test]
fn python_ssl_echo_is_byte_exact_with_close_notify_both_ways_on_tls12_and_tls13() {
    let mut server = Server::start("tls_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    for (version, expected) in [("TLSv1_2", "TLSv1.2"), ("TLSv1_3", "TLSv1.3")] {
        for (i, len) in [0, 1, 16 * 1024, 1 << 20].into_iter().enumerate() {
            let data = pattern(len, i as u8);
            // The client's unwrap() fails unless the server answers our close_notify with its
            // own, and it then checks that the server's FIN follows.
            let (negotiated, back) = python_echo(&server.addr, version, None, &data)
                .unwrap_or_else(|e| panic!("{version}, {len} bytes: {e}"));
            assert_eq!(negotiated, expected, "{len} bytes");
            assert_eq!(back.len(), data.len(), "{version}: length for {len} bytes");
            assert!(back == data, "{version}: content for {len} bytes");
        }
    }
    let status = server.stop("TERM", Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn python_ssl_clients_in_parallel_with_several_threads() {
    let mut server =
        Server::start("tls_echo", &["--addr", "127.0.0.1:0", "--threads", "2"]).unwrap();
    let clients: Vec<_> = (0..6u8)
        .map(|i| {
            let addr = server.addr.clone();
            thread::spawn(move || {
                let data = pattern(256 * 1024, 100 + i);
                let version = if i % 2 == 0 { "TLSv1_2" } else { "TLSv1_3" };
                let (_, back) = python_echo(&addr, version, None, &data)
                    .unwrap_or_else(|e| panic!("client {i}: {e}"));
                assert!(back == data, "client {i}: echo differs");
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    let status = server.stop("INT", Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}

// ---------------------------------------------------------------------------------------------
// 2. openssl s_client

/// Lines of text: `s_client` reads its stdin line-wise and must not see command letters.
fn text(lines: usize) -> Vec<u8> {
    (0..lines)
        .map(|i| format!("line {i:05}: the quick brown fox jumps over the lazy dog\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn openssl_s_client_gets_piped_stdin_back_and_exits_at_stdin_eof() {
    let mut server = Server::start("tls_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    for version in ["-tls1_2", "-tls1_3"] {
        let data = text(1000); // about 60 KiB
        let mut child = spawn(
            Command::new("openssl")
                .args([
                    "s_client",
                    "-connect",
                    &server.addr,
                    "-servername",
                    "localhost",
                ])
                // -quiet implies -ign_eof; -no_ign_eof after it restores "EOF on stdin ends
                // the session"; -nocommands keeps lines starting with Q/R/K as data.
                .args(["-quiet", "-no_ign_eof", "-nocommands", version])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        let mut stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let reader = thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let stderr = read_to_end_on_thread(child.stderr.take());
        let mut stdin = child.stdin.take().expect("stdin");
        let input = data.clone();
        // Keep stdin open until the whole echo is back: s_client stops reading the socket as
        // soon as it has sent its close_notify at stdin EOF.
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let writer = thread::spawn(move || {
            let _ = stdin.write_all(&input);
            let _ = done_rx.recv_timeout(PROCESS_TIMEOUT);
            // Dropping stdin here is the EOF.
        });

        let deadline = Instant::now() + Duration::from_secs(20);
        let mut back = Vec::new();
        while back.len() < data.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => back.extend_from_slice(&chunk),
                Err(_) => break,
            }
        }
        let _ = done_tx.send(());
        let status = wait_bounded(&mut child, Duration::from_secs(10));
        let _ = writer.join();
        let _ = reader.join();
        back.extend(rx.try_iter().flatten());
        let stderr = String::from_utf8_lossy(&stderr.join().expect("stderr reader")).into_owned();
        assert_eq!(
            back.len(),
            data.len(),
            "{version}: echoed length; s_client stderr: {stderr}"
        );
        assert!(back == data, "{version}: echoed content");
        let status =
            status.unwrap_or_else(|| panic!("{version}: s_client did not exit at stdin EOF"));
        assert!(status.success(), "{version}: s_client {status}: {stderr}");
    }
    // The server is still fine after both sessions.
    assert_serves(&server.addr, 7);
    let status = server.stop("INT", Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}

// ---------------------------------------------------------------------------------------------
// 3. --cert / --key

#[test]
fn cert_and_key_files_are_served_and_verify_against_their_ca() {
    let dir = TempDir::new("files");
    let PkiFiles { ca, cert, key } = make_pki("pipebuf test CA").write_to(&dir);
    let other_ca = dir.file("other-ca.pem", &make_pki("another CA").ca_pem);

    let mut server = Server::start(
        "tls_echo",
        &[
            "--addr",
            "127.0.0.1:0",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    )
    .unwrap();
    for (version, expected) in [("TLSv1_2", "TLSv1.2"), ("TLSv1_3", "TLSv1.3")] {
        let data = pattern(64 * 1024, 3);
        let (negotiated, back) = python_echo(&server.addr, version, Some(&ca), &data)
            .unwrap_or_else(|e| panic!("{version} with the right CA: {e}"));
        assert_eq!(negotiated, expected);
        assert!(back == data, "{version}: echo differs");
    }
    // The check is real: a client trusting another CA refuses the server.
    let refused = python_echo(&server.addr, "TLSv1_3", Some(&other_ca), b"x").unwrap_err();
    assert!(
        refused.contains("CERTIFICATE_VERIFY_FAILED"),
        "expected a verification failure, got: {refused}"
    );
    assert_serves(&server.addr, 4);
    let status = server.stop("TERM", Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}

/// Starts `tls_echo` with `args`, expecting it to refuse to start; returns its stderr.
fn refused_start(args: &[&str]) -> String {
    let out = run(
        Command::new(example_bin("tls_echo").unwrap())
            .args(["--addr", "127.0.0.1:0"])
            .args(args),
        b"",
        PROCESS_TIMEOUT,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "tls_echo {args:?} should fail; stdout {stdout:?}"
    );
    assert!(
        !stdout.contains("listening on"),
        "tls_echo {args:?} started listening"
    );
    stderr
}

#[test]
fn bad_cert_or_key_files_stop_the_server_with_a_message() {
    let dir = TempDir::new("bad");
    let PkiFiles { cert, key, .. } = make_pki("pipebuf test CA").write_to(&dir);
    let other_key = dir.file("other-key.pem", &make_pki("another CA").key_pem);
    let missing = dir.path("no-such-cert.pem");
    let (cert, key, other_key, missing) = (
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
        other_key.to_str().unwrap(),
        missing.to_str().unwrap(),
    );

    let stderr = refused_start(&["--cert", missing, "--key", key]);
    assert!(stderr.contains(missing), "names the missing cert: {stderr}");
    let stderr = refused_start(&["--cert", cert, "--key", missing]);
    assert!(stderr.contains(missing), "names the missing key: {stderr}");
    let stderr = refused_start(&["--cert", cert]);
    assert!(stderr.contains("--key"), "asks for --key: {stderr}");
    // A key file where the certificate should be, and a key that does not match.
    let stderr = refused_start(&["--cert", key, "--key", key]);
    assert!(stderr.contains("certificate"), "{stderr}");
    let stderr = refused_start(&["--cert", cert, "--key", other_key]);
    assert!(stderr.starts_with("tls_echo: "), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// 4. Truncation and garbage

#[test]
fn truncated_connections_do_not_stop_the_server() {
    let mut server = Server::start("tls_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let (host, port) = host_port(&server.addr);
    for how in ["close", "halfclose", "midstream"] {
        let out = python(&["truncate", host, port, how], b"");
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{how}: {} {said} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        if how == "halfclose" {
            // FIN without close_notify is a truncation: the plaintext side sees an abort, the
            // echo passes it down, and it reaches us as an RST, never as a close_notify.
            assert_eq!(said.trim(), "reset nothing", "answer to a truncation");
        }
        assert_serves(&server.addr, 10);
    }
    let status = server.stop("TERM", Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}

/// How a raw connection ended.
#[derive(Debug, PartialEq)]
enum End {
    Fin,
    Reset,
}

/// Sends `bytes` on a plain TCP connection (then a FIN if `fin`), and collects what comes
/// back until the server ends the connection (at most 10 s).
fn raw_exchange(addr: &str, bytes: &[u8], fin: bool) -> (Vec<u8>, End) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    if fin {
        stream.shutdown(Shutdown::Write).unwrap();
    }
    let mut back = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (back, End::Fin),
            Ok(n) => back.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (back, End::Reset),
            Err(e) => panic!("server neither answered nor ended the connection: {e}; got {back:?}"),
        }
    }
}

#[test]
fn garbage_gets_an_alert_and_the_server_keeps_serving() {
    let mut server = Server::start("tls_echo", &["--addr", "127.0.0.1:0"]).unwrap();
    let huge_record = [&[0x16, 0x03, 0x01, 0xff, 0xff][..], &[0u8; 64]].concat();
    let cases: [(&str, Vec<u8>); 3] = [
        ("an HTTP request", b"GET / HTTP/1.0\r\n\r\n".to_vec()),
        ("binary noise", pattern(4096, 9)),
        ("an oversized record", huge_record),
    ];
    for (what, bytes) in cases {
        let (back, end) = raw_exchange(&server.addr, &bytes, false);
        // A fatal alert record (content type 21), written before the connection ends.
        assert!(
            back.len() >= 7 && back[0] == 0x15 && back[1] == 0x03,
            "{what}: expected an alert, got {back:02x?} then {end:?}"
        );
        assert_eq!(back[5], 2, "{what}: the alert is fatal");
        assert_serves(&server.addr, 20);
    }
    // Connections that end before a whole ClientHello arrived.
    let (back, _) = raw_exchange(&server.addr, b"", true);
    assert!(
        back.is_empty(),
        "empty connection answered with {back:02x?}"
    );
    let (_, _) = raw_exchange(
        &server.addr,
        &[0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00],
        true,
    );
    assert_serves(&server.addr, 21);
    let status = server.stop("TERM", Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}
