//! `POST /orgs` (any valid token): creates an organization in WorkOS, makes the caller its admin
//! there, then stores the org and the admin membership in one transaction.
//!
//! With an `Idempotency-Key` the call is safe to retry after any failure: the WorkOS
//! `external_id` is made from the key record's creation id and looked up before creating, the
//! WorkOS membership is looked up before creating, and the DynamoDB writes are one transaction
//! that also marks the key done. The same key with another body is 409 `conflict`. The creation
//! id is new whenever the key's record is (the first use, or a use after the 24-hour record has
//! gone), so a key used again later starts a new organization: it never finds the one an
//! earlier record made, nor gives its caller a role there.

use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, Response};
use shared::api::bodies::OrgNameBody;
use shared::api::http;
use shared::api::http::request_id;
use shared::api::views::OrganizationView;
use shared::clients::tokens::AuthContext;
use shared::domain::Role;
use shared::domain::audit::{Actor, Origin};
use shared::store::{IdempotencyClaim, IdempotencyOutcome, MemberItem, NewMember, OrgItem, OrgRecord, StoreError};
use shared::{ApiError, Deps, Timestamp, crypto};

/// How long one attempt holds its idempotency key before a retry may take over.
const LEASE_SECONDS: i64 = 30;
const MAX_KEY_CHARS: usize = 255;

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let auth = deps.authenticate(req).await?;
    let name = http::json_body::<OrgNameBody>(req)?.into_name()?;
    let key = idempotency_key(req)?;
    let origin = Origin::new(Actor::user(&auth.user_id), request_id(req).as_deref());

    let Some(key) = key else {
        let external_id = format!("saas-{}", ulid::Ulid::new().to_string().to_lowercase());
        let org = create(deps, &auth, &name, &external_id, None, &origin).await?;
        return Ok(created(deps, &org));
    };
    let request_hash = crypto::sha256_hex(name.as_bytes());
    let claim = match deps.store.claim_idempotency(&auth.user_id, key, &request_hash, LEASE_SECONDS).await? {
        IdempotencyOutcome::Claimed(claim) => claim,
        IdempotencyOutcome::Done { org_id } => return replay(deps, &auth, &org_id).await,
        IdempotencyOutcome::InProgress => {
            return Err(ApiError::Conflict("a request with this Idempotency-Key is still in progress".into()));
        }
        IdempotencyOutcome::Mismatch => {
            return Err(ApiError::Conflict("this Idempotency-Key was used with a different request body".into()));
        }
    };
    let external_id = format!("saas-{}", claim.creation_id());
    match create(deps, &auth, &name, &external_id, Some(&claim), &origin).await {
        Ok(org) => Ok(created(deps, &org)),
        Err(error) => {
            // Let the client's retry start at once instead of waiting out the lease.
            if let Err(release) = deps.store.release_idempotency(&claim).await {
                tracing::warn!(error = %release, "could not release the idempotency key");
            }
            Err(error)
        }
    }
}

/// The `Idempotency-Key` header: 1–255 visible ASCII characters, if sent.
fn idempotency_key(req: &Request) -> Result<Option<&str>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else { return Ok(None) };
    let invalid =
        || ApiError::validation("Idempotency-Key", format!("must be 1 to {MAX_KEY_CHARS} visible ASCII characters"));
    let key = value.to_str().map_err(|_| invalid())?.trim();
    if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid());
    }
    Ok(Some(key))
}

async fn create(
    deps: &Deps,
    auth: &AuthContext,
    name: &str,
    external_id: &str,
    claim: Option<&IdempotencyClaim>,
    origin: &Origin,
) -> Result<OrgItem, ApiError> {
    let workos_org = match deps.workos.find_organization_by_external_id(external_id).await? {
        Some(org) => org,
        None => deps.workos.create_organization(name, external_id).await?,
    };
    let membership = match deps.workos.active_membership(&auth.user_id, &workos_org.id).await? {
        Some(membership) => membership,
        None => deps.workos.create_membership(&auth.user_id, &workos_org.id, Role::Admin.slug()).await?,
    };
    let profile = deps.profile(&auth.user_id).await?;
    let now = Timestamp::now();
    let mut org = OrgItem::new(&workos_org.id, &workos_org.name, now);
    org.usage_mut().add(Role::Admin, 1);
    let admin = MemberItem::new(NewMember {
        org_id: &workos_org.id,
        user_id: &auth.user_id,
        role: Role::Admin,
        customer_id: None,
        membership_id: &membership.id,
        profile: &profile,
        workos_updated_at: membership.updated_at,
        now,
    });
    match deps.store.create_org_with_admin(&org, &admin, claim, origin).await {
        Ok(()) => {
            tracing::info!(org_id = org.id, "organization created");
            Ok(org)
        }
        // Stored already: an earlier attempt whose lease ran out finished first.
        Err(StoreError::Cancelled(failure)) if failure.is("org") || failure.is("admin") => deps
            .store
            .get_org(&workos_org.id)
            .await?
            .ok_or_else(|| ApiError::Conflict("the organization is being created by another request; retry".into())),
        Err(error) => Err(error.into()),
    }
}

fn created(deps: &Deps, org: &OrgItem) -> Response<Body> {
    let mut response = http::json(201, &OrganizationView::new(org, &deps.config.plans, Timestamp::now()));
    response.headers_mut().insert("location", HeaderValue::from_static("/org"));
    response
}

/// The answer to a retry of a request that already succeeded: the same organization, 200.
/// Only to a member of it: a creator removed since gets 404, like anyone else.
async fn replay(deps: &Deps, auth: &AuthContext, org_id: &str) -> Result<Response<Body>, ApiError> {
    let (org, member) = tokio::join!(deps.store.get_org_record(org_id), deps.store.get_member(org_id, &auth.user_id));
    member?.ok_or(ApiError::NotFound)?;
    // Deleted since: gone, as for anyone else.
    let Some(OrgRecord::Live(org)) = org? else { return Err(ApiError::NotFound) };
    let mut response = http::json(200, &OrganizationView::new(&org, &deps.config.plans, Timestamp::now()));
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
}
