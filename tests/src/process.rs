//! A child process whose output a test reads line by line, with its stderr kept for the
//! failure message.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::{py_script, test_python, wait_bounded};

/// A running program: its stdout lines arrive on a channel, its stderr collects in the
/// background. Killed (and reaped) when dropped, so a failing test leaves none behind.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Both pipe readers; they end when the program's pipes close, which
    /// [`wait`](Process::wait) waits for so that nothing the program wrote is missed.
    readers: Vec<JoinHandle<()>>,
}

impl Process {
    /// The longest any one wait (a line, an exit, the last output) takes.
    pub const TIMEOUT: Duration = Duration::from_secs(30);

    /// Starts `cmd` with stdout and stderr piped; stdin is whatever `cmd` has. Panics if it
    /// cannot start.
    pub fn start(name: &str, cmd: &mut Command) -> Process {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(mut pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            readers.push(thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    if let Ok(mut all) = sink.lock() {
                        all.extend_from_slice(&buf[..n]);
                    }
                }
            }));
        }
        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            readers.push(thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            }));
        }
        Process {
            name: name.to_string(),
            child,
            lines,
            stderr,
            readers,
        }
    }

    /// A Python script from `tests/py/` run by [`test_python`] with `args`, its stdin
    /// `stdin`.
    pub fn script(script: &str, args: &[&str], stdin: Stdio) -> Process {
        Self::start(
            script,
            Command::new(test_python())
                .arg(py_script(script))
                .args(args)
                .stdin(stdin),
        )
    }

    /// The program's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its stdin, if it was piped and not yet taken; dropping it ends the program's input.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// What it wrote to stderr so far (all of it once [`wait`](Process::wait) returned).
    pub fn stderr(&self) -> String {
        match self.stderr.lock() {
            Ok(all) => String::from_utf8_lossy(&all).into_owned(),
            Err(_) => String::from("(stderr reader panicked)"),
        }
    }

    /// The next stdout line, at most [`TIMEOUT`](Process::TIMEOUT); `None` if stdout ended
    /// first.
    pub fn next_line(&self) -> Option<String> {
        match self.lines.recv_timeout(Self::TIMEOUT) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!(
                "{} printed nothing within {:?}; stderr: {}",
                self.name,
                Self::TIMEOUT,
                self.stderr()
            ),
        }
    }

    /// The next stdout line starting with `prefix` (others are skipped), at most
    /// [`TIMEOUT`](Process::TIMEOUT).
    pub fn expect_line(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Self::TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => (),
                Err(e) => panic!(
                    "{} printed no {prefix:?} line ({e}); stderr: {}",
                    self.name,
                    self.stderr()
                ),
            }
        }
    }

    /// Waits (at most [`TIMEOUT`](Process::TIMEOUT)) for the exit and then for both pipes to
    /// be read to their end, so [`stderr`](Process::stderr) and
    /// [`remaining_lines`](Process::remaining_lines) hold everything.
    pub fn wait(&mut self) -> ExitStatus {
        let status = wait_bounded(&mut self.child, Self::TIMEOUT).unwrap_or_else(|| {
            panic!(
                "{} did not exit within {:?}; stderr: {}",
                self.name,
                Self::TIMEOUT,
                self.stderr()
            )
        });
        // A child of the program could hold a pipe open: bound the wait for the readers.
        let deadline = Instant::now() + Self::TIMEOUT;
        while self.readers.iter().any(|r| !r.is_finished()) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        status
    }

    /// The stdout lines not read yet; after [`wait`](Process::wait), all of them.
    pub fn remaining_lines(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
