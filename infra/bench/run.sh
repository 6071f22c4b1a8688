#!/usr/bin/env bash
# Cold-start and invocation benchmarks of three release binaries on a local Lambda Runtime API
# (infra/bench/lambda_harness.py). Run it under services.sh, which starts DynamoDB Local and the
# WorkOS emulator on free loopback ports and exports their URLs:
#
#   CARGO_TARGET_DIR=/tmp/reltarget cargo build --release --bin get-org --bin lemonsqueezy-webhook --bin workos-sync
#   CARGO_TARGET_DIR=/tmp/reltarget infra/scripts/services.sh infra/bench/run.sh
#
# Writes infra/bench/results.json. Knobs: COLD_STARTS (10), WARM_INVOCATIONS (50, per cold start),
# SYNC_WARM_INVOCATIONS (20: keeps the sync under the emulator's 1,000 requests/minute),
# BIN_DIR (default $CARGO_TARGET_DIR/release, else target/release).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bench="$root/infra/bench"
: "${AWS_ENDPOINT_URL_DYNAMODB:?run under infra/scripts/services.sh}" "${WORKOS_API_URL:?run under infra/scripts/services.sh}"

bin_dir="${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}"
cold="${COLD_STARTS:-10}"
warm="${WARM_INVOCATIONS:-50}"
sync_warm="${SYNC_WARM_INVOCATIONS:-20}"
for bin in get-org lemonsqueezy-webhook workos-sync; do
  [[ -x "$bin_dir/$bin" ]] || { echo "missing $bin_dir/$bin: build it first (see the header)" >&2; exit 1; }
done

work="$(mktemp -d /tmp/bench.XXXXXX)"
export TABLE_NAME="bench-$(date +%s)"
export LEMONSQUEEZY_WEBHOOK_SECRET="bench-webhook-secret"
export RUST_LOG="${RUST_LOG:-info}"
unset PLANS LEMONSQUEEZY_ALLOW_TEST_MODE

python3 "$bench/ddb_table.py" "$TABLE_NAME"
python3 "$bench/events.py" "$work" "$LEMONSQUEEZY_WEBHOOK_SECRET" org_01JBENCHN0SUCH0RG000000000 $((cold * (warm + 1)))
python3 "$bench/workos_data.py" 3 5

harness() { # LABEL BINARY EVENT_FILE WARM
  echo "== $1" >&2
  python3 "$bench/lambda_harness.py" "$bin_dir/$2" "$3" --cold-starts "$cold" --warm-invocations "$4" \
    --label "$1" --log "$work/$1.log" >"$work/result-$1.json"
}
harness get-org-no-auth get-org "$work/get-org-no-auth.json" "$warm"
harness get-org-bad-token get-org "$work/get-org-bad-token.json" "$warm"
# The same cold starts with WORKOS_API_KEY read from Secrets Manager (moto's server, started by
# services.sh), as deployed: what the fetch adds to init.
if [[ -n "${AWS_ENDPOINT_URL_SECRETS_MANAGER:-}" ]]; then
  arn="$("$root/infra/.venv-moto/bin/python" - "$WORKOS_API_KEY" <<'PY'
import os, sys, time, boto3
client = boto3.client("secretsmanager", endpoint_url=os.environ["AWS_ENDPOINT_URL_SECRETS_MANAGER"],
                      region_name=os.environ["AWS_REGION"])
print(client.create_secret(Name=f"bench-workos-api-key-{time.time_ns()}", SecretString=sys.argv[1])["ARN"])
PY
)"
  (export WORKOS_API_KEY_SECRET_ARN="$arn"; unset WORKOS_API_KEY
   harness get-org-secrets-manager get-org "$work/get-org-no-auth.json" "$warm")
fi
harness lemonsqueezy-webhook lemonsqueezy-webhook "$work/lemonsqueezy.jsonl" "$warm"
harness workos-sync workos-sync "$work/workos-sync.json" "$sync_warm"

python3 - "$work" "$bench/results.json" <<'PY'
import json, os, platform, sys, time
work, out = sys.argv[1], sys.argv[2]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
results = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "machine": {"arch": platform.machine(), "nproc": os.cpu_count(), "cpu": cpu,
                "mem_gib": round(mem / 2**20, 1), "kernel": platform.release(),
                "loadavg_at_end": open("/proc/loadavg").read().split()[:3]},
    "runs": [json.load(open(os.path.join(work, f"result-{label}.json")))
             for label in ("get-org-no-auth", "get-org-bad-token", "get-org-secrets-manager",
                           "lemonsqueezy-webhook", "workos-sync")
             if os.path.exists(os.path.join(work, f"result-{label}.json"))],
}
json.dump(results, open(out, "w"), indent=2)
print(f"wrote {out}; logs in {work}", file=sys.stderr)
for r in results["runs"]:
    f = lambda k: f"{r[k]['median']}/{r[k]['p95']}" if r[k] else "-"
    print(f"{r['label']:22} {r['size_mib']:5} MiB  init {f('init_ms')} ms  first {f('first_invocation_ms')} ms  "
          f"warm {f('warm_invocation_ms')} ms  rss {f('peak_rss_mib')} MiB  failures {len(r['failures'])} "
          f"errors {r['invocation_errors']}", file=sys.stderr)
PY
