//! `$disconnect` of the live WebSocket API: forgets the connection.

pub use shared::api::live::disconnect as handle;
