//! The operations that combine the store and the clients: who the caller is (with just-in-time
//! provisioning), the customers a caller may see, billing event processing, and the WorkOS
//! mirror. They run on [`Deps`], built once per cold start.

pub mod access;
mod api_keys;
pub mod billing;
mod caller;
pub mod credential;
pub mod customers;
pub mod deletion;
pub mod live;
mod not_members;
pub mod sync;

use crate::clients::lemonsqueezy::LemonSqueezyClient;
use crate::clients::live::LiveConnections;
use crate::clients::outbound::{LazyHttp, Patience};
use crate::clients::tokens::TokenVerifier;
use crate::clients::workos::WorkosClient;
use crate::config::{Config, ConfigError};
use crate::store::{CursorKey, Store};

/// Clients and configuration, built once per cold start and shared by every invocation.
pub struct Deps {
    http: LazyHttp,
    pub config: Config,
    pub store: Store,
    pub tokens: TokenVerifier,
    pub workos: WorkosClient,
    pub lemonsqueezy: LemonSqueezyClient,
    /// The WebSocket API's `@connections` (for the live functions; `LIVE_MANAGEMENT_URL`).
    pub live: Option<LiveConnections>,
    /// Users this warm function found not to be members, for a short while.
    not_members: access::NotMemberCache,
    /// API keys this warm function found past their budget, for the rest of that minute.
    spent_keys: api_keys::SpentKeys,
}

impl Deps {
    /// Reads the environment and builds the clients; an error names what is missing.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = aws_sdk_config().await?;
        let env = |name: &str| std::env::var(name).ok();
        let secrets = crate::clients::secrets::resolve(&sdk, env).await?;
        // A secret read from Secrets Manager wins over a plain variable of the same name.
        let config = Config::from_lookup(|name| secrets.get(name).cloned().or_else(|| env(name)))?;
        let live = config.live_management_url.as_deref().map(|url| LiveConnections::at(&sdk, url));
        Ok(Self { live, ..Self::new(config, aws_sdk_dynamodb::Client::new(&sdk)) })
    }

    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client) -> Self {
        // One HTTP client (one TLS setup, one connection pool) for the JWKS, WorkOS and Lemon
        // Squeezy, built on first use.
        let http = LazyHttp::default();
        // List cursors are signed with a key derived from the WorkOS API key: the functions
        // that list have it (they call WorkOS to provision members); the others sign nothing.
        let cursor_key = config.workos.api_key.as_deref().map(CursorKey::derive);
        Self {
            store: Store::new(dynamodb, config.table_name.clone(), cursor_key)
                .with_audit_retention(config.audit_retention_days),
            tokens: TokenVerifier::new(http.clone(), &config.workos),
            workos: WorkosClient::new(http.clone(), &config.workos),
            lemonsqueezy: LemonSqueezyClient::new(http.clone(), config.lemonsqueezy.clone()),
            live: None,
            not_members: access::NotMemberCache::default(),
            spent_keys: api_keys::SpentKeys::default(),
            http,
            config,
        }
    }

    /// The same dependencies with a WorkOS client that retries as `patience` says (jobs wait
    /// out rate limits that a request would not).
    pub fn with_workos_patience(&self, patience: Patience) -> Self {
        Self {
            http: self.http.clone(),
            config: self.config.clone(),
            store: self.store.clone(),
            tokens: TokenVerifier::new(self.http.clone(), &self.config.workos),
            workos: self.workos.with_patience(patience),
            lemonsqueezy: self.lemonsqueezy.clone(),
            live: self.live.clone(),
            not_members: self.not_members.clone(),
            spent_keys: self.spent_keys.clone(),
        }
    }

    /// The same dependencies posting live frames through `live`.
    pub fn with_live(self, live: LiveConnections) -> Self {
        Self { live: Some(live), ..self }
    }
}

/// The AWS SDK's configuration. Lambda puts the role's credentials and the region in the
/// environment, so only those are read: the default chain would also build an STS client for web
/// identity and read profile files, the most expensive part of a cold start. Without credentials
/// in the environment (a developer's machine with a profile), the default chain decides.
async fn aws_sdk_config() -> Result<aws_config::SdkConfig, ConfigError> {
    let http = crate::clients::tls::aws_sdk_client()
        .map_err(|reason| ConfigError::Unreadable { name: "the AWS trust store".into(), reason })?;
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let loader = match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        (Some(_), Some(_)) => {
            loader.credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new())
        }
        _ => loader,
    };
    let loader = match env("AWS_REGION") {
        Some(region) => loader.region(aws_config::Region::new(region)),
        None => loader,
    };
    Ok(loader.load().await)
}

/// Sleeps before another try, so that concurrent writers of one item that lost a race to each
/// other do not read and write again in step.
pub(crate) async fn step_apart(attempt: u32) {
    tokio::time::sleep(backoff(attempt, ulid::Ulid::new().random() as u64)).await;
}

/// Capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff
/// and Jitter"): a delay drawn from 0 up to `min(CAP, BASE·2^attempt)`. With a fixed small
/// window, dozens of writers of one org item kept meeting again, and some ran out of tries.
fn backoff(attempt: u32, random: u64) -> std::time::Duration {
    const BASE_MS: u64 = 4;
    const CAP_MS: u64 = 200;
    let ceiling = BASE_MS.saturating_mul(1 << attempt.min(16)).min(CAP_MS);
    std::time::Duration::from_millis(random % (ceiling + 1))
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_its_window_up_to_the_cap() {
        assert_eq!(backoff(0, u64::MAX - 1), Duration::from_millis(4)); // the window's top
        assert_eq!(backoff(0, 0), Duration::ZERO);
        assert_eq!(backoff(1, 8), Duration::from_millis(8));
        assert_eq!(backoff(3, 32), Duration::from_millis(32));
        assert_eq!(backoff(3, 33), Duration::ZERO);
        for attempt in [6, 12, 40, u32::MAX] {
            assert!(backoff(attempt, 200) == Duration::from_millis(200), "attempt {attempt}");
            assert!(backoff(attempt, 201) == Duration::ZERO, "attempt {attempt}");
        }
    }
}
