//! `DELETE /api-keys/{keyId}` (admin): deletes the key, with its audit entry. Every request
//! resolves a key by a strongly consistent read of its item, so the key is refused (401) from
//! the next request on; there is no cache to outlive it. A key deleted meanwhile, or never
//! there, is 404.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::domain::Role;
use shared::store::Along;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    // The key is read with the caller, in one round trip; who calls is decided before an id
    // that cannot be a key's is answered 404.
    let key_id = http::path_param(req, "keyId");
    let along: Vec<Along<'_>> = key_id.as_deref().map(Along::ApiKey).into_iter().collect();
    let (caller, found) = deps.caller_with(req, &along).await?;
    caller.require(&[Role::Admin])?;
    let key_id = key_id?;
    let key = found.api_key(&key_id)?.ok_or(ApiError::NotFound)?;
    if !deps.store.revoke_api_key(&key, &caller.origin()).await? {
        return Err(ApiError::NotFound);
    }
    Ok(http::no_content())
}
