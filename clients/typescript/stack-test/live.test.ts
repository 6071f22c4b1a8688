/**
 * The live connection against the local stack's gateway (which plays API Gateway's WebSocket API
 * and reads DynamoDB Local's stream as the event source mapping would): a change arrives; the
 * server closing the socket is survived with a reconnect and a resume that loses nothing and
 * repeats nothing; a `resync` refetches the queries through TanStack Query.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, test } from "node:test";
import { QueryClient, QueryObserver } from "@tanstack/query-core";
import { WebSocket } from "ws";
import {
  connectLive,
  keys,
  liveInvalidation,
  resyncInvalidation,
  unwrap,
  type ApiClient,
  type LiveChange,
  type LiveStatus,
} from "../src/index.js";
import { apiUrl, clientFor, eventually, token } from "./stack.js";

let api: ApiClient; // the admin of an organization of its own, so that no other test's changes interleave

before(async () => {
  const name = `Live Org ${randomUUID().slice(0, 8)}`;
  await unwrap(clientFor(token("admin@globex.test", "Globex Demo")).POST("/orgs", { body: { name } }));
  api = clientFor(token("admin@globex.test", name));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function newCustomer(name: string): Promise<string> {
  return (await unwrap(api.POST("/customers", { body: { name } }))).id;
}

test("a change arrives; a server close is survived, resumed without loss or duplicates", async () => {
  const received: LiveChange[] = [];
  const statuses: LiveStatus[] = [];
  const errors: unknown[] = [];
  const live = connectLive({
    client: api,
    WebSocket,
    onChange: (change) => received.push(change),
    onStatus: (status) => statuses.push(status),
    onError: (event) => errors.push(event),
    // Reconnect exactly 400 ms after the close, so that changes are made while it is away.
    backoffInitialMs: 400,
    random: () => 1,
  });
  try {
    const created = (id: string) => received.some((c) => c.entity === "customer" && c.action === "created" && c.id === id);
    await eventually("the socket opens", () => live.status === "open");
    const a = await newCustomer("Live A");
    await eventually("A's change arrives", () => created(a));
    await eventually("a resume point", () => live.lastSeq !== undefined);

    const closed = (await (await fetch(`${apiUrl}/_local/live/close`, { method: "POST" })).json()) as { closed: number };
    assert.ok(closed.closed >= 1, "the gateway closed the socket");
    await eventually("the client notices", () => statuses.includes("reconnecting"));
    const b = await newCustomer("Live B"); // while it is away
    const c = await newCustomer("Live C");
    await eventually("it is open again", () => statuses.filter((s) => s === "open").length === 2);
    const d = await newCustomer("Live D");
    await eventually("B, C and D arrive", () => [b, c, d].every(created));
    await sleep(300); // time for any duplicate to come

    const customersCreated = received.filter((x) => x.entity === "customer" && x.action === "created").map((x) => x.id);
    assert.deepEqual(customersCreated, [a, b, c, d], "each once, in order");
    const seqs = received.map((x) => x.seq);
    assert.equal(new Set(seqs).size, seqs.length, "no seq twice");
    assert.deepEqual([...seqs].sort(), seqs, "in seq order");
    assert.deepEqual(errors, []);
  } finally {
    live.close();
  }
});

test("resync refetches the queries shown; a change refetches its list", async () => {
  const queryClient = new QueryClient();
  let fetches = 0;
  const observer = new QueryObserver(queryClient, {
    queryKey: keys.customers.list(),
    queryFn: async () => {
      fetches += 1;
      return unwrap(api.GET("/customers"));
    },
  });
  const unsubscribe = observer.subscribe(() => {});
  let resyncs = 0;
  const live = connectLive({
    client: api,
    WebSocket,
    // A resume point the server does not keep: it answers `resync`.
    lastSeq: "0000000099999999",
    onChange: liveInvalidation(queryClient),
    onResync: () => {
      resyncs += 1;
      resyncInvalidation(queryClient)();
    },
  });
  try {
    await eventually("the first fetch", () => observer.getCurrentResult().isSuccess);
    await eventually("resync", () => resyncs === 1);
    await eventually("a refetch after resync", () => fetches >= 2);
    const before = fetches;
    const id = await newCustomer("Live E");
    await eventually("the list refetched with E", () =>
      fetches > before && (observer.getCurrentResult().data?.items ?? []).some((c) => c.id === id),
    );
  } finally {
    live.close();
    unsubscribe();
    queryClient.clear();
  }
});
