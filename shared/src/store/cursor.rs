//! Opaque list cursors: DynamoDB's `LastEvaluatedKey`, bound to one organization and one list
//! and signed, so a cursor cannot be edited, nor replayed against another org or list.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::error::ApiError;

/// The signing key of cursors.
#[derive(Clone)]
pub struct CursorKey(Vec<u8>);

impl CursorKey {
    /// Derived from a deployment secret (the WorkOS API key) so no extra secret is needed; a
    /// rotated secret only invalidates cursors, which live for one listing session.
    pub fn derive(secret: &str) -> Self {
        Self(crypto::hmac_sha256(secret.as_bytes(), b"list-cursor-v1"))
    }

    /// Wraps a `LastEvaluatedKey` (string attributes only, as all our keys are).
    pub fn encode(&self, org_id: &str, list: &str, last_key: &HashMap<String, AttributeValue>) -> String {
        let key: BTreeMap<&str, &str> =
            last_key.iter().filter_map(|(name, value)| Some((name.as_str(), value.as_s().ok()?.as_str()))).collect();
        let payload = serde_json::to_vec(&Payload { org: org_id, list, key }).unwrap_or_default();
        let tag = crypto::hmac_sha256(&self.0, &payload);
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// Unwraps a cursor issued by [`encode`](Self::encode) for the same org and list.
    pub fn decode(&self, org_id: &str, list: &str, cursor: &str) -> Result<HashMap<String, AttributeValue>, ApiError> {
        let (payload, tag) = cursor.split_once('.').ok_or(ApiError::InvalidCursor)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| ApiError::InvalidCursor)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| ApiError::InvalidCursor)?;
        if !crypto::hmac_sha256_verify(&self.0, &payload, &tag) {
            return Err(ApiError::InvalidCursor);
        }
        let parsed: Payload<'_> = serde_json::from_slice(&payload).map_err(|_| ApiError::InvalidCursor)?;
        if parsed.org != org_id || parsed.list != list {
            return Err(ApiError::InvalidCursor);
        }
        Ok(parsed.key.into_iter().map(|(name, value)| (name.to_owned(), AttributeValue::S(value.to_owned()))).collect())
    }
}

#[derive(Serialize, Deserialize)]
struct Payload<'a> {
    #[serde(borrow)]
    org: &'a str,
    #[serde(borrow)]
    list: &'a str,
    #[serde(borrow)]
    key: BTreeMap<&'a str, &'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_key() -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("PK".to_owned(), AttributeValue::S("ORG#org_a".into())),
            ("SK".to_owned(), AttributeValue::S("USER#user_1".into())),
        ])
    }

    #[test]
    fn round_trip() {
        let key = CursorKey::derive("secret");
        let cursor = key.encode("org_a", "users", &last_key());
        assert_eq!(key.decode("org_a", "users", &cursor).unwrap(), last_key());
    }

    #[test]
    fn bound_to_org_list_key_and_content() {
        let key = CursorKey::derive("secret");
        let cursor = key.encode("org_a", "users", &last_key());
        assert!(matches!(key.decode("org_b", "users", &cursor), Err(ApiError::InvalidCursor)));
        assert!(matches!(key.decode("org_a", "customers", &cursor), Err(ApiError::InvalidCursor)));
        assert!(matches!(CursorKey::derive("other").decode("org_a", "users", &cursor), Err(ApiError::InvalidCursor)));
        // An edited payload keeps no valid signature.
        let (payload, tag) = cursor.split_once('.').unwrap();
        let mut json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        json = json.replace("org_a", "org_b");
        let forged = format!("{}.{}", URL_SAFE_NO_PAD.encode(json), tag);
        assert!(matches!(key.decode("org_b", "users", &forged), Err(ApiError::InvalidCursor)));
        for garbage in ["", ".", "abc", "a.b", "!!!.???"] {
            assert!(matches!(key.decode("org_a", "users", garbage), Err(ApiError::InvalidCursor)), "{garbage}");
        }
    }
}
