//! Storage behind one trait, so that handlers never see SQL: SQLite today (one file, WAL,
//! `synchronous=FULL`), or PostgreSQL for several replicas (`crate::Postgres`). Every write that a client is told
//! about has been committed first.

use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) mod inbox;
mod postgres;
mod sqlite;

pub use inbox::{Forward, InboxRow, InboxStore, SubmissionRow, Submitted};

pub use postgres::Postgres;
pub use sqlite::Sqlite;

/// Why a storage call did nothing: the write was refused (the poll is unknown or closed, the
/// member did not join it), or the database failed. Either way nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// No such poll.
    #[error("no such poll")]
    UnknownPoll,
    /// The poll is closed.
    #[error("the poll is closed")]
    Closed,
    /// The member token did not join this poll (answers only).
    #[error("this member token did not join this poll")]
    NotMember,
    /// The database failed.
    #[error("storage: {0}")]
    Database(String),
}

impl StorageError {
    pub(crate) fn new(message: &str) -> StorageError {
        StorageError::Database(message.to_string())
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> StorageError {
        StorageError::Database(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// A member or host is known by the SHA-256 of its token, never the token itself.
pub type TokenHash = [u8; 32];

/// A poll as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRow {
    pub id: String,
    pub group_id: String,
    pub instrument: String,
    /// The join code; `None` once the poll is closed.
    pub code: Option<String>,
    pub min_n: u32,
    pub hide_until_closed: bool,
    pub open: bool,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    /// For a custom question: the generated one-item definition (JSON); `None` for catalog instruments.
    pub question: Option<String>,
    /// The stem shown above the items and whose wording it is (`therapist`, `instrument`, `attune`).
    pub stem: Option<(String, String)>,
}

/// One member's stored answers, and what the poll's releases so far have shown of them (the
/// release rule's record, opaque to storage: see `crate::api`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// Whose answers (the member token's hash).
    pub member: TokenHash,
    /// The answers as stored now (canonical JSON).
    pub answers: String,
    /// What the releases so far have shown of this member's answers; `None` before any did.
    pub released: Option<String>,
}

/// Statistics released to the host (see `crate::api`'s release rule). Stored, so the rule holds
/// across restarts and replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// 1 for a poll's first release, then 2, 3, ...
    pub seq: i64,
    /// Members whose answers it holds.
    pub n: u32,
    /// The group statistics (JSON text of `attune_core::GroupStats`).
    pub stats: String,
    /// Unix seconds.
    pub at: i64,
}

/// What a poll's aggregate is computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Members who joined.
    pub joined: u32,
    /// Each answering member's answers, as stored, in no particular order.
    pub answers: Vec<Answered>,
    /// The last release, if any.
    pub release: Option<Release>,
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// What the poll server needs from a database.
pub trait Storage: InboxStore + Clone + Send + Sync + 'static {
    /// Creates a group with its host token's hash; returns nothing the caller did not give.
    fn create_group(&self, id: &str, name: &str, host: &TokenHash) -> impl Future<Output = Result<()>> + Send;
    /// The group's name and host token hash.
    fn group(&self, id: &str) -> impl Future<Output = Result<Option<(String, TokenHash)>>> + Send;
    /// Creates an open poll. Returns `false` if the join code is taken (the caller draws another).
    fn create_poll(&self, poll: &PollRow) -> impl Future<Output = Result<bool>> + Send;
    /// One poll by id.
    fn poll(&self, id: &str) -> impl Future<Output = Result<Option<PollRow>>> + Send;
    /// The open poll with this join code.
    fn poll_by_code(&self, code: &str) -> impl Future<Output = Result<Option<PollRow>>> + Send;
    /// Every poll of a group, oldest first.
    fn polls_of_group(&self, group_id: &str) -> impl Future<Output = Result<Vec<PollRow>>> + Send;
    /// Whether a member joined this poll.
    fn is_member(&self, poll_id: &str, member: &TokenHash) -> impl Future<Output = Result<bool>> + Send;
    /// Records that a member joined an open poll (idempotent); [`StorageError::UnknownPoll`] or
    /// [`StorageError::Closed`] otherwise.
    fn join(&self, poll_id: &str, member: &TokenHash) -> impl Future<Output = Result<()>> + Send;
    /// Stores or replaces the answers of a member who joined this poll, while it is open; returns
    /// the revision (1 for the first answer). Committed before it returns.
    /// [`StorageError::UnknownPoll`], [`StorageError::Closed`] or [`StorageError::NotMember`]
    /// when it is not stored.
    fn put_response(
        &self,
        poll_id: &str,
        member: &TokenHash,
        answers_json: &str,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// Members joined, every member's answers (JSON) and the last release: for aggregation only.
    fn tally(&self, poll_id: &str) -> impl Future<Output = Result<Tally>> + Send;
    /// Stores `release` and, for the members in `included`, the new record of what releases have
    /// shown of their answers, if it directly follows the poll's last release (`release.seq` is one
    /// more); `false`, and nothing stored, when another release came first.
    fn release(
        &self,
        poll_id: &str,
        release: &Release,
        included: &[(TokenHash, String)],
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Closes a poll and retires its code; returns the poll as closed (idempotent).
    fn close_poll(&self, poll_id: &str) -> impl Future<Output = Result<Option<PollRow>>> + Send;
    /// Keeps `hub` told of changes other processes write to this store (PostgreSQL replicas:
    /// `LISTEN`/`NOTIFY`), for as long as the hub lives. A store only this process writes (SQLite)
    /// has nothing to do.
    fn follow(&self, hub: &std::sync::Arc<crate::live::Hub>) {
        let _ = hub;
    }
}

/// A token hash from a stored blob (all zeros for a blob of another length, which no token has).
pub(crate) fn hash_from(bytes: Vec<u8>) -> TokenHash {
    let mut h = [0u8; 32];
    if bytes.len() == 32 {
        h.copy_from_slice(&bytes);
    }
    h
}

/// The one row mapper of both databases: a poll from a row of `polls` selected as each
/// database's `POLL_COLUMNS` (which give `min_n` and `hide_until_closed` as 64-bit integers).
pub(crate) fn poll_from<'r, R>(row: &'r R) -> std::result::Result<PollRow, sqlx::Error>
where
    R: sqlx::Row,
    &'static str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(PollRow {
        id: row.try_get("id")?,
        group_id: row.try_get("group_id")?,
        instrument: row.try_get("instrument")?,
        code: row.try_get("code")?,
        min_n: row.try_get::<i64, _>("min_n")?.clamp(0, i64::from(u32::MAX)) as u32,
        hide_until_closed: row.try_get::<i64, _>("hide_until_closed")? != 0,
        open: row.try_get::<String, _>("status")? == "open",
        created_at: row.try_get("created_at")?,
        closed_at: row.try_get("closed_at")?,
        question: row.try_get("question")?,
        stem: match (row.try_get::<Option<String>, _>("stem")?, row.try_get::<Option<String>, _>("stem_source")?) {
            (Some(text), Some(source)) => Some((text, source)),
            _ => None,
        },
    })
}
