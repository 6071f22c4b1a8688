//! An organization's deletion: the request marks its org item (one transaction, with its audit
//! entry), then its items are deleted a batch at a time, partition by partition, and last its
//! org item becomes the tombstone. Every step can be run again: once the mark is set no
//! transaction writes into the organization (`tx`'s deletion guard), so what a step finds still
//! stored is what is left to delete, and an interrupted deletion continues from the table alone.

use super::tx::{Commit, OrgWrite};
use aws_sdk_dynamodb::types::{AttributeValue, Update};

use super::audit::Event;
use super::{Deletion, Item, OrgItem, OrgTombstone, Store, StoreError, key, keys, s, sdk_error, to_item};
use crate::Timestamp;
use crate::domain::audit::{Action, Changes, Origin, Target, TargetKind};

/// What one step of a deletion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Deleted a batch from the partition at this index of [`Store::deletion_partitions`]; the
    /// next step starts there.
    Deleted(usize),
    /// Nothing is left but the org item.
    Empty,
}

impl Store {
    /// Marks `org` (as read) deleted for every reader and writer, with its audit entry, unless its
    /// name is no longer `confirmed_name` or its billing changed since it was read (a
    /// subscription that began to grant access meanwhile must be seen by the caller's check).
    /// [`OrgWrite::OrgGone`] if another request marked it first.
    pub async fn request_deletion(
        &self,
        org: &OrgItem,
        deletion: &Deletion,
        origin: &Origin,
    ) -> Result<OrgWrite<()>, StoreError> {
        // The billing summary's revision stands for every subscription, however many.
        let update = Update::builder()
            .set_key(Some(key(keys::org_pk(&org.id), keys::ORG_SK.to_owned())))
            .update_expression("SET #deletion = :deletion, GSI1PK = :pending, GSI1SK = :order, updatedAt = :now")
            .condition_expression(
                "attribute_not_exists(#deletion) AND #name = :name \
                 AND (attribute_not_exists(#billing) OR #billing.revision = :revision)",
            )
            .expression_attribute_names("#deletion", "deletion")
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#billing", "billing")
            .expression_attribute_values(":deletion", AttributeValue::M(to_item(deletion)?))
            .expression_attribute_values(":pending", s(keys::DELETIONS_GSI1PK))
            .expression_attribute_values(":order", s(keys::deletion_gsi1sk(deletion.requested_at, &org.id)))
            .expression_attribute_values(":now", s(deletion.requested_at.to_string()))
            .expression_attribute_values(":name", s(&org.name))
            .expression_attribute_values(":revision", super::n(org.billing.revision));
        let mut tx = self.tx();
        tx.update("org", update)?;
        let target = Target::new(TargetKind::Org, &org.id);
        self.audit(&mut tx, &org.id, origin, Event::new(Action::OrgDeletionRequested, target, Changes::default()))?;
        match self.commit(tx).await? {
            Commit::Cancelled(failure) if failure.is("org") => {
                Err(StoreError::Changed("the organization changed meanwhile; retry"))
            }
            Commit::OrgGone => Ok(OrgWrite::OrgGone),
            other => other.required().map(OrgWrite::Written),
        }
    }

    /// Notes on a deleting organization that WorkOS no longer has it.
    pub async fn note_workos_deleted(&self, org_id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.update_deleting_org(org_id, "SET #deletion.workosDeletedAt = :value", s(at.to_string())).await
    }

    /// Puts a deletion that failed behind the others in [`pending_deletions`](Self::pending_deletions)
    /// (its GSI1 sort key becomes `now`), so that one WorkOS keeps refusing does not hold up the rest.
    pub async fn postpone_deletion(&self, org_id: &str, now: Timestamp) -> Result<(), StoreError> {
        self.update_deleting_org(org_id, "SET GSI1SK = :value", s(keys::deletion_gsi1sk(now, org_id))).await
    }

    /// `update` (setting `:value`) of the org item while its deletion is under way; nothing once
    /// it is buried meanwhile by another run.
    async fn update_deleting_org(&self, org_id: &str, update: &str, value: AttributeValue) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org_pk(org_id), keys::ORG_SK.to_owned())))
            .update_expression(update)
            .condition_expression("attribute_exists(#deletion) AND entity = :org")
            .expression_attribute_names("#deletion", "deletion")
            .expression_attribute_values(":value", value)
            .expression_attribute_values(":org", s(OrgItem::ENTITY))
            .send()
            .await
            .map_err(sdk_error);
        super::condition_held(result).map(drop)
    }

    /// The partitions a deleting organization's items are in, in the order they are emptied: its
    /// own (the org item stays to the end, its API keys go with the rest), its billing events,
    /// its changes, its keys' counters, and its audit months since it was created.
    pub fn deletion_partitions(&self, org: &OrgItem, now: Timestamp) -> Vec<String> {
        let mut partitions = vec![
            keys::org_pk(&org.id),
            keys::org_events_pk(&org.id),
            // Not the live connections (`ORG#o#LIVE`): live-broadcast closes them when it reads
            // the deletion, and needs them to find the sockets; their TTL takes what it misses.
            keys::changes_pk(&org.id),
            // API keys' request counters (their TTL is two minutes past their minute, but DynamoDB
            // takes expired items only within days; a count that lands after this step stays
            // until then, with no data in it).
            keys::key_use_pk(&org.id),
        ];
        partitions.extend(keys::audit_months_since(&org.id, org.created_at, now));
        partitions
    }

    /// One bounded step of a deletion: deletes up to 25 items of the first partition (from the
    /// index `from` of `partitions`) that still has any, with the owner records of the
    /// subscriptions among them.
    pub async fn delete_next_items(
        &self,
        org: &OrgItem,
        partitions: &[String],
        from: usize,
    ) -> Result<Step, StoreError> {
        let org_item = (keys::org_pk(&org.id), keys::ORG_SK.to_owned());
        for (index, partition) in partitions.iter().enumerate().skip(from) {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(partition))
                .projection_expression("PK, SK")
                .consistent_read(true)
                .limit(super::batch::WRITE_CHUNK as i32 + 1)
                .send()
                .await
                .map_err(sdk_error)?;
            let doomed: Vec<Item> = page
                .items
                .unwrap_or_default()
                .into_iter()
                .filter(|item| {
                    let pk_sk =
                        (item.get("PK").and_then(|v| v.as_s().ok()), item.get("SK").and_then(|v| v.as_s().ok()));
                    pk_sk != (Some(&org_item.0), Some(&org_item.1))
                })
                .take(super::batch::WRITE_CHUNK)
                .collect();
            if !doomed.is_empty() {
                // A subscription's owner goes before its item, so that a stop between the two
                // leaves the item, which the next step finds again.
                // Only while it is still this organization's (it never moves, but only ours is
                // ours to delete): conditional deletes, at once.
                let sort_keys = doomed.iter().filter_map(|item| item.get("SK")?.as_s().ok());
                let owners = sort_keys.filter_map(|sk| keys::subscription_of_sk(sk)).map(|subscription_id| {
                    let owner =
                        key(keys::subscription_owner_pk(subscription_id), keys::SUBSCRIPTION_OWNER_SK.to_owned());
                    self.delete_if(owner, Some("orgId = :org"), vec![], vec![(":org", s(&org.id))])
                });
                futures::future::try_join_all(owners).await?;
                self.batch_delete(doomed).await?;
                return Ok(Step::Deleted(index));
            }
        }
        Ok(Step::Empty)
    }

    /// Replaces a deleting organization's org item, the last of its items, with its tombstone.
    /// Answers the tombstone (also when another run buried it first).
    pub async fn bury_org(&self, org: &OrgItem, now: Timestamp) -> Result<OrgTombstone, StoreError> {
        let deletion = org.deletion.clone().ok_or(StoreError::Changed("the organization is not being deleted"))?;
        let tombstone = OrgTombstone {
            pk: keys::org_pk(&org.id),
            sk: keys::ORG_SK.to_owned(),
            entity: OrgTombstone::ENTITY.to_owned(),
            id: org.id.clone(),
            deletion,
            deleted_at: now,
        };
        let condition = "attribute_exists(deletion) AND entity = :org";
        if self.put_if(to_item(&tombstone)?, condition, vec![(":org", s(OrgItem::ENTITY))]).await? {
            return Ok(tombstone);
        }
        match self.get_org_record(&org.id).await? {
            Some(super::OrgRecord::Deleted(buried)) => Ok(buried),
            _ => Err(StoreError::Changed("the organization's record changed while it was buried")),
        }
    }

    /// Organizations whose deletion is under way, the longest waiting first (the WorkOS sync continues
    /// them; GSI1, so one requested a moment ago may be missing: every step reads the org item).
    pub async fn pending_deletions(&self, limit: i32) -> Result<Vec<String>, StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pending")
            .expression_attribute_values(":pending", s(keys::DELETIONS_GSI1PK))
            .projection_expression("id")
            .limit(limit)
            .send()
            .await
            .map_err(sdk_error)?;
        let ids = page.items.unwrap_or_default().into_iter();
        Ok(ids.filter_map(|item| item.get("id").and_then(|v| v.as_s().ok()).cloned()).collect())
    }
}
