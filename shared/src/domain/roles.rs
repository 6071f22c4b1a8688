//! The three roles of a member, as WorkOS role slugs name them, and the rule of who may do what.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// A member's role, mirrored from the WorkOS role slug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Staff,
    Client,
}

impl Role {
    pub const ALL: [Self; 3] = [Self::Admin, Self::Staff, Self::Client];

    pub fn from_slug(slug: &str) -> Option<Self> {
        match slug {
            "admin" => Some(Self::Admin),
            "staff" => Some(Self::Staff),
            "client" => Some(Self::Client),
            _ => None,
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Staff => "staff",
            Self::Client => "client",
        }
    }

    /// `?role=` of a member list: a known slug, or a field error.
    pub fn parse_filter(value: Option<&str>) -> Result<Option<Self>, ApiError> {
        match value {
            None => Ok(None),
            Some(slug) => Self::from_slug(slug)
                .map(Some)
                .ok_or_else(|| ApiError::validation("role", "must be one of admin, staff, client")),
        }
    }

    /// Refuses with 403 `forbidden` unless this role is one of `allowed`.
    pub fn require(self, allowed: &[Self]) -> Result<(), ApiError> {
        if allowed.contains(&self) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("the {} role may not do this", self.slug())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_and_nothing_else_is_a_role() {
        for role in Role::ALL {
            assert_eq!(Role::from_slug(role.slug()), Some(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.slug());
        }
        for other in ["", "Admin", "owner", "admin "] {
            assert_eq!(Role::from_slug(other), None, "{other:?}");
        }
        assert!(matches!(Role::parse_filter(Some("owner")), Err(ApiError::Validation(_))));
        assert_eq!(Role::parse_filter(None).unwrap(), None);
    }

    #[test]
    fn require_admits_only_the_listed_roles() {
        assert!(Role::Admin.require(&[Role::Admin]).is_ok());
        assert!(Role::Staff.require(&[Role::Admin, Role::Staff]).is_ok());
        let refused = Role::Client.require(&[Role::Admin, Role::Staff]).unwrap_err();
        assert_eq!((refused.status(), refused.to_string()), (403, "the client role may not do this".into()));
    }
}
