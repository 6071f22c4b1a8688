//! Response bodies: what the API shows of each stored item (API.md's shapes).
//!
//! Over 300 lines: one small view per entity the API shows; split, the shapes a client reads
//! would be scattered.

use serde::Serialize;

use crate::Timestamp;
use crate::domain::Role;
use crate::domain::api_keys::Scope;
use crate::domain::audit::{Action, Actor, Changes, Target};
use crate::domain::billing::PortalLink;
use crate::domain::plans::{Entitlement, PlanView, Plans};
use crate::store::{ApiKeyItem, AuditItem, CustomerItem, InvitationItem, InvitationState, MemberItem, OrgItem};

/// The organization's entitlement at `now`, with a warning for an operator when the plan of its
/// subscription is missing from `PLANS`.
fn entitled(org: &OrgItem, plans: &Plans, now: Timestamp) -> Entitlement {
    let entitlement = org.entitlement(plans, now);
    if entitlement.unknown_variant {
        tracing::warn!(
            variant_id = entitlement.plan.variant_id,
            "subscription variant is not in PLANS; free plan applies"
        );
    }
    entitlement
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitsView {
    pub max_customers: u64,
    pub max_staff: u64,
    pub max_clients: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageView {
    pub customers: i64,
    pub staff: i64,
    pub clients: i64,
}

/// API.md "Organization".
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationView {
    pub id: String,
    pub name: String,
    pub plan: PlanView,
    pub limits: LimitsView,
    pub usage: UsageView,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl OrganizationView {
    pub fn new(org: &OrgItem, plans: &Plans, now: Timestamp) -> Self {
        let entitlement = entitled(org, plans, now);
        Self {
            id: org.id.clone(),
            name: org.name.clone(),
            plan: entitlement.plan,
            limits: LimitsView {
                max_customers: entitlement.limits.max_customers,
                max_staff: entitlement.limits.max_staff,
                max_clients: entitlement.limits.max_clients,
            },
            usage: UsageView { customers: org.usage.customers, staff: org.usage.staff, clients: org.usage.clients },
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
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
    /// The billing of `org` at `now`, with the shown subscription's portal link while it may still
    /// be handed out (`PortalLink::fresh_at`; the caller fetches a fresh one otherwise).
    pub fn new(org: &OrgItem, plans: &Plans, now: Timestamp, portal: Option<&PortalLink>) -> Self {
        let Entitlement { plan, subscription, .. } = entitled(org, plans, now);
        Self {
            status: plan.status,
            plan_name: plan.name,
            variant_id: plan.variant_id,
            renews_at: plan.renews_at,
            ends_at: plan.ends_at,
            customer_portal_url: portal.filter(|p| subscription.is_some() && p.fresh_at(now)).map(|p| p.url.clone()),
            subscription_id: subscription.map(|s| s.id),
        }
    }
}

/// API.md `/users` item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: Role,
    pub customer_id: Option<String>,
    pub created_at: Timestamp,
}

impl From<MemberItem> for MemberView {
    fn from(member: MemberItem) -> Self {
        Self {
            id: member.user_id,
            email: member.email,
            first_name: member.first_name,
            last_name: member.last_name,
            role: member.role,
            customer_id: member.customer_id,
            created_at: member.created_at,
        }
    }
}

/// An invitation's state as the API shows it: the stored [`InvitationState`], or `expired`,
/// which is derived from `validUntil` and never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShownInvitationState {
    Sending,
    Pending,
    Expired,
}

/// API.md `/invitations` item. `state` is `pending`, `sending` (WorkOS has not confirmed it
/// yet) or `expired` (WorkOS let it lapse; its seat is held until it is revoked).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub customer_id: Option<String>,
    pub state: ShownInvitationState,
    pub expires_at: Option<Timestamp>,
}

impl InvitationView {
    /// The invitation as it stands at `now`.
    pub fn new(invitation: InvitationItem, now: Timestamp) -> Self {
        let lapsed = invitation.valid_until.is_some_and(|until| until < now);
        let state = match invitation.state {
            _ if lapsed => ShownInvitationState::Expired,
            InvitationState::Sending => ShownInvitationState::Sending,
            InvitationState::Pending => ShownInvitationState::Pending,
        };
        Self {
            id: invitation.id,
            email: invitation.email,
            role: invitation.role,
            customer_id: invitation.customer_id,
            state,
            expires_at: invitation.valid_until,
        }
    }
}

/// API.md customer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: String,
}

impl From<CustomerItem> for CustomerView {
    fn from(c: CustomerItem) -> Self {
        Self {
            id: c.id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            notes: c.notes,
            created_at: c.created_at,
            updated_at: c.updated_at,
            created_by: c.created_by,
        }
    }
}

/// An API key as `GET /api-keys` (and the export) shows it: never its secret or digest.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    pub prefix: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub created_by: String,
}

impl From<ApiKeyItem> for ApiKeyView {
    fn from(key: ApiKeyItem) -> Self {
        Self {
            id: key.id,
            name: key.name,
            scope: key.scope,
            prefix: key.prefix,
            created_at: key.created_at,
            expires_at: key.valid_until,
            last_used_at: key.last_used_at,
            created_by: key.created_by,
        }
    }
}

/// A key just made, as `POST /api-keys` answers it: the one place its secret appears (API.md:
/// `{id, name, scope, prefix, secret, createdAt, expiresAt, lastUsedAt}`). No `Debug`: it holds
/// the secret.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKeyView {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    pub prefix: String,
    pub secret: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

impl CreatedApiKeyView {
    pub fn new(key: ApiKeyItem, secret: &crate::domain::api_keys::KeySecret) -> Self {
        Self {
            id: key.id,
            name: key.name,
            scope: key.scope,
            prefix: key.prefix,
            secret: secret.reveal().to_owned(),
            created_at: key.created_at,
            expires_at: key.valid_until,
            last_used_at: key.last_used_at,
        }
    }
}

/// An audit entry as `GET /audit-log` shows it: `actor` is `{type, id}` for every kind, the
/// services with a null id.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryView {
    pub id: String,
    pub at: Timestamp,
    pub actor: ActorView,
    pub action: Action,
    pub target: Target,
    pub changes: Changes,
    pub request_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ActorView {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: Option<String>,
}

impl From<AuditItem> for AuditEntryView {
    fn from(e: AuditItem) -> Self {
        let actor = match e.actor {
            Actor::User { id } => ActorView { kind: "user", id: Some(id) },
            Actor::ApiKey { id } => ActorView { kind: "api_key", id: Some(id) },
            Actor::Lemonsqueezy => ActorView { kind: "lemonsqueezy", id: None },
            Actor::Workos => ActorView { kind: "workos", id: None },
            Actor::System => ActorView { kind: "system", id: None },
        };
        Self {
            id: e.id,
            at: e.at,
            actor,
            action: e.action,
            target: e.target,
            changes: e.changes,
            request_id: e.request_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::billing::{Subscription, SubscriptionStatus};

    #[test]
    fn billing_shows_the_deciding_subscription() {
        let now = Timestamp::parse("2026-06-01T00:00:00Z").unwrap();
        let mut org = OrgItem::new("org_1", "Org", now);
        let subscription = Subscription {
            id: "7".into(),
            status: SubscriptionStatus::Active,
            variant_id: "pro".into(),
            renews_at: None,
            ends_at: None,
            updated_at: now,
            content_hash: String::new(),
        };
        org.billing = org.billing.with_state(&subscription, now);
        let portal = PortalLink::new("https://portal/7".into(), now);
        let view = BillingView::new(&org, &Plans::default(), now, Some(&portal));
        assert_eq!(view.subscription_id.as_deref(), Some("7"));
        assert_eq!(view.customer_portal_url.as_deref(), Some("https://portal/7"));
        assert_eq!(view.plan_name, "Free", "a variant missing from PLANS grants free");
        let a_day_later = now.plus(time::Duration::hours(24));
        let later = BillingView::new(&org, &Plans::default(), a_day_later, Some(&portal));
        assert_eq!(later.customer_portal_url, None, "a link past its validity is never handed out");
    }

    #[test]
    fn an_invitation_past_its_validity_shows_expired() {
        let now = Timestamp::parse("2026-06-01T00:00:00Z").unwrap();
        let mut invitation = InvitationItem::new("org_1", "a@b.co", Role::Staff, None, "user_1", now);
        assert_eq!(InvitationView::new(invitation.clone(), now).state, ShownInvitationState::Sending);
        invitation.state = InvitationState::Pending;
        invitation.valid_until = Some(now.plus(time::Duration::days(1)));
        assert_eq!(InvitationView::new(invitation.clone(), now).state, ShownInvitationState::Pending);
        invitation.valid_until = Some(now.minus(time::Duration::seconds(1)));
        assert_eq!(InvitationView::new(invitation, now).state, ShownInvitationState::Expired);
        assert_eq!(serde_json::to_value(ShownInvitationState::Expired).unwrap(), "expired");
    }
}
