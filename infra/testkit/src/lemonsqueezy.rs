//! Lemon Squeezy for tests: signed fixture deliveries, and a small local stand-in for the two
//! API calls the code makes (create a checkout, read a subscription).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const WEBHOOK_SECRET: &str = "test-webhook-secret";
/// Keys the checkout tags (`CHECKOUT_TAG_SECRET`), unlike the webhook secret.
pub const CHECKOUT_TAG_SECRET: &str = "test-checkout-tag-secret";
pub const API_KEY: &str = "test-ls-key";
pub const STORE_ID: &str = "12345";
/// The org id the shared fixtures carry in `meta.custom_data.org_id`.
pub const FIXTURE_ORG: &str = "org_01JEXAMPLE0000000000000000";

/// Limits that no test meets by accident, with the Pro variant (`500001`) the fixtures name.
pub const ROOMY_PLANS: &str = r#"{"free":{"name":"Free","maxCustomers":1000,"maxStaff":1000,"maxClients":1000},
  "variants":{"500001":{"name":"Pro","maxCustomers":2000,"maxStaff":2000,"maxClients":2000}}}"#;

/// A fixture's bytes, unchanged.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/lemonsqueezy/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixture as a checkout of this backend for `org_id` makes it: the example org id replaced
/// by `org_id` and the tag `POST /billing/checkout` puts beside it, bytes otherwise unchanged.
pub fn fixture_for(name: &str, org_id: &str) -> Vec<u8> {
    // A fixed checkout time: the same fixture for the same org is the same bytes (a redelivery).
    let issued = shared::Timestamp::parse("2025-01-15T10:00:00Z").expect("a time");
    let custom = shared::domain::billing::CheckoutTag::new(CHECKOUT_TAG_SECRET).custom_data(org_id, issued);
    let tagged = format!(
        "\"org_id\": \"{org_id}\", \"org_issued_at\": {}, \"org_tag\": {}",
        custom["org_issued_at"], custom["org_tag"]
    );
    String::from_utf8(fixture(name)).unwrap().replace(&format!("\"org_id\": \"{FIXTURE_ORG}\""), &tagged).into_bytes()
}

/// A fixture that names `org_id` in its custom data without a tag, as anyone can make a share
/// link do (`checkout[custom][org_id]=…`).
pub fn fixture_untagged(name: &str, org_id: &str) -> Vec<u8> {
    String::from_utf8(fixture(name)).unwrap().replace(FIXTURE_ORG, org_id).into_bytes()
}

/// A fixture as JSON, to edit before sending.
pub fn fixture_json(name: &str, org_id: &str) -> Value {
    serde_json::from_slice(&fixture_for(name, org_id)).unwrap()
}

/// `X-Signature` of a body under the test secret.
pub fn sign(body: &[u8]) -> String {
    shared::crypto::hex(&shared::crypto::hmac_sha256(WEBHOOK_SECRET.as_bytes(), body))
}

#[derive(Default)]
struct StubState {
    subscriptions: HashMap<String, Value>,
    /// Reads of each subscription so far.
    reads: HashMap<String, usize>,
    checkouts: Vec<Value>,
    fail_next: usize,
}

/// The Lemon Squeezy API stand-in, on a free loopback port.
pub struct LemonSqueezyStub {
    pub url: String,
    state: Arc<Mutex<StubState>>,
    task: tokio::task::JoinHandle<()>,
}

impl LemonSqueezyStub {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(StubState::default()));
        let router = axum::Router::new()
            .route("/v1/checkouts", axum::routing::post(checkout))
            .route("/v1/subscriptions/{id}", axum::routing::get(subscription))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url, state, task }
    }

    /// What `GET /v1/subscriptions/{id}` answers: `{"data": resource}`.
    pub fn serve_subscription(&self, resource: Value) {
        let id = resource["id"].as_str().expect("resource id").to_owned();
        self.state.lock().unwrap().subscriptions.insert(id, resource);
    }

    /// How often `GET /v1/subscriptions/{id}` was answered for `id`.
    pub fn reads(&self, id: &str) -> usize {
        self.state.lock().unwrap().reads.get(id).copied().unwrap_or(0)
    }

    /// The checkout requests received.
    pub fn checkouts(&self) -> Vec<Value> {
        self.state.lock().unwrap().checkouts.clone()
    }

    /// The next `n` calls answer 500.
    pub fn fail_next(&self, n: usize) {
        self.state.lock().unwrap().fail_next = n;
    }

    /// Configuration that points the app at this stand-in with the test secrets.
    /// In the form the `TestApp` builders take, so a test adds its own variables with `push`.
    pub fn env(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("LEMONSQUEEZY_API_URL", self.url.as_str()),
            ("LEMONSQUEEZY_API_KEY", API_KEY),
            ("LEMONSQUEEZY_STORE_ID", STORE_ID),
            ("LEMONSQUEEZY_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("CHECKOUT_TAG_SECRET", CHECKOUT_TAG_SECRET),
        ]
    }
}

impl Drop for LemonSqueezyStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn refuse(state: &Mutex<StubState>, headers: &HeaderMap) -> Option<Response> {
    let mut state = state.lock().unwrap();
    if state.fail_next > 0 {
        state.fail_next -= 1;
        return Some((StatusCode::INTERNAL_SERVER_ERROR, "injected").into_response());
    }
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {API_KEY}"));
    (!authorized).then(|| (StatusCode::UNAUTHORIZED, "bad key").into_response())
}

async fn checkout(State(state): State<Arc<Mutex<StubState>>>, headers: HeaderMap, body: String) -> Response {
    if let Some(refused) = refuse(&state, &headers) {
        return refused;
    }
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    state.lock().unwrap().checkouts.push(body);
    let url = "https://example-store.lemonsqueezy.com/checkout/custom/stub";
    (StatusCode::CREATED, axum::Json(json!({"data": {"type": "checkouts", "id": "1", "attributes": {"url": url}}})))
        .into_response()
}

async fn subscription(
    State(state): State<Arc<Mutex<StubState>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = refuse(&state, &headers) {
        return refused;
    }
    let mut state = state.lock().unwrap();
    let read = {
        let reads = state.reads.entry(id.clone()).or_default();
        *reads += 1;
        *reads
    };
    match state.subscriptions.get(&id) {
        Some(resource) => {
            // Like Lemon Squeezy, every read signs its URLs anew: valid 24 hours from now.
            let mut resource = resource.clone();
            let expires = shared::Timestamp::now().unix_seconds() + 24 * 60 * 60;
            let signed = |path: &str| {
                format!(
                    "https://example-store.lemonsqueezy.com/{path}?expires={expires}&subscription={id}&signature={read:064}"
                )
            };
            resource["attributes"]["urls"] = json!({
                "customer_portal": signed("billing"),
                "update_payment_method": signed(&format!("subscription/{id}/payment-details")),
            });
            axum::Json(json!({"data": resource})).into_response()
        }
        None => (StatusCode::NOT_FOUND, axum::Json(json!({"errors": [{"status": "404"}]}))).into_response(),
    }
}
