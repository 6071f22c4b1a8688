//! The audit log's vocabulary (API.md "Audit log, deletion and export"): who acted, on what,
//! what changed. Entries are written in the same transaction as the change they describe
//! (`store::audit`); this module only says what an entry holds and how a change is described.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who made a change: a member through the API, or one of the services and jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Actor {
    User {
        id: String,
    },
    /// An organization's API key (`Authorization: Bearer sak_…`).
    #[serde(rename = "api_key")]
    ApiKey {
        id: String,
    },
    Lemonsqueezy,
    Workos,
    System,
}

impl Actor {
    pub fn user(id: &str) -> Self {
        Self::User { id: id.to_owned() }
    }

    /// The user's or the key's id, for the `actorId` filter; the services have none.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::User { id } | Self::ApiKey { id } => Some(id),
            _ => None,
        }
    }
}

/// Who made a change, and in which request or invocation (its id, for `requestId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub actor: Actor,
    pub request_id: Option<String>,
}

impl Origin {
    pub fn new(actor: Actor, request_id: Option<&str>) -> Self {
        Self { actor, request_id: request_id.map(str::to_owned) }
    }
}

/// What happened. The slugs are the API's (`customer.updated`, …) and listed in the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "org.created")]
    OrgCreated,
    #[serde(rename = "org.renamed")]
    OrgRenamed,
    #[serde(rename = "org.deletion_requested")]
    OrgDeletionRequested,
    /// An import from Convex (`convex-import`), with the counts of what it wrote.
    #[serde(rename = "org.imported")]
    OrgImported,
    /// A WorkOS Admin Portal link was made (`POST /org/portal-link`), with its intent.
    #[serde(rename = "org.portal_link_created")]
    OrgPortalLinkCreated,
    #[serde(rename = "member.joined")]
    MemberJoined,
    #[serde(rename = "member.role_changed")]
    MemberRoleChanged,
    #[serde(rename = "member.removed")]
    MemberRemoved,
    #[serde(rename = "invitation.created")]
    InvitationCreated,
    #[serde(rename = "invitation.revoked")]
    InvitationRevoked,
    #[serde(rename = "customer.created")]
    CustomerCreated,
    #[serde(rename = "customer.updated")]
    CustomerUpdated,
    #[serde(rename = "customer.deleted")]
    CustomerDeleted,
    #[serde(rename = "assignment.added")]
    AssignmentAdded,
    #[serde(rename = "assignment.removed")]
    AssignmentRemoved,
    #[serde(rename = "billing.changed")]
    BillingChanged,
    #[serde(rename = "api_key.created")]
    ApiKeyCreated,
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked,
}

impl Action {
    pub const ALL: [Self; 18] = [
        Self::OrgCreated,
        Self::OrgRenamed,
        Self::OrgDeletionRequested,
        Self::OrgImported,
        Self::OrgPortalLinkCreated,
        Self::MemberJoined,
        Self::MemberRoleChanged,
        Self::MemberRemoved,
        Self::InvitationCreated,
        Self::InvitationRevoked,
        Self::CustomerCreated,
        Self::CustomerUpdated,
        Self::CustomerDeleted,
        Self::AssignmentAdded,
        Self::AssignmentRemoved,
        Self::BillingChanged,
        Self::ApiKeyCreated,
        Self::ApiKeyRevoked,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Self::OrgCreated => "org.created",
            Self::OrgRenamed => "org.renamed",
            Self::OrgDeletionRequested => "org.deletion_requested",
            Self::OrgImported => "org.imported",
            Self::OrgPortalLinkCreated => "org.portal_link_created",
            Self::MemberJoined => "member.joined",
            Self::MemberRoleChanged => "member.role_changed",
            Self::MemberRemoved => "member.removed",
            Self::InvitationCreated => "invitation.created",
            Self::InvitationRevoked => "invitation.revoked",
            Self::CustomerCreated => "customer.created",
            Self::CustomerUpdated => "customer.updated",
            Self::CustomerDeleted => "customer.deleted",
            Self::AssignmentAdded => "assignment.added",
            Self::AssignmentRemoved => "assignment.removed",
            Self::BillingChanged => "billing.changed",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.slug() == slug)
    }
}

/// What an entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    #[serde(rename = "type")]
    pub kind: TargetKind,
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Org,
    Member,
    Invitation,
    Customer,
    Assignment,
    Subscription,
    #[serde(rename = "api_key")]
    ApiKey,
}

impl Target {
    pub fn new(kind: TargetKind, id: impl Into<String>) -> Self {
        Self { kind, id: id.into() }
    }
}

/// One field's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub from: Value,
    pub to: Value,
}

/// The fields that changed, `{field: {from, to}}`: a field whose value stayed is left out, so
/// an update that changes nothing has no changes (and writes no entry).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Changes(BTreeMap<String, Change>);

impl Changes {
    /// Adds `field` if `from` and `to` differ. Only plain, non-secret fields are ever passed:
    /// names, roles, e-mail addresses of customers, statuses, ids.
    pub fn field<T: Serialize + PartialEq>(mut self, field: &str, from: &T, to: &T) -> Self {
        if from != to {
            let json = |v: &T| serde_json::to_value(v).unwrap_or(Value::Null);
            self.0.insert(field.to_owned(), Change { from: json(from), to: json(to) });
        }
        self
    }

    /// A record made: each of `fields` from null to its value (a field with no value is left out).
    pub fn made<T: Serialize + PartialEq>(fields: impl IntoIterator<Item = (&'static str, Option<T>)>) -> Self {
        fields.into_iter().fold(Self::default(), |changes, (field, value)| changes.field(field, &None, &value))
    }

    /// A record removed: each of `fields` from its value to null.
    pub fn removed<T: Serialize + PartialEq>(fields: impl IntoIterator<Item = (&'static str, Option<T>)>) -> Self {
        fields.into_iter().fold(Self::default(), |changes, (field, value)| changes.field(field, &value, &None))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&Change> {
        self.0.get(field)
    }
}

/// How long entries are kept when `AUDIT_RETENTION_DAYS` is not set.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn action_slugs_round_trip_and_match_their_serde_names() {
        for action in Action::ALL {
            assert_eq!(Action::from_slug(action.slug()), Some(action));
            assert_eq!(serde_json::to_value(action).unwrap(), json!(action.slug()));
        }
        assert_eq!(Action::from_slug("customer.exploded"), None);
    }

    #[test]
    fn only_fields_that_changed_are_recorded() {
        let changes = Changes::default()
            .field("name", &"Acme", &"Acme Ltd")
            .field("phone", &None::<String>, &None)
            .field("email", &Some("a@x.example"), &None);
        assert_eq!(
            serde_json::to_value(&changes).unwrap(),
            json!({"name": {"from": "Acme", "to": "Acme Ltd"}, "email": {"from": "a@x.example", "to": null}})
        );
        assert!(Changes::default().field("role", &"staff", &"staff").is_empty());
    }

    #[test]
    fn a_record_made_or_removed_shows_its_fields_from_or_to_null() {
        let fields = [("name", Some("CRM")), ("expiresAt", None)];
        assert_eq!(serde_json::to_value(Changes::made(fields)).unwrap(), json!({"name": {"from": null, "to": "CRM"}}));
        assert_eq!(
            serde_json::to_value(Changes::removed(fields)).unwrap(),
            json!({"name": {"from": "CRM", "to": null}})
        );
    }

    #[test]
    fn actors_show_their_type_and_only_users_and_keys_an_id() {
        assert_eq!(serde_json::to_value(Actor::user("user_1")).unwrap(), json!({"type": "user", "id": "user_1"}));
        let key = Actor::ApiKey { id: "key_1".into() };
        assert_eq!(serde_json::to_value(&key).unwrap(), json!({"type": "api_key", "id": "key_1"}));
        assert_eq!(key.id(), Some("key_1"));
        assert_eq!(serde_json::to_value(Actor::Lemonsqueezy).unwrap(), json!({"type": "lemonsqueezy"}));
        assert_eq!(Actor::System.id(), None);
        assert_eq!(serde_json::to_value(TargetKind::ApiKey).unwrap(), json!("api_key"));
    }
}
