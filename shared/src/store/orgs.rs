//! Organizations: `ORG#o` / `ORG`, with the usage counters and billing state on the item.

use super::tx::{Commit, OrgWrite};
use serde::{Deserialize, Serialize};

use super::audit::Event;
use super::tx::Condition;
use super::{IdempotencyClaim, MemberItem, Store, StoreError, from_item, key, keys, s, to_item};
use crate::Timestamp;
use crate::domain::Usage;
use crate::domain::audit::{Action, Changes, Origin, Target, TargetKind};
use crate::domain::billing_summary::BillingSummary;
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
    /// What decides the plan of the Lemon Squeezy subscriptions it owns (each one's whole state
    /// is its own item, `SUB#s`), and the revision that billing writes condition on.
    #[serde(default)]
    pub billing: BillingSummary,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Set by `DELETE /org`: from then on the organization reads as deleted everywhere, and no
    /// transaction writes into its partitions (`store::tx`'s deletion guard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion: Option<Deletion>,
}

/// Who asked for an organization's deletion and how far it got; kept on the tombstone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deletion {
    pub requested_at: Timestamp,
    /// The admin who asked for it.
    pub requested_by: String,
    pub request_id: Option<String>,
    /// When WorkOS answered that its organization is gone (none yet: the next step asks it).
    pub workos_deleted_at: Option<Timestamp>,
}

/// What is left of a deleted organization, at its org item's key: who deleted it and when. Its
/// key stays taken, so nothing that creates the organization (`attribute_not_exists(PK)`) can
/// bring it back, and every late event that reads it is told the organization is gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgTombstone {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub id: String,
    pub deletion: Deletion,
    /// When the last of its items was deleted.
    pub deleted_at: Timestamp,
}

impl OrgTombstone {
    pub const ENTITY: &'static str = "org_tombstone";
}

/// What the org item's key holds.
#[derive(Debug, Clone, PartialEq)]
pub enum OrgRecord {
    Live(OrgItem),
    /// Deletion requested; its items are being deleted.
    Deleting(OrgItem),
    Deleted(OrgTombstone),
}

impl OrgRecord {
    pub(super) fn from_item(item: super::Item) -> Result<Self, StoreError> {
        let entity = item.get("entity").and_then(|e| e.as_s().ok());
        if entity.is_some_and(|e| e == OrgTombstone::ENTITY) {
            return Ok(Self::Deleted(from_item(item)?));
        }
        let org: OrgItem = from_item(item)?;
        Ok(if org.deletion.is_some() { Self::Deleting(org) } else { Self::Live(org) })
    }

    /// The organization, unless its deletion began: then [`StoreError::OrgDeleted`].
    pub fn live(self) -> Result<OrgItem, StoreError> {
        match self {
            Self::Live(org) => Ok(org),
            Self::Deleting(_) | Self::Deleted(_) => Err(StoreError::OrgDeleted),
        }
    }
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
            billing: BillingSummary::default(),
            created_at: now,
            updated_at: now,
            deletion: None,
        }
    }

    /// The plan in force for this organization at `now` (`domain::plans::entitlement`).
    pub fn entitlement(&self, plans: &Plans, now: Timestamp) -> Entitlement {
        entitlement(&self.billing.subscriptions, plans, now)
    }

    pub fn usage_mut(&mut self) -> &mut Usage {
        &mut self.usage
    }
}

impl Store {
    /// The organization, `None` if none is stored, [`StoreError::OrgDeleted`] once its deletion
    /// began: every reader but the deletion itself sees a deleting organization as gone.
    pub async fn get_org(&self, org_id: &str) -> Result<Option<OrgItem>, StoreError> {
        self.get_org_record(org_id).await?.map(OrgRecord::live).transpose()
    }

    /// Whatever the org item's key holds (strongly consistent).
    pub async fn get_org_record(&self, org_id: &str) -> Result<Option<OrgRecord>, StoreError> {
        let item = self.get_raw(keys::org_pk(org_id), keys::ORG_SK.to_owned()).await?;
        item.map(OrgRecord::from_item).transpose()
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
    ) -> Result<OrgWrite<OrgItem>, StoreError> {
        if org.name == name {
            return Ok(OrgWrite::Written(org.clone()));
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
        match self.commit(tx).await? {
            Commit::Cancelled(failure) if failure.is("org") => {
                Err(StoreError::Changed("the organization changed meanwhile; retry"))
            }
            Commit::OrgGone => Ok(OrgWrite::OrgGone),
            other => other
                .required()
                .map(|()| OrgWrite::Written(OrgItem { name: name.to_owned(), updated_at: now, ..org.clone() })),
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
        self.commit(tx).await?.required()
    }
}
