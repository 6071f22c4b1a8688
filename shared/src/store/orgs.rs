//! Organizations: `ORG#o` / `ORG`, with the usage counters and billing state on the item.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::tx::Condition;
use super::{IdempotencyClaim, MemberItem, Store, StoreError, from_item, key, keys, s, sdk_error, to_item};
use crate::Timestamp;
use crate::domain::Usage;
use crate::domain::billing::{Payment, Subscription};
use crate::domain::plans::{Entitlement, Plans, entitlement};

/// An organization: `ORG#o` / `ORG`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    // No GSI keys: the org item is written on every counted insert, and an index entry would
    // copy each of those writes into one shared index partition.
    pub entity: String,
    pub id: String,
    pub name: String,
    /// Usage counters live on the org item so a limit check and an insert are one transaction.
    #[serde(flatten)]
    pub usage: Usage,
    /// The Lemon Squeezy subscriptions this organization owns, by subscription id, each as the
    /// newest event or fetch of *that* subscription left it. Always written (empty at first), so
    /// that one subscription's entry can be set by its path.
    #[serde(default)]
    pub subscriptions: BTreeMap<String, Subscription>,
    /// The newest payment event of each subscription, by subscription id.
    #[serde(default)]
    pub payments: BTreeMap<String, Payment>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl OrgItem {
    pub const ENTITY: &'static str = "org";

    pub fn new(id: &str, name: &str, now: Timestamp) -> Self {
        Self {
            pk: keys::org_pk(id),
            sk: keys::ORG_SK.to_owned(),
            entity: Self::ENTITY.to_owned(),
            id: id.to_owned(),
            name: name.to_owned(),
            usage: Usage::default(),
            subscriptions: BTreeMap::new(),
            payments: BTreeMap::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// The plan in force for this organization at `now` (`domain::plans::entitlement`).
    pub fn entitlement(&self, plans: &Plans, now: Timestamp) -> Entitlement {
        entitlement(&self.subscriptions, plans, now)
    }

    pub fn usage_mut(&mut self) -> &mut Usage {
        &mut self.usage
    }
}

impl Store {
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
        tx.put("org", to_item(org)?, Some(Condition::absent()))?;
        tx.put("admin", to_item(admin)?, Some(Condition::absent()))?;
        if let Some(claim) = idempotency {
            tx.update("idempotency", self.finish_idempotency(claim, &org.id))?;
        }
        self.commit(tx).await
    }
}
