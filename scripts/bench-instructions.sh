#!/usr/bin/env bash
# Instructions per echoed WebSocket message, counted by callgrind: repeatable on a shared,
# noisy machine where CPU-time comparisons of a few percent are not. Each server runs under
# `valgrind --tool=callgrind`; `load` runs twice against it (SHORT and LONG seconds), the
# counters zeroed before and dumped after each run. The difference of the two runs'
# instructions divided by the difference of their messages is the cost of one more message,
# without the handshakes and the start-up that both runs share.
#
#   ./scripts/bench-instructions.sh BIN...       # e.g. target/bench-base/release/wss_echo target/release/wss_echo
#
# Each BIN is a WebSocket echo server of the DESIGN.md §5 contract; a name ending in `wss_echo`
# or a BIN followed by `--tls` in TLS_BINS is served over wss. Environment (optional):
# SCHEME=wss|ws (default wss), CONNS=64, SIZE=1024, IN_FLIGHT=16, SHORT=2, LONG=6,
# LOAD=target/release/load. Prints one markdown table. 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
SCHEME=${SCHEME:-wss}
CONNS=${CONNS:-64}
SIZE=${SIZE:-1024}
IN_FLIGHT=${IN_FLIGHT:-16}
SHORT=${SHORT:-2}
LONG=${LONG:-6}
LOAD=${LOAD:-target/release/load}
[[ $# -gt 0 ]] || { echo "usage: $0 SERVER_BIN..." >&2; exit 2; }
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }

# Enough descriptors for a thousand connections on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK=$(mktemp -d)
PID=""
cleanup() {
  if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

url_flags() {
  if [[ $SCHEME == wss ]]; then echo "--url wss://$1/ --insecure"; else echo "--url ws://$1/"; fi
}

# total_ir FILE: the instructions a callgrind dump counted.
total_ir() { sed -n 's/^summary: *//p; s/^totals: *//p' "$1" | head -1 | awk '{print $1}'; }

# measure SECS: zeroes the counters, runs load for SECS, dumps; prints "IR MSGS".
measure() {
  local secs=$1 line rate dump
  callgrind_control --zero "$PID" >/dev/null 2>&1
  # shellcheck disable=SC2046
  line=$("$LOAD" $(url_flags "$ADDR") --connections "$CONNS" --size "$SIZE" \
    --in-flight "$IN_FLIGHT" --duration "$secs")
  if [[ $(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' <<<"$line") != 0 ]]; then
    echo "load counted errors: $line" >&2
    exit 1
  fi
  rate=$(sed -n 's/.*"msgs_per_sec":\([0-9.]*\).*/\1/p' <<<"$line")
  rm -f "$WORK"/cg.out.*
  callgrind_control --dump "$PID" >/dev/null 2>&1
  sleep 0.5
  dump=$(ls -t "$WORK"/cg.out.* 2>/dev/null | head -1)
  [[ -n "$dump" ]] || { echo "no callgrind dump" >&2; exit 1; }
  echo "$(total_ir "$dump") $(awk -v r="$rate" -v s="$secs" 'BEGIN { printf "%d", r * s }')"
}

echo "| server | messages (short / long run) | instructions per message |"
echo "|---|---|---|"
for bin in "$@"; do
  valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" --dump-instr=no \
    "$bin" --addr 127.0.0.1:0 >"$WORK/server.out" 2>"$WORK/server.err" &
  PID=$!
  ADDR=""
  for _ in $(seq 300); do
    ADDR=$(sed -n 's/^listening on //p' "$WORK/server.out")
    [[ -n "$ADDR" ]] && break
    sleep 0.1
  done
  [[ -n "$ADDR" ]] || { echo "$bin did not start:" >&2; cat "$WORK/server.err" >&2; exit 1; }
  read -r ir1 m1 < <(measure "$SHORT")
  read -r ir2 m2 < <(measure "$LONG")
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=""
  per=$(awk -v a="$ir1" -v b="$ir2" -v x="$m1" -v y="$m2" \
    'BEGIN { if (y > x) printf "%.0f", (b - a) / (y - x); else print "n/a" }')
  echo "| \`$bin\` | $m1 / $m2 | $per |"
done
