//! Staff assignments: `ORG#o` / `ASSIGN#c#u` (in GSI1 the staff member's customers, by name),
//! and the same assignment from the staff member's side, `ORG#o` / `STAFF#u#c`.

use super::tx::{Commit, OrgWrite};
use aws_sdk_dynamodb::types::{AttributeValue, Update};
use serde::{Deserialize, Serialize};

use super::audit::Event;
use super::tx::{Condition, Tx};
use super::{CustomerItem, ListQuery, MemberItem, Page, Store, StoreError, key, keys, n, s, to_item};
use crate::Timestamp;
use crate::domain::Role;
use crate::domain::audit::{Action, Changes, Origin, Target, TargetKind};

/// A staff member assigned to a customer: `ORG#o` / `ASSIGN#c#u`, and in GSI1
/// `ORG#o#STAFF#u` / the customer's name order (the staff member's customers, by name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub entity: String,
    pub customer_id: String,
    pub user_id: String,
    pub created_at: Timestamp,
}

impl AssignmentItem {
    pub const ENTITY: &'static str = "assignment";

    pub fn new(customer: &CustomerItem, user_id: &str, now: Timestamp) -> Self {
        Self {
            pk: customer.pk.clone(),
            sk: keys::assignment_sk(&customer.id, user_id),
            gsi1pk: keys::staff_gsi1pk(&customer.org_id, user_id),
            gsi1sk: customer.gsi1sk.clone(),
            entity: Self::ENTITY.to_owned(),
            customer_id: customer.id.clone(),
            user_id: user_id.to_owned(),
            created_at: now,
        }
    }
}

/// `ORG#o` / `STAFF#u#c`: the same assignment seen from the staff member, written and deleted in
/// the same transaction as the [`AssignmentItem`]. Finding a staff member's assignments through
/// it is a strongly consistent base-table query (GSI1 can lag behind a just-written assignment),
/// so a staff member who leaves the role loses every assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StaffAssignmentItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub customer_id: String,
    pub user_id: String,
}

impl StaffAssignmentItem {
    pub const ENTITY: &'static str = "staff_assignment";

    pub fn new(org_id: &str, customer_id: &str, user_id: &str) -> Self {
        Self {
            pk: keys::org_pk(org_id),
            sk: keys::staff_assignment_sk(user_id, customer_id),
            entity: Self::ENTITY.to_owned(),
            customer_id: customer_id.to_owned(),
            user_id: user_id.to_owned(),
        }
    }
}

impl Store {
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
        origin: &Origin,
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
        self.audit(
            &mut tx,
            &customer.org_id,
            origin,
            assignment_event(Action::AssignmentAdded, &customer.id, user_id),
        )?;
        match self.commit(tx).await? {
            Commit::Committed => Ok(true),
            Commit::Cancelled(failure) if failure.is("staff") => {
                Err(StoreError::Changed("only a staff member of the organization can be assigned"))
            }
            Commit::Cancelled(failure) if failure.is("customer") => {
                Err(StoreError::Changed("the customer is being deleted"))
            }
            Commit::Cancelled(failure) if failure.is("assignment") => Ok(false),
            other => other.required().map(|()| true),
        }
    }

    /// Removes an assignment (both sides), with its audit entry; `false` if there was none.
    pub async fn unassign(
        &self,
        org_id: &str,
        customer_id: &str,
        user_id: &str,
        origin: &Origin,
    ) -> Result<bool, StoreError> {
        self.unassign_one(org_id, customer_id, user_id, origin).await?.written()
    }

    async fn unassign_one(
        &self,
        org_id: &str,
        customer_id: &str,
        user_id: &str,
        origin: &Origin,
    ) -> Result<OrgWrite<bool>, StoreError> {
        let mut tx = self.tx();
        self.unassign_in(&mut tx, org_id, customer_id, user_id, origin)?;
        match self.commit(tx).await? {
            Commit::Committed => Ok(OrgWrite::Written(true)),
            Commit::Cancelled(failure) if failure.is("assignment") => Ok(OrgWrite::Written(false)),
            Commit::OrgGone => Ok(OrgWrite::OrgGone),
            other => other.required().map(|()| OrgWrite::Written(true)),
        }
    }

    fn unassign_in(
        &self,
        tx: &mut Tx,
        org_id: &str,
        customer_id: &str,
        user_id: &str,
        origin: &Origin,
    ) -> Result<(), StoreError> {
        let assignment = key(keys::org_pk(org_id), keys::assignment_sk(customer_id, user_id));
        tx.delete("assignment", assignment, Some(Condition::present()))?;
        tx.delete("staff_side", key(keys::org_pk(org_id), keys::staff_assignment_sk(user_id, customer_id)), None)?;
        self.audit(tx, org_id, origin, assignment_event(Action::AssignmentRemoved, customer_id, user_id)).map(drop)
    }

    /// Removes each `(customer, staff member)` assignment that still exists, each with its audit
    /// entry: a few to a transaction, and one by one when one of them went meanwhile.
    pub(super) async fn unassign_all(
        &self,
        org_id: &str,
        pairs: &[(String, String)],
        origin: &Origin,
    ) -> Result<OrgWrite<()>, StoreError> {
        // Three actions each, within TransactWriteItems' 100.
        for chunk in pairs.chunks(25) {
            let mut tx = self.tx();
            for (customer_id, user_id) in chunk {
                self.unassign_in(&mut tx, org_id, customer_id, user_id, origin)?;
            }
            match self.commit(tx).await? {
                Commit::Committed => {}
                Commit::OrgGone => return Ok(OrgWrite::OrgGone),
                Commit::Cancelled(_) => {
                    for (customer_id, user_id) in chunk {
                        if self.unassign_one(org_id, customer_id, user_id, origin).await? == OrgWrite::OrgGone {
                            return Ok(OrgWrite::OrgGone);
                        }
                    }
                }
            }
        }
        Ok(OrgWrite::Written(()))
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

    pub(super) async fn assignments_of_customer(
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
    pub async fn remove_assignments_of(
        &self,
        org_id: &str,
        user_id: &str,
        origin: &Origin,
    ) -> Result<OrgWrite<()>, StoreError> {
        let values = [(":pk", keys::org_pk(org_id)), (":prefix", keys::staff_assignment_prefix(user_id))];
        let sides: Vec<StaffAssignmentItem> =
            self.query_all("PK = :pk AND begins_with(SK, :prefix)", None, None, &values).await?;
        let pairs: Vec<(String, String)> = sides.into_iter().map(|side| (side.customer_id, side.user_id)).collect();
        self.unassign_all(org_id, &pairs, origin).await
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

/// The audit entry of an assignment added or removed: its target is `<customerId>:<userId>`.
fn assignment_event(action: Action, customer_id: &str, user_id: &str) -> Event {
    let fields = [("customerId", Some(customer_id)), ("userId", Some(user_id))];
    let changes = match action {
        Action::AssignmentAdded => Changes::made(fields),
        _ => Changes::removed(fields),
    };
    Event::new(action, Target::new(TargetKind::Assignment, format!("{customer_id}:{user_id}")), changes)
}
