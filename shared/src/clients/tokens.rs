//! WorkOS access token verification (API.md "Identity and roles"): RS256 only, keys from the
//! JWKS cached across warm invocations, issuer allow-list, `aud` when present, `exp` required.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use crate::config::WorkosConfig;
use crate::error::ApiError;

/// Clock skew tolerated on `exp` and `nbf` (API.md allows 60 s at most).
pub const LEEWAY_SECONDS: u64 = 30;
const _: () = assert!(LEEWAY_SECONDS <= 60, "API.md allows a leeway of 60 s at most");
/// The JWKS is fetched at most this often (an unknown `kid`, or an endpoint that is down), so a
/// flood of bad kids, or of requests while the JWKS is down, is not a flood of JWKS requests.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Longest token taken: WorkOS's are about 1 KiB; a huge one is refused before it is parsed.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The `kid` of a token's header, if the token can be verified at all: at most
/// [`MAX_TOKEN_BYTES`], a JWT header that parses, RS256, a key id.
pub fn signing_key_id(token: &str) -> Result<String, ApiError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(unauthenticated("the token is too long"));
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| unauthenticated("the token is malformed"))?;
    if header.alg != Algorithm::RS256 {
        return Err(unauthenticated("the token must be signed with RS256"));
    }
    header.kid.ok_or_else(|| unauthenticated("the token names no signing key"))
}

/// Who is calling, as the verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    pub user_id: String,
    /// The organization the token selects, if any.
    pub org_id: Option<String>,
    pub session_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    #[serde(default)]
    aud: Option<serde_json::Value>,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    org_id: Option<String>,
    #[serde(default)]
    iat: Option<u64>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    /// When the last fetch was tried, whether or not it worked.
    fetched_at: Option<Instant>,
    /// Whether that fetch failed (with no keys cached, requests answer 503 until the next).
    fetch_failed: bool,
}

/// Verifies bearer tokens. Built once per cold start; the key cache lives as long as it does.
pub struct TokenVerifier {
    http: super::outbound::LazyHttp,
    jwks_url: String,
    client_id: String,
    issuers: Vec<String>,
    cache: RwLock<KeyCache>,
    /// Serialises JWKS fetches so concurrent requests with a new `kid` fetch once.
    fetch_lock: Mutex<()>,
    refetch_interval: Duration,
}

fn unauthenticated(reason: &str) -> ApiError {
    ApiError::Unauthenticated(reason.to_owned())
}

impl TokenVerifier {
    pub fn new(http: super::outbound::LazyHttp, config: &WorkosConfig) -> Self {
        let base = &config.api_url;
        let mut issuers = vec![base.clone(), format!("{base}/user_management/{}", config.client_id)];
        issuers.extend(config.extra_issuers.iter().map(|issuer| issuer.trim_end_matches('/').to_owned()));
        Self {
            http,
            jwks_url: format!("{base}/sso/jwks/{}", config.client_id),
            client_id: config.client_id.clone(),
            issuers,
            cache: RwLock::new(KeyCache::default()),
            fetch_lock: Mutex::new(()),
            refetch_interval: MIN_REFETCH_INTERVAL,
        }
    }

    /// The same verifier with another refetch interval (tests reach the end of the window
    /// without waiting a minute).
    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// Verifies one token.
    pub async fn verify(&self, token: &str) -> Result<AuthContext, ApiError> {
        let kid = signing_key_id(token)?;
        let key = self.key(&kid).await?.ok_or_else(|| unauthenticated("the token's signing key is unknown"))?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.validate_aud = false; // checked below: only when present
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            match error.kind() {
                ErrorKind::ExpiredSignature => unauthenticated("the token has expired"),
                ErrorKind::ImmatureSignature => unauthenticated("the token is not valid yet"),
                ErrorKind::InvalidSignature => unauthenticated("the token's signature is invalid"),
                _ => unauthenticated("the token is invalid"),
            }
        })?;
        self.check_claims(data.claims)
    }

    /// What the verified claims must say beyond the signature and the times: a trusted issuer,
    /// this application as audience (when named), a user, and an `iat` not in the future.
    pub fn check_claims(&self, claims: serde_json::Value) -> Result<AuthContext, ApiError> {
        let claims: Claims = serde_json::from_value(claims).map_err(|_| unauthenticated("the token is invalid"))?;
        if !self.issuers.iter().any(|issuer| issuer == claims.iss.trim_end_matches('/')) {
            return Err(unauthenticated("the token's issuer is not trusted"));
        }
        if let Some(aud) = &claims.aud {
            let matches = match aud {
                serde_json::Value::String(single) => single == &self.client_id,
                serde_json::Value::Array(list) => list.iter().any(|a| a.as_str() == Some(&self.client_id)),
                _ => false,
            };
            if !matches {
                return Err(unauthenticated("the token's audience is not this application"));
            }
        }
        if claims.sub.is_empty() {
            return Err(unauthenticated("the token names no user"));
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECONDS) {
            return Err(unauthenticated("the token claims to be issued in the future"));
        }
        Ok(AuthContext {
            user_id: claims.sub,
            org_id: claims.org_id.filter(|org| !org.is_empty()),
            session_id: claims.sid,
        })
    }

    /// The key for `kid`: from the cache, else from one JWKS fetch if none was tried within the
    /// refetch interval. With no key cached and the last fetch failed, 503 until the next try.
    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, ApiError> {
        if let Some(key) = self.cache.read().await.keys.get(kid) {
            return Ok(Some(key.clone()));
        }
        let _guard = self.fetch_lock.lock().await;
        {
            // Another request may have fetched while this one waited for the lock.
            let cache = self.cache.read().await;
            if let Some(key) = cache.keys.get(kid) {
                return Ok(Some(key.clone()));
            }
            if cache.fetched_at.is_some_and(|at| at.elapsed() < self.refetch_interval) {
                if cache.fetch_failed && cache.keys.is_empty() {
                    return Err(ApiError::upstream("the JWKS is unreachable and no key is cached"));
                }
                return Ok(None);
            }
        }
        let keys = self.fetch_jwks().await;
        let mut cache = self.cache.write().await;
        cache.fetched_at = Some(Instant::now());
        cache.fetch_failed = keys.is_err();
        match keys {
            Ok(keys) => cache.keys = keys,
            // Keep serving the keys we had; the failure is an upstream problem, not the caller's.
            Err(error) => {
                tracing::error!(error = %error, "JWKS fetch failed");
                if cache.keys.is_empty() {
                    return Err(ApiError::upstream(format!("JWKS fetch failed: {error}")));
                }
            }
        }
        Ok(cache.keys.get(kid).cloned())
    }

    async fn fetch_jwks(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let response = self.http.get().get(&self.jwks_url).send().await.map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("JWKS answered {}", response.status()));
        }
        let set: JwkSet = response.json().await.map_err(|e| e.without_url().to_string())?;
        let keys = set
            .keys
            .iter()
            .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
            .collect();
        Ok(keys)
    }
}
