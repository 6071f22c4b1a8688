//! Transactions whose actions carry names. DynamoDB answers a cancelled transaction with one
//! reason per action, in order; [`Store::commit`] turns that into the names of the actions whose
//! condition failed, so callers explain a failure by name (`failure.is("invitee")`), never by
//! position. Any other reason (a conflict that outlasted the retries, throttling, a validation
//! error) is not an answer about the data: it becomes [`StoreError::Unavailable`] (503).
//!
//! **The deletion guard.** Every transaction that writes into an organization's partitions
//! (`ORG#o`, `ORG#o#…`) also requires, at commit, that the organization's deletion has not begun:
//! the action on its org item gets `attribute_not_exists(deletion)` added to its condition, or,
//! when the transaction has none, a ConditionCheck of the org item (`org_live`) is added. So once
//! `DELETE /org` has marked the org item, no request, webhook, job or undo that read the
//! organization before can write into it again, whatever it is, and a cancellation for that
//! reason is [`StoreError::OrgDeleted`].

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};

use super::{Item, OrgRecord, Store, StoreError, key, keys};

/// A condition expression with its placeholders.
#[derive(Debug, Clone, Default)]
pub(super) struct Condition {
    expression: String,
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

impl Condition {
    pub(super) fn new(expression: impl Into<String>) -> Self {
        Self { expression: expression.into(), ..Self::default() }
    }

    /// The item must not exist yet.
    pub(super) fn absent() -> Self {
        Self::new("attribute_not_exists(PK)")
    }

    /// The item must exist.
    pub(super) fn present() -> Self {
        Self::new("attribute_exists(PK)")
    }

    pub(super) fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.push((placeholder.to_owned(), attribute.to_owned()));
        self
    }

    pub(super) fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.push((placeholder.to_owned(), value));
        self
    }

    fn names(&self) -> Option<std::collections::HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.iter().cloned().collect())
    }

    fn values(&self) -> Option<std::collections::HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.iter().cloned().collect())
    }
}

/// The actions of one transaction, each with a name.
pub(super) struct Tx {
    table: String,
    actions: Vec<TransactWriteItem>,
    names: Vec<&'static str>,
}

fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Tx {
    pub(super) fn put(
        &mut self,
        name: &'static str,
        item: Item,
        condition: Option<Condition>,
    ) -> Result<(), StoreError> {
        let c = condition.unwrap_or_default();
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .set_condition_expression((!c.expression.is_empty()).then(|| c.expression.clone()))
                .set_expression_attribute_names(c.names())
                .set_expression_attribute_values(c.values())
                .build(),
        )?;
        self.push(name, TransactWriteItem::builder().put(put).build());
        Ok(())
    }

    pub(super) fn delete(
        &mut self,
        name: &'static str,
        key: Item,
        condition: Option<Condition>,
    ) -> Result<(), StoreError> {
        let c = condition.unwrap_or_default();
        let delete = built(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .set_condition_expression((!c.expression.is_empty()).then(|| c.expression.clone()))
                .set_expression_attribute_names(c.names())
                .set_expression_attribute_values(c.values())
                .build(),
        )?;
        self.push(name, TransactWriteItem::builder().delete(delete).build());
        Ok(())
    }

    pub(super) fn check(&mut self, name: &'static str, key: Item, condition: Condition) -> Result<(), StoreError> {
        let check = built(
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .condition_expression(condition.expression.clone())
                .set_expression_attribute_names(condition.names())
                .set_expression_attribute_values(condition.values())
                .build(),
        )?;
        self.push(name, TransactWriteItem::builder().condition_check(check).build());
        Ok(())
    }

    /// An update built elsewhere (usage counters, client counts); its table is set here.
    pub(super) fn update(
        &mut self,
        name: &'static str,
        update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
    ) -> Result<(), StoreError> {
        let update: Update = built(update.table_name(&self.table).build())?;
        self.push(name, TransactWriteItem::builder().update(update).build());
        Ok(())
    }

    fn push(&mut self, name: &'static str, action: TransactWriteItem) {
        self.names.push(name);
        self.actions.push(action);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// The condition the deletion guard adds, and its placeholder.
const LIVE: &str = "attribute_not_exists(#orgDeletion)";
const LIVE_NAME: (&str, &str) = ("#orgDeletion", "deletion");
/// The name of the ConditionCheck the guard adds.
const ORG_LIVE: &str = "org_live";

fn live_condition(condition: Option<&str>) -> String {
    match condition.filter(|c| !c.is_empty()) {
        Some(condition) => format!("({condition}) AND {LIVE}"),
        None => LIVE.to_owned(),
    }
}

fn live_names(names: Option<&HashMap<String, String>>) -> HashMap<String, String> {
    let mut names = names.cloned().unwrap_or_default();
    names.insert(LIVE_NAME.0.to_owned(), LIVE_NAME.1.to_owned());
    names
}

/// The key of the item an action writes or checks.
fn action_key(action: &TransactWriteItem) -> Option<(&str, &str)> {
    let item = match (action.put(), action.update(), action.delete(), action.condition_check()) {
        (Some(put), ..) => put.item(),
        (_, Some(update), ..) => update.key(),
        (_, _, Some(delete), _) => delete.key(),
        (_, _, _, Some(check)) => check.key(),
        _ => return None,
    };
    Some((item.get("PK")?.as_s().ok()?, item.get("SK")?.as_s().ok()?))
}

/// `action` (on an org item) with the guard added to its condition.
fn guarded(action: &TransactWriteItem) -> Result<TransactWriteItem, StoreError> {
    if let Some(update) = action.update() {
        let update = built(
            Update::builder()
                .table_name(update.table_name())
                .set_key(Some(update.key().clone()))
                .update_expression(update.update_expression())
                .condition_expression(live_condition(update.condition_expression()))
                .set_expression_attribute_names(Some(live_names(update.expression_attribute_names())))
                .set_expression_attribute_values(update.expression_attribute_values().cloned())
                .build(),
        )?;
        return Ok(TransactWriteItem::builder().update(update).build());
    }
    if let Some(put) = action.put() {
        let put = built(
            Put::builder()
                .table_name(put.table_name())
                .set_item(Some(put.item().clone()))
                .condition_expression(live_condition(put.condition_expression()))
                .set_expression_attribute_names(Some(live_names(put.expression_attribute_names())))
                .set_expression_attribute_values(put.expression_attribute_values().cloned())
                .build(),
        )?;
        return Ok(TransactWriteItem::builder().put(put).build());
    }
    if let Some(check) = action.condition_check() {
        let check = built(
            ConditionCheck::builder()
                .table_name(check.table_name())
                .set_key(Some(check.key().clone()))
                .condition_expression(live_condition(Some(check.condition_expression())))
                .set_expression_attribute_names(Some(live_names(check.expression_attribute_names())))
                .set_expression_attribute_values(check.expression_attribute_values().cloned())
                .build(),
        )?;
        return Ok(TransactWriteItem::builder().condition_check(check).build());
    }
    // Nothing deletes an org item in a transaction: its end is the tombstone's Put.
    Err(StoreError::Corrupt("a transaction deletes an org item".into()))
}

impl Tx {
    /// Adds the deletion guard of every organization the actions write into (see the module
    /// docs); answers those organizations and the names of the actions that carry the guard.
    fn guard(&mut self) -> Result<(BTreeSet<String>, Vec<&'static str>), StoreError> {
        let orgs: BTreeSet<String> = self
            .actions
            .iter()
            .filter_map(action_key)
            .filter_map(|(pk, _)| keys::org_of(pk).map(str::to_owned))
            .collect();
        let mut carriers = Vec::new();
        for org in &orgs {
            let org_pk = keys::org_pk(org);
            let on_org = self.actions.iter().position(|a| action_key(a) == Some((org_pk.as_str(), keys::ORG_SK)));
            match on_org {
                Some(index) => {
                    self.actions[index] = guarded(&self.actions[index])?;
                    carriers.push(self.names[index]);
                }
                None => {
                    let live = Condition::new(LIVE).name(LIVE_NAME.0, LIVE_NAME.1);
                    self.check(ORG_LIVE, key(org_pk, keys::ORG_SK.to_owned()), live)?;
                    carriers.push(ORG_LIVE);
                }
            }
        }
        Ok((orgs, carriers))
    }
}

/// Which named actions of a cancelled transaction found their condition false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxFailure {
    failed: Vec<&'static str>,
}

impl TxFailure {
    /// Whether the action called `name` failed its condition.
    pub fn is(&self, name: &str) -> bool {
        self.failed.contains(&name)
    }

    pub fn failed(&self) -> &[&'static str] {
        &self.failed
    }

    /// Explains DynamoDB's cancellation reasons (one per action, in order) by the actions'
    /// names: `Ok` with the actions whose condition failed, or `Err` naming the first reason
    /// that is not about a condition.
    pub(super) fn from_reasons(names: &[&'static str], reasons: &[String]) -> Result<Self, String> {
        let mut failed = Vec::new();
        for (index, reason) in reasons.iter().enumerate() {
            match reason.as_str() {
                "None" | "" => {}
                "ConditionalCheckFailed" => failed.push(names.get(index).copied().unwrap_or("unnamed")),
                other => {
                    let name = names.get(index).copied().unwrap_or("unnamed");
                    return Err(format!("transaction cancelled at action {name}: {other}"));
                }
            }
        }
        if failed.is_empty() {
            return Err(format!("transaction cancelled without a reason: {reasons:?}"));
        }
        Ok(Self { failed })
    }
}

impl Store {
    pub(super) fn tx(&self) -> Tx {
        Tx { table: self.table.clone(), actions: Vec::new(), names: Vec::new() }
    }

    /// Runs a transaction. DynamoDB's transaction conflicts (another transaction on the same
    /// items) are retried a few times; a failed condition is [`StoreError::Cancelled`] with the
    /// names of the actions that failed; every other cancellation is unavailable (503).
    pub(super) async fn commit(&self, mut tx: Tx) -> Result<(), StoreError> {
        if tx.is_empty() {
            return Ok(());
        }
        let (orgs, carriers) = tx.guard()?;
        match self.send(&tx).await {
            // A guarded action failed: its own condition, or the organization's deletion began.
            Err(StoreError::Cancelled(failure)) if carriers.iter().any(|name| failure.is(name)) => {
                for org in &orgs {
                    if let Some(OrgRecord::Deleting(_) | OrgRecord::Deleted(_)) = self.get_org_record(org).await? {
                        return Err(StoreError::OrgDeleted);
                    }
                }
                Err(StoreError::Cancelled(failure))
            }
            other => other,
        }
    }

    async fn send(&self, tx: &Tx) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.client.transact_write_items().set_transact_items(Some(tx.actions.clone())).send().await;
            let error = match result {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            let reasons = error.as_service_error().and_then(|e| match e {
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                    Some(c.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None").to_owned()).collect::<Vec<_>>())
                }
                _ => None,
            });
            let Some(reasons) = reasons else { return Err(super::sdk_error(error)) };
            let conflict = reasons.iter().any(|r| r == "TransactionConflict");
            if conflict && !reasons.iter().any(|r| r == "ConditionalCheckFailed") && attempt < 5 {
                tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
                continue;
            }
            return match TxFailure::from_reasons(&tx.names, &reasons) {
                Ok(failure) => Err(StoreError::Cancelled(failure)),
                Err(unexpected) => Err(StoreError::Unavailable(unexpected)),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["invitation", "invitee", "usage", "client_to"];

    fn reasons(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn failures_are_named_not_numbered() {
        let failure =
            TxFailure::from_reasons(NAMES, &reasons(&["None", "ConditionalCheckFailed", "None", "None"])).unwrap();
        assert!(failure.is("invitee"));
        assert!(!failure.is("usage") && !failure.is("client_to"));
        // A transaction without a customer has fewer actions; the names still say which failed.
        let failure =
            TxFailure::from_reasons(&NAMES[..3], &reasons(&["None", "None", "ConditionalCheckFailed"])).unwrap();
        assert_eq!(failure.failed(), ["usage"]);
    }

    #[test]
    fn an_unexpected_reason_is_not_a_condition() {
        for codes in [
            ["None", "None", "TransactionConflict"].as_slice(),
            &["ThrottlingError", "None", "None"],
            &["None", "ValidationError", "None"],
            &["None", "None", "None"],
        ] {
            assert!(TxFailure::from_reasons(NAMES, &reasons(codes)).is_err(), "{codes:?}");
        }
        // A condition failure beside a conflict is still unexpected: the outcome is unknown.
        assert!(
            TxFailure::from_reasons(
                NAMES,
                &reasons(&["ConditionalCheckFailed", "TransactionConflict", "None", "None"])
            )
            .is_err()
        );
    }
}
