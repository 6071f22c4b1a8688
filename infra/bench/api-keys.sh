#!/usr/bin/env bash
# The API keys' figures of docs/benchmarks.md alone ("API keys: what counting each request
# costs"), without the rest of `make bench`: release builds of get-customer, then get-customer
# with a staff member's token and with a read API key on the Lambda Runtime API harness
# (bench-functions, BENCH_ONLY), written into infra/bench/results.json's `api_keys`, and the
# document regenerated. Run from the repository's root: infra/bench/api-keys.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
target="${BENCH_TARGET:-target/bench}"
CARGO_TARGET_DIR="$target" cargo build --release --bin get-customer
work="$(mktemp -d /tmp/bench-keys.XXXXXX)"
loadavg_start="$(cut -d' ' -f1-3 /proc/loadavg)"
BIN_DIR="$target/release" OUT_DIR="$work" BENCH_ONLY=get-customer,get-customer-key \
  infra/scripts/services.sh cargo run --quiet -p testkit --bin bench-functions
python3 - "$work/runs.json" infra/bench/results.json "$loadavg_start" <<'PY'
import json, os, platform, sys, time
runs_path, out, loadavg_start = sys.argv[1:4]
runs = [r for r in json.load(open(runs_path)) if r.get("label") in ("get-customer", "get-customer-key")]
results = json.load(open(out))
results["api_keys"] = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "runs": runs,
    "machine": {"arch": platform.machine(), "nproc": os.cpu_count(), "loadavg_start": loadavg_start.split(),
                "loadavg_end": open("/proc/loadavg").read().split()[:3]},
}
json.dump(results, open(out, "w"), indent=2)
PY
python3 infra/bench/report.py infra/bench/results.json docs/benchmarks.md docs/benchmarks.svg
echo "api-keys: runs in $work; docs/benchmarks.md regenerated" >&2
