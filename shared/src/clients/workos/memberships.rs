//! User management: organization memberships and invitations.

use reqwest::Method;
use serde::Serialize;

use super::{Invitation, Membership, MembershipFilter, WorkosClient, WorkosError, encode};

impl WorkosClient {
    /// Every membership matching the filter, all pages.
    pub async fn list_memberships(&self, filter: &MembershipFilter<'_>) -> Result<Vec<Membership>, WorkosError> {
        let statuses = filter.statuses.join(",");
        let mut query: Vec<(&str, &str)> = vec![("order", "asc")];
        if let Some(user_id) = filter.user_id {
            query.push(("user_id", user_id));
        }
        if let Some(org_id) = filter.organization_id {
            query.push(("organization_id", org_id));
        }
        if !statuses.is_empty() {
            query.push(("statuses", &statuses));
        }
        let all: Vec<Membership> = self.list_all("/user_management/organization_memberships", &query).await?;
        let wanted = |m: &Membership| filter.statuses.is_empty() || filter.statuses.contains(&m.status.as_str());
        Ok(all.into_iter().filter(wanted).collect())
    }

    /// The caller's active membership in an organization, if there is one.
    pub async fn active_membership(&self, user_id: &str, org_id: &str) -> Result<Option<Membership>, WorkosError> {
        let filter = MembershipFilter { user_id: Some(user_id), organization_id: Some(org_id), statuses: &["active"] };
        let memberships = self.list_memberships(&filter).await?;
        Ok(memberships.into_iter().find(|m| m.user_id == user_id && m.organization_id == org_id))
    }

    pub async fn create_membership(
        &self,
        user_id: &str,
        org_id: &str,
        role_slug: &str,
    ) -> Result<Membership, WorkosError> {
        #[derive(Serialize)]
        struct Body<'a> {
            user_id: &'a str,
            organization_id: &'a str,
            role_slug: &'a str,
        }
        let body = Body { user_id, organization_id: org_id, role_slug };
        self.call(Method::POST, "/user_management/organization_memberships", &[], Some(&body)).await
    }

    pub async fn set_membership_role(&self, membership_id: &str, role_slug: &str) -> Result<Membership, WorkosError> {
        #[derive(Serialize)]
        struct Body<'a> {
            role_slug: &'a str,
        }
        let path = format!("/user_management/organization_memberships/{}", encode(membership_id));
        self.call(Method::PUT, &path, &[], Some(&Body { role_slug })).await
    }

    /// Deletes a membership; one that is gone already counts as deleted.
    pub async fn delete_membership(&self, membership_id: &str) -> Result<(), WorkosError> {
        self.delete(&format!("/user_management/organization_memberships/{}", encode(membership_id))).await
    }

    pub async fn send_invitation(
        &self,
        email: &str,
        org_id: &str,
        role_slug: &str,
        inviter_user_id: &str,
    ) -> Result<Invitation, WorkosError> {
        #[derive(Serialize)]
        struct Body<'a> {
            email: &'a str,
            organization_id: &'a str,
            role_slug: &'a str,
            inviter_user_id: &'a str,
        }
        let body = Body { email, organization_id: org_id, role_slug, inviter_user_id };
        self.call(Method::POST, "/user_management/invitations", &[], Some(&body)).await
    }

    /// Every invitation of an address to an organization, in every state (WorkOS keeps the
    /// accepted, revoked and lapsed ones).
    pub async fn invitations_of(&self, email: &str, org_id: &str) -> Result<Vec<Invitation>, WorkosError> {
        let query = [("email", email), ("organization_id", org_id), ("order", "asc")];
        let all: Vec<Invitation> = self.list_all("/user_management/invitations", &query).await?;
        Ok(all.into_iter().filter(|i| i.email.eq_ignore_ascii_case(email)).collect())
    }

    /// An invitation as WorkOS has it now (its `state`: pending, accepted, revoked, expired).
    pub async fn get_invitation(&self, invitation_id: &str) -> Result<Invitation, WorkosError> {
        let path = format!("/user_management/invitations/{}", encode(invitation_id));
        self.call(Method::GET, &path, &[], None::<&()>).await
    }

    /// Revokes an invitation. One that is no longer pending (accepted, revoked, expired) or gone
    /// answers `Ok(false)`: there is nothing left to revoke.
    pub async fn revoke_invitation(&self, invitation_id: &str) -> Result<bool, WorkosError> {
        let path = format!("/user_management/invitations/{}/revoke", encode(invitation_id));
        match self.call::<serde::de::IgnoredAny, ()>(Method::POST, &path, &[], None).await {
            Ok(_) => Ok(true),
            Err(WorkosError::Status { status: 400 | 404, .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }
}
