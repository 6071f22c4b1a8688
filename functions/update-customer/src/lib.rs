//! `PATCH /customers/{customerId}` (admin, assigned staff): a partial update; `null` clears an
//! optional field.

use lambda_http::{Body, Request, Response};
use shared::api::bodies::CustomerPatch;
use shared::api::caller::caller_managing;
use shared::api::http;
use shared::api::views::CustomerView;
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, customer) = caller_managing(deps, req, &http::path_param(req, "customerId")?).await?;
    let fields = http::json_body::<CustomerPatch>(req)?.apply(customer.fields())?;
    if fields == customer.fields() {
        // A retry of a rename that stopped half way finishes carrying the name order.
        deps.store.reorder_assignments(&customer).await?;
        return Ok(http::json(200, &CustomerView::from(customer)));
    }
    let updated = customer.with_fields(fields, Timestamp::now());
    deps.store.update_customer(&customer, &updated, &caller.origin()).await?;
    Ok(http::json(200, &CustomerView::from(updated)))
}
