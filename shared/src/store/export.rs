//! `GET /org/export`: everything an organization owns, as typed records, page by page. The
//! organization's own partition is read in key order (the org item, its billing state, members,
//! invitations, customers, assignments), then its audit partitions, newest month first. Internal
//! items (the invitee guards, the staff side of assignments, removal records) are left out: they
//! repeat what the records hold or are bookkeeping, not the customer's data.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde_json::{Map, Value};

use super::audit::resume_at;
use super::{
    AssignmentItem, AuditItem, CustomerItem, InvitationItem, Item, MemberItem, OrgItem, Store, StoreError, from_item,
    keys, n, sdk_error,
};
use crate::Timestamp;

/// A page stops taking records once its records pass this many bytes of JSON. An item is at most
/// 400 KB, so a page stays under 1 MiB, Lambda's response limit being 6 MB and API Gateway's
/// 10 MB, with room for the envelope.
const PAGE_BUDGET_BYTES: usize = 512 * 1024;

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

/// The records a stored item makes (none for internal items).
fn records_of(item: Item) -> Result<Vec<ExportRecord>, StoreError> {
    let entity = item.get("entity").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let Value::Object(mut data) = from_item::<Value>(item)? else { return Ok(vec![]) };
    for internal in ["PK", "SK", "GSI1PK", "GSI1SK", "entity", "revision"] {
        data.remove(internal);
    }
    let record = |kind, data: Map<String, Value>| ExportRecord { kind, data: Value::Object(data) };
    Ok(match entity.as_str() {
        OrgItem::ENTITY => {
            let mut billing = Map::new();
            for field in ["subscriptions", "payments"] {
                billing.insert(field.to_owned(), data.remove(field).unwrap_or(Value::Null));
            }
            vec![record("org", data), record("billing", billing)]
        }
        MemberItem::ENTITY => vec![record("member", data)],
        InvitationItem::ENTITY => vec![record("invitation", data)],
        CustomerItem::ENTITY => vec![record("customer", data)],
        AssignmentItem::ENTITY => vec![record("assignment", data)],
        AuditItem::ENTITY => vec![record("audit", data)],
        _ => vec![],
    })
}

impl Store {
    /// One page of the organization's export, from `cursor` (signed, as every list's).
    pub async fn export_page(&self, org_id: &str, cursor: Option<&str>) -> Result<ExportPage, StoreError> {
        let (cursor_key, mut start) = self.cursor_start(org_id, "export", cursor)?;
        let now = Timestamp::now();
        let mut partitions = vec![keys::org_pk(org_id)];
        partitions.extend(self.audit_partitions(org_id, now));
        resume_at(&mut partitions, start.as_ref())?;
        let (mut items, mut bytes) = (Vec::new(), 0);
        for partition in &partitions {
            let audit = partition != &keys::org_pk(org_id);
            loop {
                let mut request = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk")
                    .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
                    .consistent_read(true)
                    .set_exclusive_start_key(start.take())
                    .limit(100);
                if audit {
                    request = request
                        .scan_index_forward(false)
                        .filter_expression("expiresAt > :now")
                        .expression_attribute_values(":now", n(now.unix_seconds()));
                }
                let page = request.send().await.map_err(sdk_error)?;
                for item in page.items.unwrap_or_default() {
                    let key = super::key(
                        item.get("PK").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default(),
                        item.get("SK").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default(),
                    );
                    for record in records_of(item)? {
                        bytes += serde_json::to_vec(&record).map(|v| v.len()).unwrap_or_default();
                        items.push(record);
                    }
                    if bytes >= PAGE_BUDGET_BYTES {
                        // The next page starts after this item (a record never splits).
                        let next_cursor = Some(cursor_key.encode(org_id, "export", &key));
                        return Ok(ExportPage { items, next_cursor });
                    }
                }
                match page.last_evaluated_key {
                    Some(last) => start = Some(last),
                    None => break,
                }
            }
        }
        Ok(ExportPage { items, next_cursor: None })
    }
}
