//! `DELETE /customers/{customerId}/staff/{userId}` (admin): ends an assignment; 404 if there
//! was none.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let customer_id = http::path_param(req, "customerId")?;
    let user_id = http::path_param(req, "userId")?;
    deps.store.get_customer(caller.org_id(), &customer_id).await?.ok_or(ApiError::NotFound)?;
    if !deps.store.unassign(caller.org_id(), &customer_id, &user_id, &caller.origin()).await? {
        return Err(ApiError::NotFound);
    }
    Ok(http::no_content())
}
