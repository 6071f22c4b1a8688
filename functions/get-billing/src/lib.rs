//! `GET /billing` (admin): the subscription and the plan it gives, or the free plan.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::BillingView;
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    Ok(http::json(200, &BillingView::new(&caller.org, &deps.config.plans, Timestamp::now())))
}
