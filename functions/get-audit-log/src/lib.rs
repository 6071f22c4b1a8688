//! `GET /audit-log` (admin): the organization's audit entries, newest first, paged, filtered by
//! `action`, `targetId` and `actorId`.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::AuditEntryView;
use shared::domain::audit::Action;
use shared::store::AuditFilter;
use shared::{ApiError, Deps};

/// The longest `targetId` or `actorId` taken (the OpenAPI document's `maxLength`).
const MAX_ID_CHARS: usize = 200;

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let limit = http::page_limit(req)?;
    let cursor = http::query_param(req, "cursor");
    let action = match http::query_param(req, "action") {
        None => None,
        Some(slug) => Some(Action::from_slug(&slug).ok_or_else(|| {
            ApiError::validation("action", "is not an audit action (see the OpenAPI document's AuditAction)")
        })?),
    };
    let id = |name: &'static str| match http::query_param(req, name).filter(|v| !v.is_empty()) {
        Some(id) if id.chars().count() > MAX_ID_CHARS => {
            Err(ApiError::validation(name, "must be at most 200 characters"))
        }
        id => Ok(id),
    };
    let filter = AuditFilter { action, target_id: id("targetId")?, actor_id: id("actorId")? };
    let page = deps.store.list_audit(caller.org_id(), &filter, limit, cursor.as_deref()).await?;
    Ok(http::json(200, &page.map(AuditEntryView::from)))
}
