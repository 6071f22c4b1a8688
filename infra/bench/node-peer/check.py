#!/usr/bin/env python3
"""End-to-end check that the Node.js peer (dist/peer.mjs) answers GET /customers/{customerId}
the way functions/get-customer does. Python 3.11 stdlib only; loopback only.

Usage (under infra/scripts/services.sh, which exports AWS_ENDPOINT_URL_DYNAMODB, WORKOS_API_URL,
WORKOS_API_KEY, WORKOS_CLIENT_ID and the AWS credentials): check.py PEER_MJS WORK_DIR

It creates a table, makes an organization with an admin, a staff member, a client, a user with no
member item and a user with no organization on the WorkOS emulator, gets their real tokens, stores
the member, customer and assignment items the way the Rust store writes them, then runs every
case through one cold start of the peer per read mode (NODE_PEER_READS=get, then batch) on
infra/bench/lambda_harness.py's Runtime API and compares each full response (status, content
type, body) with what the Rust function answers.
It leaves in WORK_DIR: env.json ({"TABLE_NAME": ...}) and admin-200.json, no-auth.json and
unknown-customer.json (API Gateway v2 events) for a benchmark run. Exits non-zero on a mismatch.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
sys.path.insert(0, BENCH)

import ddb_table  # noqa: E402  (its SigV4-shaped DynamoDB Local call)
import events  # noqa: E402  (the API Gateway v2 event shape)
import lambda_harness  # noqa: E402

SETUP_KEY = "sk_test_setup_1"  # the emulator setup calls' own rate allowance
PASSWORD = "Test-password-1!"


def loopback(url: str) -> str:
    if urllib.parse.urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing a non-loopback URL: {url}")
    return url.rstrip("/")


def workos(base: str, path: str, body: dict, key: str = SETUP_KEY) -> dict:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        sys.exit(f"WorkOS {path}: {error.code} {error.read()[:500]!r}")


def ddb(endpoint: str, target: str, payload: dict) -> dict:
    status, body = ddb_table.call(endpoint, target, payload)
    if status != 200:
        sys.exit(f"DynamoDB {target}: {status} {body}")
    return body


def ts(seconds_ago: int) -> str:
    """A time as the Rust Timestamp writes it: UTC, three fraction digits."""
    at = time.time() - seconds_ago
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}Z"


def S(value):
    return {"NULL": True} if value is None else {"S": value}


def member_item(org_id: str, user_id: str, role: str, email: str, customer_id=None) -> dict:
    """shared/src/store/members.rs MemberItem, as serde_dynamo writes it."""
    now = ts(60)
    return {
        "PK": S(f"ORG#{org_id}"), "SK": S(f"USER#{user_id}"),
        "GSI1PK": S(f"USER#{user_id}"), "GSI1SK": S(f"ORG#{org_id}"),
        "entity": S("member"), "orgId": S(org_id), "userId": S(user_id), "role": S(role),
        "customerId": S(customer_id), "membershipId": S(f"om_{uuid.uuid4().hex[:26].upper()}"),
        "email": S(email), "firstName": S("Check"), "lastName": S(role),
        "createdAt": S(now), "updatedAt": S(now), "workosUpdatedAt": S(now),
        "revision": S(uuid.uuid4().hex.upper()[:26]),
    }


def new_customer_id() -> str:
    return "cus_" + uuid.uuid4().hex[:26]


def customer_item(org_id: str, customer_id: str, name: str, created_by: str, *, email=None, phone=None,
                  notes=None, deleting=False) -> dict:
    """shared/src/store/customers.rs CustomerItem, as serde_dynamo writes it."""
    created, updated = ts(3600), ts(120)
    return {
        "PK": S(f"ORG#{org_id}"), "SK": S(f"CUSTOMER#{customer_id}"),
        "GSI1PK": S(f"ORG#{org_id}#CUSTOMERS"), "GSI1SK": S(f"{name.lower()}#{customer_id}"),
        "entity": S("customer"), "id": S(customer_id), "orgId": S(org_id), "name": S(name),
        "email": S(email), "phone": S(phone), "notes": S(notes),
        "clientCount": {"N": "0"}, "deleting": {"BOOL": deleting},
        "createdAt": S(created), "updatedAt": S(updated), "createdBy": S(created_by),
    }


def customer_view(item: dict) -> dict:
    """shared/src/api/views.rs CustomerView, in its field order."""
    value = lambda name: None if "NULL" in item[name] else item[name]["S"]
    return {name: value(attr) for name, attr in [
        ("id", "id"), ("name", "name"), ("email", "email"), ("phone", "phone"), ("notes", "notes"),
        ("createdAt", "createdAt"), ("updatedAt", "updatedAt"), ("createdBy", "createdBy")]}


def problem(status: int, code: str, title: str, detail: str) -> dict:
    """shared/src/error.rs ApiError::problem."""
    return {"type": f"https://errors.api.example/{code}", "title": title, "status": status,
            "detail": detail, "code": code}


def unauthenticated(detail):
    return 401, "application/problem+json", problem(401, "unauthenticated", "Unauthenticated", detail)


def no_organization(detail):
    return 403, "application/problem+json", problem(403, "no_organization", "No organization", detail)


NOT_FOUND = (404, "application/problem+json", problem(404, "not_found", "Not found", "not found"))


def tamper(token: str) -> str:
    """The token with the end of its signature changed (to characters whose unused low bits are
    zero, so the signature still decodes and only fails to verify)."""
    return token[:-4] + ("QQQQ" if token.endswith("AAAA") else "AAAA")


def get_customer_event(customer_id: str, token: str | None, header: str | None = None) -> dict:
    path = f"/customers/{customer_id}"
    headers = {}
    if header is not None:
        headers["Authorization"] = header
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    event = events.http_event("GET", path, headers)
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /customers/{customerId}"
    event["pathParameters"] = {"customerId": customer_id}
    return event


def main() -> int:
    peer, work = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(work, exist_ok=True)
    endpoint = loopback(os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    base = loopback(os.environ["WORKOS_API_URL"])
    client_id, api_key = os.environ["WORKOS_CLIENT_ID"], os.environ["WORKOS_API_KEY"]
    table = f"node-peer-check-{int(time.time())}-{uuid.uuid4().hex[:6]}"
    subprocess.run([sys.executable, os.path.join(BENCH, "ddb_table.py"), table], check=True)

    # WorkOS: one organization, and users with real passwords and memberships.
    org_id = workos(base, "/organizations", {"name": f"Node peer check {uuid.uuid4().hex[:6]}"})["id"]

    def user(role: str | None) -> tuple[str, str]:
        email = f"peer-{role or 'none'}-{uuid.uuid4().hex[:10]}@test.example"
        created = workos(base, "/user_management/users", {
            "email": email, "password": PASSWORD, "first_name": "Check", "last_name": role or "none",
            "email_verified": True})
        if role:
            workos(base, "/user_management/organization_memberships",
                   {"user_id": created["id"], "organization_id": org_id, "role_slug": role})
        return created["id"], email

    def token(email: str, with_org: bool) -> str:
        grant = {"client_id": client_id, "client_secret": api_key}
        auth = workos(base, "/user_management/authenticate",
                      {**grant, "grant_type": "password", "email": email, "password": PASSWORD}, key=api_key)
        if not with_org:
            return auth["access_token"]
        return workos(base, "/user_management/authenticate", {
            **grant, "grant_type": "refresh_token", "refresh_token": auth["refresh_token"],
            "organization_id": org_id}, key=api_key)["access_token"]

    admin_id, admin_email = user("admin")
    staff_id, staff_email = user("staff")
    client_id_, client_email = user("client")
    stranger_id, stranger_email = user("admin")  # a WorkOS member with no member item here
    loner_id, loner_email = user(None)  # no organization at all
    tokens = {name: token(email, org) for name, email, org in [
        ("admin", admin_email, True), ("staff", staff_email, True), ("client", client_email, True),
        ("stranger", stranger_email, True), ("loner", loner_email, False)]}

    # The items, as the Rust store writes them.
    acme_id, globex_id, gone_id = new_customer_id(), new_customer_id(), new_customer_id()
    acme = customer_item(org_id, acme_id, "Acme Ltd", admin_id, email="ops@acme.test", phone="+44 20 7946 0000",
                         notes="Key account — “quotes” and ünïcode")
    globex = customer_item(org_id, globex_id, "Globex", admin_id)
    gone = customer_item(org_id, gone_id, "Gone Inc", admin_id, deleting=True)
    items = [
        member_item(org_id, admin_id, "admin", admin_email),
        member_item(org_id, staff_id, "staff", staff_email),
        member_item(org_id, client_id_, "client", client_email, customer_id=acme_id),
        acme, globex, gone,
        {"PK": S(f"ORG#{org_id}"), "SK": S(f"ASSIGN#{acme_id}#{staff_id}"),
         "GSI1PK": S(f"ORG#{org_id}#STAFF#{staff_id}"), "GSI1SK": acme["GSI1SK"], "entity": S("assignment"),
         "customerId": S(acme_id), "userId": S(staff_id), "createdAt": S(ts(60))},
        {"PK": S(f"ORG#{org_id}"), "SK": S(f"STAFF#{staff_id}#{acme_id}"), "entity": S("staff_assignment"),
         "customerId": S(acme_id), "userId": S(staff_id)},
    ]
    for item in items:
        ddb(endpoint, "PutItem", {"TableName": table, "Item": item})

    ok = lambda item: (200, "application/json", customer_view(item))
    unknown_id = new_customer_id()
    cases = [
        ("admin sees a customer", get_customer_event(acme_id, tokens["admin"]), ok(acme)),
        ("admin sees another (nulls)", get_customer_event(globex_id, tokens["admin"]), ok(globex)),
        ("no Authorization", get_customer_event(acme_id, None), unauthenticated("an Authorization: Bearer token is required")),
        ("Basic scheme", get_customer_event(acme_id, None, "Basic abc"),
         unauthenticated("the Authorization header must use the Bearer scheme")),
        ("garbage token", get_customer_event(acme_id, None, "Bearer not-a-jwt.garbage.x"),
         unauthenticated("the token is malformed")),
        ("bad signature", get_customer_event(acme_id, tamper(tokens["admin"])),
         unauthenticated("the token's signature is invalid")),
        ("unknown customer", get_customer_event(unknown_id, tokens["admin"]), NOT_FOUND),
        ("malformed customer id", get_customer_event("not-a-customer", tokens["admin"]), NOT_FOUND),
        ("deleting customer", get_customer_event(gone_id, tokens["admin"]), NOT_FOUND),
        ("staff, assigned", get_customer_event(acme_id, tokens["staff"]), ok(acme)),
        ("staff, not assigned", get_customer_event(globex_id, tokens["staff"]), NOT_FOUND),
        ("client, own customer", get_customer_event(acme_id, tokens["client"]), ok(acme)),
        ("client, another customer", get_customer_event(globex_id, tokens["client"]), NOT_FOUND),
        ("token without org_id", get_customer_event(acme_id, tokens["loner"]),
         no_organization("the token selects no organization")),
        # Peer only: the Rust function provisions this member from WorkOS just in time instead.
        ("no member item (peer: no provisioning)", get_customer_event(acme_id, tokens["stranger"]),
         no_organization("you are not an active member of the selected organization")),
    ]

    env = {"TABLE_NAME": table}
    with open(os.path.join(work, "env.json"), "w") as f:
        json.dump(env, f)
    for name, case in [("admin-200.json", 0), ("no-auth.json", 2), ("unknown-customer.json", 6)]:
        with open(os.path.join(work, name), "w") as f:
            json.dump(cases[case][1], f)

    # Every case through one cold start of the peer per read mode, on the benchmark harness's
    # Runtime API. The modes differ in one answer: `batch` (like the current Rust function)
    # checks the path parameter before the token.
    failed = total = 0
    for mode in ("get", "batch"):
        mode_cases = cases + [
            ("malformed customer id, no token", get_customer_event("not-a-customer", None),
             unauthenticated("an Authorization: Bearer token is required") if mode == "get" else NOT_FOUND),
        ]
        queue = [json.dumps(event).encode() for _, event, _ in mode_cases]
        counter = iter(range(len(queue)))
        with open(os.path.join(work, f"check-{mode}.log"), "ab") as log:
            run = lambda_harness.run_cold_start(peer, lambda: queue[next(counter)], len(queue) - 1, 30.0, log,
                                                {**env, "NODE_PEER_READS": mode})
        if "failure" in run:
            print(f"FAIL: the peer's cold start ({mode}): {run['failure']} (log: {work}/check-{mode}.log)",
                  file=sys.stderr)
            return 1
        for (name, _, (status, content_type, body)), invocation in zip(mode_cases, run["invocations"]):
            total += 1
            response = json.loads(invocation["body"])
            got = (response.get("statusCode"), response.get("headers", {}).get("content-type"))
            got_body = response.get("body", "")
            want_body = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            if invocation["error"] or got != (status, content_type) or got_body != want_body:
                failed += 1
                print(f"FAIL [{mode}] {name}: got {got} {got_body}\n     want {(status, content_type)} {want_body}",
                      file=sys.stderr)
            else:
                print(f"ok   [{mode}] {name}: {status} ({invocation['ms']:.1f} ms)", file=sys.stderr)
    print(f"{total - failed} passed, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
