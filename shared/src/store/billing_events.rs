//! The record of every verified Lemon Squeezy delivery: applied, duplicate, stale, ignored, or
//! unmatched (retried while it may still match, then abandoned).

use super::tx::Commit;
use serde::{Deserialize, Serialize};

use super::{Item, Store, StoreError, from_item, key, keys, n, s, sdk_error, to_item};
use crate::Timestamp;
use crate::domain::billing::BillingOutcome;

/// A verified Lemon Squeezy delivery, kept 90 days for audit and replay: in its organization's
/// `ORG#o#EVENTS` partition, or, when it matched no organization, in one of
/// [`keys::UNMATCHED_SHARDS`] `LS#EVENTS#<shard>` partitions (by its hash, so no one partition
/// takes every unmatched event). Its key is the body's hash, so a second delivery of the same
/// body is a duplicate. An unmatched event that may still match (it names a subscription) is
/// also in GSI1 `LS#RETRY#<shard>` until it matches or is abandoned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingEventItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    pub retry_pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    pub retry_sk: Option<String>,
    pub entity: String,
    pub event_name: String,
    pub org_id: Option<String>,
    pub subscription_id: Option<String>,
    pub received_at: Timestamp,
    pub outcome: BillingOutcome,
    /// The raw body, unless it is over [`BillingEventItem::MAX_STORED_BODY_BYTES`].
    pub body: Option<String>,
    pub body_bytes: usize,
    /// Retries of an unmatched event so far.
    #[serde(default)]
    pub attempts: u32,
    /// TTL (epoch seconds).
    pub expires_at: i64,
}

impl BillingEventItem {
    pub const ENTITY: &'static str = "billing_event";
    const RETENTION_SECONDS: i64 = 90 * 24 * 60 * 60;
    /// Lemon Squeezy's events are a few KiB; a larger body is recorded without its text.
    pub const MAX_STORED_BODY_BYTES: usize = 32 * 1024;

    pub fn new(
        org_id: Option<&str>,
        body_hash: &str,
        event_name: &str,
        subscription_id: Option<&str>,
        body: &str,
        outcome: BillingOutcome,
        now: Timestamp,
    ) -> Self {
        let body_bytes = body.len();
        let body = (body_bytes <= Self::MAX_STORED_BODY_BYTES).then(|| body.to_owned());
        let retryable = outcome == BillingOutcome::Unmatched && subscription_id.is_some() && body.is_some();
        Self {
            pk: match org_id {
                Some(org_id) => keys::org_events_pk(org_id),
                None => keys::unmatched_events_pk(body_hash),
            },
            sk: keys::billing_event_sk(body_hash),
            retry_pk: retryable.then(|| keys::retry_events_gsi1pk(body_hash)),
            retry_sk: retryable.then(|| format!("{now}#{body_hash}")),
            entity: Self::ENTITY.to_owned(),
            event_name: event_name.to_owned(),
            org_id: org_id.map(str::to_owned),
            subscription_id: subscription_id.map(str::to_owned),
            received_at: now,
            outcome,
            body_bytes,
            body,
            attempts: 0,
            expires_at: now.unix_seconds() + Self::RETENTION_SECONDS,
        }
    }
}
/// A record's place in its shard of the retry index: its key and its GSI1 sort key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPosition {
    pub pk: String,
    pub sk: String,
    pub retry_sk: String,
}

impl BillingEventItem {
    /// Its place in the retry index; none once it left it.
    pub fn retry_position(&self) -> Option<RetryPosition> {
        let retry_sk = self.retry_sk.clone()?;
        Some(RetryPosition { pk: self.pk.clone(), sk: self.sk.clone(), retry_sk })
    }
}

/// What storing an event's record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Fresh,
    /// A record of the same body is stored.
    Duplicate,
    /// Its organization's deletion began: nothing was stored.
    OrgDeleted,
}

impl Store {
    /// Stores an event record unless one with the same body is stored. A record under an
    /// organization is a transaction, so that the deletion guard keeps it out of an organization
    /// being deleted.
    pub async fn record_billing_event(&self, record: &BillingEventItem) -> Result<Recorded, StoreError> {
        if record.org_id.is_none() {
            let fresh = self.put_if(to_item(record)?, "attribute_not_exists(PK)", vec![]).await?;
            return Ok(if fresh { Recorded::Fresh } else { Recorded::Duplicate });
        }
        let mut tx = self.tx();
        tx.put("record", to_item(record)?, Some(super::tx::Condition::absent()))?;
        match self.commit(tx).await? {
            Commit::Committed => Ok(Recorded::Fresh),
            Commit::Cancelled(failure) if failure.is("record") => Ok(Recorded::Duplicate),
            Commit::OrgGone => Ok(Recorded::OrgDeleted),
            other => other.required().map(|()| Recorded::Fresh),
        }
    }

    /// A page of one shard's unmatched events that are still to be retried, after `after` (jobs
    /// only: GSI1 `LS#RETRY#<shard>`; every change to a record is conditioned on its base item).
    /// Answers the page and whether the shard goes on after it.
    pub async fn retryable_billing_events(
        &self,
        shard: u32,
        after: Option<&RetryPosition>,
        limit: i32,
    ) -> Result<(Vec<BillingEventItem>, bool), StoreError> {
        let shard_pk = keys::retry_shard_gsi1pk(shard);
        let start = after.map(|position| {
            Item::from([
                ("PK".to_owned(), s(&position.pk)),
                ("SK".to_owned(), s(&position.sk)),
                ("GSI1PK".to_owned(), s(&shard_pk)),
                ("GSI1SK".to_owned(), s(&position.retry_sk)),
            ])
        });
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :shard")
            .expression_attribute_values(":shard", s(shard_pk.clone()))
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(sdk_error)?;
        let records = page.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((records, page.last_evaluated_key.is_some()))
    }

    /// Counts a retry that still found no organization; the `max_attempts`-th abandons the
    /// event (it leaves the retry index, and stays on record). Answers what the record is now;
    /// a record changed meanwhile (another run) is left alone.
    pub async fn note_unmatched_retry(
        &self,
        record: &BillingEventItem,
        max_attempts: u32,
    ) -> Result<BillingOutcome, StoreError> {
        let attempts = record.attempts + 1;
        let abandon = attempts >= max_attempts;
        let expression = if abandon {
            "SET attempts = :attempts, #outcome = :abandoned REMOVE GSI1PK, GSI1SK"
        } else {
            "SET attempts = :attempts"
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(record.pk.clone(), record.sk.clone())))
            .update_expression(expression)
            .condition_expression("#outcome = :unmatched AND attempts = :seen")
            .expression_attribute_names("#outcome", "outcome")
            .expression_attribute_values(":attempts", n(attempts))
            .expression_attribute_values(":seen", n(record.attempts))
            .expression_attribute_values(":unmatched", s(BillingOutcome::Unmatched.as_str()));
        if abandon {
            request = request.expression_attribute_values(":abandoned", s(BillingOutcome::Abandoned.as_str()));
        }
        let held = super::condition_held(request.send().await.map_err(sdk_error))?;
        Ok(if held && abandon { BillingOutcome::Abandoned } else { BillingOutcome::Unmatched })
    }

    /// Drops an unmatched event's record once it has been matched and recorded under its org.
    pub async fn forget_unmatched(&self, record: &BillingEventItem) -> Result<(), StoreError> {
        let values = vec![(":unmatched", s(BillingOutcome::Unmatched.as_str()))];
        let condition = Some("#outcome = :unmatched");
        self.delete_if(key(record.pk.clone(), record.sk.clone()), condition, vec![("#outcome", "outcome")], values)
            .await
            .map(drop)
    }
}
