//! Reading a partition: one page of a list under a signed cursor, or every item (jobs and
//! cascades only).

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;

use super::{CursorKey, Item, Store, StoreError, from_item, keys, s, sdk_error};

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
pub(super) struct ListQuery<'a> {
    pub(super) org_id: &'a str,
    /// Names the list inside the cursor, so a cursor of one list is refused by another.
    pub(super) list: &'a str,
    pub(super) index: Option<&'a str>,
    pub(super) key_condition: &'a str,
    pub(super) filter: Option<&'a str>,
    pub(super) names: Vec<(&'a str, &'a str)>,
    pub(super) values: Vec<(&'a str, AttributeValue)>,
}

impl<'a> ListQuery<'a> {
    /// The items of the org's own partition whose sort key starts with `prefix`.
    pub(super) fn prefixed(org_id: &'a str, list: &'a str, prefix: String) -> Self {
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
    pub(super) fn gsi1(org_id: &'a str, list: &'a str, partition: String) -> Self {
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

impl Store {
    /// The key that signs the cursors of `list`, and the key a page starts after (`cursor`'s,
    /// checked to be this organization's and this list's; none for a first page).
    pub(super) fn cursor_start(
        &self,
        org_id: &str,
        list: &str,
        cursor: Option<&str>,
    ) -> Result<(&CursorKey, Option<Item>), StoreError> {
        let cursor_key = self.cursor_key.as_ref().ok_or(StoreError::NoCursorKey)?;
        let start = match cursor {
            Some(cursor) => Some(cursor_key.decode(org_id, list, cursor).map_err(|_| StoreError::InvalidCursor)?),
            None => None,
        };
        Ok((cursor_key, start))
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

    pub(super) async fn list<T: DeserializeOwned>(
        &self,
        query: ListQuery<'_>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<T>, StoreError> {
        let (cursor_key, mut start) = self.cursor_start(query.org_id, query.list, cursor)?;
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
                    let next_cursor = Some(cursor_key.encode(query.org_id, query.list, &last));
                    return Ok(Page { items, next_cursor });
                }
                None => return Ok(Page { items, next_cursor: None }),
            }
        }
    }
}
