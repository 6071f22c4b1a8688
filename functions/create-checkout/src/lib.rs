//! `POST /billing/checkout` (admin): a Lemon Squeezy checkout for a variant of `PLANS`, carrying
//! `custom_data.org_id` and the tag that vouches for it (`CheckoutTag`), so that its events find
//! the organization and nobody else's checkout can claim it.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::api::http;
use shared::config::Setting;
use shared::domain::billing::CheckoutTag;
use shared::{ApiError, Deps, Timestamp};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CheckoutRequest {
    variant_id: String,
}

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let body: CheckoutRequest = http::json_body(req)?;
    let variant_id = body.variant_id.trim();
    if !deps.config.plans.variants.contains_key(variant_id) {
        return Err(ApiError::validation("variantId", "must be a variant of a paid plan"));
    }
    let tags = CheckoutTag::new(deps.config.require(Setting::CheckoutTagSecret)?);
    let custom = tags.custom_data(caller.org_id(), Timestamp::now());
    let url = deps.lemonsqueezy.create_checkout(variant_id, &custom, &caller.member()?.email).await?;
    Ok(http::json(201, &serde_json::json!({ "url": url })))
}
