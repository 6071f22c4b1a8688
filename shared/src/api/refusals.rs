//! What a client is told when the store refuses: the one place a store outcome becomes an HTTP
//! answer (`ApiError` and its status). Below `api`, an organization whose deletion began is a
//! value ([`crate::store::OrgWrite`], [`crate::flows::access::Resolution`]); a request path that
//! meets it is refused here, as 403 `no_organization`.

use crate::error::ApiError;
use crate::store::StoreError;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::LastAdmin => ApiError::LastAdmin,
            StoreError::LimitReached { resource, limit, usage } => {
                ApiError::PlanLimitReached { resource, limit, usage }
            }
            StoreError::Changed(what) => ApiError::Conflict(what.to_owned()),
            // A condition no caller explained: the items changed under the request.
            StoreError::Cancelled(_) | StoreError::ConditionFailed => {
                ApiError::Conflict("the data changed meanwhile; retry".to_owned())
            }
            StoreError::InvalidCursor => ApiError::InvalidCursor,
            StoreError::OrgDeleted => ApiError::OrganizationDeleted,
            StoreError::NoCursorKey => ApiError::Misconfigured(Box::new(error)),
            other => ApiError::Upstream(Box::new(other)),
        }
    }
}
