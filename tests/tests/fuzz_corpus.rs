//! Replays every saved fuzz input through its body: the hand-made seeds in
//! `fuzz/seeds/<target>/`, the minimised corpus in `fuzz/corpus/<target>/` and every crash
//! reproducer ever fixed in `fuzz/regressions/<target>/`, so that CI checks each past finding
//! with plain `cargo test`. See FUZZING.md.

use std::path::{Path, PathBuf};

/// The files saved for `target` under `fuzz/seeds`, `fuzz/corpus` and `fuzz/regressions`.
fn saved_inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in ["seeds", "corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs every saved input of `target`; a panic names the file.
fn replay(target: &str) {
    let body = pipebuf_tests::fuzz::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, body)| *body)
        .unwrap_or_else(|| panic!("no fuzz target {target}"));
    let files = saved_inputs(target);
    assert!(!files.is_empty(), "no saved inputs for {target}");
    for path in files {
        let data = std::fs::read(&path).expect("read a saved input");
        let outcome = std::panic::catch_unwind(|| body(&data));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn every_fuzz_target_has_a_replay_test_here() {
    let source = include_str!("fuzz_corpus.rs");
    for (name, _) in pipebuf_tests::fuzz::TARGETS {
        assert!(
            source.contains(&format!("replay(\"{name}\")")),
            "{name} has no replay test"
        );
    }
}

#[test]
fn every_saved_pipebuf_model_input_replays_without_a_panic() {
    replay("pipebuf_model");
}

#[test]
fn every_saved_websocket_server_input_replays_without_a_panic() {
    replay("ws_server_frames");
}

#[test]
fn every_saved_websocket_client_input_replays_without_a_panic() {
    replay("ws_client_frames");
}

#[test]
fn every_saved_upgrade_request_input_replays_without_a_panic() {
    replay("handshake_request");
}

#[test]
fn every_saved_upgrade_response_input_replays_without_a_panic() {
    replay("handshake_response");
}

#[test]
fn every_saved_request_response_input_replays_without_a_panic() {
    replay("reqresp_matchers");
}

#[test]
fn every_saved_tls_server_input_replays_without_a_panic() {
    replay("tls_server");
}

#[test]
fn every_saved_tls_client_input_replays_without_a_panic() {
    replay("tls_client");
}

#[test]
fn every_saved_codec_input_replays_without_a_panic() {
    replay("codecs");
}

#[test]
fn every_saved_websocket_stack_input_replays_without_a_panic() {
    replay("ws_stack");
}

#[test]
fn every_saved_permessage_deflate_input_replays_without_a_panic() {
    replay("ws_deflate");
}

#[test]
fn every_saved_http_request_head_input_replays_without_a_panic() {
    replay("http_head");
}

#[test]
fn every_saved_http_server_input_replays_without_a_panic() {
    replay("http_server");
}
