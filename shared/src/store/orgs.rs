//! Organizations: `ORG#o` / `ORG`, with the usage counters and billing state on the item.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::audit::Event;
use super::tx::Condition;
use super::{IdempotencyClaim, MemberItem, Store, StoreError, key, keys, s, to_item};
use crate::Timestamp;
use crate::domain::Usage;
use crate::domain::audit::{Action, Changes, Origin, Target, TargetKind};
use crate::domain::billing::{Payment, Subscription};
use crate::domain::plans::{Entitlement, Plans, entitlement};

/// An organization: `ORG#o` / `ORG`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    // No GSI keys: the org item is written on every counted insert, and an index entry would
    // copy each of those writes into one shared index partition.
    pub entity: String,
    pub id: String,
    pub name: String,
    /// Usage counters live on the org item so a limit check and an insert are one transaction.
    #[serde(flatten)]
    pub usage: Usage,
    /// The Lemon Squeezy subscriptions this organization owns, by subscription id, each as the
    /// newest event or fetch of *that* subscription left it. Always written (empty at first), so
    /// that one subscription's entry can be set by its path.
    #[serde(default)]
    pub subscriptions: BTreeMap<String, Subscription>,
    /// The newest payment event of each subscription, by subscription id.
    #[serde(default)]
    pub payments: BTreeMap<String, Payment>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl OrgItem {
    pub const ENTITY: &'static str = "org";

    pub fn new(id: &str, name: &str, now: Timestamp) -> Self {
        Self {
            pk: keys::org_pk(id),
            sk: keys::ORG_SK.to_owned(),
            entity: Self::ENTITY.to_owned(),
            id: id.to_owned(),
            name: name.to_owned(),
            usage: Usage::default(),
            subscriptions: BTreeMap::new(),
            payments: BTreeMap::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// The plan in force for this organization at `now` (`domain::plans::entitlement`).
    pub fn entitlement(&self, plans: &Plans, now: Timestamp) -> Entitlement {
        entitlement(&self.subscriptions, plans, now)
    }

    pub fn usage_mut(&mut self) -> &mut Usage {
        &mut self.usage
    }
}

impl Store {
    pub async fn get_org(&self, org_id: &str) -> Result<Option<OrgItem>, StoreError> {
        self.get(keys::org_pk(org_id), keys::ORG_SK.to_owned()).await
    }

    /// Renames the organization `org` (as read) to `name`, with its audit entry, unless its name
    /// changed since it was read. Answers the organization as it is now; a rename to the name
    /// it has writes nothing.
    pub async fn rename_org(
        &self,
        org: &OrgItem,
        name: &str,
        now: crate::Timestamp,
        origin: &Origin,
    ) -> Result<OrgItem, StoreError> {
        if org.name == name {
            return Ok(org.clone());
        }
        let mut tx = self.tx();
        let update = aws_sdk_dynamodb::types::Update::builder()
            .set_key(Some(key(keys::org_pk(&org.id), keys::ORG_SK.to_owned())))
            .update_expression("SET #name = :name, updatedAt = :now")
            .condition_expression("#name = :old")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", s(name))
            .expression_attribute_values(":old", s(&org.name))
            .expression_attribute_values(":now", s(now.to_string()));
        tx.update("org", update)?;
        let changes = Changes::default().field("name", &org.name, &name.to_owned());
        self.audit(
            &mut tx,
            &org.id,
            origin,
            Event::new(Action::OrgRenamed, Target::new(TargetKind::Org, &org.id), changes),
        )?;
        match self.commit(tx).await {
            Err(StoreError::Cancelled(failure)) if failure.is("org") => {
                Err(StoreError::Changed("the organization changed meanwhile; retry"))
            }
            Err(error) => Err(error),
            Ok(()) => Ok(OrgItem { name: name.to_owned(), updated_at: now, ..org.clone() }),
        }
    }

    /// Stores a new organization with its first admin, and marks the idempotency record that
    /// asked for it done, all in one transaction.
    pub async fn create_org_with_admin(
        &self,
        org: &OrgItem,
        admin: &MemberItem,
        idempotency: Option<&IdempotencyClaim>,
        origin: &Origin,
    ) -> Result<(), StoreError> {
        let mut tx = self.tx();
        tx.put("org", to_item(org)?, Some(Condition::absent()))?;
        tx.put("admin", to_item(admin)?, Some(Condition::absent()))?;
        let created = Changes::default().field("name", &None, &Some(&org.name));
        self.audit(
            &mut tx,
            &org.id,
            origin,
            Event::new(Action::OrgCreated, Target::new(TargetKind::Org, &org.id), created),
        )?;
        let joined = Changes::default().field("role", &None, &Some(admin.role.slug()));
        let target = Target::new(TargetKind::Member, &admin.user_id);
        self.audit(&mut tx, &org.id, origin, Event::new(Action::MemberJoined, target, joined))?;
        if let Some(claim) = idempotency {
            tx.update("idempotency", self.finish_idempotency(claim, &org.id))?;
        }
        self.commit(tx).await
    }
}
