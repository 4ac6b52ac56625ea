//! The command lines of the example programs, as a user meets them: every program answers
//! `-h`/`--help` on stdout with exit status 0, naming each of its flags with its default and
//! showing an example; a bad command line exits 2 with a one-line message on stderr that
//! names the flag and points to `--help`; a failure exits 1. And `wss_client`, piped into a
//! chat, stays until the broadcasts have come back (`--wait`).

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use pipebuf_tests::{Server, example_bin, run_bounded, run_bounded_with_input};

/// The longest one run of a program may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Every example program and the flags its help must name: those the tests, the scripts
/// and the README pass, and the rest each program declares.
const PROGRAMS: &[(&str, &[&str])] = &[
    ("chain_demo", &[]),
    (
        "echo_load",
        &[
            "addr",
            "conns",
            "size",
            "secs",
            "inflight",
            "threads",
            "server-pid",
            "tls",
            "ca",
            "server-name",
            "handshakes",
        ],
    ),
    ("embed_fixed", &["addr", "demo"]),
    ("embed_tokio", &["addr"]),
    ("http_page", &["addr", "threads"]),
    ("idle_conns", &["addr", "conns", "hold", "ping"]),
    ("line_doubler", &["addr", "threads"]),
    (
        "load",
        &[
            "url",
            "connections",
            "size",
            "in-flight",
            "duration",
            "ca",
            "insecure",
            "server-pid",
            "handshakes",
            "hold",
            "max-size",
            "messages",
            "reconnect-every",
            "payload",
            "deflate",
            "deflate-context",
        ],
    ),
    (
        "mux_demo",
        &[
            "serve",
            "connect",
            "addr",
            "threads",
            "max-delay-ms",
            "count",
            "inflight",
            "seed",
        ],
    ),
    ("redis_pipeline", &["addr", "count", "pipeline"]),
    ("std_echo", &["addr"]),
    ("std_tls_echo", &["addr", "cert", "key"]),
    ("tcp_echo", &["addr", "threads", "release-after-ms"]),
    ("tls_echo", &["addr", "cert", "key", "threads"]),
    ("tokio_echo", &["addr"]),
    ("tokio_tls_echo", &["addr", "cert", "key"]),
    (
        "ws_echo",
        &[
            "addr",
            "threads",
            "max-message",
            "handshake-timeout",
            "deflate",
            "deflate-context",
        ],
    ),
    (
        "wss_chat",
        &[
            "addr",
            "cert",
            "key",
            "allow-origin",
            "no-deflate",
            "deflate-context",
        ],
    ),
    (
        "wss_client",
        &[
            "url",
            "ca",
            "insecure",
            "max-message",
            "wait",
            "deflate",
            "deflate-context",
        ],
    ),
    (
        "wss_echo",
        &[
            "addr",
            "cert",
            "key",
            "threads",
            "max-message",
            "handshake-timeout",
            "tls-api",
            "deflate",
            "deflate-context",
        ],
    ),
];

/// Runs example `name` with `args`, stdin closed, bounded by [`TIMEOUT`].
fn run(name: &str, args: &[&str]) -> Output {
    let bin = example_bin(name).unwrap_or_else(|e| panic!("{e}"));
    run_bounded(Command::new(bin).args(args), TIMEOUT).unwrap_or_else(|e| panic!("{e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Checks that `out` is a usage error (exit 2, nothing on stdout) whose one line on stderr
/// contains `expected` and the hint.
fn assert_usage_error(name: &str, out: &Output, expected: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
    assert!(out.stdout.is_empty(), "{name}: {}", text(&out.stdout));
    assert!(
        stderr.starts_with(&format!("{name}: ")) && stderr.contains(expected),
        "{name}: {stderr:?} lacks {expected:?}"
    );
    assert!(
        stderr.trim_end().ends_with("(try --help)"),
        "{name}: {stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
}

#[test]
fn the_list_of_programs_covers_every_example_binary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/src/bin");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".rs").map(String::from)
        })
        .collect();
    found.sort();
    let listed: Vec<&str> = PROGRAMS.iter().map(|(name, _)| *name).collect();
    assert_eq!(found, listed);
}

#[test]
fn every_program_answers_help_with_its_flags_their_defaults_and_an_example() {
    for (name, flags) in PROGRAMS {
        let out = run(name, &["--help"]);
        let help = text(&out.stdout);
        assert!(out.status.success(), "{name} --help: {}", text(&out.stderr));
        assert!(
            out.stderr.is_empty(),
            "{name} --help: {}",
            text(&out.stderr)
        );
        assert!(help.starts_with(&format!("{name}: ")), "{name}: {help}");
        assert!(help.contains(&format!("Usage: {name}")), "{name}: {help}");
        assert!(help.contains("Examples:\n  "), "{name}: {help}");
        assert!(help.contains("Exit status: 0 success, 1 failure, 2 bad usage"));
        for flag in *flags {
            let named = help
                .lines()
                .any(|l| l == format!("  --{flag}") || l.starts_with(&format!("  --{flag} ")));
            assert!(named, "{name} --help does not name --{flag}: {help}");
        }
        assert_value_flags_show_their_default(name, &help);
        // -h is the same.
        let short = run(name, &["-h"]);
        assert!(short.status.success(), "{name} -h");
        assert_eq!(text(&short.stdout), help, "{name} -h");
    }
}

/// Each flag that takes a value (`  --name VALUE`) says its default (or that it is
/// required) in the lines under it, before the next flag.
fn assert_value_flags_show_their_default(name: &str, help: &str) {
    let lines: Vec<&str> = help.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(synopsis) = line.strip_prefix("  --") else {
            continue;
        };
        if !synopsis.contains(' ') {
            continue; // a switch
        }
        let block: String = lines[i + 1..]
            .iter()
            .take_while(|l| l.starts_with("      "))
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            block.contains("[default: ") || block.contains("[required]"),
            "{name}: --{synopsis} shows no default: {block:?}"
        );
    }
}

#[test]
fn help_wins_over_the_other_flags_and_needs_nothing_else() {
    // idle_conns and load have required flags, wss_client an operand: help needs none.
    for (name, args) in [
        ("idle_conns", &["--conns", "3", "--help"][..]),
        ("load", &["-h"]),
        ("wss_client", &["ws://127.0.0.1:1/", "--help"]),
    ] {
        let out = run(name, args);
        assert!(
            out.status.success(),
            "{name} {args:?}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains("Examples:"), "{name} {args:?}");
    }
}

#[test]
fn every_program_refuses_an_unknown_flag_with_exit_2_naming_it() {
    for (name, _) in PROGRAMS {
        let out = run(name, &["--no-such-flag"]);
        assert_usage_error(name, &out, "unknown flag --no-such-flag");
    }
}

#[test]
fn a_malformed_or_missing_value_is_a_usage_error_that_names_the_flag() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "tcp_echo",
            &["--addr", "x"],
            "--addr needs HOST:PORT, got \"x\"",
        ),
        (
            "ws_echo",
            &["--threads", "many"],
            "--threads needs N, got \"many\"",
        ),
        ("wss_echo", &["--cert"], "--cert needs PEM"),
        (
            "wss_echo",
            &["--tls-api", "fast"],
            "--tls-api needs buffered or unbuffered",
        ),
        (
            "echo_load",
            &["--conns", "2"],
            "--addr HOST:PORT is required",
        ),
        (
            "load",
            &["--url", "ws://127.0.0.1:1/", "--duration", "soon"],
            "--duration needs SECS",
        ),
        (
            "wss_client",
            &["ws://127.0.0.1:1/", "--wait", "-1"],
            "--wait needs seconds",
        ),
        (
            "wss_client",
            &["ws://127.0.0.1:1/", "--insecure=yes"],
            "--insecure takes no value",
        ),
        (
            "tls_echo",
            &["--addr", "127.0.0.1:0", "--addr", "127.0.0.1:0"],
            "--addr given twice",
        ),
        ("std_echo", &["stray"], "unexpected argument \"stray\""),
        (
            "ws_echo",
            &["--deflate", "--deflate-context", "always"],
            "--deflate-context needs keep or reset, got \"always\"",
        ),
        (
            "wss_chat",
            &["--allow-origin", "https://chat.example/"],
            "--allow-origin \"https://chat.example/\": not an origin",
        ),
        (
            "wss_chat",
            &["--no-deflate", "--deflate-context", "reset"],
            "--deflate-context and --no-deflate exclude each other",
        ),
    ];
    for (name, args, expected) in cases {
        let out = run(name, args);
        assert_usage_error(name, &out, expected);
    }
}

#[test]
fn an_unreadable_certificate_is_a_failure_that_names_the_flag_and_the_file() {
    for name in [
        "wss_chat",
        "tls_echo",
        "wss_echo",
        "std_tls_echo",
        "tokio_tls_echo",
    ] {
        let out = run(
            name,
            &[
                "--addr",
                "127.0.0.1:0",
                "--cert",
                "/nonexistent/cert.pem",
                "--key",
                "/nonexistent/key.pem",
            ],
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.starts_with(&format!(
                "{name}: --cert: cannot read /nonexistent/cert.pem: "
            )),
            "{name}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{name}: {}", text(&out.stdout));
    }
}

#[test]
fn wss_client_piped_into_the_chat_prints_the_broadcasts_that_come_back_after_its_input_ends() {
    let mut chat =
        Server::start("wss_chat", &["--addr", "127.0.0.1:0"]).unwrap_or_else(|e| panic!("{e}"));
    let url = format!("wss://{}/chat?room=piped", chat.addr);
    let client = example_bin("wss_client").unwrap_or_else(|e| panic!("{e}"));
    // The first line names us, the second is a chat line; stdin ends right after them, and
    // the chat's answers (both broadcast to us too) are still on their way.
    let out = run_bounded_with_input(
        Command::new(client).args([url.as_str(), "--insecure", "--wait", "2"]),
        Some(b"ann\nhello from a pipe\n"),
        TIMEOUT,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stdout),
        "* ann joined piped (1 here)\n** here (1): ann\nann: hello from a pipe\n",
        "stderr: {}",
        text(&out.stderr)
    );
    let status = chat.stop("TERM", TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "wss_chat: {status}");
}

#[test]
fn wss_client_lingers_only_until_the_answers_stop() {
    let mut echo =
        Server::start("ws_echo", &["--addr", "127.0.0.1:0"]).unwrap_or_else(|e| panic!("{e}"));
    let url = format!("ws://{}/", echo.addr);
    let client = example_bin("wss_client").unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let out = run_bounded_with_input(
        Command::new(client).args([url.as_str(), "--wait", "0.5"]),
        Some(b"one\ntwo\n"),
        TIMEOUT,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "one\ntwo\n");
    // Half a second of quiet after the echoes, not the whole test timeout.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let status = echo.stop("TERM", TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "ws_echo: {status}");
}
