//! An organization's deletion, after `DELETE /org` marked it (`Store::request_deletion`): the
//! WorkOS organization first, then its items in bounded steps, then the tombstone. The same
//! code continues it from a retry of the request and from the WorkOS sync, starting from what
//! the table holds, so a deletion stopped at any step (a crash, a timeout, a failed call)
//! finishes on the next run. WorkOS failing does not hold the items back (the mark already
//! keeps everyone out): they are deleted all the same, and only the tombstone waits for WorkOS,
//! so that a deletion is never reported done while WorkOS still has the organization.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::ApiError;
use crate::store::{OrgRecord, Step};
use crate::{Deps, Timestamp};

/// How far a deletion is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeletionStatus {
    /// Items are left: a retry, or the next WorkOS sync, continues.
    Deleting,
    /// Only the tombstone is left.
    Deleted,
}

impl Deps {
    /// Continues the deletion of `org_id` for about `budget` (the WorkOS call, and one batch at
    /// least): WorkOS's organization, then batches of items, then the tombstone. An error is
    /// WorkOS's or DynamoDB's, after as much as could be done.
    pub async fn continue_deletion(&self, org_id: &str, budget: Duration) -> Result<DeletionStatus, ApiError> {
        let deadline = Instant::now() + budget;
        let mut org = match self.store.get_org_record(org_id).await? {
            Some(OrgRecord::Deleting(org)) => org,
            Some(OrgRecord::Deleted(_)) => return Ok(DeletionStatus::Deleted),
            Some(OrgRecord::Live(_)) | None => {
                return Err(ApiError::Conflict("the organization is not being deleted".into()));
            }
        };
        let mut workos_failure = None;
        if let Some(deletion) = org.deletion.as_mut().filter(|d| d.workos_deleted_at.is_none()) {
            match self.workos.delete_organization(org_id).await {
                Ok(()) => {
                    let at = Timestamp::now();
                    self.store.note_workos_deleted(org_id, at).await?;
                    deletion.workos_deleted_at = Some(at);
                    tracing::info!("the WorkOS organization is deleted");
                }
                Err(error) => {
                    tracing::warn!(error = %error, "WorkOS did not delete the organization; its items go on being deleted");
                    workos_failure = Some(ApiError::from(error));
                }
            }
        }
        let partitions = self.store.deletion_partitions(&org, Timestamp::now());
        let (mut from, mut deleted) = (0, 0);
        while let Step::Deleted(index) = self.store.delete_next_items(&org, &partitions, from).await? {
            (from, deleted) = (index, deleted + 1);
            if Instant::now() >= deadline {
                tracing::info!(batches = deleted, "organization deletion paused; the next run continues");
                return Ok(DeletionStatus::Deleting);
            }
        }
        if let Some(failure) = workos_failure {
            return Err(failure);
        }
        self.store.bury_org(&org, Timestamp::now()).await?;
        tracing::info!(batches = deleted, "organization deleted; its tombstone remains");
        Ok(DeletionStatus::Deleted)
    }
}
