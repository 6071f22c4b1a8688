#!/usr/bin/env bash
# Usage: fuzz.sh [RUNS]   (make fuzz; RUNS defaults to 1,000,000 executions per target)
# Runs every fuzz target of fuzz/ with libFuzzer (cargo fuzz, nightly Rust) for RUNS executions,
# growing its corpus in fuzz/corpus/<target>, and prints one line per target: executions, time,
# corpus size, crashes (a crash stops the run, leaves its input in fuzz/artifacts/<target>/ and
# fails this script). `make test` replays the corpora on stable Rust (infra/fuzz-targets).
set -euo pipefail

runs="${1:-1000000}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo/fuzz"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz from crates.io" >&2
  cargo install cargo-fuzz --locked >&2
fi
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: cargo fuzz needs a nightly toolchain; this machine has none (rustup toolchain list)" >&2
  exit 1
fi
mkdir -p "$repo/infra/.run"
status=0
printf '%-14s %12s %9s %8s %s\n' target executions seconds corpus crashes
for target in lemonsqueezy workos token body cursor; do
  log="$repo/infra/.run/fuzz-$target.log"
  started=$(date +%s)
  if cargo +nightly fuzz run "$target" "corpus/$target" -- -runs="$runs" -max_len=65536 -timeout=10 >"$log" 2>&1; then
    crashes=0
  else
    crashes=1
    status=1
  fi
  seconds=$(( $(date +%s) - started ))
  done_runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -n 1 || true)
  printf '%-14s %12s %9s %8s %s\n' "$target" "${done_runs:-?}" "$seconds" "$(ls "corpus/$target" | wc -l)" "$crashes"
done
exit "$status"
