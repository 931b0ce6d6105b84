//! PostgreSQL storage, for several server replicas behind one database. The same contract as
//! [`crate::Sqlite`]: every write a client is told about has been committed (PostgreSQL's default
//! `synchronous_commit = on`), answers to a closed poll are refused inside the same transaction
//! that would store them (the poll row is locked `FOR SHARE`, so a concurrent close waits), and no
//! poll state is cached in the process, so replicas agree.
//!
//! Live updates across replicas: every write a dashboard or member shows (a join, an answer, a
//! release, a close) queues `pg_notify` on [`CHANNEL`] in its own transaction, so PostgreSQL
//! delivers it at commit, in commit order, to every replica listening. The payload holds ids and a
//! version only (`{"r": replica, "v": n, "p": poll, "c": closed}`); a replica that hears it bumps
//! its [`Hub`], and its connections then read the poll from the tables, never from the payload. Its
//! own notifications (already told to its hub) are dropped by replica id. PostgreSQL delivers each
//! notification once; the version (that replica's count, drawn before commit, so not always in
//! order) identifies it in logs and is never used to drop one.
//! After any reconnection of the listener, and when its heartbeat stops coming back, every watched
//! poll is refreshed from the tables, because notifications sent meanwhile are lost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::Row;

use crate::live::Hub;

use super::{hash_from, now, poll_from, Answered, PollRow, Release, Result, Storage, StorageError, Tally, TokenHash};

/// Migrations, embedded and applied in order at start-up; `attune_schema_version` records how far.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_schema.sql"),
    include_str!("../../migrations/postgres/0002_releases.sql"),
    include_str!("../../migrations/postgres/0003_inboxes.sql"),
];

/// The notification channel every replica listens on.
pub const CHANNEL: &str = "attune_polls";

/// How often a replica sends itself a heartbeat on [`CHANNEL`]. A listener that hears nothing,
/// not even its own heartbeat, for [`SILENT_LISTENER`] is taken for dead: it is reconnected and
/// every watched poll refreshed (a connection can die without an error reaching the client).
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// See [`HEARTBEAT`].
pub const SILENT_LISTENER: Duration = Duration::from_secs(15);

/// The `application_name` of a replica's listening connection (`pg_stat_activity`).
pub const LISTENER_NAME: &str = "attune-listener";

/// A pool of connections to one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct Postgres {
    pool: PgPool,
    /// This process among the replicas: a random id, the origin of its notifications.
    replica: Arc<str>,
    /// The version of this replica's last notification.
    version: Arc<AtomicU64>,
}

/// What a notification on [`CHANNEL`] says.
#[derive(Debug, serde::Deserialize)]
struct Notice {
    /// The replica that sent it.
    r: String,
    /// The poll, absent for a heartbeat.
    #[serde(default)]
    p: Option<String>,
    /// Whether the poll closed.
    #[serde(default)]
    c: bool,
}

/// The columns of a poll for [`poll_from`], with `min_n` and `hide_until_closed` as 64-bit
/// integers as SQLite gives them.
const POLL_COLUMNS: &str = "id, group_id, instrument, code, min_n::BIGINT AS min_n, \
                            hide_until_closed::INT::BIGINT AS hide_until_closed, status, created_at, closed_at, \
                            question, stem, stem_source";

type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// Locks the poll row against a concurrent close for the rest of the transaction; refuses an
/// unknown or closed poll.
async fn open_poll(tx: &mut Tx, poll: &str) -> Result<()> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM polls WHERE id = $1 FOR SHARE")
        .bind(poll)
        .fetch_optional(&mut **tx)
        .await?;
    match status.as_deref() {
        None => Err(StorageError::UnknownPoll),
        Some("open") => Ok(()),
        Some(_) => Err(StorageError::Closed),
    }
}

impl Postgres {
    /// Queues a notification of a change to `poll` for the other replicas: PostgreSQL delivers it
    /// when `tx` commits, and not at all if it rolls back.
    async fn announce(&self, tx: &mut Tx, poll: &str, closed: bool) -> Result<()> {
        let v = self.version.fetch_add(1, Ordering::Relaxed) + 1;
        let payload = serde_json::json!({"r": &*self.replica, "v": v, "p": poll, "c": closed}).to_string();
        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&mut **tx).await?;
        Ok(())
    }

    async fn is_member_in(&self, tx: &mut Tx, poll_id: &str, member: &TokenHash) -> Result<bool> {
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM members WHERE poll_id = $1 AND member_hash = $2")
            .bind(poll_id)
            .bind(&member[..])
            .fetch_optional(&mut **tx)
            .await?;
        Ok(found.is_some())
    }

    /// Connects (`postgres://user@host:port/db`) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Postgres> {
        Postgres::connect(url.parse()?).await
    }

    /// The same in a schema of its own, created if missing: for tests that share one server.
    pub async fn open_in_schema(url: &str, schema: &str) -> Result<Postgres> {
        if !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') || schema.is_empty() {
            return Err(StorageError::new("a schema name is lowercase letters, digits and _"));
        }
        let options: PgConnectOptions = url.parse()?;
        let admin = PgPoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        sqlx::raw_sql(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&admin).await?;
        admin.close().await;
        Postgres::connect(options.options([("search_path", schema)])).await
    }

    async fn connect(options: PgConnectOptions) -> Result<Postgres> {
        let pool = PgPoolOptions::new().max_connections(16).connect_with(options).await?;
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| StorageError::new(&e.to_string()))?;
        let replica: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let store = Postgres { pool, replica: replica.into(), version: Arc::default() };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // One migrator at a time, even with several replicas starting together.
        sqlx::query("SELECT pg_advisory_xact_lock(7305)").execute(&mut *tx).await?;
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS attune_schema_version (version INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await?;
        let version: Option<i32> =
            sqlx::query_scalar("SELECT max(version) FROM attune_schema_version").fetch_one(&mut *tx).await?;
        let version = usize::try_from(version.unwrap_or(0)).unwrap_or(0);
        for (k, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO attune_schema_version (version) VALUES ($1)")
                .bind(i32::try_from(k + 1).unwrap_or(i32::MAX))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Storage for Postgres {
    async fn create_group(&self, id: &str, name: &str, host: &TokenHash) -> Result<()> {
        sqlx::query("INSERT INTO groups (id, name, host_token_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(name)
            .bind(&host[..])
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn group(&self, id: &str) -> Result<Option<(String, TokenHash)>> {
        let row = sqlx::query("SELECT name, host_token_hash FROM groups WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
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
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10) ON CONFLICT (code) DO NOTHING",
        )
        .bind(&p.id)
        .bind(&p.group_id)
        .bind(&p.instrument)
        .bind(&p.code)
        .bind(i32::try_from(p.min_n).unwrap_or(i32::MAX))
        .bind(p.hide_until_closed)
        .bind(p.created_at)
        .bind(&p.question)
        .bind(p.stem.as_ref().map(|s| &s.0))
        .bind(p.stem.as_ref().map(|s| &s.1))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn poll(&self, id: &str) -> Result<Option<PollRow>> {
        let row = sqlx::query(&format!("SELECT {POLL_COLUMNS} FROM polls WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(poll_from).transpose()?)
    }

    async fn poll_by_code(&self, code: &str) -> Result<Option<PollRow>> {
        let row = sqlx::query(&format!("SELECT {POLL_COLUMNS} FROM polls WHERE code = $1 AND status = 'open'"))
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(poll_from).transpose()?)
    }

    async fn polls_of_group(&self, group_id: &str) -> Result<Vec<PollRow>> {
        let rows =
            sqlx::query(&format!("SELECT {POLL_COLUMNS} FROM polls WHERE group_id = $1 ORDER BY created_at, seq"))
                .bind(group_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(poll_from).collect::<std::result::Result<_, _>>()?)
    }

    async fn is_member(&self, poll_id: &str, member: &TokenHash) -> Result<bool> {
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM members WHERE poll_id = $1 AND member_hash = $2")
            .bind(poll_id)
            .bind(&member[..])
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    async fn join(&self, poll_id: &str, member: &TokenHash) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        open_poll(&mut tx, poll_id).await?;
        let joined = sqlx::query("INSERT INTO members (poll_id, member_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(poll_id)
            .bind(&member[..])
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if joined > 0 {
            self.announce(&mut tx, poll_id, false).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn put_response(&self, poll_id: &str, member: &TokenHash, answers_json: &str) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        open_poll(&mut tx, poll_id).await?;
        if !self.is_member_in(&mut tx, poll_id, member).await? {
            return Err(StorageError::NotMember);
        }
        let revision: i64 = sqlx::query_scalar(
            "INSERT INTO responses (poll_id, member_hash, answers, revision) VALUES ($1, $2, $3, 1)
             ON CONFLICT (poll_id, member_hash) DO UPDATE SET answers = excluded.answers,
                                                             revision = responses.revision + 1
             RETURNING revision",
        )
        .bind(poll_id)
        .bind(&member[..])
        .bind(answers_json)
        .fetch_one(&mut *tx)
        .await?;
        self.announce(&mut tx, poll_id, false).await?;
        // Acknowledged only after this returns: the commit is durable (synchronous_commit = on).
        tx.commit().await?;
        Ok(revision)
    }

    async fn tally(&self, poll_id: &str) -> Result<Tally> {
        let mut tx = self.pool.begin().await?;
        // One snapshot for every read.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
        let rows: Vec<(Vec<u8>, String, Option<String>)> =
            sqlx::query_as("SELECT member_hash, answers, released FROM responses WHERE poll_id = $1")
                .bind(poll_id)
                .fetch_all(&mut *tx)
                .await?;
        // Answers stored before joining was required count as joined.
        let joined: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT member_hash FROM members WHERE poll_id = $1
                                   UNION SELECT member_hash FROM responses WHERE poll_id = $1) AS m",
        )
        .bind(poll_id)
        .fetch_one(&mut *tx)
        .await?;
        let release: Option<(i64, i32, String, i64)> = sqlx::query_as(
            "SELECT seq, n, stats, released_at FROM releases WHERE poll_id = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(poll_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Tally {
            joined: u32::try_from(joined).unwrap_or(u32::MAX),
            answers: rows
                .into_iter()
                .map(|(member, answers, released)| Answered { member: hash_from(member), answers, released })
                .collect(),
            release: release.map(|(seq, n, stats, at)| Release { seq, n: u32::try_from(n).unwrap_or(0), stats, at }),
        })
    }

    async fn release(&self, poll_id: &str, release: &Release, included: &[(TokenHash, String)]) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        // Two replicas releasing at once: the primary key lets one insert the next `seq`; the other
        // inserts nothing (it waits for the first to commit) and stores nothing.
        let stored = sqlx::query(
            "INSERT INTO releases (poll_id, seq, n, stats, released_at)
             SELECT $1, $2, $3, $4, $5
             WHERE $2 = (SELECT coalesce(max(seq), 0) + 1 FROM releases WHERE poll_id = $1)
             ON CONFLICT DO NOTHING",
        )
        .bind(poll_id)
        .bind(release.seq)
        .bind(i32::try_from(release.n).unwrap_or(i32::MAX))
        .bind(&release.stats)
        .bind(release.at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !stored {
            return Ok(false);
        }
        let members: Vec<Vec<u8>> = included.iter().map(|(m, _)| m.to_vec()).collect();
        let answers: Vec<&str> = included.iter().map(|(_, a)| a.as_str()).collect();
        sqlx::query(
            "UPDATE responses AS r SET released = i.answers
             FROM unnest($2::bytea[], $3::text[]) AS i (member, answers)
             WHERE r.poll_id = $1 AND r.member_hash = i.member",
        )
        .bind(poll_id)
        .bind(&members)
        .bind(&answers)
        .execute(&mut *tx)
        .await?;
        self.announce(&mut tx, poll_id, false).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn close_poll(&self, poll_id: &str) -> Result<Option<PollRow>> {
        let mut tx = self.pool.begin().await?;
        let closed = sqlx::query(
            "UPDATE polls SET status = 'closed', code = NULL, closed_at = $1 WHERE id = $2 AND status = 'open'",
        )
        .bind(now())
        .bind(poll_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if closed > 0 {
            self.announce(&mut tx, poll_id, true).await?;
        }
        tx.commit().await?;
        self.poll(poll_id).await
    }

    fn follow(&self, hub: &Arc<Hub>) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(listen(self.pool.clone(), self.replica.clone(), Arc::downgrade(hub)));
        }
    }
}

/// Listens on [`CHANNEL`] for as long as the hub lives: bumps the hub for other replicas' changes,
/// and refreshes every watched poll after each (re)connection and when the heartbeat stops.
async fn listen(pool: PgPool, replica: Arc<str>, hub: Weak<Hub>) {
    let mut first = true;
    while hub.strong_count() > 0 {
        if !first {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        first = false;
        let Ok(mut listener) = PgListener::connect_with(&pool).await else { continue };
        let named = sqlx::query("SELECT set_config('application_name', $1, false)")
            .bind(LISTENER_NAME)
            .execute(&mut listener)
            .await;
        if named.is_err() || listener.listen(CHANNEL).await.is_err() {
            continue;
        }
        // Listening from here on: what changed before is read from the tables.
        match hub.upgrade() {
            Some(h) => h.resync(),
            None => return,
        }
        let mut beat = tokio::time::interval(HEARTBEAT);
        let mut heard = tokio::time::Instant::now();
        loop {
            tokio::select! {
                n = listener.try_recv() => match n {
                    Ok(Some(n)) => {
                        heard = tokio::time::Instant::now();
                        let Ok(notice) = serde_json::from_str::<Notice>(n.payload()) else { continue };
                        let (Some(poll), Some(h)) = (notice.p, hub.upgrade()) else { continue };
                        // Its own: the handlers told the hub when they wrote it. (Versions are
                        // drawn before commit, so another replica's may arrive out of order; each
                        // is delivered once, and every one is followed, whatever its version.)
                        if notice.r == *replica {
                            continue;
                        }
                        if notice.c { h.closed(&poll) } else { h.notify(&poll) }
                    }
                    // The connection was lost (or closed by the server): connect again.
                    Ok(None) | Err(_) => break,
                },
                _ = beat.tick() => {
                    if hub.strong_count() == 0 {
                        return;
                    }
                    if heard.elapsed() > SILENT_LISTENER {
                        break;
                    }
                    let payload = serde_json::json!({"r": &*replica}).to_string();
                    let _ = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&pool).await;
                }
            }
        }
    }
}

super::inbox::inbox_store!(Postgres, pool, pool, "BEGIN");
