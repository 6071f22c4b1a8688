//! The caller's membership (or API key) and what a route reads with it, in one BatchGetItem: a
//! read route costs one DynamoDB round trip, not one per item in sequence. The membership or key
//! and the org item are read on every request (a removal, a revoked key and an organization's
//! deletion count at once); the items read along with them are decided on only after the
//! membership or key says the caller may see them.

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use super::{
    ApiKeyItem, AssignmentItem, CustomerItem, Item, MemberItem, OrgRecord, Store, StoreError, from_item, key, keys,
};

/// Whose request reads: the item that says what they may do is read with the org item.
#[derive(Debug, Clone, Copy)]
pub enum Reader<'a> {
    /// A member, by user id.
    Member(&'a str),
    /// An API key, by key id.
    ApiKey(&'a str),
}

/// An item of the caller's organization to read along with the membership (or key) and the org
/// item (both always read).
#[derive(Debug, Clone, Copy)]
pub enum Along<'a> {
    /// A customer.
    Customer(&'a str),
    /// The caller's own assignment to a customer (staff see only their assigned customers; a key
    /// has none).
    CallersAssignment(&'a str),
    /// Another member.
    Member(&'a str),
    /// One of the organization's API keys.
    ApiKey(&'a str),
}

/// What one read found, by key.
#[derive(Debug)]
pub struct Found {
    org_id: String,
    /// The reading member's user id (none for a key).
    user_id: Option<String>,
    items: HashMap<(String, String), Item>,
}

impl Along<'_> {
    /// The item's sort key; none for what the reader cannot have.
    fn sort_key(&self, user_id: Option<&str>) -> Option<String> {
        match self {
            Self::Customer(id) => Some(keys::customer_sk(id)),
            Self::CallersAssignment(customer_id) => user_id.map(|user| keys::assignment_sk(customer_id, user)),
            Self::Member(id) => Some(keys::member_sk(id)),
            Self::ApiKey(id) => Some(keys::api_key_sk(id)),
        }
    }
}

impl Reader<'_> {
    fn sort_key(&self) -> String {
        match *self {
            Self::Member(user_id) => keys::member_sk(user_id),
            Self::ApiKey(key_id) => keys::api_key_sk(key_id),
        }
    }
}

impl Found {
    fn take<T: DeserializeOwned>(&self, along: Along<'_>) -> Result<Option<T>, StoreError> {
        let Some(sk) = along.sort_key(self.user_id.as_deref()) else { return Ok(None) };
        self.items.get(&(keys::org_pk(&self.org_id), sk)).cloned().map(from_item).transpose()
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

    pub fn api_key(&self, key_id: &str) -> Result<Option<ApiKeyItem>, StoreError> {
        self.take(Along::ApiKey(key_id))
    }
}

impl Store {
    /// The `reader`'s membership or key of `org_id`, its org item and the `along` items of the
    /// same organization, in one round trip (strongly consistent, like every read that decides
    /// access).
    pub async fn read_along(&self, org_id: &str, reader: Reader<'_>, along: &[Along<'_>]) -> Result<Found, StoreError> {
        let pk = keys::org_pk(org_id);
        let user_id = match reader {
            Reader::Member(user_id) => Some(user_id),
            Reader::ApiKey(_) => None,
        };
        let sort_keys = [keys::ORG_SK.to_owned(), reader.sort_key()]
            .into_iter()
            .chain(along.iter().filter_map(|a| a.sort_key(user_id)));
        let keys: Vec<Item> = sort_keys.map(|sk| key(pk.clone(), sk)).collect();
        let items = self
            .batch_get(keys)
            .await?
            .into_iter()
            .filter_map(|item| {
                let id = (item.get("PK")?.as_s().ok()?.clone(), item.get("SK")?.as_s().ok()?.clone());
                Some((id, item))
            })
            .collect();
        Ok(Found { org_id: org_id.to_owned(), user_id: user_id.map(str::to_owned), items })
    }
}
