//! # attune-server
//!
//! Live, anonymous group polls for a therapy session: a therapist creates a group and, each session,
//! a poll of one catalog instrument; members join with a short code and answer on their phones; the
//! therapist sees aggregates only (`attune-core`'s group statistics, nothing below the minimum group
//! size). Storage sits behind [`Storage`]; [`Sqlite`] keeps everything in one file.

mod api;
mod limit;
mod live;
mod postgres;
pub mod site;
mod storage;

pub use api::{app, ApiError, AppState, DEFAULT_JOINS_PER_MINUTE, DEFAULT_STEM, MAX_BODY, MIN_N_FLOOR};
pub use limit::JoinLimiter;
pub use live::{Hub, SnapshotBudget, SNAPSHOT_BURST, SNAPSHOT_EVERY};
pub use postgres::Postgres;
pub use storage::{PollRow, Refused, Sqlite, Storage, StorageError, Tally, TokenHash};
