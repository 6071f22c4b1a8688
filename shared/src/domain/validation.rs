//! The rules request fields follow, as parsers: a value that passes comes back in the form it is
//! stored in (trimmed, lowercased where the rule says so), and one that does not names its field.

use crate::error::{ApiError, FieldError};

/// Longest email address (RFC 5321 path limit).
const MAX_EMAIL_CHARS: usize = 254;
/// Longest organization name, in characters after trimming.
pub const MAX_ORG_NAME_CHARS: usize = 100;
const MAX_CUSTOMER_NAME_CHARS: usize = 200;
const MAX_PHONE_CHARS: usize = 32;
const MAX_NOTES_CHARS: usize = 4000;

/// A plausible email address, lowercased: one `@`, a local part, a dotted domain, no spaces.
pub fn parse_email(field: &str, value: &str) -> Result<String, ApiError> {
    let email = value.trim();
    let invalid = || ApiError::Validation(vec![FieldError::new(field, "must be an email address")]);
    if email.is_empty()
        || email.chars().count() > MAX_EMAIL_CHARS
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    let labels_ok =
        domain.split('.').all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if local.is_empty() || local.contains('@') || !domain.contains('.') || !labels_ok {
        return Err(invalid());
    }
    Ok(email.to_lowercase())
}

/// An organization name: trimmed, 1 to [`MAX_ORG_NAME_CHARS`] characters, no control characters.
pub fn parse_org_name(value: &str) -> Result<String, ApiError> {
    let name = value.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(ApiError::validation("name", "must not be empty"));
    }
    if chars > MAX_ORG_NAME_CHARS {
        return Err(ApiError::validation("name", format!("must be at most {MAX_ORG_NAME_CHARS} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::validation("name", "must not contain control characters"));
    }
    Ok(name.to_owned())
}

/// The fields a client sends for a customer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerFields {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
}

impl CustomerFields {
    /// Trims every field, turns empty optional fields into none, and collects every field error.
    pub fn validated(self) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        let name_chars = name.chars().count();
        if name_chars == 0 || name_chars > MAX_CUSTOMER_NAME_CHARS {
            errors.push(FieldError::new("name", format!("must be 1 to {MAX_CUSTOMER_NAME_CHARS} characters")));
        }
        let optional = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let email = match optional(self.email) {
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
        let phone = optional(self.phone);
        if phone.as_ref().is_some_and(|p| p.chars().count() > MAX_PHONE_CHARS) {
            errors.push(FieldError::new("phone", format!("must be at most {MAX_PHONE_CHARS} characters")));
        }
        let notes = optional(self.notes);
        if notes.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS) {
            errors.push(FieldError::new("notes", format!("must be at most {MAX_NOTES_CHARS} characters")));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(Self { name, email, phone, notes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields_in_error(error: ApiError) -> Vec<String> {
        match error {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn emails() {
        assert_eq!(parse_email("email", " Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "ada@-x.com", "ada@x..com"] {
            assert!(parse_email("email", bad).is_err(), "{bad}");
        }
        assert!(parse_email("email", &format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn org_names() {
        assert_eq!(parse_org_name("  Acme  ").unwrap(), "Acme");
        assert_eq!(parse_org_name(&"é".repeat(100)).unwrap().chars().count(), 100, "characters, not bytes");
        for bad in ["", "   ", "a\u{7}b"] {
            assert_eq!(fields_in_error(parse_org_name(bad).unwrap_err()), ["name"], "{bad:?}");
        }
        assert!(parse_org_name(&"a".repeat(101)).is_err());
    }

    #[test]
    fn customer_fields_are_trimmed_and_every_error_is_named() {
        let fields =
            CustomerFields { name: " Acme ".into(), email: Some(" ".into()), phone: Some(" 555 ".into()), notes: None }
                .validated()
                .unwrap();
        assert_eq!(fields, CustomerFields { name: "Acme".into(), email: None, phone: Some("555".into()), notes: None });
        let error = CustomerFields {
            name: "".into(),
            email: Some("nope".into()),
            phone: Some("1".repeat(33)),
            notes: Some("n".repeat(4001)),
        }
        .validated()
        .unwrap_err();
        assert_eq!(fields_in_error(error), ["name", "email", "phone", "notes"]);
    }
}
