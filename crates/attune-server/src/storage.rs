//! Storage behind one trait, so that handlers never see SQL: SQLite today (one file, WAL,
//! `synchronous=FULL`), or PostgreSQL for several replicas (`crate::Postgres`). Every write that a client is told
//! about has been committed first.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

/// A storage failure: the request cannot be served, nothing was changed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("storage: {0}")]
pub struct StorageError(String);

impl StorageError {
    pub(crate) fn new(message: &str) -> StorageError {
        StorageError(message.to_string())
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> StorageError {
        StorageError(e.to_string())
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

/// What a poll's aggregate is computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Members who joined (or answered without joining first).
    pub joined: u32,
    /// Each answering member's answers, as stored.
    pub answers: Vec<String>,
}

/// Why an answer was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No such poll.
    UnknownPoll,
    /// The poll is closed.
    Closed,
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// What the poll server needs from a database.
pub trait Storage: Clone + Send + Sync + 'static {
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
    /// Records that a member joined an open poll (idempotent).
    fn join(
        &self,
        poll_id: &str,
        member: &TokenHash,
    ) -> impl Future<Output = Result<std::result::Result<(), Refused>>> + Send;
    /// Stores or replaces a member's answers while the poll is open; returns the revision (1 for
    /// the first answer). Committed before it returns.
    fn put_response(
        &self,
        poll_id: &str,
        member: &TokenHash,
        answers_json: &str,
    ) -> impl Future<Output = Result<std::result::Result<i64, Refused>>> + Send;
    /// Members joined and every member's answers (JSON), in no particular order: for aggregation only.
    fn tally(&self, poll_id: &str) -> impl Future<Output = Result<Tally>> + Send;
    /// Closes a poll and retires its code; returns the poll as closed (idempotent).
    fn close_poll(&self, poll_id: &str) -> impl Future<Output = Result<Option<PollRow>>> + Send;
}

/// SQLite storage in one file. Members' joins and answers, the bulk of the writes, go to one writer
/// task that commits them in batches (group commit): every answer that arrived while the last
/// commit was syncing goes into the next transaction, and each is acknowledged only after the
/// commit that holds it. The rare writes (groups, polls, closing) use their own connection; every
/// write transaction is `BEGIN IMMEDIATE`, so the two take turns without a lock upgrade failing.
/// Reads use a pool beside them (WAL lets them run while a write commits).
#[derive(Debug, Clone)]
pub struct Sqlite {
    read: SqlitePool,
    write: SqlitePool,
    jobs: mpsc::Sender<Job>,
    /// Polls already read, by id: every answer and every snapshot needs its poll, and a poll changes
    /// only when this process closes it. (One server process per database file.)
    polls: Arc<RwLock<HashMap<String, PollRow>>>,
}

/// Most joins and answers committed in one transaction.
const MAX_BATCH: usize = 512;

type Reply<T> = oneshot::Sender<Result<std::result::Result<T, Refused>>>;

/// A write for the group-commit task.
#[derive(Debug)]
enum Job {
    Join { poll: String, member: TokenHash, reply: Reply<()> },
    Put { poll: String, member: TokenHash, answers: String, reply: Reply<i64> },
}

/// The outcome of one job inside a batch, sent once the batch committed.
enum Done {
    Join(std::result::Result<(), Refused>),
    Put(std::result::Result<i64, Refused>),
}

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

async fn status(conn: &mut Tx, poll: &str) -> std::result::Result<std::result::Result<(), Refused>, sqlx::Error> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM polls WHERE id = ?").bind(poll).fetch_optional(&mut **conn).await?;
    Ok(match status.as_deref() {
        None => Err(Refused::UnknownPoll),
        Some("open") => Ok(()),
        Some(_) => Err(Refused::Closed),
    })
}

/// A poll's status within one batch (no other writer runs while the batch holds the write lock).
async fn cached_status(
    conn: &mut Tx,
    seen: &mut HashMap<String, std::result::Result<(), Refused>>,
    poll: &str,
) -> std::result::Result<std::result::Result<(), Refused>, sqlx::Error> {
    if let Some(s) = seen.get(poll) {
        return Ok(*s);
    }
    let s = status(conn, poll).await?;
    seen.insert(poll.to_string(), s);
    Ok(s)
}

async fn apply(
    conn: &mut Tx,
    seen: &mut HashMap<String, std::result::Result<(), Refused>>,
    job: &Job,
) -> std::result::Result<Done, sqlx::Error> {
    match job {
        Job::Join { poll, member, .. } => {
            if let Err(r) = cached_status(conn, seen, poll).await? {
                return Ok(Done::Join(Err(r)));
            }
            sqlx::query("INSERT INTO members (poll_id, member_hash) VALUES (?, ?) ON CONFLICT DO NOTHING")
                .bind(poll)
                .bind(&member[..])
                .execute(&mut **conn)
                .await?;
            Ok(Done::Join(Ok(())))
        }
        Job::Put { poll, member, answers, .. } => {
            // A member who answers without having joined counts as joined (see `counts`).
            if let Err(r) = cached_status(conn, seen, poll).await? {
                return Ok(Done::Put(Err(r)));
            }
            let revision: i64 = sqlx::query_scalar(
                "INSERT INTO responses (poll_id, member_hash, answers, revision) VALUES (?, ?, ?, 1)
                 ON CONFLICT (poll_id, member_hash) DO UPDATE SET answers = excluded.answers, revision = revision + 1
                 RETURNING revision",
            )
            .bind(poll)
            .bind(&member[..])
            .bind(answers)
            .fetch_one(&mut **conn)
            .await?;
            Ok(Done::Put(Ok(revision)))
        }
    }
}

/// Applies a batch in one transaction; all or nothing.
async fn commit_batch(pool: &SqlitePool, batch: &[Job]) -> std::result::Result<Vec<Done>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut done = Vec::with_capacity(batch.len());
    let mut seen = HashMap::new();
    for job in batch {
        // On an error the transaction is dropped, which rolls it back.
        done.push(apply(&mut tx, &mut seen, job).await?);
    }
    tx.commit().await?;
    Ok(done)
}

/// The group-commit task: runs until every `Sqlite` handle is dropped.
async fn writer(pool: SqlitePool, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match commit_batch(&pool, &batch).await {
            Ok(done) => {
                for (job, d) in batch.drain(..).zip(done) {
                    match (job, d) {
                        (Job::Join { reply, .. }, Done::Join(r)) => drop(reply.send(Ok(r))),
                        (Job::Put { reply, .. }, Done::Put(r)) => drop(reply.send(Ok(r))),
                        _ => {}
                    }
                }
            }
            Err(e) => {
                let e = StorageError::from(e);
                for job in batch.drain(..) {
                    match job {
                        Job::Join { reply, .. } => drop(reply.send(Err(e.clone()))),
                        Job::Put { reply, .. } => drop(reply.send(Err(e.clone()))),
                    }
                }
            }
        }
    }
}

impl Sqlite {
    fn remember(&self, poll: &PollRow) {
        if let Ok(mut polls) = self.polls.write() {
            polls.insert(poll.id.clone(), poll.clone());
        }
    }

    async fn submit<T>(
        &self,
        job: Job,
        reply: oneshot::Receiver<Result<std::result::Result<T, Refused>>>,
    ) -> Result<std::result::Result<T, Refused>> {
        let gone = || StorageError("the writer has stopped".into());
        self.jobs.send(job).await.map_err(|_| gone())?;
        reply.await.map_err(|_| gone())?
    }
}

/// Migrations, embedded and applied in order at start-up; `user_version` records how far.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_polls.sql"),
    include_str!("../migrations/0002_custom_questions.sql"),
    include_str!("../migrations/0003_stems.sql"),
];

impl Sqlite {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Sqlite> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let write = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        let read = SqlitePoolOptions::new().max_connections(8).connect_with(options.clone()).await?;
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let store = Sqlite { read, write, jobs: tx, polls: Arc::default() };
        store.migrate().await?;
        let batches = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
        tokio::spawn(writer(batches, rx));
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        let version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut *tx).await?;
        for (k, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::raw_sql(&format!("PRAGMA user_version = {}", k + 1)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn hash_from(bytes: Vec<u8>) -> TokenHash {
    let mut h = [0u8; 32];
    if bytes.len() == 32 {
        h.copy_from_slice(&bytes);
    }
    h
}

fn poll_from(row: &sqlx::sqlite::SqliteRow) -> std::result::Result<PollRow, sqlx::Error> {
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

const POLL_COLUMNS: &str =
    "id, group_id, instrument, code, min_n, hide_until_closed, status, created_at, closed_at, question, stem, stem_source";

impl Storage for Sqlite {
    async fn create_group(&self, id: &str, name: &str, host: &TokenHash) -> Result<()> {
        sqlx::query("INSERT INTO groups (id, name, host_token_hash, created_at) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(name)
            .bind(&host[..])
            .bind(now())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn group(&self, id: &str) -> Result<Option<(String, TokenHash)>> {
        let row = sqlx::query("SELECT name, host_token_hash FROM groups WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(match row {
            Some(r) => Some((r.try_get("name")?, hash_from(r.try_get("host_token_hash")?))),
            None => None,
        })
    }

    async fn create_poll(&self, p: &PollRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO polls (id, group_id, instrument, code, min_n, hide_until_closed, status, created_at, question,
                                stem, stem_source)
             VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING",
        )
        .bind(&p.id)
        .bind(&p.group_id)
        .bind(&p.instrument)
        .bind(&p.code)
        .bind(i64::from(p.min_n))
        .bind(i64::from(p.hide_until_closed))
        .bind(p.created_at)
        .bind(&p.question)
        .bind(p.stem.as_ref().map(|s| &s.0))
        .bind(p.stem.as_ref().map(|s| &s.1))
        .execute(&self.write)
        .await?;
        let created = done.rows_affected() == 1;
        if created {
            self.remember(p);
        }
        Ok(created)
    }

    async fn poll(&self, id: &str) -> Result<Option<PollRow>> {
        if let Some(p) = self.polls.read().ok().and_then(|polls| polls.get(id).cloned()) {
            return Ok(Some(p));
        }
        let row = sqlx::query(&format!("SELECT {POLL_COLUMNS} FROM polls WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        let poll = row.as_ref().map(poll_from).transpose()?;
        if let Some(p) = &poll {
            self.remember(p);
        }
        Ok(poll)
    }

    async fn poll_by_code(&self, code: &str) -> Result<Option<PollRow>> {
        let row = sqlx::query(&format!("SELECT {POLL_COLUMNS} FROM polls WHERE code = ? AND status = 'open'"))
            .bind(code)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(poll_from).transpose()?)
    }

    async fn polls_of_group(&self, group_id: &str) -> Result<Vec<PollRow>> {
        let rows =
            sqlx::query(&format!("SELECT {POLL_COLUMNS} FROM polls WHERE group_id = ? ORDER BY created_at, rowid"))
                .bind(group_id)
                .fetch_all(&self.read)
                .await?;
        Ok(rows.iter().map(poll_from).collect::<std::result::Result<_, _>>()?)
    }

    async fn join(&self, poll_id: &str, member: &TokenHash) -> Result<std::result::Result<(), Refused>> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Join { poll: poll_id.to_string(), member: *member, reply }, rx).await
    }

    async fn put_response(
        &self,
        poll_id: &str,
        member: &TokenHash,
        answers_json: &str,
    ) -> Result<std::result::Result<i64, Refused>> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Put { poll: poll_id.to_string(), member: *member, answers: answers_json.to_string(), reply };
        self.submit(job, rx).await
    }

    async fn tally(&self, poll_id: &str) -> Result<Tally> {
        // One query: the answers, then one row with the joined count (answers NULL).
        let rows: Vec<(Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT answers, NULL FROM responses WHERE poll_id = ?1
             UNION ALL
             SELECT NULL, (SELECT count(*) FROM (SELECT member_hash FROM members WHERE poll_id = ?1
                                                 UNION SELECT member_hash FROM responses WHERE poll_id = ?1))",
        )
        .bind(poll_id)
        .fetch_all(&self.read)
        .await?;
        let mut tally = Tally::default();
        for (answers, joined) in rows {
            match (answers, joined) {
                (Some(a), _) => tally.answers.push(a),
                (None, Some(n)) => tally.joined = n.clamp(0, i64::from(u32::MAX)) as u32,
                (None, None) => {}
            }
        }
        Ok(tally)
    }

    async fn close_poll(&self, poll_id: &str) -> Result<Option<PollRow>> {
        sqlx::query("UPDATE polls SET status = 'closed', code = NULL, closed_at = ? WHERE id = ? AND status = 'open'")
            .bind(now())
            .bind(poll_id)
            .execute(&self.write)
            .await?;
        if let Ok(mut polls) = self.polls.write() {
            polls.remove(poll_id);
        }
        self.poll(poll_id).await
    }
}
