# Shared by dev.sh and services.sh: background processes stopped on exit, and free ports.
# shellcheck shell=bash

pids=()
stop_started() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap stop_started EXIT INT TERM

# Starts a command in the background, logging to a file, and remembers it for stop_started.
start_logged() { # LOG COMMAND [ARGS...]
  local log="$1"
  shift
  "$@" >"$log" 2>&1 &
  pids+=($!)
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
