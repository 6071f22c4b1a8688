//! Request bodies, parsed: unknown fields refused, and each field through its domain rule.

use serde::Deserialize;

use crate::domain::Role;
use crate::domain::validation::{CustomerFields, parse_org_name};
use crate::error::ApiError;

/// `{name}` of `POST /orgs` and `PATCH /org`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgNameBody {
    name: String,
}

impl OrgNameBody {
    /// The trimmed name, or the field errors that keep it from being one.
    pub fn into_name(self) -> Result<String, ApiError> {
        parse_org_name(&self.name)
    }
}

/// `{intent}` of `POST /org/portal-link`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalLinkBody {
    intent: String,
}

impl PortalLinkBody {
    pub fn into_intent(self) -> Result<crate::domain::portal::PortalIntent, ApiError> {
        crate::domain::portal::PortalIntent::parse(&self.intent)
    }
}

/// `{name, scope, expiresAt?}` of `POST /api-keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewApiKey {
    name: String,
    scope: String,
    #[serde(default)]
    expires_at: Option<String>,
}

/// A new key's fields, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyFields {
    pub name: String,
    pub scope: crate::domain::api_keys::Scope,
    pub expires_at: Option<crate::Timestamp>,
}

impl NewApiKey {
    /// The fields, each checked; every field error at once.
    pub fn into_fields(self, now: crate::Timestamp) -> Result<ApiKeyFields, ApiError> {
        use crate::domain::api_keys::{Scope, parse_expiry, parse_name};
        match (parse_name(&self.name), Scope::parse(&self.scope), parse_expiry(self.expires_at.as_deref(), now)) {
            (Ok(name), Ok(scope), Ok(expires_at)) => Ok(ApiKeyFields { name, scope, expires_at }),
            (name, scope, expires_at) => {
                Err(ApiError::Validation([name.err(), scope.err(), expires_at.err()].into_iter().flatten().collect()))
            }
        }
    }
}

/// `{confirmName}` of `DELETE /org`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OrgDeletionBody {
    pub confirm_name: String,
}

/// `POST /customers` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    notes: Option<String>,
}

/// `PATCH /customers/{id}` body: fields left out stay; `null` clears an optional field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    notes: Option<Option<String>>,
}

impl NewCustomer {
    pub fn into_fields(self) -> Result<CustomerFields, ApiError> {
        CustomerFields { name: self.name, email: self.email, phone: self.phone, notes: self.notes }.validated()
    }
}

impl CustomerPatch {
    /// `current` with this patch applied, validated.
    pub fn apply(self, current: CustomerFields) -> Result<CustomerFields, ApiError> {
        let name = match self.name {
            Some(Some(name)) => name,
            Some(None) => return Err(ApiError::validation("name", "must not be null")),
            None => current.name,
        };
        CustomerFields {
            name,
            email: self.email.unwrap_or(current.email),
            phone: self.phone.unwrap_or(current.phone),
            notes: self.notes.unwrap_or(current.notes),
        }
        .validated()
    }
}

/// `{role, customerId}` of `PATCH /users/{userId}`: each optional; `customerId: null` clears.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MemberChange {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "present")]
    pub customer_id: Option<Option<String>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::http::parse_json;

    #[test]
    fn a_patch_keeps_what_it_leaves_out_and_clears_what_it_nulls() {
        let current =
            CustomerFields { name: "Acme".into(), email: Some("a@b.co".into()), phone: Some("1".into()), notes: None };
        let patch: CustomerPatch = parse_json(br#"{"phone": null, "notes": " n "}"#).unwrap();
        let fields = patch.apply(current).unwrap();
        assert_eq!(
            (fields.name.as_str(), fields.email.as_deref(), fields.phone, fields.notes.as_deref()),
            ("Acme", Some("a@b.co"), None, Some("n"))
        );
        let patch: CustomerPatch = parse_json(br#"{"name": null}"#).unwrap();
        assert!(patch.apply(CustomerFields::default()).is_err(), "a name cannot be cleared");
        assert!(parse_json::<CustomerPatch>(br#"{"nmae": "x"}"#).is_err(), "unknown fields are refused");
    }

    #[test]
    fn a_member_change_tells_null_from_absent() {
        let change: MemberChange = parse_json(br#"{"customerId": null}"#).unwrap();
        assert_eq!((change.role, change.customer_id), (None, Some(None)));
        let change: MemberChange = parse_json(br#"{"role": "staff"}"#).unwrap();
        assert_eq!((change.role, change.customer_id), (Some(Role::Staff), None));
    }
}
