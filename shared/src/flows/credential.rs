//! What a caller presents, as the layers below `api` see it: a credential and the request id
//! (`api` reads them from the request; a WebSocket event or an operator's job will too).
//! `Deps::resolve_caller` (`flows::access`) is the one place a credential becomes a caller.

use crate::domain::api_keys::KeySecret;
use crate::error::ApiError;

/// What a caller presents to prove who they are, as the `api` layer read it from the request:
/// a WorkOS access token (API.md "Identity and roles") or an organization's API key ("API
/// keys"). Each case is resolved in `Deps::resolve_caller`.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    WorkosToken(String),
    ApiKey(KeySecret),
}

impl std::fmt::Debug for Credential {
    // A credential never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::WorkosToken(_) => f.write_str("WorkosToken(…)"),
            Self::ApiKey(secret) => write!(f, "ApiKey({secret:?})"),
        }
    }
}

impl Credential {
    /// The credential of an `Authorization` header's value (`Bearer <token>`); 401 without one.
    /// A value with the API keys' prefix is a key (or a 401 when it is not a well-formed one);
    /// anything else is taken for a WorkOS token.
    pub fn from_authorization(header: Option<&str>) -> Result<Self, ApiError> {
        let header = header.ok_or_else(|| unauthenticated("an Authorization: Bearer token is required"))?;
        match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
                let token = token.trim();
                if KeySecret::is_key_like(token) {
                    return KeySecret::parse(token).map(Self::ApiKey).ok_or_else(unknown_key);
                }
                Ok(Self::WorkosToken(token.to_owned()))
            }
            _ => Err(unauthenticated("the Authorization header must use the Bearer scheme")),
        }
    }
}

/// The one answer to a key that is malformed, unknown, revoked, expired or not its secret: which
/// of these it was is not told.
pub fn unknown_key() -> ApiError {
    unauthenticated("the API key is not valid (unknown, revoked or expired)")
}

fn unauthenticated(reason: &str) -> ApiError {
    ApiError::Unauthenticated(reason.to_owned())
}

/// One call as the layers below `api` see it: the credential presented, the route API Gateway
/// matched (`METHOD /path/{param}`, which decides what a key may call), and the id the gateway
/// gave the call (recorded with every audit entry it causes; none in process).
#[derive(Debug, Clone)]
pub struct Call {
    pub credential: Credential,
    pub route: Option<String>,
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

    #[test]
    fn a_bearer_value_with_the_key_prefix_is_a_key_or_refused() {
        let secret = KeySecret::new("org_1", "key_1", &[9; 32]).unwrap();
        let header = format!("Bearer {}", secret.reveal());
        assert_eq!(Credential::from_authorization(Some(&header)).unwrap(), Credential::ApiKey(secret.clone()));
        let shown = format!("{:?}", Credential::ApiKey(secret.clone()));
        assert!(!shown.contains(&secret.reveal()[20..]), "{shown}");
        let truncated = &header[..header.len() - 2];
        assert!(matches!(Credential::from_authorization(Some(truncated)), Err(ApiError::Unauthenticated(_))));
    }
}
