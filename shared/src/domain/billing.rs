//! Billing states: a Lemon Squeezy subscription and payment as this backend keeps them, what
//! became of a delivery, and the checkout tag that ties a checkout to the organization that made
//! it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::lemonsqueezy::Meta;
use crate::{Timestamp, crypto};

/// A subscription's status (Lemon Squeezy's `status`). A status this code does not know is
/// kept as it came, and grants nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// The state of a subscription that billing keeps: the fields that order events and decide the
/// plan. Its pre-signed URLs are no part of it (Lemon Squeezy signs them anew on every read, so
/// they would make every read a change): see [`PortalLink`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub status: SubscriptionStatus,
    pub variant_id: String,
    pub renews_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    /// Lemon Squeezy's `updated_at` (one-second precision).
    pub updated_at: Timestamp,
    /// A digest of the fields above, so that two states with the same `updated_at` but other
    /// content are told apart inside a write condition.
    pub content_hash: String,
}

/// A subscription's customer portal URL (`urls.customer_portal`): pre-signed by Lemon Squeezy
/// and valid for 24 hours from the request that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortalLink {
    pub url: String,
    /// When its signature stops being accepted.
    pub expires_at: Timestamp,
}

impl PortalLink {
    /// Lemon Squeezy's validity of a pre-signed URL.
    const VALID_FOR: time::Duration = time::Duration::hours(24);
    /// Handed out only with at least this much of its validity left, so that an admin who opens
    /// the billing page can still follow it a while later.
    const HANDED_OUT_WITH_AT_LEAST: time::Duration = time::Duration::hours(1);

    /// A link made no earlier than `made_at`: it expires when its own `expires` parameter says
    /// (Lemon Squeezy's signed URLs carry one), and no later than 24 hours after `made_at` (an
    /// `expires` that says more, or none, is not believed).
    pub fn new(url: String, made_at: Timestamp) -> Self {
        let latest = made_at.plus(Self::VALID_FOR);
        let stated = url
            .split_once('?')
            .and_then(|(_, query)| query.split('&').find_map(|pair| pair.strip_prefix("expires=")))
            .and_then(|seconds| seconds.parse::<i64>().ok())
            .and_then(Timestamp::from_unix_seconds);
        Self { url, expires_at: stated.map_or(latest, |stated| stated.min(latest)) }
    }

    /// Whether it may still be handed out at `now`.
    pub fn fresh_at(&self, now: Timestamp) -> bool {
        self.expires_at.minus(Self::HANDED_OUT_WITH_AT_LEAST) > now
    }
}

/// The last payment event of a subscription (from a `subscription-invoices` resource).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub invoice_id: String,
    pub subscription_id: String,
    pub event: String,
    pub status: Option<String>,
    pub updated_at: Timestamp,
    pub content_hash: String,
}

/// SHA-256 of a value's JSON with its `contentHash` left empty.
pub(super) fn content_hash<T: serde::Serialize>(value: &T) -> String {
    let mut json = serde_json::to_value(value).unwrap_or(Value::Null);
    if let Some(object) = json.as_object_mut() {
        object.remove("contentHash");
    }
    crypto::sha256_hex(json.to_string().as_bytes())
}

/// What became of a verified Lemon Squeezy delivery: the webhook answers it as `{"status": …}`,
/// and its record keeps it (a duplicate is not recorded again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BillingOutcome {
    Applied,
    Duplicate,
    /// Not newer than the stored state of the same subscription.
    Stale,
    Ignored,
    /// No verifiable organization: stored, never applied, retried while it may still match.
    Unmatched,
    /// Unmatched after every retry: kept for an operator, no longer retried.
    Abandoned,
}

impl BillingOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
            Self::Ignored => "ignored",
            Self::Unmatched => "unmatched",
            Self::Abandoned => "abandoned",
        }
    }
}

/// The kinds of Lemon Squeezy event billing acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A subscription changed: its state is in the event.
    Subscription,
    /// A subscription's invoice was paid, failed, recovered or refunded.
    Payment,
    /// An order: recorded for audit, changes no state.
    Order,
}

impl EventKind {
    pub fn of(event_name: &str) -> Option<Self> {
        match event_name {
            "subscription_created"
            | "subscription_updated"
            | "subscription_cancelled"
            | "subscription_resumed"
            | "subscription_expired"
            | "subscription_paused"
            | "subscription_unpaused" => Some(Self::Subscription),
            "subscription_payment_success"
            | "subscription_payment_failed"
            | "subscription_payment_recovered"
            | "subscription_payment_refunded" => Some(Self::Payment),
            "order_created" | "order_refunded" => Some(Self::Order),
            _ => None,
        }
    }
}

/// The tag `POST /billing/checkout` puts beside `org_id` in a checkout's custom data: an HMAC
/// over the org id and the checkout's creation time, under a key only this backend holds
/// (derived from `CHECKOUT_TAG_SECRET`, a secret of its own: the checkout route must not hold
/// the webhook secret, which would let it forge any billing event). A buyer can copy a tag,
/// but not make one for another organization.
#[derive(Clone)]
pub struct CheckoutTag {
    key: Vec<u8>,
}

impl CheckoutTag {
    pub fn new(tag_secret: &str) -> Self {
        Self { key: crypto::hmac_sha256(tag_secret.as_bytes(), b"checkout-tag-v1") }
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn event_kinds() {
        assert_eq!(EventKind::of("subscription_paused"), Some(EventKind::Subscription));
        assert_eq!(EventKind::of("subscription_payment_refunded"), Some(EventKind::Payment));
        assert_eq!(EventKind::of("order_refunded"), Some(EventKind::Order));
        assert_eq!(EventKind::of("license_key_created"), None);
    }
}
