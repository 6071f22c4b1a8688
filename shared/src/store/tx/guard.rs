//! The deletion guard. Every transaction that writes into an organization's partitions
//! (`ORG#o`, `ORG#o#…`) also requires, at commit, that the organization's deletion has not begun:
//! the action on its org item gets `attribute_not_exists(deletion)` added to its condition, or,
//! when the transaction has none, a ConditionCheck of the org item (`org_live`) is added. So once
//! `DELETE /org` has marked the org item, no request, webhook, job or undo that read the
//! organization before can write into it again, whatever it is, and a cancellation for that
//! reason is [`StoreError::OrgDeleted`].

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};

use super::{Condition, Tx, built};
use crate::store::{StoreError, key, keys};

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
    pub(super) fn guard(&mut self) -> Result<(BTreeSet<String>, Vec<&'static str>), StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tx() -> Tx {
        Tx { table: "t".into(), actions: Vec::new(), names: Vec::new() }
    }

    fn condition_of(action: &TransactWriteItem) -> String {
        match (action.update(), action.put(), action.condition_check()) {
            (Some(update), ..) => update.condition_expression().unwrap_or_default().to_owned(),
            (_, Some(put), _) => put.condition_expression().unwrap_or_default().to_owned(),
            (_, _, Some(check)) => check.condition_expression().to_owned(),
            _ => String::new(),
        }
    }

    #[test]
    fn the_org_items_own_action_carries_the_guard() {
        let mut tx = tx();
        tx.put("customer", key("ORG#o1".into(), "CUSTOMER#c".into()), Some(Condition::absent())).unwrap();
        let usage = Update::builder()
            .set_key(Some(key("ORG#o1".into(), "ORG".into())))
            .update_expression("ADD customers :one")
            .condition_expression("attribute_exists(PK)");
        tx.update("usage", usage).unwrap();
        let (orgs, carriers) = tx.guard().unwrap();
        assert_eq!((orgs.into_iter().collect::<Vec<_>>(), carriers), (vec!["o1".to_owned()], vec!["usage"]));
        assert_eq!(tx.actions.len(), 2, "no ConditionCheck beside an action on the org item");
        assert_eq!(condition_of(&tx.actions[1]), format!("(attribute_exists(PK)) AND {LIVE}"));
        assert_eq!(condition_of(&tx.actions[0]), "attribute_not_exists(PK)", "other actions keep theirs");
    }

    #[test]
    fn a_transaction_without_the_org_item_gets_a_check_of_it() {
        let mut tx = tx();
        tx.put("audit", key("ORG#o1#AUDIT#2026-12".into(), "AUDIT#1".into()), None).unwrap();
        tx.delete("assignment", key("ORG#o1".into(), "ASSIGN#c#u".into()), None).unwrap();
        let (_, carriers) = tx.guard().unwrap();
        assert_eq!(carriers, [ORG_LIVE]);
        let check = tx.actions[2].condition_check().unwrap();
        assert_eq!((check.key()["PK"].as_s().unwrap().as_str(), check.condition_expression()), ("ORG#o1", LIVE));
    }

    #[test]
    fn a_transaction_outside_every_org_is_not_guarded() {
        let mut tx = tx();
        tx.put("owner", key("LSSUB#s".into(), "LSSUB".into()), None).unwrap();
        tx.put("profile", key("USER#u".into(), "PROFILE".into()), None).unwrap();
        let (orgs, carriers) = tx.guard().unwrap();
        assert!(orgs.is_empty() && carriers.is_empty());
        assert_eq!(tx.actions.len(), 2);
    }
}
