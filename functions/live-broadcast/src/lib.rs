//! The table's stream in, each change told to the members who may see it (see
//! `shared::flows::live`); answers the records that failed, for the event source mapping to retry.

pub use shared::api::live::broadcast as handle;
