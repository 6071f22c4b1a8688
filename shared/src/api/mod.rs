//! The HTTP face of the functions: request bodies, response views, request parsing and
//! problem+json, and the Lambda entry points every function's `main` calls.

pub mod bodies;
pub mod caller;
pub mod export;
pub mod http;
pub mod lambda;
pub mod live;
mod refusals;
pub mod views;
