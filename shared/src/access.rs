//! Who the caller is inside the organization their token selects. The role comes from the
//! stored membership, never from the token, so a removal or demotion counts on the next request.
//! A valid token whose membership is not stored yet is checked once against WorkOS and stored
//! (just-in-time provisioning).

use lambda_http::Request;

use crate::auth::AuthContext;
use crate::error::ApiError;
use crate::store::{MemberItem, NewMember, OrgItem, Role, UserProfileItem};
use crate::workos::Membership;
use crate::{Deps, now_rfc3339};

/// An authenticated, active member of the organization the token selects.
#[derive(Debug, Clone)]
pub struct Caller {
    pub auth: AuthContext,
    pub member: MemberItem,
}

impl Caller {
    pub fn org_id(&self) -> &str {
        &self.member.org_id
    }

    pub fn user_id(&self) -> &str {
        &self.member.user_id
    }

    pub fn role(&self) -> Role {
        self.member.role
    }

    /// Refuses with 403 `forbidden` unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.member.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("the {} role may not do this", self.member.role.slug())))
        }
    }
}

impl Deps {
    /// Authenticates the request and resolves the caller's membership.
    pub async fn caller(&self, req: &Request) -> Result<Caller, ApiError> {
        let auth = self.tokens.authenticate(req).await?;
        let member = self.membership(&auth).await?.ok_or_else(|| {
            ApiError::NoOrganization("you are not an active member of the selected organization".into())
        })?;
        Ok(Caller { auth, member })
    }

    /// Like [`caller`](Self::caller), for routes only admins may use.
    pub async fn admin(&self, req: &Request) -> Result<Caller, ApiError> {
        let caller = self.caller(req).await?;
        caller.require(&[Role::Admin])?;
        Ok(caller)
    }

    /// The caller's stored membership in the token's organization, provisioning it from WorkOS
    /// when it is not stored yet. `Ok(None)`: no organization selected, or not an active member.
    pub async fn membership(&self, auth: &AuthContext) -> Result<Option<MemberItem>, ApiError> {
        let Some(org_id) = auth.org_id.as_deref() else {
            return Err(ApiError::NoOrganization("the token selects no organization".into()));
        };
        if let Some(member) = self.store.get_member(org_id, &auth.user_id).await? {
            return Ok(Some(member));
        }
        self.provision(org_id, &auth.user_id).await
    }

    async fn provision(&self, org_id: &str, user_id: &str) -> Result<Option<MemberItem>, ApiError> {
        let Some(membership) = self.workos.active_membership(user_id, org_id).await? else {
            return Ok(None);
        };
        let profile = self.profile(user_id).await?;
        self.store_membership(&membership, &profile).await
    }

    /// Stores an active WorkOS membership that is not stored yet, with the organization (when
    /// it was made in WorkOS directly) and the invitation it came from (its seat and a client's
    /// customer pass to the member). `Ok(None)` for a role this application does not know.
    /// Shared by just-in-time provisioning and the WorkOS sync.
    pub async fn store_membership(
        &self,
        membership: &Membership,
        profile: &UserProfileItem,
    ) -> Result<Option<MemberItem>, ApiError> {
        let (org_id, user_id) = (membership.organization_id.as_str(), membership.user_id.as_str());
        let Some(role) = Role::from_slug(&membership.role.slug) else {
            tracing::warn!(role = membership.role.slug, "membership has a role this application does not know");
            return Ok(None);
        };
        let (invitation, org) =
            tokio::join!(self.store.invitation_for(org_id, &profile.email), self.store.get_org(org_id));
        let invitation = invitation?;
        let customer_id = invitation.as_ref().filter(|_| role == Role::Client).and_then(|i| i.customer_id.clone());
        let now = now_rfc3339();
        // An organization made in WorkOS directly (not through POST /orgs) is stored on first use.
        let new_org = match org? {
            Some(_) => None,
            None => Some(OrgItem::new(org_id, &self.workos.get_organization(org_id).await?.name, &now)),
        };
        let member = MemberItem::new(NewMember {
            org_id,
            user_id,
            role,
            customer_id,
            membership_id: &membership.id,
            profile,
            workos_updated_at: &membership.updated_at,
            now: &now,
        });
        if self.store.provision_member(&member, new_org.as_ref(), invitation.as_ref()).await? {
            tracing::info!(role = role.slug(), target_user = user_id, "member stored from WorkOS");
            return Ok(Some(member));
        }
        // A concurrent request stored the member (or the org) first: read what won.
        match self.store.get_member(org_id, user_id).await? {
            Some(member) => Ok(Some(member)),
            None => match self.store.provision_member(&member, None, None).await? {
                true => Ok(Some(member)),
                false => Ok(self.store.get_member(org_id, user_id).await?),
            },
        }
    }

    /// A user's profile: stored, or fetched from WorkOS once and stored.
    pub async fn profile(&self, user_id: &str) -> Result<UserProfileItem, ApiError> {
        if let Some(profile) = self.store.get_profile(user_id).await? {
            return Ok(profile);
        }
        let profile = UserProfileItem::new(&self.workos.get_user(user_id).await?);
        self.store.put_profile(&profile).await?;
        Ok(profile)
    }
}
