//! `GET /users` (admin, staff): the organization's members, paged, optionally `?role=`.

use lambda_http::{Body, Request, Response};
use shared::members::{MemberView, role_filter};
use shared::store::Role;
use shared::{ApiError, Deps, http};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    http::serve(&req, list_users(deps, &req)).await
}

async fn list_users(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.caller(req).await?;
    caller.require(&[Role::Admin, Role::Staff])?;
    let role = role_filter(http::query_param(req, "role"))?;
    let limit = http::page_limit(req)?;
    let cursor = http::query_param(req, "cursor");
    let page = deps.store.list_members(caller.org_id(), role, limit, cursor.as_deref()).await?;
    Ok(http::json(200, &page.map(MemberView::from)))
}
