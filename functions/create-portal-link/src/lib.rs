//! `POST /org/portal-link` (admin): a WorkOS Admin Portal link where the organization's IT admin
//! sets up SSO, directory sync or domain verification themselves. WorkOS makes the link; the
//! audit entry (`org.portal_link_created`, with the intent) follows it, so a link that WorkOS
//! refused leaves no entry.

use lambda_http::{Body, Request, Response};
use shared::api::bodies::PortalLinkBody;
use shared::api::http;
use shared::domain::audit::{Action, Changes};
use shared::domain::portal::PORTAL_LINK_MINUTES;
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let intent = http::json_body::<PortalLinkBody>(req)?.into_intent()?;
    let made = Timestamp::now();
    let return_url = deps.config.portal_return_url.as_deref();
    let link = deps.workos.generate_portal_link(caller.org_id(), intent.slug(), return_url).await?;
    let changes = Changes::default().field("intent", &None, &Some(intent.slug()));
    deps.store
        .record_org_event(caller.org_id(), Action::OrgPortalLinkCreated, changes, &caller.origin())
        .await?
        .written()?;
    let expires_at = made.plus(time::Duration::minutes(PORTAL_LINK_MINUTES));
    Ok(http::json(201, &serde_json::json!({ "link": link, "expiresAt": expires_at })))
}
