//! Invitations: one item per invitation plus an `INVITEE#<email>` item that makes a second
//! pending invitation of the same address fail atomically, with the seat counted meanwhile.

use super::tx::Condition;
use super::{InvitationItem, InviteeItem, ListQuery, Page, Store, StoreError, UsageChange, key, keys, to_item};
use crate::config::PlanLimits;

impl Store {
    /// Stores a new invitation (state `sending`) and takes its seat within `limits`. An address
    /// with a pending invitation already is refused.
    pub async fn create_invitation(&self, invitation: &InvitationItem, limits: &PlanLimits) -> Result<(), StoreError> {
        let change = UsageChange::invitation_seat(invitation.role, 1).within(limits);
        let mut tx = self.tx();
        tx.put("invitation", to_item(invitation)?, Some(Condition::absent()))?;
        tx.put("invitee", to_item(&InviteeItem::of(invitation))?, Some(Condition::absent()))?;
        self.add_usage(&mut tx, &invitation.org_id, &change)?;
        self.client_links(&mut tx, &invitation.org_id, None, invitation.customer_id.as_deref(), true)?;
        match self.commit(tx).await {
            Err(StoreError::Cancelled(failure)) if failure.is("invitee") => {
                Err(StoreError::Changed("this address has a pending invitation already"))
            }
            Err(StoreError::Cancelled(failure)) if failure.is("usage") => {
                Err(self.usage_refusal(&invitation.org_id, &change).await)
            }
            Err(StoreError::Cancelled(failure)) if failure.is("client_to") => {
                Err(StoreError::Changed("the customer is being deleted"))
            }
            other => other,
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
    pub async fn delete_invitation(&self, invitation: &InvitationItem) -> Result<(), StoreError> {
        let invitee = InviteeItem::of(invitation);
        let mut tx = self.tx();
        tx.delete("invitation", key(invitation.pk.clone(), invitation.sk.clone()), Some(Condition::present()))?;
        tx.delete("invitee", key(invitee.pk, invitee.sk), None)?;
        self.add_usage(&mut tx, &invitation.org_id, &UsageChange::invitation_seat(invitation.role, -1))?;
        self.client_links(&mut tx, &invitation.org_id, invitation.customer_id.as_deref(), None, false)?;
        match self.commit(tx).await {
            Err(StoreError::Cancelled(failure)) if failure.is("invitation") => Ok(()),
            other => other,
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
