#!/usr/bin/env bash
# Usage: token.sh EMAIL [ORG_NAME]
# Prints an organization-scoped access token (JWT with org_id and role) for EMAIL:
# password grant, then the user's active membership (the one in ORG_NAME if given),
# then the refresh_token grant with that organization_id.
# Env: WORKOS_CLIENT_ID (required; becomes the token's `aud`),
#      WORKOS_API_URL (default http://127.0.0.1:4100), WORKOS_API_KEY (default sk_test_default),
#      DEMO_PASSWORD (default Password123!).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 EMAIL [ORG_NAME]" >&2
  exit 2
fi
export TOKEN_EMAIL="$1"
export TOKEN_ORG_NAME="${2:-}"
export WORKOS_API_URL="${WORKOS_API_URL:-http://127.0.0.1:4100}"
export WORKOS_API_KEY="${WORKOS_API_KEY:-sk_test_default}"
export DEMO_PASSWORD="${DEMO_PASSWORD:-Password123!}"
if [[ -z "${WORKOS_CLIENT_ID:-}" ]]; then
  echo "WORKOS_CLIENT_ID must be set" >&2
  exit 2
fi

api() { # METHOD PATH [JSON_BODY]; prints the body, fails on a non-2xx status
  local method="$1" path="$2" body="${3:-}"
  local args=(-sS --max-time 10 -X "$method" -H "Authorization: Bearer $WORKOS_API_KEY"
    -w '\n%{http_code}')
  if [[ -n "$body" ]]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$body")
  fi
  local out code
  out="$(curl "${args[@]}" "$WORKOS_API_URL$path")"
  code="${out##*$'\n'}"
  out="${out%$'\n'*}"
  if [[ "$code" != 2* ]]; then
    echo "$method $path -> HTTP $code: $out" >&2
    return 1
  fi
  printf '%s' "$out"
}

json() { # PYTHON_EXPR over `d` (the JSON on stdin); prints the result
  python3 -c 'import json, os, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

body="$(python3 -c 'import json, os; print(json.dumps({
  "grant_type": "password", "client_id": os.environ["WORKOS_CLIENT_ID"],
  "client_secret": os.environ["WORKOS_API_KEY"], "email": os.environ["TOKEN_EMAIL"],
  "password": os.environ["DEMO_PASSWORD"]}))')"
auth="$(api POST /user_management/authenticate "$body")"
user_id="$(json 'd["user"]["id"]' <<<"$auth")"
refresh="$(json 'd["refresh_token"]' <<<"$auth")"

# The emulator ignores `statuses=active` (it reads only `statuses[]`), so filter here too.
memberships="$(api GET "/user_management/organization_memberships?user_id=$user_id&statuses=active&limit=100")"
org_ids="$(json '"\n".join(m["organization_id"] for m in d["data"] if m["status"] == "active")' <<<"$memberships")"

org_id=""
while IFS= read -r id; do
  [[ -z "$id" ]] && continue
  if [[ -z "$TOKEN_ORG_NAME" ]]; then
    org_id="$id"
    break
  fi
  name="$(api GET "/organizations/$id" | json 'd["name"]')"
  if [[ "$name" == "$TOKEN_ORG_NAME" ]]; then
    org_id="$id"
    break
  fi
done <<<"$org_ids"
if [[ -z "$org_id" ]]; then
  echo "no active membership for $TOKEN_EMAIL${TOKEN_ORG_NAME:+ in $TOKEN_ORG_NAME}" >&2
  exit 1
fi

export TOKEN_REFRESH="$refresh" TOKEN_ORG_ID="$org_id"
body="$(python3 -c 'import json, os; print(json.dumps({
  "grant_type": "refresh_token", "client_id": os.environ["WORKOS_CLIENT_ID"],
  "client_secret": os.environ["WORKOS_API_KEY"], "refresh_token": os.environ["TOKEN_REFRESH"],
  "organization_id": os.environ["TOKEN_ORG_ID"]}))')"
api POST /user_management/authenticate "$body" | json 'd["access_token"]'
