//! `make dev`'s gateway: serves every route on 127.0.0.1:$PORT (default 9000).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body as AxumBody;
use axum::extract::{Request, State};
use axum::response::Response;
use dev_server::{Cors, dispatch, invokable};
use lambda_http::Body;
use shared::{ApiError, Deps};

/// API Gateway's own payload limit; the handlers refuse anything over 64 KiB themselves.
const MAX_GATEWAY_BODY: usize = 10 * 1024 * 1024;

struct App {
    /// Plays API Gateway's WebSocket API; its `deps` serve the HTTP routes too.
    gateway: Arc<dev_server::live::LiveGateway>,
    cors: Cors,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    shared::telemetry::init();
    let port: u16 = std::env::var("PORT").ok().map(|p| p.parse()).transpose()?.unwrap_or(9000);
    let origins = std::env::var("CORS_ALLOWED_ORIGINS").unwrap_or_else(|_| "http://localhost:3000".into());
    let mut config = shared::config::Config::from_env()?;
    // The live updates: this gateway plays the WebSocket API and its `@connections`.
    let local = format!("http://127.0.0.1:{port}");
    config.live_url.get_or_insert_with(|| format!("ws://127.0.0.1:{port}/live"));
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    if std::env::var("LOCAL_CREATE_TABLE").is_ok_and(|v| v == "1") {
        dev_server::table::ensure_table(&dynamodb, &config.table_name).await?;
    }
    let table = config.table_name.clone();
    let live = shared::clients::live::LiveConnections::at(&sdk, &local);
    let gateway = dev_server::live::LiveGateway::new(Deps::new(config, dynamodb.clone()).with_live(live), None);
    // DynamoDB Local serves the stream API at its own endpoint.
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| "http://127.0.0.1:8000".into());
    tokio::spawn(dev_server::live::poll_stream(gateway.clone(), dynamodb, endpoint, table));
    let app = Arc::new(App { gateway: gateway.clone(), cors: Cors::from_list(&origins) });
    let router = gateway.router().merge(axum::Router::new().fallback(serve).with_state(app));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    tracing::info!(port, "local gateway listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn serve(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if let Some(preflight) = app.cors.preflight(&parts.method, &parts.headers) {
        return to_axum(preflight);
    }
    let headers = parts.headers.clone();
    let mut response = match axum::body::to_bytes(body, MAX_GATEWAY_BODY).await {
        Err(_) => shared::api::http::problem(&ApiError::PayloadTooLarge(shared::api::http::MAX_BODY_BYTES)),
        Ok(bytes) => match parts.uri.path().strip_prefix("/_local/invoke/") {
            Some(function) if parts.method == http::Method::POST => invoke(app.gateway.deps(), function, &bytes).await,
            _ => match (parts.method == http::Method::GET).then(|| dev_server::example::serve(parts.uri.path())) {
                Some(Some(page)) => page,
                _ => dispatch(app.gateway.deps(), http::Request::from_parts(parts, bytes)).await,
            },
        },
    };
    app.cors.decorate(&headers, &mut response);
    to_axum(response)
}

/// `POST /_local/invoke/{function}`: runs a non-HTTP function with the body as its event.
async fn invoke(deps: &Deps, function: &str, body: &[u8]) -> lambda_http::Response<Body> {
    let Some(handler) = invokable(function) else {
        return shared::api::http::problem(&ApiError::NotFound);
    };
    let event = if body.is_empty() { Ok(serde_json::json!({})) } else { shared::api::http::parse_json(body) };
    match event {
        Ok(event) => {
            match handler(deps, shared::api::lambda::Job { event, request_id: Some(ulid::Ulid::new().to_string()) })
                .await
            {
                Ok(output) => shared::api::http::json(200, &output),
                Err(error) => shared::api::http::problem(&error),
            }
        }
        Err(error) => shared::api::http::problem(&error),
    }
}

fn to_axum(response: lambda_http::Response<Body>) -> Response {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, AxumBody::from(dev_server::body_bytes(body)))
}
