//! `PATCH /users/{userId}` (admin): a member's role and customer.
//!
//! The table is changed first, in one transaction that moves the seat within the plan's limits
//! and keeps an admin (so concurrent demotions cannot remove the last one); then WorkOS. If
//! WorkOS fails, the stored member is put back and the answer is 503, but only if the member is
//! still what this request wrote: a change or removal that came in between was made on top of
//! this one, with its own counters, and stays (the sync settles WorkOS). A crash between the two
//! leaves the table ahead of WorkOS: the client's retry (same body) sends the role to WorkOS,
//! and otherwise the sync's next full pass puts the table back to WorkOS's role. A staff member
//! who is no longer staff loses their customer assignments.

use lambda_http::{Body, Request, Response};
use shared::api::bodies::MemberChange;
use shared::api::http;
use shared::api::views::MemberView;
use shared::domain::{Role, UsageChange};
use shared::flows::customers::check_customer;
use shared::store::MemberItem;
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let user_id = http::path_param(req, "userId")?;
    let body: MemberChange = http::json_body(req)?;
    let old = deps.store.get_member(caller.org_id(), &user_id).await?.ok_or(ApiError::NotFound)?;

    let role = body.role.unwrap_or(old.role);
    let customer_id = match body.customer_id {
        Some(sent) => sent,
        // Leaving the client role leaves the customer; staying keeps it.
        None if role == old.role => old.customer_id.clone(),
        None => None,
    };
    check_customer(deps, caller.org_id(), role, customer_id.as_deref()).await?;
    if role == old.role && customer_id == old.customer_id {
        // A retry of a change that stopped half way finishes it here: WorkOS gets the role the
        // table holds, and a member who is not staff has no assignments.
        if body.role.is_some() {
            deps.workos.set_membership_role(&old.membership_id, role.slug()).await?;
        }
        if role != Role::Staff {
            deps.store.remove_assignments_of(caller.org_id(), &user_id, &caller.origin()).await?.written()?;
        }
        return Ok(http::json(200, &MemberView::from(old)));
    }

    let org = &caller.org;
    let now = Timestamp::now();
    let limits = org.entitlement(&deps.config.plans, now).limits;
    let change = if role == old.role {
        UsageChange::default()
    } else {
        UsageChange::role_change(old.role, role).within(&limits)
    };
    let new = MemberItem { role, customer_id, ..old.revised(now) };
    let entry = deps.store.change_member(&old, &new, &change, &caller.member()?.user_id, &caller.origin()).await?;

    if role != old.role {
        if let Err(error) = deps.workos.set_membership_role(&old.membership_id, role.slug()).await {
            match deps.store.undo_member_change(&old, &new, &change, entry.as_ref()).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(target_user = user_id, "the member changed again before the undo; it stays")
                }
                Err(undo) => {
                    tracing::error!(error = %undo, "could not undo a role change WorkOS refused; the sync job will settle it")
                }
            }
            return Err(error.into());
        }
    }
    if old.role == Role::Staff && role != Role::Staff {
        deps.store.remove_assignments_of(caller.org_id(), &user_id, &caller.origin()).await?.written()?;
    }
    tracing::info!(target_user = user_id, role = role.slug(), "member changed");
    Ok(http::json(200, &MemberView::from(new)))
}
