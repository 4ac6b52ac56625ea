#!/usr/bin/env bash
# Supply-chain checks: `cargo deny check advisories licenses bans sources` with deny.toml.
#
# The RustSec database cannot be fetched from its git home on these machines, so advisories
# are checked against the snapshot that `cargo-deny-offline` (shipped beside the project in
# ../shared/tools, or named by PIPEBUF_DENY_OFFLINE) points cargo-deny at. Where neither that
# tool nor a reachable database exists, the licence, ban and source checks still run and the
# advisory check is reported as skipped, by name.
set -euo pipefail
cd "$(dirname "$0")/.."

offline="${PIPEBUF_DENY_OFFLINE:-}"
if [ -z "$offline" ]; then
  for candidate in ../shared/tools/cargo-deny-offline /work/shared/tools/cargo-deny-offline; do
    if [ -x "$candidate" ]; then offline="$candidate"; break; fi
  done
fi

if [ -n "$offline" ]; then
  exec "$offline" advisories licenses bans sources
fi

command -v cargo-deny >/dev/null || cargo install --locked cargo-deny
if ! out=$(cargo deny check advisories 2>&1); then
  printf '%s\n' "$out" >&2
  # A database that cannot be fetched is a skip; an advisory that matched is a failure.
  if grep -qiE 'advisory database|failed to (fetch|clone|open)|network' <<<"$out" \
     && ! grep -qE 'error\[(vulnerability|unmaintained|unsound|yanked)\]' <<<"$out"; then
    echo "deny.sh: advisories NOT checked: no snapshot tool and the RustSec database is unreachable" >&2
  else
    exit 1
  fi
fi
exec cargo deny --offline check licenses bans sources
