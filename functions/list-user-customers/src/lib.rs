//! `GET /users/{userId}/customers` (admin; staff for themselves): the customers assigned to a
//! staff member, by name, paged.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::CustomerView;
use shared::domain::Role;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.caller(req).await?;
    let user_id = http::path_param(req, "userId")?;
    match caller.role() {
        Role::Admin => {}
        Role::Staff if user_id == caller.actor_id() => {}
        role => return Err(ApiError::Forbidden(format!("the {} role may list only its own customers", role.slug()))),
    }
    let member = deps.store.get_member(caller.org_id(), &user_id).await?.ok_or(ApiError::NotFound)?;
    let limit = http::page_limit(req)?;
    let cursor = http::query_param(req, "cursor");
    // Assignments of a member who is no longer staff are on their way out: none count.
    let page = match member.role {
        Role::Staff => deps.store.list_staff_customers(caller.org_id(), &user_id, limit, cursor.as_deref()).await?,
        _ => shared::store::Page { items: Vec::new(), next_cursor: None },
    };
    Ok(http::json(200, &page.map(CustomerView::from)))
}
