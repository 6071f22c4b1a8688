#!/usr/bin/env bash
# Usage: start-workos.sh PORT SEED_FILE
# Runs the WorkOS emulator (npm `workos`) in the foreground. When ready it prints one JSON
# line: {"url":"http://localhost:PORT","port":PORT,"apiKey":"sk_test_default","health":...}.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 PORT SEED_FILE" >&2
  exit 2
fi
port="$1"
seed="$2"

infra_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$infra_dir/node_modules/.bin/workos"
if [[ ! -x "$bin" ]]; then
  echo "$bin not found; run: (cd $infra_dir && npm ci)" >&2
  exit 1
fi
if [[ ! -f "$seed" ]]; then
  echo "seed file not found: $seed" >&2
  exit 1
fi

exec "$bin" emulate --port "$port" --seed "$seed" --json
