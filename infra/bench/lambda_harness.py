#!/usr/bin/env python3
"""A minimal local Lambda Runtime API, for measuring cold starts of a `provided.al2023` binary.

Usage: lambda_harness.py BINARY EVENT_FILE [--cold-starts N] [--warm-invocations M] [--env VARS.json]

For each of N cold starts it serves the Runtime API on a fresh 127.0.0.1:<free port>, spawns
BINARY with the caller's environment plus AWS_LAMBDA_RUNTIME_API (and the AWS_LAMBDA_FUNCTION_*
variables the Rust runtime requires, unless already set), and measures:

- init: spawn -> the binary's first `GET /2018-06-01/runtime/invocation/next`;
- each invocation: event written to the binary -> its `POST .../invocation/{id}/response`
  (or `/error`) fully read. The first invocation of a cold start is reported apart from the
  M warm ones that follow it;
- peak RSS: VmHWM from /proc/<pid>/status, read after the last response, just before SIGKILL.

EVENT_FILE is one JSON event, or, if it ends in `.jsonl`, one event per line handed out in
order (cycling), e.g. to make every delivery of a webhook a distinct one. A BINARY ending in
`.mjs` or `.js` runs under `node` (the Node.js peer). `--env` adds a JSON object of variables
(a function's own configuration) to the environment. Prints JSON:
the binary's file size, median/p95 (nearest rank) of each figure, and errors. Python 3.11
stdlib only; loopback only.
"""

import argparse
import http.server
import json
import math
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid

API = "/2018-06-01/runtime"


def now_ms() -> float:
    return time.perf_counter_ns() / 1e6


class ColdStart:
    """State of one spawned process and its own Runtime API server."""

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self.events: "queue.Queue[tuple[str, bytes]]" = queue.Queue()
        self.first_next_at: float | None = None
        self.first_next = threading.Event()
        self.handed_out: dict[str, float] = {}
        self.results: "queue.Queue[dict]" = queue.Queue()
        self.init_error: bytes | None = None
        self.closed = threading.Event()
        self.lock = threading.Lock()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the killed process's open connection
        super().handle_error(request, client_address)


def make_handler(state: ColdStart):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in one write, with Nagle off: otherwise delayed ACKs add ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, *args):  # quiet
            pass

        def read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def reply(self, status: int, body: bytes = b"", headers: dict | None = None):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self._headers_buffer.append(b"\r\n" + body)
            self.flush_headers()

        def do_GET(self):
            if self.path != f"{API}/invocation/next":
                return self.reply(404, b'{"errorMessage":"not found"}')
            with state.lock:
                if state.first_next_at is None:
                    state.first_next_at = now_ms()
                    state.first_next.set()
            # Long poll, as Lambda does; give up only when this cold start is over.
            while True:
                try:
                    request_id, event = state.events.get(timeout=0.2)
                    break
                except queue.Empty:
                    if state.closed.is_set():
                        self.close_connection = True
                        return
            deadline = int(time.time() * 1000 + state.timeout_s * 1000)
            headers = {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:bench",
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            }
            # Timed just before the write (so a fast response cannot arrive before it is set).
            state.handed_out[request_id] = now_ms()
            self.reply(200, event, headers)

        def do_POST(self):
            body = self.read_body()
            at = now_ms()
            parts = self.path[len(API) + 1 :].split("/") if self.path.startswith(API + "/") else []
            if parts == ["init", "error"]:
                state.init_error = body or b"init error"
                self.reply(202, b'{"status":"OK"}')
                state.first_next.set()
                return
            if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                request_id = parts[1]
                started = state.handed_out.get(request_id)
                if started is None:
                    return self.reply(400, b'{"errorMessage":"unknown request id"}')
                self.reply(202, b'{"status":"OK"}')
                state.results.put({"ms": at - started, "error": parts[2] == "error", "body": body})
                return
            self.reply(404, b'{"errorMessage":"not found"}')

    return Handler


def vm_hwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def summary(values: list[float]) -> dict | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = lambda q: ordered[max(0, math.ceil(q * len(ordered)) - 1)]
    return {
        "median": round(statistics.median(ordered), 3),
        "p95": round(rank(0.95), 3),
        "p99": round(rank(0.99), 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
        "n": len(ordered),
    }


def status_of(body: bytes):
    """An API Gateway response's statusCode, else the parsed body (e.g. a job's report)."""
    try:
        value = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")[:500]
    if isinstance(value, dict) and "statusCode" in value:
        return f"{value['statusCode']} {str(value.get('body', ''))[:200]}"
    return value


def command_of(binary: str) -> list[str]:
    """A script (the Node.js peer) runs under `node`, as Lambda's Node.js runtime would run it."""
    return ["node", binary] if binary.endswith((".mjs", ".js")) else [binary]


def run_cold_start(binary, next_event, warm, timeout_s, log, extra_env) -> dict:
    state = ColdStart(timeout_s)
    server = Server(("127.0.0.1", 0), make_handler(state))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    env = dict(os.environ)
    env.update(extra_env)
    env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.server_address[1]}"
    env.setdefault("AWS_LAMBDA_FUNCTION_NAME", os.path.basename(binary))
    env.setdefault("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
    env.setdefault("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")

    # The first event waits in the queue, so the first /next is answered at once.
    request_id = str(uuid.uuid4())
    state.events.put((request_id, next_event()))
    spawned = now_ms()
    proc = subprocess.Popen(command_of(binary), env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    out: dict = {"pid": proc.pid, "invocations": []}
    try:
        while not state.first_next.wait(0.05):
            if proc.poll() is not None:
                raise RuntimeError(f"exited with {proc.returncode} before asking for an event")
            if now_ms() - spawned > timeout_s * 1000:
                raise RuntimeError("no /next request within the timeout")
        if state.init_error is not None:
            raise RuntimeError(f"init error: {state.init_error.decode('utf-8', 'replace')[:500]}")
        out["init_ms"] = state.first_next_at - spawned
        for i in range(warm + 1):
            if i > 0:
                request_id = str(uuid.uuid4())
                state.events.put((request_id, next_event()))
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    result = state.results.get(timeout=0.2)
                    break
                except queue.Empty:
                    if proc.poll() is not None:
                        raise RuntimeError(f"exited with {proc.returncode} during invocation {i}")
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"invocation {i} timed out")
            out["invocations"].append(result)
        out["vm_hwm_kib"] = vm_hwm_kib(proc.pid)
    except RuntimeError as error:
        out["failure"] = str(error)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        state.closed.set()
        server.shutdown()
        server.server_close()
    return out


def load_events(path: str) -> list[bytes]:
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".jsonl"):
        events = [line.strip() for line in data.splitlines() if line.strip()]
    else:
        events = [data]
    for event in events:
        json.loads(event)  # fail early on a malformed event
    return events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("event_file", help="one JSON event, or a .jsonl file of events used in turn")
    parser.add_argument("--cold-starts", type=int, default=10)
    parser.add_argument("--warm-invocations", type=int, default=50, help="per cold start, after the first")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds, per init and per invocation")
    parser.add_argument("--log", default=os.devnull, help="where the binary's stdout/stderr go")
    parser.add_argument("--label", default=None)
    parser.add_argument("--env", default=None, help="a JSON object of variables added to the environment")
    args = parser.parse_args()
    extra_env = {}
    if args.env:
        with open(args.env) as f:
            extra_env = {k: str(v) for k, v in json.load(f).items()}

    binary = os.path.abspath(args.binary)
    events = load_events(args.event_file)
    counter = {"n": 0}

    def next_event() -> bytes:
        event = events[counter["n"] % len(events)]
        counter["n"] += 1
        return event

    runs = []
    with open(args.log, "ab") as log:
        for _ in range(args.cold_starts):
            runs.append(run_cold_start(binary, next_event, args.warm_invocations, args.timeout, log, extra_env))

    ok = [r for r in runs if "failure" not in r]
    first = [r["invocations"][0] for r in ok]
    warm = [inv for r in ok for inv in r["invocations"][1:]]
    outcomes: dict[str, int] = {}
    for r in ok:
        for inv in r["invocations"]:
            status = status_of(inv["body"])
            if isinstance(status, dict):  # a job's report: counted without its timing and cursor
                status = {k: v for k, v in status.items() if k not in ("durationMs", "cursor")}
            key = json.dumps(status, sort_keys=True) if isinstance(status, dict) else str(status)
            outcomes[key] = outcomes.get(key, 0) + 1
    size = os.path.getsize(binary)
    result = {
        "label": args.label or os.path.basename(binary),
        "binary": binary,
        "event_file": os.path.abspath(args.event_file),
        "size_bytes": size,
        "size_mib": round(size / 2**20, 2),
        "cold_starts": args.cold_starts,
        "warm_invocations_per_cold_start": args.warm_invocations,
        "failures": [r["failure"] for r in runs if "failure" in r],
        "init_ms": summary([r["init_ms"] for r in ok]),
        "first_invocation_ms": summary([i["ms"] for i in first]),
        "warm_invocation_ms": summary([i["ms"] for i in warm]),
        "peak_rss_mib": summary([r["vm_hwm_kib"] / 1024 for r in ok if r.get("vm_hwm_kib")]),
        "invocation_errors": sum(1 for r in ok for i in r["invocations"] if i["error"]),
        "status_counts": outcomes,
        "first_response": status_of(ok[0]["invocations"][0]["body"]) if ok else None,
        "last_response": status_of(ok[-1]["invocations"][-1]["body"]) if ok else None,
    }
    json.dump(result, sys.stdout, indent=2)
    print()
    return 1 if result["failures"] or not ok else 0


if __name__ == "__main__":
    sys.exit(main())
