//! The README's WSS echo server, compiled from the README's own text (`build.rs` extracts
//! it into the `readme_wss_echo` binary), run with a certificate and talked to over wss:// by
//! Python's `websockets`; and the README keeps it within 30 lines.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pipebuf_tests::{Server, TempDir, make_pki, py_script, run_bounded, test_python};

const TIMEOUT: Duration = Duration::from_secs(60);

/// The README's first ```rust block with `fn main`, as the build script finds it.
fn readme_block() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    readme
        .split("```rust\n")
        .skip(1)
        .find_map(|rest| rest.split_once("\n```").map(|(code, _)| code.to_string()))
        .filter(|code| code.contains("fn main"))
        .expect("a rust block with fn main")
}

#[test]
fn the_readme_wss_server_is_at_most_30_lines() {
    let lines = readme_block().lines().count();
    assert!(lines <= 30, "the README's server has {lines} lines");
}

#[test]
fn the_readme_wss_server_echoes_python_websockets_over_wss() {
    let pki = make_pki("pipebuf readme CA");
    let dir = TempDir::new("readme-wss");
    let files = pki.write_to(&dir);
    let program = Path::new(env!("CARGO_BIN_EXE_readme_wss_echo"));
    let (cert, key) = (
        files.cert.display().to_string(),
        files.key.display().to_string(),
    );
    let mut server = Server::start_program(program, &["127.0.0.1:0", &cert, &key])
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!("wss://{}/", server.addr);
    let ca = files.ca.display().to_string();
    for scenario in [
        &["fragments"][..],
        &["ping"],
        &["burst"],
        &["close", "1000"],
    ] {
        let out = run_bounded(
            Command::new(test_python())
                .arg(py_script("ws_client.py"))
                .arg(scenario[0])
                .args([&url, &ca])
                .args(&scenario[1..]),
            TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("{scenario:?}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.starts_with("ok"),
            "{scenario:?} failed: {}{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    server.stop("TERM", Duration::from_secs(10)).ok();
}

#[test]
fn the_readme_wss_server_refuses_bad_arguments_with_usage() {
    let out = run_bounded(
        &mut Command::new(env!("CARGO_BIN_EXE_readme_wss_echo")),
        Duration::from_secs(10),
    )
    .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}
