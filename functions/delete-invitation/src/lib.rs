//! `DELETE /invitations/{invitationId}` (admin): revokes the invitation in WorkOS, then deletes
//! it and gives its seat back. A WorkOS failure answers 503 with nothing changed.
//!
//! An invitation WorkOS says was accepted answers 409 `conflict` and keeps its seat: the seat
//! belongs to the member it made (remove the member instead). One that WorkOS let lapse or
//! revoked already is deleted, and its seat given back.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::store::InvitationItem;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let invitation_id = http::path_param(req, "invitationId")?;
    let invitation = deps.store.get_invitation(caller.org_id(), &invitation_id).await?.ok_or(ApiError::NotFound)?;
    let workos_ids = match &invitation.workos_invitation_id {
        Some(id) => vec![id.clone()],
        None => found_by_address(deps, &invitation).await?,
    };
    // Every one still pending is revoked before the invitation is deleted, so none can be
    // accepted after the deletion; one accepted between the listing and its revocation is
    // found here. A failure on the way (503) leaves those revoked so far revoked, and the
    // invitation stored with its seat (its address cannot be invited again) until a retry,
    // which finds nothing pending and deletes it. After a 409 a retry answers 409 again until
    // the member arrives and takes the invitation over (then 404).
    for workos_id in &workos_ids {
        if deps.workos.revoke_invitation(workos_id).await? {
            continue;
        }
        // Nothing left to revoke: accepted, lapsed or revoked already. Only an acceptance keeps
        // the seat.
        if deps.workos.get_invitation(workos_id).await?.accepted().is_some() {
            return Err(accepted_conflict());
        }
        tracing::info!(invitation_id, "WorkOS had nothing left to revoke");
    }
    deps.store.delete_invitation(&invitation, &caller.origin()).await?;
    Ok(http::no_content())
}

/// The WorkOS invitations to revoke for an invitation whose sending stopped before WorkOS's id
/// was stored: the pending ones of its address to its organization. One accepted since the
/// invitation was stored answers 409 instead, whichever it is: the member it made takes this
/// invitation's seat and customer when they arrive. One accepted before belongs to an earlier
/// invitation of the address (its member arrived, and was removed since, say) and stops nothing.
/// The two times come from two clocks, but a person accepts seconds at least after the send.
/// Not seen: a send still on its way to WorkOS, whose invitation outlives this deletion.
async fn found_by_address(deps: &Deps, invitation: &InvitationItem) -> Result<Vec<String>, ApiError> {
    let sent = deps.workos.invitations_of(&invitation.email, &invitation.org_id).await?;
    if sent.iter().any(|i| i.accepted().is_some_and(|at| at >= invitation.created_at)) {
        return Err(accepted_conflict());
    }
    Ok(sent.into_iter().filter(|i| i.state == "pending").map(|i| i.id).collect())
}

fn accepted_conflict() -> ApiError {
    ApiError::Conflict("the invitation was accepted; remove the member instead (DELETE /users/{userId})".into())
}
