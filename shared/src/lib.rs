//! What every function shares. Organised by concern: `auth` (token checks), `access` (who the
//! caller is in their organization), `store` (the DynamoDB table), `http` (requests, responses,
//! problem+json), `config`, `workos` (the WorkOS client), `error` (statuses in one place).

pub mod access;
pub mod auth;
pub mod billing;
pub mod config;
pub mod crypto;
pub mod customers;
pub mod error;
pub mod http;
pub mod ids;
pub mod lambda;
pub mod lemonsqueezy;
pub mod members;
pub mod org;
pub mod outbound;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod timestamp;
pub mod workos;

pub use error::ApiError;
pub use timestamp::Timestamp;

use config::Config;
use store::{CursorKey, Store};

/// Clients and configuration, built once per cold start and shared by every invocation.
pub struct Deps {
    http: outbound::LazyHttp,
    pub config: Config,
    pub store: Store,
    pub tokens: auth::TokenVerifier,
    pub workos: workos::WorkosClient,
    pub lemonsqueezy: lemonsqueezy::LemonSqueezyClient,
    /// Users this warm function found not to be members, for a short while.
    not_members: access::NotMemberCache,
}

impl Deps {
    /// Reads the environment and builds the clients; an error names what is missing.
    pub async fn from_env() -> Result<Self, config::ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(config, aws_sdk_dynamodb::Client::new(&sdk)))
    }

    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client) -> Self {
        // One HTTP client (one TLS setup, one connection pool) for the JWKS, WorkOS and Lemon
        // Squeezy, built on first use.
        let http = outbound::LazyHttp::default();
        let cursor_key = CursorKey::derive(&config.workos.api_key);
        Self {
            store: Store::new(dynamodb, config.table_name.clone(), cursor_key),
            tokens: auth::TokenVerifier::new(http.clone(), &config.workos),
            workos: workos::WorkosClient::new(http.clone(), &config.workos),
            lemonsqueezy: lemonsqueezy::LemonSqueezyClient::new(http.clone(), config.lemonsqueezy.clone()),
            not_members: access::NotMemberCache::default(),
            http,
            config,
        }
    }

    /// The same dependencies with a WorkOS client that retries as `patience` says (jobs wait
    /// out rate limits that a request would not).
    pub fn with_workos_patience(&self, patience: outbound::Patience) -> Self {
        Self {
            http: self.http.clone(),
            config: self.config.clone(),
            store: self.store.clone(),
            tokens: auth::TokenVerifier::new(self.http.clone(), &self.config.workos),
            workos: self.workos.with_patience(patience),
            lemonsqueezy: self.lemonsqueezy.clone(),
            not_members: self.not_members.clone(),
        }
    }
}
