//! # attune-server
//!
//! Live, anonymous group polls for a therapy session: a therapist creates a group and, each session,
//! a poll of one catalog instrument; members join with a short code and answer on their phones; the
//! therapist sees aggregates only (`attune-core`'s group statistics, nothing below the minimum group
//! size). Storage sits behind [`Storage`]; [`Sqlite`] keeps everything in one file.

mod api;
mod inbox;
mod limit;
mod live;
pub mod site;
mod storage;

pub use api::{
    app, ApiError, AppState, Limits, ANSWER_BURST, DEFAULT_ANSWERS_PER_MINUTE, DEFAULT_GROUPS_PER_MINUTE,
    DEFAULT_JOINS_PER_MINUTE, DEFAULT_STEM, MAX_BODY, MIN_N_FLOOR,
};
pub use inbox::{
    check_forward_url, webhook_body, webhook_id, webhook_signature, Forwarding, InboxConfig,
    DEFAULT_INBOXES_PER_MINUTE, DEFAULT_INBOX_SUBMISSIONS_PER_MINUTE, DEFAULT_MAX_SUBMISSIONS,
    DEFAULT_SUBMISSIONS_PER_MINUTE, MAX_LISTED, SUITE,
};
pub use limit::{client_address, Cidr, Limiter};
pub use live::{
    Hub, SnapshotBudget, SocketCaps, DEFAULT_MAX_SOCKETS, DEFAULT_SOCKETS_PER_ADDRESS, MAX_MESSAGE, MEMBER_IDLE,
    PING_EVERY, SILENT_AFTER, SNAPSHOT_BURST, SNAPSHOT_EVERY,
};
pub use storage::{
    now as storage_now, Answered, Forward, InboxRow, InboxStore, PollRow, Postgres, Release, Sqlite, Storage,
    StorageError, SubmissionRow, Submitted, Tally, TokenHash,
};
