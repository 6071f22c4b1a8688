//! Writes of the WorkOS mirror (the sync job and the WorkOS webhook). WorkOS is the source of
//! truth here, so these writes take no limit and keep no last admin; each is conditioned on
//! the stored WorkOS `updated_at`, so older news never overwrites newer.

use super::tx::{Commit, OrgWrite};
use serde::{Deserialize, Serialize};

use super::audit::member_event;
use super::tx::Condition;
use super::{MemberItem, RemovedMemberItem, Store, StoreError, UserProfileItem, key, keys, s, to_item};
use crate::Timestamp;
use crate::domain::UsageChange;
use crate::domain::audit::{Action, Origin};

/// Where the WorkOS sync got to: `JOB#workos-sync` / `STATE`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    /// The last applied event (the Events API cursor).
    pub event_cursor: Option<String>,
    /// When that event happened, or when the full pass that set the starting point began.
    pub cursor_at: Option<Timestamp>,
    /// A full pass under way: the last organization it finished (`""`: none yet).
    pub full_pass_after: Option<String>,
    /// When the current (or last) full pass began, and when one last completed.
    pub full_pass_started_at: Option<Timestamp>,
    pub full_pass_completed_at: Option<Timestamp>,
}

const SYNC_JOB: &str = "workos-sync";

impl Store {
    pub async fn sync_state(&self) -> Result<SyncState, StoreError> {
        self.job_state(SYNC_JOB).await
    }

    pub async fn save_sync_state(&self, state: &SyncState) -> Result<(), StoreError> {
        self.save_job_state(SYNC_JOB, state).await
    }

    /// Every member of an organization (all pages).
    pub async fn all_members(&self, org_id: &str) -> Result<Vec<MemberItem>, StoreError> {
        let values = [(":pk", keys::org_pk(org_id)), (":prefix", keys::MEMBER_PREFIX.to_owned())];
        self.query_all("PK = :pk AND begins_with(SK, :prefix)", None, None, &values).await
    }

    /// Every membership of a user, across organizations (GSI1).
    pub async fn members_of_user(&self, user_id: &str) -> Result<Vec<MemberItem>, StoreError> {
        self.query_all("GSI1PK = :pk", Some("GSI1"), None, &[(":pk", keys::user_pk(user_id))]).await
    }

    /// Mirrors a changed WorkOS membership (role, customer, WorkOS time) onto a stored member
    /// (`old`, as read), moving its seat unchecked. `Written(false)` if the member changed meanwhile.
    pub async fn mirror_member_change(
        &self,
        old: &MemberItem,
        new: &MemberItem,
        origin: &Origin,
    ) -> Result<OrgWrite<bool>, StoreError> {
        let mut tx = self.tx();
        let unchanged = Condition::new("revision = :revision").value(":revision", s(&old.revision));
        tx.put("member", to_item(new)?, Some(unchanged))?;
        let event = member_event(Action::MemberRoleChanged, Some(old), Some(new));
        if !event.changes.is_empty() {
            self.audit(&mut tx, &old.org_id, origin, event)?;
        }
        if old.role != new.role {
            self.add_usage(&mut tx, &old.org_id, &UsageChange::role_change(old.role, new.role))?;
        }
        self.client_links(&mut tx, &old.org_id, old.customer_id.as_deref(), new.customer_id.as_deref(), false)?;
        self.mirror_commit(tx).await
    }

    /// Removes a member (as read) that WorkOS no longer has, unchecked (WorkOS decided), and
    /// records the removal. `Written(false)` if it changed meanwhile.
    pub async fn mirror_member_removal(
        &self,
        member: &MemberItem,
        removal: &RemovedMemberItem,
        origin: &Origin,
    ) -> Result<OrgWrite<bool>, StoreError> {
        let mut tx = self.tx();
        self.audit(&mut tx, &member.org_id, origin, member_event(Action::MemberRemoved, Some(member), None))?;
        let unchanged = Condition::new("revision = :revision").value(":revision", s(&member.revision));
        tx.delete("member", key(member.pk.clone(), member.sk.clone()), Some(unchanged))?;
        tx.put("removed", to_item(removal)?, None)?;
        self.add_usage(&mut tx, &member.org_id, &UsageChange::seat(member.role, -1))?;
        self.client_links(&mut tx, &member.org_id, member.customer_id.as_deref(), None, false)?;
        self.mirror_commit(tx).await
    }

    async fn mirror_commit(&self, tx: super::tx::Tx) -> Result<OrgWrite<bool>, StoreError> {
        match self.commit(tx).await? {
            Commit::Committed => Ok(OrgWrite::Written(true)),
            Commit::Cancelled(failure) if failure.is("member") => Ok(OrgWrite::Written(false)),
            Commit::OrgGone => Ok(OrgWrite::OrgGone),
            other => other.required().map(|()| OrgWrite::Written(true)),
        }
    }

    /// Copies a profile's email and names onto one of the user's member items.
    pub async fn mirror_member_profile(
        &self,
        member: &MemberItem,
        profile: &UserProfileItem,
    ) -> Result<(), StoreError> {
        let values = vec![
            (":email", s(&profile.email)),
            (":first", super::opt(profile.first_name.as_deref())),
            (":last", super::opt(profile.last_name.as_deref())),
        ];
        let item_key = key(member.pk.clone(), member.sk.clone());
        // A member removed meanwhile keeps no copy.
        self.update_existing(item_key, "SET email = :email, firstName = :first, lastName = :last", values)
            .await
            .map(drop)
    }

    /// Deletes a user's profile (the user is gone from WorkOS).
    pub async fn delete_profile(&self, user_id: &str) -> Result<(), StoreError> {
        let item_key = key(keys::user_pk(user_id), keys::PROFILE_SK.to_owned());
        self.delete_if(item_key, None, vec![], vec![]).await.map(drop)
    }
}
