//! `GET /customers/{customerId}`: for an admin, assigned staff, or the customer's own clients.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::CustomerView;
use shared::flows::customers::visible_customer;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.caller(req).await?;
    let customer = visible_customer(deps, &caller, &http::path_param(req, "customerId")?).await?;
    Ok(http::json(200, &CustomerView::from(customer)))
}
