//! API keys: `ORG#o` / `APIKEY#k`, read with the org item when a key's request is resolved, and
//! their request counters, `ORG#o#KEYUSE` / `KEY#k#MINUTE#m` (one a key and minute, gone by TTL).

use serde::{Deserialize, Serialize};

use super::audit::{EntryKey, Event};
use super::tx::{Commit, Condition};
use super::{ListQuery, Page, Store, StoreError, key, keys, n, s, sdk_error, to_item};
use crate::Timestamp;
use crate::domain::api_keys::{KeySecret, Scope, Window};
use crate::domain::audit::{Action, Changes, Origin, Target, TargetKind};
use crate::domain::ids::IdKind;

/// An organization's API key. The secret is not stored, only its digest (which its `Debug`
/// leaves out, as everything that shows a caller does).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub scope: Scope,
    /// The start of the secret that the list shows.
    pub prefix: String,
    /// SHA-256 of the secret, lowercase hex.
    pub digest: String,
    /// When the key stops working; not the table's TTL attribute (an expired key stays listed,
    /// so its admins see why it stopped).
    pub valid_until: Option<Timestamp>,
    /// The start of the last minute in which the key was used.
    pub last_used_at: Option<Timestamp>,
    /// The admin who made it.
    pub created_by: String,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for ApiKeyItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyItem")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("scope", &self.scope)
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

impl ApiKeyItem {
    pub const ENTITY: &'static str = "apiKey";

    /// The item of a new key of `secret`'s organization (the secret names the key's id).
    pub fn new(
        secret: &KeySecret,
        name: String,
        scope: Scope,
        valid_until: Option<Timestamp>,
        created_by: &str,
        now: Timestamp,
    ) -> Self {
        Self {
            pk: keys::org_pk(secret.org_id()),
            sk: keys::api_key_sk(secret.key_id()),
            entity: Self::ENTITY.to_owned(),
            id: secret.key_id().to_owned(),
            org_id: secret.org_id().to_owned(),
            name,
            scope,
            prefix: secret.shown_prefix(),
            digest: secret.digest(),
            valid_until,
            last_used_at: None,
            created_by: created_by.to_owned(),
            created_at: now,
        }
    }

    /// A new key id: `key_` and a lowercase ULID.
    pub fn new_id() -> String {
        format!("{}{}", IdKind::ApiKey.prefix(), ulid::Ulid::new().to_string().to_lowercase())
    }
}

/// The `entity` of a key's counter of a minute (`ORG#o#KEYUSE` / `KEY#k#MINUTE#m`).
pub const KEY_USE_ENTITY: &str = "key_use";

/// What counting one request of a key found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// Counted within the minute's budget.
    Counted,
    /// The minute's budget was spent already: not counted.
    Exhausted,
}

impl Store {
    /// Stores a new key, with its audit entry.
    pub async fn create_api_key(&self, item: &ApiKeyItem, origin: &Origin) -> Result<EntryKey, StoreError> {
        let mut tx = self.tx();
        let entry = self.audit(&mut tx, &item.org_id, origin, key_event(Action::ApiKeyCreated, item))?;
        tx.put("api_key", to_item(item)?, Some(Condition::absent()))?;
        self.commit(tx).await?.required().map(|()| entry)
    }

    /// Deletes a key, with its audit entry; `false` if it was not there (deleted meanwhile).
    pub async fn revoke_api_key(&self, item: &ApiKeyItem, origin: &Origin) -> Result<bool, StoreError> {
        let mut tx = self.tx();
        self.audit(&mut tx, &item.org_id, origin, key_event(Action::ApiKeyRevoked, item))?;
        tx.delete("api_key", key(item.pk.clone(), item.sk.clone()), Some(Condition::present()))?;
        match self.commit(tx).await? {
            Commit::Cancelled(failure) if failure.is("api_key") => Ok(false),
            other => other.required().map(|()| true),
        }
    }

    /// An organization's keys, oldest first (ids are time-ordered).
    pub async fn list_api_keys(
        &self,
        org_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<ApiKeyItem>, StoreError> {
        let query = ListQuery::prefixed(org_id, "api-keys", keys::API_KEY_PREFIX.to_owned());
        self.list(query, limit, cursor).await
    }

    /// Counts one request of `key` in `window`, unless the window's `budget` is spent: one
    /// conditional UpdateItem, atomic across every Lambda that serves the key.
    pub async fn count_key_use(&self, key: &ApiKeyItem, window: Window, budget: u32) -> Result<KeyUse, StoreError> {
        // Kept a minute past its window: a clock a little behind still finds it.
        let gone_at = (window.minute + 2) * 60;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(super::key(keys::key_use_pk(&key.org_id), keys::key_use_sk(&key.id, window.minute))))
            .update_expression("ADD #used :one SET expiresAt = :gone, entity = :entity")
            .condition_expression("attribute_not_exists(#used) OR #used < :budget")
            .expression_attribute_names("#used", "used")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":gone", n(gone_at))
            .expression_attribute_values(":entity", s(KEY_USE_ENTITY))
            .expression_attribute_values(":budget", n(budget))
            .send()
            .await
            .map_err(sdk_error);
        match super::condition_held(result)? {
            true => Ok(KeyUse::Counted),
            false => Ok(KeyUse::Exhausted),
        }
    }

    /// Sets `key`'s `lastUsedAt` to `minute_start`, unless it is there already or later (another
    /// Lambda's request of the same minute) or the key is gone: at most one write a key and
    /// minute, however many requests.
    pub async fn note_key_use(&self, key: &ApiKeyItem, minute_start: Timestamp) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(super::key(key.pk.clone(), key.sk.clone())))
            .update_expression("SET lastUsedAt = :minute")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt = :null \
                 OR lastUsedAt < :minute)",
            )
            .expression_attribute_values(":minute", s(minute_start.to_string()))
            .expression_attribute_values(":null", aws_sdk_dynamodb::types::AttributeValue::Null(true))
            .send()
            .await
            .map_err(sdk_error);
        super::condition_held(result).map(drop)
    }
}

/// The audit entry of a key made or revoked: its name, scope and expiry (never its secret).
fn key_event(action: Action, item: &ApiKeyItem) -> Event {
    let fields = [
        ("name", Some(item.name.clone())),
        ("scope", Some(item.scope.slug().to_owned())),
        ("expiresAt", item.valid_until.map(|at| at.to_string())),
    ];
    let changes = match action {
        Action::ApiKeyCreated => Changes::made(fields),
        _ => Changes::removed(fields),
    };
    Event::new(action, Target::new(TargetKind::ApiKey, &item.id), changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keys_debug_shows_no_digest() {
        let secret = KeySecret::new("org_1", "key_1", &[3; 32]).unwrap();
        let item = ApiKeyItem::new(&secret, "n".into(), Scope::Read, None, "user_1", Timestamp::now());
        let shown = format!("{item:?}");
        assert!(shown.contains("key_1") && !shown.contains(&item.digest), "{shown}");
    }
}
