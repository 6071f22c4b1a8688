//! What a caller presents, as the layers below `api` see it: a credential and the request id
//! (`api` reads them from the request; a WebSocket event or an operator's job will too).
//! `Deps::resolve_caller` (`flows::access`) is the one place a credential becomes a caller.

use crate::error::ApiError;

/// What a caller presents to prove who they are, as the `api` layer read it from the request (or,
/// later, the WebSocket event): a WorkOS access token today (API.md "Identity and roles"). A new
/// kind of credential (a live ticket, an API key) is one more case here and in
/// `Deps::resolve_caller`.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    WorkosToken(String),
}

impl std::fmt::Debug for Credential {
    // A credential never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::WorkosToken(_) => f.write_str("WorkosToken(…)"),
        }
    }
}

impl Credential {
    /// The credential of an `Authorization` header's value (`Bearer <token>`); 401 without one.
    pub fn from_authorization(header: Option<&str>) -> Result<Self, ApiError> {
        let header = header.ok_or_else(|| unauthenticated("an Authorization: Bearer token is required"))?;
        match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
                Ok(Self::WorkosToken(token.trim().to_owned()))
            }
            _ => Err(unauthenticated("the Authorization header must use the Bearer scheme")),
        }
    }
}

fn unauthenticated(reason: &str) -> ApiError {
    ApiError::Unauthenticated(reason.to_owned())
}

/// One call as the layers below `api` see it: the credential presented, and the id the gateway
/// gave the call (recorded with every audit entry it causes; none in process).
#[derive(Debug, Clone)]
pub struct Call {
    pub credential: Credential,
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_header_is_a_workos_token_credential() {
        for header in ["Bearer abc", "bearer abc", "BEARER  abc "] {
            assert_eq!(Credential::from_authorization(Some(header)).unwrap(), Credential::WorkosToken("abc".into()));
        }
        for header in [None, Some(""), Some("Bearer"), Some("Bearer   "), Some("Basic abc"), Some("abc")] {
            let refused = Credential::from_authorization(header);
            assert!(matches!(refused, Err(ApiError::Unauthenticated(_))), "{header:?}");
        }
        assert_eq!(format!("{:?}", Credential::WorkosToken("secret".into())), "WorkosToken(…)");
    }
}
