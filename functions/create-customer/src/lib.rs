//! `POST /customers` (admin): a new customer, within the plan's `maxCustomers` (the check and
//! the insert are one transaction).

use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, Response};
use shared::api::bodies::NewCustomer;
use shared::api::http;
use shared::api::views::CustomerView;
use shared::store::CustomerItem;
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let fields = http::json_body::<NewCustomer>(req)?.into_fields()?;
    let org = &caller.org;
    let now = Timestamp::now();
    let limits = org.entitlement(&deps.config.plans, now).limits;
    let customer = CustomerItem::new(caller.org_id(), fields, caller.actor_id(), now);
    deps.store.create_customer(&customer, &limits, &caller.origin()).await?;
    let location = HeaderValue::from_str(&format!("/customers/{}", customer.id)).ok();
    let mut response = http::json(201, &CustomerView::from(customer));
    if let Some(location) = location {
        response.headers_mut().insert("location", location);
    }
    Ok(response)
}
