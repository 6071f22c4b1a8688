#!/usr/bin/env python3
"""Writes the benchmark events into a directory (Python 3.11 stdlib only).

Usage: events.py OUT_DIR WEBHOOK_SECRET UNKNOWN_ORG_ID COUNT

- get-org-no-auth.json:  HTTP API v2.0 `GET /org`, no Authorization header (401, no I/O).
- get-org-bad-token.json: the same with `Authorization: Bearer <garbage>` (401: the token's
  header does not parse, so no JWKS fetch either).
- lemonsqueezy.jsonl: COUNT `POST /webhooks/lemon-squeezy` deliveries of the
  subscription_created fixture with meta.test_mode false, custom_data.org_id = UNKNOWN_ORG_ID
  and a distinct meta.webhook_id each (so each is a new body, stored as "unmatched"), signed
  with X-Signature = hex HMAC-SHA256(WEBHOOK_SECRET, body).
- workos-sync.json: the scheduled event `{}`.
"""

import hashlib
import hmac
import json
import os
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "infra/testkit/fixtures/lemonsqueezy/subscription_created.json")


def http_event(method: str, path: str, headers: dict, body: str | None = None) -> dict:
    now = time.time()
    headers = {"host": "api.example.test", "user-agent": "bench", **{k.lower(): v for k, v in headers.items()}}
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "bench",
            "domainName": "api.example.test",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "bench",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        **({"body": body} if body is not None else {}),
        "isBase64Encoded": False,
    }


def main() -> int:
    out_dir, secret, org_id, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    os.makedirs(out_dir, exist_ok=True)

    def write(name: str, value) -> None:
        with open(os.path.join(out_dir, name), "w") as f:
            json.dump(value, f)

    write("get-org-no-auth.json", http_event("GET", "/org", {}))
    write("get-org-bad-token.json", http_event("GET", "/org", {"Authorization": "Bearer not-a-jwt.garbage.x"}))
    write("workos-sync.json", {})

    with open(FIXTURE) as f:
        template = json.load(f)
    with open(os.path.join(out_dir, "lemonsqueezy.jsonl"), "w") as f:
        for _ in range(count):
            delivery = json.loads(json.dumps(template))
            delivery["meta"]["test_mode"] = False
            delivery["data"]["attributes"]["test_mode"] = False
            delivery["meta"]["custom_data"]["org_id"] = org_id
            delivery["meta"]["webhook_id"] = str(uuid.uuid4())
            body = json.dumps(delivery)
            signature = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
            headers = {"Content-Type": "application/json", "X-Event-Name": "subscription_created", "X-Signature": signature}
            f.write(json.dumps(http_event("POST", "/webhooks/lemon-squeezy", headers, body)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
