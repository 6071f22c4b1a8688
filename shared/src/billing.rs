//! Plans and limits (which plan an organization is on, and what it may hold), and the
//! processing of Lemon Squeezy events shared by the webhook and the reconcile job.
//!
//! Ownership: an event's organization is the stored owner of its subscription id; only for a
//! subscription nobody owns yet is `custom_data.org_id` trusted, and then only when its
//! [`CheckoutTag`] verifies. A subscription that one organization owns never moves to another.
//!
//! The plan rule, when an organization owns several subscriptions (a new checkout after a
//! cancel, two by mistake): among the subscriptions that grant access, the one whose plan allows
//! the most (compared by `maxStaff`, then `maxCustomers`, then `maxClients`; a tie goes to the
//! most recently updated). When none grants access, the free plan applies and the most recently
//! updated subscription is the one shown.

use serde::Serialize;

use crate::config::{PlanLimits, Plans};
use crate::error::ApiError;
use crate::lemonsqueezy::{CheckoutTag, Event, Payment, Subscription, SubscriptionStatus};
use crate::store::{Applied, BillingEventItem, OrgItem};
use crate::{Deps, Timestamp};

pub use crate::store::BillingOutcome as Outcome;

/// The plan as the API shows it. `status` and `variantId` are null without a subscription;
/// with one they show it even when its status puts the organization on the free plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    pub name: String,
    pub status: Option<String>,
    pub variant_id: Option<String>,
    pub renews_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
}

/// The limits in force for an organization, the plan they come from, and the subscription
/// that decides it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub plan: PlanView,
    pub limits: PlanLimits,
    pub subscription: Option<Subscription>,
}

/// Whether a subscription in this state grants its variant's plan (API.md "Effective plan").
pub fn grants_access(subscription: &Subscription, now: Timestamp) -> bool {
    match subscription.status {
        SubscriptionStatus::OnTrial | SubscriptionStatus::Active | SubscriptionStatus::PastDue => true,
        // Cancelled keeps the plan until the end of the paid period.
        SubscriptionStatus::Cancelled => subscription.ends_at.is_some_and(|ends| ends > now),
        _ => false,
    }
}

/// How much a plan allows, for choosing the best of several.
fn allowance(limits: &PlanLimits) -> (u64, u64, u64) {
    (limits.max_staff, limits.max_customers, limits.max_clients)
}

/// The effective plan of an organization at `now` (the module's plan rule): no subscription →
/// `PLANS.free`; `on_trial`, `active`, `past_due`, and `cancelled` until `ends_at` → the plan of
/// its variant; `paused`, `unpaid`, `expired` → free. A variant missing from `PLANS` grants free.
pub fn entitlement(org: &OrgItem, plans: &Plans, now: Timestamp) -> Entitlement {
    let granting = org
        .subscriptions
        .values()
        .filter(|s| grants_access(s, now))
        .filter_map(|s| plans.variants.get(&s.variant_id).map(|limits| (s, limits)))
        .max_by_key(|(s, limits)| (allowance(limits), s.updated_at));
    let (shown, limits) = match granting {
        Some((subscription, limits)) => (Some(subscription), limits.clone()),
        None => (org.subscriptions.values().max_by_key(|s| s.updated_at), plans.free.clone()),
    };
    if let Some(s) = shown.filter(|s| !plans.variants.contains_key(&s.variant_id)) {
        tracing::warn!(variant_id = s.variant_id, "subscription variant is not in PLANS; free plan applies");
    }
    Entitlement {
        plan: PlanView {
            name: limits.name.clone(),
            status: shown.map(|s| s.status.as_str().to_owned()),
            variant_id: shown.map(|s| s.variant_id.clone()),
            renews_at: shown.and_then(|s| s.renews_at),
            ends_at: shown.and_then(|s| s.ends_at),
        },
        limits,
        subscription: shown.cloned(),
    }
}

/// API.md `GET /billing`, plus `subscriptionId`: which of the organization's subscriptions the
/// plan comes from (null without one).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingView {
    pub status: Option<String>,
    pub plan_name: String,
    pub variant_id: Option<String>,
    pub renews_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub customer_portal_url: Option<String>,
    pub subscription_id: Option<String>,
}

impl BillingView {
    pub fn new(org: &OrgItem, plans: &Plans, now: Timestamp) -> Self {
        let Entitlement { plan, subscription, .. } = entitlement(org, plans, now);
        Self {
            status: plan.status,
            plan_name: plan.name,
            variant_id: plan.variant_id,
            renews_at: plan.renews_at,
            ends_at: plan.ends_at,
            customer_portal_url: subscription.as_ref().and_then(|s| s.customer_portal_url.clone()),
            subscription_id: subscription.map(|s| s.id),
        }
    }
}

impl From<Applied> for Outcome {
    fn from(applied: Applied) -> Self {
        match applied {
            Applied::Applied => Self::Applied,
            Applied::Stale => Self::Stale,
            Applied::Duplicate => Self::Duplicate,
        }
    }
}

const SUBSCRIPTION_EVENTS: &[&str] = &[
    "subscription_created",
    "subscription_updated",
    "subscription_cancelled",
    "subscription_resumed",
    "subscription_expired",
    "subscription_paused",
    "subscription_unpaused",
];
const PAYMENT_EVENTS: &[&str] = &[
    "subscription_payment_success",
    "subscription_payment_failed",
    "subscription_payment_recovered",
    "subscription_payment_refunded",
];
const ORDER_EVENTS: &[&str] = &["order_created", "order_refunded"];

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
/// its SHA-256 (the event's identity).
pub async fn process_event(deps: &Deps, event: &Event, body: &str, body_hash: &str) -> Result<Outcome, ApiError> {
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
    let known = SUBSCRIPTION_EVENTS.contains(&name) || PAYMENT_EVENTS.contains(&name) || ORDER_EVENTS.contains(&name);
    if !known {
        return recorded(Outcome::Ignored).await;
    }
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
    if SUBSCRIPTION_EVENTS.contains(&name) {
        let Some(subscription) = Subscription::from_resource(&event.data) else {
            tracing::warn!(event = name, "subscription event without the fields billing needs");
            return recorded(Outcome::Ignored).await;
        };
        let applied = deps.store.apply_subscription(org, owner_known, &subscription, &record(Outcome::Applied)).await?;
        return Ok(applied.into());
    }
    if PAYMENT_EVENTS.contains(&name) {
        let Some(payment) = Payment::from_event(name, &event.data) else {
            return recorded(Outcome::Ignored).await;
        };
        return Ok(deps.store.apply_payment(org, owner_known, &payment, &record(Outcome::Applied)).await?.into());
    }
    // Orders are recorded for audit; they change no state.
    recorded(Outcome::Applied).await
}

/// The subscription an event is about, if any.
pub fn subscription_of(event: &Event) -> Option<String> {
    let name = event.meta.event_name.as_str();
    if SUBSCRIPTION_EVENTS.contains(&name) {
        Some(event.data.id.clone())
    } else if PAYMENT_EVENTS.contains(&name) {
        Payment::from_event(name, &event.data).map(|p| p.subscription_id)
    } else {
        None
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
    let secret = deps.config.require(crate::config::Setting::LemonSqueezyWebhookSecret)?;
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn plans() -> Plans {
        let plan =
            |name: &str, n: u64| PlanLimits { name: name.into(), max_customers: n, max_staff: n, max_clients: n };
        Plans {
            free: plan("Free", 1),
            variants: BTreeMap::from([("pro".into(), plan("Pro", 10)), ("max".into(), plan("Max", 50))]),
        }
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn subscription(
        id: &str,
        variant: &str,
        status: SubscriptionStatus,
        updated: &str,
        ends: Option<&str>,
    ) -> Subscription {
        Subscription {
            id: id.into(),
            status,
            variant_id: variant.into(),
            renews_at: None,
            ends_at: ends.map(at),
            customer_portal_url: Some(format!("https://portal/{id}")),
            updated_at: at(updated),
            content_hash: String::new(),
        }
    }

    fn org(subscriptions: Vec<Subscription>) -> OrgItem {
        let mut org = OrgItem::new("org_1", "Org", at("2026-01-01T00:00:00Z"));
        org.subscriptions = subscriptions.into_iter().map(|s| (s.id.clone(), s)).collect();
        org
    }

    const NOW: &str = "2026-06-01T00:00:00Z";

    #[test]
    fn entitlement_by_status() {
        use SubscriptionStatus::*;
        let now = at(NOW);
        for (status, ends, plan) in [
            (OnTrial, None, "Pro"),
            (Active, None, "Pro"),
            (PastDue, None, "Pro"),
            (Cancelled, Some("2026-07-01T00:00:00Z"), "Pro"),
            (Cancelled, Some("2026-05-01T00:00:00Z"), "Free"),
            (Cancelled, None, "Free"),
            (Paused, None, "Free"),
            (Unpaid, None, "Free"),
            (Expired, None, "Free"),
            (Other("frozen".into()), None, "Free"),
        ] {
            let e = entitlement(&org(vec![subscription("1", "pro", status.clone(), NOW, ends)]), &plans(), now);
            assert_eq!(e.plan.name, plan, "{status:?} {ends:?}");
            assert_eq!(e.plan.status.as_deref(), Some(status.as_str()));
        }
        let none = entitlement(&org(vec![]), &plans(), now);
        assert_eq!((none.plan.name.as_str(), none.plan.status, none.subscription), ("Free", None, None));
        let unknown = entitlement(&org(vec![subscription("1", "gone", Active, NOW, None)]), &plans(), now);
        assert_eq!(unknown.limits, plans().free, "a variant missing from PLANS grants free");
    }

    #[test]
    fn the_best_granting_subscription_decides() {
        use SubscriptionStatus::*;
        let now = at(NOW);
        // A newer paused subscription does not take the plan from an older active one.
        let e = entitlement(
            &org(vec![
                subscription("1", "pro", Active, "2026-01-01T00:00:00Z", None),
                subscription("2", "max", Paused, "2026-05-01T00:00:00Z", None),
            ]),
            &plans(),
            now,
        );
        assert_eq!((e.plan.name.as_str(), e.subscription.unwrap().id.as_str()), ("Pro", "1"));
        // Two granting: the larger plan, whichever is newer.
        let e = entitlement(
            &org(vec![
                subscription("1", "max", Active, "2026-01-01T00:00:00Z", None),
                subscription("2", "pro", Active, "2026-05-01T00:00:00Z", None),
            ]),
            &plans(),
            now,
        );
        assert_eq!(e.subscription.unwrap().id, "1");
        // Same plan: the most recently updated.
        let e = entitlement(
            &org(vec![
                subscription("1", "pro", Active, "2026-01-01T00:00:00Z", None),
                subscription("2", "pro", OnTrial, "2026-05-01T00:00:00Z", None),
            ]),
            &plans(),
            now,
        );
        assert_eq!(e.subscription.unwrap().id, "2");
        // None granting: free, showing the newest.
        let e = entitlement(
            &org(vec![
                subscription("1", "max", Expired, "2026-01-01T00:00:00Z", None),
                subscription("2", "pro", Paused, "2026-05-01T00:00:00Z", None),
            ]),
            &plans(),
            now,
        );
        assert_eq!((e.plan.name.as_str(), e.plan.status.as_deref()), ("Free", Some("paused")));
        assert_eq!(
            BillingView::new(&org(vec![subscription("7", "pro", Active, NOW, None)]), &plans(), now)
                .subscription_id
                .as_deref(),
            Some("7")
        );
    }
}
