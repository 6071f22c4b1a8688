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

    /// A token from a raw header and payload text (duplicate keys, odd types), signed RS256 by
    /// the test key over exactly these bytes.
    pub fn sign_raw(header: &str, payload: &str) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let message = format!("{}.{}", b64.encode(header), b64.encode(payload));
        let key = EncodingKey::from_rsa_der(PRIVATE_DER);
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::RS256).expect("sign");
        format!("{message}.{signature}")
    }

    /// RS256 by a key the JWKS does not hold, under the test key's (known) kid.
    pub fn sign_with_another_key(claims: &Value) -> String {
        use aws_lc_rs::signature::KeyPair;
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let other = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("an RSA key");
        assert!(!other.public_key().as_ref().is_empty());
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": Self::KID});
        let message = format!("{}.{}", b64.encode(header.to_string()), b64.encode(claims.to_string()));
        let mut signature = vec![0; other.public_modulus_len()];
        other
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message.as_bytes(),
                &mut signature,
            )
            .expect("sign");
        format!("{message}.{}", b64.encode(signature))
    }

    /// An unsigned token (`alg: none`).
    pub fn unsigned(claims: &Value) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = serde_json::json!({"alg": "none", "typ": "JWT", "kid": Self::KID});
        format!("{}.{}.", b64.encode(header.to_string()), b64.encode(claims.to_string()))
    }
}
