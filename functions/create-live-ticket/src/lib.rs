//! `POST /live/tickets`: a single-use ticket (30 s) for the caller's user and organization, and
//! the WebSocket URL that carries it (any member).

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.caller(req).await?;
    let ticket = deps.issue_ticket(&caller).await?;
    Ok(http::json(201, &ticket))
}
