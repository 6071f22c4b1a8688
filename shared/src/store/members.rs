//! Members: `ORG#o` / `USER#u` (in GSI1 `USER#u` / `ORG#o`, a user's organizations), and the
//! records of removed members. Listing, arrivals, role changes and removals, each one
//! transaction with the usage counters, and the undo of a change that WorkOS refused, which
//! applies only to what is still the change's own.

use super::tx::Commit;
use serde::{Deserialize, Serialize};

use super::audit::{EntryKey, Event, member_event};
use super::tx::{Condition, Tx};
use super::{
    InvitationItem, InviteeItem, ListQuery, OrgItem, Page, RemovedMemberItem, Store, StoreError, UserProfileItem, key,
    keys, s, to_item,
};
use crate::Timestamp;
use crate::domain::audit::{Action, Changes, Origin, Target, TargetKind};
use crate::domain::plans::PlanLimits;
use crate::domain::{Role, UsageChange};

/// A member of an organization: `ORG#o` / `USER#u`, and in GSI1 `USER#u` / `ORG#o` (a user's orgs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub entity: String,
    pub org_id: String,
    pub user_id: String,
    pub role: Role,
    /// The customer a `client` belongs to; none for other roles.
    pub customer_id: Option<String>,
    /// The WorkOS organization membership id (`om_…`).
    pub membership_id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// WorkOS `updated_at` of the membership, so older WorkOS news never overwrites newer.
    pub workos_updated_at: Timestamp,
    /// New on every write of this item: a change, and the undo of one, is conditioned on the
    /// item still being the revision it read (or wrote).
    pub revision: String,
}

/// What a new member item is made of.
pub struct NewMember<'a> {
    pub org_id: &'a str,
    pub user_id: &'a str,
    pub role: Role,
    pub customer_id: Option<String>,
    pub membership_id: &'a str,
    pub profile: &'a UserProfileItem,
    pub workos_updated_at: Timestamp,
    pub now: Timestamp,
}

impl MemberItem {
    pub const ENTITY: &'static str = "member";

    pub fn new(new: NewMember<'_>) -> Self {
        Self {
            pk: keys::org_pk(new.org_id),
            sk: keys::member_sk(new.user_id),
            gsi1pk: keys::user_pk(new.user_id),
            gsi1sk: keys::org_pk(new.org_id),
            entity: Self::ENTITY.to_owned(),
            org_id: new.org_id.to_owned(),
            user_id: new.user_id.to_owned(),
            role: new.role,
            customer_id: new.customer_id,
            membership_id: new.membership_id.to_owned(),
            email: new.profile.email.clone(),
            first_name: new.profile.first_name.clone(),
            last_name: new.profile.last_name.clone(),
            created_at: new.now,
            updated_at: new.now,
            workos_updated_at: new.workos_updated_at,
            revision: new_revision(),
        }
    }

    /// This member as a new revision of itself, written `now`.
    pub fn revised(&self, now: Timestamp) -> Self {
        Self { updated_at: now, revision: new_revision(), ..self.clone() }
    }
}

pub(super) fn new_revision() -> String {
    ulid::Ulid::new().to_string()
}

/// What storing an arriving WorkOS membership came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    Stored,
    /// The member was stored already (a concurrent request stored it first).
    Exists,
    /// The user was removed, and this is the removed membership (or an older state of it):
    /// it does not bring them back.
    Removed,
    /// No seat is free for the role.
    PlanFull {
        resource: &'static str,
        limit: u64,
    },
    /// The invitation, organization or customer it was built on changed meanwhile: read again.
    Changed,
    /// The organization's deletion began: nothing was stored.
    OrgGone,
}

/// The item must still be the revision `member` has.
fn same_revision(member: &MemberItem) -> Condition {
    Condition::new("revision = :revision").value(":revision", s(&member.revision))
}

impl Store {
    pub async fn get_member(&self, org_id: &str, user_id: &str) -> Result<Option<MemberItem>, StoreError> {
        self.get(keys::org_pk(org_id), keys::member_sk(user_id)).await
    }

    /// A check, inside a transaction, that the acting admin still is one.
    fn still_admin(&self, tx: &mut Tx, org_id: &str, user_id: &str) -> Result<(), StoreError> {
        let condition = Condition::new("#role = :admin").name("#role", "role").value(":admin", s(Role::Admin.slug()));
        tx.check("acting_admin", key(keys::org_pk(org_id), keys::member_sk(user_id)), condition)
    }

    /// Members of an organization, by user id, optionally of one role.
    pub async fn list_members(
        &self,
        org_id: &str,
        role: Option<Role>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<MemberItem>, StoreError> {
        let mut query = ListQuery::prefixed(org_id, "members", keys::MEMBER_PREFIX.to_owned());
        if let Some(role) = role {
            query.list = role.slug();
            query.filter = Some("#role = :role");
            query.names.push(("#role", "role"));
            query.values.push((":role", s(role.slug())));
        }
        self.list(query, limit, cursor).await
    }

    /// Stores a member that WorkOS holds (just-in-time provisioning, the sync, the webhook).
    /// `new_org` is created when not stored yet; `invitation`, the one this member accepted, is
    /// consumed and its seat handed over; a member with no invitation takes a seat within
    /// `limits`. A removal record of the same membership that is not older than it refuses the
    /// member (and a newer membership clears the record).
    pub async fn provision_member(
        &self,
        member: &MemberItem,
        new_org: Option<&OrgItem>,
        invitation: Option<&InvitationItem>,
        limits: &PlanLimits,
        origin: &Origin,
    ) -> Result<Arrival, StoreError> {
        let mut tx = self.tx();
        tx.put("member", to_item(member)?, Some(Condition::absent()))?;
        if let Some(org) = new_org {
            let created = Changes::default().field("name", &None, &Some(&org.name));
            let target = Target::new(TargetKind::Org, &org.id);
            self.audit(&mut tx, &org.id, origin, Event::new(Action::OrgCreated, target, created))?;
        }
        self.audit(&mut tx, &member.org_id, origin, member_event(Action::MemberJoined, None, Some(member)))?;
        // RemovedMemberItem::admits, as a condition.
        let not_removed = Condition::new(
            "attribute_not_exists(PK) OR membershipId <> :membership \
             OR (origin = :workos AND workosUpdatedAt < :updated)",
        )
        .value(":membership", s(&member.membership_id))
        .value(":workos", s(super::RemovalOrigin::Workos.as_str()))
        .value(":updated", s(member.workos_updated_at.to_string()));
        tx.delete("removed", key(member.pk.clone(), keys::removed_member_sk(&member.user_id)), Some(not_removed))?;
        let mut change = UsageChange::seat(member.role, 1);
        if let Some(invitation) = invitation {
            change = UsageChange::invitation_seat(invitation.role, -1).plus(&change);
            tx.delete("invitation", key(invitation.pk.clone(), invitation.sk.clone()), Some(Condition::present()))?;
            let invitee = InviteeItem::of(invitation);
            tx.delete("invitee", key(invitee.pk, invitee.sk), None)?;
        }
        let from = invitation.and_then(|i| i.customer_id.as_deref());
        self.client_links(&mut tx, &member.org_id, from, member.customer_id.as_deref(), false)?;
        let change = change.within(limits);
        match new_org {
            Some(org) => {
                let mut org = org.clone();
                org.usage_mut().add(member.role, 1);
                tx.put("org", to_item(&org)?, Some(Condition::absent()))?;
            }
            None => self.add_usage(&mut tx, &member.org_id, &change)?,
        }
        match self.commit(tx).await? {
            Commit::Committed => Ok(Arrival::Stored),
            Commit::Cancelled(failure) if failure.is("member") => Ok(Arrival::Exists),
            Commit::Cancelled(failure) if failure.is("removed") => Ok(Arrival::Removed),
            Commit::Cancelled(failure) if failure.is("usage") => {
                match self.usage_refusal(&member.org_id, &change).await {
                    StoreError::LimitReached { resource, limit, .. } => Ok(Arrival::PlanFull { resource, limit }),
                    StoreError::Changed(_) => Ok(Arrival::Changed),
                    other => Err(other),
                }
            }
            Commit::Cancelled(_) => Ok(Arrival::Changed),
            Commit::OrgGone => Ok(Arrival::OrgGone),
        }
    }

    /// Replaces a member (`old`, as read) with `new`, moving its seat within the plan's limits
    /// and keeping an admin. `acting_admin` must still be an admin when the change lands.
    pub async fn change_member(
        &self,
        old: &MemberItem,
        new: &MemberItem,
        change: &UsageChange,
        acting_admin: &str,
        origin: &Origin,
    ) -> Result<Option<EntryKey>, StoreError> {
        let mut tx = self.tx();
        tx.put("member", to_item(new)?, Some(same_revision(old)))?;
        let event = member_event(Action::MemberRoleChanged, Some(old), Some(new));
        let entry = match event.changes.is_empty() {
            true => None,
            false => Some(self.audit(&mut tx, &old.org_id, origin, event)?),
        };
        self.add_usage(&mut tx, &old.org_id, change)?;
        if acting_admin != old.user_id {
            self.still_admin(&mut tx, &old.org_id, acting_admin)?;
        }
        self.client_links(&mut tx, &old.org_id, old.customer_id.as_deref(), new.customer_id.as_deref(), true)?;
        match self.commit(tx).await? {
            Commit::Cancelled(failure) if failure.is("usage") => Err(self.usage_refusal(&old.org_id, change).await),
            Commit::Cancelled(failure) if failure.is("client_to") => {
                Err(StoreError::Changed("the customer is being deleted"))
            }
            Commit::Cancelled(failure) if failure.is("acting_admin") => {
                Err(StoreError::Changed("you are no longer an admin of this organization"))
            }
            Commit::Cancelled(_) => Err(StoreError::Changed("the member changed meanwhile; retry")),
            other => other.required().map(|()| entry),
        }
    }

    /// Deletes a member (as read), gives its seat back keeping an admin, and records the
    /// removal. `acting_admin` must still be an admin when it lands.
    pub async fn remove_member(
        &self,
        member: &MemberItem,
        removal: &RemovedMemberItem,
        acting_admin: &str,
        origin: &Origin,
    ) -> Result<EntryKey, StoreError> {
        let change = UsageChange::seat(member.role, -1).keeping_an_admin();
        let mut tx = self.tx();
        let entry =
            self.audit(&mut tx, &member.org_id, origin, member_event(Action::MemberRemoved, Some(member), None))?;
        tx.delete("member", key(member.pk.clone(), member.sk.clone()), Some(same_revision(member)))?;
        tx.put("removed", to_item(removal)?, None)?;
        self.add_usage(&mut tx, &member.org_id, &change)?;
        if acting_admin != member.user_id {
            self.still_admin(&mut tx, &member.org_id, acting_admin)?;
        }
        self.client_links(&mut tx, &member.org_id, member.customer_id.as_deref(), None, false)?;
        match self.commit(tx).await? {
            Commit::Cancelled(failure) if failure.is("usage") => Err(self.usage_refusal(&member.org_id, &change).await),
            Commit::Cancelled(failure) if failure.is("acting_admin") => {
                Err(StoreError::Changed("you are no longer an admin of this organization"))
            }
            Commit::Cancelled(_) => Err(StoreError::Changed("the member changed meanwhile; retry")),
            other => other.required().map(|()| entry),
        }
    }
}
