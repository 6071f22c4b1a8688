import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, createClient, pages, unwrap, type Customer } from "../src/client.js";

function problem(status: number, body: object, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/problem+json", ...headers },
  });
}

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

const customer = (id: string): Customer => ({
  id,
  name: id,
  email: null,
  phone: null,
  notes: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  createdBy: "user_1",
});

/** A fetch that records requests and answers from a handler. */
function fakeFetch(handler: (req: Request) => Response | Promise<Response>) {
  const requests: Request[] = [];
  const fetch = async (req: Request) => {
    requests.push(req.clone());
    return handler(req);
  };
  return { fetch, requests };
}

test("ApiError.fromResponse reads a validation problem", async () => {
  const err = await ApiError.fromResponse(
    problem(400, {
      type: "https://errors.api.example/validation_failed",
      title: "Validation failed",
      status: 400,
      detail: "the request is not valid",
      code: "validation_failed",
      errors: [{ field: "name", message: "must not be empty" }],
    }),
  );
  assert.ok(err instanceof ApiError);
  assert.ok(err instanceof Error);
  assert.equal(err.name, "ApiError");
  assert.equal(err.status, 400);
  assert.equal(err.code, "validation_failed");
  assert.equal(err.type, "https://errors.api.example/validation_failed");
  assert.equal(err.title, "Validation failed");
  assert.equal(err.detail, "the request is not valid");
  assert.deepEqual(err.errors, [{ field: "name", message: "must not be empty" }]);
  assert.equal(err.fieldError("name"), "must not be empty");
  assert.match(err.message, /400 validation_failed/);
});

test("ApiError.fromResponse keeps extensions and Retry-After", async () => {
  const limit = await ApiError.fromResponse(
    problem(402, { type: "t", title: "Plan limit reached", status: 402, detail: "d", code: "plan_limit_reached", resource: "customers", limit: 10, usage: 10 }),
  );
  assert.equal(limit.code, "plan_limit_reached");
  assert.deepEqual(limit.errors, []);
  assert.equal(limit.problem?.resource, "customers");
  assert.equal(limit.problem?.limit, 10);
  const rate = await ApiError.fromResponse(
    problem(429, { type: "t", title: "Too many", status: 429, detail: "d", code: "rate_limited" }, { "Retry-After": "17" }),
  );
  assert.equal(rate.retryAfter, 17);
  // Content-Type parameters are allowed.
  const withCharset = await ApiError.fromResponse(
    new Response(JSON.stringify({ status: 404, code: "not_found", detail: "not found", title: "Not found", type: "t" }), {
      status: 404,
      headers: { "Content-Type": "application/problem+json; charset=utf-8" },
    }),
  );
  assert.equal(withCharset.code, "not_found");
});

test("ApiError.fromResponse on a non-problem answer", async () => {
  const gw = await ApiError.fromResponse(json(502, { message: "Internal Server Error" }));
  assert.equal(gw.status, 502);
  assert.equal(gw.code, "http_502");
  assert.equal(gw.detail, "Internal Server Error");
  assert.equal(gw.problem, null);
  const html = await ApiError.fromResponse(new Response("<html>bad gateway</html>", { status: 502, headers: { "Content-Type": "text/html" } }));
  assert.equal(html.code, "http_502");
  assert.equal(html.detail, "<html>bad gateway</html>");
});

test("the client throws ApiError for a problem answer", async () => {
  const { fetch } = fakeFetch(() => problem(404, { type: "t", title: "Not found", status: 404, detail: "not found", code: "not_found" }));
  const client = createClient({ baseUrl: "http://api.test", fetch });
  await assert.rejects(
    client.GET("/customers/{customerId}", { params: { path: { customerId: "cus_x" } } }),
    (err: unknown) => err instanceof ApiError && err.status === 404 && err.code === "not_found",
  );
});

test("getToken's token goes into Authorization; the URL and body are typed", async () => {
  const { fetch, requests } = fakeFetch(() => json(201, customer("cus_1")));
  let calls = 0;
  const client = createClient({
    baseUrl: "http://api.test/",
    fetch,
    getToken: async () => `tok${++calls}`,
  });
  const created = await unwrap(client.POST("/customers", { body: { name: "Globex" } }));
  assert.equal(created.id, "cus_1");
  await client.GET("/customers/{customerId}", { params: { path: { customerId: "cus_1" } } });
  assert.equal(requests[0]!.url, "http://api.test/customers");
  assert.equal(requests[0]!.headers.get("Authorization"), "Bearer tok1");
  assert.deepEqual(await requests[0]!.json(), { name: "Globex" });
  assert.equal(requests[1]!.url, "http://api.test/customers/cus_1");
  assert.equal(requests[1]!.headers.get("Authorization"), "Bearer tok2", "a fresh token per request");
});

test("apiKey is sent as bearer; getToken and apiKey together are refused", async () => {
  const { fetch, requests } = fakeFetch(() => json(200, { items: [], nextCursor: null }));
  const client = createClient({ baseUrl: "http://api.test", fetch, apiKey: "sk_live_abc" });
  await client.GET("/customers");
  assert.equal(requests[0]!.headers.get("Authorization"), "Bearer sk_live_abc");
  assert.throws(() => createClient({ baseUrl: "x", apiKey: "k", getToken: () => "t" }), TypeError);
});

test("POST /orgs gets an Idempotency-Key unless the caller gives one", async () => {
  const org = { id: "org_1", name: "Acme" };
  const { fetch, requests } = fakeFetch(() => json(201, org));
  const client = createClient({ baseUrl: "http://api.test", fetch, getToken: () => "t" });
  await client.POST("/orgs", { body: { name: "Acme" } });
  await client.POST("/orgs", { body: { name: "Acme" } });
  await client.POST("/orgs", { body: { name: "Acme" }, params: { header: { "Idempotency-Key": "mine-1" } } });
  const [a, b, c] = requests.map((r) => r.headers.get("Idempotency-Key"));
  assert.match(a!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a, b);
  assert.equal(c, "mine-1");
  // Other routes get none.
  await client.POST("/customers", { body: { name: "x" } });
  assert.equal(requests[3]!.headers.get("Idempotency-Key"), null);
});

test("list follows nextCursor across pages (short and empty pages too)", async () => {
  const answers: Record<string, { items: Customer[]; nextCursor: string | null }> = {
    "": { items: [customer("a"), customer("b")], nextCursor: "c1" },
    c1: { items: [], nextCursor: "c2" },
    c2: { items: [customer("c")], nextCursor: null },
  };
  const { fetch, requests } = fakeFetch((req) => json(200, answers[new URL(req.url).searchParams.get("cursor") ?? ""]));
  const client = createClient({ baseUrl: "http://api.test", fetch, getToken: () => "t" });
  const ids: string[] = [];
  for await (const c of client.list("/customers", { limit: 2 })) ids.push(c.id);
  assert.deepEqual(ids, ["a", "b", "c"]);
  assert.deepEqual(
    requests.map((r) => new URL(r.url).search),
    ["?limit=2", "?limit=2&cursor=c1", "?limit=2&cursor=c2"],
  );
});

test("list with path params, and pages()", async () => {
  const { fetch, requests } = fakeFetch(() => json(200, { items: [], nextCursor: null }));
  const client = createClient({ baseUrl: "http://api.test", fetch, getToken: () => "t" });
  for await (const _ of client.list("/customers/{customerId}/staff", { path: { customerId: "cus_9" } })) void _;
  assert.equal(new URL(requests[0]!.url).pathname, "/customers/cus_9/staff");
  let n = 0;
  for await (const page of client.pages("/users", { role: "staff" })) n += page.items.length + 1;
  assert.equal(n, 1);
  assert.equal(new URL(requests[1]!.url).search, "?role=staff");
});

test("pages() stops on null and refuses a repeated cursor", async () => {
  const seen: (string | undefined)[] = [];
  for await (const p of pages(async (cursor) => {
    seen.push(cursor);
    return { items: [cursor], nextCursor: cursor === undefined ? "1" : null };
  })) void p;
  assert.deepEqual(seen, [undefined, "1"]);
  await assert.rejects(async () => {
    for await (const p of pages(async () => ({ items: [], nextCursor: "same" }))) void p;
  }, /same cursor/);
});

test("an error in a later page is thrown from the iterator", async () => {
  let n = 0;
  const { fetch } = fakeFetch(() =>
    n++ === 0
      ? json(200, { items: [customer("a")], nextCursor: "bad" })
      : problem(400, { type: "t", title: "Invalid cursor", status: 400, detail: "d", code: "invalid_cursor" }),
  );
  const client = createClient({ baseUrl: "http://api.test", fetch, getToken: () => "t" });
  const ids: string[] = [];
  await assert.rejects(async () => {
    for await (const c of client.list("/customers")) ids.push(c.id);
  }, (e: unknown) => e instanceof ApiError && e.code === "invalid_cursor");
  assert.deepEqual(ids, ["a"]);
});

test("types: routes, params and items are checked at compile time", async () => {
  const client = createClient({ baseUrl: "http://api.test", fetch: async () => json(200, { items: [], nextCursor: null }) });
  const never = false as boolean;
  if (never) {
    // @ts-expect-error the path params of a list route are required
    client.list("/customers/{customerId}/staff");
    // @ts-expect-error not a list route
    client.list("/me");
    // @ts-expect-error cursor is the iterator's business
    client.list("/customers", { cursor: "x" });
    // @ts-expect-error unknown route
    await client.GET("/nope");
    // @ts-expect-error a required body field is missing
    await client.POST("/customers", { body: { email: "a@b.example" } });
    for await (const member of client.list("/users", { role: "staff", limit: 10 })) {
      const role: "admin" | "staff" | "client" = member.role;
      void role;
    }
    const me = await unwrap(client.GET("/me"));
    // @ts-expect-error /me answers a member or an API key: narrow before reading `user`
    void me.user;
    if ("user" in me) {
      const email: string = me.user.email;
      void email;
    } else {
      const scope: "read" | "write" = me.apiKey.scope;
      void scope;
    }
  }
});
