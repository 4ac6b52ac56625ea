//! `redis_pipeline` against a real `redis-server` (Debian's package; `scripts/test.sh`
//! installs it): 100,000 SET and 100,000 GET pipelined on one connection, every reply checked.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pipebuf_tests::{TempDir, example_bin, json_number, run_bounded, stdout_line};

/// A `redis-server` child process on a loopback port; killed when dropped, on every path.
struct Redis {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Redis {
    /// Starts `redis-server` without persistence on a free loopback port and waits (at most
    /// 20 s) until it accepts connections.
    fn start() -> Redis {
        let program = which_redis_server();
        let dir = TempDir::new("redis");
        // redis-server cannot pick its own port (`--port 0` turns TCP off): take a free one
        // from the kernel and hand it over. Another process could grab it in between; the
        // wait below would then fail with a clear message.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&program)
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path(""))
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let mut redis = Redis {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return redis;
            }
            if let Some(status) = redis.child.try_wait().unwrap() {
                panic!("redis-server exited before accepting connections on port {port}: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "redis-server does not accept connections on port {port} after 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `redis-server` from `PATH` (Debian puts it in /usr/bin); fails the test with what to do
/// when it is missing (never skips).
fn which_redis_server() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "redis-server is missing: the redis_pipeline test needs a real Redis server. \
                 Install Debian's package (sudo apt-get install redis-server) or run \
                 ./scripts/test.sh, which installs it."
            )
        })
}

#[test]
fn redis_pipeline_checks_every_reply_of_200000_pipelined_commands_from_a_real_redis() {
    let redis = Redis::start();
    let out = run_bounded(
        Command::new(example_bin("redis_pipeline").unwrap()).args([
            "--addr",
            &redis.addr(),
            "--count",
            "100000",
        ]),
        Duration::from_secs(45),
    )
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stdout} {stderr}", out.status);
    let line = &stdout_line(&out);
    assert_eq!(json_number(line, "commands"), 200_000.0, "{line}");
    assert_eq!(json_number(line, "errors"), 0.0, "{line}");
    assert!(json_number(line, "commands_per_sec") > 0.0, "{line}");
}

#[test]
fn redis_pipeline_fails_with_a_message_when_nothing_listens() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run_bounded(
        Command::new(example_bin("redis_pipeline").unwrap()).args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--count",
            "10",
        ]),
        Duration::from_secs(30),
    )
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("redis_pipeline:"), "{stderr}");
}
