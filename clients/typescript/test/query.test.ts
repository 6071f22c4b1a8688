import { test } from "node:test";
import assert from "node:assert/strict";
import { keys, keysForChange, liveInvalidation, resyncInvalidation, type ChangeLike } from "../src/query.js";

const has = (list: ReadonlyArray<readonly unknown[]>, key: readonly unknown[]) =>
  list.some((k) => JSON.stringify(k) === JSON.stringify(key));

function change(c: Partial<ChangeLike> & Pick<ChangeLike, "entity">): ChangeLike {
  return { action: "updated", id: "x", customerId: null, userId: null, ...c };
}

test("key factory shapes", () => {
  assert.deepEqual(keys.customers.list(), ["api", "customers", "list"]);
  assert.deepEqual(keys.customers.list({ limit: 25 }), ["api", "customers", "list", { limit: 25 }]);
  assert.deepEqual(keys.customers.detail("cus_1"), ["api", "customers", "detail", "cus_1"]);
  assert.deepEqual(keys.customers.staff("cus_1"), ["api", "customers", "staff", "cus_1"]);
  assert.deepEqual(keys.users.list(), ["api", "users", "list"]);
  assert.deepEqual(keys.users.detail("user_1"), ["api", "users", "detail", "user_1"]);
  assert.deepEqual(keys.users.customers("user_1"), ["api", "users", "customers", "user_1"]);
  assert.deepEqual(keys.invitations.list(), ["api", "invitations", "list"]);
  assert.deepEqual(keys.org(), ["api", "org"]);
  assert.deepEqual(keys.billing(), ["api", "billing"]);
  assert.deepEqual(keys.me(), ["api", "me"]);
  assert.deepEqual(keys.auditLog(), ["api", "auditLog"]);
  // Every key lies under keys.all, so a resync can invalidate them all at once.
  for (const k of [keys.me(), keys.customers.detail("c"), keys.users.customers("u"), keys.auditLog({ limit: 5 })]) {
    assert.equal(k[0], keys.all[0]);
  }
});

test("customer change: its detail and the customer lists", () => {
  const k = keysForChange(change({ entity: "customer", id: "cus_1", customerId: "cus_1" }));
  assert.ok(has(k, keys.customers.detail("cus_1")));
  assert.ok(has(k, keys.customers.list()));
  assert.ok(has(k, keys.users.customers()));
  assert.ok(!has(k, keys.org()), "an update changes no usage");
  const created = keysForChange(change({ entity: "customer", action: "created", id: "cus_1", customerId: "cus_1" }));
  assert.ok(has(created, keys.org()), "usage.customers moves");
  const deleted = keysForChange(change({ entity: "customer", action: "deleted", id: "cus_1", customerId: "cus_1" }));
  assert.ok(has(deleted, keys.customers.staff("cus_1")));
});

test("assignment change: the customer's staff, the staff member's customers, the customer lists", () => {
  const k = keysForChange(change({ entity: "assignment", action: "created", id: "cus_1", customerId: "cus_1", userId: "user_2" }));
  assert.ok(has(k, keys.customers.staff("cus_1")));
  assert.ok(has(k, keys.users.customers("user_2")));
  assert.ok(has(k, keys.customers.list()));
  assert.ok(!has(k, keys.customers.detail("cus_1")));
});

test("member change: the member list, the member, me", () => {
  const k = keysForChange(change({ entity: "member", id: "user_3", userId: "user_3" }));
  assert.ok(has(k, keys.users.list()));
  assert.ok(has(k, keys.users.detail("user_3")));
  assert.ok(has(k, keys.me()));
  assert.ok(has(k, keys.org()), "seats");
  const removed = keysForChange(change({ entity: "member", action: "deleted", id: "user_3", userId: "user_3" }));
  assert.ok(has(removed, keys.customers.staff()), "their assignments went with them");
  assert.ok(has(removed, keys.users.customers("user_3")));
  // userId missing: falls back to id.
  assert.ok(has(keysForChange(change({ entity: "member", id: "user_4" })), keys.users.detail("user_4")));
});

test("invitation change: the invitation list", () => {
  const k = keysForChange(change({ entity: "invitation", action: "created", id: "inv_1" }));
  assert.ok(has(k, keys.invitations.list()));
  assert.ok(has(k, keys.org()), "pending invitations hold seats");
});

test("org change: org and me", () => {
  const k = keysForChange(change({ entity: "org", id: "org_1" }));
  assert.deepEqual(k, [keys.org(), keys.me()]);
});

test("billing change: billing and org", () => {
  const k = keysForChange(change({ entity: "billing", id: "org_1" }));
  assert.deepEqual(k, [keys.billing(), keys.org()]);
});

test("unknown entity: everything", () => {
  const k = keysForChange(change({ entity: "widget" as never, id: "w" }));
  assert.deepEqual(k, [keys.all]);
});

test("keysForChange never repeats a key", () => {
  for (const entity of ["org", "member", "invitation", "customer", "assignment", "billing"] as const) {
    for (const action of ["created", "updated", "deleted"] as const) {
      const k = keysForChange({ entity, action, id: "i", customerId: "i", userId: "u" });
      assert.equal(new Set(k.map((x) => JSON.stringify(x))).size, k.length, `${entity} ${action}`);
    }
  }
});

test("liveInvalidation invalidates each key; resyncInvalidation everything", () => {
  const calls: unknown[] = [];
  const queryClient = { invalidateQueries: async (filters: unknown) => void calls.push(filters) };
  const onChange = liveInvalidation(queryClient as never);
  onChange({ entity: "billing", action: "updated", id: "org_1", customerId: null, userId: null });
  assert.deepEqual(calls, [{ queryKey: keys.billing() }, { queryKey: keys.org() }]);
  calls.length = 0;
  resyncInvalidation(queryClient as never)();
  assert.deepEqual(calls, [{ queryKey: keys.all }]);
});
