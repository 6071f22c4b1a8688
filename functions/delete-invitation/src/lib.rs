//! `DELETE /invitations/{invitationId}` (admin): revokes the invitation in WorkOS, then deletes
//! it and gives its seat back. A WorkOS failure answers 503 with nothing changed.
//!
//! An invitation WorkOS says was accepted answers 409 `conflict` and keeps its seat: the seat
//! belongs to the member it made (remove the member instead). One that WorkOS let lapse or
//! revoked already is deleted, and its seat given back.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let invitation_id = http::path_param(req, "invitationId")?;
    let invitation = deps.store.get_invitation(caller.org_id(), &invitation_id).await?.ok_or(ApiError::NotFound)?;
    // An invitation whose sending stopped before WorkOS's id was stored is found by address.
    let workos_ids = match &invitation.workos_invitation_id {
        Some(id) => vec![id.clone()],
        None => deps.workos.pending_invitations(&invitation.email, caller.org_id()).await?,
    };
    for workos_id in &workos_ids {
        if deps.workos.revoke_invitation(workos_id).await? {
            continue;
        }
        // Nothing left to revoke: accepted, lapsed or revoked already. Only an acceptance keeps
        // the seat.
        if deps.workos.get_invitation(workos_id).await?.state == "accepted" {
            return Err(ApiError::Conflict(
                "the invitation was accepted; remove the member instead (DELETE /users/{userId})".into(),
            ));
        }
        tracing::info!(invitation_id, "WorkOS had nothing left to revoke");
    }
    deps.store.delete_invitation(&invitation, &caller.origin()).await?;
    Ok(http::no_content())
}
