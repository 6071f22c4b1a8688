#!/usr/bin/env bash
# Usage: billing-event.sh EVENT [EMAIL]   (make billing-event EVENT=subscription_created)
# Posts a Lemon Squeezy example event (infra/testkit/fixtures/lemonsqueezy/EVENT.json) to the
# local stack, for the organization of EMAIL (default admin@acme.test), signed with
# LEMONSQUEEZY_WEBHOOK_SECRET as Lemon Squeezy signs it, and prints the answer. Its custom data
# carries the checkout tag that POST /billing/checkout would have made for that organization
# (shared/src/lemonsqueezy.rs, CheckoutTag), as a real checkout's events do.
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

export FIXTURE="$fixture" ORG_ID="$org_id" SECRET="${LEMONSQUEEZY_WEBHOOK_SECRET:-local-webhook-secret}" \
  TAG_SECRET="${CHECKOUT_TAG_SECRET:-local-checkout-tag-secret}"
body_file="$(mktemp)"
trap 'rm -f "$body_file"' EXIT
signature="$(python3 -c '
import hashlib, hmac, os, sys
secret, tag_secret, org = os.environ["SECRET"].encode(), os.environ["TAG_SECRET"].encode(), os.environ["ORG_ID"]
issued = "2025-01-15T10:00:00.000Z"  # fixed, so the same event again is a redelivery (duplicate)
key = hmac.new(tag_secret, b"checkout-tag-v1", hashlib.sha256).digest()
tag = hmac.new(key, f"{org}\n{issued}".encode(), hashlib.sha256).hexdigest()
custom = f"\"org_id\": \"{org}\", \"org_issued_at\": \"{issued}\", \"org_tag\": \"{tag}\"".encode()
body = open(os.environ["FIXTURE"], "rb").read().replace(b"\"org_id\": \"org_01JEXAMPLE0000000000000000\"", custom)
open(sys.argv[1], "wb").write(body)
print(hmac.new(secret, body, hashlib.sha256).hexdigest())' "$body_file")"
curl -sS -X POST -H "X-Signature: $signature" -H 'Content-Type: application/json' --data-binary "@$body_file" "$api/webhooks/lemon-squeezy"
echo
