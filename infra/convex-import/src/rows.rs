//! A snapshot's line as a typed row of the four tables the import reads, with the field map.
//! Pure: no I/O, unit-tested below.

use std::collections::HashMap;

use serde_json::{Map, Value};
use shared::Timestamp;
use shared::domain::Role;
use shared::domain::validation::CustomerFields;

pub const ORGS: &str = "orgs";
pub const USERS: &str = "users";
pub const CUSTOMERS: &str = "customers";
pub const ASSIGNMENTS: &str = "staffCustomerAssignments";
/// The tables read, in the order they are read.
pub const TABLES: [&str; 4] = [ORGS, USERS, CUSTOMERS, ASSIGNMENTS];

/// `--fields`: `{"<table>.<field>": "<name in the snapshot>"}` for snapshots whose names differ.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap(HashMap<String, String>);

impl FieldMap {
    /// Reads a map; an entry that names no table and field the import reads is refused, so that
    /// a typo does not silently leave a field unread.
    pub fn parse(json: &str) -> Result<Self, String> {
        let map: HashMap<String, String> =
            serde_json::from_str(json).map_err(|e| format!("the field map is not a JSON object of strings: {e}"))?;
        for key in map.keys() {
            let known = key.split_once('.').is_some_and(|(table, field)| FIELDS.contains(&(table, field)));
            if !known {
                return Err(format!("the field map names {key}, which the import does not read"));
            }
        }
        Ok(Self(map))
    }

    fn name<'a>(&'a self, table: &str, field: &'a str) -> &'a str {
        self.0.get(&format!("{table}.{field}")).map_or(field, String::as_str)
    }
}

/// Every field the import reads (besides Convex's own `_id` and `_creationTime`).
const FIELDS: [(&str, &str); 17] = [
    (ORGS, "workosOrgId"),
    (ORGS, "name"),
    (ORGS, "subscriptionId"),
    (ORGS, "subscriptionStatus"),
    (USERS, "workosUserId"),
    (USERS, "email"),
    (USERS, "orgId"),
    (USERS, "role"),
    (USERS, "customerId"),
    (CUSTOMERS, "orgId"),
    (CUSTOMERS, "name"),
    (CUSTOMERS, "email"),
    (CUSTOMERS, "phone"),
    (CUSTOMERS, "notes"),
    (ASSIGNMENTS, "orgId"),
    (ASSIGNMENTS, "staffId"),
    (ASSIGNMENTS, "customerId"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRow {
    pub convex_id: String,
    pub workos_org_id: String,
    pub name: Option<String>,
    pub subscription_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub convex_id: String,
    pub workos_user_id: String,
    pub org: String,
    pub role: Role,
    pub customer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRow {
    pub convex_id: String,
    pub org: String,
    pub fields: CustomerFields,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRow {
    pub org: String,
    pub staff: String,
    pub customer: String,
}

/// Reads one table's documents with the field map.
struct Reader<'a> {
    table: &'static str,
    document: &'a Map<String, Value>,
    fields: &'a FieldMap,
}

impl Reader<'_> {
    fn optional(&self, field: &str) -> Result<Option<String>, String> {
        let name = self.fields.name(self.table, field);
        match self.document.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(format!("{name} is not a string")),
        }
    }

    fn required(&self, field: &str) -> Result<String, String> {
        self.optional(field)?.ok_or_else(|| format!("{} is missing", self.fields.name(self.table, field)))
    }

    /// Convex's `_id`: it goes into a sort key (the customer's marker), so only a short printable
    /// ASCII id is taken; one that is not is that line's problem, not the whole run's.
    fn id(&self) -> Result<String, String> {
        match self.document.get("_id") {
            Some(Value::String(id)) if is_convex_id(id) => Ok(id.clone()),
            Some(Value::String(id)) if !id.is_empty() => {
                Err(format!("_id is not an id (1 to {MAX_ID_CHARS} letters, digits, _ or -)"))
            }
            _ => Err("_id is missing".to_owned()),
        }
    }
}

/// The longest `_id` taken (Convex's are 32 characters).
pub const MAX_ID_CHARS: usize = 128;

fn is_convex_id(id: &str) -> bool {
    (1..=MAX_ID_CHARS).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A Lemon Squeezy subscription id: digits only (it goes into the API's URL).
pub fn is_subscription_id(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

pub fn org(document: &Map<String, Value>, fields: &FieldMap) -> Result<OrgRow, String> {
    let r = Reader { table: ORGS, document, fields };
    Ok(OrgRow {
        convex_id: r.id()?,
        workos_org_id: r.required("workosOrgId")?,
        name: r.optional("name")?,
        subscription_id: r.optional("subscriptionId")?,
    })
}

pub fn user(document: &Map<String, Value>, fields: &FieldMap) -> Result<UserRow, String> {
    let r = Reader { table: USERS, document, fields };
    let role = r.required("role")?;
    Ok(UserRow {
        convex_id: r.id()?,
        workos_user_id: r.required("workosUserId")?,
        org: r.required("orgId")?,
        role: Role::from_slug(&role).ok_or_else(|| format!("role {role:?} is none of admin, staff, client"))?,
        customer: r.optional("customerId")?,
    })
}

pub fn customer(document: &Map<String, Value>, fields: &FieldMap) -> Result<CustomerRow, String> {
    let r = Reader { table: CUSTOMERS, document, fields };
    let convex_id = r.id()?;
    let org = r.required("orgId")?;
    let fields = CustomerFields {
        name: r.required("name")?,
        email: r.optional("email")?,
        phone: r.optional("phone")?,
        notes: r.optional("notes")?,
    }
    .validated()
    .map_err(|e| match e {
        shared::ApiError::Validation(errors) => {
            errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    })?;
    let created_at = match document.get("_creationTime") {
        Some(Value::Number(ms)) => ms.as_f64().and_then(|ms| Timestamp::from_unix_millis(ms.floor() as i64)),
        _ => None,
    }
    .ok_or("_creationTime is missing or not milliseconds since the epoch")?;
    Ok(CustomerRow { convex_id, org, fields, created_at })
}

pub fn assignment(document: &Map<String, Value>, fields: &FieldMap) -> Result<AssignmentRow, String> {
    let r = Reader { table: ASSIGNMENTS, document, fields };
    Ok(AssignmentRow { org: r.required("orgId")?, staff: r.required("staffId")?, customer: r.required("customerId")? })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn rows_read_convex_documents() {
        let fields = FieldMap::default();
        let o = org(&doc(json!({"_id": "o1", "_creationTime": 1.0, "workosOrgId": "org_1", "name": "Acme"})), &fields);
        assert_eq!(o.unwrap().workos_org_id, "org_1");
        let u = user(
            &doc(json!({"_id": "u1", "workosUserId": "user_1", "email": "a@x.example", "orgId": "o1",
                                   "role": "client", "customerId": "c1"})),
            &fields,
        )
        .unwrap();
        assert_eq!((u.role, u.customer.as_deref()), (Role::Client, Some("c1")));
        let c = customer(
            &doc(json!({"_id": "c1", "_creationTime": 1733000000123.4, "orgId": "o1",
                                      "name": "  Northwind ", "email": "", "notes": "n"})),
            &fields,
        )
        .unwrap();
        assert_eq!((c.fields.name.as_str(), c.fields.email.as_deref()), ("Northwind", None));
        assert_eq!(c.created_at.to_string(), "2024-11-30T20:53:20.123Z");
    }

    #[test]
    fn each_problem_is_named() {
        let fields = FieldMap::default();
        let missing = user(&doc(json!({"_id": "u1", "orgId": "o1", "role": "staff"})), &fields);
        assert_eq!(missing.unwrap_err(), "workosUserId is missing");
        let role = user(&doc(json!({"_id": "u1", "workosUserId": "w", "orgId": "o1", "role": "owner"})), &fields);
        assert!(role.unwrap_err().contains("owner"));
        let typed = customer(&doc(json!({"_id": "c", "_creationTime": 1, "orgId": "o", "name": 42})), &fields);
        assert_eq!(typed.unwrap_err(), "name is not a string");
        let email = customer(
            &doc(json!({"_id": "c", "_creationTime": 1, "orgId": "o", "name": "N", "email": "nope"})),
            &fields,
        );
        assert!(email.unwrap_err().starts_with("email:"));
        let time = customer(&doc(json!({"_id": "c", "orgId": "o", "name": "N"})), &fields);
        assert!(time.unwrap_err().contains("_creationTime"));
        assert_eq!(
            assignment(&doc(json!({"orgId": "o", "staffId": "u"})), &fields).unwrap_err(),
            "customerId is missing"
        );
    }

    #[test]
    fn the_field_map_renames_and_refuses_what_it_does_not_know() {
        let fields =
            FieldMap::parse(r#"{"customers.name": "companyName", "customers.orgId": "organization"}"#).unwrap();
        let c = customer(
            &doc(json!({"_id": "c", "_creationTime": 5, "organization": "o", "companyName": "Initech"})),
            &fields,
        );
        assert_eq!(c.unwrap().fields.name, "Initech");
        assert!(FieldMap::parse(r#"{"customers.colour": "c"}"#).unwrap_err().contains("customers.colour"));
        assert!(FieldMap::parse("[1]").is_err());
    }
}
