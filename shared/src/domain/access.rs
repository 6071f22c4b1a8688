//! Access decisions: which roles manage customers, which memberships a role may hold, and why a
//! WorkOS membership is not a member here (who may see what: `visibility`). Pure: the flows read what these rules need and apply
//! the answer.

use super::roles::Role;
use crate::error::ApiError;

/// Roles that manage a customer they can see (change it, see its staff). A client's own customer
/// is read-only to them.
pub const CUSTOMER_MANAGERS: &[Role] = &[Role::Admin, Role::Staff];

/// A `client` belongs to exactly one customer, other roles to none. (Whether the customer exists
/// is for the caller to check.)
pub fn check_customer_rule(role: Role, customer_id: Option<&str>) -> Result<(), ApiError> {
    match (role, customer_id) {
        (Role::Client, None) => Err(ApiError::validation("customerId", "a client must belong to a customer")),
        (Role::Client, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(ApiError::validation("customerId", "only a client belongs to a customer")),
    }
}

/// Why a WorkOS membership is not (or cannot be) a stored member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotMember {
    /// WorkOS holds no active membership.
    Inactive,
    /// A role slug this application does not know.
    UnknownRole,
    /// The user was removed, and this is the removed membership.
    Removed,
    /// The membership came with no pending invitation, and the plan has no free seat for it.
    PlanFull { resource: &'static str, limit: u64 },
    /// The organization's deletion began.
    OrgGone,
}

impl NotMember {
    /// The 403 `no_organization` a request meets.
    pub fn refusal(&self) -> ApiError {
        ApiError::NoOrganization(match self {
            Self::PlanFull { resource, limit } => format!(
                "the organization's plan has no free {resource} seat for your membership (limit {limit}); \
                 an admin can free a seat or upgrade the plan"
            ),
            Self::OrgGone => return ApiError::OrganizationDeleted,
            _ => "you are not an active member of the selected organization".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clients_belong_to_a_customer() {
        assert!(check_customer_rule(Role::Client, Some("cus_1")).is_ok());
        assert!(check_customer_rule(Role::Staff, None).is_ok());
        assert!(check_customer_rule(Role::Client, None).is_err());
        assert!(check_customer_rule(Role::Admin, Some("cus_1")).is_err());
    }

    #[test]
    fn every_refusal_is_no_organization() {
        for reason in [NotMember::Inactive, NotMember::Removed, NotMember::PlanFull { resource: "staff", limit: 3 }] {
            assert_eq!(reason.refusal().code(), "no_organization");
        }
        assert!(NotMember::PlanFull { resource: "staff", limit: 3 }.refusal().to_string().contains("limit 3"));
    }
}
