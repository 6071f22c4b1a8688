//! Plans and limits: which plan an organization is on, and what it may hold.

use serde::Serialize;

use crate::config::{PlanLimits, Plans};
use crate::store::OrgItem;

/// The plan as the API shows it. `status` and `variantId` are null on the free plan.
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

/// The effective plan of an organization. Until subscriptions are stored (billing), every
/// organization is on `PLANS.free`.
pub fn entitlement(_org: &OrgItem, plans: &Plans) -> Entitlement {
    Entitlement {
        plan: PlanView {
            name: plans.free.name.clone(),
            status: None,
            variant_id: None,
            renews_at: None,
            ends_at: None,
        },
        limits: plans.free.clone(),
    }
}
