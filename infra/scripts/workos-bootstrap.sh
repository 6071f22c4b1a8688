#!/usr/bin/env bash
# Usage: workos-bootstrap.sh SEED_FILE
# Creates the organization memberships listed under `demo_memberships` in SEED_FILE
# (email, organization name, role) through the emulator's API, since the emulator's own
# seed format needs generated user ids. Idempotent: an existing membership is left as is.
# Env: WORKOS_API_URL (default http://127.0.0.1:4100), WORKOS_API_KEY (default sk_test_default).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 SEED_FILE" >&2
  exit 2
fi
seed="$1"
infra_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WORKOS_API_URL="${WORKOS_API_URL:-http://127.0.0.1:4100}"
export WORKOS_API_KEY="${WORKOS_API_KEY:-sk_test_default}"

"$infra_dir/node_modules/.bin/yaml" --json --single < "$seed" | python3 -c '
import json, os, sys, urllib.error, urllib.parse, urllib.request

base = os.environ["WORKOS_API_URL"].rstrip("/")
key = os.environ["WORKOS_API_KEY"]

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": "Bearer " + key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)

def one(path, what):
    status, body = call("GET", path)
    if status != 200 or not body["data"]:
        sys.exit("not found: %s (%s)" % (what, status))
    return body["data"][0]

doc = json.load(sys.stdin)
orgs = {}
for m in doc.get("demo_memberships") or []:
    name = m["organization"]
    if name not in orgs:
        status, body = call("GET", "/organizations?limit=100&name=" + urllib.parse.quote(name))
        exact = [o for o in body.get("data", []) if o["name"] == name]
        if not exact:
            sys.exit("organization not found: " + name)
        orgs[name] = exact[0]["id"]
    user = one("/user_management/users?email=" + urllib.parse.quote(m["email"]), m["email"])
    status, body = call("POST", "/user_management/organization_memberships", {
        "user_id": user["id"], "organization_id": orgs[name], "role_slug": m["role"]})
    if status == 201:
        print("membership %s %s %s %s" % (body["id"], m["email"], name, m["role"]))
    elif status == 409:
        print("exists %s %s" % (m["email"], name))
    else:
        sys.exit("membership failed for %s: %s %s" % (m["email"], status, body))
'
