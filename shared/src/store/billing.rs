//! Billing state: subscriptions and payments on the org item, the subscription → org map, and
//! the record of every verified Lemon Squeezy event.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::{
    BillingEventItem, Item, OrgItem, Store, StoreError, SubscriptionOwnerItem, from_item, key, keys, s, sdk_error,
    to_item,
};

/// What applying a billing event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// Older than what is stored: nothing changed.
    Stale,
    /// This very event was processed before.
    Duplicate,
}

impl Store {
    /// The organization a subscription belongs to, if known.
    pub async fn subscription_owner(&self, subscription_id: &str) -> Result<Option<String>, StoreError> {
        let owner: Option<SubscriptionOwnerItem> =
            self.get(keys::subscription_owner_pk(subscription_id), keys::SUBSCRIPTION_OWNER_SK.to_owned()).await?;
        Ok(owner.map(|o| o.org_id))
    }

    /// Stores an event record unless one with the same body is stored; `false` for a duplicate.
    pub async fn record_billing_event(&self, record: &BillingEventItem) -> Result<bool, StoreError> {
        self.put_if(to_item(record)?, "attribute_not_exists(PK)", vec![]).await
    }

    /// Sets the org's subscription unless a newer one is stored, records who owns it, and (for
    /// a delivery) records the event, in one transaction.
    pub async fn apply_subscription(
        &self,
        org_id: &str,
        subscription: &crate::lemonsqueezy::Subscription,
        record: Option<&BillingEventItem>,
    ) -> Result<Applied, StoreError> {
        let value = AttributeValue::M(to_item(subscription)?);
        let owner = SubscriptionOwnerItem::new(&subscription.id, org_id);
        let update = self.newer_only(org_id, "subscription", value, &subscription.updated_at)?;
        let extra = vec![self.put_action(to_item(&owner)?, None)?];
        self.apply(update, extra, record).await
    }

    /// Sets the org's last payment unless a newer one is stored (and records the event).
    pub async fn apply_payment(
        &self,
        org_id: &str,
        payment: &crate::lemonsqueezy::Payment,
        record: Option<&BillingEventItem>,
    ) -> Result<Applied, StoreError> {
        let value = AttributeValue::M(to_item(payment)?);
        let update = self.newer_only(org_id, "lastPayment", value, &payment.updated_at)?;
        self.apply(update, Vec::new(), record).await
    }

    /// `SET <attribute> = :value` on the org item, only if its `updatedAt` is older than `at`.
    fn newer_only(&self, org_id: &str, attribute: &str, value: AttributeValue, at: &str) -> Result<Update, StoreError> {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::org_pk(org_id), keys::ORG_SK.to_owned())))
            .update_expression("SET #state = :value")
            .condition_expression("attribute_exists(PK) AND (attribute_not_exists(#state) OR #state.updatedAt < :at)")
            .expression_attribute_names("#state", attribute)
            .expression_attribute_values(":value", value)
            .expression_attribute_values(":at", s(at))
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    async fn apply(
        &self,
        update: Update,
        extra: Vec<TransactWriteItem>,
        record: Option<&BillingEventItem>,
    ) -> Result<Applied, StoreError> {
        let mut actions = vec![TransactWriteItem::builder().update(update).build()];
        actions.extend(extra);
        if let Some(record) = record {
            actions.push(self.put_action(to_item(record)?, Some("attribute_not_exists(PK)"))?);
        }
        let record_index = actions.len() - 1;
        match self.transact(actions).await {
            Ok(()) => Ok(Applied::Applied),
            Err(StoreError::TransactionCanceled(reasons)) => {
                let failed = |i: usize| reasons.get(i).is_some_and(|r| r == "ConditionalCheckFailed");
                if record.is_some() && failed(record_index) {
                    return Ok(Applied::Duplicate);
                }
                if !failed(0) {
                    return Err(StoreError::TransactionCanceled(reasons));
                }
                // Stale (or the org is gone): keep the record of it all the same.
                if let Some(record) = record {
                    let stale = BillingEventItem { outcome: "stale".into(), ..record.clone() };
                    if !self.record_billing_event(&stale).await? {
                        return Ok(Applied::Duplicate);
                    }
                }
                Ok(Applied::Stale)
            }
            Err(error) => Err(error),
        }
    }

    /// Organizations with a subscription, a page at a time (jobs only): the `LSSUBS` index of
    /// subscription owners, joined to their orgs. A subscription an org has moved on from is
    /// left out.
    pub async fn orgs_with_subscriptions(
        &self,
        start: Option<Item>,
    ) -> Result<(Vec<OrgItem>, Option<Item>), StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :subscriptions")
            .expression_attribute_values(":subscriptions", s(keys::SUBSCRIPTIONS_GSI1PK))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_error)?;
        let owners: Vec<SubscriptionOwnerItem> =
            page.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        let orgs: Vec<OrgItem> =
            self.join(owners.iter().map(|o| key(keys::org_pk(&o.org_id), keys::ORG_SK.to_owned())).collect()).await?;
        // Keep an org once, for the subscription it holds now (an org that is gone drops out).
        let orgs: std::collections::HashMap<String, OrgItem> =
            orgs.into_iter().map(|org| (org.id.clone(), org)).collect();
        let current = owners.iter().filter_map(|owner| {
            orgs.get(&owner.org_id)
                .filter(|org| org.subscription.as_ref().is_some_and(|s| s.id == owner.subscription_id))
                .cloned()
        });
        Ok((current.collect(), page.last_evaluated_key))
    }

    /// Events that matched no organization (jobs only).
    pub async fn unmatched_billing_events(&self) -> Result<Vec<BillingEventItem>, StoreError> {
        let values = [(":pk", keys::UNMATCHED_EVENTS_PK.to_owned()), (":unmatched", "unmatched".to_owned())];
        self.query_all("PK = :pk", None, Some("outcome = :unmatched"), &values).await
    }

    /// Drops an unmatched event's record once it has been matched and recorded under its org.
    pub async fn forget_unmatched(&self, record: &BillingEventItem) -> Result<(), StoreError> {
        self.delete_if(key(record.pk.clone(), record.sk.clone()), None, vec![], vec![]).await.map(drop)
    }
}
