//! `POST /webhooks/workos`: WorkOS user and membership events, applied by the same code as the
//! sync job's incremental pass. `WorkOS-Signature` is `t=<ms>, v1=<hex>` from WorkOS and
//! `t=<s>,v1=<hex>` from the emulator: both are accepted, as HMAC-SHA256 of `"<t>.<raw body>"`,
//! within 180 s either way, compared in constant time. A bad signature is 401 with nothing
//! written; stale or duplicate events answer 200 and change nothing.

use lambda_http::{Body, Request, Response};
use shared::api::http;
use shared::api::http::request_id;
use shared::clients::workos::Event;
use shared::flows::sync;
use shared::flows::sync::Changes;
use shared::{ApiError, Deps, crypto};

/// How far the signature's timestamp may be from now, either way.
const TOLERANCE_SECONDS: i64 = 180;

pub async fn handle(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let secret = deps.config.require(shared::config::Setting::WorkosWebhookSecret)?;
    let body = http::body_bytes(req)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    verify_signature(secret, body, http::header_str(req, "workos-signature"), now)?;
    let event: Event = http::parse_json(body)?;
    let mut changes = Changes::default();
    let origin = sync::workos_origin(request_id(req).as_deref());
    sync::apply_event(deps, &origin, &event, &mut changes).await?;
    let status = if changes.total() > 0 { "applied" } else { "unchanged" };
    tracing::info!(event = event.event, event_id = event.id, status, "WorkOS event");
    Ok(http::json(200, &serde_json::json!({ "status": status })))
}

/// Checks `t=<seconds or milliseconds>, v1=<hex>[, v1=<hex>…]` against the raw body.
pub fn verify_signature(secret: &str, body: &[u8], header: Option<&str>, now: i64) -> Result<(), ApiError> {
    let header = header.ok_or(ApiError::InvalidSignature)?;
    let mut timestamp = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value.trim()),
            Some(("v1", value)) => tags.extend(crypto::unhex(value.trim())),
            _ => {}
        }
    }
    let raw_t = timestamp.ok_or(ApiError::InvalidSignature)?;
    let t: i64 = raw_t.parse().map_err(|_| ApiError::InvalidSignature)?;
    // Milliseconds from WorkOS, seconds from the emulator: no time in seconds is this large.
    let seconds = if t > 100_000_000_000 { t / 1000 } else { t };
    // Checked: `t` is the sender's text, and i64::MIN - now overflows.
    let skew = now.checked_sub(seconds).map(i64::unsigned_abs);
    if t < 0 || skew.is_none_or(|skew| skew > TOLERANCE_SECONDS.unsigned_abs()) {
        return Err(ApiError::InvalidSignature);
    }
    let mut signed = Vec::with_capacity(raw_t.len() + 1 + body.len());
    signed.extend_from_slice(raw_t.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    if tags.iter().any(|tag| crypto::hmac_sha256_verify(secret.as_bytes(), &signed, tag)) {
        Ok(())
    } else {
        Err(ApiError::InvalidSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(t: &str, body: &[u8]) -> String {
        let mut signed = format!("{t}.").into_bytes();
        signed.extend_from_slice(body);
        crypto::hex(&crypto::hmac_sha256(b"whsec", &signed))
    }

    #[test]
    fn both_timestamp_forms_and_the_tolerance() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        let seconds = format!("t={now},v1={}", sign(&now.to_string(), body));
        assert!(verify_signature("whsec", body, Some(&seconds), now).is_ok());
        let ms = now * 1000 + 123;
        let millis = format!("t={ms}, v1={}", sign(&ms.to_string(), body));
        assert!(verify_signature("whsec", body, Some(&millis), now).is_ok());
        assert!(verify_signature("whsec", body, Some(&seconds), now + 181).is_err(), "too old");
        assert!(verify_signature("whsec", body, Some(&seconds), now - 181).is_err(), "from the future");
        assert!(verify_signature("whsec", body, Some(&seconds), now + 180).is_ok());
        assert!(verify_signature("other", body, Some(&seconds), now).is_err());
        assert!(verify_signature("whsec", b"{}", Some(&seconds), now).is_err(), "another body");
        for bad in ["", "t=abc,v1=00", "v1=00", &format!("t={now}"), &format!("t={now},v1=zz")] {
            assert!(verify_signature("whsec", body, Some(bad), now).is_err(), "{bad}");
        }
        assert!(verify_signature("whsec", body, None, now).is_err());
    }

    #[test]
    fn extreme_timestamps_are_refused_without_overflow() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        for t in [i64::MIN, i64::MIN + 1, -1, i64::MAX, i64::MAX - 1, 0] {
            let header = format!("t={t},v1={}", sign(&t.to_string(), body));
            assert!(
                matches!(verify_signature("whsec", body, Some(&header), now), Err(ApiError::InvalidSignature)),
                "{t}"
            );
        }
        assert!(verify_signature("whsec", body, Some("t=99999999999999999999,v1=00"), now).is_err(), "past i64");
        assert!(verify_signature("whsec", body, Some("t=-9223372036854775808,v1=00"), i64::MAX).is_err());
    }
}
