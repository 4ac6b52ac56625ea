#!/usr/bin/env bash
# TCP echo benchmark: pipebuf_mio's tcp_echo against tokio (current_thread) and blocking
# std::net (thread per connection), side by side in one run, then the server's memory per
# idle connection. Prints markdown tables.
#
#   ./scripts/bench-tcp.sh
#
# Environment (all optional): SECS=5 (seconds per load run), CONNS=64 (connections per load
# run), SIZES="16 65536" (message sizes), ROUNDS=3 (each server/size is run ROUNDS times,
# interleaved; each figure shown is the median of its column over the rounds, so figures in
# one row may come from different rounds), IDLE=10000 (idle connections for the
# memory benchmark), PINGS="0 16 65536" (the memory benchmark runs once per value: each idle
# connection first echoes that many bytes; 0 = opened and never used),
# SERVERS="tcp_echo tokio_echo std_echo" (also: tcp_echo_eager, see server_args).
#
# The load generator and the server share the machine: on a 2-core machine each gets about
# one core, so figures compare servers with each other, not with other machines. A load run
# with any error (failed connection, wrong or missing echo) stops the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-5}
CONNS=${CONNS:-64}
SIZES=${SIZES:-"16 65536"}
ROUNDS=${ROUNDS:-3}
IDLE=${IDLE:-10000}
PINGS=${PINGS-"0 16 65536"}
SERVERS=${SERVERS:-"tcp_echo tokio_echo std_echo"}

cargo build --release -p pipebuf_examples --bins >&2
BIN=$(cargo metadata --format-version 1 --no-deps \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release
for b in tcp_echo tokio_echo std_echo echo_load idle_conns; do
  [[ -x "$BIN/$b" ]] || { echo "missing $BIN/$b" >&2; exit 1; }
done


# Flags each server runs with: tcp_echo on one event loop, like tokio's current_thread.
# `tcp_echo_eager` is tcp_echo freeing idle buffers after every turn (--release-after-ms 0),
# to measure what keeping them for a while saves.
server_args() {
  case "$1" in
    tcp_echo) echo "--threads 1" ;;
    tcp_echo_eager) echo "--threads 1 --release-after-ms 0" ;;
    *) echo "" ;;
  esac
}

# The binary behind a server name.
server_bin() {
  case "$1" in
    tcp_echo_eager) echo "$BIN/tcp_echo" ;;
    *) echo "$BIN/$1" ;;
  esac
}

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
IDLE_PID=""
cleanup() {
  if [[ -n "$IDLE_PID" ]]; then kill "$IDLE_PID" 2>/dev/null || true; fi
  cleanup_servers
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
echo "== throughput: $CONNS connections, ${SECS}s per run, $ROUNDS round(s)" >&2
: >"$WORK/runs"
for round in $(seq "$ROUNDS"); do
  for server in $SERVERS; do
    start_server "$server"
    for size in $SIZES; do
      cpu0=$(cpu_ticks "$SERVER_PID")
      faults0=$(minor_faults "$SERVER_PID")
      run_load "$server, $size B, round $round" \
        --addr "$ADDR" --conns "$CONNS" --size "$size" --secs "$SECS"
      line=$LINE
      cpu1=$(cpu_ticks "$SERVER_PID")
      faults=$(per_msg $(($(minor_faults "$SERVER_PID") - faults0)) "$(json msgs "$line")")
      msgs=$(json msgs "$line")
      cpu_us=$(per_us $((cpu1 - cpu0)) "$msgs")
      echo "round $round $server $size $line server_cpu_us_per_msg=$cpu_us" >&2
      echo "$server $size $(json msgs_per_sec "$line") $(json mib_per_sec "$line") $(json p50_us "$line") $(json p99_us "$line") $cpu_us $faults $(json errors "$line")" >>"$WORK/runs"
    done
    stop_server
  done
done

# median SERVER SIZE: "msgs/s MiB/s p50 p99 cpu_us_per_msg errors", each figure the median
# over the rounds (so they may come from different rounds), errors summed.
median() {
  local col out=""
  for col in 3 4 5 6 7 8; do
    out+="$(awk -v s="$1" -v z="$2" -v c=$col '$1 == s && $2 == z { print $c }' "$WORK/runs" \
      | sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }') "
  done
  out+="$(awk -v s="$1" -v z="$2" '$1 == s && $2 == z { e += $9 } END { print e + 0 }' "$WORK/runs")"
  echo "$out"
}

echo "== memory: $IDLE idle connections" >&2
# idle_rss SERVER PING: sets MEM_RESULT to "before_kib after_kib bytes_per_connection".
idle_rss() {
  local server=$1 ping=$2 before after
  start_server "$server"
  sleep 0.5
  before=$(rss_kib "$SERVER_PID")
  rm -f "$WORK/idle.out"
  "$BIN/idle_conns" --addr "$ADDR" --conns "$IDLE" --hold 600 --ping "$ping" \
    >"$WORK/idle.out" 2>"$WORK/idle.err" &
  IDLE_PID=$!
  for _ in $(seq 1200); do
    grep -qs '^ready' "$WORK/idle.out" && break
    kill -0 "$IDLE_PID" 2>/dev/null || { cat "$WORK/idle.err" >&2; exit 1; }
    sleep 0.1
  done
  grep -qs '^ready' "$WORK/idle.out" || { echo "idle_conns never got ready" >&2; exit 1; }
  sleep 1
  after=$(rss_kib "$SERVER_PID")
  kill "$IDLE_PID" 2>/dev/null || true
  wait "$IDLE_PID" 2>/dev/null || true
  IDLE_PID=""
  stop_server
  echo "$server ping=$ping: VmRSS $before KiB -> $after KiB" >&2
  MEM_RESULT="$before $after $(( (after - before) * 1024 / IDLE ))"
}

declare -A MEM
for server in tcp_echo tokio_echo; do
  for ping in $PINGS; do
    idle_rss "$server" "$ping"
    MEM[$server.$ping]=$MEM_RESULT
  done
done

echo "### Machine"
echo
echo "- nproc: $(nproc); CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
echo "- $(rustc --version)"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- pipebuf pipebuf_mio examples 2>/dev/null || echo ' (with uncommitted changes under pipebuf, pipebuf_mio or examples)')"
echo
echo "### Throughput and latency ($CONNS connections, 1 message in flight each, ${SECS}s, median of $ROUNDS)"
echo
echo "| server | size | msgs/s | MiB/s | p50 µs | p99 µs | server CPU µs/msg | server page faults/msg | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for size in $SIZES; do
  for server in $SERVERS; do
    read -r msgs mib p50 p99 cpu faults errs <<<"$(median "$server" "$size")"
    label=$server
    [[ $server == tcp_echo ]] && label="tcp_echo --threads 1"
    [[ $server == tcp_echo_eager ]] && label="tcp_echo --threads 1 --release-after-ms 0"
    [[ $server == tokio_echo ]] && label="tokio_echo (current_thread)"
    [[ $server == std_echo ]] && label="std_echo (thread per conn)"
    echo "| $label | $size B | $msgs | $mib | $p50 | $p99 | $cpu | $faults | $errs |"
  done
done
echo
echo "### tcp_echo / tokio_echo"
echo
echo "| size | msgs/s ratio (higher is better) | p50 ratio (lower is better) | server CPU/msg ratio (lower is better) |"
echo "|---:|---:|---:|---:|"
for size in $SIZES; do
  read -r m1 _ l1 _ c1 _ <<<"$(median tcp_echo "$size")"
  read -r m2 _ l2 _ c2 _ <<<"$(median tokio_echo "$size")"
  awk -v a="$m1" -v b="$m2" -v c="$l1" -v d="$l2" -v e="$c1" -v f="$c2" -v s="$size" \
    'function r(x, y) { return (y + 0 > 0 ? sprintf("%.2f", x / y) : "-") }
     BEGIN { printf "| %s B | %s | %s | %s |\n", s, r(a, b), r(c, d), r(e, f) }'
done
echo
echo "### Server memory per idle connection ($IDLE connections, VmRSS after - before)"
echo
echo "| server | connections | VmRSS before KiB | VmRSS after KiB | bytes per connection |"
echo "|---|---|---:|---:|---:|"
for server in tcp_echo tokio_echo; do
  for ping in $PINGS; do
    read -r before after per <<<"${MEM[$server.$ping]}"
    what="opened, never used"
    [[ $ping != 0 ]] && what="after one $ping B echo"
    echo "| $server | $what | $before | $after | $per |"
  done
done
