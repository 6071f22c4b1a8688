//! Live updates: tickets (`LIVETICKET#<digest>`), open connections (`ORG#o#LIVE` / `CONN#id`,
//! with `LIVECONN#id` naming the organization for the routes that carry only the connection id),
//! and who of them is told a change (their member and assignment items). The numbered changes are
//! in `changes.rs`.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::ReturnValue;
use serde::{Deserialize, Serialize};

use super::tx::{Commit, Condition, OrgWrite};
use super::{AssignmentItem, MemberItem, Store, StoreError, from_item, key, keys, n, sdk_error, to_item};
use crate::Timestamp;

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

/// A connection lasts at most 2 hours; its items go an hour after that.
const CONNECTION_TTL_SECONDS: i64 = 3 * 3600;

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

    /// Stores an open connection of `user_id` in `org_id`, unless the organization's deletion began
    /// (`OrgGone`) or the member is gone (`Written(false)`): checked in the same transaction, so a
    /// removal that lands between the caller's read and this write leaves no open connection.
    pub async fn open_connection(
        &self,
        connection_id: &str,
        org_id: &str,
        user_id: &str,
        now: Timestamp,
    ) -> Result<OrgWrite<bool>, StoreError> {
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
            to_item(&item(keys::live_connections_pk(org_id), keys::live_connection_sk(user_id, connection_id)))?,
            None,
        )?;
        tx.put(
            "connection_id",
            to_item(&item(keys::live_connection_pk(connection_id), keys::LIVE_SK.to_owned()))?,
            None,
        )?;
        tx.check("member", key(keys::org_pk(org_id), keys::member_sk(user_id)), Condition::present())?;
        match self.commit(tx).await? {
            Commit::OrgGone => Ok(OrgWrite::OrgGone),
            Commit::Cancelled(failure) if failure.is("member") => Ok(OrgWrite::Written(false)),
            other => other.required().map(|()| OrgWrite::Written(true)),
        }
    }

    /// The connection `connection_id` (API Gateway's id), as stored when it opened.
    pub async fn connection(&self, connection_id: &str) -> Result<Option<ConnectionItem>, StoreError> {
        self.get(keys::live_connection_pk(connection_id), keys::LIVE_SK.to_owned()).await
    }

    /// Forgets a connection (both its items). Deleting what is gone already is no error.
    pub async fn forget_connection(&self, connection: &ConnectionItem) -> Result<(), StoreError> {
        let (org_id, connection_id) = (&connection.org_id, &connection.connection_id);
        let org_side =
            key(keys::live_connections_pk(org_id), keys::live_connection_sk(&connection.user_id, connection_id));
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

    /// How many connections `user_id` of `org_id` has open: a counting Query of that member's
    /// prefix alone (a handful of small items; never the organization's thousands).
    pub async fn connections_of_user(&self, org_id: &str, user_id: &str) -> Result<usize, StoreError> {
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", super::s(keys::live_connections_pk(org_id)))
            .expression_attribute_values(":prefix", super::s(keys::live_user_connections_prefix(user_id)))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .consistent_read(true)
            .send()
            .await
            .map_err(super::sdk_error)?;
        Ok(usize::try_from(answer.count).unwrap_or(0))
    }

    /// Which of `customer_ids` the member `user_id` of `org_id` is assigned to (BatchGetItem calls
    /// of 100 keys).
    pub async fn assigned_among(
        &self,
        org_id: &str,
        user_id: &str,
        customer_ids: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        let wanted = customer_ids
            .iter()
            .map(|customer_id| key(keys::org_pk(org_id), keys::assignment_sk(customer_id, user_id)))
            .collect();
        let assignments: Vec<AssignmentItem> = self.join(wanted).await?;
        Ok(assignments.into_iter().map(|a| a.customer_id).collect())
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
