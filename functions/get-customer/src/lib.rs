//! `GET /customers/{customerId}`: for an admin, assigned staff, or the customer's own clients.
//! One DynamoDB request: the membership, the customer and the caller's assignment together.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::CustomerView;
use shared::flows::customers::{customer_reads, visible_in};
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let customer_id = http::path_param(req, "customerId")?;
    let (caller, found) = deps.caller_with(req, &customer_reads(&customer_id)).await?;
    let customer = visible_in(&caller, &found, &customer_id)?;
    Ok(http::json(200, &CustomerView::from(customer)))
}
