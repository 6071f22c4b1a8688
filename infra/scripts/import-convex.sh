#!/usr/bin/env bash
# Usage: import-convex.sh SNAPSHOT.zip [--apply] [--fields map.json]   (make import-convex)
# Runs convex-import against the running `make dev`: its table, DynamoDB Local and WorkOS
# emulator, with the same settings (infra/scripts/local-env.sh); any of them already set in the
# environment (TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB, WORKOS_API_URL, LEMONSQUEEZY_API_URL, …)
# is used as it is. The report goes to stdout, the summary to stderr.
set -euo pipefail

scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$scripts/../.." && pwd)"
# shellcheck source=local-env.sh
source "$scripts/local-env.sh"
export AWS_ENDPOINT_URL_DYNAMODB="${AWS_ENDPOINT_URL_DYNAMODB:-http://127.0.0.1:${DYNAMODB_PORT:-8000}}"
export WORKOS_API_URL="${WORKOS_API_URL:-http://localhost:${WORKOS_EMULATOR_PORT:-4100}}"
cargo build --quiet --manifest-path "$repo/Cargo.toml" --bin convex-import
exec "$repo/target/debug/convex-import" "$@"
