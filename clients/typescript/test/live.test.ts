import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "../src/client.js";
import { backoffDelay, compareSeq, connectLive, type LiveChange, type LiveErrorEvent, type WebSocketConstructor, type WebSocketLike } from "../src/live.js";

/** An in-memory WebSocket: the test plays the server. */
class FakeWebSocket implements WebSocketLike {
  static instances: FakeWebSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  closedWith: number | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code?: number; reason?: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }
  send(data: string) {
    assert.equal(this.readyState, 1, "sent on a socket that is not open");
    this.sent.push(JSON.parse(data));
  }
  close(code?: number) {
    this.closedWith = code;
    this.readyState = 3;
  }
  // Server side:
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(frame: object) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: "" });
  }
}

const seq = (n: number) => String(n).padStart(16, "0");
const change = (n: number, over: Partial<LiveChange> = {}): LiveChange => ({
  type: "change",
  seq: seq(n),
  at: "2026-12-01T18:26:27.450Z",
  entity: "customer",
  action: "updated",
  id: "cus_1",
  customerId: "cus_1",
  userId: null,
  ...over,
});

const tick = () => new Promise((resolve) => setImmediate(resolve));
async function until(cond: () => boolean, what = "condition") {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.fail(`timed out waiting for ${what}`);
}

// A failed test must not leave a client reconnecting (the process would never exit).
const handles: { close(): void }[] = [];
afterEach(() => {
  for (const h of handles.splice(0)) h.close();
});

function setup(options: { lastSeq?: string; ticketStatus?: () => number; now?: () => number; pingIntervalMs?: number } = {}) {
  FakeWebSocket.instances = [];
  let tickets = 0;
  const fetch = async (req: Request) => {
    assert.equal(new URL(req.url).pathname, "/live/tickets");
    assert.equal(req.method, "POST");
    const status = options.ticketStatus?.() ?? 201;
    if (status !== 201) {
      return new Response(JSON.stringify({ type: "t", title: "x", status, detail: "d", code: status === 403 ? "no_organization" : "upstream_unavailable" }), {
        status,
        headers: { "Content-Type": "application/problem+json" },
      });
    }
    tickets += 1;
    const ticket = String(tickets).padStart(64, "0");
    return new Response(JSON.stringify({ ticket, url: `ws://live.test/live?ticket=${ticket}`, expiresAt: "2026-12-01T18:26:57.450Z" }), {
      status: 201,
      headers: { "Content-Type": "application/json" },
    });
  };
  const client = createClient({ baseUrl: "http://api.test", fetch, getToken: () => "tok" });
  const changes: string[] = [];
  const errors: LiveErrorEvent[] = [];
  let resyncs = 0;
  const handle = connectLive({
    client,
    WebSocket: FakeWebSocket,
    onChange: (c) => changes.push(c.seq.replace(/^0+/, "")),
    onResync: () => void resyncs++,
    onError: (e) => void errors.push(e),
    random: () => 0, // reconnect at once
    pingIntervalMs: options.pingIntervalMs ?? 60_000,
    ...(options.lastSeq !== undefined ? { lastSeq: options.lastSeq } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  handles.push(handle);
  const socket = async (n: number) => {
    await until(() => FakeWebSocket.instances.length > n, `socket ${n}`);
    return FakeWebSocket.instances[n]!;
  };
  return { handle, changes, errors, socket, resyncs: () => resyncs, tickets: () => tickets };
}

test("compareSeq and backoffDelay", () => {
  assert.equal(compareSeq(seq(9), seq(10)), -1);
  assert.equal(compareSeq("10", seq(9)), 1);
  assert.equal(compareSeq(seq(7), "7"), 0);
  for (let attempt = 0; attempt < 12; attempt++) {
    const ceiling = Math.min(30_000, 1000 * 2 ** attempt);
    assert.equal(backoffDelay(attempt, 1000, 30_000, () => 0), 0);
    assert.equal(backoffDelay(attempt, 1000, 30_000, () => 0.999999), Math.floor(0.999999 * ceiling));
    assert.ok(backoffDelay(attempt, 1000, 30_000, () => 1) <= 30_000);
  }
});

test("opens the ticket's url; resumes after lastSeq; lastSeq moves only on synced; interleaved duplicates dropped", async () => {
  const t = setup({ lastSeq: seq(5) });
  const ws = await t.socket(0);
  assert.match(ws.url, /^ws:\/\/live\.test\/live\?ticket=0+1$/);
  ws.open();
  assert.deepEqual(ws.sent, [{ action: "resume", after: seq(5) }]);
  ws.frame(change(9)); // a live frame first
  ws.frame(change(6)); // then the replay
  assert.equal(t.handle.lastSeq, seq(5), "not before synced");
  ws.frame(change(7));
  ws.frame(change(9)); // replayed too: already delivered
  ws.frame(change(6)); // and again (a retried post)
  ws.frame({ type: "synced", seq: seq(9) });
  assert.equal(t.handle.lastSeq, seq(9));
  assert.deepEqual(t.changes, ["9", "6", "7"]);
  ws.frame(change(10));
  assert.equal(t.handle.lastSeq, seq(9), "live frames do not move it");
  assert.equal(t.resyncs(), 0);
  t.handle.close();
  assert.equal(ws.closedWith, 1000);
});

test("reconnects with a new ticket and resumes; a replayed frame is not delivered twice", async () => {
  const t = setup({ lastSeq: seq(1) });
  const ws0 = await t.socket(0);
  ws0.open();
  ws0.frame({ type: "synced", seq: seq(3) });
  ws0.frame(change(4));
  ws0.frame(change(5));
  ws0.drop();
  const ws1 = await t.socket(1);
  assert.equal(t.tickets(), 2);
  assert.notEqual(ws1.url, ws0.url);
  assert.equal(t.handle.status, "reconnecting");
  ws1.open();
  assert.equal(t.handle.status, "open");
  assert.deepEqual(ws1.sent, [{ action: "resume", after: seq(3) }]);
  ws1.frame(change(4));
  ws1.frame(change(5));
  ws1.frame(change(6));
  ws1.frame({ type: "synced", seq: seq(6) });
  assert.deepEqual(t.changes, ["4", "5", "6"]);
  assert.equal(t.handle.lastSeq, seq(6));
  t.handle.close();
});

test("without lastSeq: no resume on open; the first change gives a resume point", async () => {
  const t = setup();
  const ws = await t.socket(0);
  ws.open();
  assert.deepEqual(ws.sent, []);
  ws.frame(change(42));
  assert.deepEqual(ws.sent, [{ action: "resume", after: seq(42) }]);
  ws.frame(change(43));
  ws.frame(change(43));
  ws.frame({ type: "synced", seq: seq(43) });
  assert.equal(t.handle.lastSeq, seq(43));
  assert.deepEqual(t.changes, ["42", "43"]);
  t.handle.close();
});

test("a reconnect with no resume point calls onResync", async () => {
  const t = setup();
  const ws0 = await t.socket(0);
  ws0.open();
  ws0.drop();
  const ws1 = await t.socket(1);
  ws1.open();
  assert.equal(t.resyncs(), 1);
  assert.deepEqual(ws1.sent, []);
  t.handle.close();
});

test("resync calls onResync and forgets lastSeq; pong is ignored; error frames are reported", async () => {
  const t = setup({ lastSeq: seq(2) });
  const ws = await t.socket(0);
  ws.open();
  ws.frame({ type: "resync" });
  assert.equal(t.resyncs(), 1);
  assert.equal(t.handle.lastSeq, undefined);
  ws.frame({ type: "pong" });
  ws.frame({ type: "error", code: "unknown_action" });
  assert.equal(t.errors.length, 1);
  assert.deepEqual(t.errors[0], { kind: "frame", code: "unknown_action", frame: { type: "error", code: "unknown_action" } });
  assert.equal(t.resyncs(), 1, "an error with no resume pending is only reported");
  ws.onmessage?.({ data: "not json" });
  ws.onmessage?.({ data: new TextEncoder().encode(JSON.stringify(change(8))) }); // a binary frame (ws's Buffer)
  assert.deepEqual(t.changes, ["8"]);
  t.handle.close();
});

test("an error frame answering a resume counts as a resync", async () => {
  const t = setup({ lastSeq: "garbage" });
  const ws = await t.socket(0);
  ws.open();
  ws.frame({ type: "error", code: "invalid_seq" });
  assert.equal(t.resyncs(), 1);
  assert.equal(t.handle.lastSeq, undefined);
  t.handle.close();
});

test("seqs at or before lastSeq are remembered 60 s; newer ones until synced", async () => {
  let clock = 1_000_000;
  const t = setup({ lastSeq: seq(10), now: () => clock });
  const ws = await t.socket(0);
  ws.open();
  ws.frame(change(11));
  ws.frame({ type: "synced", seq: seq(11) });
  ws.frame(change(12)); // newer than lastSeq: kept however long
  clock += 59_000;
  ws.frame(change(11)); // within 60 s: dropped
  clock += 2_000;
  ws.frame(change(12)); // newer than lastSeq: still dropped
  ws.frame(change(11)); // past 60 s and at lastSeq: forgotten, delivered again
  assert.deepEqual(t.changes, ["11", "12", "11"]);
  t.handle.close();
});

test("pings on the interval, and resumes as a checkpoint when changes came", async () => {
  const t = setup({ lastSeq: seq(1), pingIntervalMs: 15 });
  const ws = await t.socket(0);
  ws.open();
  ws.frame({ type: "synced", seq: seq(1) });
  ws.sent.length = 0;
  await until(() => ws.sent.length >= 2, "two pings");
  assert.ok(ws.sent.every((m) => JSON.stringify(m) === '{"action":"ping"}'), JSON.stringify(ws.sent));
  ws.frame(change(2));
  ws.sent.length = 0;
  await until(() => ws.sent.length >= 2, "ping and checkpoint");
  assert.deepEqual(ws.sent.slice(0, 2), [{ action: "ping" }, { action: "resume", after: seq(1) }]);
  ws.frame({ type: "synced", seq: seq(2) });
  assert.equal(t.handle.lastSeq, seq(2));
  t.handle.close();
});

test("ticket failures retry; 403 stops; close() stops reconnecting", async () => {
  let answers = [503, 201];
  const t = setup({ ticketStatus: () => answers.shift() ?? 201 });
  const ws = await t.socket(0);
  assert.equal(t.errors[0]?.kind, "ticket");
  ws.open();
  t.handle.close();
  assert.equal(t.handle.status, "closed");
  ws.drop(); // a late close event after close()
  await tick();
  await tick();
  assert.equal(FakeWebSocket.instances.length, 1);

  const s = setup({ ticketStatus: () => 403 });
  await until(() => s.errors.length > 0, "the 403");
  assert.equal(s.errors[0]?.kind, "stopped");
  assert.equal(s.handle.status, "closed");
  await tick();
  assert.equal(FakeWebSocket.instances.length, 0);
});

test("types: the DOM's and ws's WebSocket classes can be injected", async () => {
  const { WebSocket: WsWebSocket } = await import("ws");
  const fromWs: WebSocketConstructor = WsWebSocket;
  const never = false as boolean;
  if (never) {
    const fromDom: WebSocketConstructor = globalThis.WebSocket;
    void fromDom;
  }
  assert.equal(typeof fromWs, "function");
});
