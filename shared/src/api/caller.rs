//! The HTTP side of "who is calling": the credential and the request id read from an API Gateway
//! request, handed to the one function that resolves a caller (`flows::access`,
//! [`Deps::resolve_caller`]). The handlers call these.

use lambda_http::Request;

use super::http;
use crate::Deps;
use crate::clients::tokens::AuthContext;
use crate::domain::Role;
use crate::domain::access::CUSTOMER_MANAGERS;
use crate::error::ApiError;
use crate::flows::access::{Call, Caller, Credential, Resolution};
use crate::flows::customers::{customer_reads, visible_in};
use crate::store::{Along, CustomerItem, Found};

/// The call a request makes: its `Authorization` credential (401 without one) and its id.
pub fn call(req: &Request) -> Result<Call, ApiError> {
    let header = match req.headers().get(lambda_http::http::header::AUTHORIZATION) {
        Some(value) => Some(
            value.to_str().map_err(|_| ApiError::Unauthenticated("the Authorization header is malformed".into()))?,
        ),
        None => None,
    };
    Ok(Call {
        credential: Credential::from_authorization(header)?,
        route: http::route_key(req),
        request_id: http::request_id(req),
    })
}

impl Deps {
    /// Verifies the request's WorkOS token (for routes that need no membership). An API key is
    /// resolved like on any route, so a bad one is 401, and a good one is 403: these routes are
    /// a person's.
    pub async fn authenticate(&self, req: &Request) -> Result<AuthContext, ApiError> {
        let call = call(req)?;
        match &call.credential {
            Credential::WorkosToken(token) => self.verify_token(token).await,
            Credential::ApiKey(_) => {
                self.resolve_caller(&call, &[]).await?;
                Err(ApiError::Forbidden("an API key may not call this route".into()))
            }
        }
    }

    /// The caller: their membership and organization, in one BatchGetItem.
    pub async fn caller(&self, req: &Request) -> Result<Caller, ApiError> {
        Ok(self.caller_with(req, &[]).await?.0)
    }

    /// The caller, and `along` read in the same round trip (see [`Deps::resolve_caller`]). Not a
    /// member, or an organization whose deletion began: 403 `no_organization`.
    pub async fn caller_with(&self, req: &Request, along: &[Along<'_>]) -> Result<(Caller, Found), ApiError> {
        match self.resolve_caller(&call(req)?, along).await? {
            Resolution::Admitted(caller, found) => Ok((caller, found)),
            Resolution::NotMember(reason) => Err(reason.refusal()),
            Resolution::OrgDeletion { .. } => Err(ApiError::OrganizationDeleted),
        }
    }

    /// The caller, for routes only admins may use.
    pub async fn admin(&self, req: &Request) -> Result<Caller, ApiError> {
        let caller = self.caller(req).await?;
        caller.require(&[Role::Admin])?;
        Ok(caller)
    }
}

/// The caller, and a customer they manage (may change, and see the staff of): any for an admin,
/// an assigned one for staff; read with the membership in one round trip. A client's own
/// customer is read-only to them (403); others stay 404, like a customer that does not exist.
pub async fn caller_managing(
    deps: &Deps,
    req: &Request,
    customer_id: &str,
) -> Result<(Caller, CustomerItem), ApiError> {
    let (caller, found) = deps.caller_with(req, &customer_reads(customer_id)).await?;
    let customer = visible_in(&caller, &found, customer_id)?;
    caller.require(CUSTOMER_MANAGERS)?;
    Ok((caller, customer))
}
