//! The refusals a warm function remembers: a removed user's still-valid token should not cost a
//! WorkOS call on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::access::NotMember;

/// How long a warm function remembers that a token's user is not a member, so a removed user's
/// still-valid token does not cost a WorkOS call on every request. A user added in WorkOS meanwhile
/// waits at most this long (on this warm instance) to be let in.
pub const NOT_MEMBER_TTL: Duration = Duration::from_secs(30);
/// At most this many remembered refusals; past it the oldest are forgotten first.
const NOT_MEMBER_CAPACITY: usize = 4096;

/// The refusals remembered by a warm function (see [`NOT_MEMBER_TTL`]).
#[derive(Clone, Default)]
pub struct NotMemberCache(Arc<Mutex<Refusals>>);

/// When each `(org, user)` was refused, and why.
type Refusals = HashMap<(String, String), (Instant, NotMember)>;

impl NotMemberCache {
    pub(super) fn get(&self, org_id: &str, user_id: &str) -> Option<NotMember> {
        let cache = self.0.lock().ok()?;
        let (at, reason) = cache.get(&(org_id.to_owned(), user_id.to_owned()))?;
        (at.elapsed() < NOT_MEMBER_TTL).then(|| reason.clone())
    }

    pub(super) fn remember(&self, org_id: &str, user_id: &str, reason: NotMember) {
        let Ok(mut cache) = self.0.lock() else { return };
        if cache.len() >= NOT_MEMBER_CAPACITY {
            cache.retain(|_, (at, _)| at.elapsed() < NOT_MEMBER_TTL);
            if cache.len() >= NOT_MEMBER_CAPACITY {
                cache.clear();
            }
        }
        cache.insert((org_id.to_owned(), user_id.to_owned()), (Instant::now(), reason));
    }

    /// Forgets a refusal (the user became a member through this instance).
    pub(super) fn forget(&self, org_id: &str, user_id: &str) {
        if let Ok(mut cache) = self.0.lock() {
            cache.remove(&(org_id.to_owned(), user_id.to_owned()));
        }
    }
}
