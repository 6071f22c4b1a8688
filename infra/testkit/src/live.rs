//! The live updates under test: a local gateway of the test app's own (its WebSocket route, its
//! `@connections` and its stream poller, as `make dev` runs them), and WebSocket clients.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use shared::Deps;
use shared::clients::live::LiveConnections;
use tokio_tungstenite::tungstenite::Message;

use crate::{TestApp, TestResponse, calls, env};

/// A running local gateway for one test app.
pub struct LiveStack {
    /// `ws://127.0.0.1:<port>/live`
    pub ws_url: String,
    /// `http://127.0.0.1:<port>`: the gateway's `@connections` (`LIVE_MANAGEMENT_URL`).
    pub http_url: String,
    pub gateway: Arc<dev_server::live::LiveGateway>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for LiveStack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn management_client(endpoint: &str) -> LiveConnections {
    use aws_sdk_apigatewaymanagement::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_apigatewaymanagement::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .build();
    LiveConnections::new(aws_sdk_apigatewaymanagement::Client::from_conf(config))
}

impl TestApp {
    /// Starts the live updates of this app: a local gateway on a port of its own.
    pub async fn live(&self) -> LiveStack {
        assert_eq!(self.dynamodb_url, env("LIVE_TEST_DYNAMODB_URL"), "live updates need TestApp::for_live");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut vars = self.vars.clone();
        vars.insert("LIVE_URL".into(), format!("ws://127.0.0.1:{port}/live"));
        let config = shared::config::Config::from_lookup(|name| vars.get(name).cloned()).expect("config");
        let live = management_client(&format!("http://127.0.0.1:{port}"));
        let around: dev_server::live::Around = Arc::new(|name, call| Box::pin(calls::FUNCTION.scope(name, call)));
        let gateway =
            dev_server::live::LiveGateway::new(Deps::new(config, self.dynamodb.clone()).with_live(live), Some(around));
        let router = gateway.router();
        let serve = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let poll = tokio::spawn(dev_server::live::poll_stream(
            gateway.clone(),
            self.dynamodb.clone(),
            self.dynamodb_url.clone(),
            self.table.clone(),
        ));
        // What the test wrote before starting the stack is told before it returns.
        gateway.caught_up().await;
        LiveStack {
            ws_url: format!("ws://127.0.0.1:{port}/live"),
            http_url: format!("http://127.0.0.1:{port}"),
            gateway,
            tasks: vec![serve, poll],
        }
    }
}

impl LiveStack {
    /// The dependencies the gateway's functions run with (posting through its `@connections`).
    pub fn deps(&self) -> &Deps {
        self.gateway.deps()
    }

    /// `POST /live/tickets` with `token`.
    pub async fn ticket(&self, token: &str) -> TestResponse {
        let request = http::Request::builder()
            .method("POST")
            .uri("/live/tickets")
            .header("authorization", format!("Bearer {token}"))
            .body(bytes::Bytes::new())
            .expect("request");
        let response =
            calls::FUNCTION.scope("create-live-ticket", dev_server::dispatch(self.gateway.deps(), request)).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = dev_server::body_bytes(response.into_body());
        TestResponse { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    /// Opens the socket at `url`; `Err(status)` when the upgrade is refused.
    pub async fn open(&self, url: &str) -> Result<Socket, u16> {
        match tokio_tungstenite::connect_async(url).await {
            Ok((stream, _)) => Ok(Socket { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(error) => panic!("the socket did not open: {error}"),
        }
    }

    /// A ticket for `token`, and the socket it opens.
    pub async fn connect(&self, token: &str) -> Socket {
        let ticket = self.ticket(token).await;
        assert_eq!(ticket.status, 201, "{:?}", ticket.body);
        self.open(ticket.body["url"].as_str().expect("url")).await.expect("the socket opens")
    }
}

/// A WebSocket client.
pub struct Socket {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Socket {
    pub async fn send(&mut self, message: Value) {
        self.stream.send(Message::Text(message.to_string().into())).await.expect("send");
    }

    /// The next frame within `wait`; `None` when none came or the socket closed.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(wait, self.stream.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).ok(),
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => return None,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Every frame until none comes for `quiet`.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut frames = Vec::new();
        while let Some(frame) = self.next(quiet).await {
            frames.push(frame);
        }
        frames
    }

    /// Whether the server closed the socket within `wait`.
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => {}
                Err(_) => return false,
            }
        }
    }
}
