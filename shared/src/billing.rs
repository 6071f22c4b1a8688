//! Plans and limits (which plan an organization is on, and what it may hold), and the
//! processing of Lemon Squeezy events shared by the webhook and the reconcile job.

use serde::Serialize;

use crate::config::{PlanLimits, Plans};
use crate::error::ApiError;
use crate::lemonsqueezy::{Event, Payment, Subscription};
use crate::store::{Applied, BillingEventItem, OrgItem};
use crate::{Deps, now_rfc3339};

/// The plan as the API shows it. `status` and `variantId` are null without a subscription;
/// with one they show it even when its status puts the organization on the free plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    pub name: String,
    pub status: Option<String>,
    pub variant_id: Option<String>,
    pub renews_at: Option<String>,
    pub ends_at: Option<String>,
}

/// The limits in force for an organization, and the plan they come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub plan: PlanView,
    pub limits: PlanLimits,
}

/// Whether a subscription in this state grants its variant's plan (API.md "Effective plan").
fn grants_plan(subscription: &Subscription, now: &str) -> bool {
    match subscription.status.as_str() {
        "on_trial" | "active" | "past_due" => true,
        // Cancelled keeps the plan until the end of the paid period.
        "cancelled" => subscription.ends_at.as_deref().is_some_and(|ends| ends > now),
        _ => false,
    }
}

/// The effective plan of an organization: no subscription → `PLANS.free`; `on_trial`,
/// `active`, `past_due`, and `cancelled` until `ends_at` → the plan of its variant; `paused`,
/// `unpaid`, `expired` → free. A variant missing from `PLANS` also falls back to free.
pub fn entitlement(org: &OrgItem, plans: &Plans) -> Entitlement {
    let Some(subscription) = &org.subscription else {
        return Entitlement {
            plan: PlanView {
                name: plans.free.name.clone(),
                status: None,
                variant_id: None,
                renews_at: None,
                ends_at: None,
            },
            limits: plans.free.clone(),
        };
    };
    let now = crate::lemonsqueezy::normalise_time(&now_rfc3339()).unwrap_or_default();
    let variant = plans.variants.get(&subscription.variant_id);
    if variant.is_none() {
        tracing::warn!(variant_id = subscription.variant_id, "subscription variant is not in PLANS; free plan applies");
    }
    let limits = variant.filter(|_| grants_plan(subscription, &now)).unwrap_or(&plans.free).clone();
    Entitlement {
        plan: PlanView {
            name: limits.name.clone(),
            status: Some(subscription.status.clone()),
            variant_id: Some(subscription.variant_id.clone()),
            renews_at: subscription.renews_at.clone(),
            ends_at: subscription.ends_at.clone(),
        },
        limits,
    }
}

/// API.md `GET /billing`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingView {
    pub status: Option<String>,
    pub plan_name: String,
    pub variant_id: Option<String>,
    pub renews_at: Option<String>,
    pub ends_at: Option<String>,
    pub customer_portal_url: Option<String>,
}

impl BillingView {
    pub fn new(org: &OrgItem, plans: &Plans) -> Self {
        let plan = entitlement(org, plans).plan;
        Self {
            status: plan.status,
            plan_name: plan.name,
            variant_id: plan.variant_id,
            renews_at: plan.renews_at,
            ends_at: plan.ends_at,
            customer_portal_url: org.subscription.as_ref().and_then(|s| s.customer_portal_url.clone()),
        }
    }
}

/// What a delivery came to; the webhook answers it as `{"status": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Applied,
    Duplicate,
    Stale,
    Ignored,
    Unmatched,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
            Self::Ignored => "ignored",
            Self::Unmatched => "unmatched",
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

/// Applies one verified delivery: resolves its organization (`meta.custom_data.org_id`, else
/// the stored owner of its subscription), applies it with the stale and duplicate guards, and
/// records it. `body` is the raw text, `body_hash` its SHA-256 (the event's identity).
pub async fn process_event(deps: &Deps, event: &Event, body: &str, body_hash: &str) -> Result<Outcome, ApiError> {
    let name = event.meta.event_name.as_str();
    let subscription_id = subscription_of(event);
    let org_id = resolve_org(deps, event, subscription_id.as_deref()).await?;
    let record = |outcome: Outcome| {
        BillingEventItem::new(org_id.as_deref(), body_hash, name, subscription_id.as_deref(), body, outcome.as_str())
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
    let Some(org) = org_id.as_deref() else {
        return recorded(Outcome::Unmatched).await;
    };
    if SUBSCRIPTION_EVENTS.contains(&name) {
        let Some(subscription) = Subscription::from_resource(&event.data) else {
            tracing::warn!(event = name, "subscription event without the fields billing needs");
            return recorded(Outcome::Ignored).await;
        };
        return Ok(deps.store.apply_subscription(org, &subscription, Some(&record(Outcome::Applied))).await?.into());
    }
    if PAYMENT_EVENTS.contains(&name) {
        let Some(payment) = Payment::from_event(name, &event.data) else {
            return recorded(Outcome::Ignored).await;
        };
        return Ok(deps.store.apply_payment(org, &payment, Some(&record(Outcome::Applied))).await?.into());
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

/// The organization an event belongs to, if it can be told yet.
pub async fn resolve_org(
    deps: &Deps,
    event: &Event,
    subscription_id: Option<&str>,
) -> Result<Option<String>, ApiError> {
    if let Some(org_id) = event.meta.org_id() {
        if deps.store.get_org(&org_id).await?.is_some() {
            return Ok(Some(org_id));
        }
        tracing::warn!(org_id, "custom_data.org_id names no stored organization");
    }
    match subscription_id {
        Some(id) => Ok(deps.store.subscription_owner(id).await?),
        None => Ok(None),
    }
}
