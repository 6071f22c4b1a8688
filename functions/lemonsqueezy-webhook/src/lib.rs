//! `POST /webhooks/lemon-squeezy`: signed billing events. Lemon Squeezy counts only 200 as
//! delivered and retries anything else, so every verified event answers 200 with what became
//! of it (`applied`, `duplicate`, `stale`, `ignored`, `unmatched`); only a transient failure
//! answers 5xx. A bad or missing signature is 401 with nothing written.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::http::request_id;
use shared::domain::audit::{Actor, Origin};
use shared::domain::lemonsqueezy::{Event, verify_signature};
use shared::flows::billing;
use shared::{ApiError, Deps, crypto};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let secret = deps.config.require(shared::config::Setting::LemonSqueezyWebhookSecret)?;
    let body = http::body_bytes(req)?;
    verify_signature(secret, body, http::header_str(req, "x-signature"))?;
    let text = std::str::from_utf8(body).map_err(|_| ApiError::MalformedJson("the body is not UTF-8".into()))?;
    let event: Event = http::parse_json(body)?;
    let origin = Origin::new(Actor::Lemonsqueezy, request_id(req).as_deref());
    let outcome = billing::process_event(deps, &event, text, &crypto::sha256_hex(body), &origin).await?;
    tracing::info!(event = event.meta.event_name, outcome = outcome.as_str(), "billing event");
    Ok(http::json(200, &serde_json::json!({ "status": outcome })))
}
