//! Customers (client companies): `ORG#o` / `CUSTOMER#c`, in GSI1 `ORG#o#CUSTOMERS` by name.

use super::tx::Commit;
use aws_sdk_dynamodb::types::{AttributeValue, Update};
use serde::{Deserialize, Serialize};

use super::audit::Event;
use super::tx::Condition;
use super::{ListQuery, Page, Store, StoreError, from_item, key, keys, n, opt, s, sdk_error, to_item};
use crate::Timestamp;
use crate::domain::UsageChange;
use crate::domain::audit::{Action, Changes, Origin, Target, TargetKind};
use crate::domain::plans::PlanLimits;
use crate::domain::validation::CustomerFields;

/// A customer (client company): `ORG#o` / `CUSTOMER#c`, in GSI1 `ORG#o#CUSTOMERS` / name order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub entity: String,
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
    /// Client users and pending client invitations that belong to this customer; it cannot be
    /// deleted while any do.
    #[serde(default)]
    pub client_count: i64,
    /// Set when a delete has begun: the customer is gone for every reader from then on.
    #[serde(default)]
    pub deleting: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: String,
}

impl CustomerItem {
    pub const ENTITY: &'static str = "customer";

    pub fn new(org_id: &str, fields: CustomerFields, created_by: &str, now: Timestamp) -> Self {
        let id = format!("cus_{}", ulid::Ulid::new().to_string().to_lowercase());
        Self {
            pk: keys::org_pk(org_id),
            sk: keys::customer_sk(&id),
            gsi1pk: keys::customers_gsi1pk(org_id),
            gsi1sk: keys::name_sort_key(&fields.name, &id),
            entity: Self::ENTITY.to_owned(),
            org_id: org_id.to_owned(),
            name: fields.name,
            email: fields.email,
            phone: fields.phone,
            notes: fields.notes,
            client_count: 0,
            deleting: false,
            created_at: now,
            updated_at: now,
            created_by: created_by.to_owned(),
            id,
        }
    }

    /// This customer with new fields (and the name order that follows from them).
    pub fn with_fields(&self, fields: CustomerFields, now: Timestamp) -> Self {
        Self {
            gsi1sk: keys::name_sort_key(&fields.name, &self.id),
            name: fields.name,
            email: fields.email,
            phone: fields.phone,
            notes: fields.notes,
            updated_at: now,
            ..self.clone()
        }
    }

    pub fn fields(&self) -> CustomerFields {
        CustomerFields {
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            notes: self.notes.clone(),
        }
    }
}

impl Store {
    /// A live customer (not one being deleted).
    pub async fn get_customer(&self, org_id: &str, customer_id: &str) -> Result<Option<CustomerItem>, StoreError> {
        let customer: Option<CustomerItem> = self.get(keys::org_pk(org_id), keys::customer_sk(customer_id)).await?;
        Ok(customer.filter(|c| !c.deleting))
    }

    /// Stores a new customer within the plan's `maxCustomers`.
    pub async fn create_customer(
        &self,
        customer: &CustomerItem,
        limits: &PlanLimits,
        origin: &Origin,
    ) -> Result<(), StoreError> {
        let change = UsageChange::customers(1).within(limits);
        let mut tx = self.tx();
        tx.put("customer", to_item(customer)?, Some(Condition::absent()))?;
        self.audit(&mut tx, &customer.org_id, origin, customer_created(customer))?;
        self.add_usage(&mut tx, &customer.org_id, &change)?;
        match self.commit(tx).await? {
            Commit::Cancelled(failure) if failure.is("usage") => {
                Err(self.usage_refusal(&customer.org_id, &change).await)
            }
            other => other.required(),
        }
    }

    /// Writes the fields of `new` that differ from `old` (and `updatedAt`), with the audit entry
    /// of what changed, if nobody changed the customer's fields since `old` was read. Only those
    /// fields: counts that other requests keep on the item (`clientCount`) are never written back
    /// from a stale read. Its name order is carried to its assignments, which keep each staff
    /// member's list in name order. Fields that stay as they were write nothing.
    pub async fn update_customer(
        &self,
        old: &CustomerItem,
        new: &CustomerItem,
        origin: &Origin,
    ) -> Result<(), StoreError> {
        let changes = customer_changes(&old.fields(), &new.fields());
        if changes.is_empty() {
            return Ok(());
        }
        let mut sets = vec!["updatedAt = :now"];
        let mut update = Update::builder()
            .set_key(Some(key(old.pk.clone(), old.sk.clone())))
            .expression_attribute_values(":now", s(new.updated_at.to_string()));
        if old.name != new.name {
            sets.push("#name = :name");
            sets.push("GSI1SK = :sort");
            update = update
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
                update = update.expression_attribute_values(placeholder, opt(after.as_deref()));
            }
        }
        let update = update
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression("updatedAt = :old AND deleting = :false")
            .expression_attribute_values(":old", s(old.updated_at.to_string()))
            .expression_attribute_values(":false", AttributeValue::Bool(false));
        let mut tx = self.tx();
        tx.update("customer", update)?;
        self.audit(&mut tx, &old.org_id, origin, customer_event(Action::CustomerUpdated, old, changes))?;
        match self.commit(tx).await? {
            Commit::Cancelled(failure) if failure.is("customer") => {
                return Err(StoreError::Changed("the customer changed meanwhile; retry"));
            }
            other => other.required()?,
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
    pub async fn finish_customer_delete(&self, customer: &CustomerItem, origin: &Origin) -> Result<(), StoreError> {
        let assignments = self.assignments_of_customer(&customer.org_id, &customer.id).await?;
        let pairs: Vec<(String, String)> = assignments.into_iter().map(|a| (a.customer_id, a.user_id)).collect();
        self.unassign_all(&customer.org_id, &pairs, origin).await?.written()?;
        let mut tx = self.tx();
        let deleting = Condition::new("deleting = :true").value(":true", AttributeValue::Bool(true));
        tx.delete("customer", key(customer.pk.clone(), customer.sk.clone()), Some(deleting))?;
        self.add_usage(&mut tx, &customer.org_id, &UsageChange::customers(-1))?;
        let deleted = customer_changes(&customer.fields(), &CustomerFields::default());
        self.audit(&mut tx, &customer.org_id, origin, customer_event(Action::CustomerDeleted, customer, deleted))?;
        match self.commit(tx).await? {
            // Deleted already by an earlier run.
            Commit::Cancelled(failure) if failure.is("customer") => Ok(()),
            other => other.required(),
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
}

/// The audit changes between two sets of a customer's fields (all of them for a creation or
/// deletion, from or to nothing).
fn customer_changes(old: &CustomerFields, new: &CustomerFields) -> Changes {
    let name = |f: &CustomerFields| (!f.name.is_empty()).then(|| f.name.clone());
    Changes::default()
        .field("name", &name(old), &name(new))
        .field("email", &old.email, &new.email)
        .field("phone", &old.phone, &new.phone)
        .field("notes", &old.notes, &new.notes)
}

/// The audit event of a new customer: every field it was created with.
pub(super) fn customer_created(customer: &CustomerItem) -> Event {
    let created = customer_changes(&CustomerFields::default(), &customer.fields());
    customer_event(Action::CustomerCreated, customer, created)
}

fn customer_event(action: Action, customer: &CustomerItem, changes: Changes) -> Event {
    Event::new(action, Target::new(TargetKind::Customer, &customer.id), changes)
}
