//! `GET /org`: the caller's organization with its plan, limits and usage (any member).

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::OrganizationView;
use shared::store::Along;
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (_, found) = deps.caller_with(req, &[Along::Org]).await?;
    let org = found.org()?.ok_or(ApiError::NotFound)?;
    Ok(http::json(200, &OrganizationView::new(&org, &deps.config.plans, Timestamp::now())))
}
