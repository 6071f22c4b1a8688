//! Plans and the entitlement rule: which plan's limits an organization has at a given time.
//!
//! When an organization owns several subscriptions (a new checkout after a cancel, two by
//! mistake): among the subscriptions that grant access, the one whose plan allows the most
//! (compared by `maxStaff`, then `maxCustomers`, then `maxClients`; a tie goes to the most
//! recently updated). When none grants access, the free plan applies and the most recently
//! updated subscription is the one shown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::billing::{Subscription, SubscriptionStatus};
use crate::Timestamp;

/// Limits of one plan, as `PLANS` gives them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanLimits {
    pub name: String,
    pub max_customers: u64,
    pub max_staff: u64,
    pub max_clients: u64,
}

/// `PLANS`: the free plan and the plan of each Lemon Squeezy variant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plans {
    pub free: PlanLimits,
    #[serde(default)]
    pub variants: BTreeMap<String, PlanLimits>,
}

impl Default for Plans {
    /// Used when `PLANS` is not set: a small free plan and no paid variants.
    fn default() -> Self {
        Self {
            free: PlanLimits { name: "Free".into(), max_customers: 10, max_staff: 3, max_clients: 5 },
            variants: BTreeMap::new(),
        }
    }
}

/// The plan as the API shows it. `status` and `variantId` are null without a subscription;
/// with one they show it even when its status puts the organization on the free plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    pub name: String,
    pub status: Option<String>,
    pub variant_id: Option<String>,
    pub renews_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
}

/// The limits in force for an organization, the plan they come from, and the subscription
/// that decides it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub plan: PlanView,
    pub limits: PlanLimits,
    pub subscription: Option<Subscription>,
    /// The shown subscription's variant is missing from `PLANS` (an operator should know).
    pub unknown_variant: bool,
}

/// Whether a subscription in this state grants its variant's plan (API.md "Effective plan").
pub fn grants_access(subscription: &Subscription, now: Timestamp) -> bool {
    match subscription.status {
        SubscriptionStatus::OnTrial | SubscriptionStatus::Active | SubscriptionStatus::PastDue => true,
        // Cancelled keeps the plan until the end of the paid period.
        SubscriptionStatus::Cancelled => subscription.ends_at.is_some_and(|ends| ends > now),
        _ => false,
    }
}

/// How much a plan allows, for choosing the best of several.
fn allowance(limits: &PlanLimits) -> (u64, u64, u64) {
    (limits.max_staff, limits.max_customers, limits.max_clients)
}

/// The effective plan of an organization that owns `subscriptions`, at `now` (the module's plan
/// rule): no subscription → `PLANS.free`; `on_trial`, `active`, `past_due`, and `cancelled` until
/// `ends_at` → the plan of its variant; `paused`, `unpaid`, `expired` → free. A variant missing
/// from `PLANS` grants free.
pub fn entitlement(subscriptions: &BTreeMap<String, Subscription>, plans: &Plans, now: Timestamp) -> Entitlement {
    let granting = subscriptions
        .values()
        .filter(|s| grants_access(s, now))
        .filter_map(|s| plans.variants.get(&s.variant_id).map(|limits| (s, limits)))
        .max_by_key(|(s, limits)| (allowance(limits), s.updated_at));
    let (shown, limits) = match granting {
        Some((subscription, limits)) => (Some(subscription), limits.clone()),
        None => (subscriptions.values().max_by_key(|s| s.updated_at), plans.free.clone()),
    };
    Entitlement {
        plan: PlanView {
            name: limits.name.clone(),
            status: shown.map(|s| s.status.as_str().to_owned()),
            variant_id: shown.map(|s| s.variant_id.clone()),
            renews_at: shown.and_then(|s| s.renews_at),
            ends_at: shown.and_then(|s| s.ends_at),
        },
        limits,
        unknown_variant: shown.is_some_and(|s| !plans.variants.contains_key(&s.variant_id)),
        subscription: shown.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn plans() -> Plans {
        let plan =
            |name: &str, n: u64| PlanLimits { name: name.into(), max_customers: n, max_staff: n, max_clients: n };
        Plans {
            free: plan("Free", 1),
            variants: BTreeMap::from([("pro".into(), plan("Pro", 10)), ("max".into(), plan("Max", 50))]),
        }
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn subscription(
        id: &str,
        variant: &str,
        status: SubscriptionStatus,
        updated: &str,
        ends: Option<&str>,
    ) -> Subscription {
        Subscription {
            id: id.into(),
            status,
            variant_id: variant.into(),
            renews_at: None,
            ends_at: ends.map(at),
            updated_at: at(updated),
            content_hash: String::new(),
        }
    }

    fn owned(subscriptions: Vec<Subscription>) -> BTreeMap<String, Subscription> {
        subscriptions.into_iter().map(|s| (s.id.clone(), s)).collect()
    }

    const NOW: &str = "2026-06-01T00:00:00Z";

    #[test]
    fn entitlement_by_status() {
        use SubscriptionStatus::*;
        let now = at(NOW);
        for (status, ends, plan) in [
            (OnTrial, None, "Pro"),
            (Active, None, "Pro"),
            (PastDue, None, "Pro"),
            (Cancelled, Some("2026-07-01T00:00:00Z"), "Pro"),
            (Cancelled, Some("2026-05-01T00:00:00Z"), "Free"),
            (Cancelled, None, "Free"),
            (Paused, None, "Free"),
            (Unpaid, None, "Free"),
            (Expired, None, "Free"),
            (Other("frozen".into()), None, "Free"),
        ] {
            let e = entitlement(&owned(vec![subscription("1", "pro", status.clone(), NOW, ends)]), &plans(), now);
            assert_eq!(e.plan.name, plan, "{status:?} {ends:?}");
            assert_eq!(e.plan.status.as_deref(), Some(status.as_str()));
        }
        let none = entitlement(&owned(vec![]), &plans(), now);
        assert_eq!((none.plan.name.as_str(), none.plan.status, none.subscription), ("Free", None, None));
        let unknown = entitlement(&owned(vec![subscription("1", "gone", Active, NOW, None)]), &plans(), now);
        assert_eq!(unknown.limits, plans().free, "a variant missing from PLANS grants free");
        assert!(unknown.unknown_variant);
    }

    #[test]
    fn the_best_granting_subscription_decides() {
        use SubscriptionStatus::*;
        let now = at(NOW);
        // A newer paused subscription does not take the plan from an older active one.
        let e = entitlement(
            &owned(vec![
                subscription("1", "pro", Active, "2026-01-01T00:00:00Z", None),
                subscription("2", "max", Paused, "2026-05-01T00:00:00Z", None),
            ]),
            &plans(),
            now,
        );
        assert_eq!((e.plan.name.as_str(), e.subscription.unwrap().id.as_str()), ("Pro", "1"));
        // Two granting: the larger plan, whichever is newer.
        let e = entitlement(
            &owned(vec![
                subscription("1", "max", Active, "2026-01-01T00:00:00Z", None),
                subscription("2", "pro", Active, "2026-05-01T00:00:00Z", None),
            ]),
            &plans(),
            now,
        );
        assert_eq!(e.subscription.unwrap().id, "1");
        // Same plan: the most recently updated.
        let e = entitlement(
            &owned(vec![
                subscription("1", "pro", Active, "2026-01-01T00:00:00Z", None),
                subscription("2", "pro", OnTrial, "2026-05-01T00:00:00Z", None),
            ]),
            &plans(),
            now,
        );
        assert_eq!(e.subscription.unwrap().id, "2");
        // None granting: free, showing the newest.
        let e = entitlement(
            &owned(vec![
                subscription("1", "max", Expired, "2026-01-01T00:00:00Z", None),
                subscription("2", "pro", Paused, "2026-05-01T00:00:00Z", None),
            ]),
            &plans(),
            now,
        );
        assert_eq!((e.plan.name.as_str(), e.plan.status.as_deref()), ("Free", Some("paused")));
    }

    fn status() -> impl Strategy<Value = SubscriptionStatus> {
        use SubscriptionStatus::*;
        prop_oneof![
            Just(OnTrial),
            Just(Active),
            Just(PastDue),
            Just(Cancelled),
            Just(Paused),
            Just(Unpaid),
            Just(Expired),
            Just(Other("frozen".into()))
        ]
    }

    proptest! {
        /// Whatever an organization owns: the limits are the free plan's or those of the shown
        /// subscription when it grants access now; and adding a subscription that grants
        /// nothing never changes the limits.
        #[test]
        fn only_a_granting_subscription_lifts_the_limits(
            owned_now in proptest::collection::vec(
                (status(), prop_oneof![Just("pro"), Just("max"), Just("gone")], 0i64..400, proptest::option::of(0i64..400)),
                0..6,
            ),
            idle in prop_oneof![Just(SubscriptionStatus::Paused), Just(SubscriptionStatus::Unpaid), Just(SubscriptionStatus::Expired), Just(SubscriptionStatus::Cancelled)],
            idle_updated in 0i64..400,
        ) {
            let now = at(NOW);
            let day = |d: i64| at("2026-01-01T00:00:00Z").plus(time::Duration::days(d));
            let map = owned(owned_now.iter().enumerate().map(|(i, (status, variant, updated, ends))| Subscription {
                ends_at: ends.map(day),
                updated_at: day(*updated),
                ..subscription(&i.to_string(), variant, status.clone(), NOW, None)
            }).collect());
            let e = entitlement(&map, &plans(), now);
            match &e.subscription {
                Some(s) if grants_access(s, now) && plans().variants.contains_key(&s.variant_id) => {
                    prop_assert_eq!(&e.limits, &plans().variants[&s.variant_id]);
                }
                _ => prop_assert_eq!(&e.limits, &plans().free),
            }
            // Cancelled without an end grants nothing, like the other idle states.
            let mut with_idle = map.clone();
            with_idle.insert("idle".into(), Subscription { updated_at: day(idle_updated), ..subscription("idle", "max", idle, NOW, None) });
            prop_assert_eq!(entitlement(&with_idle, &plans(), now).limits, e.limits);
        }
    }
}
