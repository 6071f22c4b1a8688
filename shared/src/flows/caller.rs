//! An admitted caller: a member or an API key of a live organization, as the routes see it
//! (`Deps::resolve_caller` in `access` makes one).

use crate::domain::Role;
use crate::domain::audit::{Actor, Origin};
use crate::domain::visibility::Viewer;
use crate::error::ApiError;
use crate::store::{ApiKeyItem, MemberItem, OrgItem};

/// Who acts in an admitted call.
#[derive(Debug, Clone)]
pub enum Principal {
    /// An active member, signed in with a WorkOS token.
    Member(MemberItem),
    /// One of the organization's API keys, within its scope.
    ApiKey(ApiKeyItem),
}

/// An authenticated caller of a live organization: a member, or an API key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The organization, read with the membership or key (so every request sees a deletion at once).
    pub org: OrgItem,
    /// API Gateway's id of the request, recorded with every audit entry it causes.
    pub request_id: Option<String>,
}

impl Caller {
    pub fn org_id(&self) -> &str {
        &self.org.id
    }

    /// The member's user id, or the key's id: who the records this request makes name as their
    /// maker (`createdBy`, the audit actor).
    pub fn actor_id(&self) -> &str {
        match &self.principal {
            Principal::Member(member) => &member.user_id,
            Principal::ApiKey(key) => &key.id,
        }
    }

    /// The membership of a caller who is a person; 403 for a key. For the handlers that need a
    /// person's id or address (a ticket, an invitation's sender, a checkout's e-mail): the scope
    /// table (`domain::api_keys`) keeps keys off those routes already; this refuses them again.
    pub fn member(&self) -> Result<&MemberItem, ApiError> {
        match &self.principal {
            Principal::Member(member) => Ok(member),
            Principal::ApiKey(_) => Err(ApiError::Forbidden("an API key may not do this".into())),
        }
    }

    /// A member's role; a key acts as an admin does, within the scope it was checked against.
    pub fn role(&self) -> Role {
        match &self.principal {
            Principal::Member(member) => member.role,
            Principal::ApiKey(_) => Role::Admin,
        }
    }

    /// Who the audit log says made the changes of this request.
    pub fn origin(&self) -> Origin {
        let actor = match &self.principal {
            Principal::Member(member) => Actor::user(&member.user_id),
            Principal::ApiKey(key) => Actor::ApiKey { id: key.id.clone() },
        };
        Origin::new(actor, self.request_id.as_deref())
    }

    /// The caller as the visibility rule sees them (`domain::visibility`).
    pub fn viewer(&self) -> Viewer<'_> {
        let customer_id = match &self.principal {
            Principal::Member(member) => member.customer_id.as_deref(),
            Principal::ApiKey(_) => None,
        };
        Viewer { user_id: self.actor_id(), role: self.role(), customer_id }
    }

    /// Refuses with 403 `forbidden` unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        self.role().require(roles)
    }
}
