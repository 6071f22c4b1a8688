//! `PUT /customers/{customerId}/staff/{userId}` (admin): assigns a staff member to a customer.
//! Idempotent: 201 when new, 200 when it was already. Only a `staff` member can be assigned
//! (an admin or client is 409 `conflict`), checked again inside the write.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::MemberView;
use shared::domain::Role;
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let customer_id = http::path_param(req, "customerId")?;
    let user_id = http::path_param(req, "userId")?;
    let (customer, member) = tokio::join!(
        deps.store.get_customer(caller.org_id(), &customer_id),
        deps.store.get_member(caller.org_id(), &user_id)
    );
    let customer = customer?.ok_or(ApiError::NotFound)?;
    let member = member?.ok_or(ApiError::NotFound)?;
    if member.role != Role::Staff {
        return Err(ApiError::Conflict(format!(
            "only staff members can be assigned; this member is {}",
            member.role.slug()
        )));
    }
    let created = deps.store.assign(&customer, &user_id, Timestamp::now(), &caller.origin()).await?;
    Ok(http::json(if created { 201 } else { 200 }, &MemberView::from(member)))
}
