//! Tokens with claims of the test's choosing, signed by a test RSA key that a [`FaultProxy`]
//! serves in its JWKS beside the emulator's keys.
//!
//! [`FaultProxy`]: crate::FaultProxy

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

/// PKCS#1 DER, test-only: never trusted outside the tests' own JWKS.
const PRIVATE_DER: &[u8] = include_bytes!("../fixtures/test-rsa-private.der");
const PUBLIC_PEM: &[u8] = include_bytes!("../fixtures/test-rsa-public.pem");
const JWK: &str = include_str!("../fixtures/test-rsa-jwk.json");

pub struct TestKey;

impl TestKey {
    pub const KID: &'static str = "test-key-1";

    /// The public key as a JWK (kid [`Self::KID`]).
    pub fn jwk() -> Value {
        serde_json::from_str(JWK).expect("test JWK")
    }

    /// RS256 over `claims`, with the test key's kid (or `kid`).
    pub fn sign(claims: &Value, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.unwrap_or(Self::KID).to_owned());
        let key = EncodingKey::from_rsa_der(PRIVATE_DER);
        jsonwebtoken::encode(&header, claims, &key).expect("sign")
    }

    /// The classic confusion attack: HS256 keyed with the RSA public key.
    pub fn sign_hs256_with_public_key(claims: &Value) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(Self::KID.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(PUBLIC_PEM)).expect("sign")
    }

    /// An unsigned token (`alg: none`).
    pub fn unsigned(claims: &Value) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = serde_json::json!({"alg": "none", "typ": "JWT", "kid": Self::KID});
        format!("{}.{}.", b64.encode(header.to_string()), b64.encode(claims.to_string()))
    }
}
