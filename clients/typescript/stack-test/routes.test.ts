/**
 * Every route of the HTTP API through the client, against the local stack (see stack.ts): each
 * answer has the shape its generated type says, each error is an `ApiError` with the contract's
 * `code`, and `list`/`pages` follow `nextCursor` over 60 customers.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, test } from "node:test";
import { ApiError, createClient, unwrap, type ApiClient } from "../src/index.js";
import { apiUrl, called, clientFor, documentedOperations, newMember, signedBillingEvent, signedWorkosEvent, token, workos } from "./stack.js";

let admin: ApiClient; // admin@acme.test in Acme Demo (demo data: 3 customers, staff assigned to 2)
let staff: ApiClient;
let client: ApiClient; // client@acme.test, belongs to Northwind Traders
let globex: ApiClient; // admin@globex.test, the only member of Globex Demo

before(() => {
  admin = clientFor(token("admin@acme.test", "Acme Demo"));
  staff = clientFor(token("staff@acme.test", "Acme Demo"));
  client = clientFor(token("client@acme.test", "Acme Demo"));
  globex = clientFor(token("admin@globex.test", "Globex Demo"));
});

/** The error a call throws: an `ApiError`, or the test fails. */
async function refusal(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof ApiError, `an ApiError, not ${String(error)}`);
    return error;
  }
  assert.fail("the call succeeded");
}

/** `GET /me` of a signed-in member (a WorkOS token): the member's shape, not an API key's. */
async function memberMe(api: ApiClient) {
  const me = await unwrap(api.GET("/me"));
  assert.ok("user" in me, `a token's /me shows its user: ${JSON.stringify(me)}`);
  return me;
}

test("the member routes: me, org, users, customers, staff, invitations, audit, export, portal, tickets", async () => {
  const me = await memberMe(admin);
  assert.equal(me.organization?.name, "Acme Demo");
  assert.equal(me.role, "admin");

  const org = await unwrap(admin.GET("/org"));
  assert.equal(org.id, me.organization?.id);
  assert.equal(typeof org.limits.maxCustomers, "number");
  assert.ok(org.usage.customers >= 3);
  const renamed = await unwrap(admin.PATCH("/org", { body: { name: "Acme Demo" } }));
  assert.equal(renamed.name, "Acme Demo");

  const members = await unwrap(admin.GET("/users"));
  const staffMember = members.items.find((m) => m.email === "staff@acme.test");
  const clientMember = members.items.find((m) => m.email === "client@acme.test");
  assert.ok(staffMember && clientMember, "the demo members are listed");
  assert.equal((await unwrap(admin.GET("/users/{userId}", { params: { path: { userId: staffMember.id } } }))).role, "staff");
  const staffCustomers = await unwrap(
    staff.GET("/users/{userId}/customers", { params: { path: { userId: staffMember.id } } }),
  );
  assert.deepEqual(staffCustomers.items.map((c) => c.name).sort(), ["Contoso Ltd", "Northwind Traders"]);
  // Setting what is already set: the client stays with Northwind.
  const same = await unwrap(
    admin.PATCH("/users/{userId}", {
      params: { path: { userId: clientMember.id } },
      body: { role: "client", customerId: clientMember.customerId },
    }),
  );
  assert.equal(same.customerId, clientMember.customerId);

  const created = await unwrap(admin.POST("/customers", { body: { name: "Stack Test Co", email: "ops@stack.example" } }));
  assert.equal(created.name, "Stack Test Co");
  assert.match(created.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const path = { customerId: created.id };
  assert.equal((await unwrap(admin.GET("/customers/{customerId}", { params: { path } }))).email, "ops@stack.example");
  const patched = await unwrap(admin.PATCH("/customers/{customerId}", { params: { path }, body: { notes: "via the client" } }));
  assert.equal(patched.notes, "via the client");
  const assign = { customerId: created.id, userId: staffMember.id };
  const first = await admin.PUT("/customers/{customerId}/staff/{userId}", { params: { path: assign } });
  const again = await admin.PUT("/customers/{customerId}/staff/{userId}", { params: { path: assign } });
  assert.deepEqual([first.response.status, again.response.status], [201, 200], "assigning is idempotent");
  const assigned = await unwrap(admin.GET("/customers/{customerId}/staff", { params: { path } }));
  assert.deepEqual(assigned.items.map((m) => m.id), [staffMember.id]);
  const unassigned = await admin.DELETE("/customers/{customerId}/staff/{userId}", { params: { path: assign } });
  assert.equal(unassigned.response.status, 204);
  assert.equal((await admin.DELETE("/customers/{customerId}", { params: { path } })).response.status, 204);
  const all = await unwrap(admin.GET("/customers"));
  assert.ok(!all.items.some((c) => c.id === created.id), "the deleted customer is gone from the list");

  const invitation = await unwrap(
    admin.POST("/invitations", { body: { email: `invitee-${randomUUID().slice(0, 8)}@stack.test`, role: "staff" } }),
  );
  assert.equal(invitation.state, "pending");
  assert.ok((await unwrap(admin.GET("/invitations"))).items.some((i) => i.id === invitation.id));
  const revoked = await admin.DELETE("/invitations/{invitationId}", { params: { path: { invitationId: invitation.id } } });
  assert.equal(revoked.response.status, 204);

  const audit = await unwrap(admin.GET("/audit-log", { params: { query: { limit: 5 } } }));
  assert.ok(audit.items.length > 0 && audit.items.length <= 5);
  assert.ok(audit.items.every((entry) => typeof entry.action === "string"));
  let exported = 0;
  for await (const record of admin.list("/org/export")) {
    assert.equal(typeof record.type, "string");
    exported += 1;
  }
  assert.ok(exported > 3, "the export has the org, its members and its customers");

  const portal = await unwrap(admin.POST("/org/portal-link", { body: { intent: "sso" } }));
  assert.match(portal.link, new RegExp(`/portal/sso/${org.id}$`));
  assert.ok(Date.parse(portal.expiresAt) > Date.now());
  const staffPortal = await refusal(staff.POST("/org/portal-link", { body: { intent: "sso" } }));
  assert.deepEqual([staffPortal.status, staffPortal.code], [403, "forbidden"]);

  const ticket = await unwrap(client.POST("/live/tickets"));
  assert.match(ticket.url, /^ws:\/\/127\.0\.0\.1:\d+\/live\?ticket=/);
  assert.ok(Date.parse(ticket.expiresAt) > Date.now());
});

test("API keys: made by the admin, shown once, used within their scope, revoked at once", async () => {
  const made = await admin.POST("/api-keys", { body: { name: "Stack key", scope: "read" } });
  assert.equal(made.response.status, 201);
  const key = made.data ?? assert.fail("the new key");
  assert.ok(key.secret.startsWith("sak_"), `the secret's format: ${key.prefix}`);
  assert.ok(key.secret.startsWith(key.prefix), "the prefix is the secret's start");
  assert.deepEqual([key.name, key.scope, key.expiresAt, key.lastUsedAt], ["Stack key", "read", null, null]);

  // The list shows the key, never its secret.
  const listed = await unwrap(admin.GET("/api-keys"));
  const entry = listed.items.find((k) => k.id === key.id) ?? assert.fail("the new key is listed");
  assert.deepEqual([entry.name, entry.scope, entry.prefix], ["Stack key", "read", key.prefix]);
  assert.ok(!("secret" in entry), "no secret in the list");
  assert.ok(!JSON.stringify(listed).includes(key.secret.slice(key.prefix.length)), "nor the rest of it");

  // A machine client with the key: what a read key may do, and no more.
  const machine = createClient({ baseUrl: apiUrl, apiKey: key.secret });
  const me = await unwrap(machine.GET("/me"));
  assert.ok("apiKey" in me, `a key's /me shows the key: ${JSON.stringify(me)}`);
  assert.deepEqual([me.apiKey.id, me.apiKey.name, me.apiKey.scope], [key.id, "Stack key", "read"]);
  assert.equal(me.organization.name, "Acme Demo");
  const customers = await machine.GET("/customers");
  assert.equal(customers.response.status, 200);
  assert.ok((customers.data?.items.length ?? 0) >= 3, "a key sees every customer, as an admin does");
  const write = await refusal(machine.POST("/customers", { body: { name: "Made by a read key" } }));
  assert.deepEqual([write.status, write.code], [403, "forbidden"]);
  const used = (await unwrap(admin.GET("/api-keys"))).items.find((k) => k.id === key.id);
  assert.match(used?.lastUsedAt ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/, "lastUsedAt, to the minute");

  // Revoked: refused from the very next request.
  const revoked = await admin.DELETE("/api-keys/{keyId}", { params: { path: { keyId: key.id } } });
  assert.equal(revoked.response.status, 204);
  const after = await refusal(machine.GET("/customers"));
  assert.deepEqual([after.status, after.code], [401, "unauthenticated"]);
});

test("billing: the webhook through the client upgrades Globex, GET /billing shows it; checkout needs Lemon Squeezy", async () => {
  const org = await unwrap(globex.GET("/org"));
  assert.deepEqual(await unwrap(globex.GET("/billing")).then((b) => [b.status, b.planName]), [null, "Free"]);
  // POST /webhooks/lemon-squeezy with the raw bytes that were signed.
  const { body, signature } = signedBillingEvent("subscription_created", org.id);
  const delivered = await unwrap(
    globex.POST("/webhooks/lemon-squeezy", {
      body: JSON.parse(body),
      bodySerializer: () => body,
      params: { header: { "X-Signature": signature } },
    }),
  );
  assert.ok(["applied", "duplicate"].includes(delivered.status ?? ""), JSON.stringify(delivered));
  const billing = await unwrap(globex.GET("/billing"));
  assert.equal(billing.planName, "Pro");
  assert.equal((await unwrap(globex.GET("/org"))).limits.maxCustomers, 100);
  // The local stack has no Lemon Squeezy API to make a checkout with: a typed 503.
  const checkout = await refusal(globex.POST("/billing/checkout", { body: { variantId: "500001" } }));
  assert.deepEqual([checkout.status, checkout.code], [503, "upstream_unavailable"]);
  // A delivery whose signature does not match its bytes is refused.
  const forged = await refusal(
    globex.POST("/webhooks/lemon-squeezy", {
      body: JSON.parse(body),
      bodySerializer: () => body.replace("Pro", "Pra"),
      params: { header: { "X-Signature": signature } },
    }),
  );
  assert.deepEqual([forged.status, forged.code], [401, "invalid_signature"]);
});

test("the WorkOS webhook through the client: a signed membership event applies", async () => {
  const me = await memberMe(staff);
  const memberships = await workos<{ data: Record<string, unknown>[] }>(
    "GET",
    `/user_management/organization_memberships?user_id=${me.user.id}&organization_id=${me.organization?.id}`,
  );
  const { body, signature } = signedWorkosEvent({
    id: `event_${randomUUID()}`,
    event: "organization_membership.updated",
    data: memberships.data[0],
    created_at: new Date().toISOString(),
  });
  const answer = await unwrap(
    staff.POST("/webhooks/workos", {
      body: JSON.parse(body),
      bodySerializer: () => body,
      params: { header: { "WorkOS-Signature": signature } },
    }),
  );
  assert.ok(["applied", "unchanged"].includes(answer.status), JSON.stringify(answer));
  assert.equal((await memberMe(staff)).role, "staff", "nothing changed for the member");
});

test("an organization's life: POST /orgs (idempotent), a member added and removed, DELETE /org", async () => {
  const name = `Stack Org ${randomUUID().slice(0, 8)}`;
  const key = randomUUID();
  const created = await globex.POST("/orgs", { body: { name }, params: { header: { "Idempotency-Key": key } } });
  assert.equal(created.response.status, 201);
  const replay = await globex.POST("/orgs", { body: { name }, params: { header: { "Idempotency-Key": key } } });
  assert.equal(replay.response.status, 200);
  assert.equal(replay.response.headers.get("Idempotent-Replayed"), "true");
  assert.equal(replay.data?.id, created.data?.id, "the same key answers the same organization");
  const reused = await refusal(globex.POST("/orgs", { body: { name: `${name}!` }, params: { header: { "Idempotency-Key": key } } }));
  assert.deepEqual([reused.status, reused.code], [409, "conflict"]);
  const orgId = created.data?.id ?? assert.fail("an id");

  const owner = clientFor(token("admin@globex.test", name));
  assert.equal((await memberMe(owner)).role, "admin");
  const { email, userId } = await newMember(orgId, "staff");
  const member = clientFor(token(email, name));
  assert.equal((await memberMe(member)).role, "staff", "the first request provisions the member");
  const promoted = await unwrap(owner.PATCH("/users/{userId}", { params: { path: { userId } }, body: { role: "admin" } }));
  assert.equal(promoted.role, "admin");
  assert.equal((await owner.DELETE("/users/{userId}", { params: { path: { userId } } })).response.status, 204);
  const gone = await refusal(owner.GET("/users/{userId}", { params: { path: { userId } } }));
  assert.deepEqual([gone.status, gone.code], [404, "not_found"]);

  const wrongName = await refusal(owner.DELETE("/org", { body: { confirmName: "not the name" } }));
  assert.deepEqual([wrongName.status, wrongName.code], [400, "validation_failed"]);
  const deleting = await unwrap(owner.DELETE("/org", { body: { confirmName: name } }));
  assert.equal(deleting.status, "deleting");
});

test("errors are ApiError with the contract's code", async () => {
  const anonymous = createClient({ baseUrl: apiUrl });
  const noToken = await refusal(anonymous.GET("/me"));
  assert.deepEqual([noToken.status, noToken.code], [401, "unauthenticated"]);
  const badToken = await refusal(createClient({ baseUrl: apiUrl, getToken: () => "not.a.token" }).GET("/me"));
  assert.deepEqual([badToken.status, badToken.code], [401, "unauthenticated"]);

  const notFound = await refusal(admin.GET("/customers/{customerId}", { params: { path: { customerId: "cus_nothing_here" } } }));
  assert.deepEqual([notFound.status, notFound.code], [404, "not_found"]);
  const forbidden = await refusal(client.PATCH("/org", { body: { name: "Mine now" } }));
  assert.deepEqual([forbidden.status, forbidden.code], [403, "forbidden"]);
  const invalid = await refusal(admin.POST("/customers", { body: { name: "" } }));
  assert.deepEqual([invalid.status, invalid.code], [400, "validation_failed"]);
  assert.ok(invalid.fieldError("name"), "the field is named");
  const unknownField = await refusal(admin.POST("/customers", { body: { name: "X", colour: "red" } as never }));
  assert.equal(unknownField.code, "validation_failed");
  const cursor = await refusal(admin.GET("/customers", { params: { query: { cursor: "forged" } } }));
  assert.deepEqual([cursor.status, cursor.code], [400, "invalid_cursor"]);

  // Acme is on the free plan (10 customers): the 11th is refused with the limit in the body.
  const usage = (await unwrap(admin.GET("/org"))).usage.customers;
  for (let n = usage; n < 10; n++) await unwrap(admin.POST("/customers", { body: { name: `Filler ${n}` } }));
  const limit = await refusal(admin.POST("/customers", { body: { name: "One too many" } }));
  assert.deepEqual([limit.status, limit.code, limit.problem?.resource, limit.problem?.limit], [402, "plan_limit_reached", "customers", 10]);
});

test("list() and pages() read 60 customers in pages of 25", async () => {
  // Globex is on Pro after the billing test (100 customers); give it 60 in all.
  const existing = (await unwrap(globex.GET("/org"))).usage.customers;
  const names = Array.from({ length: 60 - existing }, (_, n) => `Paged ${String(n).padStart(2, "0")}`);
  for (let at = 0; at < names.length; at += 6) {
    await Promise.all(names.slice(at, at + 6).map((name) => unwrap(globex.POST("/customers", { body: { name } }))));
  }
  const sizes: number[] = [];
  const seen = new Set<string>();
  for await (const page of globex.pages("/customers", { limit: 25 })) {
    sizes.push(page.items.length);
    for (const c of page.items) seen.add(c.id);
  }
  assert.deepEqual(sizes, [25, 25, 10]);
  assert.equal(seen.size, 60, "every customer once");
  const listed: string[] = [];
  for await (const c of globex.list("/customers", { limit: 25 })) listed.push(c.id);
  assert.deepEqual(new Set(listed), seen);
  assert.equal(listed.length, 60);
});

test("every operation of the OpenAPI document was called through the client", () => {
  const operations = documentedOperations();
  assert.ok(operations.length >= 28, `the document's operations were read (${operations.length})`);
  assert.deepEqual(operations.filter((op) => !called.has(op)), []);
});
