//! Configuration from the environment (API.md "Configuration"). Read once per cold start; a
//! missing or malformed required variable stops the cold start with an error naming it.
//!
//! Over 300 lines: one parser per variable, with its tests.

use crate::domain::plans::Plans;
use crate::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is malformed: {reason}")]
    Malformed { name: &'static str, reason: String },
    /// The secret that `name` (an ARN) points at could not be read from Secrets Manager.
    #[error("the secret in {name} could not be read: {reason}")]
    Unreadable { name: String, reason: String },
}

#[derive(Clone)]
pub struct WorkosConfig {
    /// Without a trailing slash.
    pub api_url: String,
    pub client_id: String,
    /// Only the functions that call WorkOS (or sign list cursors, whose key derives from it) get it.
    pub api_key: Option<String>,
    /// Extra accepted token issuers (custom auth domains).
    pub extra_issuers: Vec<String>,
    /// Signs WorkOS webhook deliveries; only the WorkOS webhook needs it.
    pub webhook_secret: Option<String>,
}

impl std::fmt::Debug for WorkosConfig {
    // The API key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkosConfig")
            .field("api_url", &self.api_url)
            .field("client_id", &self.client_id)
            .field("extra_issuers", &self.extra_issuers)
            .finish_non_exhaustive()
    }
}

/// What the billing functions need from the environment.
#[derive(Clone)]
pub struct LemonSqueezyConfig {
    pub api_url: String,
    pub api_key: Option<String>,
    pub store_id: Option<String>,
    pub webhook_secret: Option<String>,
    /// Keys the checkout tag (`CheckoutTag`): only the functions that make or check tags get it,
    /// so the user-facing checkout route holds no key that could forge a billing event.
    pub checkout_tag_secret: Option<String>,
    pub allow_test_mode: bool,
}

impl std::fmt::Debug for LemonSqueezyConfig {
    // Keys and secrets never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LemonSqueezyConfig")
            .field("api_url", &self.api_url)
            .field("store_id", &self.store_id)
            .field("allow_test_mode", &self.allow_test_mode)
            .finish_non_exhaustive()
    }
}

/// What the functions read from the environment. Lemon Squeezy settings are optional here;
/// the functions that need one check for it at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub workos: WorkosConfig,
    pub lemonsqueezy: LemonSqueezyConfig,
    pub plans: Plans,
    /// How long audit entries are kept, in days (`AUDIT_RETENTION_DAYS`, default 365).
    pub audit_retention_days: u32,
    /// The WebSocket URL a live ticket is for (`LIVE_URL`): the WebSocket API's stage URL, or the
    /// local gateway's `ws://…/live`.
    pub live_url: Option<String>,
    /// The management API (`@connections`) endpoint (`LIVE_MANAGEMENT_URL`): the stage's https URL.
    pub live_management_url: Option<String>,
    /// Where the WorkOS Admin Portal sends the IT admin back (`PORTAL_RETURN_URL`, http(s)); none:
    /// WorkOS's default for the environment.
    pub portal_return_url: Option<String>,
    /// Each API key's budget of requests a minute (`API_KEY_REQUESTS_PER_MINUTE`, default 600).
    pub api_key_requests_per_minute: u32,
}

/// An API key's budget of requests a minute when `API_KEY_REQUESTS_PER_MINUTE` is not set.
pub const DEFAULT_API_KEY_REQUESTS_PER_MINUTE: u32 = 600;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup`, so tests can configure without touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));

        let api_url = get("WORKOS_API_URL").unwrap_or_else(|| "https://api.workos.com".into());
        let api_url = parse_base_url("WORKOS_API_URL", &api_url)?;
        let extra_issuers = get("WORKOS_ISSUERS")
            .map(|list| list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let plans = match get("PLANS") {
            None => Plans::default(),
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| ConfigError::Malformed { name: "PLANS", reason: e.to_string() })?,
        };
        let audit_retention_days = match get("AUDIT_RETENTION_DAYS") {
            None => crate::domain::audit::DEFAULT_RETENTION_DAYS,
            Some(text) => text.trim().parse().ok().filter(|days| (1..=3650).contains(days)).ok_or_else(|| {
                ConfigError::Malformed {
                    name: "AUDIT_RETENTION_DAYS",
                    reason: format!("must be 1 to 3650 days, not {text}"),
                }
            })?,
        };
        let portal_return_url =
            get("PORTAL_RETURN_URL").map(|url| parse_base_url("PORTAL_RETURN_URL", &url)).transpose()?;
        let api_key_requests_per_minute = match get("API_KEY_REQUESTS_PER_MINUTE") {
            None => DEFAULT_API_KEY_REQUESTS_PER_MINUTE,
            Some(text) => text.trim().parse().ok().filter(|n| *n >= 1).ok_or_else(|| ConfigError::Malformed {
                name: "API_KEY_REQUESTS_PER_MINUTE",
                reason: format!("must be a whole number of at least 1, not {text}"),
            })?,
        };
        Ok(Self {
            portal_return_url,
            api_key_requests_per_minute,
            live_url: get("LIVE_URL"),
            live_management_url: get("LIVE_MANAGEMENT_URL"),
            table_name: required("TABLE_NAME")?,
            workos: WorkosConfig {
                api_url,
                client_id: required("WORKOS_CLIENT_ID")?,
                api_key: get("WORKOS_API_KEY"),
                extra_issuers,
                webhook_secret: get("WORKOS_WEBHOOK_SECRET"),
            },
            lemonsqueezy: LemonSqueezyConfig {
                api_url: parse_base_url(
                    "LEMONSQUEEZY_API_URL",
                    &get("LEMONSQUEEZY_API_URL").unwrap_or_else(|| "https://api.lemonsqueezy.com".into()),
                )?,
                api_key: get("LEMONSQUEEZY_API_KEY"),
                store_id: get("LEMONSQUEEZY_STORE_ID"),
                webhook_secret: get("LEMONSQUEEZY_WEBHOOK_SECRET"),
                checkout_tag_secret: get("CHECKOUT_TAG_SECRET"),
                allow_test_mode: match get("LEMONSQUEEZY_ALLOW_TEST_MODE").as_deref().map(str::trim) {
                    None | Some("false") | Some("0") => false,
                    Some("true") | Some("1") => true,
                    Some(other) => {
                        return Err(ConfigError::Malformed {
                            name: "LEMONSQUEEZY_ALLOW_TEST_MODE",
                            reason: format!("must be true or false, not {other}"),
                        });
                    }
                },
            },
            plans,
            audit_retention_days,
        })
    }

    /// An optional setting that this function cannot work without: its value, or an error
    /// naming it (at cold start, and as a 503 if a request still meets it unset).
    pub fn require(&self, setting: Setting) -> Result<&str, ConfigError> {
        let value = match setting {
            Setting::LemonSqueezyWebhookSecret => &self.lemonsqueezy.webhook_secret,
            Setting::CheckoutTagSecret => &self.lemonsqueezy.checkout_tag_secret,
            Setting::LemonSqueezyApiKey => &self.lemonsqueezy.api_key,
            Setting::LemonSqueezyStoreId => &self.lemonsqueezy.store_id,
            Setting::WorkosWebhookSecret => &self.workos.webhook_secret,
            Setting::WorkosApiKey => &self.workos.api_key,
        };
        value.as_deref().ok_or(ConfigError::Missing(setting.name()))
    }
}

/// Settings only some functions need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    LemonSqueezyWebhookSecret,
    CheckoutTagSecret,
    LemonSqueezyApiKey,
    LemonSqueezyStoreId,
    WorkosWebhookSecret,
    WorkosApiKey,
}

impl Setting {
    pub const ALL: [Self; 6] = [
        Self::LemonSqueezyWebhookSecret,
        Self::CheckoutTagSecret,
        Self::LemonSqueezyApiKey,
        Self::LemonSqueezyStoreId,
        Self::WorkosWebhookSecret,
        Self::WorkosApiKey,
    ];

    /// Whether its value is a secret: deployed in Secrets Manager, its ARN in `<NAME>_SECRET_ARN`,
    /// never its value in a function's configuration.
    pub fn is_secret(self) -> bool {
        !matches!(self, Self::LemonSqueezyStoreId)
    }

    /// The environment variable that holds the ARN of this secret's Secrets Manager secret.
    pub fn secret_arn_variable(self) -> String {
        format!("{}_SECRET_ARN", self.name())
    }

    /// The environment variable.
    pub fn name(self) -> &'static str {
        match self {
            Self::LemonSqueezyWebhookSecret => "LEMONSQUEEZY_WEBHOOK_SECRET",
            Self::CheckoutTagSecret => "CHECKOUT_TAG_SECRET",
            Self::LemonSqueezyApiKey => "LEMONSQUEEZY_API_KEY",
            Self::LemonSqueezyStoreId => "LEMONSQUEEZY_STORE_ID",
            Self::WorkosWebhookSecret => "WORKOS_WEBHOOK_SECRET",
            Self::WorkosApiKey => "WORKOS_API_KEY",
        }
    }
}

impl From<ConfigError> for ApiError {
    /// A setting missing at request time is the deployment's fault: 500, named in the log.
    fn from(error: ConfigError) -> Self {
        ApiError::Misconfigured(Box::new(error))
    }
}

/// Checks that a base URL is http(s) and drops a trailing slash.
pub fn parse_base_url(name: &'static str, value: &str) -> Result<String, ConfigError> {
    let trimmed = value.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| ConfigError::Malformed { name, reason: "must start with http:// or https://".into() })?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(ConfigError::Malformed { name, reason: "must name a host".into() });
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    const BASE: &[(&str, &str)] = &[("TABLE_NAME", "t"), ("WORKOS_CLIENT_ID", "client_1"), ("WORKOS_API_KEY", "sk")];

    #[test]
    fn the_workos_api_key_is_optional_until_required() {
        let config = Config::from_lookup(env(&[("TABLE_NAME", "t"), ("WORKOS_CLIENT_ID", "c")])).unwrap();
        let error = config.require(Setting::WorkosApiKey).unwrap_err();
        assert_eq!(error.to_string(), "environment variable WORKOS_API_KEY is required but not set");
        assert_eq!(Setting::WorkosApiKey.secret_arn_variable(), "WORKOS_API_KEY_SECRET_ARN");
    }

    #[test]
    fn missing_required_variable_is_named() {
        let error = Config::from_lookup(env(&[("TABLE_NAME", "t")])).unwrap_err();
        assert_eq!(error.to_string(), "environment variable WORKOS_CLIENT_ID is required but not set");
    }

    #[test]
    fn malformed_plans_is_named() {
        let mut pairs = BASE.to_vec();
        pairs.push(("PLANS", "{\"free\": 1}"));
        let error = Config::from_lookup(env(&pairs)).unwrap_err();
        assert!(error.to_string().starts_with("environment variable PLANS is malformed"), "{error}");
    }

    #[test]
    fn malformed_url_is_named() {
        let mut pairs = BASE.to_vec();
        pairs.push(("WORKOS_API_URL", "api.workos.com"));
        let error = Config::from_lookup(env(&pairs)).unwrap_err();
        assert!(error.to_string().contains("WORKOS_API_URL"), "{error}");
    }

    #[test]
    fn the_portal_return_url_is_optional_and_must_be_http() {
        assert_eq!(Config::from_lookup(env(BASE)).unwrap().portal_return_url, None);
        let mut pairs = BASE.to_vec();
        pairs.push(("PORTAL_RETURN_URL", "https://app.example.com/settings/"));
        let config = Config::from_lookup(env(&pairs)).unwrap();
        assert_eq!(config.portal_return_url.as_deref(), Some("https://app.example.com/settings"));
        let mut bad = BASE.to_vec();
        bad.push(("PORTAL_RETURN_URL", "javascript:alert(1)"));
        let error = Config::from_lookup(env(&bad)).unwrap_err();
        assert!(error.to_string().contains("PORTAL_RETURN_URL"), "{error}");
    }

    #[test]
    fn the_api_key_budget_defaults_to_600_and_must_be_positive() {
        let config = Config::from_lookup(env(BASE)).unwrap();
        assert_eq!(config.api_key_requests_per_minute, DEFAULT_API_KEY_REQUESTS_PER_MINUTE);
        let mut pairs = BASE.to_vec();
        pairs.push(("API_KEY_REQUESTS_PER_MINUTE", "20"));
        assert_eq!(Config::from_lookup(env(&pairs)).unwrap().api_key_requests_per_minute, 20);
        for bad in ["0", "-1", "many"] {
            let mut pairs = BASE.to_vec();
            pairs.push(("API_KEY_REQUESTS_PER_MINUTE", bad));
            let error = Config::from_lookup(env(&pairs)).unwrap_err();
            assert!(error.to_string().contains("API_KEY_REQUESTS_PER_MINUTE"), "{error}");
        }
    }

    #[test]
    fn defaults_and_lists() {
        let mut pairs = BASE.to_vec();
        pairs.push(("WORKOS_ISSUERS", " https://auth.example.com , ,https://b.example.com/"));
        pairs.push((
            "PLANS",
            r#"{"free":{"name":"Free","maxCustomers":1,"maxStaff":2,"maxClients":3},"variants":{"9":{"name":"Pro","maxCustomers":10,"maxStaff":20,"maxClients":30}}}"#,
        ));
        let config = Config::from_lookup(env(&pairs)).unwrap();
        assert_eq!(config.workos.api_url, "https://api.workos.com");
        assert_eq!(config.workos.extra_issuers, vec!["https://auth.example.com", "https://b.example.com/"]);
        assert_eq!(config.plans.variants["9"].max_staff, 20);
        assert!(!format!("{:?}", config.workos).contains("sk"));
    }
}
