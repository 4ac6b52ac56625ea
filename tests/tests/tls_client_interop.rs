//! Our TLS client component (`pipebuf_rustls::Tls::client`) against `openssl s_server`, driven
//! over a blocking `TcpStream`: verified handshake on TLS 1.2 and 1.3, requests and their
//! replies, close_notify both ways (we close first, or the server does), and a typed error
//! plus an alert for a certificate we must not trust.
//!
//! Needs Debian's `openssl` on the PATH.

use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pipebuf::{EofKind, PipeBufPair, ReadStatus, WriteStatus};
use pipebuf_rustls::{Tls, TlsError, config};
use pipebuf_tests::TempDir;
use rustls::ProtocolVersion;

/// The longest any phase (start-up, a reply, a close, an exit) may take.
const TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Certificates in a temporary directory

/// A CA (PEM) and a leaf for localhost/127.0.0.1 it signed, the leaf written as files.
struct Pki {
    _dir: TempDir,
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
}

fn make_pki(tag: &str) -> Pki {
    let pem = pipebuf_tests::make_pki(&format!("pipebuf test CA {tag}"));
    let dir = TempDir::new(tag);
    Pki {
        cert: dir.file("cert.pem", &pem.cert_pem),
        key: dir.file("key.pem", &pem.key_pem),
        ca_pem: pem.ca_pem,
        _dir: dir,
    }
}

// ---------------------------------------------------------------------------------------------
// openssl s_server

/// `openssl s_server -rev -naccept 1`: answers each line with the line reversed, closes the
/// session (close_notify) on our close_notify or on a line `CLOSE`, then exits. Killed when
/// dropped.
struct SServer {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Copies stderr into `stderr`; joined once s_server has exited, so nothing is missed.
    stderr_reader: Option<JoinHandle<()>>,
}

impl SServer {
    fn start(pki: &Pki, extra: &[&str]) -> SServer {
        // `-accept 127.0.0.1:0` makes OpenSSL 3 print the port it got ("ACCEPT 127.0.0.1:N").
        // Older versions print a bare "ACCEPT": then pick a free port and retry if it is taken.
        let mut last = String::new();
        for attempt in 0..5 {
            let port = if attempt == 0 {
                0
            } else {
                std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .expect("free port")
                    .port()
            };
            match Self::try_start(pki, extra, port) {
                Ok(server) => return server,
                Err(e) => last = e,
            }
        }
        panic!("openssl s_server did not start: {last}");
    }

    fn try_start(pki: &Pki, extra: &[&str], port: u16) -> Result<SServer, String> {
        let accept = format!("127.0.0.1:{port}");
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", &accept, "-rev", "-naccept", "1"])
            .arg("-cert")
            .arg(&pki.cert)
            .arg("-key")
            .arg(&pki.key)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                if e.kind() == ErrorKind::NotFound {
                    panic!(
                        "openssl is not installed: these interop tests need it on the PATH \
                         (Debian: apt-get install openssl)"
                    );
                }
                panic!("cannot start openssl: {e}");
            });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr);
        let stderr_reader = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                // Only the ACCEPT line matters; keep draining so s_server never blocks.
                if line.starts_with("ACCEPT") {
                    let _ = tx.send(line);
                }
            }
        });
        let mut server = SServer {
            child,
            addr: String::new(),
            stderr,
            stderr_reader: Some(stderr_reader),
        };
        let line = rx.recv_timeout(TIMEOUT).map_err(|_| {
            format!(
                "no ACCEPT line within {TIMEOUT:?}; stderr: {}",
                server.stderr()
            )
        })?;
        server.addr = match line.trim().strip_prefix("ACCEPT") {
            Some(rest) if rest.trim().rsplit_once(':').is_some_and(|(_, p)| p != "0") => {
                rest.trim().to_string()
            }
            _ if port != 0 => accept,
            _ => return Err(format!("{line:?} does not say the port")),
        };
        Ok(server)
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Waits for s_server to exit on its own (it serves one connection).
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                if let Some(reader) = self.stderr_reader.take() {
                    let _ = reader.join();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "s_server did not exit within {TIMEOUT:?}; stderr: {}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The client: Tls between a blocking socket and a plaintext pair

/// What one [`Client::step`] saw go wrong.
#[derive(Debug)]
struct Failure {
    error: TlsError,
    /// What the failing `process()` call left to send: the alert.
    alert: Vec<u8>,
}

struct Client {
    stream: TcpStream,
    tls: Tls,
    /// Encrypted bytes: `up` from the socket, `down` to it.
    crypt: PipeBufPair,
    /// Plaintext: `up` for us to read, `down` what we send.
    plain: PipeBufPair,
    /// The socket refused a write (the peer is gone); later output is dropped.
    write_failed: Option<std::io::Error>,
}

impl Client {
    fn connect(addr: &str, ca_pem: &str, name: &'static str) -> Client {
        let config = config::client_config(ca_pem.as_bytes(), &Default::default()).unwrap();
        let stream = TcpStream::connect(addr).unwrap();
        // Short, so one step never waits long; the callers bound the total.
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        Client {
            stream,
            tls: Tls::client(config, name.try_into().unwrap()).unwrap(),
            crypt: PipeBufPair::new(),
            plain: PipeBufPair::new(),
            write_failed: None,
        }
    }

    /// Runs `process` until it settles, writing what it produces; then one read (at most
    /// 20 ms) from the socket.
    fn step(&mut self) -> Result<(), Failure> {
        for _ in 0..1000 {
            let active = match self.tls.process(self.crypt.upper(), self.plain.lower()) {
                Ok(active) => active,
                Err(error) => {
                    let alert = self.crypt.down.data().to_vec();
                    self.flush();
                    return Err(Failure { error, alert });
                }
            };
            let flushed = self.flush();
            if !active && !flushed {
                break;
            }
        }
        let mut net = self.crypt.lower();
        if !net.wr.is_eof() {
            match net.wr.read_from(&mut self.stream, 64 * 1024) {
                Ok(ReadStatus::EndOfStream) => net.wr.close(),
                Ok(_) => (),
                Err(e) if e.kind() == ErrorKind::TimedOut => (),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => net.wr.abort(),
                Err(e) => panic!("socket read: {e}"),
            }
        }
        Ok(())
    }

    /// Writes out what TLS produced and passes its end of stream on to the socket; returns
    /// whether anything happened.
    fn flush(&mut self) -> bool {
        let mut net = self.crypt.lower();
        let mut any = false;
        while !net.rd.is_empty() {
            if self.write_failed.is_some() {
                net.rd.consume_all();
                break;
            }
            match net.rd.write_to(&mut self.stream) {
                Ok(WriteStatus::Wrote(_)) => any = true,
                Ok(_) => break,
                Err(e) => self.write_failed = Some(e),
            }
        }
        any |= net.rd.consume_push();
        if let Some(kind) = net.rd.consume_eof() {
            any = true;
            let how = match kind {
                EofKind::Close => Shutdown::Write,
                EofKind::Abort => Shutdown::Both,
            };
            let _ = self.stream.shutdown(how);
        }
        any
    }

    /// Steps until `done` holds for the plaintext coming up, at most [`TIMEOUT`].
    fn run_until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&pipebuf::PipeBuf) -> bool,
    ) -> Result<(), Failure> {
        let deadline = Instant::now() + TIMEOUT;
        while !done(&self.plain.up) {
            assert!(
                Instant::now() < deadline,
                "no {what} within {TIMEOUT:?}; received {:?} ({:?})",
                String::from_utf8_lossy(self.plain.up.data()),
                self.plain.up.state()
            );
            self.step()?;
        }
        Ok(())
    }

    fn send(&mut self, data: &[u8]) {
        let mut app = self.plain.upper();
        app.wr.append(data).unwrap();
        app.wr.push();
    }

    /// Takes the plaintext received so far.
    fn take(&mut self) -> Vec<u8> {
        let mut app = self.plain.upper();
        let data = app.rd.data().to_vec();
        app.rd.consume_all();
        app.rd.consume_push();
        data
    }

    /// Waits for the end of the plaintext stream and consumes it.
    fn end_of_stream(&mut self) -> EofKind {
        self.run_until("end of stream", |up| up.state().eof_kind().is_some())
            .unwrap_or_else(|f| panic!("TLS error before the end of stream: {f:?}"));
        let data = self.take();
        assert!(data.is_empty(), "unexpected data before the end: {data:?}");
        self.plain.upper().rd.consume_eof().expect("end of stream")
    }
}

/// Lines of text for `-rev`, and what it answers.
fn lines(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut request = String::new();
    let mut reply = String::new();
    for i in 0..n {
        let line = format!("line {i:04}: pipebuf over rustls to openssl");
        reply.extend(line.chars().rev());
        reply.push('\n');
        request.push_str(&line);
        request.push('\n');
    }
    (request.into_bytes(), reply.into_bytes())
}

fn version_flag(version: ProtocolVersion) -> &'static str {
    if version == ProtocolVersion::TLSv1_2 {
        "-tls1_2"
    } else {
        "-tls1_3"
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn client_gets_replies_and_closes_first_with_close_notify_both_ways() {
    for version in [ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_3] {
        let pki = make_pki("close-first");
        let mut server = SServer::start(&pki, &[version_flag(version)]);
        let mut client = Client::connect(&server.addr, &pki.ca_pem, "localhost");

        // 400 lines, about 20 KiB: more than one record each way.
        let (request, reply) = lines(400);
        client.send(&request);
        client
            .run_until("reply", |up| up.len() >= reply.len())
            .unwrap_or_else(|f| panic!("{version:?}: {f:?}"));
        assert_eq!(client.tls.protocol_version(), Some(version));
        assert!(!client.tls.is_handshaking());
        let got = client.take();
        assert!(
            got == reply,
            "{version:?}: reply {:?}",
            String::from_utf8_lossy(&got)
        );

        // Our close_notify; s_server answers with its own before closing.
        client.plain.upper().wr.close();
        assert_eq!(
            client.end_of_stream(),
            EofKind::Close,
            "{version:?}: the server's close_notify; stderr: {}",
            server.stderr()
        );
        assert!(client.crypt.lower().rd.is_done(), "our close went out");
        assert!(client.write_failed.is_none(), "{:?}", client.write_failed);
        let status = server.wait();
        assert!(status.success(), "{version:?}: s_server {status}");
    }
}

#[test]
fn server_closing_first_is_a_clean_close_and_we_answer() {
    for version in [ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_3] {
        let pki = make_pki("server-first");
        let mut server = SServer::start(&pki, &[version_flag(version)]);
        let mut client = Client::connect(&server.addr, &pki.ca_pem, "localhost");
        // A line "CLOSE" makes s_server send its close_notify and close the socket.
        client.send(b"abc\nCLOSE\n");
        client
            .run_until("reply", |up| up.len() >= 4)
            .unwrap_or_else(|f| panic!("{version:?}: {f:?}"));
        assert_eq!(client.take(), b"cba\n");
        assert_eq!(
            client.end_of_stream(),
            EofKind::Close,
            "{version:?}: close_notify then FIN is a clean close"
        );
        // Our close_notify in answer (the socket may already be gone: no error either way).
        client.plain.upper().wr.close();
        for _ in 0..10 {
            client
                .step()
                .unwrap_or_else(|f| panic!("{version:?}: {f:?}"));
        }
        assert!(client.plain.lower().rd.is_done(), "our close was taken");
        let status = server.wait();
        assert!(status.success(), "{version:?}: s_server {status}");
    }
}

#[test]
fn an_untrusted_or_misnamed_server_is_a_typed_error_with_an_alert() {
    let pki = make_pki("server");
    let stranger = make_pki("stranger");
    // (trusted CA, name to check, what the server should hear)
    let cases: [(&str, &'static str); 2] = [
        (&stranger.ca_pem, "localhost"), // unknown issuer
        (&pki.ca_pem, "example.com"),    // name not in the certificate
    ];
    for version in [ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_3] {
        for (ca, name) in cases {
            let mut server = SServer::start(&pki, &[version_flag(version)]);
            let mut client = Client::connect(&server.addr, ca, name);
            client.send(b"never sent\n");
            let failure = client
                .run_until("handshake failure", |_| false)
                .expect_err("the handshake must fail");
            assert!(
                matches!(failure.error, TlsError::BadCertificate(_)),
                "{version:?} {name}: {:?}",
                failure.error
            );
            // The alert was written by the failing call. TLS 1.2 sends it in the clear
            // (level 2 = fatal); TLS 1.3 encrypts it under the handshake keys.
            assert!(!failure.alert.is_empty(), "{version:?} {name}: no alert");
            if version == ProtocolVersion::TLSv1_2 {
                assert_eq!(
                    &failure.alert[..6],
                    &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02],
                    "{version:?} {name}: alert record"
                );
            }
            assert!(
                client.plain.up.state().eof_kind() == Some(EofKind::Abort),
                "the plaintext side is aborted"
            );
            // After the error: no panic, no hang, and the encrypted side ends.
            for _ in 0..5 {
                client.step().expect("later calls only drain");
            }
            assert!(client.crypt.lower().rd.is_done(), "encrypted side ended");
            let _ = server.wait();
            let stderr = server.stderr();
            assert!(
                stderr.contains("alert"),
                "{version:?} {name}: s_server heard no alert: {stderr}"
            );
        }
    }
}
