#!/usr/bin/env bash
# Usage: ensure-chromium.sh   (run by `make test-browser`)
# Makes sure Debian's Chromium is there for the browser test: CHROMIUM if set, else
# /usr/bin/chromium, installed with apt-get when missing and this runs as root with apt-get.
# The test never downloads a browser of its own (puppeteer-core, not puppeteer).
set -euo pipefail

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$chromium" ]]; then
  exit 0
fi
if [[ -z "${CHROMIUM:-}" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  echo "setup: apt-get install chromium (for make test-browser)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
  [[ -x "$chromium" ]] && exit 0
fi
echo "make test-browser needs Chromium: sudo apt-get install chromium (Debian), or set CHROMIUM=/path/to/chromium" >&2
exit 1
