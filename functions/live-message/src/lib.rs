//! `$default` of the live WebSocket API: `resume` and `ping`, answered through `@connections`;
//! anything else gets an `error` frame and the connection stays open.

pub use shared::api::live::message as handle;
