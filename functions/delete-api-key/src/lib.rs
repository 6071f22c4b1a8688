//! `DELETE /api-keys/{keyId}` (admin): deletes the key, with its audit entry. Every request
//! resolves a key by a strongly consistent read of its item, so the key is refused (401) from
//! the next request on; there is no cache to outlive it. A key deleted meanwhile, or never
//! there, is 404.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let key_id = http::path_param(req, "keyId")?;
    let key = deps.store.get_api_key(caller.org_id(), &key_id).await?.ok_or(ApiError::NotFound)?;
    if !deps.store.revoke_api_key(&key, &caller.origin()).await? {
        return Err(ApiError::NotFound);
    }
    Ok(http::no_content())
}
