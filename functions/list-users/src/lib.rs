//! `GET /users` (admin, staff): the organization's members, paged, optionally `?role=`.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::MemberView;
use shared::domain::Role;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.caller(req).await?;
    caller.require(&[Role::Admin, Role::Staff])?;
    let role = Role::parse_filter(http::query_param(req, "role").as_deref())?;
    let limit = http::page_limit(req)?;
    let cursor = http::query_param(req, "cursor");
    let page = deps.store.list_members(caller.org_id(), role, limit, cursor.as_deref()).await?;
    Ok(http::json(200, &page.map(MemberView::from)))
}
