//! `GET /me`: the caller, and the organization and role their token selects (any valid token);
//! for an API key, the key and its organization.

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use shared::api::caller;
use shared::api::http;
use shared::flows::access::{Call, Caller, Credential, Principal, Resolution};
use shared::{ApiError, Deps};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Me {
    user: UserView,
    organization: Option<OrgRef>,
    role: Option<&'static str>,
    customer_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserView {
    id: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Serialize)]
struct OrgRef {
    id: String,
    name: String,
}

/// `/me` of an API key: `{apiKey: {id, name, scope}, organization: {id, name}}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyMe {
    api_key: KeyRef,
    organization: OrgRef,
}

#[derive(Serialize)]
struct KeyRef {
    id: String,
    name: String,
    scope: &'static str,
}

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    // The request's credential, read once.
    let call = caller::call(req)?;
    let auth = match &call.credential {
        Credential::ApiKey(_) => return key_me(deps, &call).await,
        Credential::WorkosToken(token) => deps.verify_token(token).await?,
    };
    let user_id = auth.user_id.clone();
    // No organization selected, or not an active member of it: the user alone, with nulls.
    // An organization whose deletion began is no organization either.
    let membership = async {
        match auth.org_id {
            Some(_) => match deps.resolve(auth, call.request_id.as_deref(), &[]).await? {
                Resolution::Admitted(caller, _) => Ok(Some((caller.member()?.clone(), caller.org))),
                Resolution::NotMember(_) | Resolution::OrgDeletion { .. } => Ok(None),
            },
            None => Ok::<_, ApiError>(None),
        }
    };
    let (profile, member) = tokio::join!(deps.profile(&user_id), membership);
    let (profile, member) = (profile?, member?);
    let (member, organization) = member.map(|(member, org)| (member, OrgRef { id: org.id, name: org.name })).unzip();
    let me = Me {
        user: UserView {
            id: profile.user_id,
            email: profile.email,
            first_name: profile.first_name,
            last_name: profile.last_name,
        },
        role: member.as_ref().map(|m| m.role.slug()),
        customer_id: member.and_then(|m| m.customer_id),
        organization,
    };
    Ok(http::json(200, &me))
}

async fn key_me(deps: &Deps, call: &Call) -> Result<Response<Body>, ApiError> {
    match deps.resolve_caller(call, &[]).await? {
        Resolution::Admitted(Caller { principal: Principal::ApiKey(key), org, .. }, _) => {
            let me = KeyMe {
                api_key: KeyRef { id: key.id, name: key.name, scope: key.scope.slug() },
                organization: OrgRef { id: org.id, name: org.name },
            };
            Ok(http::json(200, &me))
        }
        _ => Err(ApiError::upstream("an API key resolved to no key")),
    }
}
