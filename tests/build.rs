//! Extracts the README's WSS echo server (the first ```rust block with `fn main`) so that the
//! `readme_wss_echo` binary compiles exactly that text, with no second copy to drift.

use std::path::Path;

fn main() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    println!("cargo::rerun-if-changed={}", readme_path.display());
    let readme = std::fs::read_to_string(&readme_path).unwrap_or_default();
    let mut blocks = readme.split("```rust\n").skip(1);
    let block = blocks
        .find_map(|rest| rest.split_once("\n```").map(|(code, _)| code))
        .filter(|code| code.contains("fn main"));
    // Without such a block the binary says so, and the README test fails with that message.
    let code = match block {
        Some(code) => code.to_string(),
        None => "fn main() { panic!(\"README.md has no rust block with fn main\") }".to_string(),
    };
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("readme_main.rs");
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo::warning=cannot write {}: {e}", out.display());
    }
}
