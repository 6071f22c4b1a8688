/**
 * The example page of @saas/api-client: signs in with a demo user's token, lists the customers
 * with TanStack Query, and shows changes made elsewhere without a reload (live updates →
 * query invalidation → refetch). `make dev` serves it at http://127.0.0.1:$PORT/_local/example/.
 *
 * The token comes from the URL fragment (`#token=…`, never sent to a server) or the form, and is
 * kept in sessionStorage. `#api=<base URL>` points the page at an API on another origin (the
 * browser test uses it to go through CORS); by default the page's own origin.
 */
import { StrictMode, useEffect, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  ApiError,
  connectLive,
  createClient,
  keys,
  liveInvalidation,
  resyncInvalidation,
  unwrap,
  type ApiClient,
  type Customer,
  type LiveStatus,
} from "../src/index.js";

const fragment = new URLSearchParams(location.hash.slice(1));
const apiBase = fragment.get("api") ?? location.origin;
if (fragment.has("token")) {
  sessionStorage.setItem("token", fragment.get("token") ?? "");
  // The token leaves the address bar (and the history) once read.
  history.replaceState(null, "", location.pathname + (fragment.has("api") ? `#api=${encodeURIComponent(apiBase)}` : ""));
}

function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem("token"));
  if (!token) return <SignIn onToken={(t) => (sessionStorage.setItem("token", t), setToken(t))} />;
  return <Customers token={token} onSignOut={() => (sessionStorage.removeItem("token"), setToken(null))} />;
}

function SignIn({ onToken }: { onToken: (token: string) => void }) {
  const [value, setValue] = useState("");
  return (
    <form onSubmit={(e) => (e.preventDefault(), value.trim() && onToken(value.trim()))}>
      <h1>Sign in with a demo user's token</h1>
      <p className="muted">
        In a terminal: <code>make -s token EMAIL=admin@acme.test</code> (or staff@acme.test, client@acme.test), then paste
        it here. In the app this is AuthKit's <code>getAccessToken</code>.
      </p>
      <textarea aria-label="access token" value={value} onChange={(e) => setValue(e.target.value)} />
      <button type="submit">Sign in</button>
    </form>
  );
}

function Customers({ token, onSignOut }: { token: string; onSignOut: () => void }) {
  const queryClient = useQueryClient();
  // getToken is called per request; AuthKit's getAccessToken goes here in the app.
  const api = useMemo(() => createClient({ baseUrl: apiBase, getToken: () => token }), [token]);
  const [status, setStatus] = useState<LiveStatus>("connecting");

  useEffect(() => {
    const live = connectLive({
      client: api,
      onChange: liveInvalidation(queryClient),
      onResync: resyncInvalidation(queryClient),
      onStatus: setStatus,
      onError: (event) => console.warn("live", event),
    });
    return () => live.close();
  }, [api, queryClient]);

  const me = useQuery({ queryKey: keys.me(), queryFn: () => unwrap(api.GET("/me")) });
  const customers = useQuery({
    queryKey: keys.customers.list(),
    // Every page: the iterator follows nextCursor.
    queryFn: () => allCustomers(api),
  });

  const error = me.error ?? customers.error;
  return (
    <main>
      <h1>
        Customers{me.data?.organization ? ` of ${me.data.organization.name}` : ""}{" "}
        <span className="live" id="live-status" data-status={status}>
          live: {status}
        </span>
      </h1>
      <p className="muted" id="who">
        {me.data
          ? "user" in me.data
            ? `${me.data.user.email} (${me.data.role ?? "no role"})`
            : `API key ${me.data.apiKey.name}`
          : "…"}{" "}
        <button onClick={onSignOut}>Sign out</button>
      </p>
      {error ? <p className="error">{error instanceof ApiError ? `${error.status} ${error.code}: ${error.detail ?? ""}` : String(error)}</p> : null}
      {customers.data ? (
        <ul id="customers" data-count={customers.data.length}>
          {customers.data.map((c) => (
            <li key={c.id} data-customer-id={c.id}>
              <strong>{c.name}</strong> {c.email ? <span className="muted">{c.email}</span> : null}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">Loading…</p>
      )}
    </main>
  );
}

async function allCustomers(api: ApiClient): Promise<Customer[]> {
  const all: Customer[] = [];
  for await (const customer of api.list("/customers", { limit: 100 })) all.push(customer);
  return all;
}

const queryClient = new QueryClient({ defaultOptions: { queries: { retry: 1, staleTime: 30_000 } } });
const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <App />
      </QueryClientProvider>
    </StrictMode>,
  );
}
