//! Invitations: `ORG#o` / `INVITE#i`, and `ORG#o` / `INVITEE#<email>` pointing at the pending
//! invitation of an address. Each holds a seat from creation until accepted or revoked.

use super::tx::Commit;
use serde::{Deserialize, Serialize};

use super::audit::{EntryKey, Event};
use super::tx::Condition;
use super::{ListQuery, Page, Store, StoreError, key, keys, to_item};
use crate::Timestamp;
use crate::domain::audit::{Action, Changes, Origin, Target, TargetKind};
use crate::domain::plans::PlanLimits;
use crate::domain::{Role, UsageChange};

/// A pending invitation: `ORG#o` / `INVITE#i`. Its seat is counted from creation until it is
/// accepted (the member takes the seat over) or revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub id: String,
    pub org_id: String,
    /// Lowercased.
    pub email: String,
    pub role: Role,
    pub customer_id: Option<String>,
    pub state: InvitationState,
    pub workos_invitation_id: Option<String>,
    /// When WorkOS lets it lapse; not the table's TTL attribute, since a lapsed invitation's
    /// seat must be given back by a write, not vanish with it.
    pub valid_until: Option<Timestamp>,
    pub invited_by: String,
    pub created_at: Timestamp,
}

/// A stored invitation's state. (The API also shows `expired`, which is derived from
/// `validUntil`, not stored.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvitationState {
    /// Stored with its seat; WorkOS has not confirmed it yet.
    Sending,
    /// WorkOS sent it.
    Pending,
}

impl InvitationItem {
    pub const ENTITY: &'static str = "invitation";

    pub fn new(
        org_id: &str,
        email: &str,
        role: Role,
        customer_id: Option<String>,
        invited_by: &str,
        now: Timestamp,
    ) -> Self {
        let id = format!("inv_{}", ulid::Ulid::new().to_string().to_lowercase());
        Self {
            pk: keys::org_pk(org_id),
            sk: keys::invitation_sk(&id),
            entity: Self::ENTITY.to_owned(),
            id,
            org_id: org_id.to_owned(),
            email: email.to_lowercase(),
            role,
            customer_id,
            state: InvitationState::Sending,
            workos_invitation_id: None,
            valid_until: None,
            invited_by: invited_by.to_owned(),
            created_at: now,
        }
    }
}

/// `ORG#o` / `INVITEE#<email>`: points at the pending invitation of an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteeItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub invitation_id: String,
}

impl InviteeItem {
    pub const ENTITY: &'static str = "invitee";

    pub fn of(invitation: &InvitationItem) -> Self {
        Self {
            pk: invitation.pk.clone(),
            sk: keys::invitee_sk(&invitation.email),
            entity: Self::ENTITY.to_owned(),
            invitation_id: invitation.id.clone(),
        }
    }
}

impl Store {
    /// Stores a new invitation (state `sending`) and takes its seat within `limits`. An address
    /// with a pending invitation already is refused.
    pub async fn create_invitation(
        &self,
        invitation: &InvitationItem,
        limits: &PlanLimits,
        origin: &Origin,
    ) -> Result<EntryKey, StoreError> {
        let change = UsageChange::invitation_seat(invitation.role, 1).within(limits);
        let mut tx = self.tx();
        let entry =
            self.audit(&mut tx, &invitation.org_id, origin, invitation_event(Action::InvitationCreated, invitation))?;
        tx.put("invitation", to_item(invitation)?, Some(Condition::absent()))?;
        tx.put("invitee", to_item(&InviteeItem::of(invitation))?, Some(Condition::absent()))?;
        self.add_usage(&mut tx, &invitation.org_id, &change)?;
        self.client_links(&mut tx, &invitation.org_id, None, invitation.customer_id.as_deref(), true)?;
        match self.commit(tx).await? {
            Commit::Cancelled(failure) if failure.is("invitee") => {
                Err(StoreError::Changed("this address has a pending invitation already"))
            }
            Commit::Cancelled(failure) if failure.is("usage") => {
                Err(self.usage_refusal(&invitation.org_id, &change).await)
            }
            Commit::Cancelled(failure) if failure.is("client_to") => {
                Err(StoreError::Changed("the customer is being deleted"))
            }
            other => other.required().map(|()| entry),
        }
    }

    /// Records that WorkOS sent the invitation (not one revoked meanwhile).
    pub async fn mark_invitation_sent(&self, invitation: &InvitationItem) -> Result<(), StoreError> {
        match self.put_if(to_item(invitation)?, "attribute_exists(PK)", vec![]).await? {
            true => Ok(()),
            false => Err(StoreError::ConditionFailed),
        }
    }

    pub async fn get_invitation(
        &self,
        org_id: &str,
        invitation_id: &str,
    ) -> Result<Option<InvitationItem>, StoreError> {
        self.get(keys::org_pk(org_id), keys::invitation_sk(invitation_id)).await
    }

    /// The pending invitation of an address in an organization, if any.
    pub async fn invitation_for(&self, org_id: &str, email: &str) -> Result<Option<InvitationItem>, StoreError> {
        let invitee: Option<InviteeItem> = self.get(keys::org_pk(org_id), keys::invitee_sk(email)).await?;
        match invitee {
            Some(invitee) => self.get_invitation(org_id, &invitee.invitation_id).await,
            None => Ok(None),
        }
    }

    /// Deletes an invitation and gives its seat back. One deleted already (a concurrent revoke,
    /// or its invitee arrived) leaves nothing to do.
    pub async fn delete_invitation(&self, invitation: &InvitationItem, origin: &Origin) -> Result<(), StoreError> {
        let invitee = InviteeItem::of(invitation);
        let mut tx = self.tx();
        self.audit(&mut tx, &invitation.org_id, origin, invitation_event(Action::InvitationRevoked, invitation))?;
        tx.delete("invitation", key(invitation.pk.clone(), invitation.sk.clone()), Some(Condition::present()))?;
        tx.delete("invitee", key(invitee.pk, invitee.sk), None)?;
        self.add_usage(&mut tx, &invitation.org_id, &UsageChange::invitation_seat(invitation.role, -1))?;
        self.client_links(&mut tx, &invitation.org_id, invitation.customer_id.as_deref(), None, false)?;
        match self.commit(tx).await? {
            Commit::Cancelled(failure) if failure.is("invitation") => Ok(()),
            other => other.required(),
        }
    }

    /// Invitations of an organization, newest last (ids are time-ordered).
    pub async fn list_invitations(
        &self,
        org_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<InvitationItem>, StoreError> {
        let query = ListQuery::prefixed(org_id, "invitations", keys::INVITATION_PREFIX.to_owned());
        self.list(query, limit, cursor).await
    }
}

/// The audit entry of an invitation made or revoked: its address, role and customer.
fn invitation_event(action: Action, invitation: &InvitationItem) -> Event {
    let fields = [
        ("email", Some(invitation.email.as_str())),
        ("role", Some(invitation.role.slug())),
        ("customerId", invitation.customer_id.as_deref()),
    ];
    let changes = match action {
        Action::InvitationCreated => Changes::made(fields),
        _ => Changes::removed(fields),
    };
    Event::new(action, Target::new(TargetKind::Invitation, &invitation.id), changes)
}
