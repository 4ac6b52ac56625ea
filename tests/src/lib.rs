//! Helpers for tests that drive the example programs as processes.
//!
//! Also the fuzz bodies ([`fuzz`]) and the text codec of the request/response tests
//! ([`reqresp_text`]).

#![forbid(unsafe_code)]

pub mod fuzz;
mod process;
pub mod reqresp_text;

pub use process::Process;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Path of an example program from the `pipebuf_examples` package, built once per test
/// process with the cargo that runs the tests, in the profile of the running test binary
/// (its directory tells: `cargo test --release` tests release builds of the examples).
pub fn example_bin(name: &str) -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // The test binary lives in target/<profile>/deps/.
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or("test binary has no target directory")?;
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut build = Command::new(cargo);
            // The variables cargo sets for this test process would make build scripts that
            // watch them (ring's) rebuild here and again in the next shell build.
            for (key, _) in std::env::vars_os() {
                let k = key.to_string_lossy();
                if k.starts_with("CARGO_PKG_")
                    || [
                        "CARGO_MANIFEST_DIR",
                        "CARGO_MANIFEST_PATH",
                        "CARGO_MANIFEST_LINKS",
                        "CARGO_CRATE_NAME",
                        "CARGO_PRIMARY_PACKAGE",
                        "CARGO_TARGET_TMPDIR",
                        "OUT_DIR",
                    ]
                    .contains(&&*k)
                {
                    build.env_remove(&key);
                }
            }
            build.args(["build", "--quiet", "-p", "pipebuf_examples", "--bins"]);
            // The directory names the profile: `debug` is the dev (and test) profile,
            // `release` the release (and bench) profile, any other a custom profile.
            match dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") => (),
                Some("release") => {
                    build.arg("--release");
                }
                Some(profile) => {
                    build.args(["--profile", profile]);
                }
                None => return Err(format!("no profile directory in {}", dir.display())),
            }
            let status = build
                .status()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            if status.success() {
                Ok(())
            } else {
                Err(format!("building the examples failed: {status}"))
            }
        })
        .clone()?;
    let path = dir.join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!("example {name} not found at {}", path.display()))
    }
}

/// A server example running as a child process; killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The `HOST:PORT` from its `listening on HOST:PORT` line.
    pub addr: String,
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts example `name` with `args` and waits (at most 30 s) for its one
    /// `listening on HOST:PORT` line on stdout.
    pub fn start(name: &str, args: &[&str]) -> Result<Server, String> {
        Self::start_program(&example_bin(name)?, args)
    }

    /// Like [`start`](Server::start), for any program that prints the listening line.
    pub fn start_program(program: &Path, args: &[&str]) -> Result<Server, String> {
        let name = program.display().to_string();
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                return Err(format!("{name} printed no listening line: {other:?}"));
            }
        };
        let Some(addr) = line.strip_prefix("listening on ") else {
            let _ = child.kill();
            return Err(format!("{name}: unexpected first line {line:?}"));
        };
        Ok(Server {
            addr: addr.trim().to_string(),
            child,
        })
    }

    /// Sends `signal` (e.g. "TERM", "INT") and waits up to `timeout` for the exit.
    pub fn stop(&mut self, signal: &str, timeout: Duration) -> Result<ExitStatus, String> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .map_err(|e| format!("kill: {e}"))?;
        if !sent.success() {
            return Err(format!("kill -{signal} {pid} failed"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                return Err(format!("no exit within {timeout:?} of SIG{signal}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `len` bytes of a pattern that differs with `seed`, so mixed-up streams show.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u8)
                .wrapping_mul(31)
                .wrapping_add(seed ^ (i >> 8) as u8)
        })
        .collect()
}

/// A directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty directory whose name contains `tag`.
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("pipebuf-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    /// The path of `name` in the directory (the file need not exist).
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `contents` to `name` in the directory; returns the path.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA and a leaf certificate for localhost/127.0.0.1 that it signed, all PEM.
#[derive(Debug)]
pub struct Pki {
    /// The CA certificate, for clients to trust.
    pub ca_pem: String,
    /// The leaf certificate.
    pub cert_pem: String,
    /// The leaf's private key.
    pub key_pem: String,
}

/// Where [`Pki::write_to`] put the PEM files.
#[derive(Debug)]
pub struct PkiFiles {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The leaf certificate.
    pub cert: PathBuf,
    /// The leaf's private key.
    pub key: PathBuf,
}

impl Pki {
    /// Writes the three PEMs to `ca.pem`, `cert.pem` and `key.pem` in `dir`.
    pub fn write_to(&self, dir: &TempDir) -> PkiFiles {
        PkiFiles {
            ca: dir.file("ca.pem", &self.ca_pem),
            cert: dir.file("cert.pem", &self.cert_pem),
            key: dir.file("key.pem", &self.key_pem),
        }
    }
}

/// Makes a CA named `ca_name` and a leaf for localhost/127.0.0.1 signed by it.
pub fn make_pki(ca_name: &str) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, ca_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let mut leaf =
        CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).expect("leaf");
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().expect("leaf key");
    let cert = leaf.signed_by(&key, &*ca).expect("leaf certificate");
    Pki {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// Runs `cmd` to its end with stdin closed, collecting stdout and stderr; kills it and
/// returns an error naming `timeout` if it runs longer.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    run_bounded_with_input(cmd, None, timeout)
}

/// [`run_bounded`] with `input` (if any) written to stdin from a thread, then stdin closed:
/// the input's end of stream.
pub fn run_bounded_with_input(
    cmd: &mut Command,
    input: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let stdin = if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    let mut child = cmd
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("cannot start {program}: not found (is it installed and on the PATH?)")
            }
            _ => format!("cannot start {program}: {e}"),
        })?;
    let writer = match (child.stdin.take(), input) {
        (Some(mut pipe), Some(input)) => {
            let input = input.to_vec();
            // Dropping the pipe at the end of the thread is the input's end of stream; a
            // child that exits without reading it all just fails the write.
            Some(std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            }))
        }
        _ => None,
    };
    let stdout = read_to_end_on_thread(child.stdout.take());
    let stderr = read_to_end_on_thread(child.stderr.take());
    let status = wait_bounded(&mut child, timeout);
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    match status {
        Some(status) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
        None => Err(format!(
            "{program} did not finish within {timeout:?}; stdout: {}; stderr: {}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        )),
    }
}

/// Waits for `child` to exit; kills it (and reaps it) and returns `None` after `timeout`.
pub fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Collects everything `pipe` produces until its end, on a thread (nothing for `None`).
pub fn read_to_end_on_thread(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut all);
        }
        all
    })
}

/// The one line on `out`'s stdout, without its line end; panics (showing stdout and stderr)
/// unless there is exactly one.
pub fn stdout_line(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one line expected on stdout: {text:?}; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines[0].to_string()
}

/// The fields of a one-line JSON object whose values are all numbers (the summaries the
/// load tools and clients print, `{"msgs":10,"p50_us":12.5}`), in order. Panics on anything
/// else.
pub fn json_fields(line: &str) -> Vec<(String, f64)> {
    let body = line
        .trim()
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .unwrap_or_else(|| panic!("not a JSON object: {line:?}"));
    body.split(',')
        .map(|pair| {
            let (key, value) = pair
                .split_once(':')
                .unwrap_or_else(|| panic!("no key:value in {pair:?} of {line:?}"));
            let key = key
                .strip_prefix('"')
                .and_then(|k| k.strip_suffix('"'))
                .unwrap_or_else(|| panic!("unquoted key in {pair:?} of {line:?}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("not a number in {pair:?} of {line:?}"));
            (key.to_string(), value)
        })
        .collect()
}

/// The value of `name` in a one-line JSON object of numbers (see [`json_fields`]); panics
/// if it has none.
pub fn json_number(line: &str, name: &str) -> f64 {
    json_fields(line)
        .into_iter()
        .find_map(|(key, value)| (key == name).then_some(value))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

/// Oldest `websockets` release the interop tests run against (its `websockets.asyncio` API).
const MIN_WEBSOCKETS_MAJOR: u32 = 13;

/// The Python interpreter that has the `websockets` package, for the WebSocket interop
/// tests: `$PIPEBUF_TEST_PYTHON` (which `scripts/test.sh` sets to the venv it makes under
/// `target/`), else `py-venv/bin/python` in the target directory if it exists. Panics with
/// what to do when neither has `websockets` ≥ 13: these tests never skip.
pub fn test_python() -> PathBuf {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match FOUND.get_or_init(find_test_python) {
        Ok(python) => python.clone(),
        Err(e) => panic!(
            "{e}\nThe WebSocket interop tests need Python with the `websockets` package \
             (>= {MIN_WEBSOCKETS_MAJOR}). Run ./scripts/test.sh (it makes target/py-venv), or \
             by hand: python3 -m venv target/py-venv && \
             target/py-venv/bin/pip install 'websockets>={MIN_WEBSOCKETS_MAJOR}'; or set \
             PIPEBUF_TEST_PYTHON to an interpreter that has it."
        ),
    }
}

fn find_test_python() -> Result<PathBuf, String> {
    let python = match std::env::var_os("PIPEBUF_TEST_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            // The test binary lives in target/<profile>/deps/.
            let target = exe
                .ancestors()
                .nth(3)
                .ok_or("test binary has no target directory")?;
            let venv = target.join("py-venv/bin/python");
            if !venv.exists() {
                return Err(format!(
                    "PIPEBUF_TEST_PYTHON is not set and {} does not exist.",
                    venv.display()
                ));
            }
            venv
        }
    };
    let out = run_bounded(
        Command::new(&python)
            .arg("-c")
            .arg("import websockets; print(websockets.__version__)"),
        Duration::from_secs(30),
    )
    .map_err(|e| format!("{}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} cannot import websockets: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < MIN_WEBSOCKETS_MAJOR {
        return Err(format!(
            "{} has websockets {version}, older than {MIN_WEBSOCKETS_MAJOR}.",
            python.display()
        ));
    }
    Ok(python)
}

/// Path of a helper script in `tests/py/`.
pub fn py_script(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("py")
        .join(name)
}

/// `tests/py/ws_server.py` (Python's `websockets`, from [`test_python`]) as a process;
/// killed when dropped, so a test that fails half-way leaves none behind.
#[derive(Debug)]
pub struct PyWsServer {
    process: Process,
    /// The loopback port it serves on.
    pub port: u16,
}

impl PyWsServer {
    /// Starts the script with `args` (the mode first: `echo`, `reject`, `corrupt`; see the
    /// script) and waits for its `port N` line. Its stdin stays open: the script stops when
    /// it ends.
    pub fn start(args: &[&str]) -> PyWsServer {
        let process = Process::script("ws_server.py", args, Stdio::piped());
        let line = process.expect_line("port ");
        let port = line["port ".len()..]
            .parse()
            .unwrap_or_else(|e| panic!("ws_server.py: {line:?}: {e}"));
        PyWsServer { process, port }
    }

    /// Its loopback address.
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The next line the script prints that starts with `prefix` (other lines are skipped);
    /// panics after [`Process::TIMEOUT`], showing the script's stderr.
    pub fn expect_line(&self, prefix: &str) -> String {
        self.process.expect_line(prefix)
    }
}

/// The directory tests leave their artefacts in (screenshots and the like), made if needed:
/// `test-output/` in the target directory.
pub fn test_output_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // The test binary lives in target/<profile>/deps/.
    let target = exe
        .ancestors()
        .nth(3)
        .expect("test binary has no target directory");
    let dir = target.join("test-output");
    std::fs::create_dir_all(&dir).expect("test output directory");
    dir
}
