//! `GET /billing` (admin): the subscription and the plan it gives, or the free plan.
//!
//! `customerPortalUrl` is pre-signed by Lemon Squeezy and valid for 24 hours from when it was
//! made: the stored one is handed out while it has an hour left at least; otherwise Lemon Squeezy
//! is asked for the subscription again and its fresh URL is kept and handed out. When Lemon
//! Squeezy cannot be reached the rest of the answer stands, with `customerPortalUrl` null.
//!
//! An API key gets `customerPortalUrl` null, always: the link lets whoever holds it cancel the
//! subscription or change how it is paid, which no key's scope allows (and a key's loop would
//! otherwise spend the Lemon Squeezy allowance that checkout and the reconcile job need).

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::BillingView;
use shared::domain::billing::PortalLink;
use shared::flows::access::Principal;
use shared::{ApiError, Deps, Timestamp};

/// How long the billing view waits for Lemon Squeezy before it answers without a portal URL
/// (the function's timeout is 10 s, and an admin is waiting).
const PORTAL_READ_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let now = Timestamp::now();
    let shown = caller.org.entitlement(&deps.config.plans, now).subscription;
    let portal = match shown {
        Some(subscription) if matches!(caller.principal, Principal::Member(_)) => {
            fresh_portal_link(deps, caller.org_id(), &subscription.id, now).await?
        }
        _ => None,
    };
    Ok(http::json(200, &BillingView::new(&caller.org, &deps.config.plans, now, portal.as_ref())))
}

/// The subscription's portal link: the stored one while it is fresh, else a new one from Lemon
/// Squeezy (kept for the next request), else none.
async fn fresh_portal_link(
    deps: &Deps,
    org_id: &str,
    subscription_id: &str,
    now: Timestamp,
) -> Result<Option<PortalLink>, ApiError> {
    let stored = deps.store.subscription(org_id, subscription_id).await?.and_then(|s| s.portal);
    if let Some(portal) = stored.filter(|p| p.fresh_at(now)) {
        return Ok(Some(portal));
    }
    let read = deps.lemonsqueezy.get_subscription(subscription_id);
    let fetched = match tokio::time::timeout(PORTAL_READ_LIMIT, read).await {
        Ok(Ok(resource)) if resource.id == subscription_id => PortalLink::from_resource(&resource, now),
        Ok(Ok(_)) => None,
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "Lemon Squeezy did not answer for a fresh portal URL");
            None
        }
        Err(_) => {
            tracing::warn!("Lemon Squeezy took too long to answer for a fresh portal URL");
            None
        }
    };
    if let Some(portal) = &fetched {
        deps.store.save_portal_link(org_id, subscription_id, portal).await?;
    }
    Ok(fetched)
}
