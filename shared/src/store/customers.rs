//! Customers and staff assignments.

use aws_sdk_dynamodb::types::{AttributeValue, Update};

use super::tx::{Condition, Tx};
use super::{
    AssignmentItem, CustomerItem, ListQuery, MemberItem, Page, Role, StaffAssignmentItem, Store, StoreError,
    UsageChange, from_item, key, keys, n, opt, s, sdk_error, to_item,
};
use crate::config::PlanLimits;

impl Store {
    /// A live customer (not one being deleted).
    pub async fn get_customer(&self, org_id: &str, customer_id: &str) -> Result<Option<CustomerItem>, StoreError> {
        let customer: Option<CustomerItem> = self.get(keys::org_pk(org_id), keys::customer_sk(customer_id)).await?;
        Ok(customer.filter(|c| !c.deleting))
    }

    /// Stores a new customer within the plan's `maxCustomers`.
    pub async fn create_customer(&self, customer: &CustomerItem, limits: &PlanLimits) -> Result<(), StoreError> {
        let change = UsageChange::customers(1).within(limits);
        let mut tx = self.tx();
        tx.put("customer", to_item(customer)?, Some(Condition::absent()))?;
        self.add_usage(&mut tx, &customer.org_id, &change)?;
        match self.commit(tx).await {
            Err(StoreError::Cancelled(failure)) if failure.is("usage") => {
                Err(self.usage_refusal(&customer.org_id, &change).await)
            }
            other => other,
        }
    }

    /// Writes the fields of `new` that differ from `old` (and `updatedAt`), if nobody changed
    /// the customer's fields since `old` was read. Only those fields: counts that other requests
    /// keep on the item (`clientCount`) are never written back from a stale read. Its name
    /// order is carried to its assignments, which keep each staff member's list in name order.
    pub async fn update_customer(&self, old: &CustomerItem, new: &CustomerItem) -> Result<(), StoreError> {
        let mut sets = vec!["updatedAt = :now"];
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(old.pk.clone(), old.sk.clone())))
            .expression_attribute_values(":now", s(new.updated_at.to_string()));
        if old.name != new.name {
            sets.push("#name = :name");
            sets.push("GSI1SK = :sort");
            request = request
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(&new.name))
                .expression_attribute_values(":sort", s(&new.gsi1sk));
        }
        for (field, placeholder, before, after) in [
            ("email", ":email", &old.email, &new.email),
            ("phone", ":phone", &old.phone, &new.phone),
            ("notes", ":notes", &old.notes, &new.notes),
        ] {
            if before != after {
                sets.push(match field {
                    "email" => "email = :email",
                    "phone" => "phone = :phone",
                    _ => "notes = :notes",
                });
                request = request.expression_attribute_values(placeholder, opt(after.as_deref()));
            }
        }
        let result = request
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression("updatedAt = :old AND deleting = :false")
            .expression_attribute_values(":old", s(old.updated_at.to_string()))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        if !super::condition_held(result.map_err(sdk_error))? {
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

    /// Last steps of a delete: the assignments (both sides), then the customer and its count
    /// in one transaction. Safe to run again after a failure at any point.
    pub async fn finish_customer_delete(&self, customer: &CustomerItem) -> Result<(), StoreError> {
        let assignments = self.assignments_of_customer(&customer.org_id, &customer.id).await?;
        let pairs = assignments.iter().map(|a| (a.customer_id.as_str(), a.user_id.as_str()));
        self.batch_delete(assignment_keys(&customer.org_id, pairs)).await?;
        let mut tx = self.tx();
        let deleting = Condition::new("deleting = :true").value(":true", AttributeValue::Bool(true));
        tx.delete("customer", key(customer.pk.clone(), customer.sk.clone()), Some(deleting))?;
        self.add_usage(&mut tx, &customer.org_id, &UsageChange::customers(-1))?;
        match self.commit(tx).await {
            // Deleted already by an earlier run.
            Err(StoreError::Cancelled(failure)) if failure.is("customer") => Ok(()),
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

    /// Assigns a staff member to a customer (both sides of the assignment). `Ok(true)` if new,
    /// `Ok(false)` if it was already; refused unless the user is a staff member and the customer
    /// live, when it lands.
    pub async fn assign(
        &self,
        customer: &CustomerItem,
        user_id: &str,
        now: crate::Timestamp,
    ) -> Result<bool, StoreError> {
        let assignment = AssignmentItem::new(customer, user_id, now);
        let staff_side = StaffAssignmentItem::new(&customer.org_id, &customer.id, user_id);
        let mut tx = self.tx();
        tx.put("assignment", to_item(&assignment)?, Some(Condition::absent()))?;
        tx.put("staff_side", to_item(&staff_side)?, None)?;
        let staff = Condition::new("#role = :staff").name("#role", "role").value(":staff", s(Role::Staff.slug()));
        tx.check("staff", key(keys::org_pk(&customer.org_id), keys::member_sk(user_id)), staff)?;
        let live = Condition::new("deleting = :false").value(":false", AttributeValue::Bool(false));
        tx.check("customer", key(customer.pk.clone(), customer.sk.clone()), live)?;
        match self.commit(tx).await {
            Ok(()) => Ok(true),
            Err(StoreError::Cancelled(failure)) if failure.is("staff") => {
                Err(StoreError::Changed("only a staff member of the organization can be assigned"))
            }
            Err(StoreError::Cancelled(failure)) if failure.is("customer") => {
                Err(StoreError::Changed("the customer is being deleted"))
            }
            Err(StoreError::Cancelled(failure)) if failure.is("assignment") => Ok(false),
            other => other.map(|()| true),
        }
    }

    /// Removes an assignment (both sides); `false` if there was none.
    pub async fn unassign(&self, org_id: &str, customer_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.tx();
        let assignment = key(keys::org_pk(org_id), keys::assignment_sk(customer_id, user_id));
        tx.delete("assignment", assignment, Some(Condition::present()))?;
        tx.delete("staff_side", key(keys::org_pk(org_id), keys::staff_assignment_sk(user_id, customer_id)), None)?;
        match self.commit(tx).await {
            Ok(()) => Ok(true),
            Err(StoreError::Cancelled(failure)) if failure.is("assignment") => Ok(false),
            Err(error) => Err(error),
        }
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

    /// Deletes every assignment of a staff member: when they are demoted or removed. Found
    /// through the staff member's side of each assignment, a strongly consistent base-table
    /// query, so an assignment written just before the demotion is not missed (GSI1 may not
    /// have it yet). Safe to run again; readers ignore assignments of non-staff meanwhile.
    pub async fn remove_assignments_of(&self, org_id: &str, user_id: &str) -> Result<(), StoreError> {
        let values = [(":pk", keys::org_pk(org_id)), (":prefix", keys::staff_assignment_prefix(user_id))];
        let sides: Vec<StaffAssignmentItem> =
            self.query_all("PK = :pk AND begins_with(SK, :prefix)", None, None, &values).await?;
        let pairs = sides.iter().map(|side| (side.customer_id.as_str(), side.user_id.as_str()));
        self.batch_delete(assignment_keys(org_id, pairs)).await
    }

    /// Moves a client from one customer's count to another's (either may be none). With
    /// `checked`, the customer taking the client must be live when the change lands.
    pub(super) fn client_links(
        &self,
        tx: &mut Tx,
        org_id: &str,
        from: Option<&str>,
        to: Option<&str>,
        checked: bool,
    ) -> Result<(), StoreError> {
        if from == to {
            return Ok(());
        }
        for (name, customer_id, delta) in [("client_from", from, -1), ("client_to", to, 1)] {
            let Some(customer_id) = customer_id else { continue };
            let mut update = Update::builder()
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
            tx.update(name, update)?;
        }
        Ok(())
    }
}

/// The keys of both sides of each `(customer, staff member)` assignment.
fn assignment_keys<'a>(org_id: &str, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<super::Item> {
    pairs
        .flat_map(|(customer_id, user_id)| {
            [
                key(keys::org_pk(org_id), keys::assignment_sk(customer_id, user_id)),
                key(keys::org_pk(org_id), keys::staff_assignment_sk(user_id, customer_id)),
            ]
        })
        .collect()
}
