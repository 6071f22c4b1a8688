//! A fault-injecting HTTP proxy in front of the WorkOS emulator (which has no failure hooks), or
//! in front of DynamoDB Local (whose calls it tells apart by their `X-Amz-Target` action).
//! Tests point the app at it and choose which calls fail, and how; it also serves the test
//! signing key in the JWKS and records every request it saw.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use futures::stream;
use http::{Method, StatusCode};
use serde_json::Value;

/// How a matched call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status without forwarding (with `Retry-After: 1` on 429).
    Status(u16),
    /// Cut the connection without forwarding: the upstream never sees the call.
    Drop,
    /// Forward the call, then cut the connection: the upstream acted, the answer is lost.
    LoseResponse,
    /// Wait this long, then forward (a slow upstream, past the caller's timeout).
    Delay(std::time::Duration),
    /// Answer 200 with a body that is not JSON, without forwarding.
    Garbage,
    /// Answer 429 with `Retry-After` of this many whole seconds, without forwarding (a rate
    /// limit a test need not spend a minute of requests to meet).
    RateLimited(std::time::Duration),
}

struct Rule {
    method: Method,
    path_prefix: String,
    /// Only calls whose `X-Amz-Target` ends with `.<action>` (a DynamoDB API action).
    action: Option<String>,
    /// Matching calls to let through before the rule applies.
    skip: usize,
    fault: Fault,
    remaining: usize,
}

impl Rule {
    fn matches(&self, method: &Method, path: &str, target: Option<&str>) -> bool {
        let action = match (&self.action, target) {
            (None, _) => true,
            (Some(action), Some(target)) => target.rsplit('.').next() == Some(action.as_str()),
            (Some(_), None) => false,
        };
        self.remaining > 0 && self.method == *method && path.starts_with(&self.path_prefix) && action
    }
}

#[derive(Default)]
struct ProxyState {
    rules: Vec<Rule>,
    seen: Vec<(Method, String)>,
    /// The API action of each call that named one (`X-Amz-Target`'s last part: `Query`).
    actions: Vec<String>,
    extra_jwk: Option<Value>,
}

pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<ProxyState>>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    state: Arc<Mutex<ProxyState>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` on a free loopback port.
    pub async fn start(upstream: &str) -> Self {
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let shared =
            Arc::new(Shared { upstream: upstream.to_owned(), http: reqwest::Client::new(), state: state.clone() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let router = axum::Router::new().fallback(forward).with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url, state, task }
    }

    /// The next `times` calls of `method` to a path starting with `path_prefix` fail with `fault`.
    pub fn fail(&self, method: Method, path_prefix: &str, fault: Fault, times: usize) {
        let rule = Rule { method, path_prefix: path_prefix.to_owned(), action: None, skip: 0, fault, remaining: times };
        self.state.lock().expect("proxy state").rules.push(rule);
    }

    /// In front of DynamoDB: after `skip` calls of the API action `action` (`BatchWriteItem`)
    /// have gone through, the next `times` fail with `fault`.
    pub fn fail_action(&self, action: &str, skip: usize, fault: Fault, times: usize) {
        let rule = Rule {
            method: Method::POST,
            path_prefix: "/".into(),
            action: Some(action.into()),
            skip,
            fault,
            remaining: times,
        };
        self.state.lock().expect("proxy state").rules.push(rule);
    }

    /// Drops every rule: from now on every call goes through.
    pub fn clear(&self) {
        self.state.lock().expect("proxy state").rules.clear();
    }

    /// Adds the test signing key to every JWKS the proxy passes on.
    pub fn serve_test_key(&self) {
        self.state.lock().expect("proxy state").extra_jwk = Some(crate::TestKey::jwk());
    }

    /// How many calls of `method` to paths starting with `path_prefix` the proxy saw.
    pub fn count(&self, method: &Method, path_prefix: &str) -> usize {
        let state = self.state.lock().expect("proxy state");
        state.seen.iter().filter(|(m, p)| m == method && p.starts_with(path_prefix)).count()
    }
}

impl FaultProxy {
    /// In front of DynamoDB: how many calls of the API action `action` (`Query`) the proxy saw.
    pub fn count_action(&self, action: &str) -> usize {
        self.state.lock().expect("proxy state").actions.iter().filter(|a| *a == action).count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn broken_body() -> Body {
    Body::from_stream(stream::once(async {
        Err::<bytes::Bytes, _>(std::io::Error::other("connection cut by the fault proxy"))
    }))
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let path_and_query = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| path.clone());
    let (fault, extra_jwk) = {
        let mut state = shared.state.lock().expect("proxy state");
        state.seen.push((parts.method.clone(), path.clone()));
        let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok());
        if let Some(action) = target.and_then(|t| t.rsplit('.').next()) {
            state.actions.push(action.to_owned());
        }
        let fault = state.rules.iter_mut().find(|r| r.matches(&parts.method, &path, target)).and_then(|rule| {
            if rule.skip > 0 {
                rule.skip -= 1;
                return None;
            }
            rule.remaining -= 1;
            Some(rule.fault)
        });
        (fault, state.extra_jwk.clone())
    };
    match fault {
        Some(Fault::Status(status)) => return injected(status, (status == 429).then_some(1)),
        Some(Fault::RateLimited(wait)) => return injected(429, Some(wait.as_secs())),
        Some(Fault::Drop) => return Response::new(broken_body()),
        Some(Fault::Delay(wait)) => tokio::time::sleep(wait).await,
        Some(Fault::Garbage) => return Response::new(Body::from("<html>\u{0}not json")),
        _ => {}
    }
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let mut upstream =
        shared.http.request(parts.method.clone(), format!("{}{path_and_query}", shared.upstream)).body(bytes);
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(_) => return Response::new(broken_body()),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let mut body = answer.bytes().await.unwrap_or_default().to_vec();
    if fault == Some(Fault::LoseResponse) {
        return Response::new(broken_body());
    }
    if let (Some(jwk), true) = (extra_jwk, path.starts_with("/sso/jwks/")) {
        let mut set: Value = serde_json::from_slice(&body).unwrap_or_else(|_| serde_json::json!({"keys": []}));
        if let Some(keys) = set["keys"].as_array_mut() {
            keys.push(jwk);
        }
        body = set.to_string().into_bytes();
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// An injected error answer, with `Retry-After` when given.
fn injected(status: u16, retry_after: Option<u64>) -> Response<Body> {
    let mut response = Response::new(Body::from(r#"{"message":"injected failure","code":"injected"}"#));
    *response.status_mut() = StatusCode::from_u16(status).expect("status");
    response.headers_mut().insert("content-type", "application/json".parse().expect("header"));
    if let Some(seconds) = retry_after {
        response.headers_mut().insert("retry-after", seconds.to_string().parse().expect("header"));
    }
    response
}
