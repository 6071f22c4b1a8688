//! Lemon Squeezy subscriptions: which organization owns each (`LSSUB#s` / `LSSUB`), and the
//! subscription and payment state on the org item, each applied in one transaction with the
//! record of the event that brought it.

use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Update};
use serde::{Deserialize, Serialize};

use super::audit::Event;
use super::tx::Condition;
use super::{BillingEventItem, Item, Store, StoreError, from_item, key, keys, s, sdk_error, to_item};
use crate::domain::audit::{Action, Changes, Origin, Target, TargetKind};
use crate::domain::billing::{BillingOutcome, Payment, Subscription};

/// `LSSUB#s` / `LSSUB`: which organization a Lemon Squeezy subscription belongs to; in GSI1
/// `LSSUBS` / `LSSUB#s`, the list of subscriptions the reconcile job walks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionOwnerItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub entity: String,
    pub subscription_id: String,
    pub org_id: String,
}

impl SubscriptionOwnerItem {
    pub const ENTITY: &'static str = "subscription_owner";

    pub fn new(subscription_id: &str, org_id: &str) -> Self {
        Self {
            pk: keys::subscription_owner_pk(subscription_id),
            sk: keys::SUBSCRIPTION_OWNER_SK.to_owned(),
            gsi1pk: keys::SUBSCRIPTIONS_GSI1PK.to_owned(),
            gsi1sk: keys::subscription_owner_pk(subscription_id),
            entity: Self::ENTITY.to_owned(),
            subscription_id: subscription_id.to_owned(),
            org_id: org_id.to_owned(),
        }
    }
}

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

    /// Sets one subscription's state on its organization unless the stored state of that
    /// subscription is newer, records or checks its owner, and records the event, in one
    /// transaction. `owner_known`: the owner was read as `org_id`, and must still be; otherwise
    /// it is recorded now, and the write fails if another organization got there first.
    pub async fn apply_subscription(
        &self,
        org_id: &str,
        owner_known: bool,
        subscription: &Subscription,
        change: &BillingChange<'_>,
        record: &BillingEventItem,
    ) -> Result<Applied, StoreError> {
        let value = AttributeValue::M(to_item(subscription)?);
        let update = newer_than_stored(
            set_entry(org_id, SUBSCRIPTIONS, &subscription.id, value),
            &subscription.updated_at,
            &subscription.content_hash,
        );
        let event = subscription_event(&subscription.id, change.previous, Some(subscription));
        self.apply(org_id, &subscription.id, owner_known, update, record, (change.origin, event)).await
    }

    /// Sets a subscription's last payment unless a newer one of it is stored (and records the
    /// event), like [`apply_subscription`](Self::apply_subscription).
    pub async fn apply_payment(
        &self,
        org_id: &str,
        owner_known: bool,
        payment: &Payment,
        previous: Option<&Payment>,
        origin: &Origin,
        record: &BillingEventItem,
    ) -> Result<Applied, StoreError> {
        let value = AttributeValue::M(to_item(payment)?);
        let update = newer_than_stored(
            set_entry(org_id, PAYMENTS, &payment.subscription_id, value),
            &payment.updated_at,
            &payment.content_hash,
        );
        let shown = |p: Option<&Payment>| p.map(|p| p.status.clone().unwrap_or_else(|| p.event.clone()));
        let changes = Changes::default().field("payment", &shown(previous), &shown(Some(payment)));
        let target = Target::new(TargetKind::Subscription, &payment.subscription_id);
        let event = Event::new(Action::BillingChanged, target, changes);
        self.apply(org_id, &payment.subscription_id, owner_known, update, record, (origin, event)).await
    }

    async fn apply(
        &self,
        org_id: &str,
        subscription_id: &str,
        owner_known: bool,
        update: UpdateBuilder,
        record: &BillingEventItem,
        (origin, event): (&Origin, Event),
    ) -> Result<Applied, StoreError> {
        let mut tx = self.tx();
        tx.update("org", update)?;
        if !event.changes.is_empty() {
            self.audit(&mut tx, org_id, origin, event)?;
        }
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
        seen: Option<&Subscription>,
        origin: &Origin,
    ) -> Result<bool, StoreError> {
        let seen_hash = seen.map(|s| s.content_hash.as_str());
        let request = UpdateBuilder::default()
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
        let mut tx = self.tx();
        tx.update("org", request)?;
        let event = subscription_event(&fetched.id, seen, Some(fetched));
        if !event.changes.is_empty() {
            self.audit(&mut tx, org_id, origin, event)?;
        }
        match self.commit(tx).await {
            Ok(()) => Ok(true),
            Err(StoreError::Cancelled(failure)) if failure.is("org") => Ok(false),
            Err(error) => Err(error),
        }
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
}

/// What a subscription event changes, for its audit entry: the state stored before (as read
/// just before the write), and who made the change.
pub struct BillingChange<'a> {
    pub previous: Option<&'a Subscription>,
    pub origin: &'a Origin,
}

/// The audit entry of a subscription's state changing: the fields a reader of billing sees.
fn subscription_event(id: &str, old: Option<&Subscription>, new: Option<&Subscription>) -> Event {
    let status = |s: Option<&Subscription>| s.map(|s| s.status.clone());
    let variant = |s: Option<&Subscription>| s.map(|s| s.variant_id.clone());
    let renews = |s: Option<&Subscription>| s.and_then(|s| s.renews_at);
    let ends = |s: Option<&Subscription>| s.and_then(|s| s.ends_at);
    let changes = Changes::default()
        .field("status", &status(old), &status(new))
        .field("variantId", &variant(old), &variant(new))
        .field("renewsAt", &renews(old), &renews(new))
        .field("endsAt", &ends(old), &ends(new));
    Event::new(Action::BillingChanged, Target::new(TargetKind::Subscription, id), changes)
}
