# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, not run): starting and stopping a server example
# on a free port, running echo_load (stopping at any error) and reading its JSON and the
# server's CPU time; interleaving servers by round, waiting for a machine free of fuzzers,
# naming the machine, and replacing a script's generated section of BENCHMARKS.md.
#
# The sourcing script sets BIN (the release binaries' directory) and defines
# `server_args NAME` (extra flags per server); it may define `server_bin NAME` (the binary
# behind a name, default "$BIN/NAME"). Servers are started one at a time.
#
# A server name that is a path (contains a `/`) runs that binary with the flags of its file
# name: for comparing against another build, e.g. SERVERS="/tmp/old/release/tls_echo tls_echo".

WORK=$(mktemp -d)
SERVER_PID=""

# Stops a server left running and removes the scratch directory; call from the EXIT trap.
cleanup_servers() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

if ! declare -F server_bin >/dev/null; then
  server_bin() { echo "$BIN/$1"; }
fi

# start_server NAME: starts it on a free port; sets SERVER_PID and ADDR.
start_server() {
  local name=$1 tag=${1//\//_} bin=$1
  local out="$WORK/$tag.out"
  [[ $name == */* ]] || bin=$(server_bin "$name")
  rm -f "$out" # no stale "listening on" line from an earlier start
  # shellcheck disable=SC2046
  "$bin" --addr 127.0.0.1:0 $(server_args "$(basename "$name")") >"$out" 2>"$WORK/$tag.err" &
  SERVER_PID=$!
  ADDR=""
  for _ in $(seq 100); do
    ADDR=$(sed -n 's/^listening on //p' "$out" 2>/dev/null || true)
    [[ -n "$ADDR" ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start:" >&2
  cat "$WORK/$tag.err" >&2
  exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# Minor page faults of a process so far (each is a fresh page touched: buffers allocated
# and zeroed again show up here).
minor_faults() { awk '{print $10}' "/proc/$1/stat"; }

# per_msg COUNT MSGS: COUNT per message, one decimal.
per_msg() { awk -v c="$1" -v m="$2" 'BEGIN { printf "%.1f", (m > 0 ? c / m : 0) }'; }

# User plus system CPU time of a process, all threads (exited ones too), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# per_us TICKS COUNT: server CPU microseconds per unit.
per_us() {
  awk -v t="$1" -v m="$2" -v hz="$HZ" 'BEGIN { printf "%.1f", (m > 0 ? t * 1000000 / hz / m : 0) }'
}

# json FIELD LINE: one numeric field of echo_load's JSON line.
json() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$2"; }

# run_load WHAT ARGS...: runs echo_load with ARGS and sets LINE to its JSON line. Stops the
# benchmark with a message naming WHAT when echo_load fails (wrong bytes, nothing echoed, bad
# flags) or counts any error (failed connections, missing echoes): figures from such a run
# do not compare with the others.
run_load() {
  local what=$1 errors
  shift
  if ! LINE=$("$BIN/echo_load" "$@"); then
    echo "echo_load failed for $what (see its messages above): ${LINE:-no output}" >&2
    exit 1
  fi
  errors=$(json errors "$LINE")
  if [[ "$errors" != 0 ]]; then
    echo "echo_load counted $errors error(s) for $what (see its messages above): $LINE" >&2
    exit 1
  fi
}

# rotate ROUND WORDS...: the words rotated left by ROUND (interleaving servers by round).
rotate() {
  local r=$1
  shift
  local words=("$@") n=$#
  for ((i = 0; i < n; i++)); do echo "${words[$(((i + r) % n))]}"; done
}

# wait_for_quiet: waits (polling every 30 s, at most QUIET_WAIT seconds, default 1800) until
# no fuzzer runs on the machine (`cargo fuzz run`, libFuzzer targets): pinned per-CPU figures
# mean little while one takes the cores. Fails (status 1) when the wait ran out: the caller
# then measures anyway and says so (`wait_for_quiet || busy=1`).
wait_for_quiet() {
  local waited=0 limit=${QUIET_WAIT:-1800}
  while pgrep -f 'fuzz run|libfuzzer|fuzz/target' >/dev/null; do
    if ((waited >= limit)); then
      echo "-- fuzzers still running after ${limit} s: measuring anyway" >&2
      return 1
    fi
    if ((waited == 0)); then echo "-- waiting for the fuzzers on this machine to finish" >&2; fi
    sleep 30
    waited=$((waited + 30))
  done
}

# machine: one line naming the CPU, the number of CPUs and the kernel.
machine() {
  echo "$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, $(uname -sr)"
}

# splice_report FILE REPORT NAME: replaces the section of FILE from `<!-- NAME:begin`
# through `<!-- NAME:end -->` with REPORT (which carries both markers), or appends REPORT
# when FILE has no such section.
splice_report() {
  python3 - "$1" "$2" "$3" <<'EOF'
import sys

target, report, name = sys.argv[1:4]
begin, end = "<!-- %s:begin" % name, "<!-- %s:end -->" % name
text = open(target).read()
new = open(report).read().rstrip("\n")
if begin in text and end in text:
    text = text[: text.index(begin)] + new + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + new + "\n"
open(target, "w").write(text)
EOF
}
