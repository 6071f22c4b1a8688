//! Lemon Squeezy: webhook signatures and payloads, and a thin client for the two API calls we
//! make (create a checkout, read a subscription).

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::crypto;
use crate::error::ApiError;
use crate::outbound::{self, Failure, LazyHttp, Patience};

/// Checks `X-Signature`: lowercase hex HMAC-SHA256 of the raw body, compared in constant time.
/// Wrong length or non-hex is simply a wrong signature.
pub fn verify_signature(secret: &str, body: &[u8], signature: Option<&str>) -> Result<(), ApiError> {
    let tag = signature.map(str::trim).and_then(crypto::unhex).ok_or(ApiError::InvalidSignature)?;
    if tag.len() != 32 || !crypto::hmac_sha256_verify(secret.as_bytes(), body, &tag) {
        return Err(ApiError::InvalidSignature);
    }
    Ok(())
}

/// A webhook delivery, read leniently: unknown fields are ignored, and ids may come as numbers
/// or strings.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub meta: Meta,
    pub data: Resource,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Meta {
    pub event_name: String,
    #[serde(default)]
    pub test_mode: bool,
    #[serde(default)]
    pub custom_data: Option<Value>,
}

impl Meta {
    /// `custom_data.org_id`, the organization a checkout was made for.
    pub fn org_id(&self) -> Option<String> {
        self.custom_data.as_ref()?.get("org_id")?.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
    }
}

/// A JSON:API resource (`data`).
#[derive(Debug, Clone, Deserialize)]
pub struct Resource {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    #[serde(default)]
    pub attributes: Value,
}

fn id_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("an id must be a string or number, not {other}"))),
    }
}

fn text(value: &Value, field: &str) -> Option<String> {
    match value.get(field)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The fields of a subscription object that billing keeps (on the org item, as they are).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub status: String,
    pub variant_id: String,
    pub renews_at: Option<String>,
    pub ends_at: Option<String>,
    pub customer_portal_url: Option<String>,
    /// Lemon Squeezy's `updated_at`, normalised so that later times sort later as text.
    pub updated_at: String,
}

impl Subscription {
    /// Reads a `subscriptions` resource; `None` if a field billing needs is missing.
    pub fn from_resource(resource: &Resource) -> Option<Self> {
        let a = &resource.attributes;
        Some(Self {
            id: resource.id.clone(),
            status: text(a, "status")?,
            variant_id: text(a, "variant_id")?,
            renews_at: text(a, "renews_at").and_then(|t| normalise_time(&t)),
            ends_at: text(a, "ends_at").and_then(|t| normalise_time(&t)),
            customer_portal_url: a.get("urls").and_then(|u| text(u, "customer_portal")),
            updated_at: normalise_time(&text(a, "updated_at")?)?,
        })
    }
}

/// The last payment event of a subscription (from a `subscription-invoices` resource).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub invoice_id: String,
    pub subscription_id: String,
    pub event: String,
    pub status: Option<String>,
    pub updated_at: String,
}

impl Payment {
    pub fn from_event(event_name: &str, resource: &Resource) -> Option<Self> {
        let a = &resource.attributes;
        Some(Self {
            invoice_id: resource.id.clone(),
            subscription_id: text(a, "subscription_id")?,
            event: event_name.to_owned(),
            status: text(a, "status"),
            updated_at: normalise_time(&text(a, "updated_at")?)?,
        })
    }
}

/// RFC 3339 time as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds), which sorts as text.
pub fn normalise_time(text: &str) -> Option<String> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let at = at.to_offset(time::UtcOffset::UTC);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    at.format(&format).ok()
}

/// What the billing functions need from the environment.
#[derive(Clone)]
pub struct LemonSqueezyConfig {
    pub api_url: String,
    pub api_key: Option<String>,
    pub store_id: Option<String>,
    pub webhook_secret: Option<String>,
    pub allow_test_mode: bool,
}

impl std::fmt::Debug for LemonSqueezyConfig {
    // Keys and secrets never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LemonSqueezyConfig")
            .field("api_url", &self.api_url)
            .field("store_id", &self.store_id)
            .field("allow_test_mode", &self.allow_test_mode)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LemonSqueezyError {
    #[error("Lemon Squeezy answered {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("Lemon Squeezy could not be reached: {0}")]
    Transport(String),
    #[error("Lemon Squeezy answered something unreadable: {0}")]
    Decode(String),
    #[error("Lemon Squeezy is not configured: {0} is not set")]
    NotConfigured(&'static str),
}

impl From<LemonSqueezyError> for ApiError {
    fn from(error: LemonSqueezyError) -> Self {
        ApiError::Upstream(error.to_string())
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

    /// A checkout for `variant_id` that carries `custom_data.org_id`; answers its URL.
    pub async fn create_checkout(
        &self,
        variant_id: &str,
        org_id: &str,
        email: &str,
    ) -> Result<String, LemonSqueezyError> {
        let store_id =
            self.config.store_id.as_deref().ok_or(LemonSqueezyError::NotConfigured("LEMONSQUEEZY_STORE_ID"))?;
        let body = json!({
            "data": {
                "type": "checkouts",
                "attributes": {"checkout_data": {"email": email, "custom": {"org_id": org_id}}},
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
        serde_json::from_value(answer["data"].clone()).map_err(|e| LemonSqueezyError::Decode(e.to_string()))
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
                Failure::Status { status, body } => {
                    LemonSqueezyError::Status { status, detail: String::from_utf8_lossy(&body).into_owned() }
                }
                Failure::RetryAfter(wait) => {
                    LemonSqueezyError::Status { status: 429, detail: format!("retry after {wait:?}") }
                }
                Failure::Transport(error) => LemonSqueezyError::Transport(error),
            })?;
        serde_json::from_slice(&bytes).map_err(|e| LemonSqueezyError::Decode(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        let body = br#"{"a":1}"#;
        let good = crypto::hex(&crypto::hmac_sha256(b"secret", body));
        assert!(verify_signature("secret", body, Some(&good)).is_ok());
        assert!(verify_signature("secret", body, Some(&good.to_uppercase())).is_ok(), "hex of either case");
        for bad in [None, Some(""), Some("zz"), Some(&good[..10]), Some("00")] {
            assert!(matches!(verify_signature("secret", body, bad), Err(ApiError::InvalidSignature)), "{bad:?}");
        }
        assert!(verify_signature("other", body, Some(&good)).is_err());
        assert!(verify_signature("secret", b"{}", Some(&good)).is_err());
    }

    #[test]
    fn times_sort_as_text() {
        assert_eq!(normalise_time("2025-01-15T10:00:08.000000Z").unwrap(), "2025-01-15T10:00:08.000000Z");
        assert_eq!(normalise_time("2025-01-15T11:00:08+01:00").unwrap(), "2025-01-15T10:00:08.000000Z");
        assert_eq!(normalise_time("2025-01-15T10:00:08Z").unwrap(), "2025-01-15T10:00:08.000000Z");
        assert!(normalise_time("yesterday").is_none());
    }
}
