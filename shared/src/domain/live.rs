//! Live updates (API.md "Live updates"): what a change is, who is told of it, and the frames
//! of the WebSocket protocol. Pure: the store keeps the changes, `flows::live` delivers them.
//!
//! A change is an audit entry. Every change of an organization's data writes exactly one entry in
//! its own transaction (so no change goes untold and nothing is told that did not happen), and
//! the entry names what the live frame needs: the action and its target. The stream of the table
//! hands each new entry to `live-broadcast`, which numbers it (see `store::live`) and tells the
//! members who may see its target under the one visibility rule ([`super::visibility`]).

use serde::{Deserialize, Serialize};

use super::audit::{Action, Target, TargetKind};
use super::visibility::Subject;

/// What kind of thing changed, as the client names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    Org,
    Member,
    Invitation,
    Customer,
    Assignment,
    Billing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

/// One change, ids only: the client refetches through the routes, which apply the role rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub entity: Entity,
    pub action: ChangeKind,
    /// The org id, the member's user id, the invitation id, or the customer id (an assignment's
    /// customer; billing: the org id).
    pub id: String,
    pub customer_id: Option<String>,
    pub user_id: Option<String>,
}

impl Change {
    /// The change an audit entry of `org_id` records.
    pub fn of(org_id: &str, action: Action, target: &Target) -> Self {
        let (entity, kind) = match action {
            Action::OrgCreated => (Entity::Org, ChangeKind::Created),
            // An import's summary entry (its customers and assignments have entries of their own)
            // and a portal link change no data shown, but the org's admins may show them.
            // So do an API key's creation and revocation (the key list is the org's admins').
            Action::OrgRenamed
            | Action::OrgImported
            | Action::OrgPortalLinkCreated
            | Action::ApiKeyCreated
            | Action::ApiKeyRevoked => (Entity::Org, ChangeKind::Updated),
            Action::OrgDeletionRequested => (Entity::Org, ChangeKind::Deleted),
            Action::MemberJoined => (Entity::Member, ChangeKind::Created),
            Action::MemberRoleChanged => (Entity::Member, ChangeKind::Updated),
            Action::MemberRemoved => (Entity::Member, ChangeKind::Deleted),
            Action::InvitationCreated => (Entity::Invitation, ChangeKind::Created),
            Action::InvitationRevoked => (Entity::Invitation, ChangeKind::Deleted),
            Action::CustomerCreated => (Entity::Customer, ChangeKind::Created),
            Action::CustomerUpdated => (Entity::Customer, ChangeKind::Updated),
            Action::CustomerDeleted => (Entity::Customer, ChangeKind::Deleted),
            Action::AssignmentAdded => (Entity::Assignment, ChangeKind::Created),
            Action::AssignmentRemoved => (Entity::Assignment, ChangeKind::Deleted),
            Action::BillingChanged => (Entity::Billing, ChangeKind::Updated),
        };
        let id = target.id.clone();
        // (id, customerId, userId) as the frame names them.
        let (id, customer_id, user_id) = match (entity, target.kind) {
            (Entity::Org | Entity::Billing, _) => (org_id.to_owned(), None, None),
            (Entity::Member, _) => (id.clone(), None, Some(id)),
            (Entity::Customer, _) => (id.clone(), Some(id), None),
            // An assignment's target is `<customer id>:<user id>`.
            (Entity::Assignment, TargetKind::Assignment) => {
                let (customer, user) = id.split_once(':').unwrap_or((id.as_str(), ""));
                (customer.to_owned(), Some(customer.to_owned()), Some(user.to_owned()))
            }
            (Entity::Assignment | Entity::Invitation, _) => (id, None, None),
        };
        Self { entity, action: kind, id, customer_id, user_id }
    }

    /// The customer a staff member must be assigned to for this change to concern them.
    pub fn customer_scope(&self) -> Option<&str> {
        match self.entity {
            Entity::Customer | Entity::Assignment => self.customer_id.as_deref(),
            _ => None,
        }
    }

    /// What the visibility rule is asked about; `viewer_assigned`: the recipient is assigned to
    /// [`Self::customer_scope`].
    pub fn subject(&self, viewer_assigned: bool) -> Subject<'_> {
        match self.entity {
            Entity::Org => Subject::Org,
            Entity::Billing => Subject::Billing,
            Entity::Invitation => Subject::Invitation,
            Entity::Member => Subject::Member { user_id: &self.id },
            Entity::Customer => Subject::Customer { customer_id: &self.id, viewer_assigned },
            Entity::Assignment => Subject::Assignment {
                customer_id: &self.id,
                user_id: self.user_id.as_deref().unwrap_or_default(),
                viewer_assigned,
            },
        }
    }
}

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerFrame<'a> {
    Change {
        seq: &'a str,
        at: &'a str,
        #[serde(flatten)]
        change: &'a Change,
    },
    Synced {
        seq: &'a str,
    },
    Resync,
    Pong,
    Error {
        code: &'static str,
    },
}

/// What a client asked, parsed; anything else is an `error` frame and the connection stays open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    Resume { after: Seq },
    Ping,
}

impl ClientMessage {
    /// The message, or the `code` of the `error` frame that answers it.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            action: String,
            after: Option<String>,
        }
        let raw: Raw = serde_json::from_str(text).map_err(|_| "malformed_message")?;
        match (raw.action.as_str(), raw.after) {
            ("ping", None) => Ok(Self::Ping),
            ("resume", Some(after)) => Ok(Self::Resume { after: Seq::parse(&after).ok_or("invalid_seq")? }),
            ("resume", None) => Err("invalid_seq"),
            _ => Err("unknown_action"),
        }
    }
}

/// A change's place in its organization's order: a counter, sent as 16 digits so that the order
/// of the text is the order of the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seq(pub u64);

impl Seq {
    /// The largest number 16 digits hold.
    pub const LAST: Self = Self(9_999_999_999_999_999);

    pub fn parse(text: &str) -> Option<Self> {
        (!text.is_empty() && text.len() <= 16 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok().map(Self))
            .flatten()
    }
}

impl std::fmt::Display for Seq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::domain::visibility::{Viewer, may_see};

    fn target(kind: TargetKind, id: &str) -> Target {
        Target::new(kind, id)
    }

    #[test]
    fn an_assignment_names_its_customer_and_staff_member() {
        let change = Change::of("org_1", Action::AssignmentRemoved, &target(TargetKind::Assignment, "cus_1:user_2"));
        assert_eq!((change.entity, change.action), (Entity::Assignment, ChangeKind::Deleted));
        assert_eq!((change.id.as_str(), change.user_id.as_deref()), ("cus_1", Some("user_2")));
        let billing = Change::of("org_1", Action::BillingChanged, &target(TargetKind::Subscription, "sub_9"));
        assert_eq!((billing.entity, billing.id.as_str()), (Entity::Billing, "org_1"));
    }

    #[test]
    fn who_is_told_follows_the_visibility_rule() {
        let staff = Viewer { user_id: "s", role: Role::Staff, customer_id: None };
        let client = Viewer { user_id: "c", role: Role::Client, customer_id: Some("cus_1") };
        let admin = Viewer { user_id: "a", role: Role::Admin, customer_id: None };
        let customer = Change::of("o", Action::CustomerUpdated, &target(TargetKind::Customer, "cus_1"));
        assert!(may_see(&staff, &customer.subject(true)) && !may_see(&staff, &customer.subject(false)));
        assert!(may_see(&client, &customer.subject(false)));
        let other = Change::of("o", Action::CustomerUpdated, &target(TargetKind::Customer, "cus_2"));
        assert!(!may_see(&client, &other.subject(false)));
        let own = Change::of("o", Action::AssignmentRemoved, &target(TargetKind::Assignment, "cus_2:s"));
        assert!(may_see(&staff, &own.subject(false)), "a staff member is told of their own unassignment");
        let invitation = Change::of("o", Action::InvitationCreated, &target(TargetKind::Invitation, "inv_1"));
        assert!(may_see(&admin, &invitation.subject(false)) && !may_see(&staff, &invitation.subject(true)));
    }

    #[test]
    fn frames_and_messages() {
        let change = Change::of("o", Action::CustomerCreated, &target(TargetKind::Customer, "cus_1"));
        let seq = Seq(7).to_string();
        let frame = ServerFrame::Change { seq: &seq, at: "2026-12-03T00:00:00.000Z", change: &change };
        assert_eq!(
            serde_json::to_value(&frame).unwrap(),
            serde_json::json!({"type": "change", "seq": "0000000000000007", "at": "2026-12-03T00:00:00.000Z",
                "entity": "customer", "action": "created", "id": "cus_1", "customerId": "cus_1", "userId": null})
        );
        assert_eq!(ClientMessage::parse(r#"{"action":"ping"}"#), Ok(ClientMessage::Ping));
        assert_eq!(
            ClientMessage::parse(r#"{"action":"resume","after":"0000000000000007"}"#),
            Ok(ClientMessage::Resume { after: Seq(7) })
        );
        for (text, code) in [
            ("{", "malformed_message"),
            (r#"{"action":"resume","after":"-1"}"#, "invalid_seq"),
            (r#"{"action":"resume","after":"99999999999999999"}"#, "invalid_seq"),
            (r#"{"action":"subscribe"}"#, "unknown_action"),
            (r#"{"action":"ping","x":1}"#, "malformed_message"),
        ] {
            assert_eq!(ClientMessage::parse(text), Err(code), "{text}");
        }
        assert!(Seq(2).to_string() < Seq(10).to_string(), "the text orders as the numbers");
    }
}
