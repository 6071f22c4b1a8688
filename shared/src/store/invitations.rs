//! Invitations: one item per invitation plus an `INVITEE#<email>` item that makes a second
//! pending invitation of the same address fail atomically, with the seat counted meanwhile.

use super::{InvitationItem, InviteeItem, ListQuery, Page, Store, StoreError, UsageChange, keys, to_item};
use crate::config::PlanLimits;

impl Store {
    /// Stores a new invitation (state `sending`) and takes its seat within `limits`. An address
    /// with a pending invitation already is refused.
    pub async fn create_invitation(&self, invitation: &InvitationItem, limits: &PlanLimits) -> Result<(), StoreError> {
        let change = UsageChange::invitation_seat(invitation.role, 1).within(limits);
        let mut actions = vec![
            self.put_action(to_item(invitation)?, Some("attribute_not_exists(PK)"))?,
            self.put_action(to_item(&InviteeItem::of(invitation))?, Some("attribute_not_exists(PK)"))?,
        ];
        actions.extend(self.usage_action(&invitation.org_id, &change)?);
        actions.extend(self.client_links(&invitation.org_id, None, invitation.customer_id.as_deref(), true)?);
        match self.transact(actions).await {
            Err(StoreError::TransactionCanceled(reasons)) => {
                let failed = |i: usize| reasons.get(i).is_some_and(|r| r == "ConditionalCheckFailed");
                if failed(1) {
                    Err(StoreError::Changed("this address has a pending invitation already"))
                } else if failed(2) {
                    Err(self.usage_refusal(&invitation.org_id, &change).await)
                } else {
                    Err(StoreError::Changed("the customer is being deleted"))
                }
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

    /// Deletes an invitation and gives its seat back.
    pub async fn delete_invitation(&self, invitation: &InvitationItem) -> Result<(), StoreError> {
        let invitee = InviteeItem::of(invitation);
        let mut actions = vec![
            self.delete_action(&invitation.pk, &invitation.sk, Some("attribute_exists(PK)"))?,
            self.delete_action(&invitee.pk, &invitee.sk, None)?,
        ];
        actions.extend(self.usage_action(&invitation.org_id, &UsageChange::invitation_seat(invitation.role, -1))?);
        actions.extend(self.client_links(&invitation.org_id, invitation.customer_id.as_deref(), None, false)?);
        match self.transact(actions).await {
            // Deleted already (a concurrent revoke, or the invitee arrived): nothing left to do.
            Err(StoreError::TransactionCanceled(reasons))
                if reasons.first().is_some_and(|r| r == "ConditionalCheckFailed") =>
            {
                Ok(())
            }
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
