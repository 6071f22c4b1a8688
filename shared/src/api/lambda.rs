//! What every function's `main` calls: build the dependencies once per cold start, check the
//! settings the function cannot work without, then serve invocations through the Lambda Runtime
//! API, on a current-thread runtime (Lambda hands a function one invocation at a time, so worker
//! threads would only cost their start-up and stacks; concurrent calls within an invocation,
//! `tokio::join!`, still overlap their I/O). A cold start that cannot begin tells the Runtime API why (`/runtime/init/error`, with the
//! missing setting named), as well as the log, then exits.

use futures::future::BoxFuture;
use lambda_http::lambda_runtime::LambdaEvent;
use lambda_http::{Request, service_fn};
use serde_json::Value;

use super::http::{self, Handler};
use crate::config::Setting;
use crate::error::ApiError;
use crate::{Deps, telemetry};

/// One invocation of a scheduled function: its event, and Lambda's id of the invocation, which
/// the audit entries of the changes it makes record as their `requestId`.
#[derive(Debug, Clone, Default)]
pub struct Job {
    pub event: Value,
    pub request_id: Option<String>,
}

/// A scheduled function's handler: the invocation in, a JSON report out.
pub type EventHandler = for<'a> fn(&'a Deps, Job) -> BoxFuture<'a, Result<Value, ApiError>>;

/// Serves an HTTP function (API Gateway HTTP API events, payload format 2.0).
pub fn serve_http(required: &[Setting], handler: Handler) -> Result<(), lambda_http::Error> {
    runtime()?.block_on(async {
        let deps = start(required).await?;
        let deps = &deps;
        lambda_http::run(service_fn(move |req: Request| async move {
            Ok::<_, std::convert::Infallible>(http::run(deps, &req, handler).await)
        }))
        .await
    })
}

/// Serves a scheduled function (EventBridge events, any JSON).
pub fn serve_events(required: &[Setting], handler: EventHandler) -> Result<(), lambda_http::Error> {
    runtime()?.block_on(async {
        let deps = start(required).await?;
        let deps = &deps;
        lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
            let job = Job { event: event.payload, request_id: Some(event.context.request_id) };
            handler(deps, job).await.map_err(|error| {
                tracing::error!(cause = %crate::error::chain(&error), "the job failed");
                lambda_http::Error::from(error)
            })
        }))
        .await
    })
}

/// Serves a WebSocket route of the live updates (API Gateway WebSocket events).
pub fn serve_websocket(handler: super::live::SocketHandler) -> Result<(), lambda_http::Error> {
    use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
    runtime()?.block_on(async {
        let deps = start(&[]).await?;
        let deps = &deps;
        lambda_http::lambda_runtime::run(service_fn(
            move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
                Ok::<_, std::convert::Infallible>(handler(deps, &event.payload).await)
            },
        ))
        .await
    })
}

/// Serves `live-broadcast` (DynamoDB stream events, answered with the records that failed).
pub fn serve_stream() -> Result<(), lambda_http::Error> {
    use aws_lambda_events::dynamodb::Event;
    runtime()?.block_on(async {
        let deps = start(&[]).await?;
        let deps = &deps;
        lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
            Ok::<_, std::convert::Infallible>(super::live::broadcast(deps, event.payload).await)
        }))
        .await
    })
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

async fn start(required: &[Setting]) -> Result<Deps, lambda_http::Error> {
    telemetry::init();
    let deps = match Deps::from_env().await {
        Ok(deps) => deps,
        Err(error) => return Err(init_failed(error.to_string()).await),
    };
    for setting in required {
        if let Err(error) = deps.config.require(*setting) {
            return Err(init_failed(error.to_string()).await);
        }
    }
    Ok(deps)
}

/// Reports a failed cold start to the Runtime API (when there is one) and the log.
async fn init_failed(message: String) -> lambda_http::Error {
    tracing::error!(error = message, "the cold start failed");
    if let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") {
        let url = format!("http://{api}/2018-06-01/runtime/init/error");
        let body = serde_json::json!({"errorMessage": message, "errorType": "Runtime.ConfigError"});
        if let Ok(client) = reqwest::Client::builder().build() {
            let sent = client
                .post(url)
                .header("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")
                .json(&body)
                .send()
                .await;
            if let Err(error) = sent {
                tracing::error!(error = %error.without_url(), "could not report the failed cold start");
            }
        }
    }
    message.into()
}
