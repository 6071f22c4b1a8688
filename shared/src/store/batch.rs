//! BatchGetItem and BatchWriteItem with their size limits and unprocessed-key retries.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, WriteRequest};

use super::{Item, Store, StoreError, sdk_error};

/// BatchGetItem takes at most 100 keys.
const GET_CHUNK: usize = 100;
/// BatchWriteItem takes at most 25 requests.
pub(super) const WRITE_CHUNK: usize = 25;
const MAX_ROUNDS: u32 = 8;

fn pk_sk(item: &Item) -> Option<(String, String)> {
    Some((item.get("PK")?.as_s().ok()?.clone(), item.get("SK")?.as_s().ok()?.clone()))
}

impl Store {
    /// The items at `keys`, in the order asked (a key asked twice answers twice), leaving out
    /// those that do not exist. BatchGetItem refuses a repeated key, so each is fetched once.
    pub(super) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let order: Vec<Option<(String, String)>> = keys.iter().map(pk_sk).collect();
        let mut seen = std::collections::HashSet::new();
        let keys: Vec<Item> = keys.into_iter().filter(|k| pk_sk(k).is_some_and(|id| seen.insert(id))).collect();
        let mut found: HashMap<(String, String), Item> = HashMap::new();
        for chunk in keys.chunks(GET_CHUNK) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
            let mut round = 0;
            while let Some(request) = pending.take() {
                round += 1;
                let output =
                    self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(sdk_error)?;
                for item in output.responses.unwrap_or_default().remove(&self.table).unwrap_or_default() {
                    if let Some(key) = pk_sk(&item) {
                        found.insert(key, item);
                    }
                }
                pending =
                    output.unprocessed_keys.unwrap_or_default().remove(&self.table).filter(|k| !k.keys.is_empty());
                if pending.is_some() {
                    if round >= MAX_ROUNDS {
                        return Err(StoreError::Unavailable("BatchGetItem left keys unprocessed".into()));
                    }
                    tokio::time::sleep(Duration::from_millis(25 << round)).await;
                }
            }
        }
        Ok(order.into_iter().flatten().filter_map(|key| found.get(&key).cloned()).collect())
    }

    /// The typed items at `keys`, in order: the join of a list to the items it points at.
    pub(super) async fn join<T: serde::de::DeserializeOwned>(&self, keys: Vec<Item>) -> Result<Vec<T>, StoreError> {
        self.batch_get(keys).await?.into_iter().map(super::from_item).collect()
    }

    /// Deletes the items at `keys` (at most [`WRITE_CHUNK`]), unconditionally: only for items
    /// nothing can write any more (an organization's, once its deletion began).
    pub(super) async fn batch_delete(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        let mut pending: Vec<WriteRequest> = keys
            .into_iter()
            .map(|key| {
                let delete = DeleteRequest::builder().set_key(Some(key)).build();
                delete.map(|d| WriteRequest::builder().delete_request(d).build())
            })
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut round = 0;
        while !pending.is_empty() {
            round += 1;
            let output =
                self.client.batch_write_item().request_items(&self.table, pending).send().await.map_err(sdk_error)?;
            pending = output.unprocessed_items.unwrap_or_default().remove(&self.table).unwrap_or_default();
            if !pending.is_empty() {
                if round >= MAX_ROUNDS {
                    return Err(StoreError::Unavailable("BatchWriteItem left items unprocessed".into()));
                }
                tokio::time::sleep(Duration::from_millis(25 << round)).await;
            }
        }
        Ok(())
    }
}
