#!/usr/bin/env bash
# Usage: dev.sh                 (run by `make dev`)
#        dev.sh COMMAND [ARGS]  (run by `make test` and `make test-browser`)
# The whole API locally: DynamoDB Local (data kept in infra/.data/dynamodb) unless
# AWS_ENDPOINT_URL_DYNAMODB is set, the WorkOS emulator on port 4100 with the demo seed unless
# WORKOS_API_URL is set, the table, demo data, the TypeScript client's example page, and every
# function behind the local gateway on $PORT (default 9000). Ctrl-C stops everything it started.
# With a COMMAND, the same stack starts afresh on free ports (DynamoDB in memory, its own
# emulator), COMMAND runs with API_URL and the WorkOS variables set, everything stops, and the
# script exits with COMMAND's status.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
infra_dir="$repo/infra"
scripts="$infra_dir/scripts"
run_dir="$infra_dir/.run"
mkdir -p "$run_dir"

# shellcheck source=lib.sh
source "$scripts/lib.sh"

command=("$@")
if [[ ${#command[@]} -gt 0 ]]; then
  PORT="$(free_port)" DYNAMODB_PORT="$(free_port)" WORKOS_EMULATOR_PORT="$(free_port)"
  export PORT DYNAMODB_PORT WORKOS_EMULATOR_PORT
  unset AWS_ENDPOINT_URL_DYNAMODB WORKOS_API_URL
fi
export PORT="${PORT:-9000}"
# shellcheck source=local-env.sh
source "$scripts/local-env.sh"
export LOCAL_CREATE_TABLE=1

if [[ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]]; then
  ddb_port="${DYNAMODB_PORT:-8000}"
  data_dir=("$infra_dir/.data/dynamodb")
  [[ ${#command[@]} -gt 0 ]] && data_dir=()  # in memory
  start_logged "$run_dir/dynamodb-$ddb_port.log" "$scripts/start-dynamodb.sh" "$ddb_port" "${data_dir[@]}"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$ddb_port"
  "$scripts/wait-for.sh" "$AWS_ENDPOINT_URL_DYNAMODB" 60 "DynamoDB Local"
else
  # One started elsewhere may still be starting: a few seconds for it, then one line naming the
  # URL, rather than the gateway's failure to create the table (the SDK's whole error).
  "$scripts/wait-for.sh" "$AWS_ENDPOINT_URL_DYNAMODB" 10 "DynamoDB (AWS_ENDPOINT_URL_DYNAMODB)"
fi

started_emulator=""
if [[ -z "${WORKOS_API_URL:-}" ]]; then
  started_emulator=1
  workos_port="${WORKOS_EMULATOR_PORT:-4100}"
  start_logged "$run_dir/workos-$workos_port.log" "$scripts/start-workos.sh" "$workos_port" "$infra_dir/workos-seed.yaml"
  export WORKOS_API_URL="http://localhost:$workos_port"
  "$scripts/wait-for.sh" "$WORKOS_API_URL/health" 60 "the WorkOS emulator"
  "$scripts/workos-bootstrap.sh" "$infra_dir/workos-seed.yaml" >/dev/null
fi

# The page is on 127.0.0.1 and, in the browser test, calls the API as localhost: a CORS origin.
export CORS_ALLOWED_ORIGINS="${CORS_ALLOWED_ORIGINS:-http://localhost:3000,http://127.0.0.1:$PORT}"
cargo build --workspace --quiet --manifest-path "$repo/Cargo.toml"
(cd "$repo/clients/typescript" && npm run --silent build:example)
if [[ ${#command[@]} -gt 0 ]]; then
  start_logged "$run_dir/gateway-$PORT.log" "$repo/target/debug/dev-server"
else
  "$repo/target/debug/dev-server" &
  pids+=($!)
fi
"$scripts/wait-for.sh" "http://127.0.0.1:$PORT/me" 60 "the local gateway"
if [[ -n "$started_emulator" ]]; then
  # Changes made in the emulator reach the mirror live, as WorkOS's webhook would bring them.
  "$scripts/workos-webhook.sh" "http://127.0.0.1:$PORT/webhooks/workos" \
    || echo "workos webhook: not registered (see above); make sync still mirrors changes"
fi
# Demo data never takes the API down with it.
"$scripts/demo-data.sh" || echo "demo data: failed (see above); the API stays up"

if [[ ${#command[@]} -gt 0 ]]; then
  export API_URL="http://127.0.0.1:$PORT"
  status=0
  "${command[@]}" || status=$?
  exit "$status"
fi

cat <<MSG

  The API is up on http://127.0.0.1:$PORT  (WorkOS: $WORKOS_API_URL, DynamoDB: $AWS_ENDPOINT_URL_DYNAMODB)
  Demo users (password Password123!): admin@acme.test, staff@acme.test, client@acme.test (Acme Demo),
  admin@globex.test (Globex Demo). Each one's first request provisions their membership.

  In another terminal:
    TOKEN=\$(make -s token EMAIL=admin@acme.test)
    curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$PORT/me

  Example page (TypeScript client, TanStack Query, live): http://127.0.0.1:$PORT/_local/example/#token=\$TOKEN

  Live updates: ws://127.0.0.1:$PORT/live?ticket=...   (a ticket: POST /live/tickets with the token;
    its answer's "url" opens the socket, e.g. npx wscat -c "\$(curl -s -X POST -H "Authorization: Bearer \$TOKEN" \
    http://127.0.0.1:$PORT/live/tickets | jq -r .url)"; send {"action":"resume","after":"0000000000000000"})

  Billing: make billing-event EVENT=subscription_created   (then GET /org shows the Pro plan)
  Jobs:    make sync   (workos-sync; or POST /_local/invoke/workos-sync)
           curl -X POST http://127.0.0.1:$PORT/_local/invoke/billing-reconcile

  Ctrl-C stops everything.
MSG
wait
