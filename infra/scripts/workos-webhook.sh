#!/usr/bin/env bash
# Usage: workos-webhook.sh ENDPOINT_URL   (run by dev.sh when it started the emulator)
# Registers ENDPOINT_URL (the local gateway's /webhooks/workos) with the WorkOS emulator as a
# webhook endpoint signed with WORKOS_WEBHOOK_SECRET, for the events the mirror applies. An
# endpoint already registered for that URL is left as it is.
# Env: WORKOS_API_URL (default http://127.0.0.1:4100), WORKOS_API_KEY (default sk_test_default),
#      WORKOS_WEBHOOK_SECRET (required).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 ENDPOINT_URL" >&2
  exit 2
fi
if [[ -z "${WORKOS_WEBHOOK_SECRET:-}" ]]; then
  echo "WORKOS_WEBHOOK_SECRET must be set" >&2
  exit 2
fi
export ENDPOINT_URL="$1"
export WORKOS_API_URL="${WORKOS_API_URL:-http://127.0.0.1:4100}"
export WORKOS_API_KEY="${WORKOS_API_KEY:-sk_test_default}"

python3 - <<'PY'
import json, os, urllib.request

base, key, url = os.environ["WORKOS_API_URL"].rstrip("/"), os.environ["WORKOS_API_KEY"], os.environ["ENDPOINT_URL"]
# The events shared/src/sync.rs applies (EVENT_TYPES).
events = ["user.created", "user.updated", "user.deleted", "organization.updated",
          "organization_membership.created", "organization_membership.updated",
          "organization_membership.deleted", "invitation.accepted"]

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)

existing = call("GET", "/webhook_endpoints?limit=100").get("data", [])
if any(endpoint.get("endpoint_url") == url for endpoint in existing):
    print(f"workos webhook: {url} is registered already")
else:
    call("POST", "/webhook_endpoints", {"endpoint_url": url, "secret": os.environ["WORKOS_WEBHOOK_SECRET"], "events": events})
    print(f"workos webhook: {url} registered with the emulator")
PY
