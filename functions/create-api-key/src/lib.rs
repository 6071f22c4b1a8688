//! `POST /api-keys` (admin) with `{name, scope, expiresAt?}`: a new API key. The answer (201) is
//! the only place its secret appears; the table keeps its SHA-256 digest. A key counts against
//! no seat. One stored transaction writes the key and its audit entry: a failure leaves neither,
//! and a retry makes another key (the first answer, if lost, showed a secret nobody holds).

use lambda_http::{Body, Request, Response};
use shared::api::bodies::NewApiKey;
use shared::api::http;
use shared::api::views::CreatedApiKeyView;
use shared::crypto;
use shared::domain::api_keys::{KeySecret, SECRET_RANDOM_BYTES};
use shared::store::ApiKeyItem;
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let now = Timestamp::now();
    let fields = http::json_body::<NewApiKey>(req)?.into_fields(now)?;
    let random: [u8; SECRET_RANDOM_BYTES] =
        crypto::random_bytes().ok_or_else(|| ApiError::upstream("no randomness for an API key"))?;
    // WorkOS organization ids fit the secret's format; one that did not would make a key that
    // could never be presented.
    let secret = KeySecret::new(caller.org_id(), &ApiKeyItem::new_id(), &random)
        .ok_or_else(|| ApiError::Conflict("this organization's id cannot be carried by an API key".into()))?;
    let member = caller.member()?;
    let item = ApiKeyItem::new(&secret, fields.name, fields.scope, fields.expires_at, &member.user_id, now);
    deps.store.create_api_key(&item, &caller.origin()).await?;
    Ok(http::json(201, &CreatedApiKeyView::new(item, &secret)))
}
