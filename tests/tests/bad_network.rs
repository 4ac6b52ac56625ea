//! WSS echo across a bad network (issue 14): `wss_echo` runs in one network namespace, the
//! `load` client in another, and every packet between them is delayed (20 ms ± 10 ms,
//! normally distributed), lost (1 %) and reordered (5 % sent at once, 50 % correlated).
//! 100 connections each send 1,000 binary messages of 16 B to 16 KiB (log-uniform), eight in
//! flight; `load --messages` checks every echo byte for byte and in order (each message is a
//! distinct slice of a pattern, of its own length) and closes with the close handshake.
//!
//! The test makes two namespaces of its own (named with its pid), links them and removes
//! them again when it ends, even on a panic. The link is a veth pair with `tc netem` on both
//! ends where the kernel has netem; where it does not (this project's machines: no
//! `CONFIG_NET_SCH_NETEM`), it is a pair of TUN devices, one in each namespace, whose packets
//! a small Python program in the test's own namespace forwards with the same delay, jitter,
//! loss and reordering (`PIPEBUF_BAD_NETWORK=userspace` picks it where netem exists too).
//! The addresses are 10.x.y.1 and 10.x.y.2, inside those namespaces only; no traffic leaves
//! them. Where the kernel refuses namespaces (no root, no `ip`), the test says so on stderr
//! and passes without running.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use pipebuf_tests::{Server, example_bin, json_fields, run_bounded, stdout_line};

const CONNECTIONS: u64 = 100;
const MESSAGES: u64 = 1_000;
/// The netem settings, and the same for the userspace forwarder.
const DELAY_MS: u32 = 20;
const JITTER_MS: u32 = 10;
const LOSS_PCT: u32 = 1;
const REORDER_PCT: u32 = 5;
const REORDER_CORR_PCT: u32 = 50;
/// `load`'s own limit for the whole run (it counts connections short of their messages by
/// then as errors), and the test's limit for the `load` process.
const LOAD_LIMIT_SECS: u32 = 75;
const PROCESS_TIMEOUT: Duration = Duration::from_secs(100);

/// Forwards IP packets between two TUN devices with delay, jitter, loss and reordering.
/// Arguments: the two device names, delay and jitter (ms), loss, reorder and its correlation
/// (%), a seed. Creates both devices, prints `ready`, forwards until its stdin ends (or a
/// device disappears), then prints `forwarded N dropped N early N`.
const FORWARDER: &str = r#"
import fcntl, heapq, os, random, select, struct, sys, time
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd
a_name, b_name = sys.argv[1], sys.argv[2]
delay, jitter = float(sys.argv[3]) / 1000, float(sys.argv[4]) / 1000
loss, reorder, corr = (float(v) / 100 for v in sys.argv[5:8])
rng = random.Random(int(sys.argv[8]))
a, b = tun(a_name), tun(b_name)
peer = {a: b, b: a}
print("ready", flush=True)
stdin = sys.stdin.fileno()
queue, n, fwd, dropped, early, last, gone = [], 0, 0, 0, 0, False, False
while not gone:
    now = time.monotonic()
    while queue and queue[0][0] <= now:
        _, _, fd, pkt = heapq.heappop(queue)
        try:
            os.write(fd, pkt)
            fwd += 1
        except OSError:
            pass  # the device is down: a loss like any other
    timeout = max(0.0, queue[0][0] - now) if queue else 0.5
    ready, _, _ = select.select([a, b, stdin], [], [], timeout)
    if stdin in ready:
        break
    for fd in ready:
        for _ in range(256):
            try:
                pkt = os.read(fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                gone = True
                break
            if rng.random() < loss:
                dropped += 1
                continue
            # Correlated: with probability corr the last packet's choice again.
            if rng.random() >= corr:
                last = rng.random() < reorder
            if last:
                wait = 0.0
                early += 1
            else:
                wait = max(0.0, rng.gauss(delay, jitter))
            n += 1
            heapq.heappush(queue, (time.monotonic() + wait, n, peer[fd], pkt))
print(f"forwarded {fwd} dropped {dropped} early {early}", flush=True)
"#;

/// Runs `ip ARGS`; the error is its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Network namespaces that this test made; deleted (with all their devices) when dropped.
struct Namespaces(Vec<String>);

impl Namespaces {
    fn add(&mut self, name: &str) -> Result<(), String> {
        ip(&["netns", "add", name])?;
        self.0.push(name.to_string());
        Ok(())
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in &self.0 {
            if let Err(e) = ip(&["netns", "del", name]) {
                eprintln!("bad_network: cleanup: {e}");
            }
        }
    }
}

/// The userspace forwarder; killed when dropped.
struct Forwarder {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Forwarder {
    fn start(a: &str, b: &str) -> Result<Forwarder, String> {
        let seed = std::process::id().to_string();
        let [delay, jitter, loss, reorder, corr] =
            [DELAY_MS, JITTER_MS, LOSS_PCT, REORDER_PCT, REORDER_CORR_PCT].map(|v| v.to_string());
        let mut child = Command::new("python3")
            .args(["-c", FORWARDER, a, b])
            .args([&delay, &jitter, &loss, &reorder, &corr, &seed])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start python3: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut fwd = Forwarder {
            child,
            stdin,
            stdout,
        };
        match fwd.line().as_deref() {
            Some("ready") => Ok(fwd),
            other => Err(format!(
                "the TUN forwarder did not start (printed {other:?})"
            )),
        }
    }

    fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line.trim().to_string()),
            _ => None,
        }
    }

    /// Ends the forwarding; returns (forwarded, dropped, sent early) packets.
    fn finish(mut self) -> Result<(u64, u64, u64), String> {
        drop(self.stdin.take());
        let line = self.line().ok_or("the forwarder printed no counts")?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let count = |i: usize| -> Result<u64, String> {
            words
                .get(i)
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| format!("bad forwarder counts: {line:?}"))
        };
        Ok((count(1)?, count(3)?, count(5)?))
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the two namespaces are linked.
enum Link {
    Netem,
    Userspace(Forwarder),
}

/// Links `a` (address `ip_a`) and `b` (`ip_b`) through a bad network: a veth pair with
/// netem where the kernel has it, else TUN devices and the forwarder.
fn link(tag: &str, a: &str, b: &str, ip_a: &str, ip_b: &str) -> Result<Link, String> {
    let netem = [
        "delay",
        &format!("{DELAY_MS}ms"),
        &format!("{JITTER_MS}ms"),
        "distribution",
        "normal",
        "loss",
        &format!("{LOSS_PCT}%"),
        "reorder",
        &format!("{REORDER_PCT}%"),
        &format!("{REORDER_CORR_PCT}%"),
    ]
    .map(String::from);
    let (dev_a, dev_b) = (format!("pbva{tag}"), format!("pbvb{tag}"));
    let forced = std::env::var("PIPEBUF_BAD_NETWORK").is_ok_and(|v| v == "userspace");
    if !forced {
        ip(&[
            "link", "add", &dev_a, "type", "veth", "peer", "name", &dev_b,
        ])?;
        ip(&["link", "set", &dev_a, "netns", a])?;
        ip(&["link", "set", &dev_b, "netns", b])?;
        let mut tc_failed = None;
        for (ns, dev, addr) in [(a, &dev_a, ip_a), (b, &dev_b, ip_b)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            let mut args = vec![
                "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root",
            ];
            args.push("netem");
            args.extend(netem.iter().map(String::as_str));
            if let Err(e) = ip(&args) {
                tc_failed = Some(e);
                break;
            }
        }
        match tc_failed {
            None => return Ok(Link::Netem),
            Some(e) => {
                eprintln!("bad_network: no netem ({e}); forwarding in userspace instead");
                // Deleting one end removes the pair.
                ip(&["-n", a, "link", "del", &dev_a])?;
            }
        }
    }
    let (tun_a, tun_b) = (format!("pbta{tag}"), format!("pbtb{tag}"));
    let forwarder = Forwarder::start(&tun_a, &tun_b)?;
    for (ns, dev, addr, peer) in [(a, &tun_a, ip_a, ip_b), (b, &tun_b, ip_b, ip_a)] {
        ip(&["link", "set", dev, "netns", ns])?;
        ip(&["-n", ns, "addr", "add", addr, "peer", peer, "dev", dev])?;
        ip(&["-n", ns, "link", "set", dev, "up"])?;
    }
    Ok(Link::Userspace(forwarder))
}

#[test]
fn wss_echo_across_delay_jitter_loss_and_reordering_is_byte_exact() {
    let pid = std::process::id();
    let (ns_srv, ns_cli) = (format!("pbsrv-{pid}"), format!("pbcli-{pid}"));
    let mut namespaces = Namespaces(Vec::new());
    if let Err(e) = namespaces.add(&ns_srv) {
        eprintln!(
            "bad_network: SKIPPED: cannot make a network namespace ({e}); this test needs \
             root (CAP_NET_ADMIN) and a kernel with network namespaces"
        );
        return;
    }
    namespaces.add(&ns_cli).unwrap();
    for ns in [&ns_srv, &ns_cli] {
        ip(&["-n", ns, "link", "set", "lo", "up"]).unwrap();
    }
    // 10.x.y.1 and .2, different per run; inside our own namespaces only.
    let (x, y) = (200 + pid % 50, (pid / 50) % 256);
    let (ip_srv, ip_cli) = (format!("10.{x}.{y}.1"), format!("10.{x}.{y}.2"));
    let tag = (pid % 1_000_000).to_string();
    let link = match link(&tag, &ns_srv, &ns_cli, &ip_srv, &ip_cli) {
        Ok(link) => link,
        Err(e) => {
            eprintln!(
                "bad_network: SKIPPED: the kernel refused the link between the namespaces: {e}"
            );
            return;
        }
    };

    let wss_echo = example_bin("wss_echo").unwrap();
    let load = example_bin("load").unwrap();
    let mut server = Server::start_program(
        Path::new("ip"),
        &[
            "netns",
            "exec",
            &ns_srv,
            &wss_echo.display().to_string(),
            "--addr",
            &format!("{ip_srv}:0"),
        ],
    )
    .unwrap();
    let url = format!("wss://{}/", server.addr);
    let started = Instant::now();
    let out = run_bounded(
        Command::new("ip")
            .args(["netns", "exec", &ns_cli])
            .arg(&load)
            .args(["--url", &url, "--insecure"])
            .args(["--connections", &CONNECTIONS.to_string()])
            .args(["--messages", &MESSAGES.to_string()])
            .args(["--size", "16", "--max-size", "16384", "--in-flight", "8"])
            .args(["--duration", &LOAD_LIMIT_SECS.to_string()]),
        PROCESS_TIMEOUT,
    )
    .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "load: {}; stderr: {stderr}",
        out.status
    );
    let line = stdout_line(&out);
    let fields = json_fields(&line);
    let field = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no {key} in {line}"))
    };
    assert_eq!(field("errors"), 0.0, "{line}; stderr: {stderr}");
    assert_eq!(
        field("opened"),
        CONNECTIONS as f64,
        "{line}; stderr: {stderr}"
    );
    assert_eq!(
        field("messages"),
        (CONNECTIONS * MESSAGES) as f64,
        "{line}; stderr: {stderr}"
    );
    let status = server.stop("TERM", Duration::from_secs(30)).unwrap();
    assert!(status.success(), "wss_echo: {status}");
    let how = match link {
        Link::Netem => "veth + netem".to_string(),
        Link::Userspace(forwarder) => {
            let (fwd, dropped, early) = forwarder.finish().unwrap();
            // The network really was bad: packets were lost and sent out of order.
            assert!(dropped > 0 && early > 0, "{fwd} {dropped} {early}");
            format!("TUN forwarder: {fwd} packets forwarded, {dropped} dropped, {early} early")
        }
    };
    eprintln!("bad_network: {how}; load took {took:.1?}: {line}");
}
