//! The parsers that take bytes from outside, each behind one function of `&[u8]` that must never
//! panic, whatever the bytes: the Lemon Squeezy signature check and event parser, the WorkOS
//! signature header and event parser, token header and claims parsing, API keys as presented
//! (forged and malformed), request bodies with their
//! field errors, and cursor decoding. `fuzz/` (cargo fuzz, `make fuzz`) drives them with
//! libFuzzer; `tests/corpus.rs` replays the kept corpora on stable Rust in `make test`.

use shared::api::bodies::MemberChange;
use shared::api::bodies::OrgNameBody;
use shared::api::bodies::{CustomerPatch, NewCustomer};
use shared::api::http;
use shared::config::WorkosConfig;
use shared::crypto;
use shared::domain::billing::{CheckoutTag, Payment, Subscription};
use shared::domain::lemonsqueezy::{Event as BillingEvent, verify_signature};
use shared::domain::validation::CustomerFields;
use shared::domain::validation::parse_email;
use shared::flows::billing;
use shared::store::CursorKey;

const SECRET: &str = "fuzz-secret";

/// The input, split: the first byte chooses a case, the rest is the payload.
fn split(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (*first, rest),
        None => (0, &[]),
    }
}

/// A Lemon Squeezy delivery: a signature (right for an even first byte, else taken from the
/// input), then the event parser and what billing reads from an event.
pub fn lemonsqueezy(data: &[u8]) {
    let (case, rest) = split(data);
    let (signature, body) = if case % 2 == 0 {
        (crypto::hex(&crypto::hmac_sha256(SECRET.as_bytes(), rest)), rest)
    } else {
        let cut = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        (String::from_utf8_lossy(&rest[..cut]).into_owned(), rest.get(cut + 1..).unwrap_or_default())
    };
    if verify_signature(SECRET, body, Some(&signature)).is_err() {
        return;
    }
    let Ok(event) = http::parse_json::<BillingEvent>(body) else { return };
    let _ = billing::subscription_of(&event);
    let _ = Subscription::from_resource(&event.data);
    let _ = Payment::from_event(&event.meta.event_name, &event.data);
    let _ = CheckoutTag::new(SECRET).verified_org(&event.meta);
}

/// A WorkOS delivery: the `WorkOS-Signature` header (the first line; for an even first byte a
/// right one is made instead, with the input's digits as `t`), then the event parser.
pub fn workos(data: &[u8]) {
    let (case, rest) = split(data);
    let cut = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
    let (line, body) = (String::from_utf8_lossy(&rest[..cut]).into_owned(), rest.get(cut + 1..).unwrap_or_default());
    let now = 1_764_615_600;
    let header = if case % 2 == 0 {
        let t = if line.is_empty() { now.to_string() } else { line.clone() };
        let mut signed = format!("{t}.").into_bytes();
        signed.extend_from_slice(body);
        format!("t={t}, v1={}", crypto::hex(&crypto::hmac_sha256(SECRET.as_bytes(), &signed)))
    } else {
        line
    };
    if workos_webhook::verify_signature(SECRET, body, Some(&header), now).is_err() {
        return;
    }
    if let Ok(event) = http::parse_json::<shared::clients::workos::Event>(body) {
        let _ = serde_json::from_value::<shared::clients::workos::Membership>(event.data.clone());
        let _ = serde_json::from_value::<shared::clients::workos::User>(event.data);
    }
}

/// A bearer credential: a WorkOS token's header (size, JSON, algorithm, key id) and claims as
/// verified tokens carry them (issuer, audience, user, `iat`); or (first byte 3 mod 4) an
/// `Authorization` value that may be an API key, forged or malformed: it parses or is refused,
/// and only the very secret of a key matches that key's digest.
pub fn token(data: &[u8]) {
    let (case, rest) = split(data);
    if case % 4 == 3 {
        api_key(&String::from_utf8_lossy(rest));
        return;
    }
    if case % 2 == 0 {
        let _ = shared::clients::tokens::signing_key_id(&String::from_utf8_lossy(rest));
        return;
    }
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(rest) else { return };
    let config = WorkosConfig {
        api_url: "https://api.workos.test".into(),
        client_id: "client_fuzz".into(),
        api_key: Some("sk_fuzz".into()),
        extra_issuers: vec!["https://auth.fuzz.test".into()],
        webhook_secret: None,
    };
    let verifier = shared::clients::tokens::TokenVerifier::new(Default::default(), &config);
    let _ = verifier.check_claims(claims);
}

fn api_key(text: &str) {
    use shared::domain::api_keys::{KeySecret, scope_needed};
    use shared::flows::access::Credential;
    let real = KeySecret::new("org_fuzz", "key_01jfuzz", &[0x5a; 32]).unwrap();
    let digest = real.digest();
    if let Ok(Credential::ApiKey(presented)) = Credential::from_authorization(Some(&format!("Bearer {text}"))) {
        assert!(KeySecret::parse(presented.reveal()).as_ref() == Some(&presented), "a parsed key parses again");
        assert!(
            !presented.matches(&digest) || presented.reveal() == real.reveal(),
            "only the secret itself matches its digest"
        );
        let _ = presented.shown_prefix();
    }
    let _ = scope_needed(text);
}

/// A request body of each kind the API takes, parsed and validated as the handlers do.
pub fn body(data: &[u8]) {
    let (case, rest) = split(data);
    match case % 5 {
        0 => {
            if let Ok(new) = http::parse_json::<NewCustomer>(rest) {
                let _ = new.into_fields();
            }
        }
        1 => {
            if let Ok(patch) = http::parse_json::<CustomerPatch>(rest) {
                let current = CustomerFields { name: "Current".into(), ..CustomerFields::default() };
                let _ = patch.apply(current);
            }
        }
        2 => {
            let _ = http::parse_json::<MemberChange>(rest);
        }
        3 => {
            if let Ok(name) = http::parse_json::<OrgNameBody>(rest) {
                let _ = name.into_name();
            }
        }
        _ => {
            let _ = parse_email("email", &String::from_utf8_lossy(rest));
        }
    }
}

/// A cursor from a query string, decoded for an org and a list (it must verify to decode).
pub fn cursor(data: &[u8]) {
    let key = CursorKey::derive(SECRET);
    let text = String::from_utf8_lossy(data);
    let _ = key.decode("org_fuzz", "customers", &text);
}
