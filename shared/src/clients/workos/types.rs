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
    /// WorkOS's; the emulator has no such field.
    #[serde(default)]
    pub accepted_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

impl Invitation {
    /// When it was accepted, if it was. The emulator, which has no `accepted_at`, changes only
    /// the state on acceptance, so its `updated_at` is that time (nothing changes an accepted
    /// invitation afterwards).
    pub fn accepted(&self) -> Option<Timestamp> {
        (self.state == "accepted").then_some(self.accepted_at.unwrap_or(self.updated_at))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation(fields: serde_json::Value) -> Invitation {
        let mut json = serde_json::json!({
            "id": "invitation_1", "email": "a@b.example", "expires_at": "2026-01-04T00:00:00.000Z",
            "updated_at": "2026-01-02T00:00:00.000Z",
        });
        json.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn an_acceptance_is_dated_by_accepted_at_where_workos_gives_it_else_by_the_last_update() {
        let at = |text| Timestamp::parse(text);
        let workos = invitation(serde_json::json!({"state": "accepted", "accepted_at": "2026-01-01T00:00:00.000Z"}));
        assert_eq!(workos.accepted(), at("2026-01-01T00:00:00.000Z"));
        let emulator = invitation(serde_json::json!({"state": "accepted"}));
        assert_eq!(emulator.accepted(), at("2026-01-02T00:00:00.000Z"));
        let pending = invitation(serde_json::json!({"state": "pending", "accepted_at": null}));
        assert_eq!(pending.accepted(), None);
    }
}
