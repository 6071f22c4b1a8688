//! `GET /customers/{customerId}/staff` (admin, assigned staff): the staff members assigned to
//! the customer, paged.

use lambda_http::{Body, Request, Response};
use shared::api::caller::caller_managing;
use shared::api::http;
use shared::api::views::MemberView;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, customer) = caller_managing(deps, req, &http::path_param(req, "customerId")?).await?;
    let limit = http::page_limit(req)?;
    let cursor = http::query_param(req, "cursor");
    let page = deps.store.list_customer_staff(caller.org_id(), &customer.id, limit, cursor.as_deref()).await?;
    Ok(http::json(200, &page.map(MemberView::from)))
}
