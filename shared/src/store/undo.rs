//! The undo of a change that WorkOS refused after it was stored: it puts back what the change
//! replaced and takes the change's audit entry away, in one transaction, only while the change
//! is still the request's own (nobody changed the item since). `false`: it is not ours any more,
//! and nothing was written.

use super::audit::EntryKey;
use super::tx::Commit;
use super::tx::{Condition, Tx};
use super::{InvitationItem, InviteeItem, MemberItem, RemovedMemberItem, Store, StoreError, key, s, to_item};
use crate::domain::UsageChange;

impl Store {
    /// Undoes [`change_member`](Self::change_member): puts `old` back and reverses `change`, only
    /// if the member is still exactly `wrote`.
    pub async fn undo_member_change(
        &self,
        old: &MemberItem,
        wrote: &MemberItem,
        change: &UsageChange,
        entry: Option<&EntryKey>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.tx();
        let ours = Condition::new("revision = :revision").value(":revision", s(&wrote.revision));
        tx.put("member", to_item(old)?, Some(ours))?;
        self.add_usage(&mut tx, &old.org_id, &change.undo())?;
        // A customer being deleted meanwhile (its client count had fallen to 0) takes no client back.
        self.client_links(&mut tx, &old.org_id, wrote.customer_id.as_deref(), old.customer_id.as_deref(), true)?;
        if let Some(entry) = entry {
            self.erase_entry(&mut tx, entry)?;
        }
        self.commit_undo(tx).await
    }

    /// Undoes [`remove_member`](Self::remove_member): puts the member back with its seat, only if
    /// nobody stored the user since and the removal record is still this removal's.
    pub async fn undo_member_removal(
        &self,
        member: &MemberItem,
        removal: &RemovedMemberItem,
        entry: &EntryKey,
    ) -> Result<bool, StoreError> {
        let mut tx = self.tx();
        tx.put("member", to_item(member)?, Some(Condition::absent()))?;
        let ours = Condition::new("removalId = :removal").value(":removal", s(&removal.removal_id));
        tx.delete("removed", key(removal.pk.clone(), removal.sk.clone()), Some(ours))?;
        self.add_usage(&mut tx, &member.org_id, &UsageChange::seat(member.role, 1))?;
        self.client_links(&mut tx, &member.org_id, None, member.customer_id.as_deref(), true)?;
        self.erase_entry(&mut tx, entry)?;
        self.commit_undo(tx).await
    }

    /// Undoes [`create_invitation`](Self::create_invitation) when WorkOS did not send it: deletes
    /// the invitation and gives its seat back, unless it is gone already.
    pub async fn undo_invitation(&self, invitation: &InvitationItem, entry: &EntryKey) -> Result<bool, StoreError> {
        let invitee = InviteeItem::of(invitation);
        let mut tx = self.tx();
        tx.delete("invitation", key(invitation.pk.clone(), invitation.sk.clone()), Some(Condition::present()))?;
        tx.delete("invitee", key(invitee.pk, invitee.sk), None)?;
        self.add_usage(&mut tx, &invitation.org_id, &UsageChange::invitation_seat(invitation.role, -1))?;
        self.client_links(&mut tx, &invitation.org_id, invitation.customer_id.as_deref(), None, false)?;
        self.erase_entry(&mut tx, entry)?;
        self.commit_undo(tx).await
    }

    async fn commit_undo(&self, tx: Tx) -> Result<bool, StoreError> {
        match self.commit(tx).await? {
            Commit::Committed => Ok(true),
            Commit::Cancelled(_) => Ok(false),
            Commit::OrgGone => Err(StoreError::OrgDeleted),
        }
    }
}
