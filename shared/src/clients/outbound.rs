//! Outbound HTTP: one client per cold start, built on first use, and the one retry policy every
//! call to WorkOS and Lemon Squeezy follows.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use reqwest::{Method, RequestBuilder, StatusCode};

use super::tls;

/// The HTTP client, built on first use (a function that never calls out builds none), trusting
/// the roots [`tls::public_web`] names.
#[derive(Clone, Default)]
pub struct LazyHttp(Arc<OnceLock<reqwest::Client>>);

impl LazyHttp {
    pub fn get(&self) -> &reqwest::Client {
        self.0.get_or_init(|| {
            let builder = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(6))
                .user_agent(concat!("saas-backend/", env!("CARGO_PKG_VERSION")));
            let builder = match tls::public_web() {
                Ok(config) => builder.tls_backend_preconfigured(config),
                Err(error) => {
                    tracing::warn!(error, "the compiled-in roots did not load; using the system's");
                    builder
                }
            };
            builder.build().unwrap_or_default()
        })
    }
}

/// How hard a call tries: attempts (the first included), and the longest `Retry-After` it
/// waits out. Request paths give up fast; jobs are patient.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    pub attempts: u32,
    pub max_wait: Duration,
}

impl Patience {
    pub const REQUEST: Self = Self { attempts: 3, max_wait: Duration::from_secs(5) };
}

/// Why a call failed after its retries.
#[derive(Debug)]
pub enum Failure {
    /// The service answered this status (the last one), with this body and request id.
    Status { status: u16, body: Bytes, request_id: Option<String> },
    /// The service asked to wait longer than the call's patience allows.
    RetryAfter(Duration),
    /// The service could not be reached, or the answer was cut off.
    Transport(String),
}

/// Sends the request `build` makes until it succeeds or the policy gives up, and answers the
/// body. Retried: 429 (honouring `Retry-After`), and for methods other than POST, 5xx and
/// transport failures. A POST is retried on a transport failure only when its connection never
/// opened, since otherwise the service may have acted on it. `service` names it in the logs.
///
/// Logs carry the method, the path (never the query, which can hold an e-mail address), the
/// status and the service's request id; an answer's body only at `debug`, since it can quote
/// what was sent.
pub async fn send(
    service: &'static str,
    method: &Method,
    path: &str,
    patience: Patience,
    build: impl Fn() -> RequestBuilder,
) -> Result<Bytes, Failure> {
    let mut attempt = 1;
    loop {
        let wait = match build().send().await {
            Ok(response) if response.status().is_success() => {
                return response.bytes().await.map_err(|e| Failure::Transport(e.without_url().to_string()));
            }
            Ok(response) => {
                let status = response.status();
                let retry_after = retry_after(&response);
                let request_id = request_id(&response);
                let body = response.bytes().await.unwrap_or_default();
                tracing::warn!(
                    service,
                    %method,
                    path,
                    status = status.as_u16(),
                    request_id = request_id.as_deref().unwrap_or(""),
                    attempt,
                    "upstream error"
                );
                tracing::debug!(service, path, body = %String::from_utf8_lossy(&body), "upstream error body");
                let retryable =
                    status == StatusCode::TOO_MANY_REQUESTS || (status.is_server_error() && method != Method::POST);
                if !retryable || attempt >= patience.attempts {
                    return Err(Failure::Status { status: status.as_u16(), body, request_id });
                }
                retry_after.unwrap_or_else(|| backoff(attempt))
            }
            Err(error) => {
                let error = error.without_url();
                tracing::warn!(service, %method, path, error = %error, attempt, "upstream request failed");
                let retryable = error.is_connect() || method != Method::POST;
                if !retryable || attempt >= patience.attempts {
                    return Err(Failure::Transport(error.to_string()));
                }
                backoff(attempt)
            }
        };
        if wait > patience.max_wait {
            return Err(Failure::RetryAfter(wait));
        }
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// The request id WorkOS (`x-request-id`) or Lemon Squeezy answers with, for support tickets.
fn request_id(response: &reqwest::Response) -> Option<String> {
    let value = response.headers().get("x-request-id")?.to_str().ok()?;
    Some(value.chars().filter(|c| c.is_ascii_graphic()).take(100).collect())
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// 100 ms, 200 ms, 400 ms, … with up to 50 % jitter, so parallel callers do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let base = 100u64 << (attempt - 1).min(6);
    let jitter = u64::from(ulid::Ulid::new().random() as u32) % (base / 2 + 1);
    Duration::from_millis(base + jitter)
}
