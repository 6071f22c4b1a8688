//! API keys for an organization's machine clients (API.md "API keys"): the secret's format, the
//! scopes and the routes each admits, and the per-minute budget's window. Pure: the store keeps
//! the key and counts its requests; this module decides.
//!
//! A secret is `sak_<org id>.<key id>.<64 hex digits>`: the prefix lets secret scanners find a
//! leaked key; the org and key ids let the one read that resolves a caller find the key (in its
//! organization's partition, with the org item); the 64 hex digits are 256 random bits. Only the
//! SHA-256 digest of the whole secret is stored. A digest without salt or stretching is enough
//! here: nobody guesses 256 random bits, and a fast digest keeps the per-request check cheap.
//!
//! Over 300 lines: half of it is the unit tests of the secret format, the scope table and the
//! window, which belong beside the rules they pin down.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::crypto;
use crate::domain::ids::IdKind;
use crate::error::FieldError;

/// What every secret starts with ("SaaS API key").
pub const SECRET_PREFIX: &str = "sak_";

/// Random bytes in a secret (256 bits), written as twice as many hex digits.
pub const SECRET_RANDOM_BYTES: usize = 32;

/// Hex digits of the random part shown in a key's `prefix`: enough to match a secret in hand to
/// its key, and 240 bits short of using one.
const SHOWN_RANDOM_DIGITS: usize = 4;

/// Longest key name, in characters after trimming.
pub const MAX_NAME_CHARS: usize = 100;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The `GET` routes an admin may call, but the audit log, the export and the key list.
    Read,
    /// `Read`, and changing customers and their staff assignments.
    Write,
}

impl Scope {
    pub fn slug(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    pub fn parse(text: &str) -> Result<Self, FieldError> {
        match text {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            _ => Err(FieldError::new("scope", "must be read or write")),
        }
    }

    /// Whether a key of this scope may call a route that needs `needed`.
    pub fn covers(self, needed: Scope) -> bool {
        matches!((self, needed), (Self::Write, _) | (Self::Read, Self::Read))
    }
}

/// The routes (API Gateway route keys, `METHOD /path/{param}`) that change customers and
/// assignments: what `write` adds to `read`.
const WRITE_ROUTES: &[&str] = &[
    "POST /customers",
    "PATCH /customers/{customerId}",
    "DELETE /customers/{customerId}",
    "PUT /customers/{customerId}/staff/{userId}",
    "DELETE /customers/{customerId}/staff/{userId}",
];

/// The routes a `read` key may call: API.md's "`GET` routes except `/audit-log`, `/org/export`
/// and `/api-keys`", listed one by one, so that a new route is no key's until it is added here
/// (`contract.rs` fails until every route of the template is classified).
const READ_ROUTES: &[&str] = &[
    "GET /me",
    "GET /org",
    "GET /users",
    "GET /users/{userId}",
    "GET /users/{userId}/customers",
    "GET /invitations",
    "GET /customers",
    "GET /customers/{customerId}",
    "GET /customers/{customerId}/staff",
    "GET /billing",
];

/// The scope a route needs of a key; `None`: no key may call it (403 `forbidden`). Decided by
/// the route key API Gateway matched, not the raw path, so that no spelling of a path (a stage
/// prefix, an encoded slash) reaches another rule.
pub fn scope_needed(route_key: &str) -> Option<Scope> {
    if WRITE_ROUTES.contains(&route_key) {
        Some(Scope::Write)
    } else if READ_ROUTES.contains(&route_key) {
        Some(Scope::Read)
    } else {
        None
    }
}

/// A key's name: trimmed, 1 to [`MAX_NAME_CHARS`] characters, no control characters.
pub fn parse_name(value: &str) -> Result<String, FieldError> {
    let name = value.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters without control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// A requested expiry: in the future (a key that is expired at birth is a mistake).
pub fn parse_expiry(expires_at: Option<&str>, now: Timestamp) -> Result<Option<Timestamp>, FieldError> {
    let Some(text) = expires_at else { return Ok(None) };
    let at = Timestamp::parse(text).ok_or_else(|| FieldError::new("expiresAt", "must be an RFC 3339 timestamp"))?;
    if at <= now {
        return Err(FieldError::new("expiresAt", "must be in the future"));
    }
    Ok(Some(at))
}

/// A secret as presented: which organization and key it names, and the whole text (to digest).
/// Its `Debug` never shows the text.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecret {
    org_id: String,
    key_id: String,
    text: String,
}

impl std::fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeySecret({}…)", self.key_id)
    }
}

impl KeySecret {
    /// Whether a bearer value is meant as an API key (and not a WorkOS token, which is a JWT).
    pub fn is_key_like(text: &str) -> bool {
        text.starts_with(SECRET_PREFIX)
    }

    /// A presented secret, when it has the format; `None` for anything else (401 to the caller).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.strip_prefix(SECRET_PREFIX)?.split('.');
        let (org_id, key_id, random) = (parts.next()?, parts.next()?, parts.next()?);
        let well_formed = parts.next().is_none()
            && IdKind::Organization.admits(org_id)
            && IdKind::ApiKey.admits(key_id)
            && random.len() == SECRET_RANDOM_BYTES * 2
            && random.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| Self { org_id: org_id.to_owned(), key_id: key_id.to_owned(), text: text.to_owned() })
    }

    /// A new secret for key `key_id` of `org_id`, of `random` (from a secure random source);
    /// `None` when an id does not fit the format (a key that could never be presented).
    pub fn new(org_id: &str, key_id: &str, random: &[u8; SECRET_RANDOM_BYTES]) -> Option<Self> {
        Self::parse(&format!("{SECRET_PREFIX}{org_id}.{key_id}.{}", crypto::hex(random)))
    }

    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The secret itself: for the one answer that shows it.
    pub fn reveal(&self) -> &str {
        &self.text
    }

    /// What is stored in place of the secret.
    pub fn digest(&self) -> String {
        crypto::sha256_hex(self.text.as_bytes())
    }

    /// Whether this secret is the one whose digest is `stored` (in constant time).
    pub fn matches(&self, stored: &str) -> bool {
        crypto::equal_in_constant_time(self.digest().as_bytes(), stored.as_bytes())
    }

    /// The start of the secret that the key list shows: its ids and the first hex digits.
    pub fn shown_prefix(&self) -> String {
        let public = SECRET_PREFIX.len() + self.org_id.len() + 1 + self.key_id.len() + 1;
        self.text[..public + SHOWN_RANDOM_DIGITS].to_owned()
    }
}

/// Whether a key that expires at `expires_at` is still good at `now`.
pub fn is_live(expires_at: Option<Timestamp>, now: Timestamp) -> bool {
    expires_at.is_none_or(|at| now < at)
}

/// The fixed one-minute window a request falls in: what its count is kept under, and how long
/// until the next one (`Retry-After` of a request past the budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Unix minute (seconds since the epoch / 60).
    pub minute: i64,
    /// Whole seconds until the next window, at least 1.
    pub seconds_left: u64,
}

impl Window {
    pub fn of(now: Timestamp) -> Self {
        let millis = now.unix_millis();
        let minute = millis.div_euclid(60_000);
        let left_millis = (minute + 1) * 60_000 - millis;
        Self { minute, seconds_left: u64::try_from((left_millis + 999) / 1000).unwrap_or(60).max(1) }
    }

    /// The window's start: what `lastUsedAt` says ("to the minute").
    pub fn start(self) -> Timestamp {
        Timestamp::from_unix_seconds(self.minute * 60).unwrap_or_else(Timestamp::now)
    }
}

/// Whether `lastUsedAt` (as stored) is behind `now`'s minute, and so due to be written: once a
/// minute at most, instead of on every request.
pub fn last_use_due(last_used_at: Option<Timestamp>, now: Timestamp) -> bool {
    last_used_at.is_none_or(|at| at < Window::of(now).start())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn a_new_secret_parses_back_and_matches_only_its_digest() {
        let secret = KeySecret::new("org_01ABC", "key_01xyz", &[7; 32]).unwrap();
        assert!(secret.reveal().starts_with("sak_org_01ABC.key_01xyz."));
        let parsed = KeySecret::parse(secret.reveal()).unwrap();
        assert_eq!((parsed.org_id(), parsed.key_id()), ("org_01ABC", "key_01xyz"));
        assert!(parsed.matches(&secret.digest()));
        let other = KeySecret::new("org_01ABC", "key_01xyz", &[8; 32]).unwrap();
        assert!(!other.matches(&secret.digest()));
        assert!(!format!("{secret:?}").contains(&crypto::hex(&[7; 32])));
    }

    #[test]
    fn the_shown_prefix_tells_keys_apart_and_keeps_240_bits_back() {
        let secret = KeySecret::new("org_1", "key_1", &[0xab; 32]).unwrap();
        assert_eq!(secret.shown_prefix(), "sak_org_1.key_1.abab");
        assert!(secret.reveal().starts_with(&secret.shown_prefix()));
        assert_eq!(secret.reveal().len() - secret.shown_prefix().len(), 60);
    }

    #[test]
    fn ids_that_do_not_fit_make_no_secret() {
        assert!(KeySecret::new("org_a.b", "key_1", &[0; 32]).is_none());
        assert!(KeySecret::new("org_1", "cus_1", &[0; 32]).is_none());
        assert!(KeySecret::new("", "key_1", &[0; 32]).is_none());
    }

    #[test]
    fn malformed_secrets_do_not_parse() {
        let good = KeySecret::new("org_1", "key_1", &[1; 32]).unwrap().reveal().to_owned();
        let long_id = format!("sak_org_1.key_{}.{}", "a".repeat(65), "0".repeat(64));
        let bad = [
            "",
            "sak_",
            "eyJhbGciOiJSUzI1NiJ9.e30.sig",
            &good[..good.len() - 1],
            &format!("{good}0"),
            &format!("{good}.x"),
            &good.replace("sak_", "SAK_"),
            &good.replace("key_1", "cus_1"),
            &good.replace("org_1", "org_1#x"),
            &good.replace("0101", "0G01"),
            &good.to_uppercase(),
            long_id.as_str(),
        ];
        for text in bad {
            assert_eq!(KeySecret::parse(text), None, "{text}");
        }
        assert!(KeySecret::parse(&good).is_some());
    }

    #[test]
    fn read_keys_call_reads_and_write_keys_also_change_customers() {
        for route in READ_ROUTES {
            assert_eq!(scope_needed(route), Some(Scope::Read), "{route}");
        }
        assert_eq!(scope_needed("GET /some/route/added/later"), None, "a new route is no key's until listed");
        for route in WRITE_ROUTES {
            assert_eq!(scope_needed(route), Some(Scope::Write), "{route}");
        }
        let never = [
            "GET /audit-log",
            "GET /org/export",
            "GET /api-keys",
            "POST /api-keys",
            "DELETE /api-keys/{keyId}",
            "PATCH /org",
            "DELETE /org",
            "POST /orgs",
            "POST /invitations",
            "PATCH /users/{userId}",
            "POST /live/tickets",
            "POST /billing/checkout",
            "",
            "GET",
        ];
        for route in never {
            assert_eq!(scope_needed(route), None, "{route}");
        }
        assert!(Scope::Write.covers(Scope::Read) && Scope::Write.covers(Scope::Write));
        assert!(Scope::Read.covers(Scope::Read) && !Scope::Read.covers(Scope::Write));
    }

    #[test]
    fn names_scopes_and_expiries_are_checked() {
        assert_eq!(parse_name("  CRM sync ").unwrap(), "CRM sync");
        assert!(parse_name(" ").is_err() && parse_name(&"x".repeat(101)).is_err() && parse_name("a\nb").is_err());
        assert_eq!(Scope::parse("write").unwrap(), Scope::Write);
        assert!(Scope::parse("admin").is_err());
        let now = at("2026-12-03T10:00:00.000Z");
        assert_eq!(parse_expiry(None, now).unwrap(), None);
        assert!(parse_expiry(Some("2026-12-03T10:00:00.000Z"), now).is_err());
        assert!(parse_expiry(Some("tomorrow"), now).is_err());
        assert!(parse_expiry(Some("2026-12-04T10:00:00.000Z"), now).unwrap().is_some());
        assert!(is_live(None, now) && is_live(Some(at("2026-12-03T10:00:00.001Z")), now));
        assert!(!is_live(Some(now), now));
    }

    #[test]
    fn the_window_is_the_calendar_minute() {
        let window = Window::of(at("2026-12-03T10:00:59.001Z"));
        assert_eq!(window.start(), at("2026-12-03T10:00:00.000Z"));
        assert_eq!(window.seconds_left, 1);
        assert_eq!(Window::of(at("2026-12-03T10:01:00.000Z")).seconds_left, 60);
        assert_eq!(Window::of(at("2026-12-03T10:01:00.000Z")).minute, window.minute + 1);
        assert_eq!(Window::of(at("2026-12-03T10:01:30.500Z")).seconds_left, 30);
    }

    #[test]
    fn last_use_is_written_once_a_minute() {
        let now = at("2026-12-03T10:00:30.000Z");
        assert!(last_use_due(None, now));
        assert!(last_use_due(Some(at("2026-12-03T09:59:00.000Z")), now));
        assert!(!last_use_due(Some(at("2026-12-03T10:00:00.000Z")), now));
        assert!(last_use_due(Some(at("2026-12-03T10:00:00.000Z")), at("2026-12-03T10:01:00.000Z")));
    }
}
