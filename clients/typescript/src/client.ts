/**
 * Typed HTTP client for the backend's API (docs/openapi.yaml), built on openapi-fetch.
 *
 * Every route of the generated `paths` is available as `client.GET(...)`, `client.POST(...)`,
 * etc. with typed params, bodies and answers. Any answer that is not a 2xx is thrown as an
 * `ApiError` (a `application/problem+json` answer carries the server's `code`, `detail` and
 * `errors`), so `data` is always set once the call returns; `unwrap()` narrows its type.
 */
import createFetchClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type Customer = Schemas["Customer"];
export type Member = Schemas["Member"];
export type Invitation = Schemas["Invitation"];
export type Organization = Schemas["Organization"];
export type Billing = Schemas["Billing"];
export type Me = Schemas["Me"];
export type AuditEntry = Schemas["AuditEntry"];

/** One field error of a `validation_failed` problem. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * A non-2xx answer of the API. For a problem+json answer (every error the backend itself makes)
 * `code`, `title`, `detail`, `type` and `errors` come from the body; for anything else (an API
 * Gateway 502/429 with a plain body, a proxy's HTML page) `code` is `http_<status>` and
 * `problem` is null. Branch on `code`, not on `detail`.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly code: string;
  readonly type: string | undefined;
  readonly title: string | undefined;
  readonly detail: string | undefined;
  readonly errors: FieldError[];
  /** The whole problem body (with extensions such as `resource`, `limit`, `usage` of a 402), or null. */
  readonly problem: (Partial<Problem> & Record<string, unknown>) | null;
  /** Seconds from the `Retry-After` header (429 `rate_limited`), when present and numeric. */
  readonly retryAfter: number | undefined;
  /** The response, its body already read. */
  readonly response: Response | undefined;

  constructor(init: {
    status: number;
    code: string;
    type?: string | undefined;
    title?: string | undefined;
    detail?: string | undefined;
    errors?: FieldError[] | undefined;
    problem?: (Partial<Problem> & Record<string, unknown>) | null | undefined;
    retryAfter?: number | undefined;
    response?: Response | undefined;
  }) {
    super(`${init.status} ${init.code}${init.detail ? `: ${init.detail}` : ""}`);
    this.status = init.status;
    this.code = init.code;
    this.type = init.type;
    this.title = init.title;
    this.detail = init.detail;
    this.errors = init.errors ?? [];
    this.problem = init.problem ?? null;
    this.retryAfter = init.retryAfter;
    this.response = init.response;
  }

  /** The message of the first error of `field`, if the problem names that field. */
  fieldError(field: string): string | undefined {
    return this.errors.find((e) => e.field === field)?.message;
  }

  /** Reads a non-2xx `Response` (consuming its body) into an `ApiError`. */
  static async fromResponse(response: Response): Promise<ApiError> {
    const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
    const contentType = (response.headers.get("Content-Type") ?? "").toLowerCase();
    let text = "";
    try {
      text = await response.text();
    } catch {
      // A body that cannot be read leaves the status to speak.
    }
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const isProblem = contentType.split(";")[0]?.trim() === "application/problem+json";
    if (isProblem && isObject(body)) {
      const problem = body as Partial<Problem> & Record<string, unknown>;
      return new ApiError({
        status: typeof problem.status === "number" ? problem.status : response.status,
        code: typeof problem.code === "string" ? problem.code : `http_${response.status}`,
        type: str(problem.type),
        title: str(problem.title),
        detail: str(problem.detail),
        errors: Array.isArray(problem.errors)
          ? problem.errors.filter(isObject).map((e) => ({ field: String(e.field ?? ""), message: String(e.message ?? "") }))
          : [],
        problem,
        retryAfter,
        response,
      });
    }
    // Not a problem: API Gateway's own answers (`{"message": "..."}`), a proxy's page, etc.
    const message = isObject(body) && typeof body.message === "string" ? body.message : text.slice(0, 500) || response.statusText;
    return new ApiError({
      status: response.status,
      code: `http_${response.status}`,
      title: response.statusText || undefined,
      detail: message || undefined,
      retryAfter,
      response,
    });
  }
}

/** A function returning a WorkOS access token, e.g. AuthKit's `getAccessToken`. */
export type TokenGetter = () => Promise<string | null | undefined> | string | null | undefined;

export interface CreateClientOptions {
  /** Where the API is, e.g. `https://api.example.com` or `http://127.0.0.1:9000`. */
  baseUrl: string;
  /** Returns the signed-in user's WorkOS access token (AuthKit's `getAccessToken`); called per request. */
  getToken?: TokenGetter;
  /** An API key's secret, for machine clients (sent as `Authorization: Bearer <secret>`). */
  apiKey?: string;
  /** A fetch implementation (defaults to `globalThis.fetch`). */
  fetch?: (input: Request) => Promise<Response>;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
}

/** The paths whose `GET` answers a page `{items, nextCursor}`. */
export type ListPath = {
  [P in keyof paths]: Page200<GetOp<P>> extends { items: unknown[]; nextCursor: unknown } ? P : never;
}[keyof paths];

/** The item type of a list path. */
export type ListItem<P extends ListPath> = Page200<GetOp<P>> extends { items: (infer I)[] } ? I : never;

/** One page of a list route. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * What `client.list(path, params)` takes: the route's query parameters except `cursor`, and
 * `path` for routes with path parameters (`{path: {customerId}}`).
 */
export type ListParams<P extends ListPath> = QueryOf<P> & PathParamsOf<P>;

type GetOp<P extends keyof paths> = paths[P] extends { get: infer O } ? O : never;
type Page200<O> = O extends { responses: { 200: { content: { "application/json": infer B } } } } ? B : never;
type QueryOf<P extends ListPath> = GetOp<P> extends { parameters: { query?: infer Q } }
  ? Omit<NonNullable<Q>, "cursor">
  : {};
type PathParamsOf<P extends ListPath> = GetOp<P> extends { parameters: { path: infer X } }
  ? { path: X }
  : { path?: undefined };
type ListArgs<P extends ListPath> = {} extends ListParams<P>
  ? [params?: ListParams<P>, init?: ListInit]
  : [params: ListParams<P>, init?: ListInit];

/** Per-call options of `list` and `pages`. */
export interface ListInit {
  signal?: AbortSignal;
  /** The cursor to start from (a `nextCursor` kept from an earlier page); the first page without it. */
  cursor?: string;
}

export type ApiClient = Client<paths> & {
  /** Every item of a list route, following `nextCursor` page by page. */
  list<P extends ListPath>(path: P, ...args: ListArgs<P>): AsyncGenerator<ListItem<P>, void, undefined>;
  /** Every page of a list route, following `nextCursor`. */
  pages<P extends ListPath>(path: P, ...args: ListArgs<P>): AsyncGenerator<Page<ListItem<P>>, void, undefined>;
};

/**
 * Makes a client. Give `getToken` (a signed-in user: AuthKit's `getAccessToken`) or `apiKey`
 * (a machine client), not both; with neither, requests go without `Authorization` (only the
 * webhooks accept that).
 */
export function createClient(options: CreateClientOptions): ApiClient {
  const { baseUrl, getToken, apiKey, fetch: customFetch, headers } = options;
  if (getToken && apiKey) {
    throw new TypeError("createClient: give getToken or apiKey, not both");
  }
  const client = createFetchClient<paths>({
    baseUrl,
    ...(customFetch ? { fetch: customFetch } : {}),
    ...(headers ? { headers } : {}),
  });
  client.use(authAndIdempotency(getToken, apiKey), throwOnError);

  async function* pagesOf(path: string, params: Record<string, unknown> | undefined, init: ListInit | undefined) {
    const { path: pathParams, ...query } = params ?? {};
    yield* pages((cursor) =>
      unwrap(
        // The route is one of ListPath; its params were checked by `list`'s signature.
        (client.GET as (url: string, init: unknown) => Promise<{ data?: unknown; error?: unknown; response: Response }>)(
          path,
          {
            params: { query: cursor === undefined ? query : { ...query, cursor }, ...(pathParams ? { path: pathParams } : {}) },
            ...(init?.signal ? { signal: init.signal } : {}),
          },
        ),
      ) as Promise<Page<unknown>>,
      init?.cursor,
    );
  }

  return Object.assign(client, {
    pages: ((path: string, params?: Record<string, unknown>, init?: ListInit) =>
      pagesOf(path, params, init)) as ApiClient["pages"],
    list: (async function* (path: string, params?: Record<string, unknown>, init?: ListInit) {
      for await (const page of pagesOf(path, params, init)) yield* page.items;
    }) as ApiClient["list"],
  });
}

/**
 * Follows `nextCursor` from page to page: `fetchPage(cursor)` is called with `undefined` (or
 * `startCursor`) first, then with each page's `nextCursor` until it is null. A page may be short,
 * even empty, and still have a `nextCursor`; it is followed all the same.
 */
export async function* pages<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  startCursor?: string,
): AsyncGenerator<Page<T>, void, undefined> {
  let cursor = startCursor;
  for (;;) {
    const page = await fetchPage(cursor);
    yield page;
    const next = page.nextCursor;
    if (next === null || next === undefined) return;
    if (next === cursor) throw new Error(`pages: the server answered the same cursor twice (${next})`);
    cursor = next;
  }
}

/** Every item of every page (see `pages`). */
export async function* items<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  startCursor?: string,
): AsyncGenerator<T, void, undefined> {
  for await (const page of pages(fetchPage, startCursor)) yield* page.items;
}

/**
 * The `data` of an openapi-fetch call, typed without `undefined`. The client already throws
 * `ApiError` for non-2xx answers; this also throws if an `error` got through (a custom fetch
 * that bypasses the middleware).
 */
export async function unwrap<R extends { data?: unknown; error?: unknown; response: Response }>(
  call: Promise<R>,
): Promise<NonNullable<R["data"]>> {
  const result = await call;
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError({
      status: result.response.status,
      code: isObject(result.error) && typeof result.error.code === "string" ? result.error.code : `http_${result.response.status}`,
      problem: isObject(result.error) ? (result.error as Record<string, unknown>) : null,
      response: result.response,
    });
  }
  return result.data as NonNullable<R["data"]>;
}

function authAndIdempotency(getToken: TokenGetter | undefined, apiKey: string | undefined): Middleware {
  return {
    async onRequest({ request, schemaPath }) {
      if (!request.headers.has("Authorization")) {
        const token = getToken ? await getToken() : apiKey;
        if (token) request.headers.set("Authorization", `Bearer ${token}`);
      }
      // POST /orgs is safe to retry with the same key; give it one when the caller did not.
      if (schemaPath === "/orgs" && request.method === "POST" && !request.headers.has("Idempotency-Key")) {
        request.headers.set("Idempotency-Key", crypto.randomUUID());
      }
      return request;
    },
  };
}

const throwOnError: Middleware = {
  async onResponse({ response }) {
    if (!response.ok) throw await ApiError.fromResponse(response);
    return undefined;
  },
};

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
