//! `GET /org`: the caller's organization with its plan, limits and usage (any member).

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::OrganizationView;
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.caller(req).await?;
    Ok(http::json(200, &OrganizationView::new(&caller.org, &deps.config.plans, Timestamp::now())))
}
