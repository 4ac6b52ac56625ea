#!/usr/bin/env bash
# HTTP/1.1 page benchmark: wrk against pipebuf's http_page (pipebuf_websocket::http on
# pipebuf_mio, one event loop) and bench/peers' hyper_page (hyper 1 on a current_thread tokio
# runtime), both serving wss_chat's page (3139 bytes, same response fields) for GET /.
#
# Rows (ROWS, CONNECTIONS:DEPTH): keep-alive with one request in flight per connection, and
# pipelining DEPTH requests per write (scripts/wrk-pipeline.lua). Headline figure: requests
# per server CPU-second, the responses wrk counted over the server's user plus system CPU
# time while wrk ran (/proc/PID/stat, all threads); also requests per second and wrk's p50
# and p99 latency.
#
# Builds in release, pins each server to SERVER_CPU and wrk (one thread) to LOAD_CPU
# (taskset), starts every server fresh for each run, interleaves the servers (the order
# rotates by round) and gives the median and range over ROUNDS. Before each run it waits for
# any fuzzer on the machine to finish (bench-common.sh's wait_for_quiet). Writes OUT/runs.tsv
# (raw JSON lines) and OUT/report.md; with UPDATE=1 the report replaces the "HTTP/1.1 page"
# section of BENCHMARKS.md (between its bench-http markers; appended if there is none).
#
#   ./scripts/bench-http.sh
#   ROUNDS=5 SECS=5 UPDATE=1 ./scripts/bench-http.sh
#
# Environment (all optional): ROUNDS=5, SECS=5 (seconds per wrk run), ROWS="64:1 64:16",
# SERVERS="pipebuf hyper", SERVER_CPU=0, LOAD_CPU=1, OUT=target/bench-http, QUIET_WAIT=1800
# (most seconds to wait for fuzzers before a run), SKIP_BUILD=1 (use the binaries already
# built). Needs wrk (Debian: apt-get install wrk). 127.0.0.1 only; every wrk run is bounded
# by SECS (and a `timeout`); a run with any error (connect, read, write, timeout, a status
# other than 2xx/3xx) stops the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=${ROUNDS:-5}
SECS=${SECS:-5}
ROWS=${ROWS:-64:1 64:16}
SERVERS=${SERVERS:-pipebuf hyper}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-$ROOT/target/bench-http}
UPDATE=${UPDATE:-0}
RUN_LIMIT=$((SECS + 30))

command -v wrk >/dev/null || { echo "wrk not found (Debian: apt-get install wrk)" >&2; exit 1; }
mkdir -p "$OUT"
RUNS="$OUT/runs.tsv"
: >"$RUNS"
BIN=$ROOT/target/release
PEER_BIN=$ROOT/bench/peers/target/release
# Servers start through wrappers in $WORK that exec the binary pinned to SERVER_CPU, so that
# bench-common.sh's start_server records the server itself.
server_bin() { echo "$WORK/$1"; }
server_args() { :; }
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
trap cleanup_servers EXIT
trap 'exit 130' INT TERM

COMMIT=$(git rev-parse --short HEAD)
if [[ -n "$(git status --porcelain -- Cargo.lock pipebuf pipebuf_mio pipebuf_websocket examples bench/peers scripts/wrk-pipeline.lua)" ]]; then
  COMMIT="$COMMIT+ (uncommitted changes)"
fi
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "== building http_page (release)" >&2
  cargo build --release -p pipebuf_examples --bin http_page >&2
  echo "== building hyper_page (bench/peers, release)" >&2
  (cd bench/peers && cargo build --release --bin hyper_page >&2)
fi

for name in $SERVERS; do
  case "$name" in
    pipebuf) cmd="$BIN/http_page --threads 1" ;;
    hyper) cmd="$PEER_BIN/hyper_page" ;;
    *) echo "unknown server $name" >&2; exit 2 ;;
  esac
  printf '#!/usr/bin/env bash\nexec taskset -c %q %s "$@"\n' "$SERVER_CPU" "$cmd" >"$WORK/$name"
  chmod +x "$WORK/$name"
done

busy_runs=0
for row in $ROWS; do
  IFS=: read -r conns depth <<<"$row"
  for ((round = 1; round <= ROUNDS; round++)); do
    # shellcheck disable=SC2086
    for server in $(rotate "$round" $SERVERS); do
      busy=0
      wait_for_quiet || busy=1
      busy_runs=$((busy_runs + busy))
      start_server "$server"
      cpu0=$(cpu_ticks "$SERVER_PID")
      out=$(taskset -c "$LOAD_CPU" timeout "$RUN_LIMIT" wrk -t1 -c "$conns" -d "${SECS}s" \
        --timeout 5s -s scripts/wrk-pipeline.lua "http://$ADDR/" -- "$depth") || {
        echo "wrk failed against $server in $row:" >&2
        echo "$out" >&2
        cat "$WORK/$server.err" >&2
        exit 1
      }
      cpu1=$(cpu_ticks "$SERVER_PID")
      stop_server
      line=$(grep '^{' <<<"$out" || true)
      errors=$(json errors "$line")
      if [[ "$errors" != 0 ]]; then
        echo "$server counted ${errors:-?} error(s) in $row: ${line:-no JSON line}" >&2
        echo "$out" >&2
        cat "$WORK/$server.err" >&2
        exit 1
      fi
      line="${line%\}},\"server_cpu_s\":$(awk -v t=$((cpu1 - cpu0)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'),\"busy\":$busy}"
      printf '%s\t%s\t%s\t%s\n' "$row" "$server" "$round" "$line" >>"$RUNS"
      echo "$row round $round $server: $line" >&2
    done
  done
done

# --- Report -------------------------------------------------------------------------------
lock_version() { awk -v n="$1" '$0 == "name = \"" n "\"" {getline; print $3}' bench/peers/Cargo.lock | tr -d '"'; }
PEERS="hyper $(lock_version hyper), hyper-util $(lock_version hyper-util), tokio $(lock_version tokio)"
WRK=$(wrk -v 2>&1 | head -1 | awk '{print $2}' || true)
COMMAND="ROUNDS=$ROUNDS SECS=$SECS ./scripts/bench-http.sh"
[[ "$ROWS" == "64:1 64:16" ]] || COMMAND="ROWS=\"$ROWS\" $COMMAND"

python3 - "$RUNS" "$OUT/report.md" <<EOF
import json, statistics, sys

runs_path, report_path = sys.argv[1], sys.argv[2]
names = {"pipebuf": "pipebuf (\`http_page\`)", "hyper": "hyper (\`hyper_page\`)"}
order = "$SERVERS".split()
rows, runs = [], {}
for raw in open(runs_path):
    row, server, _round, line = raw.rstrip("\n").split("\t", 3)
    if row not in rows:
        rows.append(row)
    runs.setdefault((row, server), []).append(json.loads(line))

def per_cpu(r):
    return r["requests"] / r["server_cpu_s"] if r["server_cpu_s"] > 0 else 0.0

def rate(r):
    return r["requests"] * 1e6 / r["duration_us"]

def si(x):
    for scale, unit in ((1e6, "M"), (1e3, "K")):
        if x >= scale:
            v = x / scale
            return ("%.2f" if v < 10 else "%.0f" if v >= 100 else "%.1f") % v + unit
    return "%.0f" % x

def label(row):
    conns, depth = row.split(":")
    if depth == "1":
        return "keep-alive, %s connections, 1 in flight" % conns
    return "pipelined, %s connections × %s per write" % (conns, depth)

med = statistics.median
servers = [s for s in order if any((row, s) in runs for row in rows)]
busy = sum(r.get("busy", 0) for rs in runs.values() for r in rs)
out = []
w = out.append
w("<!-- bench-http:begin (generated by scripts/bench-http.sh: do not edit by hand) -->")
w("## HTTP/1.1 page")
w("")
w("\`wrk\` against two servers of \`wss_chat\`'s page (\`GET /\`, 3139 bytes of HTML, the same "
  "response fields, about 3.2 KB a response): pipebuf's \`http_page\` "
  "(\`pipebuf_websocket::http\` with a handler on \`pipebuf_mio\`, one event loop) and "
  "\`bench/peers\`' \`hyper_page\` (hyper 1 on a \`current_thread\` tokio runtime, "
  "\`pipeline_flush\` on). Regenerated by \`scripts/bench-http.sh\`; do not edit by hand.")
w("")
w("- Machine: $(machine); each server alone on CPU $SERVER_CPU, fresh for every run, "
  "\`wrk -t1\` on CPU $LOAD_CPU (taskset), on a shared machine whose other load varies.")
w("- Commit: \`$COMMIT\`; $(rustc --version); $PEERS; wrk $WRK.")
w("- Command: \`$COMMAND\` ($ROUNDS rounds of $SECS s per row and server, servers "
  "interleaved). Before each run the script waits for fuzzers on the machine to finish"
  + (" (%d run(s) went ahead with fuzzers still running)." % busy if busy else "."))
w("- Requests per server CPU-second: the responses wrk counted divided by the server's user "
  "plus system CPU time (\`/proc/PID/stat\`, all threads) while wrk ran. wrk's own CPU is not "
  "counted. wrk, one thread on one core, sets the rate (the *server CPU* column says how "
  "busy the server's core was), so requests per second compare less well than server CPU "
  "per request.")
w("- Pipelined rows use \`scripts/wrk-pipeline.lua\`: each connection writes a batch of "
  "requests and the next batch once every response is in. Latency is wrk's, from a write to "
  "its last response (a whole batch when pipelined), after wrk 4.1's coordinated-omission "
  "correction.")
w("")
w("### Requests per server CPU-second (median of the rounds, range)")
w("")
w("Higher is better; *pipebuf ÷ hyper* above 1 means pipebuf spends less server CPU per request.")
w("")
w("| row | " + " | ".join(names.get(s, s) for s in servers) + " | pipebuf ÷ hyper |")
w("|---|" + "---|" * len(servers) + "---|")
for row in rows:
    cells, medians = [], {}
    for s in servers:
        rs = runs.get((row, s), [])
        if not rs:
            cells.append("–")
            continue
        v = [per_cpu(r) for r in rs]
        medians[s] = med(v)
        cells.append("%s (%s–%s)" % (si(med(v)), si(min(v)), si(max(v))))
    ratio = ("**%.2f×**" % (medians["pipebuf"] / medians["hyper"])
             if medians.get("pipebuf") and medians.get("hyper") else "–")
    w("| %s | %s | %s |" % (label(row), " | ".join(cells), ratio))
w("")
w("### Rate, CPU and latency (medians)")
w("")
w("| row | server | requests/s | server µs/request | server CPU | p50 µs | p99 µs | bytes/response |")
w("|---|---|--:|--:|--:|--:|--:|--:|")
for row in rows:
    for s in servers:
        rs = runs.get((row, s), [])
        if not rs:
            continue
        w("| %s | %s | %s | %.2f | %.0f%% | %.0f | %.0f | %.0f |" % (
            label(row), names.get(s, s), si(med([rate(r) for r in rs])),
            med([1e6 / per_cpu(r) for r in rs if per_cpu(r) > 0]),
            med([100 * r["server_cpu_s"] * 1e6 / r["duration_us"] for r in rs]),
            med([r["p50_us"] for r in rs]), med([r["p99_us"] for r in rs]),
            med([r["bytes"] / r["requests"] for r in rs if r["requests"]])))
w("")
w("Raw lines: \`target/bench-http/runs.tsv\` of the run.")
w("<!-- bench-http:end -->")
open(report_path, "w").write("\n".join(out) + "\n")
EOF
echo "== report: $OUT/report.md" >&2
cat "$OUT/report.md"

if [[ "$UPDATE" == 1 ]]; then
  splice_report BENCHMARKS.md "$OUT/report.md" bench-http
  echo "== BENCHMARKS.md updated" >&2
fi
