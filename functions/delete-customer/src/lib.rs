//! `DELETE /customers/{customerId}` (admin): 409 while client users (or pending client
//! invitations) belong to it. The customer is first marked deleted, which hides it from every
//! reader at once; then its assignments go, then the customer and its count. A delete that
//! stops half way is finished by running it again.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let customer_id = http::path_param(req, "customerId")?;
    let customer = deps.store.begin_customer_delete(caller.org_id(), &customer_id).await?.ok_or(ApiError::NotFound)?;
    deps.store.finish_customer_delete(&customer, &caller.origin()).await?;
    Ok(http::no_content())
}
