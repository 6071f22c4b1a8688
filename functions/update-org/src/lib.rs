//! `PATCH /org` (admin): renames the organization, in WorkOS first and then in the table, so a
//! failure at either step leaves the stored name unchanged and a retry converges.

use lambda_http::{Body, Request, Response};
use shared::api::bodies::OrgNameBody;
use shared::api::http;
use shared::api::views::OrganizationView;
use shared::{ApiError, Deps, Timestamp};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = deps.admin(req).await?;
    let name = http::json_body::<OrgNameBody>(req)?.into_name()?;
    let org = &caller.org;
    if org.name == name {
        return Ok(http::json(200, &OrganizationView::new(org, &deps.config.plans, Timestamp::now())));
    }
    deps.workos.rename_organization(caller.org_id(), &name).await?;
    let org = deps.store.rename_org(org, &name, Timestamp::now(), &caller.origin()).await?.written()?;
    Ok(http::json(200, &OrganizationView::new(&org, &deps.config.plans, Timestamp::now())))
}
