//! Usage counters on the org item, changed in the same transaction as the items they count,
//! with the plan's limits and the last-admin guard (the rules of `domain::usage`) as write
//! conditions: concurrent requests can never push usage past a limit, nor leave an organization
//! without an admin.

use aws_sdk_dynamodb::types::Update;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;

use super::tx::Tx;
use super::{Store, StoreError, key, keys, n};
use crate::domain::UsageChange;

impl Store {
    /// The org item update that applies `change`, conditioned on its limits and on at least one
    /// admin remaining.
    fn usage_update(&self, org_id: &str, change: &UsageChange) -> UpdateBuilder {
        let mut adds = Vec::new();
        let mut conditions = vec!["attribute_exists(PK)".to_owned()];
        let mut builder = Update::builder().set_key(Some(key(keys::org_pk(org_id), keys::ORG_SK.to_owned())));
        for counter in change.counters() {
            let (counter, delta, limit) = (counter.name, counter.delta, counter.limit);
            if delta == 0 {
                continue;
            }
            adds.push(format!("{counter} :d_{counter}"));
            builder = builder.expression_attribute_values(format!(":d_{counter}"), n(delta));
            if let (true, Some(limit)) = (delta > 0, limit) {
                // counter + delta <= limit
                conditions.push(format!("(attribute_not_exists({counter}) OR {counter} <= :max_{counter})"));
                builder = builder.expression_attribute_values(format!(":max_{counter}"), n(limit as i64 - delta));
            }
            if counter == "admins" && delta < 0 && change.keep_an_admin {
                // admins + delta >= 1
                conditions.push("admins >= :min_admins".to_owned());
                builder = builder.expression_attribute_values(":min_admins", n(1 - delta));
            }
        }
        builder.update_expression(format!("ADD {}", adds.join(", "))).condition_expression(conditions.join(" AND "))
    }

    /// Adds `change` to a transaction as its action `usage` (nothing when it changes nothing).
    pub(super) fn add_usage(&self, tx: &mut Tx, org_id: &str, change: &UsageChange) -> Result<(), StoreError> {
        if change.is_empty() {
            return Ok(());
        }
        tx.update("usage", self.usage_update(org_id, change))
    }

    /// Why a checked usage change was refused: reads the org and names the rule that held.
    pub(super) async fn usage_refusal(&self, org_id: &str, change: &UsageChange) -> StoreError {
        match self.get_org(org_id).await {
            Ok(Some(org)) => change
                .refusal(&org.usage)
                .map_or(StoreError::Changed("the organization changed meanwhile; retry"), StoreError::from),
            Ok(None) => StoreError::Changed("the organization is not stored"),
            Err(error) => error,
        }
    }
}
