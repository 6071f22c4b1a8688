//! `$connect` of the live WebSocket API: uses the ticket in the query string and stores the
//! connection under the ticket's organization; 401 refuses the upgrade.

pub use shared::api::live::connect as handle;
