#!/usr/bin/env python3
"""Creates TABLE_NAME from infra/table.json on DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB, which
must be a loopback URL), and switches on its TTL. Python 3.11 stdlib only.

DynamoDB Local checks that a request is SigV4-shaped but not the signature itself, so a
well-formed Authorization header with a dummy signature is enough.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def call(endpoint: str, target: str, payload: dict) -> tuple[int, dict]:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    request = urllib.request.Request(
        endpoint,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{target}",
            "X-Amz-Date": stamp,
            "Authorization": f"AWS4-HMAC-SHA256 Credential=local/{stamp[:8]}/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def main() -> int:
    endpoint = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    if urllib.parse.urlparse(endpoint).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing a non-loopback endpoint: {endpoint}")
    name = sys.argv[1] if len(sys.argv) > 1 else os.environ["TABLE_NAME"]
    with open(os.path.join(ROOT, "infra/table.json")) as f:
        definition = json.load(f)
    ttl = definition.pop("TimeToLiveAttribute")
    status, body = call(endpoint, "CreateTable", {"TableName": name, **definition})
    if status != 200 and "ResourceInUseException" not in body.get("__type", ""):
        sys.exit(f"CreateTable {name}: {status} {body}")
    status, body = call(
        endpoint, "UpdateTimeToLive", {"TableName": name, "TimeToLiveSpecification": {"Enabled": True, "AttributeName": ttl}}
    )
    if status != 200 and "already enabled" not in json.dumps(body):
        sys.exit(f"UpdateTimeToLive {name}: {status} {body}")
    status, body = call(endpoint, "DescribeTable", {"TableName": name})
    print(f"table {name}: {body.get('Table', {}).get('TableStatus', status)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
