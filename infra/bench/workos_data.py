#!/usr/bin/env python3
"""Creates ORGS organizations with USERS users each (1 admin, the rest staff and clients) on the
WorkOS emulator at WORKOS_API_URL (loopback only), for the workos-sync benchmark. Uses a setup
API key from infra/testkit/workos-seed.yaml, so the sync's own key keeps its rate allowance.

Usage: workos_data.py ORGS USERS
"""

import json
import os
import sys
import urllib.parse
import urllib.request
import uuid

KEY = "sk_test_setup_0"


def api(base: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main() -> int:
    base = os.environ["WORKOS_API_URL"].rstrip("/")
    if urllib.parse.urlparse(base).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing a non-loopback WorkOS URL: {base}")
    orgs, users = int(sys.argv[1]), int(sys.argv[2])
    roles = ["admin"] + ["staff", "client"] * users
    for o in range(orgs):
        org = api(base, "/organizations", {"name": f"Bench Org {o}"})
        for u in range(users):
            role = roles[u]
            email = f"bench-{role}-{uuid.uuid4().hex[:12]}@test.example"
            user = api(
                base,
                "/user_management/users",
                {"email": email, "password": "Test-password-1!", "first_name": "Bench", "last_name": role, "email_verified": True},
            )
            api(
                base,
                "/user_management/organization_memberships",
                {"user_id": user["id"], "organization_id": org["id"], "role_slug": role},
            )
    print(f"emulator: {orgs} orgs x {users} users", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
