#!/usr/bin/env bash
# Stack benchmark: the current tree's wss_echo (TCP → TLS → WebSocket → echo composed with
# pipebuf::Stack and driven by pipebuf_mio::Endpoint) against wss_echo built from a baseline
# revision (the hand-wired chain), side by side in one run. The figure compared is messages
# echoed per second of server CPU (user + system, all threads, from /proc): the server is
# pinned to one CPU and the load generator to another, so the rate alone mostly tells how much
# CPU the server got, while messages per server CPU-second tells what each message cost.
# Prints markdown tables.
#
#   ./scripts/bench-stack.sh
#
# Environment (all optional): BASE=9e205ed (baseline revision: checked out in a temporary git
# worktree and built in release into BASE_TARGET=target/bench-base, its own target directory;
# the worktree is removed on exit), ROUNDS=3 (each server is run ROUNDS times, interleaved:
# base then new in odd rounds, new then base in even ones), SECS=5 (seconds per load run),
# CONNS=64, SIZE=1024, IN_FLIGHT=16 (load's --connections, --size and --in-flight),
# SERVER_CPU=0 and LOAD_CPU=1 (the CPUs given to `taskset -c`).
#
# Both servers run with `--threads 1 --addr 127.0.0.1:0` and a self-signed certificate made
# at start; the client is the current tree's `load` (TLS through rustls, any certificate
# accepted, no session resumption). Each round starts the server, runs one load, reads the
# server's CPU time before and after the load run, and stops the server with SIGTERM. The
# CPU time includes the 64 connections' TLS and WebSocket handshakes and close handshakes (the
# same work for both servers); messages are only those echoed within SECS. A load run with
# any error (failed connection or handshake, wrong or missing echo) stops the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BASE=${BASE:-9e205ed}
BASE_TARGET=${BASE_TARGET:-$ROOT/target/bench-base}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
CONNS=${CONNS:-64}
SIZE=${SIZE:-1024}
IN_FLIGHT=${IN_FLIGHT:-16}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
SERVERS="base new"

BASE_COMMIT=$(git rev-parse --verify "$BASE^{commit}")
HEAD_COMMIT=$(git rev-parse HEAD)
SOURCES=(Cargo.toml Cargo.lock pipebuf pipebuf_mio pipebuf_rustls pipebuf_websocket examples)
# The state of the current tree's sources (tracked and untracked files): uncommitted work is
# named by a hash of its files' names and contents, taken just before the build.
tree_state() {
  if [[ -z "$(git status --porcelain -- "${SOURCES[@]}")" ]]; then return 0; fi
  echo " with uncommitted changes (sources sha256 $(git ls-files -z -co --exclude-standard -- "${SOURCES[@]}" \
    | sort -zu | while IFS= read -r -d '' f; do if [[ -f $f ]]; then sha256sum "$f"; fi; done \
    | sha256sum | cut -c1-12))"
}

# A server name maps to a wrapper in $WORK that execs the binary through taskset, so the
# process start_server records is the server itself, pinned to SERVER_CPU.
server_bin() { echo "$WORK/$1"; }
server_args() { echo "--threads 1"; }

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

WORKTREE="$WORK/base-worktree"
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  if [[ -d "$WORKTREE" ]]; then
    git worktree remove --force "$WORKTREE" >&2 || true
  fi
  cleanup_servers
  git worktree prune 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building the baseline $BASE ($BASE_COMMIT) in a worktree, target $BASE_TARGET" >&2
git worktree add --detach "$WORKTREE" "$BASE_COMMIT" >&2
(cd "$WORKTREE" && CARGO_TARGET_DIR="$BASE_TARGET" \
  cargo build --release -p pipebuf_examples --bin wss_echo >&2)
BASE_BIN="$BASE_TARGET/release/wss_echo"

echo "== building the current tree" >&2
DIRTY=$(tree_state)
cargo build --release -p pipebuf_examples --bin wss_echo --bin load >&2
if [[ "$(tree_state)" != "$DIRTY" ]]; then
  echo "the sources changed during the build; run again" >&2
  exit 1
fi
BIN=$(cargo metadata --format-version 1 --no-deps \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release
NEW_BIN="$BIN/wss_echo"
for b in "$BASE_BIN" "$NEW_BIN" "$BIN/load"; do
  [[ -x "$b" ]] || { echo "missing $b" >&2; exit 1; }
done
if cmp -s "$BASE_BIN" "$NEW_BIN"; then
  echo "note: the two wss_echo binaries are identical" >&2
fi

make_wrapper() {
  printf '#!/usr/bin/env bash\nexec taskset -c %q %q "$@"\n' "$SERVER_CPU" "$2" >"$WORK/$1"
  chmod +x "$WORK/$1"
}
make_wrapper base "$BASE_BIN"
make_wrapper new "$NEW_BIN"

label() {
  case "$1" in
    base) echo "base ${BASE_COMMIT:0:7} (hand-wired chain)" ;;
    new) echo "new ${HEAD_COMMIT:0:7}$([[ -n "$DIRTY" ]] && echo "+") (Stack/Endpoint)" ;;
  esac
}

# run_ws_load WHAT: runs load, pinned to LOAD_CPU, against the server at ADDR and sets LINE
# to its JSON line; stops the benchmark if load fails or counts any error.
run_ws_load() {
  local what=$1 errors
  if ! LINE=$(taskset -c "$LOAD_CPU" "$BIN/load" --url "wss://$ADDR/" --insecure \
    --connections "$CONNS" --size "$SIZE" --in-flight "$IN_FLIGHT" --duration "$SECS"); then
    echo "load failed for $what (see its messages above): ${LINE:-no output}" >&2
    exit 1
  fi
  errors=$(json errors "$LINE")
  if [[ "$errors" != 0 ]]; then
    echo "load counted ${errors:-an unknown number of} error(s) for $what (see its messages above): $LINE" >&2
    exit 1
  fi
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== $ROUNDS round(s): $CONNS connections x $SIZE B x $IN_FLIGHT in flight, ${SECS}s per run; server on CPU $SERVER_CPU, load on CPU $LOAD_CPU" >&2
: >"$WORK/runs"
for round in $(seq "$ROUNDS"); do
  order=$SERVERS
  if ((round % 2 == 0)); then order=$(echo "$SERVERS" | awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "") }'); fi
  for server in $order; do
    start_server "$server"
    comm=$(cat "/proc/$SERVER_PID/comm")
    [[ "$comm" == wss_echo ]] || { echo "pid $SERVER_PID is $comm, not wss_echo" >&2; exit 1; }
    t0=$(date +%s.%N)
    cpu0=$(cpu_ticks "$SERVER_PID")
    run_ws_load "$server, round $round"
    cpu1=$(cpu_ticks "$SERVER_PID")
    t1=$(date +%s.%N)
    stop_server
    rate=$(json msgs_per_sec "$LINE")
    # msgs/s, server CPU % of the load run's wall time, msgs per server CPU-second.
    read -r pct per_cpu <<<"$(awk -v r="$rate" -v s="$SECS" -v t=$((cpu1 - cpu0)) -v hz="$HZ" \
      -v w0="$t0" -v w1="$t1" \
      'BEGIN { c = t / hz; printf "%.1f %.0f", 100 * c / (w1 - w0), (c > 0 ? r * s / c : 0) }')"
    echo "round $round $server $LINE server_cpu_ticks=$((cpu1 - cpu0)) cpu_pct=$pct msgs_per_cpu_s=$per_cpu" >&2
    echo "$round $server $rate $pct $per_cpu" >>"$WORK/runs"
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# field ROUND SERVER COL: one column of one run.
field() { awk -v r="$1" -v s="$2" -v c="$3" '$1 == r && $2 == s { print $c }' "$WORK/runs"; }
# median SERVER COL: the median of a column over the rounds.
median() {
  awk -v s="$1" -v c="$2" '$2 == s { print $c }' "$WORK/runs" | sort -g \
    | awk '{ v[NR] = $1 } END { print (NR ? (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) : "-") }'
}
# ratio A B: A / B with three decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { print (b + 0 > 0 ? sprintf("%.3f", a / b) : "-") }'; }
# group N: thousands separators.
group() { awk -v n="$1" 'BEGIN { s = sprintf("%.0f", n); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'; }

echo "### Machine and revisions"
echo
echo "- nproc: $(nproc); CPU: $(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)"
echo "- $(rustc --version)"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average before/after: $LOAD_BEFORE / $LOAD_AFTER"
echo "- base: $(git log -1 --format='%h' "$BASE_COMMIT") ($(git log -1 --format='%s' "$BASE_COMMIT" | cut -c1-80)…)"
echo "- new: $(git log -1 --format='%h' "$HEAD_COMMIT")$DIRTY"
echo "- command: BASE=$BASE ROUNDS=$ROUNDS SECS=$SECS CONNS=$CONNS SIZE=$SIZE IN_FLIGHT=$IN_FLIGHT ./scripts/bench-stack.sh"
echo "- per run: \`taskset -c $SERVER_CPU wss_echo --addr 127.0.0.1:0 --threads 1\`, then \`taskset -c $LOAD_CPU load --url wss://ADDR/ --insecure --connections $CONNS --size $SIZE --in-flight $IN_FLIGHT --duration $SECS\`"
echo
echo "### WSS echo, $CONNS connections × $SIZE B × $IN_FLIGHT in flight, ${SECS}s per run"
echo
echo "| round | server | msgs/s | server CPU % | msgs per server CPU-second | new/base |"
echo "|---|---|---:|---:|---:|---:|"
for round in $(seq "$ROUNDS"); do
  for server in $SERVERS; do
    r=""
    if [[ $server == new ]]; then r=$(ratio "$(field "$round" new 5)" "$(field "$round" base 5)"); fi
    echo "| $round | $(label "$server") | $(group "$(field "$round" "$server" 3)") | $(field "$round" "$server" 4) | $(group "$(field "$round" "$server" 5)") | $r |"
  done
done
for server in $SERVERS; do
  r=""
  if [[ $server == new ]]; then r="**$(ratio "$(median new 5)" "$(median base 5)")**"; fi
  echo "| median | $(label "$server") | $(group "$(median "$server" 3)") | $(median "$server" 4) | $(group "$(median "$server" 5)") | $r |"
done
echo
RATIO=$(ratio "$(median new 5)" "$(median base 5)")
if awk -v r="$RATIO" 'BEGIN { exit !(r >= 0.97 && r <= 1.03) }'; then
  echo "new/base messages per server CPU-second (medians): $RATIO, within ±3 %."
else
  echo "new/base messages per server CPU-second (medians): $RATIO, outside ±3 %."
fi
