//! A Lambda Runtime API of the test kit's own, for running a function's real binary as Lambda
//! runs it: the binary polls `GET /2018-06-01/runtime/invocation/next`, answers through
//! `POST …/invocation/{id}/response` (or `/error`), and reports a failed cold start through
//! `POST …/init/error`. The only way to prove that `main.rs`, `lambda_http`'s event parsing and
//! the handlers agree as deployed; the in-process router of the local gateway is not Lambda.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

const API: &str = "/2018-06-01/runtime";

/// What the binary answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

#[derive(Default)]
struct Pending {
    answers: HashMap<String, oneshot::Sender<Outcome>>,
    init_error: Option<Value>,
}

struct RuntimeState {
    events: tokio::sync::Mutex<mpsc::Receiver<(String, Value)>>,
    pending: Mutex<Pending>,
}

/// One function binary, started under its own Runtime API on a free loopback port.
pub struct LambdaFunction {
    events: mpsc::Sender<(String, Value)>,
    state: Arc<RuntimeState>,
    child: tokio::process::Child,
    server: tokio::task::JoinHandle<()>,
}

/// The workspace's build of a function binary (`make test` builds them before the tests).
pub fn binary(name: &str) -> PathBuf {
    let deps_dir = std::env::current_exe().expect("test binary path");
    let target_dir = deps_dir.parent().and_then(|d| d.parent()).expect("target/<profile>");
    let path = target_dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run the tests with `make test` (cargo build --workspace --bins)",
        path.display()
    );
    path
}

impl LambdaFunction {
    /// Starts `binary` with `env` (the function's configuration) and the variables Lambda sets.
    pub async fn start(name: &str, env: &[(String, String)]) -> Self {
        let (events, receiver) = mpsc::channel(16);
        let state = Arc::new(RuntimeState {
            events: tokio::sync::Mutex::new(receiver),
            pending: Mutex::new(Pending::default()),
        });
        let router = axum::Router::new()
            .route(&format!("{API}/invocation/next"), axum::routing::get(next))
            .route(&format!("{API}/invocation/{{id}}/response"), axum::routing::post(response))
            .route(&format!("{API}/invocation/{{id}}/error"), axum::routing::post(error))
            .route(&format!("{API}/init/error"), axum::routing::post(init_error))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let mut command = tokio::process::Command::new(binary(name));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_LEVEL", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("start the function binary");
        Self { events, state, child, server }
    }

    /// Hands the binary one event and waits for its answer.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let id = ulid::Ulid::new().to_string();
        let (sender, receiver) = oneshot::channel();
        self.state.pending.lock().expect("pending").answers.insert(id.clone(), sender);
        self.events.send((id, event)).await.expect("the runtime API is up");
        tokio::time::timeout(Duration::from_secs(30), receiver)
            .await
            .expect("the function answered within 30 s")
            .expect("an answer")
    }

    /// What the binary reported through `/runtime/init/error`, once it has exited.
    pub async fn init_error(&mut self) -> Option<Value> {
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.expect("it exits").ok()?;
        assert!(!status.success(), "a failed cold start exits with an error");
        self.state.pending.lock().expect("pending").init_error.clone()
    }
}

impl Drop for LambdaFunction {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        self.server.abort();
    }
}

async fn next(State(state): State<Arc<RuntimeState>>) -> Response {
    let Some((id, event)) = state.events.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = (std::time::SystemTime::now() + Duration::from_secs(10))
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", id.parse().expect("header"));
    headers.insert("lambda-runtime-deadline-ms", deadline.to_string().parse().expect("header"));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:test".parse().expect("header"),
    );
    headers.insert("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000".parse().expect("header"));
    (StatusCode::OK, headers, axum::Json(event)).into_response()
}

fn deliver(state: &RuntimeState, id: &str, outcome: Outcome) -> StatusCode {
    match state.pending.lock().expect("pending").answers.remove(id) {
        Some(sender) => {
            let _ = sender.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(State(state): State<Arc<RuntimeState>>, Path(id): Path<String>, body: String) -> StatusCode {
    deliver(&state, &id, Outcome::Response(serde_json::from_str(&body).unwrap_or(Value::String(body))))
}

async fn error(State(state): State<Arc<RuntimeState>>, Path(id): Path<String>, body: String) -> StatusCode {
    deliver(&state, &id, Outcome::Error(serde_json::from_str(&body).unwrap_or(Value::String(body))))
}

async fn init_error(State(state): State<Arc<RuntimeState>>, body: String) -> StatusCode {
    state.pending.lock().expect("pending").init_error =
        Some(serde_json::from_str(&body).unwrap_or(Value::String(body)));
    StatusCode::ACCEPTED
}

/// An API Gateway HTTP API (payload format 2.0) event, as API Gateway sends it to Lambda.
pub struct HttpEvent {
    pub method: String,
    /// The route as the template names it, e.g. `/customers/{customerId}`.
    pub route: String,
    /// The path as requested.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub cookies: Vec<String>,
    pub body: Option<Vec<u8>>,
}

impl HttpEvent {
    pub fn new(method: &str, route: &str, path: &str) -> Self {
        Self {
            method: method.to_owned(),
            route: route.to_owned(),
            path: path.to_owned(),
            query: vec![],
            headers: vec![],
            cookies: vec![],
            body: None,
        }
    }

    /// The path parameters: the route's `{name}` segments matched against the path.
    fn path_parameters(&self) -> Option<Value> {
        let mut params = serde_json::Map::new();
        for (pattern, segment) in self.route.split('/').zip(self.path.split('/')) {
            if let Some(name) = pattern.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                params.insert(name.to_owned(), json!(segment));
            }
        }
        (!params.is_empty()).then_some(Value::Object(params))
    }

    pub fn to_json(&self) -> Value {
        use base64::Engine;
        let raw_query = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let query: serde_json::Map<String, Value> = self.query.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let headers: serde_json::Map<String, Value> = self.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let route_key = format!("{} {}", self.method, self.route);
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": self.path,
            "rawQueryString": raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "testapi",
                "domainName": "testapi.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "testapi",
                "http": {"method": self.method, "path": self.path, "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "testkit"},
                "requestId": format!("req-{}", ulid::Ulid::new()),
                "routeKey": route_key,
                "stage": "$default",
                "time": "01/Dec/2026:19:00:00 +0000",
                "timeEpoch": 1_796_151_600_000u64,
            },
            "isBase64Encoded": false,
        });
        if !self.cookies.is_empty() {
            event["cookies"] = json!(self.cookies);
        }
        if !query.is_empty() {
            event["queryStringParameters"] = Value::Object(query);
        }
        if let Some(params) = self.path_parameters() {
            event["pathParameters"] = params;
        }
        if let Some(body) = &self.body {
            event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
            event["isBase64Encoded"] = json!(true);
        }
        event
    }
}

/// An EventBridge scheduled event, as Lambda delivers it to a scheduled function.
pub fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-12-01T19:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/test-schedule"],
        "detail": {},
    })
}
