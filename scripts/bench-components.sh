#!/usr/bin/env bash
# Component benchmarks: every criterion bench of the workspace (pipebuf buffer chains and
# records, pipebuf_rustls against rustls's own stream and tokio-rustls with ring's raw AEAD
# as the ceiling, pipebuf_websocket frame decoding against tungstenite and fastwebsockets and
# the whole component), then one markdown table per group from target/criterion.
#
#   ./scripts/bench-components.sh            # prints the tables
#   UPDATE=1 ./scripts/bench-components.sh   # and replaces their section of BENCHMARKS.md
#
# Environment (optional): BENCH_ARGS (criterion flags, default
# "--warm-up-time 1 --measurement-time 3"). Old results are removed first, so the tables
# show this run only.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_ARGS=${BENCH_ARGS:---warm-up-time 1 --measurement-time 3}
rm -rf target/criterion
# shellcheck disable=SC2086
{
  cargo bench -p pipebuf --bench throughput -- $BENCH_ARGS
  cargo bench -p pipebuf_rustls --bench tls -- $BENCH_ARGS
  cargo bench -p pipebuf_websocket --bench frames --bench component -- $BENCH_ARGS
} >&2
COMMIT=$(git rev-parse --short HEAD)
if [[ -n "$(git status --porcelain -- pipebuf pipebuf_rustls pipebuf_websocket)" ]]; then
  COMMIT="$COMMIT+ (uncommitted changes)"
fi
mkdir -p target
python3 scripts/bench_components_report.py target/criterion \
  "BENCH_ARGS='$BENCH_ARGS' ./scripts/bench-components.sh" "$COMMIT" >target/bench-components.md
cat target/bench-components.md
if [[ "${UPDATE:-0}" == 1 ]]; then
  python3 scripts/bench_components_report.py --splice BENCHMARKS.md target/bench-components.md
  echo "== BENCHMARKS.md updated" >&2
fi
