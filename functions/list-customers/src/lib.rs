//! `GET /customers`: by name, paged. Admins see every customer, staff those assigned to them,
//! a client only their own.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::CustomerView;
use shared::domain::visibility::{CustomerList, customer_list};
use shared::store::Page;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.caller(req).await?;
    let limit = http::page_limit(req)?;
    let cursor = http::query_param(req, "cursor");
    let org_id = caller.org_id();
    let page = match customer_list(&caller.viewer()) {
        CustomerList::All => deps.store.list_customers(org_id, limit, cursor.as_deref()).await?,
        CustomerList::Assigned => {
            deps.store.list_staff_customers(org_id, caller.actor_id(), limit, cursor.as_deref()).await?
        }
        CustomerList::Only(own) => {
            if cursor.is_some() {
                return Err(ApiError::InvalidCursor);
            }
            let own = match own {
                Some(id) => deps.store.get_customer(org_id, id).await?,
                None => None,
            };
            Page { items: own.into_iter().collect(), next_cursor: None }
        }
    };
    Ok(http::json(200, &page.map(CustomerView::from)))
}
