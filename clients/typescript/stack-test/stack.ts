/**
 * The local stack the stack tests run against: `infra/scripts/dev.sh COMMAND` starts DynamoDB
 * Local, the WorkOS emulator with the demo seed, the demo data and the local gateway on free
 * ports, and sets API_URL and the WorkOS variables for COMMAND (`make test` runs
 * `npm run test:stack` so). Tokens come from `infra/scripts/token.sh`, as `make token` gives them.
 */
import { execFileSync } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createClient, type ApiClient } from "../src/index.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through infra/scripts/dev.sh (make test)`);
  return value;
}

export const apiUrl = required("API_URL");
const workosUrl = required("WORKOS_API_URL");
const workosKey = required("WORKOS_API_KEY");
const repo = fileURLToPath(new URL("../../../../", import.meta.url));
export const DEMO_PASSWORD = "Password123!";

/** An organization-scoped access token for a user (the organization named, or their first). */
export function token(email: string, orgName?: string, password = DEMO_PASSWORD): string {
  return execFileSync(`${repo}infra/scripts/token.sh`, orgName ? [email, orgName] : [email], {
    env: { ...process.env, DEMO_PASSWORD: password },
    encoding: "utf8",
  }).trim();
}

/** Every operation (`METHOD /path` as the document writes it) called through `clientFor`'s clients. */
export const called = new Set<string>();

/** A client signed in with `accessToken`, as the front end makes it with AuthKit's getAccessToken. */
export function clientFor(accessToken: string): ApiClient {
  const client = createClient({ baseUrl: apiUrl, getToken: async () => accessToken });
  client.use({
    onRequest({ request, schemaPath }) {
      called.add(`${request.method} ${schemaPath}`);
    },
  });
  return client;
}

/** Every operation of `docs/openapi.yaml` (its paths at two spaces, their methods at four). */
export function documentedOperations(): string[] {
  const operations: string[] = [];
  let path = "";
  for (const line of readFileSync(`${repo}docs/openapi.yaml`, "utf8").split("\n")) {
    const pathLine = /^  (\/\S*):\s*$/.exec(line);
    if (pathLine?.[1]) path = pathLine[1];
    const method = /^    (get|put|post|patch|delete):\s*$/.exec(line);
    if (method?.[1] && path) operations.push(`${method[1].toUpperCase()} ${path}`);
    if (/^\S/.test(line)) path = "";
  }
  return operations;
}

/** A call of the WorkOS emulator's API (the test's own setup: users and memberships). */
export async function workos<T = Record<string, any>>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(workosUrl + path, {
    method,
    headers: { Authorization: `Bearer ${workosKey}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`WorkOS ${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/** A new WorkOS user (with the demo password) who is a member of `organizationId` with `role`. */
export async function newMember(organizationId: string, role: "admin" | "staff" | "client") {
  const email = `member-${randomUUID().slice(0, 8)}@stack.test`;
  const user = await workos("POST", "/user_management/users", {
    email,
    password: DEMO_PASSWORD,
    first_name: "Stack",
    last_name: "Member",
    email_verified: true,
  });
  await workos("POST", "/user_management/organization_memberships", {
    user_id: user.id,
    organization_id: organizationId,
    role_slug: role,
  });
  return { email, userId: user.id as string };
}

/** A Lemon Squeezy example event for `orgId`, with the checkout tag and signature the stack's secrets make. */
export function signedBillingEvent(event: string, orgId: string): { body: string; signature: string } {
  const fixture = readFileSync(`${repo}infra/testkit/fixtures/lemonsqueezy/${event}.json`, "utf8");
  const issued = "2025-01-15T10:00:00.000Z";
  const tagSecret = process.env.CHECKOUT_TAG_SECRET ?? "local-checkout-tag-secret";
  const key = createHmac("sha256", tagSecret).update("checkout-tag-v1").digest();
  const tag = createHmac("sha256", key).update(`${orgId}\n${issued}`).digest("hex");
  const body = fixture.replace(
    '"org_id": "org_01JEXAMPLE0000000000000000"',
    `"org_id": "${orgId}", "org_issued_at": "${issued}", "org_tag": "${tag}"`,
  );
  const secret = process.env.LEMONSQUEEZY_WEBHOOK_SECRET ?? "local-webhook-secret";
  return { body, signature: createHmac("sha256", secret).update(body).digest("hex") };
}

/** A WorkOS webhook delivery signed as WorkOS signs it (`t=<ms>, v1=<hex>`). */
export function signedWorkosEvent(event: Record<string, unknown>): { body: string; signature: string } {
  const body = JSON.stringify(event);
  const t = Date.now().toString();
  const secret = required("WORKOS_WEBHOOK_SECRET");
  return { body, signature: `t=${t}, v1=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}` };
}

/** Waits until `check` holds, polling every 20 ms, or fails after `ms`. */
export async function eventually(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
