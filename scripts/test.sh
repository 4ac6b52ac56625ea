#!/usr/bin/env bash
# The whole test suite, as CI runs it: quality gates, every feature combination of the core
# crate, and all unit, integration, doc and process tests. Installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

for tool in cargo rustfmt cargo-clippy; do
  command -v "$tool" >/dev/null || { echo "missing $tool: install the Rust toolchain with rustfmt and clippy" >&2; exit 1; }
done

# Peers the interop tests talk to: Debian's openssl and python3 (standard library only),
# redis-server for redis_pipeline (redis-benchmark, from redis-tools, to compare with it), and
# headless Chromium for the browser test of wss_chat (which fails without it unless
# PIPEBUF_SKIP_BROWSER=1, which also skips installing it).
need_apt() {
  local missing=()
  for pkg in "$@"; do
    command -v "${pkg%%:*}" >/dev/null || missing+=("${pkg#*:}")
  done
  if ((${#missing[@]})); then
    step "installing ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
  fi
}
browser=(chromium:chromium)
[ "${PIPEBUF_SKIP_BROWSER:-}" = 1 ] && browser=()
need_apt openssl:openssl python3:python3 curl:curl redis-server:redis-server redis-benchmark:redis-tools \
  "${browser[@]}"

# The WebSocket interop tests' peer: Python's `websockets` (>= 13), in a venv under target/
# made once; the tests find it through PIPEBUF_TEST_PYTHON and fail without it.
PY_VENV="${CARGO_TARGET_DIR:-target}/py-venv"
if ! "$PY_VENV/bin/python" -c 'import sys, websockets; sys.exit(int(websockets.__version__.split(".")[0]) < 13)' 2>/dev/null; then
  step "python venv with websockets in $PY_VENV"
  python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt python3-venv:python3-venv
  python3 -m venv "$PY_VENV"
  "$PY_VENV/bin/pip" install --quiet --disable-pip-version-check 'websockets>=13'
fi
PIPEBUF_TEST_PYTHON="$(cd "$PY_VENV/bin" && pwd)/python"
export PIPEBUF_TEST_PYTHON

step "format"
cargo fmt --all -- --check

step "clippy (workspace, all targets)"
cargo clippy --workspace --all-targets -- -D warnings
step "clippy (pipebuf without std or alloc, with alloc only, and with reqresp only)"
cargo clippy -p pipebuf --no-default-features --lib -- -D warnings
cargo clippy -p pipebuf --no-default-features --features alloc --lib -- -D warnings
cargo clippy -p pipebuf --no-default-features --features reqresp --lib -- -D warnings
# The alloc-only runs must really leave reqresp out: nothing the runs build may turn it on.
alloc_only="$(cargo tree -p pipebuf --no-default-features --features alloc -e all --depth 0 -f '{f}' | sed -n 1p)"
[ "$alloc_only" = alloc ] || { echo "pipebuf with alloc only resolves to features: $alloc_only" >&2; exit 1; }
step "clippy (pipebuf_websocket without std: no_std + alloc, without and with deflate)"
cargo clippy -p pipebuf_websocket --no-default-features --lib -- -D warnings
cargo clippy -p pipebuf_websocket --no-default-features --features deflate --lib -- -D warnings

step "no_std: pipebuf (no features) and pipebuf_websocket (no std) link without std"
# Its own workspace (a #![no_std] staticlib with its own panic handler), so std never
# reaches it; see no_std_check/Cargo.toml.
cargo fmt --manifest-path no_std_check/Cargo.toml -- --check
cargo build --manifest-path no_std_check/Cargo.toml --no-default-features
cargo build --manifest-path no_std_check/Cargo.toml
cargo build --manifest-path no_std_check/Cargo.toml --features deflate

step "supply chain: cargo deny (advisories, licenses, bans, sources)"
./scripts/deny.sh

step "docs"
# pipebuf's links must hold without reqresp too; the workspace run comes last, so the docs
# left in target/doc are the full ones.
RUSTDOCFLAGS="-D warnings" cargo doc -p pipebuf --no-deps --quiet --no-default-features --features alloc
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "package: cargo package for the four library crates"
# Builds each .crate on its own (see the script) and checks it holds its README and licenses.
./scripts/package.sh

step "tests (default features)"
cargo test --workspace

step "tests (pipebuf_websocket without and with deflate on its own)"
# The workspace run unifies features (the tests crate turns deflate on): the crate alone,
# once without it and once with it.
cargo test -p pipebuf_websocket
cargo test -p pipebuf_websocket --features deflate

step "tests (pipebuf_rustls suites on the other rustls API)"
# The workspace run covers the default API (buffered); the same suites once more on the
# unbuffered one.
PIPEBUF_RUSTLS_API=unbuffered cargo test -p pipebuf_rustls --tests

step "tests (pipebuf without std or alloc)"
cargo test -p pipebuf --no-default-features --lib --tests
step "tests (pipebuf with alloc only)"
cargo test -p pipebuf --no-default-features --features alloc --lib --tests
step "tests (pipebuf with reqresp only)"
cargo test -p pipebuf --no-default-features --features reqresp --lib --tests

step "all passed"
