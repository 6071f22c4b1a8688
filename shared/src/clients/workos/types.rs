//! What WorkOS answers, as far as this backend reads it (unknown fields are ignored).

use serde::Deserialize;

use crate::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Organization {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub external_id: Option<String>,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoleRef {
    pub slug: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Membership {
    pub id: String,
    pub user_id: String,
    pub organization_id: String,
    pub role: RoleRef,
    pub status: String,
    pub updated_at: Timestamp,
}

impl Membership {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub state: String,
    pub expires_at: Timestamp,
}

/// An entry of the Events API (and the body of a WorkOS webhook).
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    pub event: String,
    #[serde(default)]
    pub data: serde_json::Value,
    pub created_at: Timestamp,
}
