//! The single DynamoDB table: key builders, typed items and every read and write the functions
//! make. Handlers never build a key or call the SDK; every tenant call takes the org id and
//! builds its `ORG#…` keys here. See docs/data-model.md.

mod batch;
mod billing;
mod cursor;
mod customers;
mod invitations;
pub mod items;
pub mod keys;
mod members;
mod mirror;
mod tx;
mod usage;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure, Update};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use billing::Applied;
pub use cursor::CursorKey;
pub use items::*;
pub use members::Arrival;
pub use mirror::SyncState;
pub use tx::TxFailure;
pub use usage::UsageChange;

use crate::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the item in another state than it required.
    #[error("a write condition did not hold")]
    ConditionFailed,
    /// A transaction was cancelled because the conditions of these named actions failed.
    #[error("a transaction's conditions failed: {0:?}")]
    Cancelled(TxFailure),
    #[error("DynamoDB failed: {0}")]
    Unavailable(String),
    #[error("a stored item could not be read: {0}")]
    Corrupt(String),
    /// The change would leave the organization without an admin.
    #[error("the organization must keep at least one admin")]
    LastAdmin,
    /// The plan allows no more of `resource`.
    #[error("the plan allows no more {resource}")]
    LimitReached { resource: &'static str, limit: u64, usage: u64 },
    /// The item is no longer in the state the change was made against (a concurrent change).
    #[error("{0}")]
    Changed(&'static str),
    #[error("the cursor was not issued for this list")]
    InvalidCursor,
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::LastAdmin => ApiError::LastAdmin,
            StoreError::LimitReached { resource, limit, usage } => {
                ApiError::PlanLimitReached { resource, limit, usage }
            }
            StoreError::Changed(what) => ApiError::Conflict(what.to_owned()),
            // A condition no caller explained: the items changed under the request.
            StoreError::Cancelled(_) | StoreError::ConditionFailed => {
                ApiError::Conflict("the data changed meanwhile; retry".to_owned())
            }
            StoreError::InvalidCursor => ApiError::InvalidCursor,
            other => ApiError::Upstream(other.to_string()),
        }
    }
}

/// One page of a list: API.md's `{"items": [...], "nextCursor": ...}`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

/// A query over one partition, optionally filtered, read page by page until `limit` items match.
struct ListQuery<'a> {
    org_id: &'a str,
    /// Names the list inside the cursor, so a cursor of one list is refused by another.
    list: &'a str,
    index: Option<&'a str>,
    key_condition: &'a str,
    filter: Option<&'a str>,
    names: Vec<(&'a str, &'a str)>,
    values: Vec<(&'a str, AttributeValue)>,
}

impl<'a> ListQuery<'a> {
    /// The items of the org's own partition whose sort key starts with `prefix`.
    fn prefixed(org_id: &'a str, list: &'a str, prefix: String) -> Self {
        Self {
            org_id,
            list,
            index: None,
            key_condition: "PK = :pk AND begins_with(SK, :prefix)",
            filter: None,
            names: vec![],
            values: vec![(":pk", s(keys::org_pk(org_id))), (":prefix", s(prefix))],
        }
    }

    /// The items of one GSI1 partition, in its sort order.
    fn gsi1(org_id: &'a str, list: &'a str, partition: String) -> Self {
        Self {
            org_id,
            list,
            index: Some("GSI1"),
            key_condition: "GSI1PK = :pk",
            filter: None,
            names: vec![],
            values: vec![(":pk", s(partition))],
        }
    }
}

type Item = HashMap<String, AttributeValue>;

fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A string attribute, or NULL.
fn opt(value: Option<&str>) -> AttributeValue {
    value.map_or(AttributeValue::Null(true), |v| AttributeValue::S(v.to_owned()))
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

fn sdk_error<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = error.as_service_error().and_then(|e| e.code().map(str::to_owned));
    if code.as_deref() == Some("ConditionalCheckFailedException") {
        return StoreError::ConditionFailed;
    }
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
}

/// The outcome of a conditional write: `true` if it was made, `false` if its condition did
/// not hold (an answer, not a failure).
fn condition_held<T>(result: Result<T, StoreError>) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Unix seconds now.
pub fn epoch_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The table, with the client built once per cold start.
#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    cursor_key: CursorKey,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>, cursor_key: CursorKey) -> Self {
        Self { client, table: table.into(), cursor_key }
    }

    /// Puts an item if `condition` holds; `false` if it did not.
    async fn put_if(
        &self,
        item: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut request =
            self.client.put_item().table_name(&self.table).set_item(Some(item)).condition_expression(condition);
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        condition_held(request.send().await.map_err(sdk_error))
    }

    /// Updates an item that exists; `false` if it does not.
    async fn update_existing(
        &self,
        item_key: Item,
        expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key))
            .update_expression(expression)
            .condition_expression("attribute_exists(PK)");
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        condition_held(request.send().await.map_err(sdk_error))
    }

    /// Deletes an item if `condition` holds (or unconditionally); `false` if it did not.
    async fn delete_if(
        &self,
        item_key: Item,
        condition: Option<&str>,
        names: Vec<(&str, &str)>,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item_key))
            .set_condition_expression(condition.map(str::to_owned));
        for (name, value) in names {
            request = request.expression_attribute_names(name, value);
        }
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        condition_held(request.send().await.map_err(sdk_error))
    }

    async fn get<T: DeserializeOwned>(&self, pk: String, sk: String) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        output.item.map(from_item).transpose()
    }

    /// Every item a query finds, all pages (for jobs and cascades, not request-path lists,
    /// which page with cursors).
    pub(super) async fn query_all<T: DeserializeOwned>(
        &self,
        condition: &str,
        index: Option<&str>,
        filter: Option<&str>,
        values: &[(&str, String)],
    ) -> Result<Vec<T>, StoreError> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(condition)
                .set_filter_expression(filter.map(str::to_owned))
                .set_exclusive_start_key(start)
                .consistent_read(index.is_none());
            for (name, value) in values {
                request = request.expression_attribute_values(*name, s(value));
            }
            let page = request.send().await.map_err(sdk_error)?;
            for item in page.items.unwrap_or_default() {
                all.push(from_item(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(all);
            }
        }
    }

    async fn list<T: DeserializeOwned>(
        &self,
        query: ListQuery<'_>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<T>, StoreError> {
        let mut start = match cursor {
            Some(cursor) => {
                Some(self.cursor_key.decode(query.org_id, query.list, cursor).map_err(|_| StoreError::InvalidCursor)?)
            }
            None => None,
        };
        let mut items = Vec::new();
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(query.index.map(str::to_owned))
                .key_condition_expression(query.key_condition)
                .set_filter_expression(query.filter.map(str::to_owned))
                .set_exclusive_start_key(start.take())
                .consistent_read(query.index.is_none())
                .limit(limit - items.len() as i32);
            for (name, value) in &query.names {
                request = request.expression_attribute_names(*name, *value);
            }
            for (name, value) in &query.values {
                request = request.expression_attribute_values(*name, value.clone());
            }
            let page = request.send().await.map_err(sdk_error)?;
            for item in page.items.unwrap_or_default() {
                items.push(from_item(item)?);
            }
            match page.last_evaluated_key {
                Some(last) if items.len() < limit as usize => start = Some(last),
                Some(last) => {
                    let next_cursor = Some(self.cursor_key.encode(query.org_id, query.list, &last));
                    return Ok(Page { items, next_cursor });
                }
                None => return Ok(Page { items, next_cursor: None }),
            }
        }
    }

    // --- organizations ---------------------------------------------------------------------

    pub async fn get_org(&self, org_id: &str) -> Result<Option<OrgItem>, StoreError> {
        self.get(keys::org_pk(org_id), keys::ORG_SK.to_owned()).await
    }

    /// Renames a stored organization; `None` if it is not stored.
    pub async fn rename_org(
        &self,
        org_id: &str,
        name: &str,
        now: crate::Timestamp,
    ) -> Result<Option<OrgItem>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org_pk(org_id), keys::ORG_SK.to_owned())))
            .update_expression("SET #name = :name, updatedAt = :now")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", s(name))
            .expression_attribute_values(":now", s(now.to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(sdk_error);
        match result {
            Ok(output) => output.attributes.map(from_item).transpose(),
            Err(StoreError::ConditionFailed) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Stores a new organization with its first admin, and marks the idempotency record that
    /// asked for it done, all in one transaction.
    pub async fn create_org_with_admin(
        &self,
        org: &OrgItem,
        admin: &MemberItem,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<(), StoreError> {
        let mut tx = self.tx();
        tx.put("org", to_item(org)?, Some(tx::Condition::absent()))?;
        tx.put("admin", to_item(admin)?, Some(tx::Condition::absent()))?;
        if let Some(claim) = idempotency {
            tx.update("idempotency", self.finish_idempotency(claim, &org.id))?;
        }
        self.commit(tx).await
    }

    // --- members and users ------------------------------------------------------------------

    pub async fn get_member(&self, org_id: &str, user_id: &str) -> Result<Option<MemberItem>, StoreError> {
        self.get(keys::org_pk(org_id), keys::member_sk(user_id)).await
    }

    pub async fn get_profile(&self, user_id: &str) -> Result<Option<UserProfileItem>, StoreError> {
        self.get(keys::user_pk(user_id), keys::PROFILE_SK.to_owned()).await
    }

    /// Stores a user's profile unless a newer WorkOS version is stored already; `false` if so.
    pub async fn put_profile(&self, profile: &UserProfileItem) -> Result<bool, StoreError> {
        let condition = "attribute_not_exists(PK) OR workosUpdatedAt < :updated";
        self.put_if(to_item(profile)?, condition, vec![(":updated", s(profile.workos_updated_at.to_string()))]).await
    }

    // --- idempotency ------------------------------------------------------------------------

    /// Claims an `Idempotency-Key` of a user for a request with `request_hash`. A claim holds a
    /// lease: a request that died half way leaves the key to be claimed again once it runs out,
    /// and the retry that takes it over keeps the record's creation id (so it finishes the same
    /// organization). A key whose record is gone (or lapsed) starts a new record, with a new
    /// creation id: it never leads back to an organization an earlier record made.
    pub async fn claim_idempotency(
        &self,
        user_id: &str,
        idempotency_key: &str,
        request_hash: &str,
        lease_seconds: i64,
    ) -> Result<IdempotencyOutcome, StoreError> {
        let now = epoch_seconds();
        let record = IdempotencyItem::pending(user_id, idempotency_key, request_hash, now, lease_seconds);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&record)?))
            .condition_expression("attribute_not_exists(PK) OR expiresAt < :now")
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(IdempotencyOutcome::Claimed(IdempotencyClaim::of(&record))),
            Err(error) => error,
        };
        let old = error.as_service_error().and_then(|e| match e {
            aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                c.item().cloned()
            }
            _ => None,
        });
        let Some(old) = old else {
            return Err(sdk_error(error));
        };
        let old: IdempotencyItem = from_item(old)?;
        if old.request_hash != request_hash {
            return Ok(IdempotencyOutcome::Mismatch);
        }
        match (old.state, old.org_id.clone()) {
            (IdempotencyState::Done, Some(org_id)) => Ok(IdempotencyOutcome::Done { org_id }),
            (IdempotencyState::Pending, _) if old.lease_until < now => {
                // Take over the lapsed lease, keeping the creation id.
                let taken = IdempotencyItem {
                    lease_id: record.lease_id.clone(),
                    lease_until: record.lease_until,
                    ..old.clone()
                };
                let values = vec![
                    (":lease", s(&old.lease_id)),
                    (":pending", s(IdempotencyState::Pending.as_str())),
                    (":now", n(now)),
                ];
                let condition = "leaseId = :lease AND #state = :pending AND leaseUntil < :now";
                let mut request = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(to_item(&taken)?))
                    .condition_expression(condition)
                    .expression_attribute_names("#state", "state");
                for (name, value) in values {
                    request = request.expression_attribute_values(name, value);
                }
                match condition_held(request.send().await.map_err(sdk_error))? {
                    true => Ok(IdempotencyOutcome::Claimed(IdempotencyClaim::of(&taken))),
                    false => Ok(IdempotencyOutcome::InProgress),
                }
            }
            _ => Ok(IdempotencyOutcome::InProgress),
        }
    }

    /// Gives a claimed key back after a failure, so the client's retry need not wait for the lease.
    /// The lease ends at once; the record, and so its creation id, stays, so that the retry
    /// finishes whatever this attempt made in WorkOS.
    pub async fn release_idempotency(&self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(claim.pk.clone(), claim.sk.clone())))
            .update_expression("SET leaseUntil = :lapsed")
            .condition_expression("leaseId = :lease AND #state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":lapsed", n(0))
            .expression_attribute_values(":lease", s(&claim.lease_id))
            .expression_attribute_values(":pending", s(IdempotencyState::Pending.as_str()))
            .send()
            .await;
        condition_held(result.map_err(sdk_error)).map(drop)
    }

    fn finish_idempotency(
        &self,
        claim: &IdempotencyClaim,
        org_id: &str,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .set_key(Some(key(claim.pk.clone(), claim.sk.clone())))
            .update_expression("SET #state = :done, orgId = :org")
            .condition_expression("leaseId = :lease")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", s(IdempotencyState::Done.as_str()))
            .expression_attribute_values(":org", s(org_id))
            .expression_attribute_values(":lease", s(&claim.lease_id))
    }
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyOutcome {
    /// This request holds the key now and does the work.
    Claimed(IdempotencyClaim),
    /// An earlier request with the same key and body finished and made this organization.
    Done { org_id: String },
    /// A request with the same key and body is under way.
    InProgress,
    /// The key was used with another body.
    Mismatch,
}

/// The lease a request holds on an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pk: String,
    sk: String,
    lease_id: String,
    creation_id: String,
}

impl IdempotencyClaim {
    fn of(record: &IdempotencyItem) -> Self {
        Self {
            pk: record.pk.clone(),
            sk: record.sk.clone(),
            lease_id: record.lease_id.clone(),
            creation_id: record.creation_id.clone(),
        }
    }

    /// Names what this key's record creates: the same across retries of one record, new for a
    /// new record.
    pub fn creation_id(&self) -> &str {
        &self.creation_id
    }
}
