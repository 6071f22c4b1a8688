//! The ids that arrive in request paths. Each kind has a prefix and an alphabet; a text that
//! cannot be such an id is "not found" at once, before it reaches DynamoDB (whose key-size limit
//! a 2 KiB id would break) or WorkOS.

/// A kind of id the API takes in its paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// WorkOS user ids: `user_` and 26 Crockford base-32 characters today.
    User,
    /// Customer ids this backend makes: `cus_` and a lowercase ULID.
    Customer,
    /// Invitation ids this backend makes: `inv_` and a lowercase ULID.
    Invitation,
    /// API key ids this backend makes: `key_` and a lowercase ULID.
    ApiKey,
    /// WorkOS organization ids (`org_…`): in no path, but in an API key's secret.
    Organization,
}

/// Longest id body after the prefix: room for other id schemes than today's 26 characters.
const MAX_BODY_CHARS: usize = 64;

impl IdKind {
    /// The kind of a path parameter, by its name in the route.
    pub fn of_param(name: &str) -> Option<Self> {
        match name {
            "userId" => Some(Self::User),
            "customerId" => Some(Self::Customer),
            "invitationId" => Some(Self::Invitation),
            "keyId" => Some(Self::ApiKey),
            _ => None,
        }
    }

    pub fn prefix(self) -> &'static str {
        match self {
            Self::User => "user_",
            Self::Customer => "cus_",
            Self::Invitation => "inv_",
            Self::ApiKey => "key_",
            Self::Organization => "org_",
        }
    }

    /// Whether `text` can be an id of this kind: its prefix, then 1 to 64 ASCII letters or digits.
    pub fn admits(self, text: &str) -> bool {
        text.strip_prefix(self.prefix()).is_some_and(|body| {
            (1..=MAX_BODY_CHARS).contains(&body.len()) && body.bytes().all(|b| b.is_ascii_alphanumeric())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_ids_only() {
        assert!(IdKind::User.admits("user_01JEXAMPLE0000000000000000"));
        assert!(IdKind::Customer.admits("cus_01jexample0000000000000000"));
        assert!(IdKind::Invitation.admits("inv_01jexample0000000000000000"));
        let long = format!("user_{}", "a".repeat(2048));
        for bad in
            ["", "user_", "user", "cus_01j", "user_a/b", "user_a b", "user_é", "user_a#b", long.as_str(), "USER_abc"]
        {
            assert!(!IdKind::User.admits(bad), "{bad}");
        }
        assert!(!IdKind::Customer.admits("user_01"), "another kind's prefix");
        assert_eq!(IdKind::of_param("userId"), Some(IdKind::User));
        assert_eq!(IdKind::of_param("keyId"), Some(IdKind::ApiKey));
        assert!(IdKind::ApiKey.admits("key_01jexample0000000000000000") && !IdKind::ApiKey.admits("key_a.b"));
        assert_eq!(IdKind::of_param("orgId"), None);
    }
}
