#!/usr/bin/env bash
# Usage: demo-data.sh   (run by dev.sh once the local gateway is up)
# Fills the demo organization "Acme Demo" through the API itself: three customers, the staff
# member assigned to two of them, and the client user belonging to one. Skipped when the
# organization has customers already, and (with one line saying so, exit 0) when the demo users
# are not in this WorkOS environment (WORKOS_API_URL set to your own WorkOS or emulator).
# Env: PORT (default 9000), WORKOS_API_URL, WORKOS_CLIENT_ID (as for token.sh).
set -euo pipefail

scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
api="http://127.0.0.1:${PORT:-9000}"

if ! admin="$("$scripts/token.sh" admin@acme.test "Acme Demo" 2>/dev/null)" \
  || ! staff="$("$scripts/token.sh" staff@acme.test "Acme Demo" 2>/dev/null)" \
  || ! client="$("$scripts/token.sh" client@acme.test "Acme Demo" 2>/dev/null)"; then
  echo "demo data: skipped (the demo users of Acme Demo are not in ${WORKOS_API_URL:-the WorkOS environment})"
  exit 0
fi

call() { # METHOD PATH TOKEN [BODY]: prints the body, fails on an error status
  local method="$1" path="$2" token="$3" body="${4:-}"
  local args=(-sS --fail-with-body -X "$method" -H "Authorization: Bearer $token")
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  curl "${args[@]}" "$api$path"
}
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# Everyone signs in once, which provisions their membership.
staff_id="$(call GET /me "$staff" | python3 -c 'import json, sys; print(json.load(sys.stdin)["user"]["id"])')"
client_id="$(call GET /me "$client" | python3 -c 'import json, sys; print(json.load(sys.stdin)["user"]["id"])')"

existing="$(call GET /customers "$admin" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["items"]))')"
if [[ "$existing" != "0" ]]; then
  echo "demo data: Acme Demo has customers already"
  exit 0
fi

northwind="$(call POST /customers "$admin" '{"name": "Northwind Traders", "email": "ops@northwind.example"}' | field id)"
contoso="$(call POST /customers "$admin" '{"name": "Contoso Ltd", "phone": "+1 555 0100"}' | field id)"
call POST /customers "$admin" '{"name": "Initech", "notes": "Prospect; nobody assigned yet"}' >/dev/null
call PUT "/customers/$northwind/staff/$staff_id" "$admin" >/dev/null
call PUT "/customers/$contoso/staff/$staff_id" "$admin" >/dev/null
call PATCH "/users/$client_id" "$admin" "{\"customerId\": \"$northwind\"}" >/dev/null
echo "demo data: 3 customers; staff@acme.test assigned to Northwind Traders and Contoso Ltd; client@acme.test belongs to Northwind Traders"
