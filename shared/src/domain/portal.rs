//! The WorkOS Admin Portal's intents that `POST /org/portal-link` offers (API.md, "WorkOS Admin
//! Portal"): where an organization's IT admin sets up SSO, directory sync and the rest themselves.

use crate::error::{ApiError, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalIntent {
    Sso,
    Dsync,
    DomainVerification,
    AuditLogs,
    LogStreams,
}

impl PortalIntent {
    pub const ALL: [Self; 5] = [Self::Sso, Self::Dsync, Self::DomainVerification, Self::AuditLogs, Self::LogStreams];

    /// As WorkOS and the API name it.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Sso => "sso",
            Self::Dsync => "dsync",
            Self::DomainVerification => "domain_verification",
            Self::AuditLogs => "audit_logs",
            Self::LogStreams => "log_streams",
        }
    }

    /// The intent a request names, or a 400 that lists the ones there are.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        Self::ALL.into_iter().find(|i| i.slug() == text).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|i| i.slug()).collect();
            ApiError::Validation(vec![FieldError::new("intent", format!("must be one of {}", known.join(", ")))])
        })
    }
}

/// How long a portal link works (WorkOS: 5 minutes from its making).
pub const PORTAL_LINK_MINUTES: i64 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_parse_by_their_slug_and_nothing_else() {
        for intent in PortalIntent::ALL {
            assert_eq!(PortalIntent::parse(intent.slug()).unwrap(), intent);
        }
        for bad in ["", "SSO", "certificate_renewal", "sso ", "admin"] {
            let error = PortalIntent::parse(bad).unwrap_err();
            assert!(matches!(&error, ApiError::Validation(e) if e[0].field == "intent"), "{bad:?}");
        }
    }
}
