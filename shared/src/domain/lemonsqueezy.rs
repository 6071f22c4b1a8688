//! What Lemon Squeezy sends: the webhook signature, the event payload (read leniently), and the
//! billing states read from it.

use serde::Deserialize;
use serde_json::Value;

use super::billing::{Payment, PortalLink, Subscription, SubscriptionStatus, content_hash};
use crate::error::ApiError;
use crate::{Timestamp, crypto};

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

    pub(super) fn custom_text(&self, field: &str) -> Option<&str> {
        self.custom_data.as_ref()?.get(field)?.as_str().filter(|s| !s.is_empty())
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
            updated_at: Timestamp::parse(&text(a, "updated_at")?)?,
            content_hash: String::new(),
        };
        subscription.content_hash = content_hash(&subscription);
        Some(subscription)
    }
}

impl PortalLink {
    /// The customer portal URL of a `subscriptions` resource, made no earlier than `made_at`.
    pub fn from_resource(resource: &Resource, made_at: Timestamp) -> Option<Self> {
        let url = resource.attributes.get("urls").and_then(|u| text(u, "customer_portal"))?;
        Some(Self::new(url, made_at))
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

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

    #[test]
    fn presigned_urls_are_no_part_of_the_content() {
        let resource = |portal: &str| Resource {
            kind: "subscriptions".into(),
            id: "1".into(),
            attributes: json!({"status": "active", "variant_id": 5, "updated_at": "2025-01-15T10:00:08Z",
                "urls": {"customer_portal": portal, "update_payment_method": format!("{portal}/pay")}}),
        };
        let (a, b) = (resource("https://x/portal?signature=1"), resource("https://x/portal?signature=2"));
        assert_eq!(Subscription::from_resource(&a), Subscription::from_resource(&b), "a new signature is no change");
        let now = Timestamp::now();
        let link = PortalLink::from_resource(&b, now).unwrap();
        assert_eq!(link.url, "https://x/portal?signature=2");
        assert!(link.fresh_at(now.plus(time::Duration::hours(22))), "no expires: a day from when it was made");
        assert!(!link.fresh_at(now.plus(time::Duration::hours(23))), "handed out with an hour left at least");
        let stated = resource("https://x/billing?expires=1737021600&user=9&signature=3");
        let link = PortalLink::from_resource(&stated, now).unwrap();
        assert_eq!(link.expires_at.to_string(), "2025-01-16T10:00:00.000Z", "its own expires wins");
        assert!(!link.fresh_at(now));
        let boastful = resource("https://x/billing?expires=99999999999&signature=4");
        let link = PortalLink::from_resource(&boastful, now).unwrap();
        assert_eq!(link.expires_at, now.plus(time::Duration::hours(24)), "never more than a day from when it was made");
    }
}
