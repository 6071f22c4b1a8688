#!/usr/bin/env bash
# `make bench`'s measurements, run under infra/scripts/services.sh (DynamoDB Local, the WorkOS
# emulator, moto), on release binaries already built into $BIN_DIR:
#
#   1. every function, the floor and the Node.js peer on the Lambda Runtime API harness
#      (infra/testkit/src/bin/bench-functions.rs → runs.json), with zip sizes added;
#   2. instructions from spawn to the first /next of every binary (valgrind's callgrind), a
#      figure the machine's load does not change;
#   3. the warm request without I/O (criterion: infra/testkit/benches/warm_request.rs);
#   4. the WorkOS sync at scale (infra/testkit/src/bin/scale-sync.rs, SCALE_USERS × SCALE_ORGS),
#      the live updates' write-to-delivery latency (infra/testkit/src/bin/bench-live.rs), and the
#      Convex import of 100,000 customers (infra/testkit/src/bin/bench-import.rs);
#   5. infra/bench/results.json from all of it, and docs/benchmarks.md with its chart from it
#      (infra/bench/report.py).
#
# Knobs: COLD_STARTS (5), WARM_INVOCATIONS (200), HEAVY_COLD_STARTS (4), HEAVY_WARM_INVOCATIONS
# (50), BENCH_ONLY (labels), SCALE_USERS (10000), SCALE_ORGS (100), SKIP_CRITERION=1, SKIP_SCALE=1, SKIP_LIVE=1, SKIP_IMPORT=1,
# BENCH_WORK (a work directory of an earlier run: the steps whose output is there are not run again).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bench="$root/infra/bench"
: "${AWS_ENDPOINT_URL_DYNAMODB:?run under infra/scripts/services.sh}" "${BIN_DIR:?the release binaries}"
work="${BENCH_WORK:-$(mktemp -d /tmp/bench.XXXXXX)}"
loadavg_start="$(cut -d' ' -f1-3 /proc/loadavg)"

echo "== the Node.js peer" >&2
(cd "$bench/node-peer" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)

if [[ ! -s "$work/runs.json" ]]; then
  echo "== every function on the Lambda Runtime API harness" >&2
  OUT_DIR="$work" cargo run --quiet -p testkit --bin bench-functions
fi

callgrind="$work/callgrind.json"
[[ -s "$callgrind" ]] || echo "== instructions to the first /next (callgrind: the same count whatever the load)" >&2
[[ -s "$callgrind" ]] || python3 - "$work" "$callgrind" <<'PY'
import json, os, re, subprocess, sys
work, out = sys.argv[1:3]
counts = {}
for run in json.load(open(os.path.join(work, "runs.json"))):
    env_file = os.path.join(work, f"{run['label']}.env.json")
    if run.get("kind") not in ("rust", "floor") or run["label"] in counts or not run.get("binary"):
        continue
    env = dict(os.environ, **(json.load(open(env_file)) if os.path.exists(env_file) else {}))
    # No Runtime API listens there: the binary initialises, fails its first /next, and exits.
    env.update(AWS_LAMBDA_RUNTIME_API="127.0.0.1:1", AWS_LAMBDA_FUNCTION_NAME=run["label"],
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_LAMBDA_FUNCTION_VERSION="$LATEST")
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", run["binary"]],
                          env=env, capture_output=True, text=True, timeout=300)
    found = re.search(r"Collected : (\d+)", done.stderr)
    counts[run["label"]] = int(found.group(1)) if found else None
json.dump(counts, open(out, "w"), indent=2)
PY

criterion="$work/warm-request.json"
if [[ -z "${SKIP_CRITERION:-}" && ! -s "$criterion" ]]; then
  echo "== the warm request without I/O (criterion)" >&2
  WARM_REQUEST_OUT="$criterion" cargo bench --quiet -p testkit --bench warm_request >"$work/criterion.txt"
fi

scale="$work/scale.json"
if [[ -z "${SKIP_SCALE:-}" && ! -s "$scale" ]]; then
  echo "== the WorkOS sync at scale" >&2
  SCALE_USERS="${SCALE_USERS:-10000}" SCALE_ORGS="${SCALE_ORGS:-100}" \
    cargo run --quiet --release -p testkit --bin scale-sync | sed -n 's/^SCALE //p' >"$scale"
fi

live="$work/live.json"
if [[ -z "${SKIP_LIVE:-}" && ! -s "$live" ]]; then
  echo "== live updates: write to delivery (1, 100, 1,000 sockets)" >&2
  cargo run --quiet --release -p testkit --bin bench-live >"$live"
fi

convex_import="$work/import.json"
if [[ -z "${SKIP_IMPORT:-}" && ! -s "$convex_import" ]]; then
  echo "== the Convex import at scale (100,000 customers, 20,000 assignments)" >&2
  cargo run --quiet --release -p testkit --bin bench-import >"$convex_import"
fi

python3 - "$work" "$bench/results.json" "$loadavg_start" "$criterion" "$scale" "$callgrind" "$live" "$convex_import" <<'PY'
import json, os, platform, subprocess, sys, time, zipfile
work, out, loadavg_start, criterion, scale, callgrind, live, convex_import = sys.argv[1:9]
instructions = json.load(open(callgrind)) if os.path.exists(callgrind) else {}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
runs = json.load(open(os.path.join(work, "runs.json")))
for run in runs:
    binary = run.get("binary")
    run["zip_bytes"] = None
    run["init_instructions"] = instructions.get(run.get("label"))
    if binary and run.get("kind") in ("rust", "floor"):
        # As `make build` packages it: the binary as `bootstrap`, deflated.
        path = os.path.join(work, "zip", os.path.basename(binary) + ".zip")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            z.write(binary, "bootstrap")
        run["zip_bytes"] = os.path.getsize(path)
sync = None
if os.path.exists(scale) and os.path.getsize(scale):
    s = json.load(open(scale))
    def total(report, keys):
        return sum(report.get(k) or 0 for k in keys)
    read, written = ("organizations", "users", "memberships", "events"), ("created", "updated", "removed")
    sync = {
        "users": s["users"], "orgs": s["orgs"], "setup_ms": s["setupMillis"],
        "passes": [
            {"name": "full", "ms": s["fullPassMillis"], "workos_requests": s["fullPassWorkosRequests"],
             "workos_objects_read": total(s["report"], read), "members_written": total(s["report"], written),
             "complete": s["report"].get("complete")},
            {"name": "no-op", "ms": s["noOpPassMillis"], "workos_requests": s["noOpPassWorkosRequests"],
             "workos_objects_read": total(s["noOpReport"], read), "members_written": total(s["noOpReport"], written),
             "complete": s["noOpReport"].get("complete")},
        ],
        "rate_limit_note": (
            f"WorkOS's published limits (workos.com/docs/reference/rate-limits, read 2026-12): 6,000 requests "
            f"per 60 seconds per API key in general, and for AuthKit's /user_management/* endpoints, which the "
            f"sync reads, 1,000 reads per 10 seconds per environment. The full pass made "
            f"{s['fullPassWorkosRequests']:,} requests for {s['users']:,} memberships in "
            f"{s['fullPassMillis'] / 1000:.0f} s: {s['fullPassWorkosRequests'] / 6000:.1%} of one minute's general "
            f"allowance, at an average of {s['fullPassWorkosRequests'] / max(s['fullPassMillis'] / 10000, 1):.0f} "
            f"per 10 seconds. The sync runs as one instance (reserved concurrency 1), waits out a 429's "
            f"Retry-After, and resumes from its saved state when its time budget ends."),
    }
results = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "machine": {"arch": platform.machine(), "nproc": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem / 2**20, 1),
                "kernel": platform.release(), "loadavg_start": loadavg_start.split(),
                "loadavg_end": open("/proc/loadavg").read().split()[:3]},
    "build": {"rustc": subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip(),
              "profile": "release: lto = true (fat), codegen-units = 1, opt-level = \"s\", strip, panic = \"abort\"",
              "target": subprocess.run(["rustc", "-vV"], capture_output=True, text=True).stdout.split("host: ")[1].split()[0],
              "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()},
    "harness": {"cold_starts": int(os.environ.get("COLD_STARTS", 5)),
                "warm_invocations": int(os.environ.get("WARM_INVOCATIONS", 200))},
    "runs": runs,
    "criterion": json.load(open(criterion)) if os.path.exists(criterion) else None,
    "sync": sync,
    "live": json.load(open(live))["live"] if os.path.exists(live) and os.path.getsize(live) else None,
    "convex_import": json.load(open(convex_import)) if os.path.exists(convex_import) and os.path.getsize(convex_import) else None,
    "floor_label": "floor", "peer_label": "node-peer", "peer_rust_label": "get-customer",
}
# What counting an API key's requests costs: get-customer with a token and with a key, side by side.
key_runs = [r for r in runs if r.get("label") in ("get-customer", "get-customer-key")]
if len(key_runs) == 2:
    results["api_keys"] = {"date": results["date"], "runs": key_runs, "machine": results["machine"]}
json.dump(results, open(out, "w"), indent=2)
print(f"wrote {out}; events, logs and zips in {work}", file=sys.stderr)
PY
python3 "$bench/report.py" "$bench/results.json" "$root/docs/benchmarks.md" "$root/docs/benchmarks.svg"
