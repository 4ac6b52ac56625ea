//! Helpers for tests that drive the example programs as processes.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Path of an example program from the `pipebuf_examples` package, built once per test
/// process with the cargo that runs the tests (same profile and target directory).
pub fn example_bin(name: &str) -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "-p", "pipebuf_examples", "--bins"])
                .status()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            if status.success() {
                Ok(())
            } else {
                Err(format!("building the examples failed: {status}"))
            }
        })
        .clone()?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // The test binary lives in target/<profile>/deps/.
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or("test binary has no target directory")?;
    let path = dir.join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!("example {name} not found at {}", path.display()))
    }
}
