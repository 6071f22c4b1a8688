//! `GET /customers/{customerId}/staff` (admin, assigned staff): the staff members assigned to
//! the customer, paged.

use lambda_http::{Body, Request, Response};
use shared::customers::managed_customer;
use shared::members::MemberView;
use shared::{ApiError, Deps, http};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    http::serve(&req, list_customer_staff(deps, &req)).await
}

async fn list_customer_staff(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.caller(req).await?;
    let customer = managed_customer(deps, &caller, &http::path_param(req, "customerId")?).await?;
    let limit = http::page_limit(req)?;
    let cursor = http::query_param(req, "cursor");
    let page = deps.store.list_customer_staff(caller.org_id(), &customer.id, limit, cursor.as_deref()).await?;
    Ok(http::json(200, &page.map(MemberView::from)))
}
