//! Records of removed members: `ORG#o` / `REMOVED#u`.

use serde::{Deserialize, Serialize};

use super::{MemberItem, Store, StoreError, keys};
use crate::Timestamp;

/// `ORG#o` / `REMOVED#u`: a member that was removed, and the WorkOS membership it had then.
/// It keeps late or replayed news of that membership, and requests that race the removal, from
/// bringing the user back:
/// - removed through the API ([`RemovalOrigin::Api`]): this application is deleting the
///   membership in WorkOS, so that membership never comes back (only a new one does);
/// - removed because WorkOS said so ([`RemovalOrigin::Workos`]): only a state of it newer than
///   that news brings it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovedMemberItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub user_id: String,
    pub membership_id: String,
    pub origin: RemovalOrigin,
    /// The membership's WorkOS `updated_at` in the news that removed it (or as last known).
    pub workos_updated_at: Timestamp,
    /// Names this removal, so that only its own undo takes it back.
    pub removal_id: String,
    pub removed_at: Timestamp,
    /// TTL (epoch seconds): longer than WorkOS retries webhooks and keeps events.
    pub expires_at: i64,
}

/// Who removed a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemovalOrigin {
    /// An admin, through `DELETE /users/{userId}`.
    Api,
    /// WorkOS (the sync or the webhook mirrored it).
    Workos,
}

impl RemovalOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Workos => "workos",
        }
    }
}

impl RemovedMemberItem {
    pub const ENTITY: &'static str = "removed_member";
    const RETENTION_SECONDS: i64 = 90 * 24 * 60 * 60;

    pub fn of(member: &MemberItem, origin: RemovalOrigin, workos_updated_at: Timestamp, now: Timestamp) -> Self {
        Self {
            pk: member.pk.clone(),
            sk: keys::removed_member_sk(&member.user_id),
            entity: Self::ENTITY.to_owned(),
            user_id: member.user_id.clone(),
            membership_id: member.membership_id.clone(),
            origin,
            workos_updated_at,
            removal_id: super::members::new_revision(),
            removed_at: now,
            expires_at: now.unix_seconds() + Self::RETENTION_SECONDS,
        }
    }

    /// Whether `membership_id` at WorkOS time `updated_at` may bring the user back (the rule
    /// the provisioning transaction also states as its condition).
    pub fn admits(&self, membership_id: &str, updated_at: Timestamp) -> bool {
        membership_id != self.membership_id
            || (self.origin == RemovalOrigin::Workos && self.workos_updated_at < updated_at)
    }
}

impl Store {
    /// The record of a removed member, if any.
    pub async fn removed_member(&self, org_id: &str, user_id: &str) -> Result<Option<RemovedMemberItem>, StoreError> {
        self.get(keys::org_pk(org_id), keys::removed_member_sk(user_id)).await
    }
}
