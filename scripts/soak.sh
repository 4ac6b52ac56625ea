#!/usr/bin/env bash
# Soak test (issue 14): a bounded run, not part of CI.
#
#   scripts/soak.sh [SECONDS]          # default 300
#   SCHEME=ws scripts/soak.sh 60       # ws_echo instead of wss_echo
#
# Builds the release examples, starts `wss_echo` (or `ws_echo` with SCHEME=ws) on
# 127.0.0.1 pinned to core 0, and with the clients pinned to core 1:
#   1. holds IDLE (default 10000) idle WebSocket connections (`load --hold`, in batches of
#      IDLE_BATCH = 2000 so that each batch opens within load's 10 s limit);
#   2. runs ACTIVE (default 1000) connections for SECONDS with reconnect churn: each closes
#      (close handshake) after RECONNECT_EVERY (default 100) echoed messages and its slot
#      opens a new connection; messages are 16 B to MAX_SIZE (default 4096) bytes, every echo
#      checked byte for byte and in order by `load`;
#   3. lets every client go and waits (at most 30 s) for the server's fds to return.
# It samples the server's VmRSS (/proc/PID/status) and open fds (/proc/PID/fd) every 5 s
# into $OUT/samples.txt (OUT defaults to a temp dir, kept) and prints a summary table.
#
# Fails (exit 1) on any of:
#   - an error reported by `load` (connect, TLS, handshake, wrong or missing echo, broken
#     close), or an idle connection lost: once the active clients are gone the server's fd
#     count must equal its count with only the idle set up;
#   - RSS growth over the active phase above 10 % + 8 MiB: RSS is compared between the end
#     of the warm-up (WARMUP, default SECONDS/5 capped at 30 s, into the active phase) and
#     its last sample, both taken under the same load, so buffers of live connections and
#     the allocator's arenas are in both; a leak of a few bytes per message (about a
#     million messages in 300 s) or per connection (tens of thousands of reconnects) shows
#     as more, while allocator noise and fragmentation stay well within it;
#   - the server's fd count not back to its baseline (before any client) within 30 s.
# Needs `ulimit -n` above IDLE + ACTIVE + slack for the server and IDLE_BATCH + slack for
# each client: the script raises the soft limit to the hard limit and checks.
set -euo pipefail

SECS=${1:-300}
SCHEME=${SCHEME:-wss}
IDLE=${IDLE:-10000}
IDLE_BATCH=${IDLE_BATCH:-2000}
ACTIVE=${ACTIVE:-1000}
RECONNECT_EVERY=${RECONNECT_EVERY:-100}
MAX_SIZE=${MAX_SIZE:-4096}
WARMUP=${WARMUP:-$((SECS / 5 < 30 ? SECS / 5 : 30))}
OUT=${OUT:-$(mktemp -d /tmp/pipebuf-soak.XXXXXX)}
mkdir -p "$OUT"

case "$SCHEME" in
ws | wss) ;;
*)
    echo "soak: SCHEME must be ws or wss" >&2
    exit 2
    ;;
esac
if ! [[ "$SECS" =~ ^[0-9]+$ ]] || ((SECS < 10 || SECS > 86400)); then
    echo "soak: SECONDS must be 10 to 86400" >&2
    exit 2
fi

cd "$(dirname "$0")/.."
cargo build --release --quiet -p pipebuf_examples --bin ws_echo --bin wss_echo --bin load
BIN=$PWD/target/release

ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
if ((NOFILE < IDLE + ACTIVE + 1000)); then
    echo "soak: ulimit -n is $NOFILE, below IDLE + ACTIVE + 1000; lower IDLE or raise it" >&2
    exit 2
fi

TLS_FLAGS=()
if [[ "$SCHEME" == wss ]]; then TLS_FLAGS=(--insecure); fi
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }

taskset -c 0 "$BIN/${SCHEME}_echo" --addr 127.0.0.1:0 >"$OUT/server.out" 2>"$OUT/server.err" &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 100); do
    grep -q '^listening on' "$OUT/server.out" && break
    sleep 0.1
done
ADDR=$(sed -n 's/^listening on //p' "$OUT/server.out")
[[ -n "$ADDR" ]] || {
    echo "soak: the server did not start" >&2
    exit 1
}
URL="$SCHEME://$ADDR/"
FD_BASE=$(fds "$SERVER")
RSS_BASE=$(rss_kib "$SERVER")
echo "soak: $SCHEME server pid $SERVER at $ADDR; $IDLE idle, $ACTIVE active for ${SECS}s; output in $OUT"

# 1. The idle set, in batches; each load holds its connections until killed (step 3).
IDLE_PIDS=()
started=$(date +%s)
left=$IDLE
batch=0
while ((left > 0)); do
    n=$((left < IDLE_BATCH ? left : IDLE_BATCH))
    taskset -c 1 "$BIN/load" --url "$URL" "${TLS_FLAGS[@]}" --connections "$n" \
        --hold $((SECS + 3600)) >"$OUT/idle$batch.out" 2>"$OUT/idle$batch.err" &
    IDLE_PIDS+=($!)
    PIDS+=($!)
    for _ in $(seq 300); do
        grep -q '^ready' "$OUT/idle$batch.out" && break
        kill -0 "${IDLE_PIDS[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    ready=$(sed -n 's/^ready //p' "$OUT/idle$batch.out")
    if [[ "$ready" != "$n" ]]; then
        echo "soak: idle batch $batch: ready '${ready:-none}' of $n" >&2
        cat "$OUT/idle$batch.err" >&2
        exit 1
    fi
    left=$((left - n))
    batch=$((batch + 1))
done
sleep 2
FD_IDLE=$(fds "$SERVER")
RSS_IDLE=$(rss_kib "$SERVER")
echo "soak: $IDLE idle connections up in $(($(date +%s) - started))s"

# Samples every 5 s: seconds since the active phase started, VmRSS KiB, fds.
sampler() {
    local t0=$1
    while kill -0 "$SERVER" 2>/dev/null; do
        echo "$(($(date +%s) - t0)) $(rss_kib "$SERVER") $(fds "$SERVER")" >>"$OUT/samples.txt"
        sleep 5
    done
}
: >"$OUT/samples.txt"
T0=$(date +%s)
sampler "$T0" &
SAMPLER=$!
PIDS+=("$SAMPLER")

# 2. The active set with churn.
status=0
taskset -c 1 "$BIN/load" --url "$URL" "${TLS_FLAGS[@]}" --connections "$ACTIVE" \
    --reconnect-every "$RECONNECT_EVERY" --size 16 --max-size "$MAX_SIZE" \
    --duration "$SECS" >"$OUT/active.out" 2>"$OUT/active.err" || status=$?
ACTIVE_JSON=$(cat "$OUT/active.out")
kill "$SAMPLER" 2>/dev/null || true
# The last sample under load, and the one at the end of the warm-up.
RSS_WARM=$(awk -v w="$WARMUP" '$1 >= w {print $2; exit}' "$OUT/samples.txt")
RSS_END=$(awk -v s="$SECS" '$1 <= s {r = $2} END {print r}' "$OUT/samples.txt")

# Active connections gone: the server holds the idle set only, as at the start.
FD_END=$(fds "$SERVER")
for _ in $(seq 100); do
    FD_END=$(fds "$SERVER")
    ((FD_END == FD_IDLE)) && break
    sleep 0.1
done
RSS_ENDIDLE=$(rss_kib "$SERVER")
IDLE_ALIVE=0
for pid in "${IDLE_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && IDLE_ALIVE=$((IDLE_ALIVE + 1)); done

# 3. Every client leaves; the server's fds return to the baseline.
for pid in "${IDLE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
for pid in "${IDLE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
FD_AFTER=$(fds "$SERVER")
for _ in $(seq 300); do
    FD_AFTER=$(fds "$SERVER")
    ((FD_AFTER == FD_BASE)) && break
    sleep 0.1
done
RSS_AFTER=$(rss_kib "$SERVER")

field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$ACTIVE_JSON"; }
ERRORS=$(field errors)
MESSAGES=$(field messages)
OPENED=$(field opened)
fail=()
((status == 0)) || fail+=("load exited with $status")
[[ "$ERRORS" == 0 ]] || fail+=("load errors: ${ERRORS:-no JSON} ($(head -c 500 "$OUT/active.err"))")
[[ -n "$MESSAGES" && "$MESSAGES" != 0 ]] || fail+=("no message echoed")
((IDLE_ALIVE == ${#IDLE_PIDS[@]})) || fail+=("an idle client exited early")
((FD_END == FD_IDLE)) || fail+=("fds after the active phase: $FD_END, with the idle set alone: $FD_IDLE")
((FD_AFTER == FD_BASE)) || fail+=("fds after all clients left: $FD_AFTER, baseline $FD_BASE")
if [[ -z "$RSS_WARM" || -z "$RSS_END" ]]; then
    fail+=("too few RSS samples")
    RSS_LIMIT=0
else
    RSS_LIMIT=$((RSS_WARM + RSS_WARM / 10 + 8192))
    ((RSS_END <= RSS_LIMIT)) || fail+=("RSS grew from $RSS_WARM to $RSS_END KiB (limit $RSS_LIMIT)")
fi

mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
echo
echo "soak summary ($SCHEME, ${SECS}s, $IDLE idle, $ACTIVE active, reconnect every $RECONNECT_EVERY)"
printf '%-40s %12s %8s\n' "point" "server RSS" "fds"
printf '%-40s %12s %8s\n' "baseline (no client)" "$(mib "$RSS_BASE")" "$FD_BASE"
printf '%-40s %12s %8s\n' "idle set up" "$(mib "$RSS_IDLE")" "$FD_IDLE"
printf '%-40s %12s %8s\n' "active, after ${WARMUP}s warm-up" "$(mib "${RSS_WARM:-0}")" "-"
printf '%-40s %12s %8s\n' "active, last sample" "$(mib "${RSS_END:-0}")" "-"
printf '%-40s %12s %8s\n' "active gone, idle held" "$(mib "$RSS_ENDIDLE")" "$FD_END"
printf '%-40s %12s %8s\n' "all clients gone" "$(mib "$RSS_AFTER")" "$FD_AFTER"
echo "RSS limit at the end of the active phase: $(mib "$RSS_LIMIT") (warm-up + 10 % + 8 MiB)"
echo "active load: $ACTIVE_JSON"
echo "messages checked: ${MESSAGES:-0}; connections opened (incl. reconnects): ${OPENED:-0}; errors: ${ERRORS:-?}"
if ((${#fail[@]})); then
    printf 'soak: FAIL: %s\n' "${fail[@]}" >&2
    exit 1
fi
echo "soak: PASS"
