//! The caller's membership and what a route reads with it, in one BatchGetItem: a read route
//! costs one DynamoDB round trip, not one per item in sequence. The membership and the org item
//! are read on every request (a removal, and an organization's deletion, count at once); the
//! items read along with them are decided on only after the membership says the caller may see
//! them.

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use super::{
    AssignmentItem, CustomerItem, Item, MemberItem, OrgItem, OrgRecord, Store, StoreError, from_item, key, keys,
};

/// An item of the caller's organization to read along with the membership and the org item
/// (both always read).
#[derive(Debug, Clone, Copy)]
pub enum Along<'a> {
    /// A customer.
    Customer(&'a str),
    /// The caller's own assignment to a customer (staff see only their assigned customers).
    CallersAssignment(&'a str),
    /// Another member.
    Member(&'a str),
}

/// What one read found, by key.
#[derive(Debug)]
pub struct Found {
    org_id: String,
    user_id: String,
    items: HashMap<(String, String), Item>,
}

impl Along<'_> {
    fn sort_key(&self, user_id: &str) -> String {
        match self {
            Self::Customer(id) => keys::customer_sk(id),
            Self::CallersAssignment(customer_id) => keys::assignment_sk(customer_id, user_id),
            Self::Member(id) => keys::member_sk(id),
        }
    }
}

impl Found {
    fn take<T: DeserializeOwned>(&self, along: Along<'_>) -> Result<Option<T>, StoreError> {
        let id = (keys::org_pk(&self.org_id), along.sort_key(&self.user_id));
        self.items.get(&id).cloned().map(from_item).transpose()
    }

    /// The caller's membership and organization; [`StoreError::OrgDeleted`] once its deletion
    /// began (whether the membership is still stored or not).
    pub fn caller(&self) -> Result<Option<(MemberItem, OrgItem)>, StoreError> {
        let org = self.org_record()?.map(OrgRecord::live).transpose()?;
        let member = self.take(Along::Member(&self.user_id))?;
        Ok(member.zip(org))
    }

    /// Whatever the org item's key holds.
    pub fn org_record(&self) -> Result<Option<OrgRecord>, StoreError> {
        let id = (keys::org_pk(&self.org_id), keys::ORG_SK.to_owned());
        self.items.get(&id).cloned().map(OrgRecord::from_item).transpose()
    }

    /// A customer, unless it is being deleted.
    pub fn customer(&self, customer_id: &str) -> Result<Option<CustomerItem>, StoreError> {
        Ok(self.take::<CustomerItem>(Along::Customer(customer_id))?.filter(|c| !c.deleting))
    }

    pub fn callers_assignment(&self, customer_id: &str) -> Result<Option<AssignmentItem>, StoreError> {
        self.take(Along::CallersAssignment(customer_id))
    }

    pub fn member(&self, user_id: &str) -> Result<Option<MemberItem>, StoreError> {
        self.take(Along::Member(user_id))
    }
}

impl Store {
    /// `user_id`'s membership of `org_id` and the `along` items of the same organization, in
    /// one round trip (strongly consistent, like every read that decides access).
    pub async fn read_along(&self, org_id: &str, user_id: &str, along: &[Along<'_>]) -> Result<Found, StoreError> {
        let pk = keys::org_pk(org_id);
        let wanted = std::iter::once(Along::Member(user_id)).chain(along.iter().copied());
        let org = key(pk.clone(), keys::ORG_SK.to_owned());
        let keys: Vec<Item> =
            std::iter::once(org).chain(wanted.map(|a| key(pk.clone(), a.sort_key(user_id)))).collect();
        let items = self
            .batch_get(keys)
            .await?
            .into_iter()
            .filter_map(|item| {
                let id = (item.get("PK")?.as_s().ok()?.clone(), item.get("SK")?.as_s().ok()?.clone());
                Some((id, item))
            })
            .collect();
        Ok(Found { org_id: org_id.to_owned(), user_id: user_id.to_owned(), items })
    }
}
