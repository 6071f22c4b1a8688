//! The WorkOS mirror: applying WorkOS events (from the Events API or a webhook: one
//! implementation) and the full pass that compares an organization's WorkOS memberships and
//! users with the table and writes only the differences.

use serde::Serialize;

use super::access::profile_of;
use crate::clients::workos::{Event, Membership, Organization, User};
use crate::domain::Role;
use crate::domain::access::NotMember;
use crate::domain::audit::{Actor, Origin};
use crate::error::ApiError;
use crate::store::{MemberItem, OrgRecord, OrgWrite, RemovalOrigin, RemovedMemberItem, UserProfileItem};
use crate::{Deps, Timestamp};

mod full_pass;

pub use full_pass::{Reads, reconcile_org};

/// The event types the mirror applies; others are skipped.
pub const EVENT_TYPES: &[&str] = &[
    "user.created",
    "user.updated",
    "user.deleted",
    "organization.updated",
    "organization_membership.created",
    "organization_membership.updated",
    "organization_membership.deleted",
    "invitation.accepted",
];

/// What the mirror wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub created: u32,
    pub updated: u32,
    pub removed: u32,
}

impl Changes {
    pub fn total(&self) -> u32 {
        self.created + self.updated + self.removed
    }
}

fn parse<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, ApiError> {
    serde_json::from_value(event.data.clone())
        .map_err(|e| ApiError::validation("data", format!("{} data is not as expected: {e}", event.event)))
}

/// Who the audit log says made the changes mirrored from WorkOS, in the request (the webhook's)
/// or invocation (the sync's) `request_id`.
pub fn workos_origin(request_id: Option<&str>) -> Origin {
    Origin::new(Actor::Workos, request_id)
}

/// Applies one WorkOS event. Events not newer than what is stored change nothing, so a
/// duplicate or replayed event is harmless; so does an event of an organization whose deletion
/// began (it cannot bring it back).
pub async fn apply_event(deps: &Deps, origin: &Origin, event: &Event, changes: &mut Changes) -> Result<(), ApiError> {
    match apply(deps, origin, event, changes).await? {
        OrgWrite::Written(()) => {}
        OrgWrite::OrgGone => tracing::info!(event = event.event, "the organization is being deleted: nothing mirrored"),
    }
    Ok(())
}

async fn apply(deps: &Deps, origin: &Origin, event: &Event, changes: &mut Changes) -> Result<OrgWrite<()>, ApiError> {
    match event.event.as_str() {
        "user.created" | "user.updated" => {
            mirror_profile(deps, &parse::<User>(event)?, changes).await?;
            Ok(OrgWrite::Written(()))
        }
        "user.deleted" => {
            let user: User = parse(event)?;
            for member in deps.store.members_of_user(&user.id).await? {
                // Each membership is in its own organization: one being deleted (whose members go
                // with it) holds up no other.
                match remove_member(deps, origin, &member, user.updated_at, changes).await? {
                    OrgWrite::Written(_) | OrgWrite::OrgGone => {}
                }
            }
            deps.store.delete_profile(&user.id).await?;
            Ok(OrgWrite::Written(()))
        }
        "organization.updated" => mirror_org_name(deps, origin, &parse::<Organization>(event)?, changes).await,
        "organization_membership.created" | "organization_membership.updated" => {
            let membership: Membership = parse(event)?;
            let (org_id, user_id) = (&membership.organization_id, &membership.user_id);
            let stored = deps.store.get_member(org_id, user_id).await?;
            if stored.is_none() && deps.store.removed_member(org_id, user_id).await?.is_some() {
                // A removed user comes back only through what WorkOS holds now, not through
                // an event that may be late or replayed.
                return match deps.workos.active_membership(user_id, org_id).await? {
                    Some(current) => mirror_membership(deps, origin, &current, None, None, false, changes).await,
                    None => Ok(OrgWrite::Written(())),
                };
            }
            mirror_membership(deps, origin, &membership, stored, None, false, changes).await
        }
        "organization_membership.deleted" => {
            let membership: Membership = parse(event)?;
            for _ in 0..MAX_CONFLICTS {
                let stored = deps.store.get_member(&membership.organization_id, &membership.user_id).await?;
                // A later membership of the same user (another id) is not this one.
                let Some(member) = stored.filter(|m| m.membership_id == membership.id) else {
                    return Ok(OrgWrite::Written(()));
                };
                match remove_member(deps, origin, &member, membership.updated_at, changes).await? {
                    OrgWrite::Written(true) => return Ok(OrgWrite::Written(())),
                    OrgWrite::Written(false) => {}
                    OrgWrite::OrgGone => return Ok(OrgWrite::OrgGone),
                }
            }
            Err(ApiError::upstream("the member kept changing while the mirror removed it"))
        }
        // The membership it makes arrives as its own event.
        _ => Ok(OrgWrite::Written(())),
    }
}

/// Brings one stored member (or its absence) in line with a WorkOS membership. An event older
/// than what is stored changes nothing; a full pass (`settle`) also puts back a role that the
/// table holds but WorkOS never took (a role change that stopped between its two writes).
///
/// A write that finds the member changed meanwhile (a concurrent event, webhook or request) reads
/// it again and decides again, so a newer event that lost the race is not dropped.
async fn mirror_membership(
    deps: &Deps,
    origin: &Origin,
    membership: &Membership,
    stored: Option<MemberItem>,
    profile: Option<UserProfileItem>,
    settle: bool,
    changes: &mut Changes,
) -> Result<OrgWrite<()>, ApiError> {
    let mut stored = stored;
    for attempt in 0..MAX_CONFLICTS {
        match mirror_membership_once(deps, origin, membership, stored, profile.clone(), settle, changes).await? {
            OrgWrite::Written(true) => return Ok(OrgWrite::Written(())),
            OrgWrite::Written(false) => {}
            OrgWrite::OrgGone => return Ok(OrgWrite::OrgGone),
        }
        // Concurrent writers of one member step apart a little before reading it again.
        super::step_apart(attempt).await;
        stored = deps.store.get_member(&membership.organization_id, &membership.user_id).await?;
    }
    Err(ApiError::upstream("the member kept changing while the mirror wrote it"))
}

/// How often a mirror write is tried again after finding the member changed meanwhile: each
/// retry either settles (an event no longer newer stops at once) or lost to a newer write, so a
/// burst of deliveries for one member settles well within this.
const MAX_CONFLICTS: u32 = 25;

/// One attempt of [`mirror_membership`]: `Written(false)` when the member changed meanwhile.
async fn mirror_membership_once(
    deps: &Deps,
    origin: &Origin,
    membership: &Membership,
    stored: Option<MemberItem>,
    profile: Option<UserProfileItem>,
    settle: bool,
    changes: &mut Changes,
) -> Result<OrgWrite<bool>, ApiError> {
    let newer = |member: &MemberItem| member.workos_updated_at < membership.updated_at;
    if !membership.is_active() {
        if let Some(member) = stored.filter(|m| m.membership_id == membership.id && newer(m)) {
            return remove_member(deps, origin, &member, membership.updated_at, changes).await;
        }
        return Ok(OrgWrite::Written(true));
    }
    let Some(role) = Role::from_slug(&membership.role.slug) else { return Ok(OrgWrite::Written(true)) };
    match stored {
        None => {
            let profile = match profile {
                Some(profile) => {
                    deps.store.put_profile(&profile).await?;
                    profile
                }
                None => deps.profile(&membership.user_id).await?,
            };
            match deps.store_membership(membership, &profile, origin).await? {
                Ok(_) => changes.created += 1,
                Err(NotMember::OrgGone) => return Ok(OrgWrite::OrgGone),
                Err(_) => {}
            }
        }
        // Not newer: nothing to do (the full pass still puts back a role WorkOS never took).
        Some(member)
            if !newer(&member) && (!settle || (member.role == role && member.membership_id == membership.id)) => {}
        Some(member) => {
            let changed = MemberItem {
                role,
                customer_id: member.customer_id.clone().filter(|_| role == Role::Client),
                membership_id: membership.id.clone(),
                workos_updated_at: membership.updated_at,
                ..member.revised(Timestamp::now())
            };
            match deps.store.mirror_member_change(&member, &changed, origin).await? {
                OrgWrite::Written(true) => changes.updated += 1,
                other => return Ok(other),
            }
            if member.role == Role::Staff && role != Role::Staff {
                let removed = deps.store.remove_assignments_of(&member.org_id, &member.user_id, origin).await?;
                return Ok(removed.map(|()| true));
            }
        }
    }
    Ok(OrgWrite::Written(true))
}

/// Removes a member (as read) because WorkOS says so; `news_at` is the WorkOS time of that news.
/// `Written(false)`: the member changed meanwhile, and was not removed.
async fn remove_member(
    deps: &Deps,
    origin: &Origin,
    member: &MemberItem,
    news_at: Timestamp,
    changes: &mut Changes,
) -> Result<OrgWrite<bool>, ApiError> {
    let removal =
        RemovedMemberItem::of(member, RemovalOrigin::Workos, news_at.max(member.workos_updated_at), Timestamp::now());
    match deps.store.mirror_member_removal(member, &removal, origin).await? {
        OrgWrite::Written(true) => changes.removed += 1,
        other => return Ok(other),
    }
    let removed = deps.store.remove_assignments_of(&member.org_id, &member.user_id, origin).await?;
    Ok(removed.map(|()| true))
}

/// A newer profile of a user we know: the profile, and the copies on their member items.
async fn mirror_profile(deps: &Deps, user: &User, changes: &mut Changes) -> Result<(), ApiError> {
    let Some(stored) = deps.store.get_profile(&user.id).await? else { return Ok(()) };
    let same = stored.email == user.email && stored.first_name == user.first_name && stored.last_name == user.last_name;
    // Sign-ins also touch WorkOS's `updated_at`; only the fields we keep are worth a write.
    if same || stored.workos_updated_at >= user.updated_at {
        return Ok(());
    }
    let profile = profile_of(user);
    if deps.store.put_profile(&profile).await? {
        for member in deps.store.members_of_user(&user.id).await? {
            deps.store.mirror_member_profile(&member, &profile).await?;
        }
        changes.updated += 1;
    }
    Ok(())
}

async fn mirror_org_name(
    deps: &Deps,
    origin: &Origin,
    org: &Organization,
    changes: &mut Changes,
) -> Result<OrgWrite<()>, ApiError> {
    match deps.store.get_org_record(&org.id).await? {
        Some(OrgRecord::Live(stored)) if stored.name != org.name => {
            let renamed = deps.store.rename_org(&stored, &org.name, Timestamp::now(), origin).await?;
            if renamed != OrgWrite::OrgGone {
                changes.updated += 1;
            }
            Ok(renamed.map(drop))
        }
        Some(OrgRecord::Deleting(_) | OrgRecord::Deleted(_)) => Ok(OrgWrite::OrgGone),
        Some(OrgRecord::Live(_)) | None => Ok(OrgWrite::Written(())),
    }
}
