//! `GET /api-keys` (admin): the organization's API keys, paged, oldest first; never a secret or
//! its digest.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::ApiKeyView;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let limit = http::page_limit(req)?;
    let cursor = http::query_param(req, "cursor");
    let page = deps.store.list_api_keys(caller.org_id(), limit, cursor.as_deref()).await?;
    Ok(http::json(200, &page.map(ApiKeyView::from)))
}
