//! Live updates: tickets (`LIVETICKET#<digest>`), open connections (`ORG#o#LIVE` / `CONN#id`,
//! with `LIVECONN#id` naming the organization for the routes that carry only the connection id),
//! and each organization's numbered changes (`ORG#o#CHANGES` / `SEQ#n`, `ENTRY#<audit entry>`).
//!
//! The number: `live-broadcast` takes the next value of a counter on the org item (an
//! UpdateItem that requires the organization live, so no number is taken in a deleting one) and
//! stores the change under it, with the audit entry's id mapped to it, in one guarded transaction.
//! A second delivery of the same entry (a retried batch) finds its number and keeps it. The order
//! is the order in which the broadcaster read the entries: see docs/live-updates.md for why that
//! is the order of the writes, and where it is not.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::ReturnValue;
use serde::{Deserialize, Serialize};

use super::tx::{Commit, Condition, OrgWrite};
use super::{AssignmentItem, MemberItem, Store, StoreError, from_item, key, keys, n, s, sdk_error, to_item};
use crate::Timestamp;
use crate::domain::live::{Change, Seq};

/// A ticket, stored under the digest of its secret until it is used or expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub org_id: String,
    pub user_id: String,
    /// Unix seconds: the ticket is refused from then on (and DynamoDB's TTL removes it later).
    pub expires_at: i64,
}

/// An open connection, under its organization and under its own id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub connection_id: String,
    pub org_id: String,
    pub user_id: String,
    pub connected_at: Timestamp,
    /// Past API Gateway's 2-hour limit: a connection whose `$disconnect` never came goes.
    pub expires_at: i64,
}

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

/// A connection lasts at most 2 hours; its items go an hour after that.
const CONNECTION_TTL_SECONDS: i64 = 3 * 3600;
/// Changes are kept 24 hours for resuming, and an hour more so a resume at the edge finds them.
pub const CHANGE_RETENTION_SECONDS: i64 = 25 * 3600;

impl Store {
    /// Stores a ticket (by the digest of its secret) for `user_id` of `org_id`.
    pub async fn put_ticket(
        &self,
        digest: &str,
        org_id: &str,
        user_id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let item = TicketItem {
            pk: keys::live_ticket_pk(digest),
            sk: keys::LIVE_SK.to_owned(),
            entity: "live_ticket".to_owned(),
            org_id: org_id.to_owned(),
            user_id: user_id.to_owned(),
            expires_at,
        };
        self.put_if(to_item(&item)?, "attribute_not_exists(PK)", vec![]).await?;
        Ok(())
    }

    /// Uses a ticket: deletes it if it exists and has not expired at `now`, and answers what it
    /// was for. A second use, an expired or an unknown ticket: `None`.
    pub async fn take_ticket(&self, digest: &str, now: Timestamp) -> Result<Option<TicketItem>, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::live_ticket_pk(digest), keys::LIVE_SK.to_owned())))
            .condition_expression("attribute_exists(PK) AND expiresAt > :now")
            .expression_attribute_values(":now", n(now.unix_seconds()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_error);
        match output {
            Ok(output) => output.attributes.map(from_item).transpose(),
            Err(StoreError::ConditionFailed) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Stores an open connection of `user_id` in `org_id`, unless the organization's deletion began.
    pub async fn open_connection(
        &self,
        connection_id: &str,
        org_id: &str,
        user_id: &str,
        now: Timestamp,
    ) -> Result<OrgWrite<()>, StoreError> {
        let item = |pk: String, sk: String| ConnectionItem {
            pk,
            sk,
            entity: "live_connection".to_owned(),
            connection_id: connection_id.to_owned(),
            org_id: org_id.to_owned(),
            user_id: user_id.to_owned(),
            connected_at: now,
            expires_at: now.unix_seconds() + CONNECTION_TTL_SECONDS,
        };
        let mut tx = self.tx();
        tx.put(
            "connection",
            to_item(&item(keys::live_connections_pk(org_id), keys::live_connection_sk(connection_id)))?,
            None,
        )?;
        tx.put(
            "connection_id",
            to_item(&item(keys::live_connection_pk(connection_id), keys::LIVE_SK.to_owned()))?,
            None,
        )?;
        match self.commit(tx).await? {
            Commit::OrgGone => Ok(OrgWrite::OrgGone),
            other => other.required().map(OrgWrite::Written),
        }
    }

    /// The connection `connection_id` (API Gateway's id), as stored when it opened.
    pub async fn connection(&self, connection_id: &str) -> Result<Option<ConnectionItem>, StoreError> {
        self.get(keys::live_connection_pk(connection_id), keys::LIVE_SK.to_owned()).await
    }

    /// Forgets a connection (both its items). Deleting what is gone already is no error.
    pub async fn forget_connection(&self, org_id: &str, connection_id: &str) -> Result<(), StoreError> {
        let org_side = key(keys::live_connections_pk(org_id), keys::live_connection_sk(connection_id));
        let own = key(keys::live_connection_pk(connection_id), keys::LIVE_SK.to_owned());
        let (a, b) =
            tokio::join!(self.delete_if(org_side, None, vec![], vec![]), self.delete_if(own, None, vec![], vec![]));
        a?;
        b?;
        Ok(())
    }

    /// The organization's open connections (one Query page per 1 MB; a connection item is
    /// about 250 bytes, so some 4,000 a page).
    pub async fn connections_of_org(&self, org_id: &str) -> Result<Vec<ConnectionItem>, StoreError> {
        let values = [(":pk", keys::live_connections_pk(org_id))];
        self.query_all("PK = :pk", None, None, &values).await
    }

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
        let entry_key = (keys::changes_pk(org_id), keys::change_entry_sk(entry_id));
        if let Some(known) = self.get::<EntrySeqItem>(entry_key.0.clone(), entry_key.1.clone()).await? {
            return Ok(OrgWrite::Written(Seq(known.seq)));
        }
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

    /// The members `user_ids` of `org_id` as stored now, and which of them are assigned to
    /// `customer_id` (when given): what deciding who is told of a change needs, in BatchGetItem
    /// calls of 100 keys.
    pub async fn recipients(
        &self,
        org_id: &str,
        user_ids: &[&str],
        customer_id: Option<&str>,
    ) -> Result<(HashMap<String, MemberItem>, HashSet<String>), StoreError> {
        let mut wanted = Vec::new();
        for user_id in user_ids {
            wanted.push(key(keys::org_pk(org_id), keys::member_sk(user_id)));
            if let Some(customer_id) = customer_id {
                wanted.push(key(keys::org_pk(org_id), keys::assignment_sk(customer_id, user_id)));
            }
        }
        let (mut members, mut assigned) = (HashMap::new(), HashSet::new());
        for item in self.batch_get(wanted).await? {
            match item.get("entity").and_then(|e| e.as_s().ok()).map(String::as_str) {
                Some(MemberItem::ENTITY) => {
                    let member: MemberItem = from_item(item)?;
                    members.insert(member.user_id.clone(), member);
                }
                Some(AssignmentItem::ENTITY) => {
                    let assignment: AssignmentItem = from_item(item)?;
                    assigned.insert(assignment.user_id);
                }
                _ => {}
            }
        }
        Ok((members, assigned))
    }
}
