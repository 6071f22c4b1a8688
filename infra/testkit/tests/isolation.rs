//! Tenant isolation, property-based (issue 10): three organizations, every role, and a seeded
//! random sequence of requests over every route through the local gateway (10,000 by default,
//! `ISOLATION_REQUESTS` to change it), in four shards that run side by side, each with its own
//! table, WorkOS key and seed (`TEST_SEED` + the shard's number: `TEST_SEED` replays all four).
//! After each response:
//! - no body holds another organization's id;
//! - an id of another organization answers 404 (a role that may not use the route at all gets
//!   its 403 `forbidden`, the same answer as for an id of its own organization), never 200;
//! - lists hold only what the caller may see (a staff member's customers are assigned to them, a
//!   client's is their own), checked against the table;
//! - no answer is a 5xx;
//!
//! Each organization also has a `read` and a `write` API key among its callers (issue 25): a key
//! is refused (403) on every route outside its scope, a `read` key never changes anything, and a
//! key's answers obey the same rules as a member's.
//!
//! and after each change, the organization's counters equal the real counts, it has an admin,
//! and no assignment points at a missing customer or a non-staff member. Cursors of another
//! organization or another list, or edited by one byte, answer 400. In shard 0 a live listener
//! per caller of each organization (issue 22) hears every change it is told during the run: none
//! names an id of another organization. (One shard: a table's stream slows DynamoDB Local, so its
//! table is on the DynamoDB Local of the live tests.)

use std::collections::HashMap;

use serde_json::{Value, json};
use shared::domain::api_keys::{Scope, scope_needed};
use testkit::{DELETE, GET, HttpMethod, Member, OrgFixture, PATCH, POST, PUT, Seeded, TestApp};

/// One organization as the generator knows it.
struct Tenant {
    fixture: OrgFixture,
    /// Members that requests may change or remove (never the fixture's three callers).
    targets: Vec<String>,
    customers: Vec<String>,
    invitations: Vec<String>,
    /// Cursors this tenant's callers were given, with the list path they came from.
    cursors: Vec<(String, String)>,
    /// Secrets of a `read` and a `write` API key.
    keys: [String; 2],
}

/// Who makes a request: one of the fixture's members, or one of the tenant's keys.
#[derive(Clone)]
enum Caller {
    Member(Member),
    Key { scope: Scope, secret: String },
}

impl Tenant {
    fn callers(&self) -> [&Member; 3] {
        [&self.fixture.admin, &self.fixture.staff, &self.fixture.client]
    }
}

const SHARDS: u64 = 4;

#[tokio::test]
async fn random_requests_never_cross_an_organization_shard_0() {
    random_requests_never_cross_an_organization(0).await;
}

#[tokio::test]
async fn random_requests_never_cross_an_organization_shard_1() {
    random_requests_never_cross_an_organization(1).await;
}

#[tokio::test]
async fn random_requests_never_cross_an_organization_shard_2() {
    random_requests_never_cross_an_organization(2).await;
}

#[tokio::test]
async fn random_requests_never_cross_an_organization_shard_3() {
    random_requests_never_cross_an_organization(3).await;
}

async fn random_requests_never_cross_an_organization(shard: u64) {
    let total: usize = std::env::var("ISOLATION_REQUESTS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let requests = total.div_ceil(SHARDS as usize);
    let mut rng = Seeded::from_env().shard(shard);
    let seed = rng.seed;
    // A WorkOS key of its own (infra/testkit/workos-seed.yaml): this suite's calls must not use
    // up the allowance of the tests that run beside and after it.
    let key = format!("sk_test_isolation_{shard}");
    let stub = testkit::lemonsqueezy::LemonSqueezyStub::start().await;
    let extra = [
        ("WORKOS_API_KEY", key.as_str()),
        ("WORKOS_WEBHOOK_SECRET", "isolation-secret"),
        ("PLANS", testkit::lemonsqueezy::ROOMY_PLANS),
        // The keys' budget is the subject of its own test (`api_keys.rs`), not of this one.
        ("API_KEY_REQUESTS_PER_MINUTE", "1000000"),
    ];
    let listen = shard == 0;
    let app = if listen {
        let mut vars = stub.env();
        vars.extend_from_slice(&extra);
        TestApp::for_live_with(&vars).await
    } else {
        TestApp::with_lemonsqueezy(&testkit::env("WORKOS_API_URL"), &stub, &extra).await
    };
    let mut tenants = Vec::new();
    let mut owner: HashMap<String, usize> = HashMap::new(); // id → tenant index
    for t in 0..3 {
        let fixture = app.org_fixture().await;
        let mut targets = Vec::new();
        for role in ["staff", "staff", "client", "admin"] {
            let member = app.new_member(&fixture.org_id, role).await;
            assert_eq!(app.call(GET, "/me", Some(&member.token), None).await.status, 200);
            targets.push(member.user.id.clone());
        }
        let mut customers = Vec::new();
        for i in 0..4 {
            let r = app
                .call(POST, "/customers", Some(&fixture.admin.token), Some(json!({"name": format!("T{t} C{i}")})))
                .await;
            customers.push(r.body["id"].as_str().unwrap().to_owned());
        }
        let assign = format!("/customers/{}/staff/{}", customers[0], fixture.staff.id());
        assert_eq!(app.call(PUT, &assign, Some(&fixture.admin.token), None).await.status, 201);
        let attach = format!("/users/{}", fixture.client.id());
        let attached =
            app.call(PATCH, &attach, Some(&fixture.admin.token), Some(json!({"customerId": customers[1]}))).await;
        assert_eq!(attached.status, 200);
        for id in [
            fixture.org_id.clone(),
            fixture.admin.user.id.clone(),
            fixture.staff.user.id.clone(),
            fixture.client.user.id.clone(),
        ]
        .into_iter()
        .chain(targets.iter().cloned())
        .chain(customers.iter().cloned())
        {
            owner.insert(id, t);
        }
        let mut keys = Vec::new();
        for scope in ["read", "write"] {
            let body = json!({"name": format!("T{t} {scope}"), "scope": scope});
            let made = app.call(POST, "/api-keys", Some(&fixture.admin.token), Some(body)).await;
            assert_eq!(made.status, 201, "{:?}", made.body);
            owner.insert(made.body["id"].as_str().unwrap().to_owned(), t);
            keys.push(made.body["secret"].as_str().unwrap().to_owned());
        }
        let keys = [keys[0].clone(), keys[1].clone()];
        tenants.push(Tenant { fixture, targets, customers, invitations: Vec::new(), cursors: Vec::new(), keys });
    }

    // A live listener per caller: told changes all along, checked at the end.
    let live = if listen { Some(app.live().await) } else { None };
    let mut listeners = Vec::new();
    if let Some(live) = &live {
        for (t, tenant) in tenants.iter().enumerate() {
            for caller in tenant.callers() {
                listeners.push((t, caller.user.id.clone(), live.connect(&caller.token).await));
            }
        }
    }

    let mut stats: HashMap<String, usize> = HashMap::new();
    for step in 0..requests {
        let t = rng.below(3);
        // The three members, and the two keys (a key in two of five requests).
        let caller = match rng.below(5) {
            i @ 0..=2 => Caller::Member(tenants[t].callers()[i].clone()),
            i => {
                let scope = if i == 3 { Scope::Read } else { Scope::Write };
                Caller::Key { scope, secret: tenants[t].keys[i - 3].clone() }
            }
        };
        let (token, role) = match &caller {
            Caller::Member(member) => {
                let role = app.deps.store.get_member(&member.org_id, member.id()).await.unwrap().map(|m| m.role.slug());
                (member.token.clone(), role.expect("the fixture's callers are never removed"))
            }
            Caller::Key { scope, secret } => {
                (secret.clone(), if *scope == Scope::Read { "read key" } else { "write key" })
            }
        };
        let org_id = tenants[t].fixture.org_id.clone();
        // The target: one of this tenant's (70 %) or another tenant's (30 %).
        let foreign = rng.below(10) < 3;
        let target_tenant = if foreign { (t + 1 + rng.below(2)) % 3 } else { t };
        let tt = &tenants[target_tenant];
        let user = match rng.below(3) {
            0 => tt.callers()[rng.below(3)].user.id.clone(),
            _ => rng.pick(&tt.targets).clone(),
        };
        let customer = rng.pick(&tt.customers).clone();
        let invitation = tt.invitations.last().cloned().unwrap_or_else(|| "inv_01jnone0000000000000000000".into());
        let own_staff = tenants[t].fixture.staff.id().to_owned();
        let org_name = format!("Tenant {t}");
        let (method, route, query, body): (HttpMethod, &str, &str, Option<Value>) = match rng.below(25) {
            0 => (GET, "/me", "", None),
            1 => (GET, "/org", "", None),
            2 => (GET, "/users", "?limit=3", None),
            3 => (GET, "/users/{userId}", "", None),
            4 => (PATCH, "/users/{userId}", "", Some(json!({"role": *rng.pick(&["staff", "admin"])}))),
            5 if rng.below(8) == 0 => (DELETE, "/users/{userId}", "", None),
            5 | 6 => (GET, "/invitations", "", None),
            7 if rng.below(4) == 0 => {
                let email = format!("iso-{}@test.example", ulid::Ulid::new().to_string().to_lowercase());
                (POST, "/invitations", "", Some(json!({"email": email, "role": "staff"})))
            }
            7 => (DELETE, "/invitations/{invitationId}", "", None),
            8 | 9 => (GET, "/customers", "?limit=2", None),
            10 => (POST, "/customers", "", Some(json!({"name": format!("Step {step}")}))),
            11 | 12 => (GET, "/customers/{customerId}", "", None),
            13 => (PATCH, "/customers/{customerId}", "", Some(json!({"notes": format!("step {step}")}))),
            14 if rng.below(4) == 0 => (DELETE, "/customers/{customerId}", "", None),
            14 | 15 => (GET, "/customers/{customerId}/staff", "", None),
            16 => (PUT, "/customers/{customerId}/staff/{userId}", "", None),
            17 => (DELETE, "/customers/{customerId}/staff/{userId}", "", None),
            18 => (GET, "/users/{userId}/customers", "", None),
            19 => (GET, "/billing", "", None),
            20 => {
                // A cursor attack: a cursor of another tenant, another list, or one byte edited.
                let from = rng.below(3);
                let Some((list, cursor)) = tenants[from].cursors.last().cloned() else { continue };
                let mut cursor = cursor;
                let kind = rng.below(3);
                if kind == 0 {
                    let at = rng.below(cursor.len());
                    let flipped = if cursor.as_bytes()[at] == b'A' { "B" } else { "A" };
                    cursor.replace_range(at..=at, flipped);
                }
                let other_list = if list == "/invitations" { "/users" } else { "/invitations" };
                let path = if kind == 1 { other_list.to_owned() } else { list.clone() };
                let response = app.call(GET, &format!("{path}?cursor={cursor}"), Some(&token), None).await;
                if kind != 2 || from != t {
                    assert!(
                        [400, 403].contains(&response.status),
                        "seed {seed} step {step}: a foreign or edited cursor on {path}: {} {:?}",
                        response.status,
                        response.body
                    );
                    *stats.entry("cursor attacks".into()).or_default() += 1;
                }
                continue;
            }
            21 => match rng.below(8) {
                // The routes that touch no ids, rarely (they call WorkOS or Lemon Squeezy):
                // rename to the same name, a checkout, a new organization, unsigned webhooks.
                0..=3 => (PATCH, "/org", "", Some(json!({"name": org_name}))),
                4 | 5 => (POST, "/billing/checkout", "", Some(json!({"variantId": "500001"}))),
                6 if rng.below(10) == 0 => (POST, "/orgs", "", Some(json!({"name": format!("Spin-off {step}")}))),
                6 => (POST, "/webhooks/workos", "", Some(json!({"id": "event_x", "event": "user.updated"}))),
                _ => (POST, "/webhooks/lemon-squeezy", "", Some(json!({"meta": {"event_name": "order_created"}}))),
            },
            22 => (GET, "/audit-log", "?limit=5", None),
            23 if rng.below(4) == 0 => {
                // Deleting the organization by another tenant's name: never confirmed.
                let other = format!("Tenant {}", (t + 1 + rng.below(2)) % 3);
                (DELETE, "/org", "", Some(json!({"confirmName": other})))
            }
            23 => (GET, "/org/export", "", None),
            _ => (GET, "/users/{userId}", "", None),
        };
        // PUT staff sometimes names the caller's own staff member with a foreign customer; members
        // are changed and removed among the targets only, so the callers stay.
        let user = if route == "/customers/{customerId}/staff/{userId}" && rng.below(2) == 0 {
            own_staff
        } else if route == "/users/{userId}" && method != GET {
            rng.pick(&tt.targets).clone()
        } else {
            user
        };
        let fill = |user: &str, customer: &str, invitation: &str| {
            let path =
                route.replace("{userId}", user).replace("{customerId}", customer).replace("{invitationId}", invitation);
            format!("{path}{query}")
        };
        let path = fill(&user, &customer, &invitation);
        let response = app.call(method.clone(), &path, Some(&token), body.clone()).await;
        *stats.entry(format!("{}", response.status)).or_default() += 1;
        let context = format!("seed {seed} step {step}: {role} of tenant {t}, {method} {path}");
        assert!(response.status < 500, "{context}: {} {:?}", response.status, response.body);
        // A key outside its scope is 403, whatever the ids; a `read` key never changes anything.
        // (The webhooks take no credential: their signature decides.)
        if let Caller::Key { scope, .. } = &caller {
            *stats.entry("key requests".into()).or_default() += 1;
            let allowed = scope_needed(&format!("{method} {route}")).is_some_and(|needed| scope.covers(needed));
            if !allowed && !route.starts_with("/webhooks/") {
                assert_eq!((response.status, response.code()), (403, "forbidden"), "{context}: {:?}", response.body);
            }
            if *scope == Scope::Read && method != GET {
                assert!(response.status >= 400, "{context}: a read key changed something: {:?}", response.body);
            }
        }

        if method == DELETE && route == "/org" {
            let expected = if role == "admin" { (400, "validation_failed") } else { (403, "forbidden") };
            assert_eq!((response.status, response.code()), expected, "{context}: {:?}", response.body);
        }
        // No body holds another organization's id.
        let text = response.body.to_string();
        for (id, &tenant) in &owner {
            assert!(
                tenant == t || !text.contains(id.as_str()),
                "{context}: the body holds {id} of tenant {tenant}: {text}"
            );
        }
        // A foreign id is 404, or the 403 the caller's role gets on this route for an id of its
        // own organization too: never a success, never an answer that tells the two apart.
        if foreign && route.contains('{') {
            *stats.entry("foreign ids".into()).or_default() += 1;
            if response.status == 403 {
                let own = &tenants[t];
                let (own_user, own_customer) = (rng.pick(&own.targets).clone(), rng.pick(&own.customers).clone());
                let mirror = fill(&own_user, &own_customer, "inv_01jnone0000000000000000000");
                let same = app.call(method.clone(), &mirror, Some(&token), body).await;
                assert_eq!(
                    (same.status, same.code()),
                    (403, response.code()),
                    "{context}: a foreign id answered 403 where an own id answers otherwise"
                );
            } else {
                assert_eq!(response.status, 404, "{context}: a foreign id answered {:?}", response.body);
            }
        }
        // Lists hold only what the caller may see.
        if response.status == 200 && method == GET {
            if let Some(items) = response.body["items"].as_array() {
                if let Some(cursor) = response.body["nextCursor"].as_str() {
                    let list = path.split('?').next().unwrap().to_owned();
                    tenants[t].cursors.push((list, cursor.to_owned()));
                }
                if let (Caller::Member(caller), "/customers", "staff" | "client") = (&caller, route, role) {
                    let own = app.deps.store.get_member(&caller.org_id, caller.id()).await.unwrap().unwrap();
                    for item in items {
                        let id = item["id"].as_str().unwrap();
                        let visible = match role {
                            "staff" => {
                                app.deps.store.get_assignment(&caller.org_id, id, caller.id()).await.unwrap().is_some()
                            }
                            _ => own.customer_id.as_deref() == Some(id),
                        };
                        assert!(visible, "{context}: {id} is listed but not visible to the caller");
                    }
                }
            }
        }
        // Remember what a change made; check the counts after every change.
        if response.status < 300 && method != GET {
            if method == POST && route == "/customers" {
                let id = response.body["id"].as_str().unwrap().to_owned();
                owner.insert(id.clone(), t);
                tenants[t].customers.push(id);
            }
            if method == POST && route == "/invitations" {
                let id = response.body["id"].as_str().unwrap().to_owned();
                owner.insert(id.clone(), t);
                tenants[t].invitations.push(id);
            }
            if let Err(what) = app.counts_match(&org_id).await {
                panic!("{context}: {what}");
            }
        }
    }
    for (t, tenant) in tenants.iter().enumerate() {
        app.assert_counts_match(&tenant.fixture.org_id, &format!("seed {seed}: tenant {t} at the end")).await;
    }
    let mut told = 0;
    if let Some(live) = &live {
        live.gateway.caught_up().await;
        for (t, user, socket) in &mut listeners {
            for frame in socket.drain(std::time::Duration::from_millis(500)).await {
                told += 1;
                for field in ["id", "customerId", "userId"] {
                    let Some(id) = frame[field].as_str() else { continue };
                    if let Some(other) = owner.get(id).filter(|other| **other != *t) {
                        panic!("seed {seed}: {user} of tenant {t} was told {field} {id} of tenant {other}: {frame}");
                    }
                }
            }
        }
        assert!(told > 0, "seed {seed}: the listeners were told nothing");
    }
    let foreign = stats.get("foreign ids").copied().unwrap_or(0);
    eprintln!("seed {seed}: {requests} requests, answers {stats:?}, {told} live frames");
    assert!(foreign > requests / 10, "seed {seed}: too few foreign ids were tried ({foreign})");
}
