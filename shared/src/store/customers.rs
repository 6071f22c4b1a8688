//! Customers and staff assignments.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};

use super::{
    AssignmentItem, CustomerItem, ListQuery, MemberItem, Page, Role, Store, StoreError, UsageChange, from_item, key,
    keys, n, s, sdk_error, to_item,
};
use crate::config::PlanLimits;

fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// A live customer (not one being deleted).
    pub async fn get_customer(&self, org_id: &str, customer_id: &str) -> Result<Option<CustomerItem>, StoreError> {
        let customer: Option<CustomerItem> = self.get(keys::org_pk(org_id), keys::customer_sk(customer_id)).await?;
        Ok(customer.filter(|c| !c.deleting))
    }

    /// Stores a new customer within the plan's `maxCustomers`.
    pub async fn create_customer(&self, customer: &CustomerItem, limits: &PlanLimits) -> Result<(), StoreError> {
        let change = UsageChange::customers(1).within(limits);
        let mut actions = vec![self.put_action(to_item(customer)?, Some("attribute_not_exists(PK)"))?];
        actions.extend(self.usage_action(&customer.org_id, &change)?);
        match self.transact(actions).await {
            Err(StoreError::TransactionCanceled(reasons))
                if reasons.get(1).is_some_and(|r| r == "ConditionalCheckFailed") =>
            {
                Err(self.usage_refusal(&customer.org_id, &change).await)
            }
            other => other,
        }
    }

    /// Replaces a customer's fields, if nobody changed it since `old` was read; its name order
    /// is carried to its assignments, which keep each staff member's list in name order.
    pub async fn update_customer(&self, old: &CustomerItem, new: &CustomerItem) -> Result<(), StoreError> {
        let values = vec![(":old", s(&old.updated_at)), (":false", AttributeValue::Bool(false))];
        if !self.put_if(to_item(new)?, "updatedAt = :old AND deleting = :false", values).await? {
            return Err(StoreError::Changed("the customer changed meanwhile; retry"));
        }
        self.reorder_assignments(new).await
    }

    /// Carries a customer's name order onto its assignments that lack it (after a rename, or a
    /// retry of one that stopped half way); writes nothing when all have it.
    pub async fn reorder_assignments(&self, customer: &CustomerItem) -> Result<(), StoreError> {
        for assignment in self.assignments_of_customer(&customer.org_id, &customer.id).await? {
            if assignment.gsi1sk == customer.gsi1sk {
                continue;
            }
            // An assignment removed meanwhile needs no order.
            let item_key = key(assignment.pk, assignment.sk);
            self.update_existing(item_key, "SET GSI1SK = :sort", vec![(":sort", s(&customer.gsi1sk))]).await?;
        }
        Ok(())
    }

    /// First step of a delete: marks the customer deleted for every reader, unless client users
    /// (or pending client invitations) still belong to it. Answers the customer, or `None`.
    pub async fn begin_customer_delete(
        &self,
        org_id: &str,
        customer_id: &str,
    ) -> Result<Option<CustomerItem>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org_pk(org_id), keys::customer_sk(customer_id))))
            .update_expression("SET deleting = :true")
            .condition_expression("attribute_exists(PK) AND (attribute_not_exists(clientCount) OR clientCount = :zero)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":zero", n(0))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(sdk_error);
        match result {
            Ok(output) => output.attributes.map(from_item).transpose(),
            Err(StoreError::ConditionFailed) => {
                let stored: Option<CustomerItem> =
                    self.get(keys::org_pk(org_id), keys::customer_sk(customer_id)).await?;
                match stored {
                    None => Ok(None),
                    Some(_) => Err(StoreError::Changed("client users still belong to this customer")),
                }
            }
            Err(error) => Err(error),
        }
    }

    /// Last steps of a delete: the assignments, then the customer and its count in one
    /// transaction. Safe to run again after a failure at any point.
    pub async fn finish_customer_delete(&self, customer: &CustomerItem) -> Result<(), StoreError> {
        let assignments = self.assignments_of_customer(&customer.org_id, &customer.id).await?;
        let assignment_keys = assignments.iter().map(|a| key(a.pk.clone(), a.sk.clone())).collect();
        self.batch_delete(assignment_keys).await?;
        let mut actions = vec![self.delete_action(&customer.pk, &customer.sk, Some("deleting = :true"))?];
        if let Some(delete) = actions[0].delete.as_mut() {
            delete.expression_attribute_values = Some([(":true".to_owned(), AttributeValue::Bool(true))].into());
        }
        actions.extend(self.usage_action(&customer.org_id, &UsageChange::customers(-1))?);
        match self.transact(actions).await {
            // Deleted already by an earlier run.
            Err(StoreError::TransactionCanceled(reasons))
                if reasons.first().is_some_and(|r| r == "ConditionalCheckFailed") =>
            {
                Ok(())
            }
            other => other,
        }
    }

    /// Every live customer of the organization, by name.
    pub async fn list_customers(
        &self,
        org_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<CustomerItem>, StoreError> {
        let mut query = ListQuery::gsi1(org_id, "customers", keys::customers_gsi1pk(org_id));
        query.filter = Some("deleting = :false");
        query.values.push((":false", AttributeValue::Bool(false)));
        self.list(query, limit, cursor).await
    }

    /// The live customers a staff member is assigned to, by name: their assignments from GSI1,
    /// joined to the customers with one BatchGetItem.
    pub async fn list_staff_customers(
        &self,
        org_id: &str,
        user_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<CustomerItem>, StoreError> {
        let list = format!("staff-customers#{user_id}");
        let query = ListQuery::gsi1(org_id, &list, keys::staff_gsi1pk(org_id, user_id));
        let page: Page<AssignmentItem> = self.list(query, limit, cursor).await?;
        let wanted = page.items.iter().map(|a| key(keys::org_pk(org_id), keys::customer_sk(&a.customer_id))).collect();
        let customers: Vec<CustomerItem> = self.join(wanted).await?;
        Ok(Page { items: customers.into_iter().filter(|c| !c.deleting).collect(), next_cursor: page.next_cursor })
    }

    pub async fn get_assignment(
        &self,
        org_id: &str,
        customer_id: &str,
        user_id: &str,
    ) -> Result<Option<AssignmentItem>, StoreError> {
        self.get(keys::org_pk(org_id), keys::assignment_sk(customer_id, user_id)).await
    }

    /// Assigns a staff member to a customer. `Ok(true)` if new, `Ok(false)` if it was already;
    /// refused unless the user is a staff member and the customer live, when it lands.
    pub async fn assign(&self, customer: &CustomerItem, user_id: &str, now: &str) -> Result<bool, StoreError> {
        let assignment = AssignmentItem::new(customer, user_id, now);
        let staff_check = built(
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::org_pk(&customer.org_id), keys::member_sk(user_id))))
                .condition_expression("#role = :staff")
                .expression_attribute_names("#role", "role")
                .expression_attribute_values(":staff", s(Role::Staff.slug()))
                .build(),
        )?;
        let customer_check = built(
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(customer.pk.clone(), customer.sk.clone())))
                .condition_expression("deleting = :false")
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .build(),
        )?;
        let actions = vec![
            self.put_action(to_item(&assignment)?, Some("attribute_not_exists(PK)"))?,
            TransactWriteItem::builder().condition_check(staff_check).build(),
            TransactWriteItem::builder().condition_check(customer_check).build(),
        ];
        match self.transact(actions).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCanceled(reasons)) => {
                let failed = |i: usize| reasons.get(i).is_some_and(|r| r == "ConditionalCheckFailed");
                if failed(1) {
                    Err(StoreError::Changed("only a staff member of the organization can be assigned"))
                } else if failed(2) {
                    Err(StoreError::Changed("the customer is being deleted"))
                } else if failed(0) {
                    Ok(false)
                } else {
                    Err(StoreError::TransactionCanceled(reasons))
                }
            }
            Err(error) => Err(error),
        }
    }

    /// Removes an assignment; `false` if there was none.
    pub async fn unassign(&self, org_id: &str, customer_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let item_key = key(keys::org_pk(org_id), keys::assignment_sk(customer_id, user_id));
        self.delete_if(item_key, Some("attribute_exists(PK)"), vec![], vec![]).await
    }

    /// The staff members assigned to a customer, by user id: the assignments, joined to the
    /// members with one BatchGetItem. Members no longer staff are left out.
    pub async fn list_customer_staff(
        &self,
        org_id: &str,
        customer_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<MemberItem>, StoreError> {
        let list = format!("customer-staff#{customer_id}");
        let query = ListQuery::prefixed(org_id, &list, keys::assignment_prefix(customer_id));
        let page: Page<AssignmentItem> = self.list(query, limit, cursor).await?;
        let wanted = page.items.iter().map(|a| key(keys::org_pk(org_id), keys::member_sk(&a.user_id))).collect();
        let members: Vec<MemberItem> = self.join(wanted).await?;
        Ok(Page {
            items: members.into_iter().filter(|m| m.role == Role::Staff).collect(),
            next_cursor: page.next_cursor,
        })
    }

    async fn assignments_of_customer(
        &self,
        org_id: &str,
        customer_id: &str,
    ) -> Result<Vec<AssignmentItem>, StoreError> {
        let values = [(":pk", keys::org_pk(org_id)), (":prefix", keys::assignment_prefix(customer_id))];
        self.query_all("PK = :pk AND begins_with(SK, :prefix)", None, None, &values).await
    }

    /// Deletes every assignment of a staff member: when they are demoted or removed. Safe to
    /// run again; readers ignore assignments of members who are not staff meanwhile.
    pub async fn remove_assignments_of(&self, org_id: &str, user_id: &str) -> Result<(), StoreError> {
        let values = [(":pk", keys::staff_gsi1pk(org_id, user_id))];
        let assignments: Vec<AssignmentItem> = self.query_all("GSI1PK = :pk", Some("GSI1"), None, &values).await?;
        self.batch_delete(assignments.into_iter().map(|a| key(a.pk, a.sk)).collect()).await
    }

    /// Moves a client from one customer's count to another's (either may be none). With
    /// `checked`, the customer taking the client must be live when the change lands.
    pub(super) fn client_links(
        &self,
        org_id: &str,
        from: Option<&str>,
        to: Option<&str>,
        checked: bool,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        if from == to {
            return Ok(Vec::new());
        }
        let mut actions = Vec::new();
        for (customer_id, delta) in [(from, -1), (to, 1)] {
            let Some(customer_id) = customer_id else { continue };
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::org_pk(org_id), keys::customer_sk(customer_id))))
                .update_expression("ADD clientCount :delta")
                .expression_attribute_values(":delta", n(delta));
            update = if delta > 0 && checked {
                update
                    .condition_expression("deleting = :false")
                    .expression_attribute_values(":false", AttributeValue::Bool(false))
            } else {
                update.condition_expression("attribute_exists(PK)")
            };
            actions.push(TransactWriteItem::builder().update(built(update.build())?).build());
        }
        Ok(actions)
    }
}
