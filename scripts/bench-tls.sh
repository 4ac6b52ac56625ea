#!/usr/bin/env bash
# TLS echo benchmark: pipebuf's tls_echo (TCP → TLS → echo on pipebuf_mio) against tokio +
# tokio-rustls (current_thread) and blocking std::net + rustls StreamOwned (thread per
# connection), side by side in one run: throughput, latency and server CPU per message for
# each message size, then full handshakes per second. All three servers use the same rustls
# config (ring provider, a self-signed ECDSA P-256 certificate made at start, TLS 1.3
# negotiated); the client is echo_load --tls (rustls, no session resumption, any server
# certificate accepted). Prints markdown tables.
#
#   ./scripts/bench-tls.sh
#
# Environment (all optional): SECS=5 (seconds per load run), CONNS=64 (connections per load
# run), SIZES="16 1024 16384 65536" (message sizes), ROUNDS=3 (each server/size is run ROUNDS
# times, interleaved; each figure shown is the median over the rounds), HS_CONNS=$CONNS
# (concurrent connections of the handshake run: each cycles through connect, full handshake,
# one 16 B echo, close), SERVERS="tls_echo tokio_tls_echo std_tls_echo".
#
# The load generator and the server share the machine: on a 2-core machine each gets about
# one core, so figures compare servers with each other, not with other machines. Server CPU
# (user + system, all threads, from /proc) per message or handshake is the figure least
# affected by the client. A load run with any error (failed connection or handshake, wrong or
# missing echo) stops the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-5}
CONNS=${CONNS:-64}
SIZES=${SIZES:-"16 1024 16384 65536"}
ROUNDS=${ROUNDS:-3}
HS_CONNS=${HS_CONNS:-$CONNS}
SERVERS=${SERVERS:-"tls_echo tokio_tls_echo std_tls_echo"}
HS_SIZE=16

BINS="tls_echo tokio_tls_echo std_tls_echo echo_load"
build_args=()
for b in $BINS; do build_args+=(--bin "$b"); done
cargo build --release -p pipebuf_examples "${build_args[@]}" >&2
BIN=$(cargo metadata --format-version 1 --no-deps \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release
for b in $BINS; do
  [[ -x "$BIN/$b" ]] || { echo "missing $BIN/$b" >&2; exit 1; }
done

# Flags each server runs with: tls_echo on one event loop, like tokio's current_thread.
server_args() {
  case "$1" in
    tls_echo) echo "--threads 1" ;;
    *) echo "" ;;
  esac
}

label() {
  case "$1" in
    tls_echo) echo "tls_echo --threads 1" ;;
    tokio_tls_echo) echo "tokio_tls_echo (current_thread)" ;;
    std_tls_echo) echo "std_tls_echo (thread per conn)" ;;
    *) echo "$1" ;;
  esac
}

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
trap cleanup_servers EXIT

echo "== TLS throughput: $CONNS connections, ${SECS}s per run, $ROUNDS round(s); handshakes: $HS_CONNS connections" >&2
: >"$WORK/runs"
: >"$WORK/hs"
for round in $(seq "$ROUNDS"); do
  for server in $SERVERS; do
    start_server "$server"
    for size in $SIZES; do
      cpu0=$(cpu_ticks "$SERVER_PID")
      faults0=$(minor_faults "$SERVER_PID")
      run_load "$server, $size B, round $round" \
        --tls --addr "$ADDR" --conns "$CONNS" --size "$size" --secs "$SECS"
      line=$LINE
      cpu1=$(cpu_ticks "$SERVER_PID")
      faults=$(per_msg $(($(minor_faults "$SERVER_PID") - faults0)) "$(json msgs "$line")")
      cpu_us=$(per_us $((cpu1 - cpu0)) "$(json msgs "$line")")
      echo "round $round $server $size $line server_cpu_us_per_msg=$cpu_us" >&2
      echo "$server $size $(json msgs_per_sec "$line") $(json mib_per_sec "$line") $(json p50_us "$line") $(json p99_us "$line") $cpu_us $faults $(json errors "$line")" >>"$WORK/runs"
    done
    cpu0=$(cpu_ticks "$SERVER_PID")
    run_load "$server, handshakes, round $round" \
      --tls --handshakes --addr "$ADDR" --conns "$HS_CONNS" --size "$HS_SIZE" --secs "$SECS"
    line=$LINE
    cpu1=$(cpu_ticks "$SERVER_PID")
    cpu_us=$(per_us $((cpu1 - cpu0)) "$(json handshakes "$line")")
    echo "round $round $server handshakes $line server_cpu_us_per_handshake=$cpu_us" >&2
    echo "$server hs $(json handshakes_per_sec "$line") $(json p50_us "$line") $(json p99_us "$line") $cpu_us $(json errors "$line")" >>"$WORK/hs"
    stop_server
  done
done

# median FILE SERVER KEY COLUMNS...: the median over the rounds of each column (so figures
# may come from different rounds), then the errors (the last column) summed.
median() {
  local file=$1 server=$2 key=$3 col out=""
  shift 3
  for col in "$@"; do
    out+="$(awk -v s="$server" -v z="$key" -v c="$col" '$1 == s && $2 == z { print $c }' "$file" \
      | sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }') "
  done
  out+="$(awk -v s="$server" -v z="$key" '$1 == s && $2 == z { e += $NF } END { print e + 0 }' "$file")"
  echo "$out"
}

# ratio A B: A / B with two decimals, or "-".
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { print (b + 0 > 0 && a != "-" ? sprintf("%.2f", a / b) : "-") }'; }

has_server() { [[ " $SERVERS " == *" $1 "* ]]; }

echo "### Machine"
echo
echo "- nproc: $(nproc); CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
echo "- $(rustc --version)"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- pipebuf pipebuf_mio pipebuf_rustls examples 2>/dev/null || echo ' (with uncommitted changes under pipebuf, pipebuf_mio, pipebuf_rustls or examples)')"
echo "- command: SECS=$SECS CONNS=$CONNS SIZES=\"$SIZES\" ROUNDS=$ROUNDS HS_CONNS=$HS_CONNS ./scripts/bench-tls.sh"
echo
echo "### TLS echo throughput and latency ($CONNS connections, 1 message in flight each, ${SECS}s, median of $ROUNDS)"
echo
echo "| server | size | msgs/s | MiB/s | p50 µs | p99 µs | server CPU µs/msg | server page faults/msg | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for size in $SIZES; do
  for server in $SERVERS; do
    read -r msgs mib p50 p99 cpu faults errs <<<"$(median "$WORK/runs" "$server" "$size" 3 4 5 6 7 8)"
    echo "| $(label "$server") | $size B | $msgs | $mib | $p50 | $p99 | $cpu | $faults | $errs |"
  done
done
echo
echo "### Full TLS handshakes ($HS_CONNS connections, each: connect, handshake, one $HS_SIZE B echo, close; ${SECS}s, median of $ROUNDS)"
echo
echo "| server | handshakes/s | p50 cycle µs | p99 cycle µs | server CPU µs/handshake | errors |"
echo "|---|---:|---:|---:|---:|---:|"
for server in $SERVERS; do
  read -r rate p50 p99 cpu errs <<<"$(median "$WORK/hs" "$server" hs 3 4 5 6)"
  echo "| $(label "$server") | $rate | $p50 | $p99 | $cpu | $errs |"
done
if has_server tls_echo && has_server tokio_tls_echo; then
  echo
  echo "### tls_echo / tokio_tls_echo"
  echo
  echo "| workload | rate ratio (higher is better) | p50 ratio (lower is better) | server CPU ratio (lower is better) |"
  echo "|---|---:|---:|---:|"
  for size in $SIZES; do
    read -r m1 _ l1 _ c1 _ <<<"$(median "$WORK/runs" tls_echo "$size" 3 4 5 6 7)"
    read -r m2 _ l2 _ c2 _ <<<"$(median "$WORK/runs" tokio_tls_echo "$size" 3 4 5 6 7)"
    echo "| $size B echo | $(ratio "$m1" "$m2") | $(ratio "$l1" "$l2") | $(ratio "$c1" "$c2") |"
  done
  read -r h1 l1 _ c1 _ <<<"$(median "$WORK/hs" tls_echo hs 3 4 5 6)"
  read -r h2 l2 _ c2 _ <<<"$(median "$WORK/hs" tokio_tls_echo hs 3 4 5 6)"
  echo "| handshakes | $(ratio "$h1" "$h2") | $(ratio "$l1" "$l2") | $(ratio "$c1" "$c2") |"
fi
