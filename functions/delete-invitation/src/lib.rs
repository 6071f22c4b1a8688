//! `DELETE /invitations/{invitationId}` (admin): revokes the invitation in WorkOS, then deletes
//! it and gives its seat back. A WorkOS failure answers 503 with nothing changed.

use lambda_http::{Body, Request, Response};
use shared::{ApiError, Deps, http};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    http::serve(&req, delete_invitation(deps, &req)).await
}

async fn delete_invitation(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let invitation_id = http::path_param(req, "invitationId")?;
    let invitation = deps.store.get_invitation(caller.org_id(), &invitation_id).await?.ok_or(ApiError::NotFound)?;
    if let Some(workos_id) = &invitation.workos_invitation_id {
        if !deps.workos.revoke_invitation(workos_id).await? {
            tracing::info!(invitation_id, "WorkOS had nothing left to revoke");
        }
    }
    deps.store.delete_invitation(&invitation).await?;
    Ok(http::no_content())
}
