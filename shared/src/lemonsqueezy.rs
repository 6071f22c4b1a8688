//! Lemon Squeezy: webhook signatures and payloads, and a thin client for the two API calls we
//! make (create a checkout, read a subscription).

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Timestamp;
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
    /// `custom_data.org_id`, the organization a checkout claims to be for. Anyone can put any
    /// value there (a share link takes `checkout[custom][org_id]`): trust it only through
    /// [`CheckoutTag::verified_org`].
    pub fn claimed_org_id(&self) -> Option<&str> {
        self.custom_text("org_id")
    }

    fn custom_text(&self, field: &str) -> Option<&str> {
        self.custom_data.as_ref()?.get(field)?.as_str().filter(|s| !s.is_empty())
    }
}

/// The tag `POST /billing/checkout` puts beside `org_id` in a checkout's custom data: an HMAC
/// over the org id and the checkout's creation time, under a key only this backend holds
/// (derived from the webhook secret, which the checkout and the webhook functions both have).
/// A buyer can copy a tag, but not make one for another organization.
#[derive(Clone)]
pub struct CheckoutTag {
    key: Vec<u8>,
}

impl CheckoutTag {
    pub fn new(webhook_secret: &str) -> Self {
        Self { key: crypto::hmac_sha256(webhook_secret.as_bytes(), b"checkout-tag-v1") }
    }

    fn tag(&self, org_id: &str, issued_at: &str) -> Vec<u8> {
        crypto::hmac_sha256(&self.key, format!("{org_id}\n{issued_at}").as_bytes())
    }

    /// The custom data of a new checkout for `org_id`.
    pub fn custom_data(&self, org_id: &str, now: Timestamp) -> Value {
        let issued_at = now.to_string();
        let tag = crypto::hex(&self.tag(org_id, &issued_at));
        json!({"org_id": org_id, "org_issued_at": issued_at, "org_tag": tag})
    }

    /// The organization the event's custom data names, if its tag verifies (constant time).
    pub fn verified_org<'a>(&self, meta: &'a Meta) -> Option<&'a str> {
        let org_id = meta.claimed_org_id()?;
        let issued_at = meta.custom_text("org_issued_at")?;
        let tag = crypto::unhex(meta.custom_text("org_tag")?)?;
        let signed = format!("{org_id}\n{issued_at}");
        crypto::hmac_sha256_verify(&self.key, signed.as_bytes(), &tag).then_some(org_id)
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

/// A subscription's status (Lemon Squeezy's `status`). A status this code does not know is
/// kept as it came, and grants nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    OnTrial,
    Active,
    PastDue,
    Cancelled,
    Paused,
    Unpaid,
    Expired,
    #[serde(untagged)]
    Other(String),
}

impl SubscriptionStatus {
    pub fn parse(text: &str) -> Self {
        serde_json::from_value(Value::String(text.to_owned())).unwrap_or_else(|_| Self::Other(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::OnTrial => "on_trial",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Cancelled => "cancelled",
            Self::Paused => "paused",
            Self::Unpaid => "unpaid",
            Self::Expired => "expired",
            Self::Other(text) => text,
        }
    }
}

/// The fields of a subscription object that billing keeps (on the org item, as they are).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub status: SubscriptionStatus,
    pub variant_id: String,
    pub renews_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub customer_portal_url: Option<String>,
    /// Lemon Squeezy's `updated_at` (one-second precision).
    pub updated_at: Timestamp,
    /// A digest of the fields above, so that two states with the same `updated_at` but other
    /// content are told apart inside a write condition.
    pub content_hash: String,
}

impl Subscription {
    /// Reads a `subscriptions` resource; `None` if a field billing needs is missing.
    pub fn from_resource(resource: &Resource) -> Option<Self> {
        let a = &resource.attributes;
        let mut subscription = Self {
            id: resource.id.clone(),
            status: SubscriptionStatus::parse(&text(a, "status")?),
            variant_id: text(a, "variant_id")?,
            renews_at: text(a, "renews_at").and_then(|t| Timestamp::parse(&t)),
            ends_at: text(a, "ends_at").and_then(|t| Timestamp::parse(&t)),
            customer_portal_url: a.get("urls").and_then(|u| text(u, "customer_portal")),
            updated_at: Timestamp::parse(&text(a, "updated_at")?)?,
            content_hash: String::new(),
        };
        subscription.content_hash = content_hash(&subscription);
        Some(subscription)
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
    pub updated_at: Timestamp,
    pub content_hash: String,
}

impl Payment {
    pub fn from_event(event_name: &str, resource: &Resource) -> Option<Self> {
        let a = &resource.attributes;
        let mut payment = Self {
            invoice_id: resource.id.clone(),
            subscription_id: text(a, "subscription_id")?,
            event: event_name.to_owned(),
            status: text(a, "status"),
            updated_at: Timestamp::parse(&text(a, "updated_at")?)?,
            content_hash: String::new(),
        };
        payment.content_hash = content_hash(&payment);
        Some(payment)
    }
}

/// SHA-256 of a value's JSON with its `contentHash` left empty.
fn content_hash<T: serde::Serialize>(value: &T) -> String {
    let mut json = serde_json::to_value(value).unwrap_or(Value::Null);
    if let Some(object) = json.as_object_mut() {
        object.remove("contentHash");
    }
    crypto::sha256_hex(json.to_string().as_bytes())
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

    fn meta(custom: Value) -> Meta {
        serde_json::from_value(json!({"event_name": "subscription_created", "custom_data": custom})).unwrap()
    }

    #[test]
    fn checkout_tags_verify_only_for_their_org() {
        let tags = CheckoutTag::new("whsec");
        let custom = tags.custom_data("org_a", Timestamp::now());
        assert_eq!(tags.verified_org(&meta(custom.clone())), Some("org_a"));
        let mut moved = custom.clone();
        moved["org_id"] = json!("org_b");
        assert_eq!(tags.verified_org(&meta(moved)), None, "a tag of one org does not vouch for another");
        let mut retimed = custom.clone();
        retimed["org_issued_at"] = json!("2020-01-01T00:00:00.000Z");
        assert_eq!(tags.verified_org(&meta(retimed)), None);
        assert_eq!(CheckoutTag::new("other").verified_org(&meta(custom)), None, "another server key");
        for bad in [
            json!({"org_id": "org_a"}),
            json!({"org_id": "org_a", "org_issued_at": "x", "org_tag": "zz"}),
            json!(null),
            json!("org_a"),
        ] {
            assert_eq!(tags.verified_org(&meta(bad.clone())), None, "{bad}");
        }
    }

    #[test]
    fn statuses_and_content_hashes() {
        assert_eq!(SubscriptionStatus::parse("past_due"), SubscriptionStatus::PastDue);
        assert_eq!(SubscriptionStatus::parse("frozen"), SubscriptionStatus::Other("frozen".into()));
        assert_eq!(SubscriptionStatus::parse("frozen").as_str(), "frozen");
        let resource = |status: &str| Resource {
            kind: "subscriptions".into(),
            id: "1".into(),
            attributes: json!({"status": status, "variant_id": 5, "updated_at": "2025-01-15T10:00:08.000000Z"}),
        };
        let (a, b) = (
            Subscription::from_resource(&resource("active")).unwrap(),
            Subscription::from_resource(&resource("past_due")).unwrap(),
        );
        assert_eq!(a.updated_at, b.updated_at);
        assert_ne!(a.content_hash, b.content_hash, "same second, other content");
        assert_eq!(a.content_hash, Subscription::from_resource(&resource("active")).unwrap().content_hash);
        assert_eq!(a.updated_at.to_string(), "2025-01-15T10:00:08.000Z");
    }
}
