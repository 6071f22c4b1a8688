//! `convex-import`: an organization's data from a Convex snapshot into the table (API.md,
//! "Import from Convex"; docs/import.md). Layers, downward only: `snapshot` (the ZIP, line by
//! line), `rows` (a line as a typed row, with the field map), `run` (the import against WorkOS,
//! the store and Lemon Squeezy, dry or applied), `report` (what it found and did).

pub mod report;
pub mod rows;
pub mod run;
pub mod snapshot;
