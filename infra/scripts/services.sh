#!/usr/bin/env bash
# Usage: services.sh COMMAND [ARGS...]
# Starts DynamoDB Local (in memory), the WorkOS emulator and moto (Secrets Manager) on free ports, exports the
# environment that points the code at them, runs COMMAND, stops them, and exits with
# COMMAND's status. Used by `make test`.
set -euo pipefail

infra_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scripts="$infra_dir/scripts"
run_dir="$infra_dir/.run"
mkdir -p "$run_dir"

# shellcheck source=lib.sh
source "$scripts/lib.sh"

ddb_port="$(free_port)"
start_logged "$run_dir/dynamodb-test.log" "$scripts/start-dynamodb.sh" "$ddb_port"
# A second DynamoDB Local for the tables whose stream the live-update tests read: a table's
# stream makes DynamoDB Local do more on every write, which the rest of the suite need not share.
live_ddb_port="$(free_port)"
start_logged "$run_dir/dynamodb-live-test.log" "$scripts/start-dynamodb.sh" "$live_ddb_port"
workos_port="$(free_port)"
start_logged "$run_dir/workos-test.log" "$scripts/start-workos.sh" "$workos_port" "$infra_dir/testkit/workos-seed.yaml"

moto_port="$(free_port)"
start_logged "$run_dir/moto-test.log" "$infra_dir/.venv-moto/bin/moto_server" -H 127.0.0.1 -p "$moto_port"

"$scripts/wait-for.sh" "http://127.0.0.1:$ddb_port" 60
"$scripts/wait-for.sh" "http://127.0.0.1:$live_ddb_port" 60
"$scripts/wait-for.sh" "http://127.0.0.1:$workos_port/health" 60
"$scripts/wait-for.sh" "http://127.0.0.1:$moto_port/moto-api/" 60

export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$ddb_port"
export LIVE_TEST_DYNAMODB_URL="http://127.0.0.1:$live_ddb_port"
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
# moto in server mode answers the Secrets Manager API (the functions read their secrets from it
# when a test gives them <NAME>_SECRET_ARN instead of the plain variable).
export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$moto_port"
# The emulator signs tokens with iss = http://localhost:PORT.
export WORKOS_API_URL="http://localhost:$workos_port"
export WORKOS_API_KEY=sk_test_default
export WORKOS_CLIENT_ID=client_test
# Every DynamoDB action the functions make in the suite (infra/testkit/src/calls.rs), for the
# least-privilege check that run-tests.sh makes after it.
export DYNAMODB_CALLS_LOG="$run_dir/dynamodb-calls.jsonl"
: > "$DYNAMODB_CALLS_LOG"

status=0
"$@" || status=$?
exit "$status"
