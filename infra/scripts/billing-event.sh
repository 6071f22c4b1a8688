#!/usr/bin/env bash
# Usage: billing-event.sh EVENT [EMAIL]   (make billing-event EVENT=subscription_created)
# Posts a Lemon Squeezy example event (infra/testkit/fixtures/lemonsqueezy/EVENT.json) to the
# local stack, for the organization of EMAIL (default admin@acme.test), signed with
# LEMONSQUEEZY_WEBHOOK_SECRET as Lemon Squeezy signs it, and prints the answer.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 EVENT [EMAIL]" >&2
  exit 2
fi
scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixture="$scripts/../testkit/fixtures/lemonsqueezy/$1.json"
[[ -f "$fixture" ]] || { echo "no fixture $fixture" >&2; exit 2; }
api="http://127.0.0.1:${PORT:-9000}"
token="$("$scripts/token.sh" "${2:-admin@acme.test}")"
org_id="$(curl -sS -H "Authorization: Bearer $token" "$api/me" | python3 -c 'import json, sys; print(json.load(sys.stdin)["organization"]["id"])')"

export FIXTURE="$fixture" ORG_ID="$org_id" SECRET="${LEMONSQUEEZY_WEBHOOK_SECRET:-local-webhook-secret}"
body_file="$(mktemp)"
trap 'rm -f "$body_file"' EXIT
signature="$(python3 -c '
import hashlib, hmac, os, sys
body = open(os.environ["FIXTURE"], "rb").read().replace(b"org_01JEXAMPLE0000000000000000", os.environ["ORG_ID"].encode())
open(sys.argv[1], "wb").write(body)
print(hmac.new(os.environ["SECRET"].encode(), body, hashlib.sha256).hexdigest())' "$body_file")"
curl -sS -X POST -H "X-Signature: $signature" -H 'Content-Type: application/json' --data-binary "@$body_file" "$api/webhooks/lemon-squeezy"
echo
