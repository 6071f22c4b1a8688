//! `GET /billing` (admin): the subscription and the plan it gives, or the free plan.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::BillingView;
use shared::domain::Role;
use shared::store::Along;
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, found) = deps.caller_with(req, &[Along::Org]).await?;
    caller.require(&[Role::Admin])?;
    let org = found.org()?.ok_or(ApiError::NotFound)?;
    Ok(http::json(200, &BillingView::new(&org, &deps.config.plans, Timestamp::now())))
}
