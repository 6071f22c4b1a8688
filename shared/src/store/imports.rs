//! What an import from Convex wrote (`convex-import`): each customer with a marker of its Convex
//! `_id` (`ORG#o` / `IMPORTED#customers#<_id>`), so that a second run finds it instead of
//! creating it again, and the claim of a subscription named in a Convex org.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::audit::Event;
use super::billing::set_summary_if_changed;
use super::customers::customer_created;
use super::tx::{Commit, Condition};
use super::{OrgItem, OrgWrite, Store, StoreError, SubscriptionOwnerItem, key, keys, s, to_item};
use crate::Timestamp;
use crate::domain::UsageChange;
use crate::domain::audit::{Action, Changes, Origin, Target, TargetKind};

/// `ORG#o` / `IMPORTED#customers#<convex _id>`: the customer this backend made of a Convex one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedCustomerItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub convex_id: String,
    pub customer_id: String,
    pub imported_at: Timestamp,
}

impl ImportedCustomerItem {
    pub const ENTITY: &'static str = "imported_customer";

    pub fn new(org_id: &str, convex_id: &str, customer_id: &str, now: Timestamp) -> Self {
        Self {
            pk: keys::org_pk(org_id),
            sk: keys::imported_customer_sk(convex_id),
            entity: Self::ENTITY.to_owned(),
            convex_id: convex_id.to_owned(),
            customer_id: customer_id.to_owned(),
            imported_at: now,
        }
    }
}

/// `ORG#o` / `IMPORTED#org`: an import finished for the organization, last at `importedAt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRecordItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub imported_at: Timestamp,
}

impl ImportRecordItem {
    pub const ENTITY: &'static str = "import_record";
}

/// The most customers [`Store::import_customers`] writes in one transaction: three items each
/// (customer, marker, audit entry), the counter and the deletion guard, within DynamoDB's 100.
pub const IMPORT_CHUNK: usize = 25;

/// The answer to [`Store::claim_subscription`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionClaim {
    /// The organization owns it now.
    Claimed,
    /// Its billing summary has it already: nothing was written.
    OwnedAlready,
    /// Another organization owns it: nothing was written.
    OwnedByAnother,
}

impl Store {
    /// Which of `convex_ids` were imported into the organization already: Convex `_id` → customer
    /// id. Reads only those markers (BatchGetItem, strongly consistent), so that memory and reads
    /// follow the lines in hand, not the organization's size.
    pub async fn imported_among(
        &self,
        org_id: &str,
        convex_ids: &[&str],
    ) -> Result<HashMap<String, String>, StoreError> {
        let keys = convex_ids.iter().map(|id| key(keys::org_pk(org_id), keys::imported_customer_sk(id))).collect();
        let markers: Vec<ImportedCustomerItem> = self.join(keys).await?;
        Ok(markers.into_iter().map(|m| (m.convex_id, m.customer_id)).collect())
    }

    /// The live customers of an organization among `customer_ids` (BatchGetItem, strongly
    /// consistent), by id.
    pub async fn customers_among(
        &self,
        org_id: &str,
        customer_ids: &[&str],
    ) -> Result<HashMap<String, super::CustomerItem>, StoreError> {
        let keys = customer_ids.iter().map(|id| key(keys::org_pk(org_id), keys::customer_sk(id))).collect();
        let customers: Vec<super::CustomerItem> = self.join(keys).await?;
        Ok(customers.into_iter().filter(|c| !c.deleting).map(|c| (c.id.clone(), c)).collect())
    }

    /// Stores customers imported from Convex into one organization, in one transaction: each
    /// with the marker of its `_id` and its audit entry, and the usage counter by their number,
    /// whatever the plan's limits (an import keeps data over a limit; only new additions are
    /// refused then). At most [`IMPORT_CHUNK`], all of one organization. `Written(false)`: one of their `_id`s
    /// was imported meanwhile, and none was written (store them one by one then).
    ///
    /// One transaction for many, and never two at once for one organization: every transaction
    /// of an organization checks its org item (the deletion guard) and this one also adds to its
    /// counter, so two in flight together conflict on AWS (DynamoDB Local runs them one by one
    /// and would not show it).
    pub async fn import_customers(
        &self,
        customers: &[(super::CustomerItem, String)],
        origin: &Origin,
    ) -> Result<OrgWrite<bool>, StoreError> {
        let Some((first, _)) = customers.first() else { return Ok(OrgWrite::Written(true)) };
        if customers.len() > IMPORT_CHUNK || customers.iter().any(|(c, _)| c.org_id != first.org_id) {
            return Err(StoreError::Corrupt(format!(
                "at most {IMPORT_CHUNK} customers of one organization a transaction"
            )));
        }
        let org_id = first.org_id.clone();
        let now = Timestamp::now();
        let mut tx = self.tx();
        for (customer, convex_id) in customers {
            let marker = ImportedCustomerItem::new(&org_id, convex_id, &customer.id, now);
            tx.put("marker", to_item(&marker)?, Some(Condition::absent()))?;
            tx.put("customer", to_item(customer)?, Some(Condition::absent()))?;
            self.audit(&mut tx, &org_id, origin, customer_created(customer))?;
        }
        self.add_usage(&mut tx, &org_id, &UsageChange::customers(customers.len() as i64))?;
        match self.commit(tx).await? {
            Commit::Committed => Ok(OrgWrite::Written(true)),
            Commit::Cancelled(failure) if failure.is("marker") => Ok(OrgWrite::Written(false)),
            Commit::OrgGone => Ok(OrgWrite::OrgGone),
            other => other.required().map(|()| OrgWrite::Written(true)),
        }
    }

    /// Makes `org` the owner of a Lemon Squeezy subscription that its Convex data named, as a
    /// payment event would before the subscription's state is read: the owner, the subscription
    /// item, and the org item's summary marking it unread (so that the plan waits for its state).
    pub async fn claim_subscription(
        &self,
        org: &OrgItem,
        subscription_id: &str,
        origin: &Origin,
    ) -> Result<OrgWrite<SubscriptionClaim>, StoreError> {
        // An event or an earlier import made it this organization's (with its owner item).
        if org.billing.subscriptions.contains_key(subscription_id) || org.billing.unread.contains(subscription_id) {
            return Ok(OrgWrite::Written(SubscriptionClaim::OwnedAlready));
        }
        let owner = SubscriptionOwnerItem::new(subscription_id, &org.id);
        let ours = Condition::new("attribute_not_exists(PK) OR orgId = :org").value(":org", s(&org.id));
        let mut tx = self.tx();
        tx.put("owner", to_item(&owner)?, Some(ours))?;
        let item = key(keys::org_pk(&org.id), keys::subscription_sk(subscription_id));
        let subscription = aws_sdk_dynamodb::types::Update::builder()
            .set_key(Some(item))
            .update_expression("SET entity = :entity, subscriptionId = :id")
            .expression_attribute_values(":entity", s(super::SubscriptionItem::ENTITY))
            .expression_attribute_values(":id", s(subscription_id));
        tx.update("subscription", subscription)?;
        set_summary_if_changed(&mut tx, org, org.billing.with_unread(subscription_id))?;
        let changes = Changes::default().field("subscription", &None::<&str>, &Some(subscription_id));
        let target = Target::new(TargetKind::Subscription, subscription_id);
        self.audit(&mut tx, &org.id, origin, Event::new(Action::BillingChanged, target, changes))?;
        match self.commit(tx).await? {
            Commit::Committed => Ok(OrgWrite::Written(SubscriptionClaim::Claimed)),
            Commit::Cancelled(failure) if failure.is("owner") => {
                Ok(OrgWrite::Written(SubscriptionClaim::OwnedByAnother))
            }
            Commit::Cancelled(failure) if failure.is("org") => Err(StoreError::BillingChanged),
            Commit::OrgGone => Ok(OrgWrite::OrgGone),
            other => other.required().map(|()| OrgWrite::Written(SubscriptionClaim::Claimed)),
        }
    }

    /// Whether an import finished for the organization (its `org.imported` entry was written).
    pub async fn import_recorded(&self, org_id: &str) -> Result<bool, StoreError> {
        let record: Option<ImportRecordItem> =
            self.get(keys::org_pk(org_id), keys::IMPORT_RECORD_SK.to_owned()).await?;
        Ok(record.is_some())
    }

    /// The `org.imported` entry with its counts, and the record that it was written: a run that
    /// changed nothing still writes the entry when an interrupted run before it never did.
    pub async fn record_import(
        &self,
        org_id: &str,
        changes: Changes,
        origin: &Origin,
    ) -> Result<OrgWrite<()>, StoreError> {
        let record = ImportRecordItem {
            pk: keys::org_pk(org_id),
            sk: keys::IMPORT_RECORD_SK.to_owned(),
            entity: ImportRecordItem::ENTITY.to_owned(),
            imported_at: Timestamp::now(),
        };
        let mut tx = self.tx();
        tx.put("record", to_item(&record)?, None)?;
        self.commit_org_event(tx, org_id, Action::OrgImported, changes, origin).await
    }

    /// An audit entry of the organization alone (no other write): a portal link's
    /// `org.portal_link_created` with its intent.
    pub async fn record_org_event(
        &self,
        org_id: &str,
        action: Action,
        changes: Changes,
        origin: &Origin,
    ) -> Result<OrgWrite<()>, StoreError> {
        self.commit_org_event(self.tx(), org_id, action, changes, origin).await
    }

    /// Commits `tx` with an audit entry about the organization itself.
    async fn commit_org_event(
        &self,
        mut tx: super::tx::Tx,
        org_id: &str,
        action: Action,
        changes: Changes,
        origin: &Origin,
    ) -> Result<OrgWrite<()>, StoreError> {
        self.audit(&mut tx, org_id, origin, Event::new(action, Target::new(TargetKind::Org, org_id), changes))?;
        match self.commit(tx).await? {
            Commit::OrgGone => Ok(OrgWrite::OrgGone),
            other => other.required().map(|()| OrgWrite::Written(())),
        }
    }
}
