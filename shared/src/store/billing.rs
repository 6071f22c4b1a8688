//! Lemon Squeezy subscriptions: which organization owns each (`LSSUB#s` / `LSSUB`), each one's
//! state, newest payment and portal link as an item of its organization (`ORG#o` / `SUB#s`), and
//! the org item's [`BillingSummary`] of what decides the plan; each change applied in one
//! transaction with the record of the event that brought it.

use super::tx::{Commit, OrgWrite};
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Update};

use super::audit::Event;
use super::tx::Condition;
use super::{
    BillingEventItem, OrgItem, Store, StoreError, SubscriptionItem, SubscriptionOwnerItem, key, keys, n, s, to_item,
};
use crate::domain::audit::{Action, Changes, Origin, Target, TargetKind};
use crate::domain::billing::{BillingOutcome, Payment, PortalLink, Subscription};
use crate::domain::billing_summary::BillingSummary;

/// What applying a billing event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// Not newer than the stored state of the same subscription: nothing changed.
    Stale,
    /// This very event was processed before.
    Duplicate,
    /// The organization's deletion began before the write: nothing was stored.
    OrgDeleted,
}

/// How a verified delivery is applied: whether its owner was read (and must still be), who made
/// the change, and the record of the event that goes into the same transaction.
pub struct Delivery<'a> {
    /// The owner was read as the organization, and must still be; otherwise it is recorded
    /// now, and the write fails if another organization got there first.
    pub owner_known: bool,
    pub origin: &'a Origin,
    pub record: &'a BillingEventItem,
}

/// `SET <attribute> = :value, …` on a subscription's item (made if missing).
fn set_subscription(org_id: &str, subscription_id: &str, attribute: &str, value: AttributeValue) -> UpdateBuilder {
    Update::builder()
        .set_key(Some(key(keys::org_pk(org_id), keys::subscription_sk(subscription_id))))
        .update_expression("SET #attribute = :value, entity = :entity, subscriptionId = :id")
        .expression_attribute_names("#attribute", attribute)
        .expression_attribute_values(":value", value)
        .expression_attribute_values(":entity", s(SubscriptionItem::ENTITY))
        .expression_attribute_values(":id", s(subscription_id))
}

/// The condition that the stored `#attribute` is older than `at`, or as old with other content
/// (Lemon Squeezy's `updated_at` has one-second precision: a same-second change is not dropped).
const NEWER_THAN_STORED: &str = "(attribute_not_exists(#attribute) OR #attribute.updatedAt < :at \
                                 OR (#attribute.updatedAt = :at AND #attribute.contentHash <> :hash))";

fn newer_than_stored(update: UpdateBuilder, at: &crate::Timestamp, hash: &str, and: &str) -> UpdateBuilder {
    update
        .condition_expression(format!("{NEWER_THAN_STORED}{and}"))
        .expression_attribute_values(":at", s(at.to_string()))
        .expression_attribute_values(":hash", s(hash))
}

/// Adds the org item's summary `next` to `tx` unless it says what the stored one says: a state
/// that changes no plan decision (an old subscription's, not the latest) leaves the org item
/// alone, so events of one organization compete on its revision only when they must. (The
/// deletion guard still checks the org item.)
pub(super) fn set_summary_if_changed(
    tx: &mut super::tx::Tx,
    org: &OrgItem,
    next: BillingSummary,
) -> Result<(), StoreError> {
    if next.subscriptions != org.billing.subscriptions || next.unread != org.billing.unread {
        tx.update("org", set_summary(org, &next)?)?;
    }
    Ok(())
}

/// The org item's billing summary set to `next`, on condition that it is still `seen`.
fn set_summary(org: &OrgItem, next: &BillingSummary) -> Result<UpdateBuilder, StoreError> {
    let seen = org.billing.revision;
    // An organization stored before the summary existed has none: revision 0.
    let condition = if seen == 0 {
        "attribute_exists(PK) AND (attribute_not_exists(#billing) OR #billing.revision = :seen)"
    } else {
        "#billing.revision = :seen"
    };
    Ok(Update::builder()
        .set_key(Some(key(keys::org_pk(&org.id), keys::ORG_SK.to_owned())))
        .update_expression("SET #billing = :billing")
        .condition_expression(condition)
        .expression_attribute_names("#billing", "billing")
        .expression_attribute_values(":billing", AttributeValue::M(to_item(next)?))
        .expression_attribute_values(":seen", n(seen)))
}

impl Store {
    /// Sets one subscription's state unless its stored state is newer, with the org item's
    /// summary (conditioned on the one `org` was read with), its owner and the event's record,
    /// in one transaction. `previous`: the subscription's state as read just before, for the
    /// audit entry. [`StoreError::BillingChanged`] when the summary moved: read
    /// again and retry.
    pub async fn apply_subscription(
        &self,
        org: &OrgItem,
        subscription: &Subscription,
        portal: Option<&PortalLink>,
        previous: Option<&Subscription>,
        delivery: &Delivery<'_>,
    ) -> Result<Applied, StoreError> {
        let mut update = newer_than_stored(
            set_subscription(&org.id, &subscription.id, "state", AttributeValue::M(to_item(subscription)?)),
            &subscription.updated_at,
            &subscription.content_hash,
            "",
        );
        if let Some(portal) = portal {
            update = with_portal(update, portal)?;
        }
        let mut tx = self.tx();
        tx.update("subscription", update)?;
        set_summary_if_changed(&mut tx, org, org.billing.with_state(subscription, crate::Timestamp::now()))?;
        let event = subscription_event(&subscription.id, previous, Some(subscription));
        self.apply(&org.id, &subscription.id, tx, event, delivery).await
    }

    /// Sets a subscription's newest payment unless a newer one of it is stored (and records the
    /// event), like [`apply_subscription`](Self::apply_subscription). A payment of a subscription
    /// whose state is not stored yet also marks it unread in the org item's summary.
    pub async fn apply_payment(
        &self,
        org: &OrgItem,
        payment: &Payment,
        stored: Option<&SubscriptionItem>,
        delivery: &Delivery<'_>,
    ) -> Result<Applied, StoreError> {
        let has_state = stored.is_some_and(|s| s.state.is_some());
        // The state never goes once stored; its arrival meanwhile changes the summary too.
        let state_as_read =
            if has_state { " AND attribute_exists(#state)" } else { " AND attribute_not_exists(#state)" };
        let update = newer_than_stored(
            set_subscription(&org.id, &payment.subscription_id, "payment", AttributeValue::M(to_item(payment)?)),
            &payment.updated_at,
            &payment.content_hash,
            state_as_read,
        )
        .expression_attribute_names("#state", "state");
        let mut tx = self.tx();
        tx.update("subscription", update)?;
        if !has_state {
            set_summary_if_changed(&mut tx, org, org.billing.with_unread(&payment.subscription_id))?;
        }
        let shown = |p: Option<&Payment>| p.map(|p| p.status.clone().unwrap_or_else(|| p.event.clone()));
        let previous = stored.and_then(|s| s.payment.as_ref());
        let changes = Changes::default().field("payment", &shown(previous), &shown(Some(payment)));
        let target = Target::new(TargetKind::Subscription, &payment.subscription_id);
        let event = Event::new(Action::BillingChanged, target, changes);
        self.apply(&org.id, &payment.subscription_id, tx, event, delivery).await
    }

    async fn apply(
        &self,
        org_id: &str,
        subscription_id: &str,
        mut tx: super::tx::Tx,
        event: Event,
        delivery: &Delivery<'_>,
    ) -> Result<Applied, StoreError> {
        if !event.changes.is_empty() {
            self.audit(&mut tx, org_id, delivery.origin, event)?;
        }
        let owner = SubscriptionOwnerItem::new(subscription_id, org_id);
        let same_owner = || Condition::new("orgId = :org").value(":org", s(org_id));
        if delivery.owner_known {
            tx.check("owner", key(owner.pk, owner.sk), same_owner())?;
        } else {
            let condition = Condition::new("attribute_not_exists(PK) OR orgId = :org").value(":org", s(org_id));
            tx.put("owner", to_item(&owner)?, Some(condition))?;
        }
        tx.put("record", to_item(delivery.record)?, Some(Condition::absent()))?;
        match self.commit(tx).await? {
            Commit::Committed => Ok(Applied::Applied),
            Commit::Cancelled(failure) if failure.is("record") => Ok(Applied::Duplicate),
            Commit::Cancelled(failure) if failure.is("org") => Err(StoreError::BillingChanged),
            Commit::Cancelled(failure) if failure.is("owner") => {
                // Another organization took the subscription meanwhile: Lemon Squeezy's retry
                // will find the stored owner.
                Err(StoreError::Unavailable("the subscription's owner changed meanwhile".into()))
            }
            Commit::Cancelled(_) => {
                // Stale: keep the record of it all the same.
                let stale = BillingEventItem { outcome: BillingOutcome::Stale, ..delivery.record.clone() };
                Ok(match self.record_billing_event(&stale).await? {
                    super::Recorded::Fresh => Applied::Stale,
                    super::Recorded::Duplicate => Applied::Duplicate,
                    super::Recorded::OrgDeleted => Applied::OrgDeleted,
                })
            }
            Commit::OrgGone => Ok(Applied::OrgDeleted),
        }
    }

    /// Sets a subscription to what the Lemon Squeezy API answered (the reconcile job: the API is
    /// the truth, whatever the timestamps), if its stored state is still `seen` (`None`: there
    /// was none), with the org item's summary. `Written(false)` if the subscription changed meanwhile;
    /// [`StoreError::BillingChanged`] if only the summary did.
    pub async fn reconcile_subscription(
        &self,
        org: &OrgItem,
        fetched: &Subscription,
        portal: Option<&PortalLink>,
        seen: Option<&Subscription>,
        origin: &Origin,
    ) -> Result<OrgWrite<bool>, StoreError> {
        let mut update = set_subscription(&org.id, &fetched.id, "state", AttributeValue::M(to_item(fetched)?));
        update = match seen {
            Some(seen) => update
                .condition_expression("#attribute.contentHash = :seen")
                .expression_attribute_values(":seen", s(&seen.content_hash)),
            None => update.condition_expression("attribute_not_exists(#attribute)"),
        };
        if let Some(portal) = portal {
            update = with_portal(update, portal)?;
        }
        let mut tx = self.tx();
        tx.update("subscription", update)?;
        set_summary_if_changed(&mut tx, org, org.billing.with_state(fetched, crate::Timestamp::now()))?;
        let event = subscription_event(&fetched.id, seen, Some(fetched));
        if !event.changes.is_empty() {
            self.audit(&mut tx, &org.id, origin, event)?;
        }
        match self.commit(tx).await? {
            Commit::Committed => Ok(OrgWrite::Written(true)),
            Commit::Cancelled(failure) if failure.is("subscription") => Ok(OrgWrite::Written(false)),
            Commit::Cancelled(failure) if failure.is("org") => Err(StoreError::BillingChanged),
            Commit::OrgGone => Ok(OrgWrite::OrgGone),
            other => other.required().map(|()| OrgWrite::Written(true)),
        }
    }
}

/// Also sets the subscription's portal link (the update's `#attribute` is its state).
fn with_portal(update: UpdateBuilder, portal: &PortalLink) -> Result<UpdateBuilder, StoreError> {
    let expression = update.get_update_expression().clone().unwrap_or_default();
    Ok(update
        .update_expression(format!("{expression}, portal = :portal"))
        .expression_attribute_values(":portal", AttributeValue::M(to_item(portal)?)))
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
