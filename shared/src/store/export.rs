//! `GET /org/export`: everything an organization owns, page by page. The organization's own
//! partition is read in key order (the org item, API keys, assignments, customers, invitations,
//! members),
//! then its audit partitions, newest month first. Internal items (the invitee guards, the staff
//! side of assignments, removal records, subscription items that the billing record sums up) make
//! no record: they repeat what the records hold or are bookkeeping, not the customer's data.
//!
//! The store hands out stored items ([`ExportItem`]); the caller turns each into records in the
//! shape its route shows (`api::export::export_records`), so the export reads like the API.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde_json::Value;

use super::audit::resume_at;
use super::{
    ApiKeyItem, AssignmentItem, AuditItem, CustomerItem, InvitationItem, Item, MemberItem, OrgItem, Store, StoreError,
    from_item, keys, n, sdk_error,
};
use crate::Timestamp;

/// A page stops taking records once its records pass this many bytes of JSON. An item is at most
/// 400 KB, so a page stays under 1 MiB, Lambda's response limit being 6 MB and API Gateway's
/// 10 MB, with room for the envelope.
const PAGE_BUDGET_BYTES: usize = 512 * 1024;

/// Query calls one page may make: a request's work is bounded whatever the partition holds (a
/// long run of internal items makes a short page, even an empty one, that still has a cursor).
pub const MAX_QUERIES_PER_PAGE: usize = 16;

/// Items one Query call reads.
const QUERY_LIMIT: i32 = 250;

/// One record of the export: `{"type": "customer", "data": {…}}`.
#[derive(Debug, Clone, Serialize)]
pub struct ExportRecord {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub data: Value,
}

/// A page of records, and where the next one starts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportPage {
    pub items: Vec<ExportRecord>,
    pub next_cursor: Option<String>,
}

/// A stored item that the export shows.
#[derive(Debug, Clone)]
pub enum ExportItem {
    Org(Box<OrgItem>),
    Member(MemberItem),
    Invitation(InvitationItem),
    Customer(CustomerItem),
    Assignment(AssignmentItem),
    Audit(AuditItem),
    ApiKey(ApiKeyItem),
}

impl ExportItem {
    /// The item as the export shows it; `None` for internal items.
    fn of(item: Item) -> Result<Option<Self>, StoreError> {
        let entity = item.get("entity").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        Ok(Some(match entity.as_str() {
            OrgItem::ENTITY => Self::Org(Box::new(from_item(item)?)),
            MemberItem::ENTITY => Self::Member(from_item(item)?),
            InvitationItem::ENTITY => Self::Invitation(from_item(item)?),
            CustomerItem::ENTITY => Self::Customer(from_item(item)?),
            AssignmentItem::ENTITY => Self::Assignment(from_item(item)?),
            AuditItem::ENTITY => Self::Audit(from_item(item)?),
            ApiKeyItem::ENTITY => Self::ApiKey(from_item(item)?),
            _ => return Ok(None),
        }))
    }
}

fn key_of(item: &Item) -> Item {
    item.iter().filter(|(name, _)| *name == "PK" || *name == "SK").map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl Store {
    /// One page of the organization's export, from `cursor` (signed, as every list's), each item
    /// made into records by `records_of`. At most [`MAX_QUERIES_PER_PAGE`] Query calls.
    pub async fn export_page(
        &self,
        org_id: &str,
        cursor: Option<&str>,
        mut records_of: impl FnMut(ExportItem) -> Vec<ExportRecord>,
    ) -> Result<ExportPage, StoreError> {
        let (cursor_key, start) = self.cursor_start(org_id, "export", cursor)?;
        let now = Timestamp::now();
        let mut partitions = vec![keys::org_pk(org_id)];
        partitions.extend(self.audit_partitions(org_id, now));
        resume_at(&mut partitions, start.as_ref())?;
        // A cursor with only `PK` starts at the beginning of that partition.
        let mut start = start.filter(|key| key.contains_key("SK"));
        let (mut items, mut bytes, mut queries) = (Vec::new(), 0, 0);
        let page = |items, next: Option<Item>| ExportPage {
            items,
            next_cursor: next.map(|key| cursor_key.encode(org_id, "export", &key)),
        };
        for partition in &partitions {
            let audit = partition != &keys::org_pk(org_id);
            loop {
                if queries == MAX_QUERIES_PER_PAGE {
                    // The next request goes on where this partition was left, or begins it.
                    let beginning = || Item::from([("PK".to_owned(), AttributeValue::S(partition.clone()))]);
                    return Ok(page(items, Some(start.take().unwrap_or_else(beginning))));
                }
                queries += 1;
                let mut request = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk")
                    .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
                    .consistent_read(true)
                    .set_exclusive_start_key(start.take())
                    .limit(QUERY_LIMIT);
                if audit {
                    request = request
                        .scan_index_forward(false)
                        .filter_expression("expiresAt > :now")
                        .expression_attribute_values(":now", n(now.unix_seconds()));
                }
                let answer = request.send().await.map_err(sdk_error)?;
                for item in answer.items.unwrap_or_default() {
                    let key = key_of(&item);
                    for record in ExportItem::of(item)?.map(&mut records_of).unwrap_or_default() {
                        bytes += serde_json::to_vec(&record).map(|v| v.len()).unwrap_or_default();
                        items.push(record);
                    }
                    if bytes >= PAGE_BUDGET_BYTES {
                        // The next page starts after this item (a record never splits).
                        return Ok(page(items, Some(key)));
                    }
                }
                match answer.last_evaluated_key {
                    Some(last) => start = Some(last),
                    None => break,
                }
            }
        }
        Ok(page(items, None))
    }
}
