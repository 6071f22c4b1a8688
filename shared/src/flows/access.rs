//! Who the caller is inside the organization their credential selects. A WorkOS token's role
//! comes from the stored membership, never from the token, so a removal or demotion counts on
//! the next request. A valid token whose membership is not stored yet is checked once against
//! WorkOS and stored (just-in-time provisioning): it takes a seat within the plan unless a
//! pending invitation held one, and a removed member's old membership does not bring them back.
//! An API key is read with the org item on every request (a revocation counts at once), acts
//! with an admin's reach within its scope, and is counted against its budget a minute.

use crate::clients::tokens::AuthContext;
use crate::clients::workos::{Membership, User};
use crate::domain::Role;
use crate::domain::access::NotMember;
use crate::domain::audit::{Actor, Origin};
use crate::error::ApiError;
use crate::store::{
    Along, Arrival, Found, MemberItem, NewMember, OrgItem, OrgRecord, Profile, Reader, UserProfileItem,
};
use crate::{Deps, Timestamp};

pub use super::not_members::{NOT_MEMBER_TTL, NotMemberCache};

pub use super::caller::{Caller, Principal};
pub use super::credential::{Call, Credential, unknown_key};

/// What a call resolves to: a caller admitted into a live organization, why a token's user is
/// no member, or the state of an organization whose deletion began, as read. The organization's
/// lifecycle is a value to match (`delete-org` continues a deletion from it), not an error to
/// catch; `api` turns the last two into the 403 `no_organization` a member route answers.
#[derive(Debug)]
pub enum Resolution {
    Admitted(Caller, Found),
    NotMember(NotMember),
    /// The organization's deletion began ([`OrgRecord::Deleting`]) or ended
    /// ([`OrgRecord::Deleted`]); `member`: the caller's membership, while still stored. (A key
    /// of such an organization is refused outright: it never continues a deletion.)
    OrgDeletion {
        auth: AuthContext,
        member: Option<MemberItem>,
        record: OrgRecord,
    },
}

impl Deps {
    /// Verifies a WorkOS token: who presents it, and the organization it selects (recorded on
    /// the request's span).
    pub async fn verify_token(&self, token: &str) -> Result<AuthContext, ApiError> {
        let context = self.tokens.verify(token).await?;
        let span = tracing::Span::current();
        span.record("user_id", context.user_id.as_str());
        if let Some(org_id) = &context.org_id {
            span.record("org_id", org_id.as_str());
        }
        Ok(context)
    }

    /// The one place a call becomes a caller: the credential verified, then the caller's
    /// membership (or key) and organization, with `along` (items of the caller's organization
    /// read in the same round trip as the membership and the org item: a read route's one
    /// DynamoDB request). An organization whose deletion began answers 403 `no_organization`
    /// before anything else. A member not stored yet is provisioned first, and the items are
    /// then read again.
    pub async fn resolve_caller(&self, call: &Call, along: &[Along<'_>]) -> Result<Resolution, ApiError> {
        match &call.credential {
            Credential::WorkosToken(token) => {
                let auth = self.verify_token(token).await?;
                self.resolve(auth, call.request_id.as_deref(), along).await
            }
            Credential::ApiKey(secret) => {
                let (caller, found) = self.resolve_key(secret, call, along).await?;
                Ok(Resolution::Admitted(caller, found))
            }
        }
    }

    /// What a verified credential's organization holds for its user, and `along` read in the same
    /// round trip; a member not stored yet is provisioned first (from WorkOS), and the items are
    /// then read again. An organization whose deletion began is answered without asking WorkOS.
    pub async fn resolve(
        &self,
        auth: AuthContext,
        request_id: Option<&str>,
        along: &[Along<'_>],
    ) -> Result<Resolution, ApiError> {
        let org_id = selected_org(&auth)?.to_owned();
        let found = self.store.read_along(&org_id, Reader::Member(&auth.user_id), along).await?;
        let member = found.member(&auth.user_id)?;
        match (member, found.org_record()?) {
            (Some(member), Some(OrgRecord::Live(org))) => {
                return Ok(admitted(member, org, found, request_id));
            }
            (member, Some(record @ (OrgRecord::Deleting(_) | OrgRecord::Deleted(_)))) => {
                return Ok(Resolution::OrgDeletion { auth, member, record });
            }
            // Not stored yet, or an organization made in WorkOS directly (stored with its first
            // member).
            _ => {}
        }
        if let Err(reason) = self.arrival(&org_id, &auth.user_id, request_id).await? {
            return Ok(Resolution::NotMember(reason));
        }
        let found = self.store.read_along(&org_id, Reader::Member(&auth.user_id), along).await?;
        match (found.member(&auth.user_id)?, found.org_record()?) {
            (Some(member), Some(OrgRecord::Live(org))) => Ok(admitted(member, org, found, request_id)),
            (member, Some(record @ (OrgRecord::Deleting(_) | OrgRecord::Deleted(_)))) => {
                Ok(Resolution::OrgDeletion { auth, member, record })
            }
            _ => Err(ApiError::upstream("the membership just stored could not be read")),
        }
    }

    /// A member of a live organization who is not stored: a refusal this function remembers, or
    /// provisioning from WorkOS.
    async fn arrival(
        &self,
        org_id: &str,
        user_id: &str,
        request_id: Option<&str>,
    ) -> Result<Result<MemberItem, NotMember>, ApiError> {
        if let Some(reason) = self.not_members.get(org_id, user_id) {
            return Ok(Err(reason));
        }
        // The member arrives as WorkOS has it: WorkOS is the actor, in this request.
        let origin = Origin::new(Actor::Workos, request_id);
        let provisioned = self.provision(org_id, user_id, &origin).await?;
        match &provisioned {
            Ok(_) => self.not_members.forget(org_id, user_id),
            Err(reason) => self.not_members.remember(org_id, user_id, reason.clone()),
        }
        Ok(provisioned)
    }

    async fn provision(
        &self,
        org_id: &str,
        user_id: &str,
        origin: &Origin,
    ) -> Result<Result<MemberItem, NotMember>, ApiError> {
        let Some(membership) = self.workos.active_membership(user_id, org_id).await? else {
            return Ok(Err(NotMember::Inactive));
        };
        let profile = self.profile(user_id).await?;
        self.store_membership(&membership, &profile, origin).await
    }

    /// Stores an active WorkOS membership that is not stored yet, with the organization (when
    /// it was made in WorkOS directly) and the invitation it came from (its seat and a client's
    /// customer pass to the member); without an invitation it takes a seat within the plan.
    /// Shared by just-in-time provisioning, the WorkOS sync and the webhook.
    pub async fn store_membership(
        &self,
        membership: &Membership,
        profile: &UserProfileItem,
        origin: &Origin,
    ) -> Result<Result<MemberItem, NotMember>, ApiError> {
        let (org_id, user_id) = (membership.organization_id.as_str(), membership.user_id.as_str());
        let Some(role) = Role::from_slug(&membership.role.slug) else {
            tracing::warn!(role = membership.role.slug, "membership has a role this application does not know");
            return Ok(Err(NotMember::UnknownRole));
        };
        // A concurrent change (the invitation revoked, the org stored by another request) makes
        // a read stale: read again, a few times.
        for _ in 0..3 {
            let (invitation, org) =
                tokio::join!(self.store.invitation_for(org_id, &profile.email), self.store.get_org_record(org_id));
            let invitation = invitation?;
            let customer_id = invitation.as_ref().filter(|_| role == Role::Client).and_then(|i| i.customer_id.clone());
            let now = Timestamp::now();
            // An organization made in WorkOS directly (not through POST /orgs) is stored on first use.
            let (new_org, limits) = match org? {
                Some(OrgRecord::Live(org)) => (None, org.entitlement(&self.config.plans, now).limits),
                Some(OrgRecord::Deleting(_) | OrgRecord::Deleted(_)) => return Ok(Err(NotMember::OrgGone)),
                None => {
                    let org = OrgItem::new(org_id, &self.workos.get_organization(org_id).await?.name, now);
                    (Some(org), self.config.plans.free.clone())
                }
            };
            let member = MemberItem::new(NewMember {
                org_id,
                user_id,
                role,
                customer_id,
                membership_id: &membership.id,
                profile,
                workos_updated_at: membership.updated_at,
                now,
            });
            match self.store.provision_member(&member, new_org.as_ref(), invitation.as_ref(), &limits, origin).await? {
                Arrival::Stored => {
                    tracing::info!(role = role.slug(), target_user = user_id, "member stored from WorkOS");
                    return Ok(Ok(member));
                }
                Arrival::Exists => {
                    if let Some(stored) = self.store.get_member(org_id, user_id).await? {
                        return Ok(Ok(stored));
                    }
                }
                Arrival::Removed => {
                    tracing::info!(target_user = user_id, "a removed membership does not bring its user back");
                    return Ok(Err(NotMember::Removed));
                }
                Arrival::PlanFull { resource, limit } => {
                    // For the admin: a member WorkOS has that this organization's plan cannot seat.
                    tracing::warn!(
                        role = role.slug(),
                        target_user = user_id,
                        resource,
                        limit,
                        "a WorkOS membership was not stored: the plan has no free seat"
                    );
                    return Ok(Err(NotMember::PlanFull { resource, limit }));
                }
                Arrival::OrgGone => return Ok(Err(NotMember::OrgGone)),
                Arrival::Changed => {}
            }
        }
        Err(ApiError::upstream("the membership kept changing while it was stored"))
    }

    /// A user's profile: stored, or fetched from WorkOS once and stored.
    pub async fn profile(&self, user_id: &str) -> Result<UserProfileItem, ApiError> {
        if let Some(profile) = self.store.get_profile(user_id).await? {
            return Ok(profile);
        }
        let profile = profile_of(&self.workos.get_user(user_id).await?);
        self.store.put_profile(&profile).await?;
        Ok(profile)
    }
}

/// A member's admitted call.
fn admitted(member: MemberItem, org: OrgItem, found: Found, request_id: Option<&str>) -> Resolution {
    let caller = Caller { principal: Principal::Member(member), org, request_id: request_id.map(str::to_owned) };
    Resolution::Admitted(caller, found)
}

/// The organization the token selects: the only source of a request's organization.
fn selected_org(auth: &AuthContext) -> Result<&str, ApiError> {
    auth.org_id.as_deref().ok_or_else(|| ApiError::NoOrganization("the token selects no organization".into()))
}

/// The profile item of a WorkOS user.
pub fn profile_of(user: &User) -> UserProfileItem {
    UserProfileItem::new(Profile {
        user_id: &user.id,
        email: &user.email,
        first_name: user.first_name.as_deref(),
        last_name: user.last_name.as_deref(),
        workos_updated_at: user.updated_at,
    })
}
