//! `wss_chat` in a real browser: headless Chromium (Debian's `chromium`) opens the chat page
//! over HTTPS (the self-signed certificate's errors ignored), and `tests/py/browser_chat.py`
//! drives it through the DevTools protocol: two tabs in separate browser contexts join one
//! room, type a name and a message each, and every message must come back into both pages;
//! then a 3 KiB compressible line typed in one page must arrive in the other byte for byte.
//! The browser offers permessage-deflate, as browsers do: by default `wss_chat` accepts it,
//! and each page's WebSocket must report it in `extensions` and its status line say
//! `(compressed)`; with `--no-deflate` neither. The first page is saved as
//! `target/test-output/wss_chat_browser.png` (`wss_chat_browser_plain.png` without
//! compression).
//!
//! Chromium is found as `$PIPEBUF_TEST_CHROMIUM`, else `chromium` on the PATH
//! (`scripts/test.sh` installs it). Without it the test fails saying so, unless
//! `PIPEBUF_SKIP_BROWSER=1` is set to skip it on purpose. Needs Python with `websockets`
//! like the interop tests (see [`pipebuf_tests::test_python`]).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pipebuf_tests::{Server, TempDir, py_script, run_bounded, test_output_dir, test_python};

/// The longest Chromium may take to open its DevTools endpoint.
const BROWSER_START: Duration = Duration::from_secs(30);
/// The longest the DevTools script may run (its own limit is 60 s).
const DRIVER_TIMEOUT: Duration = Duration::from_secs(90);
/// Chromium's stderr lines kept for failure messages.
const STDERR_LINES: usize = 40;

/// The Chromium to drive: `$PIPEBUF_TEST_CHROMIUM`, else `chromium` on the PATH.
fn find_chromium() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("PIPEBUF_TEST_CHROMIUM") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "PIPEBUF_TEST_CHROMIUM is {}, which does not exist",
                path.display()
            ))
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("chromium"))
        .find(|path| path.is_file())
        .ok_or_else(|| "no `chromium` on the PATH".to_string())
}

/// A headless Chromium in its own process group; the whole group is killed when dropped, so
/// no renderer or helper outlives the test, whatever path it takes. (Its crash handler
/// detaches into a session of its own and exits by itself once the browser is gone;
/// `--disable-crashpad-for-testing` would keep it from starting, but makes Chromium 156's
/// network service crash on an "FD ownership violation".)
struct Chromium {
    child: Child,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl Chromium {
    /// Starts `program` with a fresh profile in `profile`; returns it with the URL of its
    /// DevTools websocket.
    fn launch(program: &Path, profile: &Path) -> Result<(Chromium, String), String> {
        use std::os::unix::process::CommandExt;
        let mut child = Command::new(program)
            .args([
                "--headless=new",
                "--remote-debugging-port=0",
                "--no-sandbox",
                "--ignore-certificate-errors",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-gpu",
                "--window-size=800,600",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let pipe = child.stderr.take().ok_or("no stderr")?;
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = mpsc::channel();
        {
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).split(b'\n') {
                    let Ok(line) = line else { break };
                    let line = String::from_utf8_lossy(&line).into_owned();
                    if let Some(url) = line.strip_prefix("DevTools listening on ") {
                        let _ = tx.send(url.trim().to_string());
                    }
                    let mut kept = stderr.lock().unwrap_or_else(|e| e.into_inner());
                    if kept.len() == STDERR_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(line);
                }
            });
        }
        let chromium = Chromium { child, stderr };
        match rx.recv_timeout(BROWSER_START) {
            Ok(url) => Ok((chromium, url)),
            Err(_) => Err(format!(
                "Chromium announced no DevTools endpoint within {BROWSER_START:?}; its stderr:\n{}",
                chromium.stderr_tail()
            )),
        }
    }

    /// Chromium's last stderr lines, without the D-Bus complaints of a machine with no bus.
    fn stderr_tail(&self) -> String {
        let kept = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let lines: Vec<&str> = kept
            .iter()
            .map(String::as_str)
            .filter(|l| !l.contains("dbus"))
            .collect();
        lines.join("\n")
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // The process group has the browser's id (process_group(0)).
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the chat's WebSocket compresses, as the page must see it.
#[derive(Debug, Clone, Copy)]
enum Compression {
    /// permessage-deflate agreed: `ws.extensions` names it, the status says `(compressed)`.
    Compressed,
    /// No extension agreed.
    Plain,
}

/// Says on the process's stderr that `test` was skipped on purpose, and returns true, when
/// `PIPEBUF_SKIP_BROWSER=1`.
fn skipped_on_purpose(test: &str) -> bool {
    if std::env::var("PIPEBUF_SKIP_BROWSER").as_deref() != Ok("1") {
        return false;
    }
    // Straight to the process's stderr: the test harness captures `eprintln!` and shows it
    // only for failing tests, and this test is reported `ok`.
    let _ = writeln!(
        std::io::stderr(),
        "{test}: SKIPPED on purpose (PIPEBUF_SKIP_BROWSER=1): no browser ran"
    );
    true
}

/// Starts `wss_chat` with `server_args`, has two Chromium tabs chat through its page
/// expecting `compression`, checks the screenshot (saved as `screenshot`, in the test
/// output directory) and the server's clean exit; returns the script's summary.
fn chat_in_chromium(server_args: &[&str], compression: Compression, screenshot: &str) -> String {
    let chromium = find_chromium().unwrap_or_else(|e| {
        panic!(
            "{e}. This test needs headless Chromium: install Debian's `chromium` \
             (./scripts/test.sh does: apt-get install chromium), or set PIPEBUF_TEST_CHROMIUM \
             to a Chromium binary, or set PIPEBUF_SKIP_BROWSER=1 to skip it on purpose."
        )
    });
    let python = test_python();
    let screenshot = test_output_dir().join(screenshot);
    let _ = std::fs::remove_file(&screenshot);

    let mut args = vec!["--addr", "127.0.0.1:0"];
    args.extend(server_args);
    let mut server = Server::start("wss_chat", &args).unwrap_or_else(|e| panic!("{e}"));
    let page = format!("https://{}/", server.addr);
    // Declared before the browser, so it is removed after the browser is gone.
    let profile = TempDir::new("chromium-profile");
    let (browser, devtools) =
        Chromium::launch(&chromium, &profile.path("profile")).unwrap_or_else(|e| panic!("{e}"));

    let expected = match compression {
        Compression::Compressed => "compressed",
        Compression::Plain => "plain",
    };
    let out = run_bounded(
        Command::new(python)
            .arg(py_script("browser_chat.py"))
            .args([&devtools, &page])
            .arg(&screenshot)
            .arg(expected),
        DRIVER_TIMEOUT,
    )
    .unwrap_or_else(|e| panic!("browser_chat.py: {e}\nChromium:\n{}", browser.stderr_tail()));
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && stdout.starts_with("ok"),
        "chatting through {page} in Chromium failed ({}): {}{}\nChromium:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim(),
        stdout,
        browser.stderr_tail()
    );
    drop(browser);

    let png = std::fs::read(&screenshot)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", screenshot.display()));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
        "{} is no PNG screenshot ({} bytes)",
        screenshot.display(),
        png.len()
    );
    println!("{stdout}");
    println!("screenshot: {}", screenshot.display());

    // The server outlives its browser clients and still exits cleanly.
    let status = server
        .stop("TERM", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("wss_chat: {e}"));
    assert!(status.success(), "wss_chat exited with {status}");
    stdout
}

#[test]
fn two_chromium_tabs_chat_compressed_through_the_wss_chat_page_and_each_sees_every_line() {
    if skipped_on_purpose(
        "two_chromium_tabs_chat_compressed_through_the_wss_chat_page_and_each_sees_every_line",
    ) {
        return;
    }
    let summary = chat_in_chromium(&[], Compression::Compressed, "wss_chat_browser.png");
    // The script checked `ws.extensions` and the status line; the summary names what was
    // agreed.
    assert!(
        summary.contains("extensions=permessage-deflate"),
        "{summary}"
    );
}

#[test]
fn chromium_chats_uncompressed_when_wss_chat_declines_deflate() {
    if skipped_on_purpose("chromium_chats_uncompressed_when_wss_chat_declines_deflate") {
        return;
    }
    let summary = chat_in_chromium(
        &["--no-deflate"],
        Compression::Plain,
        "wss_chat_browser_plain.png",
    );
    assert!(summary.contains("extensions=none"), "{summary}");
}
