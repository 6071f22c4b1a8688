//! An organization's deletion, after `DELETE /org` marked it (`Store::request_deletion`): the
//! WorkOS organization first, then its items in bounded steps, then the tombstone. The same
//! code continues it from a retry of the request and from the WorkOS sync, starting from what
//! the table holds, so a deletion stopped at any step (a crash, a timeout, a failed call)
//! finishes on the next run.

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
    /// Continues the deletion of `org_id` for about `budget` (one step at least once WorkOS is
    /// done): WorkOS's organization, then batches of items, then the tombstone.
    pub async fn continue_deletion(&self, org_id: &str, budget: Duration) -> Result<DeletionStatus, ApiError> {
        let deadline = Instant::now() + budget;
        let mut org = match self.store.get_org_record(org_id).await? {
            Some(OrgRecord::Deleting(org)) => org,
            Some(OrgRecord::Deleted(_)) => return Ok(DeletionStatus::Deleted),
            Some(OrgRecord::Live(_)) | None => {
                return Err(ApiError::Conflict("the organization is not being deleted".into()));
            }
        };
        if let Some(deletion) = org.deletion.as_mut().filter(|d| d.workos_deleted_at.is_none()) {
            self.workos.delete_organization(org_id).await?;
            let at = Timestamp::now();
            self.store.note_workos_deleted(org_id, at).await?;
            deletion.workos_deleted_at = Some(at);
            tracing::info!("the WorkOS organization is deleted");
        }
        let partitions = self.store.deletion_partitions(&org, Timestamp::now());
        let (mut from, mut deleted) = (0, 0);
        loop {
            match self.store.delete_next_items(&org, &partitions, from).await? {
                Step::Deleted(index) => {
                    (from, deleted) = (index, deleted + 1);
                    if Instant::now() >= deadline {
                        tracing::info!(batches = deleted, "organization deletion paused; the next run continues");
                        return Ok(DeletionStatus::Deleting);
                    }
                }
                Step::Empty => break,
            }
        }
        self.store.bury_org(&org, Timestamp::now()).await?;
        tracing::info!(batches = deleted, "organization deleted; its tombstone remains");
        Ok(DeletionStatus::Deleted)
    }
}
