//! The processing of Lemon Squeezy events, shared by the webhook and the reconcile job.
//!
//! Ownership: an event's organization is the stored owner of its subscription id; only for a
//! subscription nobody owns yet is `custom_data.org_id` trusted, and then only when its
//! [`CheckoutTag`] verifies. A subscription that one organization owns never moves to another.

use crate::config::Setting;
use crate::domain::audit::Origin;
use crate::domain::billing::{BillingOutcome as Outcome, CheckoutTag, EventKind, Payment, Subscription};
use crate::domain::lemonsqueezy::Event;
use crate::domain::plans::grants_access;
use crate::error::ApiError;
use crate::store::BillingChange;
use crate::store::{Applied, BillingEventItem};
use crate::{Deps, Timestamp};

impl From<Applied> for Outcome {
    fn from(applied: Applied) -> Self {
        match applied {
            Applied::Applied => Self::Applied,
            Applied::Stale => Self::Stale,
            Applied::Duplicate => Self::Duplicate,
        }
    }
}

/// Where an event's organization comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// The stored owner of its subscription.
    Stored(String),
    /// A subscription nobody owns yet (or no subscription), and custom data whose tag verifies.
    Tagged(String),
    /// Neither: the event is stored as unmatched.
    Unknown,
}

impl Owner {
    pub fn org_id(&self) -> Option<&str> {
        match self {
            Self::Stored(org) | Self::Tagged(org) => Some(org),
            Self::Unknown => None,
        }
    }
}

/// Applies one verified delivery: resolves its organization, applies it with the per
/// subscription stale and duplicate guards, and records it. `body` is the raw text, `body_hash`
/// its SHA-256 (the event's identity). An event of an organization whose deletion began is
/// answered `ignored` and leaves nothing behind: it cannot bring the organization back.
pub async fn process_event(
    deps: &Deps,
    event: &Event,
    body: &str,
    body_hash: &str,
    origin: &Origin,
) -> Result<Outcome, ApiError> {
    match process(deps, event, body, body_hash, origin).await {
        Err(ApiError::OrganizationDeleted) => {
            let paying = EventKind::of(&event.meta.event_name) == Some(EventKind::Subscription)
                && Subscription::from_resource(&event.data).is_some_and(|s| grants_access(&s, Timestamp::now()));
            if paying {
                // A checkout made before the deletion and paid after it: the buyer pays for an
                // organization that is gone, and only an operator can cancel or refund it.
                tracing::error!(
                    subscription_id = event.data.id,
                    claimed_org = event.meta.claimed_org_id().unwrap_or(""),
                    "a subscription that grants access belongs to a deleted organization: cancel it in Lemon Squeezy"
                );
            } else {
                tracing::info!(
                    event = event.meta.event_name,
                    "billing event of a deleted organization; nothing stored"
                );
            }
            Ok(Outcome::Ignored)
        }
        other => other,
    }
}

async fn process(
    deps: &Deps,
    event: &Event,
    body: &str,
    body_hash: &str,
    origin: &Origin,
) -> Result<Outcome, ApiError> {
    let name = event.meta.event_name.as_str();
    let subscription_id = subscription_of(event);
    let owner = resolve_org(deps, event, subscription_id.as_deref()).await?;
    let now = Timestamp::now();
    let record = |outcome: Outcome| {
        BillingEventItem::new(owner.org_id(), body_hash, name, subscription_id.as_deref(), body, outcome, now)
    };
    let recorded = |outcome: Outcome| async move {
        let fresh = deps.store.record_billing_event(&record(outcome)).await?;
        Ok::<_, ApiError>(if fresh { outcome } else { Outcome::Duplicate })
    };

    if event.meta.test_mode && !deps.config.lemonsqueezy.allow_test_mode {
        return recorded(Outcome::Ignored).await;
    }
    let Some(kind) = EventKind::of(name) else {
        return recorded(Outcome::Ignored).await;
    };
    let Some(org) = owner.org_id() else {
        // Logged for an operator: no organization can be trusted for this event.
        tracing::warn!(
            event = name,
            subscription_id = subscription_id.as_deref().unwrap_or(""),
            claimed_org = event.meta.claimed_org_id().unwrap_or(""),
            "billing event names no verifiable organization; stored as unmatched"
        );
        return recorded(Outcome::Unmatched).await;
    };
    let owner_known = matches!(owner, Owner::Stored(_));
    // What the organization held before, for the audit entry's `from` (as read just before).
    let stored = deps.store.get_org(org).await?;
    match kind {
        EventKind::Subscription => {
            let Some(subscription) = Subscription::from_resource(&event.data) else {
                tracing::warn!(event = name, "subscription event without the fields billing needs");
                return recorded(Outcome::Ignored).await;
            };
            let previous = stored.as_ref().and_then(|o| o.subscriptions.get(&subscription.id));
            let change = BillingChange { previous, origin };
            let applied = deps
                .store
                .apply_subscription(org, owner_known, &subscription, &change, &record(Outcome::Applied))
                .await?;
            Ok(applied.into())
        }
        EventKind::Payment => {
            let Some(payment) = Payment::from_event(name, &event.data) else {
                return recorded(Outcome::Ignored).await;
            };
            let previous = stored.as_ref().and_then(|o| o.payments.get(&payment.subscription_id));
            let record = record(Outcome::Applied);
            Ok(deps.store.apply_payment(org, owner_known, &payment, previous, origin, &record).await?.into())
        }
        // Orders are recorded for audit; they change no state.
        EventKind::Order => recorded(Outcome::Applied).await,
    }
}

/// The subscription an event is about, if any.
pub fn subscription_of(event: &Event) -> Option<String> {
    let name = event.meta.event_name.as_str();
    match EventKind::of(name)? {
        EventKind::Subscription => Some(event.data.id.clone()),
        EventKind::Payment => Payment::from_event(name, &event.data).map(|p| p.subscription_id),
        EventKind::Order => None,
    }
}

/// The organization an event belongs to: the stored owner of its subscription (a strongly
/// consistent read), else the organization its custom data names with a valid tag.
pub async fn resolve_org(deps: &Deps, event: &Event, subscription_id: Option<&str>) -> Result<Owner, ApiError> {
    let claimed = event.meta.claimed_org_id();
    if let Some(id) = subscription_id {
        if let Some(owner) = deps.store.subscription_owner(id).await? {
            if claimed.is_some_and(|claimed| claimed != owner) {
                tracing::warn!(subscription_id = id, owner, claimed, "custom_data names another org; the owner stays");
            }
            return Ok(Owner::Stored(owner));
        }
    }
    let secret = deps.config.require(Setting::LemonSqueezyWebhookSecret)?;
    let Some(org_id) = CheckoutTag::new(secret).verified_org(&event.meta) else {
        if claimed.is_some() {
            tracing::warn!(claimed, "custom_data.org_id without a valid checkout tag is not trusted");
        }
        return Ok(Owner::Unknown);
    };
    if deps.store.get_org(org_id).await?.is_none() {
        tracing::warn!(org_id, "a tagged custom_data.org_id names no stored organization");
        return Ok(Owner::Unknown);
    }
    Ok(Owner::Tagged(org_id.to_owned()))
}
