//! `GET /users/{userId}`: one member. Admins and staff see any member; a client only
//! themselves (anyone else is 404, as for a user of another organization).

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::views::MemberView;
use shared::domain::visibility::{Subject, may_see};
use shared::store::Along;
use shared::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let user_id = http::path_param(req, "userId")?;
    let (caller, found) = deps.caller_with(req, &[Along::Member(&user_id)]).await?;
    if !may_see(&caller.viewer(), &Subject::Member { user_id: &user_id }) {
        return Err(ApiError::NotFound);
    }
    let member = found.member(&user_id)?.ok_or(ApiError::NotFound)?;
    Ok(http::json(200, &MemberView::from(member)))
}
