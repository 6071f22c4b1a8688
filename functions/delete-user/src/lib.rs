//! `DELETE /users/{userId}` (admin): removes a member from the organization.
//!
//! The table first (one transaction: the member, its seat, the last-admin guard, and a record of
//! the removal), then the WorkOS membership; if WorkOS fails the member is put back (only if
//! nobody stored them again meanwhile and the removal record is still this one) and the answer
//! is 503. While WorkOS still has the membership, the removal record keeps the user's own
//! requests (just-in-time provisioning) and late WorkOS news of that membership from storing
//! them again. A retry after a crash between the two finds no stored member but an active
//! WorkOS membership, and finishes the removal there (so does the sync's full pass). The
//! member's customer assignments go last; readers ignore assignments of non-members meanwhile,
//! and a retry removes them.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::domain::Role;
use shared::store::{RemovalOrigin, RemovedMemberItem};
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let user_id = http::path_param(req, "userId")?;
    let Some(member) = deps.store.get_member(caller.org_id(), &user_id).await? else {
        // Finish a removal that stopped after the table's half.
        deps.store.remove_assignments_of(caller.org_id(), &user_id, &caller.origin()).await?.written()?;
        let membership = deps.workos.active_membership(&user_id, caller.org_id()).await?.ok_or(ApiError::NotFound)?;
        deps.workos.delete_membership(&membership.id).await?;
        return Ok(http::no_content());
    };
    let removal = RemovedMemberItem::of(&member, RemovalOrigin::Api, member.workos_updated_at, Timestamp::now());
    let entry = deps.store.remove_member(&member, &removal, &caller.member()?.user_id, &caller.origin()).await?;
    if let Err(error) = deps.workos.delete_membership(&member.membership_id).await {
        match deps.store.undo_member_removal(&member, &removal, &entry).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(target_user = user_id, "the member was stored again before the undo; it stays"),
            Err(undo) => {
                tracing::error!(error = %undo, "could not undo a removal WorkOS refused; the sync job will settle it")
            }
        }
        return Err(error.into());
    }
    deps.store.remove_assignments_of(caller.org_id(), &user_id, &caller.origin()).await?.written()?;
    tracing::info!(target_user = user_id, was_admin = member.role == Role::Admin, "member removed");
    Ok(http::no_content())
}
