#!/usr/bin/env bash
# Usage: run-tests.sh [ARGS...]
# Runs the workspace's tests with cargo-nextest (every test binary at once, each test in its own
# process; settings in .config/nextest.toml), or with `cargo test` where cargo-nextest is not
# installed. ARGS go to either (a test name filter, say).
set -euo pipefail
if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --workspace "$@"
fi
echo "cargo-nextest is not installed (cargo install cargo-nextest); running cargo test instead" >&2
exec cargo test --workspace --no-fail-fast "$@"
