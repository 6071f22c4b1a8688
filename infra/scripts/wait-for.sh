#!/usr/bin/env bash
# Usage: wait-for.sh URL TIMEOUT_SECONDS [NAME]
# Polls URL until it answers any HTTP response (a 400 or 404 counts as up). When nothing has
# answered by the timeout, says so in one line on stderr, naming the URL (and NAME, what should
# have answered there), and exits 1.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: $0 URL TIMEOUT_SECONDS [NAME]" >&2
  exit 2
fi
url="$1"
timeout="$2"
what="${3:+$3 at }$url"

deadline=$((SECONDS + timeout))
while true; do
  # curl prints 000 when nothing answered (refused, reset, timed out).
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)"
  if [[ -n "$code" && "$code" != "000" ]]; then
    exit 0
  fi
  if ((SECONDS >= deadline)); then
    echo "timed out after ${timeout}s waiting for $what" >&2
    exit 1
  fi
  sleep 0.2
done
