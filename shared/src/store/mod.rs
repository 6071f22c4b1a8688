//! The single DynamoDB table, cut by entity: each file holds an entity's item type and its reads
//! and writes; `keys` is the one place that knows the shape of a key; `tx` builds transactions
//! whose actions carry names; `query` reads pages under signed cursors. Handlers never build a
//! key or call the SDK; every tenant call takes the org id and builds its `ORG#…` keys here.
//! See docs/data-model.md.

mod along;
mod api_keys;
mod assignments;
mod audit;
mod batch;
mod billing;
mod billing_events;
mod changes;
mod cursor;
mod customers;
mod deletion;
mod export;
mod idempotency;
mod imports;
mod invitations;
mod jobs;
pub mod keys;
mod live;
mod members;
mod mirror;
mod orgs;
mod query;
mod removals;
mod subscription_owners;
mod subscriptions;
mod tx;
mod undo;
mod usage;
mod users;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use along::{Along, Found, Reader};
pub use api_keys::{ApiKeyItem, KeyUse};
pub use assignments::{AssignmentItem, StaffAssignmentItem};
pub use audit::{AuditFilter, AuditItem, EntryKey, Event};
pub use billing::{Applied, Delivery};
pub use billing_events::{BillingEventItem, Recorded, RetryPosition};
pub use changes::{CHANGE_RETENTION_SECONDS, ChangeItem};
pub use cursor::CursorKey;
pub use customers::CustomerItem;
pub use deletion::Step;
pub use export::{ExportItem, ExportPage, ExportRecord, MAX_QUERIES_PER_PAGE};
pub use idempotency::{IdempotencyClaim, IdempotencyItem, IdempotencyOutcome, IdempotencyState};
pub use imports::{IMPORT_CHUNK, ImportedCustomerItem, SubscriptionClaim};
pub use invitations::{InvitationItem, InvitationState, InviteeItem};
pub use live::{ConnectionItem, TicketItem};
pub use members::{Arrival, MemberItem, NewMember};
pub use mirror::SyncState;
pub use orgs::{Deletion, OrgItem, OrgRecord, OrgTombstone};
use query::ListQuery;
pub use query::Page;
pub use removals::{RemovalOrigin, RemovedMemberItem};
pub use subscription_owners::{ReconcileState, SubscriptionOwnerItem};
pub use subscriptions::SubscriptionItem;
pub use tx::{OrgWrite, TxFailure};
pub use users::{Profile, UserProfileItem};

use crate::domain::usage::UsageRefusal;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the item in another state than it required.
    #[error("a write condition did not hold")]
    ConditionFailed,
    /// A transaction was cancelled because the conditions of these named actions failed.
    #[error("a transaction's conditions failed: {0:?}")]
    Cancelled(TxFailure),
    /// DynamoDB failed (its SDK error, or what the store found wrong), kept as the source.
    #[error("DynamoDB failed")]
    Unavailable(#[source] crate::error::Cause),
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
    /// A write that depends on the organization's billing summary found it changed since it was
    /// read (another billing event of the organization): read again and retry.
    #[error("the organization's billing changed meanwhile")]
    BillingChanged,
    #[error("the cursor was not issued for this list")]
    InvalidCursor,
    /// The organization's deletion began: it is gone for every reader and writer but the deletion.
    #[error("the organization has been deleted")]
    OrgDeleted,
    #[error("lists are not configured: their cursor key derives from WORKOS_API_KEY, which is not set")]
    NoCursorKey,
}

impl From<UsageRefusal> for StoreError {
    fn from(refusal: UsageRefusal) -> Self {
        match refusal {
            UsageRefusal::LastAdmin => Self::LastAdmin,
            UsageRefusal::LimitReached { resource, limit, usage } => Self::LimitReached { resource, limit, usage },
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
    StoreError::Unavailable(Box::new(error))
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
    /// Signs list cursors; `None` in a function that lists nothing (and so has no key to derive
    /// it from), where a list would be a misconfiguration.
    cursor_key: Option<CursorKey>,
    /// How long audit entries are kept (`AUDIT_RETENTION_DAYS`).
    audit_retention_days: u32,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>, cursor_key: Option<CursorKey>) -> Self {
        let audit_retention_days = crate::domain::audit::DEFAULT_RETENTION_DAYS;
        Self { client, table: table.into(), cursor_key, audit_retention_days }
    }

    /// The same store keeping audit entries `days` days.
    pub fn with_audit_retention(mut self, days: u32) -> Self {
        self.audit_retention_days = days;
        self
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
        self.get_raw(pk, sk).await?.map(from_item).transpose()
    }

    /// An item as stored (strongly consistent).
    async fn get_raw(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(output.item)
    }
}
