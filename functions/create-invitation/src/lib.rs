//! `POST /invitations` (admin): invites an address through WorkOS with a role (and a client's
//! customer). The invitation and its seat are stored first, in one transaction within the
//! plan's limits (so concurrent invitations never pass a limit); then WorkOS sends it. If
//! WorkOS fails, the invitation and its seat are given back and the answer is 503.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::api::http;
use shared::api::views::InvitationView;
use shared::domain::Role;
use shared::domain::validation::parse_email;
use shared::flows::customers::check_customer;
use shared::store::{InvitationItem, InvitationState};
use shared::{ApiError, Deps, Timestamp};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewInvitation {
    email: String,
    role: Role,
    #[serde(default)]
    customer_id: Option<String>,
}

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let body: NewInvitation = http::json_body(req)?;
    let email = parse_email("email", &body.email)?;
    check_customer(deps, caller.org_id(), body.role, body.customer_id.as_deref()).await?;

    let org = &caller.org;
    let now = Timestamp::now();
    let limits = org.entitlement(&deps.config.plans, now).limits;
    let mut invitation =
        InvitationItem::new(caller.org_id(), &email, body.role, body.customer_id, &caller.member()?.user_id, now);
    let entry = deps.store.create_invitation(&invitation, &limits, &caller.origin()).await?;

    let sent = deps.workos.send_invitation(&email, caller.org_id(), body.role.slug(), &caller.member()?.user_id).await;
    let sent = match sent {
        Ok(sent) => sent,
        Err(error) => {
            if let Err(undo) = deps.store.undo_invitation(&invitation, &entry).await {
                tracing::error!(error = %undo, "could not give back the seat of an invitation WorkOS refused");
            }
            return Err(error.into());
        }
    };
    invitation.state = InvitationState::Pending;
    invitation.workos_invitation_id = Some(sent.id);
    invitation.valid_until = Some(sent.expires_at);
    deps.store.mark_invitation_sent(&invitation).await?;
    tracing::info!(invitation_id = invitation.id, role = body.role.slug(), "invitation sent");
    Ok(http::json(201, &InvitationView::new(invitation, now)))
}
