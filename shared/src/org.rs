//! The organization as the API shows it, and the `{name}` body that creates or renames it.

use serde::{Deserialize, Serialize};

use crate::billing::{self, PlanView};
use crate::config::Plans;
use crate::error::ApiError;
use crate::store::OrgItem;

/// Longest organization name, in characters after trimming.
pub const MAX_NAME_CHARS: usize = 100;

/// `{name}` of `POST /orgs` and `PATCH /org`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgNameBody {
    name: String,
}

impl OrgNameBody {
    /// The trimmed name, or the field errors that keep it from being one.
    pub fn into_name(self) -> Result<String, ApiError> {
        let name = self.name.trim();
        let chars = name.chars().count();
        if chars == 0 {
            return Err(ApiError::validation("name", "must not be empty"));
        }
        if chars > MAX_NAME_CHARS {
            return Err(ApiError::validation("name", format!("must be at most {MAX_NAME_CHARS} characters")));
        }
        if name.chars().any(char::is_control) {
            return Err(ApiError::validation("name", "must not contain control characters"));
        }
        Ok(name.to_owned())
    }
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
    pub created_at: crate::Timestamp,
    pub updated_at: crate::Timestamp,
}

impl OrganizationView {
    pub fn new(org: &OrgItem, plans: &Plans, now: crate::Timestamp) -> Self {
        let entitlement = billing::entitlement(org, plans, now);
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
