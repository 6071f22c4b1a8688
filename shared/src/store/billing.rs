//! Billing state: each owned subscription (and its last payment) on the org item, the
//! subscription → org map, and the record of every verified Lemon Squeezy event.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::Update;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;

use super::tx::Condition;
use super::{
    BillingEventItem, BillingOutcome, Item, Store, StoreError, SubscriptionOwnerItem, from_item, key, keys, n, s,
    sdk_error, to_item,
};
use crate::lemonsqueezy::{Payment, Subscription};

/// What applying a billing event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// Not newer than the stored state of the same subscription: nothing changed.
    Stale,
    /// This very event was processed before.
    Duplicate,
}

/// The org item attribute that holds one map entry per subscription.
const SUBSCRIPTIONS: &str = "subscriptions";
const PAYMENTS: &str = "payments";

/// `SET <map>.<subscription> = :value` on the org item.
fn set_entry(org_id: &str, map: &str, subscription_id: &str, value: AttributeValue) -> UpdateBuilder {
    Update::builder()
        .set_key(Some(key(keys::org_pk(org_id), keys::ORG_SK.to_owned())))
        .update_expression("SET #map.#sub = :value")
        .expression_attribute_names("#map", map)
        .expression_attribute_names("#sub", subscription_id)
        .expression_attribute_values(":value", value)
}

/// Only when the stored state of this subscription is older, or as old with other content
/// (Lemon Squeezy's `updated_at` has one-second precision: a same-second change is not dropped).
fn newer_than_stored(update: UpdateBuilder, at: &crate::Timestamp, hash: &str) -> UpdateBuilder {
    update
        .condition_expression(
            "attribute_exists(PK) AND (attribute_not_exists(#map.#sub) OR #map.#sub.updatedAt < :at \
             OR (#map.#sub.updatedAt = :at AND #map.#sub.contentHash <> :hash))",
        )
        .expression_attribute_values(":at", s(at.to_string()))
        .expression_attribute_values(":hash", s(hash))
}

impl Store {
    /// The organization a subscription belongs to, if known (strongly consistent).
    pub async fn subscription_owner(&self, subscription_id: &str) -> Result<Option<String>, StoreError> {
        let owner: Option<SubscriptionOwnerItem> =
            self.get(keys::subscription_owner_pk(subscription_id), keys::SUBSCRIPTION_OWNER_SK.to_owned()).await?;
        Ok(owner.map(|o| o.org_id))
    }

    /// Stores an event record unless one with the same body is stored; `false` for a duplicate.
    pub async fn record_billing_event(&self, record: &BillingEventItem) -> Result<bool, StoreError> {
        self.put_if(to_item(record)?, "attribute_not_exists(PK)", vec![]).await
    }

    /// Sets one subscription's state on its organization unless the stored state of that
    /// subscription is newer, records or checks its owner, and records the event, in one
    /// transaction. `owner_known`: the owner was read as `org_id`, and must still be; otherwise
    /// it is recorded now, and the write fails if another organization got there first.
    pub async fn apply_subscription(
        &self,
        org_id: &str,
        owner_known: bool,
        subscription: &Subscription,
        record: &BillingEventItem,
    ) -> Result<Applied, StoreError> {
        let value = AttributeValue::M(to_item(subscription)?);
        let update = newer_than_stored(
            set_entry(org_id, SUBSCRIPTIONS, &subscription.id, value),
            &subscription.updated_at,
            &subscription.content_hash,
        );
        self.apply(org_id, &subscription.id, owner_known, update, record).await
    }

    /// Sets a subscription's last payment unless a newer one of it is stored (and records the
    /// event), like [`apply_subscription`](Self::apply_subscription).
    pub async fn apply_payment(
        &self,
        org_id: &str,
        owner_known: bool,
        payment: &Payment,
        record: &BillingEventItem,
    ) -> Result<Applied, StoreError> {
        let value = AttributeValue::M(to_item(payment)?);
        let update = newer_than_stored(
            set_entry(org_id, PAYMENTS, &payment.subscription_id, value),
            &payment.updated_at,
            &payment.content_hash,
        );
        self.apply(org_id, &payment.subscription_id, owner_known, update, record).await
    }

    async fn apply(
        &self,
        org_id: &str,
        subscription_id: &str,
        owner_known: bool,
        update: UpdateBuilder,
        record: &BillingEventItem,
    ) -> Result<Applied, StoreError> {
        let mut tx = self.tx();
        tx.update("org", update)?;
        let owner = SubscriptionOwnerItem::new(subscription_id, org_id);
        let same_owner = || Condition::new("orgId = :org").value(":org", s(org_id));
        if owner_known {
            tx.check("owner", key(owner.pk, owner.sk), same_owner())?;
        } else {
            let condition = Condition::new("attribute_not_exists(PK) OR orgId = :org").value(":org", s(org_id));
            tx.put("owner", to_item(&owner)?, Some(condition))?;
        }
        tx.put("record", to_item(record)?, Some(Condition::absent()))?;
        match self.commit(tx).await {
            Ok(()) => Ok(Applied::Applied),
            Err(StoreError::Cancelled(failure)) if failure.is("record") => Ok(Applied::Duplicate),
            Err(StoreError::Cancelled(failure)) if failure.is("owner") => {
                // Another organization took the subscription meanwhile: Lemon Squeezy's retry
                // will find the stored owner.
                Err(StoreError::Unavailable("the subscription's owner changed meanwhile".into()))
            }
            Err(StoreError::Cancelled(_)) => {
                // Stale (or the org is gone): keep the record of it all the same.
                let stale = BillingEventItem { outcome: BillingOutcome::Stale, ..record.clone() };
                if !self.record_billing_event(&stale).await? {
                    return Ok(Applied::Duplicate);
                }
                Ok(Applied::Stale)
            }
            Err(error) => Err(error),
        }
    }

    /// Sets a subscription to what the Lemon Squeezy API answered (the reconcile job: the API is
    /// the truth, whatever the timestamps), if the stored state is still the one read before
    /// the call (`seen_hash`; `None`: there was none). `false` if it changed meanwhile.
    pub async fn reconcile_subscription(
        &self,
        org_id: &str,
        fetched: &Subscription,
        seen_hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org_pk(org_id), keys::ORG_SK.to_owned())))
            .update_expression("SET #map.#sub = :value")
            .expression_attribute_names("#map", SUBSCRIPTIONS)
            .expression_attribute_names("#sub", &fetched.id)
            .expression_attribute_values(":value", AttributeValue::M(to_item(fetched)?));
        let request = match seen_hash {
            Some(hash) => request
                .condition_expression("#map.#sub.contentHash = :seen")
                .expression_attribute_values(":seen", s(hash)),
            None => request.condition_expression("attribute_exists(PK) AND attribute_not_exists(#map.#sub)"),
        };
        super::condition_held(request.send().await.map_err(sdk_error))
    }

    /// Subscription owners, a page at a time (jobs only: GSI1 `LSSUBS`, which may lag behind a
    /// just-recorded owner by a moment; the next run sees it).
    pub async fn subscription_owners(
        &self,
        start: Option<Item>,
    ) -> Result<(Vec<SubscriptionOwnerItem>, Option<Item>), StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :subscriptions")
            .expression_attribute_values(":subscriptions", s(keys::SUBSCRIPTIONS_GSI1PK))
            .set_exclusive_start_key(start)
            .limit(100)
            .send()
            .await
            .map_err(sdk_error)?;
        let owners = page.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((owners, page.last_evaluated_key))
    }

    /// A page of one shard's unmatched events that are still to be retried (jobs only: GSI1
    /// `LS#RETRY#<shard>`; every change to a record is conditioned on its base item).
    pub async fn retryable_billing_events(
        &self,
        shard: u32,
        start: Option<Item>,
        limit: i32,
    ) -> Result<(Vec<BillingEventItem>, Option<Item>), StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :shard")
            .expression_attribute_values(":shard", s(keys::retry_shard_gsi1pk(shard)))
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(sdk_error)?;
        let records = page.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((records, page.last_evaluated_key))
    }

    /// Counts a retry that still found no organization; the `max_attempts`-th abandons the
    /// event (it leaves the retry index, and stays on record). Answers what the record is now;
    /// a record changed meanwhile (another run) is left alone.
    pub async fn note_unmatched_retry(
        &self,
        record: &BillingEventItem,
        max_attempts: u32,
    ) -> Result<BillingOutcome, StoreError> {
        let attempts = record.attempts + 1;
        let abandon = attempts >= max_attempts;
        let expression = if abandon {
            "SET attempts = :attempts, #outcome = :abandoned REMOVE GSI1PK, GSI1SK"
        } else {
            "SET attempts = :attempts"
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(record.pk.clone(), record.sk.clone())))
            .update_expression(expression)
            .condition_expression("#outcome = :unmatched AND attempts = :seen")
            .expression_attribute_names("#outcome", "outcome")
            .expression_attribute_values(":attempts", n(attempts))
            .expression_attribute_values(":seen", n(record.attempts))
            .expression_attribute_values(":unmatched", s(BillingOutcome::Unmatched.as_str()));
        if abandon {
            request = request.expression_attribute_values(":abandoned", s(BillingOutcome::Abandoned.as_str()));
        }
        let held = super::condition_held(request.send().await.map_err(sdk_error))?;
        Ok(if held && abandon { BillingOutcome::Abandoned } else { BillingOutcome::Unmatched })
    }

    /// Drops an unmatched event's record once it has been matched and recorded under its org.
    pub async fn forget_unmatched(&self, record: &BillingEventItem) -> Result<(), StoreError> {
        let values = vec![(":unmatched", s(BillingOutcome::Unmatched.as_str()))];
        let condition = Some("#outcome = :unmatched");
        self.delete_if(key(record.pk.clone(), record.sk.clone()), condition, vec![("#outcome", "outcome")], values)
            .await
            .map(drop)
    }
}
