//! Transactions whose actions carry names. DynamoDB answers a cancelled transaction with one
//! reason per action, in order; [`Store::commit`] turns that into the names of the actions whose
//! condition failed, so callers explain a failure by name (`failure.is("invitee")`), never by
//! position. Any other reason (a conflict that outlasted the retries, throttling, a validation
//! error) is not an answer about the data: it becomes [`StoreError::Unavailable`] (503).
//! Every commit first adds the deletion guard of the organizations it writes into (`guard.rs`).

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};

mod guard;
mod outcome;

pub(super) use outcome::Commit;
pub use outcome::OrgWrite;

use super::{Item, OrgRecord, Store, StoreError};

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

    /// Runs a transaction and says how it ended: committed; not committed because the
    /// organization's deletion began (a guarded action failed and the org item says so); or
    /// cancelled with the names of the actions whose condition failed. DynamoDB's transaction
    /// conflicts (another transaction on the same items) are retried a few times; every other
    /// cancellation is unavailable (503).
    pub(super) async fn commit(&self, mut tx: Tx) -> Result<Commit, StoreError> {
        if tx.is_empty() {
            return Ok(Commit::Committed);
        }
        let (orgs, carriers) = tx.guard()?;
        match self.send(&tx).await? {
            Commit::Cancelled(failure) if carriers.iter().any(|name| failure.is(name)) => {
                for org in &orgs {
                    if let Some(OrgRecord::Deleting(_) | OrgRecord::Deleted(_)) = self.get_org_record(org).await? {
                        return Ok(Commit::OrgGone);
                    }
                }
                Ok(Commit::Cancelled(failure))
            }
            other => Ok(other),
        }
    }

    async fn send(&self, tx: &Tx) -> Result<Commit, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.client.transact_write_items().set_transact_items(Some(tx.actions.clone())).send().await;
            let error = match result {
                Ok(_) => return Ok(Commit::Committed),
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
                Ok(failure) => Ok(Commit::Cancelled(failure)),
                Err(unexpected) => Err(StoreError::Unavailable(unexpected.into())),
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
