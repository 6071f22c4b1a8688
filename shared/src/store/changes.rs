//! Each organization's numbered changes, for the live updates' order and resume:
//! `ORG#o#CHANGES` / `SEQ#n` (the change), `ENTRY#<audit entry id>` (the number an entry got).
//!
//! The number: `live-broadcast` takes the next value of a counter on the org item (an
//! UpdateItem that requires the organization live, so no number is taken in a deleting one) and
//! stores the change under it, with the audit entry's id mapped to it, in one guarded transaction.
//! A second delivery of the same entry (a retried batch) finds its number and keeps it. The order
//! is the order in which the broadcaster read the entries: see docs/live-updates.md for why that
//! is the order of the writes, and where it is not.

use aws_sdk_dynamodb::types::ReturnValue;
use serde::{Deserialize, Serialize};

use super::tx::{Commit, Condition, OrgWrite};
use super::{Store, StoreError, from_item, key, keys, n, s, sdk_error, to_item};
use crate::Timestamp;
use crate::domain::live::{Change, Seq};

/// A numbered change, kept for resuming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub seq: u64,
    pub at: Timestamp,
    pub change: Change,
    pub expires_at: i64,
}

impl ChangeItem {
    pub fn seq(&self) -> Seq {
        Seq(self.seq)
    }

    /// Whether it is still kept at `now` (DynamoDB's TTL removes an item some time after).
    pub fn kept(&self, now: Timestamp) -> bool {
        self.expires_at > now.unix_seconds()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntrySeqItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: String,
    seq: u64,
    expires_at: i64,
}

/// Changes are kept 24 hours for resuming, and an hour more so a resume at the edge finds them.
pub const CHANGE_RETENTION_SECONDS: i64 = 25 * 3600;

impl Store {
    /// The number of the audit entry `entry_id` of `org_id`, taken now if it has none, with the
    /// change stored under it. `OrgGone`: the organization's deletion began; nothing is told.
    pub async fn number_change(
        &self,
        org_id: &str,
        entry_id: &str,
        change: &Change,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<OrgWrite<Seq>, StoreError> {
        // No read first: a second delivery of the entry (rare) meets the `entry` condition below
        // and reads the number then, leaving the number it took unused.
        let entry_key = (keys::changes_pk(org_id), keys::change_entry_sk(entry_id));
        let Some(seq) = self.next_seq(org_id).await? else { return Ok(OrgWrite::OrgGone) };
        let expires_at = now.unix_seconds() + CHANGE_RETENTION_SECONDS;
        let numbered = ChangeItem {
            pk: keys::changes_pk(org_id),
            sk: keys::change_sk(seq),
            entity: "live_change".to_owned(),
            seq: seq.0,
            at,
            change: change.clone(),
            expires_at,
        };
        let entry = EntrySeqItem {
            pk: entry_key.0.clone(),
            sk: entry_key.1.clone(),
            entity: "live_entry".to_owned(),
            seq: seq.0,
            expires_at,
        };
        let mut tx = self.tx();
        tx.put("entry", to_item(&entry)?, Some(Condition::absent()))?;
        tx.put("change", to_item(&numbered)?, None)?;
        match self.commit(tx).await? {
            Commit::Committed => Ok(OrgWrite::Written(seq)),
            Commit::OrgGone => Ok(OrgWrite::OrgGone),
            // Numbered meanwhile by another delivery of the same entry: its number stands (this
            // one is a gap, which a resume skips).
            Commit::Cancelled(failure) if failure.is("entry") => {
                let known: Option<EntrySeqItem> = self.get(entry_key.0, entry_key.1).await?;
                known.map(|k| OrgWrite::Written(Seq(k.seq))).ok_or(StoreError::Changed("the change's number went"))
            }
            other => other.required().map(|()| OrgWrite::Written(seq)),
        }
    }

    /// The next number of the organization's counter; `None` once its deletion began.
    async fn next_seq(&self, org_id: &str) -> Result<Option<Seq>, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org_pk(org_id), keys::ORG_SK.to_owned())))
            .update_expression("ADD liveSeq :one")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(deletion)")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk_error);
        match output {
            Ok(output) => {
                let value = output.attributes.as_ref().and_then(|a| a.get("liveSeq"));
                let seq = value.and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok());
                seq.map(|seq| Some(Seq(seq))).ok_or_else(|| StoreError::Corrupt("liveSeq is not a number".into()))
            }
            Err(StoreError::ConditionFailed) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The change numbered `seq`, if it is still stored.
    pub async fn change(&self, org_id: &str, seq: Seq) -> Result<Option<ChangeItem>, StoreError> {
        self.get(keys::changes_pk(org_id), keys::change_sk(seq)).await
    }

    /// The changes after `after`, in order, at most `limit`.
    pub async fn changes_after(&self, org_id: &str, after: Seq, limit: i32) -> Result<Vec<ChangeItem>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(keys::changes_pk(org_id)))
            .expression_attribute_values(":from", s(keys::change_sk(Seq(after.0 + 1))))
            .expression_attribute_values(":to", s(keys::change_sk(Seq::LAST)))
            .consistent_read(true)
            .limit(limit)
            .send()
            .await
            .map_err(sdk_error)?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }
}
