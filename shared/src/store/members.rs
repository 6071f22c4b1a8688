//! Members: listing, role changes and removals, each one transaction with the usage counters.

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem};

use super::{
    InvitationItem, InviteeItem, ListQuery, MemberItem, OrgItem, Page, Role, Store, StoreError, UsageChange, key, keys,
    s, to_item,
};

fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    pub(super) fn put_action(
        &self,
        item: super::Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .set_condition_expression(condition.map(str::to_owned))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(super) fn delete_action(
        &self,
        pk: &str,
        sk: &str,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = built(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk.to_owned(), sk.to_owned())))
                .set_condition_expression(condition.map(str::to_owned))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    pub(super) fn usage_action(
        &self,
        org_id: &str,
        change: &UsageChange,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        if change.is_empty() {
            return Ok(None);
        }
        Ok(Some(TransactWriteItem::builder().update(self.usage_update(org_id, change)?).build()))
    }

    /// A check, inside a transaction, that the acting admin still is one.
    fn still_admin(&self, org_id: &str, user_id: &str) -> Result<TransactWriteItem, StoreError> {
        let check = built(
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::org_pk(org_id), keys::member_sk(user_id))))
                .condition_expression("#role = :admin")
                .expression_attribute_names("#role", "role")
                .expression_attribute_values(":admin", s(Role::Admin.slug()))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Runs a transaction whose action `usage_index` changes usage: a failed condition there is
    /// explained (limit, last admin); elsewhere it means the items changed meanwhile.
    async fn transact_with_usage(
        &self,
        org_id: &str,
        actions: Vec<TransactWriteItem>,
        usage_index: Option<usize>,
        change: &UsageChange,
        changed: &'static str,
    ) -> Result<(), StoreError> {
        match self.transact(actions).await {
            Err(StoreError::TransactionCanceled(reasons)) => {
                let failed = |i: usize| reasons.get(i).is_some_and(|r| r == "ConditionalCheckFailed");
                match usage_index {
                    Some(i) if failed(i) => Err(self.usage_refusal(org_id, change).await),
                    _ => Err(StoreError::Changed(changed)),
                }
            }
            other => other,
        }
    }

    /// Members of an organization, by user id, optionally of one role.
    pub async fn list_members(
        &self,
        org_id: &str,
        role: Option<Role>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<MemberItem>, StoreError> {
        let mut query = ListQuery::prefixed(org_id, "members", keys::MEMBER_PREFIX.to_owned());
        if let Some(role) = role {
            query.list = role.slug();
            query.filter = Some("#role = :role");
            query.names.push(("#role", "role"));
            query.values.push((":role", s(role.slug())));
        }
        self.list(query, limit, cursor).await
    }

    /// Stores a member that WorkOS already has (just-in-time provisioning) and counts its seat,
    /// unchecked: WorkOS holds the membership already. `new_org` is created when not stored yet;
    /// `invitation`, the one this member accepted, is consumed and its seat handed over. Answers
    /// false if the member was stored already (a concurrent request provisioned it first).
    pub async fn provision_member(
        &self,
        member: &MemberItem,
        new_org: Option<&OrgItem>,
        invitation: Option<&InvitationItem>,
    ) -> Result<bool, StoreError> {
        let mut change = UsageChange::seat(member.role, 1);
        let mut actions = vec![self.put_action(to_item(member)?, Some("attribute_not_exists(PK)"))?];
        if let Some(invitation) = invitation {
            change = UsageChange::invitation_seat(invitation.role, -1).plus(&change);
            actions.push(self.delete_action(&invitation.pk, &invitation.sk, Some("attribute_exists(PK)"))?);
            let invitee = InviteeItem::of(invitation);
            actions.push(self.delete_action(&invitee.pk, &invitee.sk, None)?);
        }
        let from = invitation.and_then(|i| i.customer_id.as_deref());
        actions.extend(self.client_links(&member.org_id, from, member.customer_id.as_deref(), false)?);
        match new_org {
            Some(org) => {
                let mut org = org.clone();
                org.usage_mut().add(member.role, 1);
                actions.push(self.put_action(to_item(&org)?, Some("attribute_not_exists(PK)"))?);
            }
            None => actions.extend(self.usage_action(&member.org_id, &change)?),
        }
        match self.transact(actions).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCanceled(reasons)) if reasons.iter().any(|r| r == "ConditionalCheckFailed") => {
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    /// Replaces a member's role and customer, moving its seat within the plan's limits and
    /// keeping an admin. `acting_admin` must still be an admin when the change lands.
    pub async fn change_member(
        &self,
        old: &MemberItem,
        new: &MemberItem,
        change: &UsageChange,
        acting_admin: &str,
    ) -> Result<(), StoreError> {
        let mut actions = Vec::new();
        let mut put = self.put_action(to_item(new)?, Some("#role = :old_role AND updatedAt = :old_updated"))?;
        if let Some(p) = put.put.as_mut() {
            p.expression_attribute_names = Some([("#role".to_owned(), "role".to_owned())].into());
            p.expression_attribute_values = Some(
                [(":old_role".to_owned(), s(old.role.slug())), (":old_updated".to_owned(), s(&old.updated_at))].into(),
            );
        }
        actions.push(put);
        let usage_index = self.usage_action(&old.org_id, change)?.map(|action| {
            actions.push(action);
            actions.len() - 1
        });
        if acting_admin != old.user_id {
            actions.push(self.still_admin(&old.org_id, acting_admin)?);
        }
        actions.extend(self.client_links(&old.org_id, old.customer_id.as_deref(), new.customer_id.as_deref(), true)?);
        self.transact_with_usage(
            &old.org_id,
            actions,
            usage_index,
            change,
            "the member or its customer changed meanwhile; retry",
        )
        .await
    }

    /// Deletes a member and gives its seat back, keeping an admin.
    pub async fn remove_member(&self, member: &MemberItem, acting_admin: &str) -> Result<(), StoreError> {
        let change = UsageChange::seat(member.role, -1).keeping_an_admin();
        let mut delete = self.delete_action(&member.pk, &member.sk, Some("updatedAt = :old_updated"))?;
        if let Some(d) = delete.delete.as_mut() {
            d.expression_attribute_values = Some([(":old_updated".to_owned(), s(&member.updated_at))].into());
        }
        let mut actions = vec![delete];
        let usage_index = self.usage_action(&member.org_id, &change)?.map(|action| {
            actions.push(action);
            actions.len() - 1
        });
        if acting_admin != member.user_id {
            actions.push(self.still_admin(&member.org_id, acting_admin)?);
        }
        actions.extend(self.client_links(&member.org_id, member.customer_id.as_deref(), None, false)?);
        self.transact_with_usage(&member.org_id, actions, usage_index, &change, "the member changed meanwhile; retry")
            .await
    }

    /// Puts a member back as it was before a change to `changed` (`None`: its removal) and
    /// undoes `change`: the compensation when WorkOS refused a change that was stored first.
    pub async fn restore_member(
        &self,
        member: &MemberItem,
        changed: Option<&MemberItem>,
        change: &UsageChange,
    ) -> Result<(), StoreError> {
        let mut actions = vec![self.put_action(to_item(member)?, None)?];
        actions.extend(self.usage_action(&member.org_id, &change.undo())?);
        let from = changed.and_then(|m| m.customer_id.as_deref());
        actions.extend(self.client_links(&member.org_id, from, member.customer_id.as_deref(), false)?);
        self.transact(actions).await
    }
}
