#!/usr/bin/env bash
# Usage: run-tests.sh [ARGS...]
# Runs the workspace's tests with cargo-nextest (every test binary at once, each test in its own
# process; settings in .config/nextest.toml), or with `cargo test` where cargo-nextest is not
# installed. ARGS go to either (a test name filter, say).
# Then, on a whole run (no ARGS), checks each function's DynamoDB policy in template.yaml
# against the calls the suite recorded (infra/testkit/src/calls.rs).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace "$@" || status=$?
else
  echo "cargo-nextest is not installed (cargo install cargo-nextest); running cargo test instead" >&2
  cargo test --workspace --no-fail-fast "$@" || status=$?
fi
if [ "$#" -eq 0 ] && [ -n "${DYNAMODB_CALLS_LOG:-}" ]; then
  cargo run --quiet -p testkit --bin least-privilege -- "$DYNAMODB_CALLS_LOG" "$repo/template.yaml" || status=1
fi
exit "$status"
