#!/usr/bin/env bash
# Fuzzes every target (or those named) for SECONDS each, one after another, then minimises
# each target's corpus into fuzz/corpus/<target>. See FUZZING.md.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      default: 60 seconds, every target
#
# Installs cargo-fuzz if missing. Builds with a nightly toolchain and AddressSanitizer when one
# is installed, else on stable without a sanitizer (`-s none`); PIPEBUF_FUZZ_SANITIZER=none
# forces the latter. Release builds with debug assertions and overflow checks. Each run is
# pinned to one core (PIPEBUF_FUZZ_CPU, default 1) so it does not starve other work.
#
# Per target it prints the executions and whether a crash artifact appeared
# (fuzz/artifacts/<target>/); exits nonzero if any target crashed. Logs go to fuzz/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
all=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^pipebuf-fuzz$')
if (($#)); then targets=("$@"); else mapfile -t targets <<<"$all"; fi
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$all" || { echo "unknown target $t; targets: $(echo $all)" >&2; exit 2; }
done

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz

toolchain=()
sanitizer=none
if [ "${PIPEBUF_FUZZ_SANITIZER:-}" != none ] && rustup run nightly rustc --version >/dev/null 2>&1; then
  toolchain=(+nightly)
  sanitizer=address
fi
cpu=${PIPEBUF_FUZZ_CPU:-1}
pin=()
command -v taskset >/dev/null && pin=(taskset -c "$cpu")

# Longest input per target: enough for its largest interesting structure, small enough to
# keep executions fast and the committed corpus modest.
max_len() {
  case $1 in
    pipebuf_model) echo 1024 ;;
    handshake_request | handshake_response) echo 2048 ;;
    tls_server | tls_client) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

cd fuzz
mkdir -p logs
echo "building ${targets[*]} (sanitizer: $sanitizer)"
if (($# == 1)); then
  cargo "${toolchain[@]}" fuzz build -O -a -s "$sanitizer" "${targets[0]}"
else
  cargo "${toolchain[@]}" fuzz build -O -a -s "$sanitizer"
fi
bin_dir=target/$(rustc -vV | sed -n 's/^host: //p')/release

status=0
printf '%-20s %8s %12s %8s %s\n' target seconds executions corpus crash
for t in "${targets[@]}"; do
  corpus=corpus/$t
  work=work/$t
  mkdir -p "$corpus" "$work" "artifacts/$t" regressions/"$t" seeds/"$t"
  log=logs/$t.log
  before=$(ls "artifacts/$t" | wc -l)
  # New inputs go to the scratch corpus in work/; the committed corpus, the hand-made seeds
  # and the regressions are read as seeds.
  start=$SECONDS
  set +e
  "${pin[@]}" "$bin_dir/$t" -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
    "$work" "$corpus" seeds/"$t" regressions/"$t" >"$log" 2>&1
  rc=$?
  set -e
  ran=$((SECONDS - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  after=$(ls "artifacts/$t" | wc -l)
  crash=no
  if ((rc != 0 || after > before)); then
    crash="YES (exit $rc; see fuzz/$log and fuzz/artifacts/$t/)"
    status=1
  fi
  # Minimise: keep the smallest set of inputs that covers what the old corpus and this
  # run's finds cover (what `cargo fuzz cmin` does), beyond what the hand-made seeds (kept
  # by name in seeds/) cover already.
  rm -rf "$corpus.min" && mkdir -p "$corpus.min"
  cp seeds/"$t"/* "$corpus.min"/ 2>/dev/null || true
  if "${pin[@]}" "$bin_dir/$t" -merge=1 -max_len="$(max_len "$t")" -timeout=10 \
    "$corpus.min" "$corpus" "$work" >>"logs/$t.merge.log" 2>&1; then
    for seed in seeds/"$t"/*; do [ -e "$seed" ] && rm -f "$corpus.min/$(basename "$seed")"; done
    rm -rf "$corpus" && mv "$corpus.min" "$corpus"
  fi
  rm -rf "$corpus.min"
  files=$(ls "$corpus" | wc -l)
  printf '%-20s %8s %12s %8s %s\n' "$t" "$ran" "${execs:-?}" "$files" "$crash"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$ran" "${execs:-?}" "$files" "$crash" >>logs/summary.tsv
done
exit $status
