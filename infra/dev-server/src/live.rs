//! The local gateway's part of API Gateway's WebSocket API and of the stream's event source
//! mapping, for the live updates. It calls the same handlers AWS would, with the same event types:
//!
//! - `GET /live?ticket=…` upgrades to a WebSocket after `$connect` (`live-connect`) answered 200,
//!   and answers its status (401) without upgrading otherwise; each text frame is a `$default`
//!   (`live-message`) event, the end of the socket a `$disconnect` (`live-disconnect`) event.
//! - `POST /@connections/{id}` and `DELETE /@connections/{id}` are the management API, which the
//!   functions call through the real AWS SDK client pointed here; an unknown id answers 410.
//! - `POST /_local/live/close` closes every socket, as API Gateway does at a connection's 2-hour
//!   limit (local only: for the TypeScript client's reconnect test).
//! - [`poll_stream`] reads DynamoDB Local's stream of the table and hands each batch of records to
//!   `live-broadcast` as a DynamoDB stream event; records its answer names as failed are retried
//!   (three times, then logged and passed, as an on-failure destination would keep them).
//!
//! Differences from AWS (docs/live-updates.md): the stream is read every 25 ms when it had nothing
//! (AWS's mapping polls a shard about 4 times a second), with no batching window.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use shared::Deps;
use shared::api::live::events::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest, EventRecord, StreamEvent};
use tokio::sync::mpsc;

/// A call of a function, as the gateway runs it.
pub type Call<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Wraps each call with the function's name: the tests record the DynamoDB calls of each function
/// under it, to check the template's policies.
pub type Around = Arc<dyn for<'a> Fn(&'static str, Call<'a>) -> Call<'a> + Send + Sync>;

enum Outbound {
    Text(String),
    Close,
}

/// The open sockets, by connection id.
pub struct LiveGateway {
    deps: Deps,
    sockets: Mutex<HashMap<String, mpsc::UnboundedSender<Outbound>>>,
    around: Option<Around>,
    /// Passes over the stream that found no record (the reader is at its end).
    idle_passes: tokio::sync::watch::Sender<u64>,
}

impl LiveGateway {
    /// `deps` must post through this gateway's `@connections` ([`Deps::with_live`]).
    pub fn new(deps: Deps, around: Option<Around>) -> Arc<Self> {
        let (idle_passes, _) = tokio::sync::watch::channel(0);
        Arc::new(Self { deps, sockets: Mutex::new(HashMap::new()), around, idle_passes })
    }

    /// The dependencies the gateway's functions run with: the HTTP routes beside it use the
    /// same (one token verifier, one JWKS cache).
    pub fn deps(&self) -> &Deps {
        &self.deps
    }

    /// Waits until the stream reader has handed over every record written before this call
    /// (two passes that found nothing, the second begun after the call).
    pub async fn caught_up(&self) {
        let mut passes = self.idle_passes.subscribe();
        let start = *passes.borrow();
        let _ = passes.wait_for(|count| *count >= start + 2).await;
    }

    /// Runs `call` as the function `name` would.
    async fn call<F: Future<Output = ()> + Send>(&self, name: &'static str, call: F) {
        match &self.around {
            Some(around) => around(name, Box::pin(call)).await,
            None => call.await,
        }
    }

    /// The WebSocket route and the management API.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route("/live", axum::routing::get(upgrade))
            .route("/@connections/{id}", axum::routing::post(post).delete(delete))
            .route("/_local/live/close", axum::routing::post(close_all))
            .with_state(self.clone())
    }

    fn event(&self, route: &str, kind: &str, connection_id: &str) -> ApiGatewayWebsocketProxyRequest {
        let mut event = ApiGatewayWebsocketProxyRequest::default();
        event.request_context.route_key = Some(route.to_owned());
        event.request_context.event_type = Some(kind.to_owned());
        event.request_context.connection_id = Some(connection_id.to_owned());
        event.request_context.request_id = Some(ulid::Ulid::new().to_string());
        event
    }

    async fn run_socket(self: Arc<Self>, socket: WebSocket, connection_id: String) {
        let (sender, mut outbound) = mpsc::unbounded_channel();
        self.sockets.lock().expect("sockets").insert(connection_id.clone(), sender);
        let mut socket = socket;
        loop {
            tokio::select! {
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        let mut event = self.event("$default", "MESSAGE", &connection_id);
                        event.body = Some(text.to_string());
                        // Its answers come back through `@connections` while it runs.
                        let gateway = self.clone();
                        tokio::spawn(async move {
                            let deps = &gateway.deps;
                            gateway.call("live-message", async { shared::api::live::message(deps, &event).await; }).await;
                        });
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                sent = outbound.recv() => match sent {
                    Some(Outbound::Text(text)) => {
                        if socket.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    Some(Outbound::Close) | None => {
                        let _ = socket.send(Message::Close(None)).await;
                        break;
                    }
                },
            }
        }
        self.sockets.lock().expect("sockets").remove(&connection_id);
        let event = self.event("$disconnect", "DISCONNECT", &connection_id);
        let deps = &self.deps;
        self.call("live-disconnect", async {
            shared::api::live::disconnect(deps, &event).await;
        })
        .await;
    }
}

async fn upgrade(State(gateway): State<Arc<LiveGateway>>, uri: axum::http::Uri, ws: WebSocketUpgrade) -> Response {
    let query: HashMap<String, String> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let connection_id = format!("{}=", ulid::Ulid::new());
    let mut event = gateway.event("$connect", "CONNECT", &connection_id);
    let mut parameters = HashMap::new();
    if let Some(ticket) = query.get("ticket") {
        parameters.insert("ticket".to_owned(), ticket.clone());
    }
    event.query_string_parameters = parameters.into();
    let answer = std::sync::Mutex::new(ApiGatewayProxyResponse::default());
    let deps = &gateway.deps;
    gateway
        .call("live-connect", async {
            *answer.lock().expect("answer") = shared::api::live::connect(deps, &event).await;
        })
        .await;
    let status = answer.into_inner().map(|a| a.status_code).unwrap_or(500);
    if status != 200 {
        // API Gateway refuses the upgrade with the status `$connect` answered.
        return StatusCode::from_u16(u16::try_from(status).unwrap_or(500))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response();
    }
    // API Gateway's limits: 32 KB a frame, 128 KB a message.
    ws.max_frame_size(32 * 1024)
        .max_message_size(128 * 1024)
        .on_upgrade(move |socket| gateway.run_socket(socket, connection_id))
}

fn socket_of(gateway: &LiveGateway, id: &str) -> Option<mpsc::UnboundedSender<Outbound>> {
    gateway.sockets.lock().expect("sockets").get(id).cloned()
}

/// API Gateway's answer for a connection it does not have.
fn gone() -> Response {
    let mut response = (StatusCode::GONE, r#"{"message":null}"#).into_response();
    let headers = response.headers_mut();
    headers.insert("x-amzn-errortype", axum::http::HeaderValue::from_static("GoneException"));
    headers.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    response
}

async fn post(State(gateway): State<Arc<LiveGateway>>, Path(id): Path<String>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body).into_owned();
    match socket_of(&gateway, &id).map(|socket| socket.send(Outbound::Text(text))) {
        Some(Ok(())) => StatusCode::OK.into_response(),
        _ => gone(),
    }
}

async fn delete(State(gateway): State<Arc<LiveGateway>>, Path(id): Path<String>) -> Response {
    match socket_of(&gateway, &id).map(|socket| socket.send(Outbound::Close)) {
        Some(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        _ => gone(),
    }
}

/// `POST /_local/live/close` (local only): closes every open socket, as API Gateway does when a
/// connection reaches its 2-hour limit, so that a client's reconnect and resume can be tested.
async fn close_all(State(gateway): State<Arc<LiveGateway>>) -> Response {
    let sockets: Vec<_> = gateway.sockets.lock().expect("sockets").values().cloned().collect();
    let closed = sockets.iter().filter(|socket| socket.send(Outbound::Close).is_ok()).count();
    axum::Json(serde_json::json!({ "closed": closed })).into_response()
}

/// The pause after a pass over the stream that found nothing.
const IDLE_PAUSE: Duration = Duration::from_millis(25);

/// How often a failed record is handed over again before it is passed.
const RECORD_ATTEMPTS: u32 = 3;

/// The stream API of DynamoDB Local, spoken as JSON: the AWS SDK's `GetRecords` deserializer
/// rejects a whole page when DynamoDB Local writes an empty map as `{}` (see [`repair`]).
struct StreamApi {
    http: reqwest::Client,
    endpoint: String,
}

impl StreamApi {
    async fn call(&self, action: &str, body: Value) -> Result<Value, String> {
        let response = self
            .http
            .post(&self.endpoint)
            .header("x-amz-target", format!("DynamoDBStreams_20120810.{action}"))
            .header("content-type", "application/x-amz-json-1.0")
            // DynamoDB Local checks no signature; the header names the (shared) database.
            .header("authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let value: Value = response.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{action}: {status} {}", value["__type"]));
        }
        Ok(value)
    }
}

/// DynamoDB Local writes an empty map attribute value as `{}`; DynamoDB writes `{"M":{}}`.
fn repair(value: &mut Value) {
    match value {
        Value::Object(map) if map.is_empty() => *value = serde_json::json!({"M": {}}),
        Value::Object(map) => {
            for (tag, inner) in map.iter_mut() {
                match (tag.as_str(), inner) {
                    ("M", Value::Object(attributes)) => attributes.values_mut().for_each(repair),
                    ("L", Value::Array(items)) => items.iter_mut().for_each(repair),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// A record of `GetRecords`, as Lambda hands it to a function (the same JSON), repaired.
fn event_record(mut record: Value) -> Option<EventRecord> {
    for image in ["Keys", "NewImage", "OldImage"] {
        if let Some(Value::Object(attributes)) = record["dynamodb"].get_mut(image) {
            attributes.values_mut().for_each(repair);
        }
    }
    match serde_json::from_value(record) {
        Ok(record) => Some(record),
        Err(error) => {
            tracing::error!(error = %error, "a stream record that is no Lambda stream record");
            None
        }
    }
}

/// Plays the event source mapping of the table's stream: reads DynamoDB Local's stream (at
/// `endpoint`) from the start and invokes `live-broadcast` with each batch (at most 100 records),
/// until the task is dropped.
pub async fn poll_stream(
    gateway: Arc<LiveGateway>,
    dynamodb: aws_sdk_dynamodb::Client,
    endpoint: String,
    table: String,
) {
    let described = loop {
        match dynamodb.describe_table().table_name(&table).send().await {
            Ok(output) => break output.table.and_then(|t| t.latest_stream_arn),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    };
    let Some(stream_arn) = described else {
        tracing::warn!(table, "the table has no stream: live updates are off");
        return;
    };
    let api = StreamApi { http: reqwest::Client::new(), endpoint };
    let mut iterators: HashMap<String, Option<String>> = HashMap::new();
    let mut described_at: Option<std::time::Instant> = None;
    loop {
        // New shards are looked for once a second; the known ones are read every pass.
        let described = if described_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
            described_at = Some(std::time::Instant::now());
            Some(api.call("DescribeStream", serde_json::json!({"StreamArn": stream_arn})).await)
        } else {
            None
        };
        match described {
            Some(Ok(described)) => {
                for shard in described["StreamDescription"]["Shards"].as_array().into_iter().flatten() {
                    let Some(shard_id) = shard["ShardId"].as_str() else { continue };
                    if iterators.contains_key(shard_id) {
                        continue;
                    }
                    let request = serde_json::json!({"StreamArn": stream_arn, "ShardId": shard_id,
                        "ShardIteratorType": "TRIM_HORIZON"});
                    let iterator = api.call("GetShardIterator", request).await.ok();
                    let iterator = iterator.and_then(|i| i["ShardIterator"].as_str().map(str::to_owned));
                    iterators.insert(shard_id.to_owned(), iterator);
                }
            }
            Some(Err(error)) => tracing::warn!(error, "DescribeStream failed"),
            None => {}
        }
        let mut idle = true;
        for iterator in iterators.values_mut() {
            let Some(current) = iterator.clone() else { continue };
            let request = serde_json::json!({"ShardIterator": current, "Limit": 100});
            let output = match api.call("GetRecords", request).await {
                Ok(output) => output,
                Err(error) => {
                    tracing::warn!(error, "GetRecords failed");
                    continue;
                }
            };
            *iterator = output["NextShardIterator"].as_str().map(str::to_owned);
            let records: Vec<EventRecord> = match output["Records"].clone() {
                Value::Array(records) => records.into_iter().filter_map(event_record).collect(),
                _ => Vec::new(),
            };
            if !records.is_empty() {
                idle = false;
                gateway.hand_over(records).await;
            }
        }
        if idle {
            gateway.idle_passes.send_modify(|count| *count += 1);
            tokio::time::sleep(IDLE_PAUSE).await;
        }
    }
}

impl LiveGateway {
    /// One batch to `live-broadcast`; the records it names as failed are handed over again.
    async fn hand_over(&self, records: Vec<EventRecord>) {
        let mut batch = records;
        for attempt in 1..=RECORD_ATTEMPTS {
            let mut event = StreamEvent::default();
            event.records = batch.clone();
            let failed = Mutex::new(Vec::new());
            let deps = &self.deps;
            self.call("live-broadcast", async {
                let answer = shared::api::live::broadcast(deps, event).await;
                *failed.lock().expect("failed") = answer.batch_item_failures;
            })
            .await;
            let failed: Vec<String> =
                failed.into_inner().unwrap_or_default().into_iter().filter_map(|f| f.item_identifier).collect();
            batch.retain(|r| r.change.sequence_number.as_ref().is_some_and(|s| failed.contains(s)));
            if batch.is_empty() {
                return;
            }
            if attempt == RECORD_ATTEMPTS {
                tracing::error!(records = batch.len(), "stream records given up after their retries");
            }
        }
    }
}
