//! Test support, shared by every API test: a table of its own per test on DynamoDB Local, users,
//! organizations and tokens in the WorkOS emulator, a test signing key, and a fault-injecting
//! proxy in front of the emulator. `make test` starts the services and exports where they are.

pub mod calls;
pub mod convex;
pub mod emulator;
pub mod lambda;
pub mod lemonsqueezy;
pub mod live;
pub mod logs;
pub mod proxy;
pub mod scenario;
pub mod seeded;
pub mod tokens;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use http::Method;
use serde_json::Value;
use shared::Deps;
use shared::config::Config;

pub use emulator::{Emulator, PrivateEmulator, TestUser};
pub use logs::LogCapture;
pub use proxy::{Fault, FaultProxy};
pub use seeded::Seeded;
pub use tokens::TestKey;

/// An environment variable that `make test` (infra/scripts/services.sh) exports.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the tests with `make test`"))
}

pub fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    dynamodb_client_at(&env("AWS_ENDPOINT_URL_DYNAMODB"))
}

/// A client of the DynamoDB (Local) at `endpoint`.
pub fn dynamodb_client_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "tests"))
        .interceptor(calls::Recorder::default())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// API keys of `workos-seed.yaml` for the apps under test, one per app in turn: the emulator
/// allows each key 1,000 requests a minute, and the suite as a whole makes more.
const APP_KEYS: usize = 8;

fn app_key() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let start = std::process::id() as usize;
    let n = (start + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) % APP_KEYS;
    format!("sk_test_app_{n}")
}

/// Whether any string in `value` (nested maps and lists too) contains `needle`.
pub fn mentions(value: &AttributeValue, needle: &str) -> bool {
    match value {
        AttributeValue::S(text) => text.contains(needle),
        AttributeValue::M(map) => map.values().any(|v| mentions(v, needle)),
        AttributeValue::L(list) => list.iter().any(|v| mentions(v, needle)),
        _ => false,
    }
}

/// The application under test: its own table, and clients pointed at the local services.
pub struct TestApp {
    pub deps: Deps,
    /// The configuration variables the app was built from.
    pub vars: HashMap<String, String>,
    pub table: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Where its table is (what the deployed-path binaries are pointed at).
    pub dynamodb_url: String,
    pub emulator: Emulator,
}

/// What a call answered.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The problem+json `code`, if this is an error.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    /// An app talking to the emulator directly.
    pub async fn new() -> Self {
        Self::with_workos_url(&env("WORKOS_API_URL"), &[]).await
    }

    /// An app whose WorkOS traffic (API and JWKS) goes to `workos_url`, e.g. a [`FaultProxy`];
    /// `extra` adds or overrides configuration variables.
    pub async fn with_workos_url(workos_url: &str, extra: &[(&str, &str)]) -> Self {
        Self::build(workos_url, dynamodb_client(), extra).await
    }

    /// An app whose WorkOS traffic goes to `workos_url` and whose Lemon Squeezy calls go to the
    /// stand-in `stub`, with its test secrets; `extra` adds or overrides variables.
    pub async fn with_lemonsqueezy(
        workos_url: &str,
        stub: &lemonsqueezy::LemonSqueezyStub,
        extra: &[(&str, &str)],
    ) -> Self {
        let mut vars = stub.env();
        vars.extend_from_slice(extra);
        Self::with_workos_url(workos_url, &vars).await
    }

    /// An app on a DynamoDB of its own (for tests that stop and start it).
    pub async fn with_dynamodb(dynamodb: aws_sdk_dynamodb::Client, extra: &[(&str, &str)]) -> Self {
        Self::build(&env("WORKOS_API_URL"), dynamodb, extra).await
    }

    /// An app whose table has its stream, on the DynamoDB Local kept for the live-update tests
    /// (`LIVE_TEST_DYNAMODB_URL`): start its live updates with [`TestApp::live`].
    pub async fn for_live() -> Self {
        Self::for_live_with(&[]).await
    }

    /// [`TestApp::for_live`], with `extra` configuration variables.
    pub async fn for_live_with(extra: &[(&str, &str)]) -> Self {
        let url = env("LIVE_TEST_DYNAMODB_URL");
        let mut app = Self::build(&env("WORKOS_API_URL"), dynamodb_client_at(&url), extra).await;
        dev_server::table::ensure_stream(&app.dynamodb, &app.table).await.expect("the table's stream");
        app.dynamodb_url = url;
        app
    }

    async fn build(workos_url: &str, dynamodb: aws_sdk_dynamodb::Client, extra: &[(&str, &str)]) -> Self {
        let table = format!("test-{}", ulid::Ulid::new().to_string().to_lowercase());
        let mut vars: HashMap<String, String> = HashMap::from([
            ("TABLE_NAME".into(), table.clone()),
            ("WORKOS_API_URL".into(), workos_url.to_owned()),
            ("WORKOS_CLIENT_ID".into(), env("WORKOS_CLIENT_ID")),
            ("WORKOS_API_KEY".into(), app_key()),
            // The emulator's tokens name the emulator itself as issuer, not the proxy.
            ("WORKOS_ISSUERS".into(), env("WORKOS_API_URL")),
            // Where tickets point; `TestApp::live` serves it on a port of its own.
            ("LIVE_URL".into(), "ws://127.0.0.1:9/live".into()),
            // Roomy limits, so that only the tests about limits meet them.
            ("PLANS".into(), r#"{"free":{"name":"Free","maxCustomers":100,"maxStaff":100,"maxClients":100}}"#.into()),
        ]);
        for (name, value) in extra {
            vars.insert((*name).to_owned(), (*value).to_owned());
        }
        let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("test config");
        let vars_kept = vars.clone();
        // Without its stream until a test starts the live updates (`TestApp::live`).
        dev_server::table::ensure_table_with(&dynamodb, &table, false).await.expect("create the test table");
        let emulator =
            if workos_url.starts_with("http://localhost") { Emulator::at(workos_url) } else { Emulator::from_env() };
        let dynamodb_url = env("AWS_ENDPOINT_URL_DYNAMODB");
        Self { deps: Deps::new(config, dynamodb.clone()), vars: vars_kept, table, dynamodb, dynamodb_url, emulator }
    }

    /// Sends a request through the local gateway's router to the function's handler.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> TestResponse {
        let mut request = http::Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        self.send(request.body(bytes).expect("request")).await
    }

    /// Sends a request built by the test, headers and raw body included.
    pub async fn send(&self, request: http::Request<Bytes>) -> TestResponse {
        let function = dev_server::function_for(request.method(), request.uri().path()).unwrap_or("unrouted");
        let response = calls::FUNCTION.scope(function, dev_server::dispatch(&self.deps, request)).await;
        let (parts, body) = response.into_parts();
        let bytes = dev_server::body_bytes(body);
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("a JSON body") };
        if parts.status.as_u16() >= 400 {
            let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok());
            assert_eq!(content_type, Some("application/problem+json"), "errors are problem+json: {body}");
            assert_eq!(body["status"].as_u64(), Some(u64::from(parts.status.as_u16())), "problem status: {body}");
        }
        TestResponse { status: parts.status.as_u16(), headers: parts.headers, body }
    }

    /// Runs a scheduled function (`workos-sync`, `billing-reconcile`) once with `event`, as
    /// `POST /_local/invoke/{function}` does.
    pub async fn run_job(&self, function: &'static str, event: Value) -> Result<Value, shared::ApiError> {
        let job = dev_server::invokable(function).unwrap_or_else(|| panic!("{function} is not a scheduled function"));
        let invocation = shared::api::lambda::Job { event, request_id: Some(ulid::Ulid::new().to_string()) };
        calls::FUNCTION.scope(function, job(&self.deps, invocation)).await
    }

    /// Applies one WorkOS event as the WorkOS webhook does (`shared::flows::sync::apply_event`,
    /// recorded as workos-webhook's calls for the least-privilege check).
    pub async fn apply_workos_event(
        &self,
        event: &shared::clients::workos::Event,
    ) -> Result<shared::flows::sync::Changes, shared::ApiError> {
        let mut changes = shared::flows::sync::Changes::default();
        let origin = shared::flows::sync::workos_origin(Some("test-webhook"));
        calls::FUNCTION
            .scope("workos-webhook", shared::flows::sync::apply_event(&self.deps, &origin, event, &mut changes))
            .await?;
        Ok(changes)
    }

    /// Every item in the test's table (a Scan: tests only).
    pub async fn items(&self) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamodb
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// Writes `items` straight into the test's table (25 a batch, a few batches at once, unprocessed
    /// ones sent again): for tests that need data of a size no test would make through the API.
    pub async fn put_items(&self, items: Vec<HashMap<String, AttributeValue>>) {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        use futures::StreamExt;
        let batches: Vec<Vec<WriteRequest>> = items
            .chunks(25)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|item| {
                        let put = PutRequest::builder().set_item(Some(item.clone())).build().expect("put");
                        WriteRequest::builder().put_request(put).build()
                    })
                    .collect()
            })
            .collect();
        let write = |mut batch: Vec<WriteRequest>| async move {
            while !batch.is_empty() {
                let answer = self
                    .dynamodb
                    .batch_write_item()
                    .request_items(&self.table, batch)
                    .send()
                    .await
                    .expect("batch write");
                batch = answer.unprocessed_items.and_then(|mut u| u.remove(&self.table)).unwrap_or_default();
            }
        };
        futures::stream::iter(batches).for_each_concurrent(4, write).await;
    }

    /// A new emulator user who is `role` of a new emulator organization, and their token for it.
    pub async fn member_of_new_org(&self, role: &str) -> (TestUser, String, String) {
        let org_id = self.emulator.create_org(&format!("Org {}", ulid::Ulid::new())).await;
        let user = self.emulator.create_user("member").await;
        self.emulator.add_membership(&user.id, &org_id, role).await;
        let token = self.emulator.token(&user, Some(&org_id)).await;
        (user, org_id, token)
    }
}

/// Who the audit log says made a change that a test writes through the store directly.
pub fn origin() -> shared::domain::audit::Origin {
    shared::domain::audit::Origin::new(shared::domain::audit::Actor::System, Some("test"))
}

pub use http::Method as HttpMethod;
pub const GET: Method = Method::GET;
pub const POST: Method = Method::POST;
pub const PATCH: Method = Method::PATCH;

/// A member of an organization with a token that selects it.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: TestUser,
    pub org_id: String,
    pub token: String,
}

impl Member {
    pub fn id(&self) -> &str {
        &self.user.id
    }
}

/// An organization in the emulator with one member of each role, provisioned in the table.
pub struct OrgFixture {
    pub org_id: String,
    pub admin: Member,
    pub staff: Member,
    pub client: Member,
}

impl TestApp {
    /// A new user who is `role` in `org_id` (in WorkOS), with a token selecting the org.
    pub async fn new_member(&self, org_id: &str, role: &str) -> Member {
        let user = self.emulator.create_user(role).await;
        self.emulator.add_membership(&user.id, org_id, role).await;
        let token = self.emulator.token(&user, Some(org_id)).await;
        Member { user, org_id: org_id.to_owned(), token }
    }

    /// An organization with an admin, a staff member and a client, all provisioned.
    pub async fn org_fixture(&self) -> OrgFixture {
        let org_id = self.emulator.create_org(&format!("Fixture {}", ulid::Ulid::new())).await;
        let admin = self.new_member(&org_id, "admin").await;
        let staff = self.new_member(&org_id, "staff").await;
        let client = self.new_member(&org_id, "client").await;
        for member in [&admin, &staff, &client] {
            let me = self.call(GET, "/me", Some(&member.token), None).await;
            assert_eq!(me.status, 200, "provisioning {}: {:?}", member.user.email, me.body);
        }
        OrgFixture { org_id, admin, staff, client }
    }

    /// The organization as `GET /org` shows it to `member`.
    pub async fn org(&self, member: &Member) -> Value {
        let response = self.call(GET, "/org", Some(&member.token), None).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.body
    }

    /// Posts a Lemon Squeezy webhook with the given raw body and `X-Signature`.
    pub async fn webhook(&self, body: &[u8], signature: Option<&str>) -> TestResponse {
        let mut request = http::Request::builder().method(POST).uri("/webhooks/lemon-squeezy");
        if let Some(signature) = signature {
            request = request.header("x-signature", signature);
        }
        self.send(request.body(Bytes::copy_from_slice(body)).expect("request")).await
    }

    /// Posts a fixture body, signed with the test secret.
    pub async fn signed_webhook(&self, body: &[u8]) -> TestResponse {
        self.webhook(body, Some(&lemonsqueezy::sign(body))).await
    }

    /// A member's role in WorkOS (active memberships only), if any.
    pub async fn workos_role(&self, user_id: &str, org_id: &str) -> Option<String> {
        let memberships = self.emulator.memberships(user_id, org_id).await;
        memberships
            .iter()
            .find(|m| m["status"] == "active")
            .map(|m| m["role"]["slug"].as_str().unwrap_or_default().to_owned())
    }

    /// Every item of the table, attributes and items in a stable order, for before/after
    /// comparisons.
    pub async fn snapshot(&self) -> Vec<std::collections::BTreeMap<String, String>> {
        let mut items: Vec<_> = self
            .items()
            .await
            .into_iter()
            .map(|item| item.into_iter().map(|(name, value)| (name, canonical(&value))).collect())
            .collect();
        items.sort();
        items
    }
}

/// An attribute value as text, maps in key order (a map's own order is arbitrary).
pub fn canonical(value: &AttributeValue) -> String {
    match value {
        AttributeValue::M(map) => {
            let sorted: std::collections::BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            format!("M({sorted:?})")
        }
        AttributeValue::L(list) => format!("L({:?})", list.iter().map(canonical).collect::<Vec<_>>()),
        other => format!("{other:?}"),
    }
}

impl TestApp {
    /// Serves the app's routes on a free loopback port, as the local gateway does (for callers
    /// that need a real URL, such as the emulator's webhook deliveries). Stops with the app's
    /// runtime.
    pub async fn serve(self: &std::sync::Arc<Self>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let app = self.clone();
        let router = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let app = app.clone();
            async move {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, 1024 * 1024).await.unwrap_or_default();
                let response = dev_server::dispatch(&app.deps, http::Request::from_parts(parts, bytes)).await;
                let (parts, body) = response.into_parts();
                axum::response::Response::from_parts(parts, axum::body::Body::from(dev_server::body_bytes(body)))
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        url
    }
}

pub const PUT: Method = Method::PUT;
pub const DELETE: Method = Method::DELETE;

impl TestApp {
    /// Every item of one organization's partition (a consistent Query, all pages).
    pub async fn org_items(&self, org_id: &str) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamodb
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(format!("ORG#{org_id}")))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("query");
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// What must hold for an organization whatever happened to it: every usage counter equals
    /// the real count of its items (admins, staff seats with pending staff and admin invitations,
    /// client seats with pending client invitations, customers), each customer's `clientCount`
    /// equals its clients and pending client invitations, at least one admin remains, and every
    /// assignment (both sides) points at a stored customer and a staff member. `Err` says what
    /// differs.
    pub async fn counts_match(&self, org_id: &str) -> Result<(), String> {
        let items = self.org_items(org_id).await;
        let text = |item: &HashMap<String, AttributeValue>, name: &str| {
            item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
        };
        let number = |item: &HashMap<String, AttributeValue>, name: &str| {
            item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok()).unwrap_or(0)
        };
        let of = |entity: &str| items.iter().filter(move |i| text(i, "entity") == entity).collect::<Vec<_>>();
        let Some(org) = of("org").into_iter().next() else { return Err("no org item".into()) };
        let (members, invitations, customers) = (of("member"), of("invitation"), of("customer"));
        let role_count = |list: &[&HashMap<String, AttributeValue>], roles: &[&str]| {
            list.iter().filter(|i| roles.contains(&text(i, "role").as_str())).count() as i64
        };
        let admins = role_count(&members, &["admin"]);
        let staff = role_count(&members, &["admin", "staff"]) + role_count(&invitations, &["admin", "staff"]);
        let clients = role_count(&members, &["client"]) + role_count(&invitations, &["client"]);
        let counted = (number(org, "admins"), number(org, "staff"), number(org, "clients"), number(org, "customers"));
        let real = (admins, staff, clients, customers.len() as i64);
        if counted != real {
            return Err(format!("stored (admins, staff, clients, customers) {counted:?}, real {real:?}"));
        }
        if admins < 1 {
            return Err("the organization has no admin".into());
        }
        for customer in &customers {
            let id = text(customer, "id");
            let belongs = |list: &[&HashMap<String, AttributeValue>]| {
                list.iter().filter(|i| text(i, "role") == "client" && text(i, "customerId") == id).count() as i64
            };
            let real = belongs(&members) + belongs(&invitations);
            if number(customer, "clientCount") != real {
                return Err(format!("clientCount of {id} is {}, real {real}", number(customer, "clientCount")));
            }
        }
        let customer_ids: std::collections::HashSet<String> = customers.iter().map(|c| text(c, "id")).collect();
        let staff_ids: std::collections::HashSet<String> =
            members.iter().filter(|m| text(m, "role") == "staff").map(|m| text(m, "userId")).collect();
        for side in of("assignment").into_iter().chain(of("staff_assignment")) {
            let (customer, user) = (text(side, "customerId"), text(side, "userId"));
            if !customer_ids.contains(&customer) || !staff_ids.contains(&user) {
                return Err(format!(
                    "assignment {} points at a missing customer or a non-staff member",
                    text(side, "SK")
                ));
            }
        }
        Ok(())
    }

    /// [`counts_match`](Self::counts_match), or a panic naming `context`.
    pub async fn assert_counts_match(&self, org_id: &str, context: &str) {
        if let Err(what) = self.counts_match(org_id).await {
            panic!("{context}: {what}");
        }
    }

    /// Replaces the app's token verifier with one that refetches the JWKS at most every
    /// `interval` (tests reach the end of the window without waiting a minute).
    pub fn with_jwks_refetch_interval(mut self, interval: std::time::Duration) -> Self {
        let verifier = shared::clients::tokens::TokenVerifier::new(Default::default(), &self.deps.config.workos);
        self.deps.tokens = verifier.with_refetch_interval(interval);
        self
    }
}

impl TestApp {
    /// The environment a deployed function of this app gets: its configuration, and DynamoDB
    /// Local with the test credentials.
    pub fn lambda_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        env.push(("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), self.dynamodb_url.clone()));
        for name in ["AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"] {
            env.push((name.to_owned(), crate::env(name)));
        }
        env
    }
}

/// Asserts that every value is valid against `schema` of `docs/openapi.yaml`, with the document's
/// own validator (`infra/scripts/openapi-validate.py` on infra/.venv's jsonschema).
pub fn assert_valid(schema: &str, values: &[Value]) {
    use std::io::Write;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut child = std::process::Command::new(root.join("infra/.venv/bin/python"))
        .arg(root.join("infra/scripts/openapi-validate.py"))
        .arg(root.join("docs/openapi.yaml"))
        .arg(schema)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("infra/.venv's python runs (make setup installs it)");
    let mut input = child.stdin.take().expect("stdin");
    for value in values {
        writeln!(input, "{value}").expect("write a value");
    }
    drop(input);
    let output = child.wait_with_output().expect("the validator ends");
    assert!(output.status.success(), "not valid as {schema}:\n{}", String::from_utf8_lossy(&output.stdout));
}
