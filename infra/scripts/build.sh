#!/usr/bin/env bash
# Usage: build.sh ARCH   (arm64 or x86_64)
# Builds every function under functions/ for Lambda in one `cargo lambda build` (release
# profile; pinned cargo-lambda from infra/.venv): target/lambda/<function>/bootstrap and
# bootstrap.zip. The template's CodeUri points at those zips, so `sam build` and `sam deploy`
# package them as they are.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
arch="${1:-arm64}"
case "$arch" in
  arm64) target=aarch64-unknown-linux-gnu flag=--arm64 ;;
  x86_64) target=x86_64-unknown-linux-gnu flag=--x86-64 ;;
  *) echo "build: ARCH must be arm64 or x86_64, not $arch" >&2; exit 2 ;;
esac
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  echo "build: the Rust target $target is missing: add it with \`rustup target add $target\`, or build with ARCH=x86_64" >&2
  exit 1
fi
packages=()
count=0
for dir in "$repo"/functions/*/; do
  packages+=(-p "$(basename "$dir")")
  count=$((count + 1))
done
cd "$repo"
PATH="$repo/infra/.venv/bin:$PATH" cargo lambda build --release "$flag" --output-format zip "${packages[@]}"
echo "build: $count functions for $arch in ${CARGO_TARGET_DIR:-target}/lambda/<function>/bootstrap.zip" >&2
