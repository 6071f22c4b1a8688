/**
 * Live updates (API.md "Live updates", docs/live-updates.md): one WebSocket per signed-in tab
 * that tells of every change the member may see, ids only; the app refetches through the routes.
 *
 * State machine:
 * - connect: `POST /live/tickets`, open its `url`; once open, send `{"action":"resume","after":
 *   lastSeq}` when there is a `lastSeq`.
 * - every change frame is delivered once: the seqs seen are kept (those newer than `lastSeq`
 *   until the next `synced`, the others 60 s), so a replayed or re-posted frame is dropped.
 * - `lastSeq` (the point the next resume starts from) advances only on `synced`: frames of a
 *   resume and live frames interleave, so the highest seq seen is not a safe resume point until
 *   the resume has ended.
 * - a connection opened without `lastSeq` gets one by resuming after the first change it sees;
 *   a reconnect that has none calls `onResync` (what happened meanwhile is unknown).
 * - `resync`: `onResync`, and `lastSeq` is forgotten (it is no longer kept by the server).
 * - `{"action":"ping"}` every 5 minutes (API Gateway closes a socket idle for 10); `pong` ignored.
 *   With the ping, when changes came since `lastSeq`, a resume after `lastSeq` (a checkpoint), so
 *   `lastSeq` keeps up during a connection of up to 2 hours.
 * - `error` frames go to `onError`; one that ends a pending resume counts as a resync.
 * - on close: reconnect with exponential backoff and full jitter, capped at 30 s.
 */
import type { ApiClient } from "./client.js";
import { ApiError } from "./client.js";

export type LiveEntity = "org" | "member" | "invitation" | "customer" | "assignment" | "billing";
export type LiveAction = "created" | "updated" | "deleted";

/** One change the member may see. `id`: the org id, the member's user id, the invitation id, or the customer id (for an assignment: the customer's, with `userId` the staff member's). */
export interface LiveChange {
  type: "change";
  seq: string;
  at: string;
  entity: LiveEntity;
  action: LiveAction;
  id: string;
  customerId: string | null;
  userId: string | null;
}

export type LiveFrame =
  | LiveChange
  | { type: "synced"; seq: string }
  | { type: "resync" }
  | { type: "pong" }
  | { type: "error"; code: string; [key: string]: unknown };

/** The part of a WebSocket that the live client uses (the browser's, Node 22's global, or `ws`'s). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type LiveStatus = "connecting" | "open" | "reconnecting" | "closed";

/** What went wrong, as reported to `onError`. */
export type LiveErrorEvent =
  | { kind: "frame"; code: string; frame: LiveFrame }
  | { kind: "ticket"; error: unknown }
  | { kind: "socket"; error: unknown }
  | { kind: "handler"; error: unknown }
  | { kind: "stopped"; error: unknown };

export interface ConnectLiveOptions {
  /** A client made by `createClient` with `getToken` (tickets are for members, not API keys). */
  client: Pick<ApiClient, "POST">;
  /** Called once per change (never twice for one `seq`). */
  onChange: (change: LiveChange) => void;
  /** The changes since the last resume point are not known: refetch what is shown. */
  onResync?: () => void;
  /** Error frames, failed tickets, socket errors, exceptions of the handlers. */
  onError?: (event: LiveErrorEvent) => void;
  onStatus?: (status: LiveStatus) => void;
  /** The WebSocket class; defaults to `globalThis.WebSocket` (browsers, Node 22). In Node 20 pass `ws`'s. */
  WebSocket?: WebSocketConstructor;
  /** A resume point kept from an earlier session (`handle.lastSeq`), resumed after on the first connect. */
  lastSeq?: string;
  /** Default 5 minutes. */
  pingIntervalMs?: number;
  /** First backoff step (default 1000 ms); the n-th retry waits random() * min(maxMs, initialMs * 2^n). */
  backoffInitialMs?: number;
  /** Backoff cap, default 30 000 ms. */
  backoffMaxMs?: number;
  /** How long a seq at or before `lastSeq` is remembered for dedupe (default 60 000 ms). */
  dedupeWindowMs?: number;
  /**
   * With each ping, when changes came since `lastSeq`, also resume after `lastSeq` (a cheap
   * replay, deduped) so that `synced` moves `lastSeq` up during a long connection. Default true.
   */
  checkpoint?: boolean;
  /** For tests. */
  random?: () => number;
  /** For tests. */
  now?: () => number;
}

export interface LiveHandle {
  /** Closes the socket and stops reconnecting. */
  close(): void;
  /** The current resume point (persist it to resume across page loads), if any. */
  readonly lastSeq: string | undefined;
  readonly status: LiveStatus;
}

const OPEN = 1;
const NORMAL_CLOSURE = 1000;

/** Compares two seqs (decimal counters, sent as 16 digits). */
export function compareSeq(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, "");
  const y = b.replace(/^0+(?=\d)/, "");
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Exponential backoff with full jitter: a random wait in [0, min(maxMs, initialMs * 2^attempt)). */
export function backoffDelay(attempt: number, initialMs = 1_000, maxMs = 30_000, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(Math.min(Math.max(random(), 0), 1) * ceiling);
}

export function connectLive(options: ConnectLiveOptions): LiveHandle {
  const {
    client,
    onChange,
    onResync,
    onError,
    onStatus,
    pingIntervalMs = 5 * 60_000,
    backoffInitialMs = 1_000,
    backoffMaxMs = 30_000,
    dedupeWindowMs = 60_000,
    checkpoint = true,
    random = Math.random,
    now = Date.now,
  } = options;
  const WebSocketImpl: WebSocketConstructor | undefined =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocketImpl) {
    throw new TypeError("connectLive: no global WebSocket here (Node 20): pass one, e.g. `WebSocket` from the `ws` package");
  }

  let lastSeq: string | undefined = options.lastSeq;
  /** seq → when it was seen. */
  const seen = new Map<string, number>();
  let socket: WebSocketLike | undefined;
  let status: LiveStatus = "connecting";
  let closed = false;
  let attempt = 0;
  let connections = 0;
  let resumePending = false;
  let openedAt = 0;
  let pingTimer: ReturnType<typeof setInterval> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  const report = (event: LiveErrorEvent) => {
    try {
      onError?.(event);
    } catch {
      // A throwing error handler must not stop the client.
    }
  };
  const setStatus = (next: LiveStatus) => {
    if (status === next) return;
    status = next;
    try {
      onStatus?.(next);
    } catch (error) {
      report({ kind: "handler", error });
    }
  };
  const resync = () => {
    lastSeq = undefined;
    try {
      onResync?.();
    } catch (error) {
      report({ kind: "handler", error });
    }
  };
  const send = (ws: WebSocketLike, message: object) => {
    if (ws.readyState === OPEN) ws.send(JSON.stringify(message));
  };
  const resume = (ws: WebSocketLike, after: string) => {
    resumePending = true;
    send(ws, { action: "resume", after });
  };
  const hasSeenAfter = (point: string) => {
    for (const seq of seen.keys()) if (compareSeq(seq, point) > 0) return true;
    return false;
  };
  const prune = () => {
    const limit = now() - dedupeWindowMs;
    for (const [seq, when] of seen) {
      if (when < limit && lastSeq !== undefined && compareSeq(seq, lastSeq) <= 0) seen.delete(seq);
    }
  };

  const handleFrame = (ws: WebSocketLike, frame: LiveFrame) => {
    switch (frame.type) {
      case "change": {
        if (typeof frame.seq !== "string") return;
        prune();
        if (seen.has(frame.seq)) return;
        seen.set(frame.seq, now());
        // Opened with no resume point: take one from the first change (see the header comment).
        if (lastSeq === undefined && !resumePending) resume(ws, frame.seq);
        try {
          onChange(frame);
        } catch (error) {
          report({ kind: "handler", error });
        }
        return;
      }
      case "synced":
        resumePending = false;
        if (typeof frame.seq === "string" && (lastSeq === undefined || compareSeq(frame.seq, lastSeq) > 0)) {
          lastSeq = frame.seq;
        }
        prune();
        return;
      case "resync":
        resumePending = false;
        resync();
        return;
      case "pong":
        return;
      case "error":
        report({ kind: "frame", code: String(frame.code), frame });
        // The server refused our resume (say, a seq it cannot read): nothing will end it.
        if (resumePending) {
          resumePending = false;
          resync();
        }
        return;
      default:
        return; // Unknown frame types are for newer clients.
    }
  };

  const scheduleReconnect = () => {
    if (closed) return;
    setStatus("reconnecting");
    const delay = backoffDelay(attempt, backoffInitialMs, backoffMaxMs, random);
    attempt += 1;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delay);
  };

  const connect = async () => {
    if (closed) return;
    let url: string;
    try {
      const { data } = await client.POST("/live/tickets");
      if (!data) throw new Error("POST /live/tickets answered no ticket");
      url = data.url;
    } catch (error) {
      if (closed) return;
      // 403: not a member (removed, organization deleted, an API key): retrying will not help.
      if (error instanceof ApiError && error.status === 403) {
        report({ kind: "stopped", error });
        stop();
        return;
      }
      report({ kind: "ticket", error });
      scheduleReconnect();
      return;
    }
    if (closed) return;
    let ws: WebSocketLike;
    try {
      ws = new WebSocketImpl(url);
    } catch (error) {
      report({ kind: "socket", error });
      scheduleReconnect();
      return;
    }
    socket = ws;
    const reconnecting = connections > 0;
    connections += 1;
    ws.onopen = () => {
      if (closed || socket !== ws) return;
      openedAt = now();
      setStatus("open");
      resumePending = false;
      if (lastSeq !== undefined) {
        resume(ws, lastSeq);
      } else if (reconnecting) {
        // Disconnected with no resume point: what happened meanwhile is unknown.
        resync();
      }
      clearInterval(pingTimer);
      pingTimer = setInterval(() => {
        send(ws, { action: "ping" });
        // Checkpoint: a resume after `lastSeq` replays (deduped) what came since and ends with
        // `synced`, which moves `lastSeq` up, so a later reconnect replays little.
        if (checkpoint && lastSeq !== undefined && !resumePending && hasSeenAfter(lastSeq)) resume(ws, lastSeq);
      }, pingIntervalMs);
    };
    ws.onmessage = (event) => {
      if (socket !== ws) return;
      const frame = parseFrame(event.data);
      if (frame) handleFrame(ws, frame);
    };
    ws.onerror = (error) => {
      if (socket === ws && !closed) report({ kind: "socket", error });
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = undefined;
      clearInterval(pingTimer);
      pingTimer = undefined;
      resumePending = false;
      // A connection that lived a while starts the backoff again (2-hour limit, deploys).
      if (openedAt && now() - openedAt >= 30_000) attempt = 0;
      openedAt = 0;
      scheduleReconnect();
    };
  };

  const stop = () => {
    closed = true;
    clearTimeout(retryTimer);
    clearInterval(pingTimer);
    retryTimer = undefined;
    pingTimer = undefined;
    const ws = socket;
    socket = undefined;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(NORMAL_CLOSURE, "client closed");
      } catch {
        // Already closing.
      }
    }
    setStatus("closed");
  };

  void connect();

  return {
    close: stop,
    get lastSeq() {
      return lastSeq;
    },
    get status() {
      return status;
    },
  };
}

function parseFrame(data: unknown): LiveFrame | undefined {
  let text: string;
  if (typeof data === "string") text = data;
  else if (data instanceof ArrayBuffer) text = new TextDecoder().decode(data);
  else if (ArrayBuffer.isView(data)) text = new TextDecoder().decode(data);
  else return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string"
      ? (value as LiveFrame)
      : undefined;
  } catch {
    return undefined;
  }
}
