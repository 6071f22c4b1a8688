//! The services this backend calls: WorkOS (its API, and the JWKS that tokens are checked
//! against), Lemon Squeezy, and the outbound policy they share (one HTTP client, timeouts,
//! retries, logs without bodies). None of them knows the table.

pub mod lemonsqueezy;
pub mod live;
pub mod outbound;
pub mod secrets;
pub mod tls;
pub mod tokens;
pub mod workos;
