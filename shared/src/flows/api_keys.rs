//! An API key's call (API.md "API keys"): the other credential `Deps::resolve_caller` admits.

use super::access::{Call, Caller, Principal, unknown_key};
use crate::domain::api_keys::{self, KeySecret, Window};
use crate::error::ApiError;
use crate::store::{Along, Found, KeyUse, OrgRecord, Reader};
use crate::{Deps, Timestamp};

impl Deps {
    /// An API key's call: the key and the org item read together (strongly consistent, so a
    /// revocation counts on the next request), the secret checked against the stored digest,
    /// the expiry, the route against the key's scope, then the request counted against the
    /// key's budget of the minute. `lastUsedAt` is written when it is behind the current minute:
    /// once a minute at most.
    pub(super) async fn resolve_key(
        &self,
        secret: &KeySecret,
        call: &Call,
        along: &[Along<'_>],
    ) -> Result<(Caller, Found), ApiError> {
        let now = Timestamp::now();
        let found = self.store.read_along(secret.org_id(), Reader::ApiKey(secret.key_id()), along).await?;
        let key = found
            .api_key(secret.key_id())?
            .filter(|key| secret.matches(&key.digest) && api_keys::is_live(key.valid_until, now))
            .ok_or_else(unknown_key)?;
        let span = tracing::Span::current();
        span.record("org_id", key.org_id.as_str());
        span.record("api_key_id", key.id.as_str());
        let org = match found.org_record()? {
            Some(OrgRecord::Live(org)) => org,
            Some(OrgRecord::Deleting(_) | OrgRecord::Deleted(_)) => return Err(ApiError::OrganizationDeleted),
            None => return Err(unknown_key()),
        };
        match call.route.as_deref().and_then(api_keys::scope_needed) {
            Some(needed) if key.scope.covers(needed) => {}
            Some(_) => return Err(ApiError::Forbidden("a read key may not change anything".into())),
            None => return Err(ApiError::Forbidden("an API key may not call this route".into())),
        }
        let window = Window::of(now);
        let budget = self.config.api_key_requests_per_minute;
        if self.store.count_key_use(&key, window, budget).await? == KeyUse::Exhausted {
            return Err(ApiError::RateLimited { limit: budget, retry_after: window.seconds_left });
        }
        // Bookkeeping, not a decision: a failure to note the use must not fail the request.
        if api_keys::last_use_due(key.last_used_at, now) {
            if let Err(error) = self.store.note_key_use(&key, window.start()).await {
                tracing::warn!(error = %crate::error::chain(&error), "the API key's lastUsedAt was not written");
            }
        }
        let caller = Caller { principal: Principal::ApiKey(key), org, request_id: call.request_id.clone() };
        Ok((caller, found))
    }
}
