//! Audit entries: `ORG#o#AUDIT#<yyyy-mm>` / `AUDIT#<ulid>`, written only inside the
//! transaction of the change they describe ([`Store::audit`]), read newest first.
//!
//! An organization's entries spread over one partition per calendar month, so no partition
//! holds more than a month of one organization's history and the oldest months age out whole
//! (TTL on `expiresAt`). Within a month, writes arrive at the pace of the API's throttle, far
//! under the 1,000 writes a second one partition takes.

use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::tx::{Condition, Tx};
use super::{Item, MemberItem, Page, Store, StoreError, from_item, keys, n, s, sdk_error, to_item};
use crate::Timestamp;
use crate::domain::audit::{Action, Actor, Changes, Origin, Target, TargetKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub id: String,
    pub org_id: String,
    pub at: Timestamp,
    pub actor: Actor,
    /// The acting user's id, for the `actorId` filter (services have none).
    pub actor_id: Option<String>,
    pub action: Action,
    pub target: Target,
    /// The target's id, for the `targetId` filter.
    pub target_id: String,
    pub changes: Changes,
    pub request_id: Option<String>,
    /// Unix seconds: DynamoDB's TTL removes the entry after the retention, and reads skip it from then.
    pub expires_at: i64,
}

impl AuditItem {
    pub const ENTITY: &'static str = "audit";
}

/// What one change records, besides who made it.
#[derive(Debug, Clone)]
pub struct Event {
    pub action: Action,
    pub target: Target,
    pub changes: Changes,
}

impl Event {
    pub fn new(action: Action, target: Target, changes: Changes) -> Self {
        Self { action, target, changes }
    }
}

/// The most Query requests that read a month's entries for one page (each evaluates at most
/// `limit` entries; a month with none left costs one more): a filter that matches few entries of
/// a busy organization answers a short page with a cursor instead of reading a year of entries.
const MAX_QUERIES_PER_PAGE: usize = 10;

/// The ids of this process's entries, in the order they were made.
static ENTRY_IDS: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());

/// An entry's id: its time is the entry's `at`, so the newest-first order of the keys is the
/// order of `at`, and the entries one process makes within a millisecond (a change and its
/// cascade) keep the order they were made in.
fn entry_id(at: Timestamp) -> ulid::Ulid {
    let since_epoch = std::time::Duration::from_millis(u64::try_from(at.unix_millis()).unwrap_or_default());
    let time = std::time::UNIX_EPOCH + since_epoch;
    let generated = ENTRY_IDS.lock().ok().and_then(|mut ids| ids.generate_from_datetime(time).ok());
    generated.unwrap_or_else(|| ulid::Ulid::from_datetime(time))
}

/// Where an entry was written: the undo of a change takes the change's entry away with it, so a
/// change that did not last leaves no entry (no entry without its change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryKey {
    pk: String,
    sk: String,
}

/// Filters of `GET /audit-log`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<Action>,
    pub target_id: Option<String>,
    pub actor_id: Option<String>,
}

impl Store {
    /// Adds the entry of `event` to `tx`: the change and its entry land together or not at all.
    pub(super) fn audit(
        &self,
        tx: &mut Tx,
        org_id: &str,
        origin: &Origin,
        event: Event,
    ) -> Result<EntryKey, StoreError> {
        let at = Timestamp::now();
        let id = entry_id(at).to_string();
        let item = AuditItem {
            pk: keys::audit_pk(org_id, at),
            sk: keys::audit_sk(&id),
            entity: AuditItem::ENTITY.into(),
            id: format!("aud_{}", id.to_lowercase()),
            org_id: org_id.to_owned(),
            at,
            actor_id: origin.actor.id().map(str::to_owned),
            actor: origin.actor.clone(),
            action: event.action,
            target_id: event.target.id.clone(),
            target: event.target,
            changes: event.changes,
            request_id: origin.request_id.clone(),
            expires_at: at.unix_seconds() + i64::from(self.audit_retention_days) * 86_400,
        };
        let entry = EntryKey { pk: item.pk.clone(), sk: item.sk.clone() };
        tx.put("audit", to_item(&item)?, Some(Condition::absent()))?;
        Ok(entry)
    }

    /// The audit partitions that can still hold an entry within the retention, newest first.
    pub(super) fn audit_partitions(&self, org_id: &str, now: Timestamp) -> Vec<String> {
        keys::audit_months(org_id, now, self.audit_retention_days as usize / 28 + 2)
    }

    /// Adds to `tx` the deletion of the entry a change wrote, for that change's undo.
    pub(super) fn erase_entry(&self, tx: &mut Tx, entry: &EntryKey) -> Result<(), StoreError> {
        tx.delete("audit", super::key(entry.pk.clone(), entry.sk.clone()), None)
    }

    /// One page of the organization's entries, newest first, that match `filter`.
    pub async fn list_audit(
        &self,
        org_id: &str,
        filter: &AuditFilter,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditItem>, StoreError> {
        let (cursor_key, mut start) = self.cursor_start(org_id, "audit", cursor)?;
        let now = Timestamp::now();
        // The month to read: the cursor's, else the current one; then each older one in turn.
        let mut months = self.audit_partitions(org_id, now);
        resume_at(&mut months, start.as_ref())?;
        let (mut filters, mut values) = (vec!["expiresAt > :now"], vec![(":now", n(now.unix_seconds()))]);
        if let Some(action) = filter.action {
            filters.push("#action = :action");
            values.push((":action", s(action.slug())));
        }
        if let Some(target) = &filter.target_id {
            filters.push("targetId = :target");
            values.push((":target", s(target)));
        }
        if let Some(actor) = &filter.actor_id {
            filters.push("actorId = :actor");
            values.push((":actor", s(actor)));
        }
        let filter_expression = filters.join(" AND ");
        let (mut items, mut queries) = (Vec::new(), 0);
        for (i, month) in months.iter().enumerate() {
            loop {
                let mut request = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk")
                    .filter_expression(&filter_expression)
                    .scan_index_forward(false)
                    .consistent_read(true)
                    .set_exclusive_start_key(start.take())
                    .limit(limit - items.len() as i32)
                    .expression_attribute_values(":pk", AttributeValue::S(month.clone()));
                if filter.action.is_some() {
                    request = request.expression_attribute_names("#action", "action");
                }
                for (name, value) in &values {
                    request = request.expression_attribute_values(*name, value.clone());
                }
                let page = request.send().await.map_err(sdk_error)?;
                queries += 1;
                for item in page.items.unwrap_or_default() {
                    items.push(from_item::<AuditItem>(item)?);
                }
                let full = items.len() >= limit as usize;
                match page.last_evaluated_key {
                    // A filter that matches little answers a shorter page rather than read on.
                    Some(last) if full || queries >= MAX_QUERIES_PER_PAGE => {
                        return Ok(Page { items, next_cursor: Some(cursor_key.encode(org_id, "audit", &last)) });
                    }
                    Some(last) => start = Some(last),
                    None if full && i + 1 < months.len() => {
                        // The month ended with the page: the next page begins with the month before.
                        let last = items.last().map(|e| super::key(e.pk.clone(), e.sk.clone())).unwrap_or_default();
                        return Ok(Page { items, next_cursor: Some(cursor_key.encode(org_id, "audit", &last)) });
                    }
                    None => break,
                }
            }
            if items.len() >= limit as usize {
                break;
            }
        }
        Ok(Page { items, next_cursor: None })
    }
}

/// The audit entry of a member arriving (`old` none), changing, or leaving (`new` none): its
/// role and, for a client, its customer.
pub(super) fn member_event(action: Action, old: Option<&MemberItem>, new: Option<&MemberItem>) -> Event {
    let role = |m: Option<&MemberItem>| m.map(|m| m.role.slug());
    let customer = |m: Option<&MemberItem>| m.and_then(|m| m.customer_id.clone());
    let changes =
        Changes::default().field("role", &role(old), &role(new)).field("customerId", &customer(old), &customer(new));
    let user_id = old.or(new).map(|m| m.user_id.as_str()).unwrap_or_default();
    Event::new(action, Target::new(TargetKind::Member, user_id), changes)
}

/// Drops the partitions before the one a cursor's key is in: a walk over several partitions
/// resumes where it stopped. A key in none of them is not a cursor of this walk.
pub(super) fn resume_at(partitions: &mut Vec<String>, start: Option<&Item>) -> Result<(), StoreError> {
    if let Some(pk) = start.and_then(|k| k.get("PK")).and_then(|v| v.as_s().ok()) {
        let position = partitions.iter().position(|p| p == pk).ok_or(StoreError::InvalidCursor)?;
        partitions.drain(..position);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_carry_their_time_and_keep_their_order_within_a_millisecond() {
        let at = Timestamp::now();
        let ids: Vec<ulid::Ulid> = (0..50).map(|_| entry_id(at)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.iter().all(|id| id.timestamp_ms() == at.unix_millis() as u64));
    }
}
