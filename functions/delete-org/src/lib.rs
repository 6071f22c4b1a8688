//! `DELETE /org` (admin) with `{"confirmName"}`: deletes the organization and everything it owns.
//!
//! The request marks the org item (from then on every member's request answers 403
//! `no_organization`, and no write reaches the organization), then continues the deletion for a
//! bounded time (`Deps::continue_deletion`: WorkOS, the items, the tombstone) and answers 202
//! `{"status": "deleting"}`. A retry by the admin who asked (or another admin still stored)
//! continues it and answers 202 `deleting` while items are left, 200 `deleted` once only the
//! tombstone is; otherwise the next `workos-sync` run continues it.

use std::time::Duration;

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use shared::api::bodies::OrgDeletionBody;
use shared::api::{caller, http};
use shared::domain::Role;
use shared::domain::deletion::{DeletionRefusal, deletion_refusal};
use shared::flows::access::{Caller, Resolution};
use shared::flows::deletion::DeletionStatus;
use shared::store::{Deletion, MemberItem, OrgRecord, OrgWrite};
use shared::{ApiError, Deps, Timestamp};

/// How long a request works on the deletion before it answers (the function's timeout is 10 s;
/// WorkOS's call comes first).
const REQUEST_BUDGET: Duration = Duration::from_secs(3);

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    // One authentication and one read decide: a live organization's admin starts the deletion;
    // a deletion under way is continued from what that read found.
    match deps.resolve_caller(&caller::call(req)?, &[]).await? {
        Resolution::Admitted(caller, _) => {
            caller.require(&[Role::Admin])?;
            start(deps, req, &caller).await
        }
        Resolution::NotMember(reason) => Err(reason.refusal()),
        Resolution::OrgDeletion { auth, member, record } => resume(deps, req, &auth.user_id, member, record).await,
    }
}

async fn start(deps: &Deps, req: &Request, caller: &Caller) -> Result<Response<Body>, ApiError> {
    let body: OrgDeletionBody = http::json_body(req)?;
    let (org, now) = (&caller.org, Timestamp::now());
    match deletion_refusal(&org.name, &body.confirm_name, &org.billing.subscriptions, org.billing.unread.iter(), now) {
        None => {}
        Some(DeletionRefusal::NameNotConfirmed) => {
            return Err(ApiError::validation("confirmName", "must be the organization's current name"));
        }
        Some(DeletionRefusal::SubscriptionActive { subscription_id, status, ends_at }) => {
            let until = ends_at.map(|at| format!(" (until {at})")).unwrap_or_default();
            return Err(ApiError::Conflict(format!(
                "subscription {subscription_id} is {status} and still grants access{until}: cancel it first \
                 (GET /billing names its customer portal); a cancelled subscription grants access until it ends, \
                 and the organization can be deleted from then on"
            )));
        }
        Some(DeletionRefusal::SubscriptionUnknown { subscription_id }) => {
            return Err(ApiError::Conflict(format!(
                "a payment of subscription {subscription_id} is recorded but not its state yet; \
                 it is read from Lemon Squeezy within 15 minutes: try again then"
            )));
        }
    }
    let deletion = Deletion {
        requested_at: now,
        requested_by: caller.member()?.user_id.clone(),
        request_id: caller.request_id.clone(),
        workos_deleted_at: None,
    };
    match deps.store.request_deletion(org, &deletion, &caller.origin()).await? {
        OrgWrite::Written(()) => tracing::info!("organization deletion requested"),
        // Another request marked it first: this one helps it along.
        OrgWrite::OrgGone => {}
    }
    continue_for_a_while(deps, caller.org_id()).await;
    Ok(http::json(202, &Answer { status: DeletionStatus::Deleting }))
}

/// A request for an organization whose deletion began (its org item `record` and the caller's
/// membership `member`, as the caller's read found them): only the admin who asked, or an admin
/// whose membership is still stored, may continue it; anyone else is told there is none.
async fn resume(
    deps: &Deps,
    req: &Request,
    user_id: &str,
    member: Option<MemberItem>,
    record: OrgRecord,
) -> Result<Response<Body>, ApiError> {
    http::json_body::<OrgDeletionBody>(req)?;
    let (org_id, requested_by) = match &record {
        OrgRecord::Deleting(org) => (org.id.as_str(), org.deletion.as_ref().map(|d| d.requested_by.as_str())),
        OrgRecord::Deleted(tombstone) => (tombstone.id.as_str(), Some(tombstone.deletion.requested_by.as_str())),
        OrgRecord::Live(_) => return Err(ApiError::OrganizationDeleted),
    };
    let admin = member.is_some_and(|m| m.role == Role::Admin);
    if requested_by != Some(user_id) && !admin {
        return Err(ApiError::OrganizationDeleted);
    }
    Ok(match continue_for_a_while(deps, org_id).await {
        DeletionStatus::Deleting => http::json(202, &Answer { status: DeletionStatus::Deleting }),
        DeletionStatus::Deleted => http::json(200, &Answer { status: DeletionStatus::Deleted }),
    })
}

/// Continues the deletion for [`REQUEST_BUDGET`]. A failure here is not the client's: the
/// deletion is under way, and a retry or the next WorkOS sync continues it.
async fn continue_for_a_while(deps: &Deps, org_id: &str) -> DeletionStatus {
    match deps.continue_deletion(org_id, REQUEST_BUDGET).await {
        Ok(status) => status,
        Err(error) => {
            tracing::warn!(error = %error, "organization deletion stopped; a retry or the next WorkOS sync continues it");
            DeletionStatus::Deleting
        }
    }
}

#[derive(Serialize)]
struct Answer {
    status: DeletionStatus,
}
