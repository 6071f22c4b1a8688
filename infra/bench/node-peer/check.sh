#!/usr/bin/env bash
# Usage: infra/bench/node-peer/check.sh
# Proves that the Node.js peer answers GET /customers/{customerId} like functions/get-customer,
# then benchmarks it on infra/bench/lambda_harness.py. Runs itself under infra/scripts/services.sh
# (DynamoDB Local + the WorkOS emulator) unless those are already exported.
#
#   1. npm ci (only when node_modules is missing; from the npm registry, per package-lock.json)
#      and npm run build -> dist/peer.mjs (skipped when NODE_PEER_NO_BUILD=1 and it exists);
#   2. check.py: real WorkOS tokens, items stored as the Rust store writes them, every case
#      (200 admin/staff/client, 401s, 403s, 404s) through one cold start, full responses compared;
#   3. lambda_harness.py on the admin 200 event: COLD_STARTS (2) x WARM_INVOCATIONS (20), with
#      NODE_PEER_READS (get: GetItem member, then customer; batch: one BatchGetItem), every
#      answer must be 200. Its JSON goes to stdout (and $NODE_PEER_RESULT, if set).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"

if [[ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" || -z "${WORKOS_API_URL:-}" ]]; then
  exec "$root/infra/scripts/services.sh" "$0" "$@"
fi

cd "$here"
if [[ "${NODE_PEER_NO_BUILD:-0}" != 1 || ! -f dist/peer.mjs ]]; then
  [[ -d node_modules ]] || npm ci --no-audit --no-fund
  npm run --silent build
fi

work="$(mktemp -d /tmp/node-peer-check.XXXXXX)"
python3 "$here/check.py" "$here/dist/peer.mjs" "$work"

result="$work/bench.json"
export NODE_PEER_READS="${NODE_PEER_READS:-batch}"
python3 "$root/infra/bench/lambda_harness.py" "$here/dist/peer.mjs" "$work/admin-200.json" \
  --cold-starts "${COLD_STARTS:-2}" --warm-invocations "${WARM_INVOCATIONS:-20}" \
  --env "$work/env.json" --label "node-peer-get-customer-$NODE_PEER_READS" --log "$work/bench.log" >"$result"
cat "$result"
[[ -z "${NODE_PEER_RESULT:-}" ]] || cp "$result" "$NODE_PEER_RESULT"
python3 - "$result" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
statuses = {k.split(" ", 1)[0] for k in r["status_counts"]}
if r["failures"] or r["invocation_errors"] or statuses != {"200"}:
    sys.exit(f"benchmark run not all 200: failures {r['failures']}, statuses {r['status_counts']}")
f = lambda k: f"{r[k]['median']}/{r[k]['p95']}" if r[k] else "-"
print(f"{r['label']}: init {f('init_ms')} ms  first {f('first_invocation_ms')} ms  "
      f"warm {f('warm_invocation_ms')} ms  rss {f('peak_rss_mib')} MiB (median/p95)", file=sys.stderr)
PY
echo "logs and events in $work" >&2
