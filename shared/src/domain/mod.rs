//! The rules of the product, free of I/O and clocks (a rule that depends on time takes `now`):
//! roles, usage and its limits, plans and entitlement, billing states, request-field validation,
//! ids, and access decisions. Each rule has its unit tests beside it.

pub mod access;
pub mod api_keys;
pub mod audit;
pub mod billing;
pub mod billing_summary;
pub mod deletion;
pub mod ids;
pub mod lemonsqueezy;
pub mod live;
pub mod plans;
pub mod portal;
pub mod roles;
pub mod usage;
pub mod validation;
pub mod visibility;

pub use roles::Role;
pub use usage::{Usage, UsageChange};
