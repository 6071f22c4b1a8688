//! The processing of Lemon Squeezy events, shared by the webhook and the reconcile job.
//!
//! Ownership: an event's organization is the stored owner of its subscription id; only for a
//! subscription nobody owns yet is `custom_data.org_id` trusted, and then only when its
//! [`CheckoutTag`] verifies. A subscription that one organization owns never moves to another.

use crate::config::Setting;
use crate::domain::audit::Origin;
use crate::domain::billing::{BillingOutcome as Outcome, CheckoutTag, EventKind, Payment, PortalLink, Subscription};
use crate::domain::lemonsqueezy::Event;
use crate::domain::plans::grants_access;
use crate::error::ApiError;
use crate::store::{
    Applied, BillingEventItem, Delivery, OrgItem, OrgRecord, OrgWrite, Recorded, StoreError, SubscriptionItem,
};
use crate::{Deps, Timestamp};

/// Where an event's organization comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// The stored owner of its subscription.
    Stored(String),
    /// A subscription nobody owns yet (or no subscription), and custom data whose tag verifies.
    Tagged(String),
    /// The organization it names (tagged) is being deleted, or was.
    Deleted,
    /// Neither: the event is stored as unmatched.
    Unknown,
}

impl Owner {
    pub fn org_id(&self) -> Option<&str> {
        match self {
            Self::Stored(org) | Self::Tagged(org) => Some(org),
            Self::Deleted | Self::Unknown => None,
        }
    }
}

/// What processing a delivery came to: an outcome, or the organization's deletion, met at any
/// step (its owner, its billing read, its write).
enum Processed {
    Outcome(Outcome),
    OrgDeleted,
}

impl From<Applied> for Processed {
    fn from(applied: Applied) -> Self {
        match applied {
            Applied::Applied => Self::Outcome(Outcome::Applied),
            Applied::Stale => Self::Outcome(Outcome::Stale),
            Applied::Duplicate => Self::Outcome(Outcome::Duplicate),
            Applied::OrgDeleted => Self::OrgDeleted,
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
    match process(deps, event, body, body_hash, origin).await? {
        Processed::Outcome(outcome) => Ok(outcome),
        Processed::OrgDeleted => {
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
    }
}

async fn process(
    deps: &Deps,
    event: &Event,
    body: &str,
    body_hash: &str,
    origin: &Origin,
) -> Result<Processed, ApiError> {
    let name = event.meta.event_name.as_str();
    let subscription_id = subscription_of(event);
    let owner = resolve_org(deps, event, subscription_id.as_deref()).await?;
    if owner == Owner::Deleted {
        return Ok(Processed::OrgDeleted);
    }
    let now = Timestamp::now();
    let record = |outcome: Outcome| {
        BillingEventItem::new(owner.org_id(), body_hash, name, subscription_id.as_deref(), body, outcome, now)
    };
    let recorded = |outcome: Outcome| async move {
        Ok::<_, ApiError>(match deps.store.record_billing_event(&record(outcome)).await? {
            Recorded::Fresh => Processed::Outcome(outcome),
            Recorded::Duplicate => Processed::Outcome(Outcome::Duplicate),
            Recorded::OrgDeleted => Processed::OrgDeleted,
        })
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
    let record = record(Outcome::Applied);
    let delivery = Delivery { owner_known: matches!(owner, Owner::Stored(_)), origin, record: &record };
    let applied = match kind {
        EventKind::Subscription => {
            let Some(subscription) = Subscription::from_resource(&event.data) else {
                tracing::warn!(event = name, "subscription event without the fields billing needs");
                return recorded(Outcome::Ignored).await;
            };
            // The payload was made when the subscription was updated, or later.
            let portal = PortalLink::from_resource(&event.data, subscription.updated_at);
            retried_on_billing_change(|| async {
                let Some((org, stored)) = read_billing(deps, org, &subscription.id).await? else {
                    return Ok(Applied::OrgDeleted);
                };
                let previous = stored.as_ref().and_then(|s| s.state.as_ref());
                deps.store.apply_subscription(&org, &subscription, portal.as_ref(), previous, &delivery).await
            })
            .await?
        }
        EventKind::Payment => {
            let Some(payment) = Payment::from_event(name, &event.data) else {
                return recorded(Outcome::Ignored).await;
            };
            retried_on_billing_change(|| async {
                let Some((org, stored)) = read_billing(deps, org, &payment.subscription_id).await? else {
                    return Ok(Applied::OrgDeleted);
                };
                deps.store.apply_payment(&org, &payment, stored.as_ref(), &delivery).await
            })
            .await?
        }
        // Orders are recorded for audit; they change no state.
        EventKind::Order => return recorded(Outcome::Applied).await,
    };
    Ok(applied.into())
}

/// How often a billing write is tried while other events of the same organization keep
/// changing its billing summary (each try reads it afresh).
const BILLING_TRIES: u32 = 12;

/// What [`refresh_subscription`] came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// The stored state differed and was set to what Lemon Squeezy answered.
    Updated,
    /// Lemon Squeezy answered what was stored (or an event changed it since it was read).
    Unchanged,
    /// Lemon Squeezy did not answer (in time), or answered something that is no subscription.
    ReadFailed,
    /// The organization is being deleted (or no longer stored).
    OrgGone,
}

/// Reads one owned subscription from Lemon Squeezy, within `limit`, and sets its stored state
/// (`stored`, as read) to the answer where it differs: the API is the truth. Used by
/// `billing-reconcile` for every owner and by the Convex import for the subscriptions it claims.
pub async fn refresh_subscription(
    deps: &Deps,
    org_id: &str,
    subscription_id: &str,
    stored: Option<&Subscription>,
    origin: &Origin,
    limit: std::time::Duration,
) -> Result<Refresh, ApiError> {
    let read_at = Timestamp::now();
    let resource = match tokio::time::timeout(limit, deps.lemonsqueezy.get_subscription(subscription_id)).await {
        Ok(Ok(resource)) if resource.id == subscription_id => Some(resource),
        Ok(Ok(_)) => None,
        Ok(Err(error)) => {
            tracing::warn!(org_id, error = %error, "could not read the subscription");
            None
        }
        Err(_) => {
            tracing::warn!(org_id, "Lemon Squeezy took too long to answer for a subscription");
            None
        }
    };
    let Some(fetched) = resource.as_ref().and_then(Subscription::from_resource) else {
        return Ok(Refresh::ReadFailed);
    };
    if stored.map(|s| s.content_hash.as_str()) == Some(fetched.content_hash.as_str()) {
        return Ok(Refresh::Unchanged);
    }
    let portal = resource.as_ref().and_then(|r| PortalLink::from_resource(r, read_at));
    let applied = retried_on_billing_change(|| async {
        match deps.store.get_org_record(org_id).await? {
            Some(OrgRecord::Live(org)) => {
                deps.store.reconcile_subscription(&org, &fetched, portal.as_ref(), stored, origin).await
            }
            _ => Ok(OrgWrite::OrgGone),
        }
    })
    .await?;
    Ok(match applied {
        OrgWrite::Written(true) => {
            tracing::info!(org_id, status = fetched.status.as_str(), "subscription reconciled");
            Refresh::Updated
        }
        // An event changed it since it was read: the next look compares again.
        OrgWrite::Written(false) => Refresh::Unchanged,
        OrgWrite::OrgGone => Refresh::OrgGone,
    })
}

/// Runs `attempt` again while it meets [`StoreError::BillingChanged`], a few times with a
/// little jitter, so that events of one organization that arrive together all apply.
pub async fn retried_on_billing_change<T, Attempt>(mut attempt: impl FnMut() -> Attempt) -> Result<T, StoreError>
where
    Attempt: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(StoreError::BillingChanged) if tries < BILLING_TRIES => super::step_apart(tries).await,
            other => return other,
        }
    }
}

/// The organization (for its billing summary) and one of its subscriptions, as they stood at
/// one moment; `None` once the organization's deletion began.
async fn read_billing(
    deps: &Deps,
    org_id: &str,
    subscription_id: &str,
) -> Result<Option<(OrgItem, Option<SubscriptionItem>)>, StoreError> {
    Ok(match deps.store.org_with_subscription(org_id, subscription_id).await? {
        Some((OrgRecord::Live(org), subscription)) => Some((org, subscription)),
        // The owner, or a verified tag, named it: only a deletion removes an organization.
        Some((OrgRecord::Deleting(_) | OrgRecord::Deleted(_), _)) | None => None,
    })
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
    let secret = deps.config.require(Setting::CheckoutTagSecret)?;
    let Some(org_id) = CheckoutTag::new(secret).verified_org(&event.meta) else {
        if claimed.is_some() {
            tracing::warn!(claimed, "custom_data.org_id without a valid checkout tag is not trusted");
        }
        return Ok(Owner::Unknown);
    };
    Ok(match deps.store.get_org_record(org_id).await? {
        Some(OrgRecord::Live(_)) => Owner::Tagged(org_id.to_owned()),
        Some(OrgRecord::Deleting(_) | OrgRecord::Deleted(_)) => Owner::Deleted,
        None => {
            tracing::warn!(org_id, "a tagged custom_data.org_id names no stored organization");
            Owner::Unknown
        }
    })
}
