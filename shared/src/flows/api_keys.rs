//! An API key's call (API.md "API keys"): the other credential `Deps::resolve_caller` admits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
        let spent = ApiError::RateLimited { limit: budget, retry_after: window.seconds_left };
        // A minute's budget spent stays spent: this instance answers the rest of the minute
        // without the write (a refused conditional write is billed too).
        if self.spent_keys.spent(&key.id, window.minute) {
            return Err(spent);
        }
        if self.store.count_key_use(&key, window, budget).await? == KeyUse::Exhausted {
            self.spent_keys.remember(&key.id, window.minute);
            return Err(spent);
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

/// The keys a warm function found past their budget, by the minute it was spent in. Exact: a
/// spent minute never has budget again, so answering from here changes no answer, only saves the
/// refused write of every further request that minute.
#[derive(Clone, Default)]
pub(super) struct SpentKeys(Arc<Mutex<HashMap<String, i64>>>);

impl SpentKeys {
    fn spent(&self, key_id: &str, minute: i64) -> bool {
        self.0.lock().is_ok_and(|spent| spent.get(key_id) == Some(&minute))
    }

    fn remember(&self, key_id: &str, minute: i64) {
        let Ok(mut spent) = self.0.lock() else { return };
        // Only this minute's entries can answer; the older ones go.
        spent.retain(|_, at| *at >= minute);
        spent.insert(key_id.to_owned(), minute);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_minute_is_remembered_until_the_next() {
        let spent = SpentKeys::default();
        assert!(!spent.spent("key_1", 10));
        spent.remember("key_1", 10);
        assert!(spent.spent("key_1", 10) && !spent.spent("key_2", 10) && !spent.spent("key_1", 11));
        spent.remember("key_2", 11);
        assert!(!spent.spent("key_1", 10), "an older minute is forgotten");
    }
}
