/**
 * TanStack Query glue: a query-key factory for the API's reads, and the keys each live change
 * makes stale. Uses `@tanstack/query-core` types only (an optional peer dependency), so it works
 * with `@tanstack/react-query` (whose `QueryClient` is query-core's) and the other adapters.
 *
 * Keys are hierarchical and start with `"api"`: invalidating a key invalidates every key it is
 * a prefix of (TanStack's default, non-exact matching). So `keys.customers.list()` (no params)
 * covers every page size and filter of the customer list, and `keys.all` everything.
 */
import type { QueryClient, QueryKey } from "@tanstack/query-core";
import type { LiveChange } from "./live.js";

type Params = Record<string, unknown>;

const withParams = <K extends readonly unknown[]>(key: K, params?: Params) =>
  params === undefined ? key : ([...key, params] as const);

export const keys = {
  /** Every key of this package. */
  all: ["api"] as const,
  /** `GET /me` */
  me: () => ["api", "me"] as const,
  /** `GET /org` */
  org: () => ["api", "org"] as const,
  /** `GET /billing` */
  billing: () => ["api", "billing"] as const,
  /** `GET /audit-log` (params: `{limit, action, targetId, actorId}`) */
  auditLog: (params?: Params) => withParams(["api", "auditLog"] as const, params),
  customers: {
    all: () => ["api", "customers"] as const,
    /** `GET /customers`; without params, the prefix of every customer list. */
    list: (params?: Params) => withParams(["api", "customers", "list"] as const, params),
    /** `GET /customers/{customerId}` */
    detail: (customerId: string) => ["api", "customers", "detail", customerId] as const,
    /** `GET /customers/{customerId}/staff`; without id, the prefix of every customer's staff list. */
    staff: (customerId?: string, params?: Params) =>
      customerId === undefined
        ? (["api", "customers", "staff"] as const)
        : withParams(["api", "customers", "staff", customerId] as const, params),
  },
  users: {
    all: () => ["api", "users"] as const,
    /** `GET /users` (params: `{limit, role}`); without params, the prefix of every member list. */
    list: (params?: Params) => withParams(["api", "users", "list"] as const, params),
    /** `GET /users/{userId}` */
    detail: (userId: string) => ["api", "users", "detail", userId] as const,
    /** `GET /users/{userId}/customers`; without id, the prefix of every such list. */
    customers: (userId?: string, params?: Params) =>
      userId === undefined
        ? (["api", "users", "customers"] as const)
        : withParams(["api", "users", "customers", userId] as const, params),
  },
  invitations: {
    /** `GET /invitations` */
    list: (params?: Params) => withParams(["api", "invitations", "list"] as const, params),
  },
};

/** The fields of a change that decide what it makes stale. */
export type ChangeLike = Pick<LiveChange, "entity" | "action" | "id"> &
  Partial<Pick<LiveChange, "customerId" | "userId">>;

/**
 * The query keys a live change makes stale (prefixes; duplicates removed):
 * - `customer`: that customer, the customer lists (and the staff members' customer lists, which
 *   show it too); created or deleted also `org` (its usage) and, deleted, the customer's staff list;
 * - `assignment`: the customer's staff, the staff member's customers, and the customer lists
 *   (a staff member's `GET /customers` is their assigned customers);
 * - `member`: the member list, that member, `me`, and `org` (seats); removed also every
 *   assignment list (a member's assignments go with them) and the customer lists;
 * - `invitation`: the invitation list and `org` (pending invitations hold seats);
 * - `org`: `org` and `me`;
 * - `billing`: `billing` and `org` (plan and limits).
 */
export function keysForChange(change: ChangeLike): QueryKey[] {
  const out: QueryKey[] = [];
  const customerId = change.customerId ?? change.id;
  switch (change.entity) {
    case "customer":
      out.push(keys.customers.detail(customerId), keys.customers.list(), keys.users.customers());
      if (change.action !== "updated") out.push(keys.org());
      if (change.action === "deleted") out.push(keys.customers.staff(customerId));
      break;
    case "assignment":
      out.push(keys.customers.staff(customerId));
      out.push(change.userId ? keys.users.customers(change.userId) : keys.users.customers());
      out.push(keys.customers.list());
      break;
    case "member": {
      const userId = change.userId ?? change.id;
      out.push(keys.users.list(), keys.users.detail(userId), keys.me(), keys.org());
      if (change.action === "deleted") {
        out.push(keys.customers.staff(), keys.users.customers(userId), keys.customers.list());
      }
      break;
    }
    case "invitation":
      out.push(keys.invitations.list(), keys.org());
      break;
    case "org":
      out.push(keys.org(), keys.me());
      break;
    case "billing":
      out.push(keys.billing(), keys.org());
      break;
    default:
      // An entity this version does not know: refetch everything rather than show stale data.
      out.push(keys.all);
  }
  return dedupe(out);
}

/** The part of a `QueryClient` used here (TanStack Query v5). */
export type InvalidatingClient = Pick<QueryClient, "invalidateQueries">;

/**
 * An `onChange` for `connectLive` that invalidates the queries each change makes stale:
 * `connectLive({ client, onChange: liveInvalidation(queryClient), onResync: resyncInvalidation(queryClient) })`.
 */
export function liveInvalidation(queryClient: InvalidatingClient): (change: ChangeLike) => void {
  return (change) => {
    for (const queryKey of keysForChange(change)) {
      void queryClient.invalidateQueries({ queryKey });
    }
  };
}

/** An `onResync` for `connectLive`: invalidates every query of this package. */
export function resyncInvalidation(queryClient: InvalidatingClient): () => void {
  return () => {
    void queryClient.invalidateQueries({ queryKey: keys.all });
  };
}

function dedupe(list: QueryKey[]): QueryKey[] {
  const seen = new Set<string>();
  return list.filter((key) => {
    const id = JSON.stringify(key);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
