//! Members and invitations as the API shows them, and the rules their bodies follow.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, FieldError};
use crate::store::{InvitationItem, InvitationState, MemberItem, Role};
use crate::{Deps, Timestamp};

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

/// API.md `/invitations` item. `state` is `pending`, `sending` (WorkOS has not confirmed it
/// yet) or `expired` (WorkOS let it lapse; its seat is held until it is revoked).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub customer_id: Option<String>,
    pub state: &'static str,
    pub expires_at: Option<Timestamp>,
}

impl InvitationView {
    /// The invitation as it stands at `now`.
    pub fn new(invitation: InvitationItem, now: Timestamp) -> Self {
        let lapsed = invitation.valid_until.is_some_and(|until| until < now);
        let state = match invitation.state {
            _ if lapsed => "expired",
            InvitationState::Sending => "sending",
            InvitationState::Pending => "pending",
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

/// `?role=` of a member list.
pub fn role_filter(value: Option<String>) -> Result<Option<Role>, ApiError> {
    match value {
        None => Ok(None),
        Some(slug) => Role::from_slug(&slug)
            .map(Some)
            .ok_or_else(|| ApiError::validation("role", "must be one of admin, staff, client")),
    }
}

/// Checks the rule that a `client` belongs to exactly one customer of the organization and
/// other roles to none.
pub async fn check_customer(deps: &Deps, org_id: &str, role: Role, customer_id: Option<&str>) -> Result<(), ApiError> {
    match (role, customer_id) {
        (Role::Client, None) => Err(ApiError::validation("customerId", "a client must belong to a customer")),
        (Role::Client, Some(id)) => {
            if deps.store.get_customer(org_id, id).await?.is_some() {
                Ok(())
            } else {
                Err(ApiError::validation("customerId", "no customer of this organization has this id"))
            }
        }
        (_, Some(_)) => Err(ApiError::validation("customerId", "only a client belongs to a customer")),
        (_, None) => Ok(()),
    }
}

/// Longest email address (RFC 5321 path limit).
const MAX_EMAIL_CHARS: usize = 254;

/// A plausible email address, lowercased: one `@`, a local part, a dotted domain, no spaces.
pub fn parse_email(field: &str, value: &str) -> Result<String, ApiError> {
    let email = value.trim();
    let invalid = || ApiError::Validation(vec![FieldError::new(field, "must be an email address")]);
    if email.is_empty()
        || email.chars().count() > MAX_EMAIL_CHARS
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    let labels_ok =
        domain.split('.').all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if local.is_empty() || local.contains('@') || !domain.contains('.') || !labels_ok {
        return Err(invalid());
    }
    Ok(email.to_lowercase())
}

/// `{role, customerId}` of `PATCH /users/{userId}`: each optional; `customerId: null` clears.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MemberChange {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "present")]
    pub customer_id: Option<Option<String>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(parse_email("email", " Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "ada@-x.com", "ada@x..com"] {
            assert!(parse_email("email", bad).is_err(), "{bad}");
        }
    }
}
