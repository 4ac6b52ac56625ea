#!/usr/bin/env bash
# WebSocket echo benchmark: pipebuf's ws_echo/wss_echo against the peers in bench/peers
# (tokio-tungstenite, fastwebsockets, the original pipebuf 0.3 family, and a plain tokio
# TCP/TLS byte echo as the floor), side by side in one run. Builds everything in release,
# pins each server to SERVER_CPU and the load generator to LOAD_CPU, and runs:
#
# - echo rows: ws and wss, CONNECTIONS × SIZE × IN-FLIGHT; each run's server CPU time over
#   the measured window comes from /proc (load's `--server-pid`), so the headline figure
#   is messages per server CPU-second (its inverse: server CPU per message). The floor runs
#   echo_load (bytes, no WebSocket) at the same sizes.
# - handshakes: complete WebSocket (and TLS) opening and closing handshakes per second,
#   HANDSHAKE_CONNS concurrent, with server CPU per handshake.
# - idle memory: the server's VmRSS before and after N connections are open and idle
#   (`load --hold`), per connection, for each N in IDLE.
#
# Every server runs fresh for each run, peers interleaved (the order rotates by round);
# ROUNDS runs per cell give the median and the range. Prints progress on stderr and writes
# OUT/runs.tsv (one line per run, raw JSON), OUT/report.md (tables) and OUT/ws-echo.png
# (chart; matplotlib from a venv under target/). With UPDATE=1 the report replaces the
# WebSocket section of BENCHMARKS.md and the chart is copied to bench/ws-echo.png.
#
#   ./scripts/bench-ws.sh                      # the rows of the comparison table
#   MATRIX=full ROUNDS=3 ./scripts/bench-ws.sh # 1, 64, 1000 conns × 16 B, 1 KiB, 64 KiB × 1, 16
#   UPDATE=1 ./scripts/bench-ws.sh             # regenerate BENCHMARKS.md's section
#
# Environment (all optional): ROUNDS=3, SECS=3 (seconds per echo or handshake run),
# MATRIX=rows|full, SERVERS="pipebuf tungstenite fastws pipebuf03 floor", IDLE="1000 10000",
# HANDSHAKE_CONNS=32, SERVER_CPU=0, LOAD_CPU=1, OUT=target/bench-ws, SKIP_BUILD=1 (use the
# binaries already built). Cells whose bytes in flight (connections × size × in-flight)
# exceed 256 MiB are skipped. 127.0.0.1 only; every run is bounded by SECS and the load
# tools' own grace periods; a run with any error (failed connection, wrong or missing echo)
# stops the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
MATRIX=${MATRIX:-rows}
SERVERS=${SERVERS:-pipebuf tungstenite fastws pipebuf03 floor}
IDLE=${IDLE:-1000 10000}
HANDSHAKE_CONNS=${HANDSHAKE_CONNS:-32}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-$ROOT/target/bench-ws}
UPDATE=${UPDATE:-0}
MAX_IN_FLIGHT_BYTES=$((256 << 20))

case "$MATRIX" in
  # scheme conns size in-flight: the rows of the comparison in the issue tracker, plus one
  # connection at 1 KiB.
  rows) CELLS="wss:64:1024:16 wss:1000:16:16 wss:64:65536:1 ws:64:1024:16 ws:1000:16:16 ws:64:65536:1 ws:1:1024:1 wss:1:1024:1" ;;
  full)
    CELLS=""
    for scheme in ws wss; do
      for conns in 1 64 1000; do
        for size in 16 1024 65536; do
          for k in 1 16; do CELLS+=" $scheme:$conns:$size:$k"; done
        done
      done
    done
    ;;
  *) echo "MATRIX is rows or full" >&2; exit 2 ;;
esac

mkdir -p "$OUT"
RUNS="$OUT/runs.tsv"
: >"$RUNS"
# Servers start through wrappers in $WORK (one per server and scheme, made below) that exec
# the binary pinned to SERVER_CPU, so that bench-common.sh's start_server records the server
# itself.
server_bin() { echo "$WORK/$1"; }
server_args() { :; }
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

LOAD_PID=""
cleanup() {
  if [[ -n "$LOAD_PID" ]]; then kill "$LOAD_PID" 2>/dev/null || true; fi
  cleanup_servers
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Enough descriptors for 10,000 connections on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# The code measured: the commit, marked when the sources differ from it at build time.
COMMIT=$(git rev-parse --short HEAD)
if [[ -n "$(git status --porcelain -- Cargo.lock pipebuf pipebuf_mio pipebuf_rustls pipebuf_websocket examples bench/peers)" ]]; then
  COMMIT="$COMMIT+ (uncommitted changes)"
fi
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "== building pipebuf's servers and load tools (release)" >&2
  cargo build --release -p pipebuf_examples --bin ws_echo --bin wss_echo --bin load --bin echo_load >&2
  echo "== building the peers (bench/peers, release)" >&2
  (cd bench/peers && cargo build --release >&2)
fi
BIN=$ROOT/target/release
PEER_BIN=$ROOT/bench/peers/target/release

# server_cmd NAME SCHEME: the server's command line (without --addr).
server_cmd() {
  local tls=""
  [[ $2 == wss ]] && tls="--tls"
  case "$1" in
    pipebuf) echo "$BIN/${2}_echo --threads 1" ;;
    tungstenite) echo "$PEER_BIN/tungstenite_echo $tls" ;;
    fastws) echo "$PEER_BIN/fastws_echo $tls" ;;
    pipebuf03) echo "$PEER_BIN/pipebuf03_echo $tls" ;;
    floor) echo "$PEER_BIN/tokio_floor_echo $tls" ;;
    *) echo "unknown server $1" >&2; exit 2 ;;
  esac
}

# start_ws_server NAME SCHEME: starts it pinned to SERVER_CPU on a free port; sets
# SERVER_PID, ADDR and SERVER_ERR (its stderr).
start_ws_server() {
  local wrapper="$1-$2"
  if [[ ! -x "$WORK/$wrapper" ]]; then
    # shellcheck disable=SC2046
    printf '#!/usr/bin/env bash\nexec taskset -c %q %s "$@"\n' "$SERVER_CPU" "$(server_cmd "$1" "$2")" \
      >"$WORK/$wrapper"
    chmod +x "$WORK/$wrapper"
  fi
  SERVER_ERR="$WORK/$wrapper.err"
  start_server "$wrapper"
}

# load_cmd NAME SCHEME: the load generator for a server: load (WebSocket) or, for the
# floor, echo_load (bytes).
ws_url_flags() {
  if [[ $2 == wss ]]; then echo "--url wss://$1/ --insecure"; else echo "--url ws://$1/"; fi
}

# record KIND CELL SERVER ROUND LINE: checks the JSON line for errors and appends it.
record() {
  local errors
  errors=$(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' <<<"$5")
  if [[ "$errors" != 0 ]]; then
    echo "$3 counted ${errors:-?} error(s) in $1 $2: $5" >&2
    cat "$SERVER_ERR" >&2
    exit 1
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RUNS"
}

# --- Echo rows ----------------------------------------------------------------------------
for cell in $CELLS; do
  IFS=: read -r scheme conns size k <<<"$cell"
  if ((conns * size * k > MAX_IN_FLIGHT_BYTES)); then
    echo "-- skipping $cell: over 256 MiB in flight" >&2
    continue
  fi
  for ((round = 1; round <= ROUNDS; round++)); do
    # shellcheck disable=SC2086
    for server in $(rotate "$round" $SERVERS); do
      start_ws_server "$server" "$scheme"
      if [[ $server == floor ]]; then
        tls=""
        [[ $scheme == wss ]] && tls="--tls"
        # shellcheck disable=SC2086
        line=$(taskset -c "$LOAD_CPU" "$BIN/echo_load" --addr "$ADDR" $tls --conns "$conns" \
          --size "$size" --inflight "$k" --secs "$SECS" --server-pid "$SERVER_PID") || {
          echo "echo_load failed against floor in $cell: $line" >&2
          exit 1
        }
      else
        # shellcheck disable=SC2046
        line=$(taskset -c "$LOAD_CPU" "$BIN/load" $(ws_url_flags "$ADDR" "$scheme") \
          --connections "$conns" --size "$size" --in-flight "$k" --duration "$SECS" \
          --server-pid "$SERVER_PID") || {
          echo "load failed against $server in $cell: $line" >&2
          cat "$SERVER_ERR" >&2
          exit 1
        }
      fi
      stop_server
      record echo "$cell" "$server" "$round" "$line"
      echo "echo $cell round $round $server: $line" >&2
    done
  done
done

# --- Handshakes ---------------------------------------------------------------------------
for scheme in ws wss; do
  for ((round = 1; round <= ROUNDS; round++)); do
    # shellcheck disable=SC2086
    for server in $(rotate "$round" $SERVERS); do
      [[ $server == floor && $scheme == ws ]] && continue # no handshake to speak of
      start_ws_server "$server" "$scheme"
      if [[ $server == floor ]]; then
        line=$(taskset -c "$LOAD_CPU" "$BIN/echo_load" --addr "$ADDR" --tls --handshakes \
          --conns "$HANDSHAKE_CONNS" --secs "$SECS" --server-pid "$SERVER_PID") || {
          echo "echo_load --handshakes failed against floor: $line" >&2
          exit 1
        }
      else
        # shellcheck disable=SC2046
        line=$(taskset -c "$LOAD_CPU" "$BIN/load" $(ws_url_flags "$ADDR" "$scheme") \
          --handshakes --connections "$HANDSHAKE_CONNS" --duration "$SECS" \
          --server-pid "$SERVER_PID") || {
          echo "load --handshakes failed against $server ($scheme): $line" >&2
          exit 1
        }
      fi
      stop_server
      record handshake "$scheme" "$server" "$round" "$line"
      echo "handshakes $scheme round $round $server: $line" >&2
    done
  done
done

# --- Idle memory --------------------------------------------------------------------------
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
for n in $IDLE; do
  for scheme in ws wss; do
    # shellcheck disable=SC2086
    for server in $(rotate 0 $SERVERS); do
      [[ $server == floor ]] && continue # load speaks WebSocket
      start_ws_server "$server" "$scheme"
      sleep 0.3
      before=$(rss_kib "$SERVER_PID")
      # shellcheck disable=SC2046
      taskset -c "$LOAD_CPU" "$BIN/load" $(ws_url_flags "$ADDR" "$scheme") --connections "$n" \
        --hold 120 >"$WORK/hold.out" 2>"$WORK/hold.err" &
      LOAD_PID=$!
      ready=""
      for _ in $(seq 1200); do
        ready=$(sed -n 's/^ready //p' "$WORK/hold.out")
        [[ -n "$ready" ]] && break
        kill -0 "$LOAD_PID" 2>/dev/null || break
        sleep 0.1
      done
      if [[ "$ready" != "$n" ]]; then
        echo "only ${ready:-no} connections of $n opened to $server ($scheme):" >&2
        cat "$WORK/hold.err" >&2
        exit 1
      fi
      sleep 1 # let the server finish its last turns
      after=$(rss_kib "$SERVER_PID")
      kill "$LOAD_PID" 2>/dev/null || true
      wait "$LOAD_PID" 2>/dev/null || true
      LOAD_PID=""
      stop_server
      line="{\"connections\":$n,\"rss_before_kib\":$before,\"rss_after_kib\":$after,\"errors\":0}"
      record idle "$scheme:$n" "$server" 1 "$line"
      echo "idle $scheme $n $server: $line" >&2
    done
  done
done

# --- Report -------------------------------------------------------------------------------
MACHINE=$(machine)
RUSTC=$(rustc --version)
COMMAND="ROUNDS=$ROUNDS SECS=$SECS MATRIX=$MATRIX ./scripts/bench-ws.sh"

VENV=$ROOT/target/bench-venv
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
  echo "== installing matplotlib into $VENV" >&2
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet matplotlib >&2
fi
"$VENV/bin/python" scripts/bench_ws_report.py "$RUNS" "$OUT" \
  --commit "$COMMIT" --machine "$MACHINE" --rustc "$RUSTC" --command "$COMMAND" \
  --peers-lock bench/peers/Cargo.lock --server-cpu "$SERVER_CPU" --load-cpu "$LOAD_CPU"
echo "== report: $OUT/report.md, chart: $OUT/ws-echo.png" >&2

if [[ "$UPDATE" == 1 ]]; then
  cp "$OUT/ws-echo.png" bench/ws-echo.png
  "$VENV/bin/python" scripts/bench_ws_report.py --splice BENCHMARKS.md "$OUT/report.md"
  echo "== BENCHMARKS.md and bench/ws-echo.png updated" >&2
fi
