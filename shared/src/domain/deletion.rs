//! Whether an organization may be deleted (`DELETE /org`): the admin confirms it by its current
//! name, and no Lemon Squeezy subscription may still grant access (it would go on being paid
//! for an organization that is gone).

use std::collections::BTreeMap;

use super::billing::Subscription;
use super::plans::grants_access;
use crate::Timestamp;

/// Why a deletion is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeletionRefusal {
    /// `confirmName` is not the organization's current name.
    NameNotConfirmed,
    /// This subscription still grants access: cancel it first (a cancelled one grants access
    /// until its `endsAt`).
    SubscriptionActive { subscription_id: String, status: String, ends_at: Option<Timestamp> },
    /// A payment of this subscription is recorded but not its state yet (Lemon Squeezy sent
    /// them out of order): `billing-reconcile` reads it within its next run.
    SubscriptionUnknown { subscription_id: String },
}

/// Refuses the deletion of an organization named `name`, owning `subscriptions` (those that can
/// decide its plan) and having payments of the subscriptions `paid` (those whose state is not
/// read yet, `BillingSummary::unread`), at `now`, unless `confirm_name` is exactly its name, no
/// subscription grants access, and none is known only from a payment.
pub fn deletion_refusal<'a>(
    name: &str,
    confirm_name: &str,
    subscriptions: &BTreeMap<String, Subscription>,
    mut paid: impl Iterator<Item = &'a String>,
    now: Timestamp,
) -> Option<DeletionRefusal> {
    if confirm_name != name {
        return Some(DeletionRefusal::NameNotConfirmed);
    }
    if let Some(s) = subscriptions.values().find(|s| grants_access(s, now)) {
        let (subscription_id, status, ends_at) = (s.id.clone(), s.status.as_str().to_owned(), s.ends_at);
        return Some(DeletionRefusal::SubscriptionActive { subscription_id, status, ends_at });
    }
    paid.find(|id| !subscriptions.contains_key(*id))
        .map(|id| DeletionRefusal::SubscriptionUnknown { subscription_id: id.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::billing::SubscriptionStatus;

    fn subscription(status: &str, ends_at: Option<&str>) -> BTreeMap<String, Subscription> {
        let subscription = Subscription {
            id: "sub_1".into(),
            status: SubscriptionStatus::parse(status),
            variant_id: "v".into(),
            renews_at: None,
            ends_at: ends_at.and_then(Timestamp::parse),
            updated_at: Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
            content_hash: "h".into(),
        };
        BTreeMap::from([("sub_1".to_owned(), subscription)])
    }

    #[test]
    fn the_name_must_be_the_current_one_exactly() {
        let now = Timestamp::now();
        assert_eq!(deletion_refusal("Acme", "Acme", &BTreeMap::new(), [].iter(), now), None);
        for typed in ["acme", "Acme ", "", "Acme Inc"] {
            assert_eq!(
                deletion_refusal("Acme", typed, &BTreeMap::new(), [].iter(), now),
                Some(DeletionRefusal::NameNotConfirmed)
            );
        }
    }

    #[test]
    fn a_subscription_that_grants_access_refuses_until_it_ends() {
        let now = Timestamp::parse("2026-06-01T00:00:00Z").unwrap();
        for status in ["active", "on_trial", "past_due"] {
            let refused = deletion_refusal("A", "A", &subscription(status, None), [].iter(), now);
            assert!(matches!(refused, Some(DeletionRefusal::SubscriptionActive { .. })), "{status}");
        }
        let cancelled_later = subscription("cancelled", Some("2026-06-30T00:00:00Z"));
        assert!(deletion_refusal("A", "A", &cancelled_later, [].iter(), now).is_some());
        for (status, ends) in
            [("cancelled", Some("2026-05-31T00:00:00Z")), ("expired", None), ("paused", None), ("unpaid", None)]
        {
            assert_eq!(deletion_refusal("A", "A", &subscription(status, ends), [].iter(), now), None, "{status}");
        }
    }

    #[test]
    fn a_subscription_known_only_from_a_payment_refuses_until_its_state_is_read() {
        let now = Timestamp::parse("2026-06-01T00:00:00Z").unwrap();
        let paid = ["sub_2".to_owned()];
        assert_eq!(
            deletion_refusal("A", "A", &BTreeMap::new(), paid.iter(), now),
            Some(DeletionRefusal::SubscriptionUnknown { subscription_id: "sub_2".into() })
        );
        let expired = subscription("expired", None);
        let paid_known = ["sub_1".to_owned()];
        assert_eq!(deletion_refusal("A", "A", &expired, paid_known.iter(), now), None);
    }
}
