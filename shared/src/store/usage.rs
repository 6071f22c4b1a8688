//! Usage counters on the org item, changed in the same transaction as the items they count,
//! with the plan's limits and the last-admin guard as write conditions: concurrent requests can
//! never push usage past a limit, nor leave an organization without an admin.

use aws_sdk_dynamodb::types::Update;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;

use super::tx::Tx;
use super::{Role, Store, StoreError, Usage, key, keys, n};
use crate::config::PlanLimits;

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
        let o = other.delta;
        self.delta.customers += o.customers;
        self.delta.staff += o.staff;
        self.delta.clients += o.clients;
        self.delta.admins += o.admins;
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
        let d = self.delta;
        Self {
            delta: Usage { customers: -d.customers, staff: -d.staff, clients: -d.clients, admins: -d.admins },
            limits: None,
            keep_an_admin: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.delta == Usage::default()
    }

    fn counters(&self) -> [(&'static str, i64, Option<u64>); 4] {
        let d = self.delta;
        let l = self.limits.as_ref();
        [
            ("customers", d.customers, l.map(|l| l.max_customers)),
            ("staff", d.staff, l.map(|l| l.max_staff)),
            ("clients", d.clients, l.map(|l| l.max_clients)),
            ("admins", d.admins, None),
        ]
    }
}

impl Store {
    /// The org item update that applies `change`, conditioned on its limits and on at least one
    /// admin remaining.
    fn usage_update(&self, org_id: &str, change: &UsageChange) -> UpdateBuilder {
        let mut adds = Vec::new();
        let mut conditions = vec!["attribute_exists(PK)".to_owned()];
        let mut builder = Update::builder().set_key(Some(key(keys::org_pk(org_id), keys::ORG_SK.to_owned())));
        for (counter, delta, limit) in change.counters() {
            if delta == 0 {
                continue;
            }
            adds.push(format!("{counter} :d_{counter}"));
            builder = builder.expression_attribute_values(format!(":d_{counter}"), n(delta));
            if let (true, Some(limit)) = (delta > 0, limit) {
                // counter + delta <= limit
                conditions.push(format!("(attribute_not_exists({counter}) OR {counter} <= :max_{counter})"));
                builder = builder.expression_attribute_values(format!(":max_{counter}"), n(limit as i64 - delta));
            }
            if counter == "admins" && delta < 0 && change.keep_an_admin {
                // admins + delta >= 1
                conditions.push("admins >= :min_admins".to_owned());
                builder = builder.expression_attribute_values(":min_admins", n(1 - delta));
            }
        }
        builder.update_expression(format!("ADD {}", adds.join(", "))).condition_expression(conditions.join(" AND "))
    }

    /// Adds `change` to a transaction as its action `usage` (nothing when it changes nothing).
    pub(super) fn add_usage(&self, tx: &mut Tx, org_id: &str, change: &UsageChange) -> Result<(), StoreError> {
        if change.is_empty() {
            return Ok(());
        }
        tx.update("usage", self.usage_update(org_id, change))
    }

    /// Why a checked usage change was refused: reads the org and names the guard that held.
    pub(super) async fn usage_refusal(&self, org_id: &str, change: &UsageChange) -> StoreError {
        let org = match self.get_org(org_id).await {
            Ok(Some(org)) => org,
            Ok(None) => return StoreError::Changed("the organization is not stored"),
            Err(error) => return error,
        };
        let usage = org.usage;
        if change.delta.admins < 0 && usage.admins + change.delta.admins < 1 {
            return StoreError::LastAdmin;
        }
        let current = [("customers", usage.customers), ("staff", usage.staff), ("clients", usage.clients)];
        for ((counter, delta, limit), (_, used)) in change.counters().into_iter().zip(current) {
            if let (true, Some(limit)) = (delta > 0, limit) {
                if used + delta > limit as i64 {
                    return StoreError::LimitReached { resource: counter, limit, usage: used.max(0) as u64 };
                }
            }
        }
        StoreError::Changed("the organization changed meanwhile; retry")
    }
}
