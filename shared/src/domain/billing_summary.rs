//! What the org item keeps of an organization's Lemon Squeezy subscriptions: only what decides
//! its plan, and the revision that billing writes condition on (docs/data-model.md, "Billing").

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::billing::Subscription;
use super::plans::grants_access;
use crate::Timestamp;

/// What the org item keeps of its Lemon Squeezy subscriptions: only what decides the plan, so
/// that the item does not grow with every subscription the organization ever had (each one's
/// whole state and last payment are items of their own). A subscription's grant can only end
/// with time, never begin (only a new state can make it grant), so the subscriptions that grant
/// access when a state is written, and the most recently updated one (shown when none grants),
/// are all that [`entitlement`](super::plans::entitlement) can ever choose from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingSummary {
    /// Counts every change of this summary: the one value that a write depending on the
    /// organization's billing (another event, `DELETE /org`) conditions on, whatever the number
    /// of subscriptions.
    #[serde(default)]
    pub revision: u64,
    /// The subscriptions that can still decide the plan, by id.
    #[serde(default)]
    pub subscriptions: BTreeMap<String, Subscription>,
    /// Subscriptions known only from a payment (Lemon Squeezy sent it before their state):
    /// `billing-reconcile` reads their state.
    #[serde(default)]
    pub unread: BTreeSet<String>,
}

impl BillingSummary {
    /// At most this many subscriptions are kept (about 230 bytes each, so the org item stays
    /// small): the most recently updated ones. Only an organization paying for more than this
    /// many subscriptions at once could lose a grant to it.
    pub const MAX_KEPT: usize = 50;

    /// The summary once `subscription` has the state given, at `now`.
    pub fn with_state(&self, subscription: &Subscription, now: Timestamp) -> Self {
        let mut all = self.subscriptions.clone();
        all.insert(subscription.id.clone(), subscription.clone());
        let latest = all.values().max_by_key(|s| (s.updated_at, s.id.clone())).map(|s| s.id.clone());
        let mut kept: Vec<Subscription> =
            all.into_values().filter(|s| grants_access(s, now) || Some(&s.id) == latest.as_ref()).collect();
        kept.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then_with(|| b.id.cmp(&a.id)));
        kept.truncate(Self::MAX_KEPT);
        let mut unread = self.unread.clone();
        unread.remove(&subscription.id);
        Self {
            revision: self.revision + 1,
            subscriptions: kept.into_iter().map(|s| (s.id.clone(), s)).collect(),
            unread,
        }
    }

    /// The summary once a payment of a subscription whose state is not known arrived.
    pub fn with_unread(&self, subscription_id: &str) -> Self {
        let mut next = self.clone();
        next.revision += 1;
        next.unread.insert(subscription_id.to_owned());
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::billing::SubscriptionStatus;

    fn state(id: &str, status: &str, updated: &str, ends: Option<&str>) -> Subscription {
        Subscription {
            id: id.into(),
            status: SubscriptionStatus::parse(status),
            variant_id: "v".into(),
            renews_at: None,
            ends_at: ends.and_then(Timestamp::parse),
            updated_at: Timestamp::parse(updated).unwrap(),
            content_hash: String::new(),
        }
    }

    #[test]
    fn the_summary_keeps_what_can_decide_the_plan_and_nothing_else() {
        let now = Timestamp::parse("2026-06-01T00:00:00Z").unwrap();
        let mut summary = BillingSummary::default();
        for i in 0..200 {
            let updated = now.minus(time::Duration::days(400 - i64::from(i))).to_string();
            summary = summary.with_state(&state(&format!("old{i}"), "expired", &updated, None), now);
        }
        assert_eq!(summary.revision, 200);
        assert_eq!(summary.subscriptions.keys().collect::<Vec<_>>(), ["old199"], "only the latest of the expired");
        summary = summary.with_state(&state("paid", "active", "2026-05-01T00:00:00Z", None), now);
        let ending = state("ending", "cancelled", "2026-04-01T00:00:00Z", Some("2026-07-01T00:00:00Z"));
        summary = summary.with_state(&ending, now);
        let ended = state("ended", "cancelled", "2026-03-01T00:00:00Z", Some("2026-05-01T00:00:00Z"));
        summary = summary.with_state(&ended, now);
        assert_eq!(
            summary.subscriptions.keys().collect::<Vec<_>>(),
            ["ending", "paid"],
            "granting ones and the latest"
        );
        // The granting one stops granting: it stays only while it is the latest.
        summary = summary.with_state(&state("paid", "expired", "2026-05-20T00:00:00Z", None), now);
        assert_eq!(summary.subscriptions.keys().collect::<Vec<_>>(), ["ending", "paid"]);
        summary = summary.with_state(&state("new", "paused", "2026-05-21T00:00:00Z", None), now);
        assert_eq!(summary.subscriptions.keys().collect::<Vec<_>>(), ["ending", "new"]);
        let many = (0..80).fold(summary, |s, i| {
            s.with_state(
                &state(&format!("a{i:02}"), "active", &format!("2026-05-22T{:02}:{:02}:00Z", i / 60, i % 60), None),
                now,
            )
        });
        assert_eq!(many.subscriptions.len(), BillingSummary::MAX_KEPT);
        assert!(many.subscriptions.contains_key("a79") && !many.subscriptions.contains_key("a00"), "newest kept");
    }

    #[test]
    fn a_payment_before_its_state_is_unread_until_the_state_arrives() {
        let now = Timestamp::now();
        let summary = BillingSummary::default().with_unread("s1");
        assert_eq!((summary.revision, summary.unread.len()), (1, 1));
        let summary = summary.with_state(&state("s1", "active", "2026-01-01T00:00:00Z", None), now);
        assert_eq!((summary.revision, summary.unread.len()), (2, 0));
    }
}
