//! `GET /org/export` (admin): everything the organization owns, as typed records in the shapes
//! its routes show an admin, in pages under 1 MiB; a client that follows `nextCursor` to the end
//! holds all of it.

use lambda_http::{Body, Request, Response};
use shared::api::{export, http};
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let cursor = http::query_param(req, "cursor");
    let now = Timestamp::now();
    let records = |item| export::export_records(item, &deps.config.plans, now);
    let page = deps.store.export_page(caller.org_id(), cursor.as_deref(), records).await?;
    Ok(http::json(200, &page))
}
