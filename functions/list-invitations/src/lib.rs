//! `GET /invitations` (admin): the organization's pending invitations, paged.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::InvitationView;
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let limit = http::page_limit(req)?;
    let cursor = http::query_param(req, "cursor");
    let page = deps.store.list_invitations(caller.org_id(), limit, cursor.as_deref()).await?;
    let now = Timestamp::now();
    Ok(http::json(200, &page.map(|invitation| InvitationView::new(invitation, now))))
}
