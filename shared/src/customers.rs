//! Customers as the API shows them, the rules their fields follow, and who may see which.

use serde::{Deserialize, Serialize};

use crate::Deps;
use crate::access::Caller;
use crate::error::{ApiError, FieldError};
use crate::members::{parse_email, present};
use crate::store::{CustomerFields, CustomerItem, Role};

const MAX_NAME_CHARS: usize = 200;
const MAX_PHONE_CHARS: usize = 32;
const MAX_NOTES_CHARS: usize = 4000;

/// API.md customer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
    pub created_at: crate::Timestamp,
    pub updated_at: crate::Timestamp,
    pub created_by: String,
}

impl From<CustomerItem> for CustomerView {
    fn from(c: CustomerItem) -> Self {
        Self {
            id: c.id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            notes: c.notes,
            created_at: c.created_at,
            updated_at: c.updated_at,
            created_by: c.created_by,
        }
    }
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
        validate(CustomerFields { name: self.name, email: self.email, phone: self.phone, notes: self.notes })
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
        validate(CustomerFields {
            name,
            email: self.email.unwrap_or(current.email),
            phone: self.phone.unwrap_or(current.phone),
            notes: self.notes.unwrap_or(current.notes),
        })
    }
}

/// Trims every field, turns empty optional fields into none, and collects every field error.
fn validate(fields: CustomerFields) -> Result<CustomerFields, ApiError> {
    let mut errors = Vec::new();
    let name = fields.name.trim().to_owned();
    let name_chars = name.chars().count();
    if name_chars == 0 || name_chars > MAX_NAME_CHARS {
        errors.push(FieldError::new("name", format!("must be 1 to {MAX_NAME_CHARS} characters")));
    }
    let optional = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let email = match optional(fields.email) {
        Some(email) => match parse_email("email", &email) {
            Ok(_) => Some(email),
            Err(ApiError::Validation(mut e)) => {
                errors.append(&mut e);
                None
            }
            Err(other) => return Err(other),
        },
        None => None,
    };
    let phone = optional(fields.phone);
    if phone.as_ref().is_some_and(|p| p.chars().count() > MAX_PHONE_CHARS) {
        errors.push(FieldError::new("phone", format!("must be at most {MAX_PHONE_CHARS} characters")));
    }
    let notes = optional(fields.notes);
    if notes.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS) {
        errors.push(FieldError::new("notes", format!("must be at most {MAX_NOTES_CHARS} characters")));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(CustomerFields { name, email, phone, notes })
}

/// A customer the caller may see: any for an admin, an assigned one for staff, their own for a
/// client. Anything else is 404, like a customer that does not exist.
pub async fn visible_customer(deps: &Deps, caller: &Caller, customer_id: &str) -> Result<CustomerItem, ApiError> {
    let org_id = caller.org_id();
    let customer = match caller.role() {
        Role::Admin => deps.store.get_customer(org_id, customer_id).await?,
        // The assignment and the customer are read together: one round trip, not two.
        Role::Staff => {
            let (assignment, customer) = tokio::join!(
                deps.store.get_assignment(org_id, customer_id, caller.user_id()),
                deps.store.get_customer(org_id, customer_id),
            );
            let assigned = assignment?.is_some();
            customer?.filter(|_| assigned)
        }
        Role::Client if caller.member.customer_id.as_deref() == Some(customer_id) => {
            deps.store.get_customer(org_id, customer_id).await?
        }
        Role::Client => None,
    };
    customer.ok_or(ApiError::NotFound)
}

/// A customer the caller manages (may change, and see the staff of): any for an admin, an
/// assigned one for staff. A client's own customer is read-only to them (403); others stay 404.
pub async fn managed_customer(deps: &Deps, caller: &Caller, customer_id: &str) -> Result<CustomerItem, ApiError> {
    let customer = visible_customer(deps, caller, customer_id).await?;
    caller.require(&[Role::Admin, Role::Staff])?;
    Ok(customer)
}
