//! One HTTP client per cold start, built on first use: reading and parsing the system's root
//! certificates costs milliseconds, which a function that never calls out should not pay.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

#[derive(Clone, Default)]
pub struct LazyHttp(Arc<OnceLock<reqwest::Client>>);

impl LazyHttp {
    pub fn get(&self) -> &reqwest::Client {
        self.0.get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(6))
                .user_agent(concat!("saas-backend/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default()
        })
    }
}
