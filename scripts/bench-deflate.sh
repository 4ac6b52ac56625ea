#!/usr/bin/env bash
# Compressed WebSocket echo benchmark (issue 15, permessage-deflate): echo of JSON-like text
# messages of SIZE bytes (`load --payload json`) against
#
# - pipebuf's ws_echo with --deflate (context kept, and --deflate-context reset), and
#   without compression as the baseline;
# - tokio-tungstenite (bench/peers' tungstenite_echo), which has no permessage-deflate:
#   uncompressed;
# - Python's `websockets` (tests/py/deflate_server.py) with permessage-deflate (context
#   kept, and no context takeover both ways).
#
# The load generator is pipebuf's `load` (offering permessage-deflate with the same context
# setting to the compressing servers). Headline figures: messages per server CPU-second (the
# server's CPU time over the measured window from /proc, load's --server-pid) and bytes on
# the wire per message both ways. The wire bytes are counted by `load` itself (its driver's
# socket counters, from the start of the window to the last close), so they are the same
# way of counting whatever the server; the payload per message is printed next to them.
#
# Builds in release, pins each server to SERVER_CPU and load to LOAD_CPU (taskset), starts
# every server fresh for each run, interleaves the servers (the order rotates by round) and
# gives the median and range over ROUNDS. Writes OUT/runs.tsv (raw JSON lines) and
# OUT/report.md; with UPDATE=1 the report replaces the "Compressed WebSocket echo" section of
# BENCHMARKS.md (between its bench-deflate markers; appended if there is none).
#
#   ./scripts/bench-deflate.sh
#   ROUNDS=3 SECS=3 UPDATE=1 ./scripts/bench-deflate.sh
#
# Environment (all optional): ROUNDS=3, SECS=3 (seconds per run), SIZE=1024,
# CELLS="64:16 1:1" (connections:in-flight), SERVERS="pipebuf-keep pipebuf-reset pipebuf-off
# tungstenite python-keep python-reset", SERVER_CPU=0, LOAD_CPU=1, OUT=target/bench-deflate,
# SKIP_BUILD=1 (use the binaries already built). 127.0.0.1 only; every run is bounded by
# SECS and load's own grace periods (and a `timeout`); a run with any error stops the
# benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
SIZE=${SIZE:-1024}
CELLS=${CELLS:-64:16 1:1}
SERVERS=${SERVERS:-pipebuf-keep pipebuf-reset pipebuf-off tungstenite python-keep python-reset}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-$ROOT/target/bench-deflate}
UPDATE=${UPDATE:-0}
# load's own limits: GRACE (10 s) to open, SECS to measure, GRACE to drain; plus slack.
RUN_LIMIT=$((SECS + 40))

mkdir -p "$OUT"
RUNS="$OUT/runs.tsv"
: >"$RUNS"
BIN=$ROOT/target/release
PEER_BIN=$ROOT/bench/peers/target/release
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

cleanup() {
  exec 3>&- 2>/dev/null || true
  cleanup_servers
}
trap cleanup EXIT
trap 'exit 130' INT TERM

COMMIT=$(git rev-parse --short HEAD)
if [[ -n "$(git status --porcelain -- Cargo.lock pipebuf pipebuf_mio pipebuf_rustls pipebuf_websocket examples bench/peers tests/py/deflate_server.py)" ]]; then
  COMMIT="$COMMIT+ (uncommitted changes)"
fi
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "== building ws_echo and load (release)" >&2
  cargo build --release -p pipebuf_examples --bin ws_echo --bin load >&2
  echo "== building tungstenite_echo (bench/peers, release)" >&2
  (cd bench/peers && cargo build --release --bin tungstenite_echo >&2)
fi

# Python's websockets, in the venv the tests use (made as scripts/test.sh makes it).
PY_VENV=${CARGO_TARGET_DIR:-$ROOT/target}/py-venv
PY=$PY_VENV/bin/python
if [[ " $SERVERS " == *" python-"* ]] &&
  ! "$PY" -c 'import sys, websockets; sys.exit(int(websockets.__version__.split(".")[0]) < 13)' 2>/dev/null; then
  echo "== python venv with websockets in $PY_VENV" >&2
  python3 -m venv "$PY_VENV" >&2
  "$PY_VENV/bin/pip" install --quiet --disable-pip-version-check 'websockets>=13' >&2
fi

# server_cmd NAME: the server's command line (pipebuf's and tungstenite's without --addr).
server_cmd() {
  case "$1" in
    pipebuf-keep) echo "$BIN/ws_echo --threads 1 --deflate" ;;
    pipebuf-reset) echo "$BIN/ws_echo --threads 1 --deflate --deflate-context reset" ;;
    pipebuf-off) echo "$BIN/ws_echo --threads 1" ;;
    tungstenite) echo "$PEER_BIN/tungstenite_echo" ;;
    python-keep) echo "$PY $ROOT/tests/py/deflate_server.py" ;;
    python-reset) echo "$PY $ROOT/tests/py/deflate_server.py --no-context-takeover" ;;
    *) echo "unknown server $1" >&2; exit 2 ;;
  esac
}

# load_flags NAME: what load offers that server.
load_flags() {
  case "$1" in
    *-keep) echo "--deflate" ;;
    *-reset) echo "--deflate --deflate-context reset" ;;
    *) echo "" ;;
  esac
}

# start_deflate_server NAME: starts it pinned to SERVER_CPU on a free port, its stdin a FIFO
# held open on fd 3 (deflate_server.py stops at the end of its stdin); sets SERVER_PID, ADDR
# and SERVER_ERR.
start_deflate_server() {
  local name=$1 out="$WORK/$1.out" fifo="$WORK/stdin"
  SERVER_ERR="$WORK/$name.err"
  rm -f "$out" "$fifo"
  mkfifo "$fifo"
  local cmd
  read -r -a cmd <<<"$(server_cmd "$name")"
  [[ $name == python-* ]] || cmd+=(--addr 127.0.0.1:0)
  taskset -c "$SERVER_CPU" "${cmd[@]}" <"$fifo" >"$out" 2>"$SERVER_ERR" &
  SERVER_PID=$!
  exec 3>"$fifo"
  ADDR=""
  for _ in $(seq 100); do
    ADDR=$(sed -n 's/^listening on //p; s/^port \([0-9]*\)$/127.0.0.1:\1/p' "$out" 2>/dev/null || true)
    [[ -n "$ADDR" ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start:" >&2
  cat "$SERVER_ERR" >&2
  exit 1
}

stop_deflate_server() {
  stop_server
  exec 3>&-
}

for cell in $CELLS; do
  IFS=: read -r conns k <<<"$cell"
  for ((round = 1; round <= ROUNDS; round++)); do
    # shellcheck disable=SC2086
    for server in $(rotate "$round" $SERVERS); do
      start_deflate_server "$server"
      # shellcheck disable=SC2046
      line=$(taskset -c "$LOAD_CPU" timeout "$RUN_LIMIT" "$BIN/load" --url "ws://$ADDR/" \
        --connections "$conns" --in-flight "$k" --size "$SIZE" --payload json \
        --duration "$SECS" --server-pid "$SERVER_PID" $(load_flags "$server")) || {
        echo "load failed against $server in $cell: ${line:-no output}" >&2
        cat "$SERVER_ERR" >&2
        exit 1
      }
      if [[ $server == python-* ]] && ! grep -q '^extensions permessage-deflate' "$WORK/$server.out"; then
        echo "$server did not agree to permessage-deflate:" >&2
        cat "$WORK/$server.out" >&2
        exit 1
      fi
      stop_deflate_server
      errors=$(json errors "$line")
      if [[ "$errors" != 0 ]]; then
        echo "$server counted ${errors:-?} error(s) in $cell: $line" >&2
        cat "$SERVER_ERR" >&2
        exit 1
      fi
      printf '%s\t%s\t%s\t%s\n' "$cell" "$server" "$round" "$line" >>"$RUNS"
      echo "$cell round $round $server: $line" >&2
    done
  done
done

# --- Report -------------------------------------------------------------------------------
MACHINE=$(machine)
RUSTC=$(rustc --version)
PYVER=$("$PY" -c 'import sys, websockets; print("Python %d.%d.%d, websockets %s" % (sys.version_info[:3] + (websockets.__version__,)))' 2>/dev/null || echo "not used")
TUNGSTENITE=$(awk '/^name = "tokio-tungstenite"/ {getline; print $3}' bench/peers/Cargo.lock | tr -d '"')
COMMAND="ROUNDS=$ROUNDS SECS=$SECS SIZE=$SIZE ./scripts/bench-deflate.sh"

python3 - "$RUNS" "$OUT/report.md" <<EOF
import json, statistics, sys

runs_path, report_path = sys.argv[1], sys.argv[2]
names = {
    "pipebuf-keep": "pipebuf, deflate (context kept)",
    "pipebuf-reset": "pipebuf, deflate (context reset)",
    "pipebuf-off": "pipebuf, no compression",
    "tungstenite": "tokio-tungstenite (no compression)",
    "python-keep": "Python websockets, deflate (context kept)",
    "python-reset": "Python websockets, deflate (no context takeover)",
}
order = "$SERVERS".split()
cells, servers, runs = [], [], {}
for raw in open(runs_path):
    cell, server, _round, line = raw.rstrip("\n").split("\t", 3)
    if cell not in cells:
        cells.append(cell)
    if server not in servers:
        servers.append(server)
    runs.setdefault((cell, server), []).append(json.loads(line))

def med(values):
    return statistics.median(values)

out = []
w = out.append
w("<!-- bench-deflate:begin (generated by scripts/bench-deflate.sh: do not edit by hand) -->")
w("## Compressed WebSocket echo")
w("")
w("Echo of $SIZE-byte JSON-like text messages (\`load --payload json\`: arrays of event records "
  "with the same keys and varying ids, timestamps, names, amounts and tags, different for every "
  "connection and message, each echo checked byte for byte), permessage-deflate (RFC 7692) "
  "where the server has it. Regenerated by \`scripts/bench-deflate.sh\`; do not edit by hand.")
w("")
w("- Machine: $MACHINE; server pinned to CPU $SERVER_CPU, \`load\` to CPU $LOAD_CPU (taskset), "
  "on a shared machine whose other load varies.")
w("- Commit: \`$COMMIT\`; $RUSTC; tokio-tungstenite $TUNGSTENITE; $PYVER.")
w("- Command: \`$COMMAND\` ($ROUNDS rounds of $SECS s per cell and server, servers interleaved, "
  "each server started fresh for each run).")
w("- Messages per server CPU-second: messages echoed within the window divided by the server's "
  "CPU time over the window (\`/proc/PID/task/*/schedstat\`, all threads). The client (pipebuf's "
  "\`load\`, which also compresses when the server agrees) has its own CPU and is not counted.")
w("- Wire bytes per message are counted by \`load\` on the client side (its driver's socket "
  "counters, \`DriverStats::bytes_written/bytes_read\`, from the start of the window to the last "
  "close, divided by the echoes checked): the same counting whatever the server. *Sent* is "
  "client to server (frames masked, 4 bytes more per frame), *received* server to client. "
  "Compression settings: pipebuf level 6, 15-bit windows, messages under 64 bytes not "
  "compressed; websockets' \`ServerPerMessageDeflateFactory\` defaults as "
  "\`tests/py/deflate_server.py\` sets them (zlib level 6, 15-bit windows); \`load\` offers "
  "no \`client_max_window_bits\` limit.")
w("")
for cell in cells:
    conns, k = cell.split(":")
    w("### %s connection%s × %s in flight" % (conns, "" if conns == "1" else "s", k))
    w("")
    w("| server | msgs per server CPU-s (median, range) | server µs/msg | msgs/s | p50 µs "
      "| wire sent B/msg | wire received B/msg | payload B/msg | received / payload |")
    w("| --- | --: | --: | --: | --: | --: | --: | --: | --: |")
    for server in sorted(servers, key=lambda s: order.index(s) if s in order else len(order)):
        rs = runs.get((cell, server))
        if not rs:
            continue
        per_cpu = [1e6 / r["server_us_per_msg"] for r in rs if r.get("server_us_per_msg")]
        recv = med([r["wire_received_per_msg"] for r in rs])
        payload = med([r["payload_per_msg"] for r in rs])
        w("| %s | %s (%s–%s) | %.1f | %s | %.0f | %.1f | %.1f | %.0f | %.2f |" % (
            names.get(server, server),
            format(round(med(per_cpu)), ","), format(round(min(per_cpu)), ","),
            format(round(max(per_cpu)), ","),
            med([r["server_us_per_msg"] for r in rs]),
            format(round(med([r["msgs_per_sec"] for r in rs])), ","),
            med([r["p50_us"] for r in rs]),
            med([r["wire_sent_per_msg"] for r in rs]),
            recv, payload, recv / payload if payload else 0.0))
    w("")
w("msgs/s and latency are those of one \`load\` process on one core: where \`load\` compresses "
  "and checks every message, it rather than the server can set the rate; messages per server "
  "CPU-second is the comparison. Raw lines: \`target/bench-deflate/runs.tsv\` of the run.")
w("<!-- bench-deflate:end -->")
open(report_path, "w").write("\n".join(out) + "\n")
EOF
echo "== report: $OUT/report.md" >&2

if [[ "$UPDATE" == 1 ]]; then
  splice_report BENCHMARKS.md "$OUT/report.md" bench-deflate
  echo "== BENCHMARKS.md updated" >&2
fi
