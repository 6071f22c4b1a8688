//! What an organization holds of each limited resource, and the changes to it: the plan's limits
//! and the last-admin guard are rules of a change. The store states the same rules as write
//! conditions on the org item (so concurrent requests cannot break them); [`UsageChange::refusal`]
//! states them here, to name the rule a refused write broke.

use serde::{Deserialize, Serialize};

use super::plans::PlanLimits;
use super::roles::Role;

/// How many of each limited resource an organization holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    #[serde(default)]
    pub customers: i64,
    /// Admins and staff members (the `maxStaff` seats).
    #[serde(default)]
    pub staff: i64,
    #[serde(default)]
    pub clients: i64,
    /// Admins alone, kept for the last-admin guard.
    #[serde(default)]
    pub admins: i64,
}

impl Usage {
    pub fn add(&mut self, role: Role, delta: i64) {
        match role {
            Role::Admin => {
                self.staff += delta;
                self.admins += delta;
            }
            Role::Staff => self.staff += delta,
            Role::Client => self.clients += delta,
        }
    }

    /// These counters with `delta` added.
    pub fn plus(self, delta: &Usage) -> Usage {
        Usage {
            customers: self.customers + delta.customers,
            staff: self.staff + delta.staff,
            clients: self.clients + delta.clients,
            admins: self.admins + delta.admins,
        }
    }

    fn negated(self) -> Usage {
        Usage { customers: -self.customers, staff: -self.staff, clients: -self.clients, admins: -self.admins }
    }
}

/// A change to an organization's usage counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageChange {
    pub delta: Usage,
    /// Limits that counters which grow must stay within; `None` lets them grow unchecked
    /// (mirroring what WorkOS already holds, or undoing an earlier change).
    pub limits: Option<PlanLimits>,
    /// Refuse the change if it would leave no admin.
    pub keep_an_admin: bool,
}

/// One counter of a change: its stored name, its delta and the limit a growth must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub name: &'static str,
    pub delta: i64,
    pub limit: Option<u64>,
}

/// Why a checked change may not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageRefusal {
    /// It would leave the organization without an admin.
    LastAdmin,
    /// The plan allows no more of `resource`.
    LimitReached { resource: &'static str, limit: u64, usage: u64 },
}

impl UsageChange {
    /// One seat of `role` taken (`delta` 1) or given back (`delta` -1).
    pub fn seat(role: Role, delta: i64) -> Self {
        let mut change = Self::default();
        change.delta.add(role, delta);
        change
    }

    /// A seat moving from one role to another.
    pub fn role_change(from: Role, to: Role) -> Self {
        let mut change = Self::seat(from, -1);
        change.delta.add(to, 1);
        change
    }

    /// Customers created (`delta` 1) or deleted (-1).
    pub fn customers(delta: i64) -> Self {
        Self { delta: Usage { customers: delta, ..Usage::default() }, ..Self::default() }
    }

    /// The seat a pending invitation holds: counted against the plan, but not an admin yet.
    pub fn invitation_seat(role: Role, delta: i64) -> Self {
        let mut change = Self::default();
        match role {
            Role::Admin | Role::Staff => change.delta.staff = delta,
            Role::Client => change.delta.clients = delta,
        }
        change
    }

    /// Combines two changes into one.
    pub fn plus(mut self, other: &Self) -> Self {
        self.delta = self.delta.plus(&other.delta);
        self
    }

    /// The same change, refused past `limits` or if it would leave no admin.
    pub fn within(mut self, limits: &PlanLimits) -> Self {
        self.limits = Some(limits.clone());
        self.keep_an_admin = true;
        self
    }

    /// The same change, refused if it would leave no admin.
    pub fn keeping_an_admin(mut self) -> Self {
        self.keep_an_admin = true;
        self
    }

    /// The change that undoes this one (unchecked).
    pub fn undo(&self) -> Self {
        Self { delta: self.delta.negated(), limits: None, keep_an_admin: false }
    }

    pub fn is_empty(&self) -> bool {
        self.delta == Usage::default()
    }

    /// The counters this change touches, in a fixed order.
    pub fn counters(&self) -> [Counter; 4] {
        let d = self.delta;
        let l = self.limits.as_ref();
        [
            Counter { name: "customers", delta: d.customers, limit: l.map(|l| l.max_customers) },
            Counter { name: "staff", delta: d.staff, limit: l.map(|l| l.max_staff) },
            Counter { name: "clients", delta: d.clients, limit: l.map(|l| l.max_clients) },
            Counter { name: "admins", delta: d.admins, limit: None },
        ]
    }

    /// Whether this change may be made to `current`: a counter that grows stays within its
    /// limit, and a change that keeps an admin leaves at least one.
    pub fn refusal(&self, current: &Usage) -> Option<UsageRefusal> {
        if self.keep_an_admin && self.delta.admins < 0 && current.admins + self.delta.admins < 1 {
            return Some(UsageRefusal::LastAdmin);
        }
        let used = [current.customers, current.staff, current.clients, current.admins];
        for (counter, used) in self.counters().into_iter().zip(used) {
            if let (true, Some(limit)) = (counter.delta > 0, counter.limit) {
                if used + counter.delta > limit as i64 {
                    return Some(UsageRefusal::LimitReached {
                        resource: counter.name,
                        limit,
                        usage: used.max(0) as u64,
                    });
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn limits(n: u64) -> PlanLimits {
        PlanLimits { name: "P".into(), max_customers: n, max_staff: n, max_clients: n }
    }

    #[test]
    fn an_admin_is_a_staff_seat_and_an_invitation_is_not_an_admin_yet() {
        assert_eq!(UsageChange::seat(Role::Admin, 1).delta, Usage { staff: 1, admins: 1, ..Usage::default() });
        assert_eq!(UsageChange::invitation_seat(Role::Admin, 1).delta, Usage { staff: 1, ..Usage::default() });
        let demotion = UsageChange::role_change(Role::Admin, Role::Staff);
        assert_eq!(demotion.delta, Usage { admins: -1, ..Usage::default() });
        assert!(UsageChange::role_change(Role::Staff, Role::Staff).is_empty());
    }

    #[test]
    fn refusals_name_the_rule() {
        let full = Usage { customers: 2, staff: 1, clients: 0, admins: 1 };
        assert_eq!(
            UsageChange::customers(1).within(&limits(2)).refusal(&full),
            Some(UsageRefusal::LimitReached { resource: "customers", limit: 2, usage: 2 })
        );
        assert_eq!(UsageChange::customers(1).refusal(&full), None, "unchecked changes grow freely");
        assert_eq!(UsageChange::seat(Role::Admin, -1).keeping_an_admin().refusal(&full), Some(UsageRefusal::LastAdmin));
        assert_eq!(UsageChange::seat(Role::Admin, -1).refusal(&full), None);
        assert_eq!(UsageChange::customers(-1).within(&limits(0)).refusal(&full), None, "shrinking is never refused");
    }

    fn role() -> impl Strategy<Value = Role> {
        prop_oneof![Just(Role::Admin), Just(Role::Staff), Just(Role::Client)]
    }

    fn change() -> impl Strategy<Value = UsageChange> {
        prop_oneof![
            (role(), -1i64..=1).prop_map(|(r, d)| UsageChange::seat(r, d)),
            (role(), role()).prop_map(|(a, b)| UsageChange::role_change(a, b)),
            (-1i64..=1).prop_map(UsageChange::customers),
            (role(), -1i64..=1).prop_map(|(r, d)| UsageChange::invitation_seat(r, d)),
        ]
    }

    proptest! {
        /// Any sequence of checked changes, each made only when `refusal` allows it, keeps every
        /// counter within the plan and at least one admin, starting from one admin.
        #[test]
        fn checked_changes_never_exceed_a_limit_nor_drop_the_last_admin(
            limit in 1u64..6,
            changes in proptest::collection::vec(change(), 0..60),
        ) {
            let plan = limits(limit);
            let mut usage = Usage { staff: 1, admins: 1, ..Usage::default() };
            for change in changes {
                let change = change.within(&plan);
                if change.refusal(&usage).is_none() {
                    let next = usage.plus(&change.delta);
                    // Only counters that grew are bounded (a plan can shrink under an org).
                    for (counter, (before, after)) in change.counters().into_iter().zip([
                        (usage.customers, next.customers),
                        (usage.staff, next.staff),
                        (usage.clients, next.clients),
                    ]) {
                        if after > before {
                            prop_assert!(after <= counter.limit.unwrap_or(u64::MAX) as i64);
                        }
                    }
                    prop_assert!(next.admins >= 1 || change.delta.admins >= 0);
                    usage = next;
                }
            }
        }

        /// A change and its undo leave the counters as they were.
        #[test]
        fn undo_restores(a in change(), b in change()) {
            let start = Usage { customers: 3, staff: 3, clients: 3, admins: 2 };
            let both = a.plus(&b);
            prop_assert_eq!(start.plus(&both.delta).plus(&both.undo().delta), start);
            prop_assert!(both.undo().limits.is_none() && !both.undo().keep_an_admin);
        }
    }
}
