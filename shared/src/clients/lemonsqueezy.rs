//! The Lemon Squeezy API: a thin client for the two calls billing makes (create a checkout,
//! read a subscription).

use std::time::Duration;

use serde_json::{Value, json};

use super::outbound::{self, Failure, LazyHttp, Patience};
use crate::config::LemonSqueezyConfig;
use crate::domain::lemonsqueezy::Resource;
use crate::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum LemonSqueezyError {
    /// The text holds no part of Lemon Squeezy's answer, which can quote what was sent.
    #[error("Lemon Squeezy answered {status}, request id {request_id}")]
    Status { status: u16, request_id: String },
    #[error("Lemon Squeezy could not be reached: {0}")]
    Transport(String),
    #[error("Lemon Squeezy answered something unreadable: {0}")]
    Decode(String),
    #[error("Lemon Squeezy is not configured: {0} is not set")]
    NotConfigured(&'static str),
}

impl From<LemonSqueezyError> for ApiError {
    fn from(error: LemonSqueezyError) -> Self {
        ApiError::Upstream(Box::new(error))
    }
}

/// Lemon Squeezy allows 300 calls a minute; a `Retry-After` up to 20 s is waited out.
const PATIENCE: Patience = Patience { attempts: 3, max_wait: Duration::from_secs(20) };

/// The Lemon Squeezy API (JSON:API, bearer key).
#[derive(Clone)]
pub struct LemonSqueezyClient {
    http: LazyHttp,
    config: LemonSqueezyConfig,
}

impl LemonSqueezyClient {
    pub fn new(http: LazyHttp, config: LemonSqueezyConfig) -> Self {
        Self { http, config }
    }

    /// A checkout for `variant_id` that carries `custom` (the org id and its tag) as its
    /// custom data; answers its URL.
    pub async fn create_checkout(
        &self,
        variant_id: &str,
        custom: &Value,
        email: &str,
    ) -> Result<String, LemonSqueezyError> {
        let store_id =
            self.config.store_id.as_deref().ok_or(LemonSqueezyError::NotConfigured("LEMONSQUEEZY_STORE_ID"))?;
        let body = json!({
            "data": {
                "type": "checkouts",
                "attributes": {"checkout_data": {"email": email, "custom": custom}},
                "relationships": {
                    "store": {"data": {"type": "stores", "id": store_id}},
                    "variant": {"data": {"type": "variants", "id": variant_id}},
                },
            }
        });
        let answer = self.call(reqwest::Method::POST, "/v1/checkouts", Some(&body)).await?;
        answer["data"]["attributes"]["url"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| LemonSqueezyError::Decode("the checkout has no data.attributes.url".into()))
    }

    /// The current state of a subscription.
    pub async fn get_subscription(&self, subscription_id: &str) -> Result<Resource, LemonSqueezyError> {
        let path = format!("/v1/subscriptions/{}", subscription_id.trim());
        let answer = self.call(reqwest::Method::GET, &path, None).await?;
        serde_json::from_value(answer["data"].clone())
            .map_err(|_| LemonSqueezyError::Decode("the subscription is not a JSON:API resource".into()))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, LemonSqueezyError> {
        let key = self.config.api_key.as_deref().ok_or(LemonSqueezyError::NotConfigured("LEMONSQUEEZY_API_KEY"))?;
        let url = format!("{}{path}", self.config.api_url);
        let build = || {
            let request = self
                .http
                .get()
                .request(method.clone(), &url)
                .bearer_auth(key)
                .header("accept", "application/vnd.api+json");
            match body {
                Some(body) => request.header("content-type", "application/vnd.api+json").body(body.to_string()),
                None => request,
            }
        };
        let bytes =
            outbound::send("Lemon Squeezy", &method, path, PATIENCE, build).await.map_err(|failure| match failure {
                Failure::Status { status, request_id, .. } => {
                    LemonSqueezyError::Status { status, request_id: request_id.unwrap_or_default() }
                }
                Failure::RetryAfter(wait) => {
                    LemonSqueezyError::Status { status: 429, request_id: format!("(retry after {wait:?})") }
                }
                Failure::Transport(error) => LemonSqueezyError::Transport(error),
            })?;
        serde_json::from_slice(&bytes).map_err(|e| {
            LemonSqueezyError::Decode(format!("{:?} at line {} column {}", e.classify(), e.line(), e.column()))
        })
    }
}
