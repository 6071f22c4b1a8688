//! The full pass over one organization: its WorkOS memberships and users compared with the
//! stored members, writing only the differences (through the same mirror steps as the events).

use std::collections::HashMap;

use serde::Serialize;

use super::{Changes, mirror_membership, mirror_org_name, remove_member};
use crate::clients::workos::{Membership, Organization, User};
use crate::domain::audit::Origin;
use crate::error::ApiError;
use crate::flows::access::profile_of;
use crate::store::{MemberItem, OrgWrite, RemovalOrigin};
use crate::{Deps, Timestamp};

/// What a full pass over one organization read.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reads {
    pub organizations: u32,
    pub memberships: u32,
    pub users: u32,
    pub events: u32,
}

/// Compares one WorkOS organization with the table and writes only the differences: new
/// members, role changes, profile changes, and members WorkOS no longer has as active.
/// [`OrgWrite::OrgGone`]: its deletion began meanwhile, and the pass over it stopped there.
pub async fn reconcile_org(
    deps: &Deps,
    origin: &Origin,
    org: &Organization,
    changes: &mut Changes,
    reads: &mut Reads,
) -> Result<OrgWrite<()>, ApiError> {
    let filter = crate::clients::workos::MembershipFilter {
        user_id: None,
        organization_id: Some(&org.id),
        statuses: &["active", "inactive", "pending"],
    };
    let (memberships, users, stored) = tokio::join!(
        deps.workos.list_memberships(&filter),
        deps.workos.list_org_users(&org.id),
        deps.store.all_members(&org.id),
    );
    let (memberships, users, stored) = (memberships?, users?, stored?);
    reads.organizations += 1;
    reads.memberships += memberships.len() as u32;
    reads.users += users.len() as u32;
    let users: HashMap<&str, &User> = users.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut stored: HashMap<String, MemberItem> = stored.into_iter().map(|m| (m.user_id.clone(), m)).collect();

    if mirror_org_name(deps, origin, org, changes).await? == OrgWrite::OrgGone {
        return Ok(OrgWrite::OrgGone);
    }
    for membership in memberships.iter().filter(|m| m.is_active()) {
        let member = stored.remove(&membership.user_id);
        if member.is_none() && finish_api_removal(deps, membership).await? {
            changes.removed += 1;
            continue;
        }
        let user = users.get(membership.user_id.as_str());
        // A profile that changed in WorkOS: the profile and the member's copy of it.
        if let (Some(member), Some(user)) = (&member, user) {
            let same = member.email == user.email
                && member.first_name == user.first_name
                && member.last_name == user.last_name;
            if !same {
                let profile = profile_of(user);
                deps.store.put_profile(&profile).await?;
                deps.store.mirror_member_profile(member, &profile).await?;
                changes.updated += 1;
            }
        }
        let profile = user.map(|user| profile_of(user));
        if mirror_membership(deps, origin, membership, member, profile, true, changes).await? == OrgWrite::OrgGone {
            return Ok(OrgWrite::OrgGone);
        }
    }
    // Stored members without an active WorkOS membership are gone: asked again first, since one
    // who joined after WorkOS's list was read is stored but not on it.
    for member in stored.values() {
        if deps.workos.active_membership(&member.user_id, &member.org_id).await?.is_some() {
            continue;
        }
        if remove_member(deps, origin, member, Timestamp::now(), changes).await? == OrgWrite::OrgGone {
            return Ok(OrgWrite::OrgGone);
        }
    }
    Ok(OrgWrite::Written(()))
}

/// An active WorkOS membership of a user removed through the API: the removal stopped between
/// the table and WorkOS (a crash, or an undo that could not run), so WorkOS gets its half now.
/// `true` if it was such a membership.
async fn finish_api_removal(deps: &Deps, membership: &Membership) -> Result<bool, ApiError> {
    let removed = deps.store.removed_member(&membership.organization_id, &membership.user_id).await?;
    let unfinished =
        removed.is_some_and(|r| r.origin == RemovalOrigin::Api && !r.admits(&membership.id, membership.updated_at));
    if unfinished {
        tracing::info!(target_user = membership.user_id, "finishing a removal in WorkOS");
        deps.workos.delete_membership(&membership.id).await?;
    }
    Ok(unfinished)
}
