//! What every function shares, in layers. Each layer uses only the layers below it:
//!
//! 1. `timestamp`, `crypto`, `error`, `telemetry`: the vocabulary (one time type, digests, the
//!    errors a client can meet and their statuses, structured logs).
//! 2. `domain`: the rules (roles, usage and limits, plans and entitlement, billing states,
//!    validation, ids, access decisions). No I/O, no clock, no SDK types.
//! 3. `config`: settings from the environment, parsed into domain types.
//! 4. `store` (the DynamoDB table, cut by entity) and `clients` (WorkOS, Lemon Squeezy, token
//!    checks, the outbound policy) side by side; neither uses the other.
//! 5. `flows`: operations that combine the store and the clients, run on [`Deps`].
//! 6. `api`: request bodies, response views, HTTP parsing and problem+json, and the Lambda entry
//!    points every function's `main` calls.
//!
//! `tests/layers.rs` fails the build of the tests when a module imports from a layer above it.

pub mod api;
pub mod clients;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod flows;
pub mod store;
pub mod telemetry;
pub mod timestamp;

pub use error::ApiError;
pub use flows::Deps;
pub use timestamp::Timestamp;
