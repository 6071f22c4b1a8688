//! A user's profile as WorkOS knows it: `USER#u` / `PROFILE`.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, keys, s, to_item};
use crate::Timestamp;

/// A user's profile as WorkOS knows it: `USER#u` / `PROFILE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProfileItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub user_id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub workos_updated_at: Timestamp,
}

impl UserProfileItem {
    pub const ENTITY: &'static str = "user";

    pub fn new(profile: Profile<'_>) -> Self {
        Self {
            pk: keys::user_pk(profile.user_id),
            sk: keys::PROFILE_SK.to_owned(),
            entity: Self::ENTITY.to_owned(),
            user_id: profile.user_id.to_owned(),
            email: profile.email.to_owned(),
            first_name: profile.first_name.map(str::to_owned),
            last_name: profile.last_name.map(str::to_owned),
            workos_updated_at: profile.workos_updated_at,
        }
    }
}

/// What a stored profile is made of (as WorkOS gives it).
pub struct Profile<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub workos_updated_at: Timestamp,
}

impl Store {
    pub async fn get_profile(&self, user_id: &str) -> Result<Option<UserProfileItem>, StoreError> {
        self.get(keys::user_pk(user_id), keys::PROFILE_SK.to_owned()).await
    }

    /// Stores a user's profile unless a newer WorkOS version is stored already; `false` if so.
    pub async fn put_profile(&self, profile: &UserProfileItem) -> Result<bool, StoreError> {
        let condition = "attribute_not_exists(PK) OR workosUpdatedAt < :updated";
        self.put_if(to_item(profile)?, condition, vec![(":updated", s(profile.workos_updated_at.to_string()))]).await
    }
}
