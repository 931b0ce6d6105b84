//! SQLite storage: one file, one writer task that group-commits joins, answers and releases, and
//! the tallies of open polls kept in memory after each commit.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex, RwLock};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use super::{hash_from, now, poll_from, Answered, PollRow, Release, Result, Storage, StorageError, Tally, TokenHash};

/// SQLite storage in one file. Members' joins and answers, the bulk of the writes, go to one writer
/// task that commits them in batches (group commit): every answer that arrived while the last
/// commit was syncing goes into the next transaction, and each is acknowledged only after the
/// commit that holds it. The rare writes (groups, polls, closing) use their own connection; every
/// write transaction is `BEGIN IMMEDIATE`, so the two take turns without a lock upgrade failing.
/// Reads use a pool beside them (WAL lets them run while a write commits).
///
/// Snapshots need an open poll's tally after every answer, so the writer also keeps the tallies of
/// open polls in memory ([`Tallies`]): loaded from the file once, on the writer's own task, and
/// updated after each commit, so they never show an answer that is not durable nor miss one that is.
#[derive(Debug, Clone)]
pub struct Sqlite {
    read: SqlitePool,
    write: SqlitePool,
    jobs: mpsc::Sender<Job>,
    loads: mpsc::Sender<(String, oneshot::Sender<Result<Tally>>)>,
    releases: mpsc::Sender<ReleaseJob>,
    tallies: Arc<Mutex<Tallies>>,
    /// Open polls already read, by id: every answer and every snapshot needs its poll, and a poll
    /// changes only when this process closes it (one server process per database file). Closed
    /// polls leave it, and it holds at most [`MAX_CACHED_POLLS`].
    polls: Arc<RwLock<HashMap<String, PollRow>>>,
    /// Bumped by every close: a poll read before a close may not go into the cache after it (it
    /// might be the row as it was before the close).
    closes: Arc<std::sync::atomic::AtomicU64>,
}

/// Most open polls kept in [`Sqlite`]'s cache; past it, one leaves for each that comes in.
const MAX_CACHED_POLLS: usize = 20_000;

/// A release for the writer task (see [`Storage::release`]).
#[derive(Debug)]
struct ReleaseJob {
    poll: String,
    release: Release,
    included: Vec<(TokenHash, String)>,
    reply: oneshot::Sender<Result<bool>>,
}

/// Most joins and answers committed in one transaction.
const MAX_BATCH: usize = 512;

/// Most open polls whose tallies are kept in memory (one of ten members is about 2 KB); beyond it,
/// one is dropped and read again from the file when next needed.
const MAX_TALLIES: usize = 20_000;

/// An open poll's members, answers and last release, as committed.
#[derive(Debug, Default)]
struct Counted {
    members: HashSet<TokenHash>,
    answers: HashMap<TokenHash, String>,
    /// Each member's answers as the last release holds them.
    released: HashMap<TokenHash, String>,
    release: Option<Release>,
}

impl Tallies {
    /// A poll's tally if it is in memory.
    fn get(tallies: &Mutex<Tallies>, poll: &str) -> Option<Tally> {
        tallies.lock().ok().and_then(|t| t.polls.get(poll).map(Counted::tally))
    }
}

impl Counted {
    fn tally(&self) -> Tally {
        let joined = u32::try_from(self.members.len()).unwrap_or(u32::MAX);
        let answers = self
            .answers
            .iter()
            .map(|(member, answers)| Answered {
                member: *member,
                answers: answers.clone(),
                released: self.released.get(member).cloned(),
            })
            .collect();
        Tally { joined, answers, release: self.release.clone() }
    }
}

/// The tallies of open polls, by poll id. Only the writer task adds entries or changes them (after
/// each commit); closing a poll removes its entry.
#[derive(Debug, Default)]
struct Tallies {
    polls: HashMap<String, Counted>,
}

/// Every member who joined a poll or answered it (answers stored before joining was required
/// count as joined), with the answers and the answers of the last release.
const TALLY_ROWS: &str = "SELECT member_hash, NULL, NULL FROM members WHERE poll_id = ?1
                          UNION ALL SELECT member_hash, answers, released FROM responses WHERE poll_id = ?1";

const LAST_RELEASE: &str =
    "SELECT seq, n, stats, released_at FROM releases WHERE poll_id = ? ORDER BY seq DESC LIMIT 1";

async fn read_counted(pool: &SqlitePool, poll: &str) -> std::result::Result<Counted, sqlx::Error> {
    // One read transaction: the answers and the last release from the same moment.
    let mut tx = pool.begin().await?;
    let rows: Vec<(Vec<u8>, Option<String>, Option<String>)> =
        sqlx::query_as(TALLY_ROWS).bind(poll).fetch_all(&mut *tx).await?;
    let mut counted = Counted::default();
    for (member, answers, released) in rows {
        let member = hash_from(member);
        counted.members.insert(member);
        if let Some(a) = answers {
            counted.answers.insert(member, a);
        }
        if let Some(r) = released {
            counted.released.insert(member, r);
        }
    }
    counted.release = sqlx::query_as(LAST_RELEASE).bind(poll).fetch_optional(&mut *tx).await?.map(
        |(seq, n, stats, at): (i64, i64, String, i64)| Release { seq, n: u32::try_from(n).unwrap_or(0), stats, at },
    );
    tx.commit().await?;
    Ok(counted)
}

type Reply<T> = oneshot::Sender<Result<T>>;

/// A write for the group-commit task.
#[derive(Debug)]
enum Job {
    Join { poll: String, member: TokenHash, reply: Reply<()> },
    Put { poll: String, member: TokenHash, answers: String, reply: Reply<i64> },
}

/// The outcome of one job inside a batch, sent once the batch committed.
enum Done {
    Join(Result<()>),
    Put(Result<i64>),
}

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

/// A member as SQL sees it inside a JSON batch: the hash in hex (`unhex` turns it back into a blob).
fn hex(member: &TokenHash) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    member.iter().flat_map(|b| [DIGITS[usize::from(b >> 4)] as char, DIGITS[usize::from(b & 15)] as char]).collect()
}

/// Applies a batch in one transaction, all or nothing, with a fixed number of statements whatever its
/// size (each statement is a round trip to SQLite's thread): the status of every poll named, the
/// accepted joins, and the accepted answers (one statement per round, see below).
async fn commit_batch(pool: &SqlitePool, batch: &[Job]) -> std::result::Result<Vec<Done>, sqlx::Error> {
    let poll_of = |job: &Job| match job {
        Job::Join { poll, .. } | Job::Put { poll, .. } => poll.clone(),
    };
    let mut tx: Tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    // No other writer runs while this transaction holds the write lock, so these stay true.
    let ids: Vec<String> = batch.iter().map(poll_of).collect();
    let open: HashMap<String, bool> =
        sqlx::query_as("SELECT id, status = 'open' FROM polls WHERE id IN (SELECT value FROM json_each(?))")
            .bind(serde_json::to_string(&ids).unwrap_or_default())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let mut verdicts: Vec<Result<()>> = batch
        .iter()
        .map(|job| match open.get(&poll_of(job)) {
            None => Err(StorageError::UnknownPoll),
            Some(false) => Err(StorageError::Closed),
            Some(true) => Ok(()),
        })
        .collect();
    // Joins, in one statement.
    let members: Vec<(String, String)> = batch
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| v.is_ok())
        .filter_map(|(job, _)| match job {
            Job::Join { poll, member, .. } => Some((poll.clone(), hex(member))),
            Job::Put { .. } => None,
        })
        .collect();
    if !members.is_empty() {
        sqlx::query(
            "INSERT INTO members (poll_id, member_hash)
             SELECT value ->> 0, unhex(value ->> 1) FROM json_each(?) WHERE true ON CONFLICT DO NOTHING",
        )
        .bind(serde_json::to_string(&members).unwrap_or_default())
        .execute(&mut *tx)
        .await?;
    }
    // Answers only from members who joined that poll (in this batch or before): one statement.
    let asking: Vec<(String, String)> = batch
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| v.is_ok())
        .filter_map(|(job, _)| match job {
            Job::Put { poll, member, .. } => Some((poll.clone(), hex(member))),
            Job::Join { .. } => None,
        })
        .collect();
    if !asking.is_empty() {
        let joined: HashSet<(String, String)> = sqlx::query_as(
            "SELECT value ->> 0, value ->> 1 FROM json_each(?) WHERE EXISTS
                 (SELECT 1 FROM members WHERE poll_id = value ->> 0 AND member_hash = unhex(value ->> 1))",
        )
        .bind(serde_json::to_string(&asking).unwrap_or_default())
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        for (job, v) in batch.iter().zip(verdicts.iter_mut()) {
            if let (Job::Put { poll, member, .. }, Ok(())) = (job, &v) {
                if !joined.contains(&(poll.clone(), hex(member))) {
                    *v = Err(StorageError::NotMember);
                }
            }
        }
    }
    // The answers, in rounds in which each member appears once (a member's revision in one batch
    // goes in the next round), so that every returned revision belongs to exactly one job.
    let mut revision: Vec<Option<i64>> = vec![None; batch.len()];
    let mut pending: Vec<usize> =
        (0..batch.len()).filter(|&k| matches!(batch[k], Job::Put { .. }) && verdicts[k].is_ok()).collect();
    while !pending.is_empty() {
        let mut round: HashMap<(&str, &TokenHash), usize> = HashMap::new();
        let mut later = Vec::new();
        for k in pending {
            let Job::Put { poll, member, .. } = &batch[k] else { continue };
            match round.entry((poll.as_str(), member)) {
                std::collections::hash_map::Entry::Vacant(v) => drop(v.insert(k)),
                std::collections::hash_map::Entry::Occupied(_) => later.push(k),
            }
        }
        let rows: Vec<(String, String, &str)> = round
            .values()
            .filter_map(|&k| match &batch[k] {
                Job::Put { poll, member, answers, .. } => Some((poll.clone(), hex(member), answers.as_str())),
                Job::Join { .. } => None,
            })
            .collect();
        let stored: Vec<(String, Vec<u8>, i64)> = sqlx::query_as(
            "INSERT INTO responses (poll_id, member_hash, answers, revision)
             SELECT value ->> 0, unhex(value ->> 1), value ->> 2, 1 FROM json_each(?) WHERE true
             ON CONFLICT (poll_id, member_hash) DO UPDATE SET answers = excluded.answers, revision = revision + 1
             RETURNING poll_id, member_hash, revision",
        )
        .bind(serde_json::to_string(&rows).unwrap_or_default())
        .fetch_all(&mut *tx)
        .await?;
        for (poll, member, rev) in stored {
            if let Some(&k) = round.get(&(poll.as_str(), &hash_from(member))) {
                revision[k] = Some(rev);
            }
        }
        pending = later;
    }
    let lost = batch
        .iter()
        .zip(&revision)
        .zip(&verdicts)
        .any(|((job, rev), v)| matches!(job, Job::Put { .. }) && v.is_ok() && rev.is_none());
    if lost {
        // Dropping the transaction rolls it back; every job in the batch is told it failed.
        return Err(sqlx::Error::Protocol("an answer was not stored".into()));
    }
    tx.commit().await?;
    Ok(batch
        .iter()
        .zip(revision)
        .zip(verdicts)
        .map(|((job, rev), v)| match job {
            Job::Join { .. } => Done::Join(v),
            Job::Put { .. } => Done::Put(v.map(|()| rev.unwrap_or_default())),
        })
        .collect())
}

/// Brings the tallies in memory up to date with a committed batch.
fn record(tallies: &Mutex<Tallies>, batch: &[Job], done: &[Done]) {
    let Ok(mut tallies) = tallies.lock() else { return };
    for (job, d) in batch.iter().zip(done) {
        match (job, d) {
            (Job::Join { poll, member, .. }, Done::Join(Ok(()))) => {
                if let Some(c) = tallies.polls.get_mut(poll) {
                    c.members.insert(*member);
                }
            }
            (Job::Put { poll, member, answers, .. }, Done::Put(Ok(_))) => {
                if let Some(c) = tallies.polls.get_mut(poll) {
                    c.answers.insert(*member, answers.clone());
                }
            }
            _ => {}
        }
    }
}

/// An open poll's tally, read into memory if it is not there yet. Runs on the writer task, between
/// batches, so what it reads and what later batches add fit together.
async fn load(pool: &SqlitePool, tallies: &Mutex<Tallies>, poll: &str) -> Result<Tally> {
    if let Some(t) = Tallies::get(tallies, poll) {
        return Ok(t);
    }
    let counted = read_counted(pool, poll).await?;
    let tally = counted.tally();
    if let Ok(mut t) = tallies.lock() {
        if t.polls.len() >= MAX_TALLIES {
            if let Some(k) = t.polls.keys().next().cloned() {
                t.polls.remove(&k);
            }
        }
        t.polls.insert(poll.to_string(), counted);
    }
    Ok(tally)
}

/// Stores the releases of a batch in one transaction (see [`Storage::release`]): each that directly
/// follows its poll's last release, the first of several with the same number; then brings the
/// tallies in memory up to date. Two statements whatever the batch's size. Runs on the writer task.
async fn apply_releases(pool: &SqlitePool, tallies: &Mutex<Tallies>, jobs: &[ReleaseJob]) -> Result<Vec<bool>> {
    let mut tx: Tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let rows: Vec<(&str, i64, i64, &str, i64)> = jobs
        .iter()
        .map(|j| (j.poll.as_str(), j.release.seq, i64::from(j.release.n), j.release.stats.as_str(), j.release.at))
        .collect();
    // The SELECT is read before any row goes in, so two jobs for one poll both see its last
    // release; the primary key lets only the first in.
    let stored: HashSet<(String, i64)> = sqlx::query_as(
        "INSERT INTO releases (poll_id, seq, n, stats, released_at)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?1)
         WHERE value ->> 1 = (SELECT coalesce(max(seq), 0) + 1 FROM releases WHERE poll_id = value ->> 0)
         ON CONFLICT DO NOTHING
         RETURNING poll_id, seq",
    )
    .bind(serde_json::to_string(&rows).unwrap_or_default())
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let mut taken = HashSet::new();
    let done: Vec<bool> = jobs
        .iter()
        .map(|j| {
            let key = (j.poll.clone(), j.release.seq);
            stored.contains(&key) && taken.insert(key)
        })
        .collect();
    let marks: Vec<(&str, String, &str)> = jobs
        .iter()
        .zip(&done)
        .filter(|(_, d)| **d)
        .flat_map(|(j, _)| j.included.iter().map(|(m, a)| (j.poll.as_str(), hex(m), a.as_str())))
        .collect();
    if !marks.is_empty() {
        sqlx::query(
            "UPDATE responses SET released = j.value ->> 2 FROM json_each(?1) AS j
             WHERE responses.poll_id = j.value ->> 0 AND responses.member_hash = unhex(j.value ->> 1)",
        )
        .bind(serde_json::to_string(&marks).unwrap_or_default())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if let Ok(mut t) = tallies.lock() {
        for (j, _) in jobs.iter().zip(&done).filter(|(_, d)| **d) {
            if let Some(c) = t.polls.get_mut(&j.poll) {
                c.released.extend(j.included.iter().cloned());
                c.release = Some(j.release.clone());
            }
        }
    }
    Ok(done)
}

fn writer_gone() -> StorageError {
    StorageError::new("the writer has stopped")
}

/// The group-commit task: runs until every `Sqlite` handle is dropped.
async fn writer(
    pool: SqlitePool,
    mut jobs: mpsc::Receiver<Job>,
    mut loads: mpsc::Receiver<(String, oneshot::Sender<Result<Tally>>)>,
    mut releases: mpsc::Receiver<ReleaseJob>,
    tallies: Arc<Mutex<Tallies>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut released = Vec::new();
    loop {
        tokio::select! {
            // Releases first: they are few, batched, and a dashboard's snapshot waits for its
            // release; answers that arrive meanwhile gather into a larger batch.
            biased;
            n = releases.recv_many(&mut released, MAX_BATCH) => {
                if n == 0 {
                    return;
                }
                match apply_releases(&pool, &tallies, &released).await {
                    Ok(done) => {
                        for (job, d) in released.drain(..).zip(done) {
                            drop(job.reply.send(Ok(d)));
                        }
                    }
                    Err(e) => {
                        for job in released.drain(..) {
                            drop(job.reply.send(Err(e.clone())));
                        }
                    }
                }
                continue;
            }
            n = jobs.recv_many(&mut batch, MAX_BATCH) => {
                if n == 0 {
                    return;
                }
            }
            Some((poll, reply)) = loads.recv() => {
                drop(reply.send(load(&pool, &tallies, &poll).await));
                continue;
            }
        }
        match commit_batch(&pool, &batch).await {
            Ok(done) => {
                record(&tallies, &batch, &done);
                for (job, d) in batch.drain(..).zip(done) {
                    match (job, d) {
                        (Job::Join { reply, .. }, Done::Join(r)) => drop(reply.send(r)),
                        (Job::Put { reply, .. }, Done::Put(r)) => drop(reply.send(r)),
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
        if !poll.open {
            return;
        }
        if let Ok(mut polls) = self.polls.write() {
            if polls.len() >= MAX_CACHED_POLLS && !polls.contains_key(&poll.id) {
                if let Some(k) = polls.keys().next().cloned() {
                    polls.remove(&k);
                }
            }
            polls.insert(poll.id.clone(), poll.clone());
        }
    }

    /// Open polls in the cache (for tests and diagnostics).
    pub fn cached_polls(&self) -> usize {
        self.polls.read().map_or(0, |p| p.len())
    }

    async fn submit<T>(&self, job: Job, reply: oneshot::Receiver<Result<T>>) -> Result<T> {
        self.jobs.send(job).await.map_err(|_| writer_gone())?;
        reply.await.map_err(|_| writer_gone())?
    }
}

/// Migrations, embedded and applied in order at start-up; `user_version` records how far.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_polls.sql"),
    include_str!("../../migrations/0002_custom_questions.sql"),
    include_str!("../../migrations/0003_stems.sql"),
    include_str!("../../migrations/0004_releases.sql"),
    include_str!("../../migrations/0005_inboxes.sql"),
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
        // A connection is a thread of SQLite's own; checking it before each use would cost a round trip.
        let pool = |n| SqlitePoolOptions::new().max_connections(n).test_before_acquire(false);
        let write = pool(1).connect_with(options.clone()).await?;
        let read = pool(8).connect_with(options.clone()).await?;
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let (loads_tx, loads_rx) = mpsc::channel(MAX_BATCH);
        let (releases_tx, releases_rx) = mpsc::channel(MAX_BATCH);
        let tallies = Arc::<Mutex<Tallies>>::default();
        let store = Sqlite {
            read,
            write,
            jobs: tx,
            loads: loads_tx,
            releases: releases_tx,
            tallies: tallies.clone(),
            polls: Arc::default(),
            closes: Arc::default(),
        };
        store.migrate().await?;
        let batches = pool(1).connect_with(options).await?;
        tokio::spawn(writer(batches, rx, loads_rx, releases_rx, tallies));
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
        let closes = self.closes.load(std::sync::atomic::Ordering::Acquire);
        let row = sqlx::query(&format!("SELECT {POLL_COLUMNS} FROM polls WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        let poll = row.as_ref().map(poll_from).transpose()?;
        if let Some(p) = poll.as_ref().filter(|_| self.closes.load(std::sync::atomic::Ordering::Acquire) == closes) {
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

    async fn is_member(&self, poll_id: &str, member: &TokenHash) -> Result<bool> {
        if let Some(known) =
            self.tallies.lock().ok().and_then(|t| t.polls.get(poll_id).map(|c| c.members.contains(member)))
        {
            return Ok(known);
        }
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM members WHERE poll_id = ? AND member_hash = ?")
            .bind(poll_id)
            .bind(&member[..])
            .fetch_optional(&self.read)
            .await?;
        Ok(found.is_some())
    }

    async fn join(&self, poll_id: &str, member: &TokenHash) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Join { poll: poll_id.to_string(), member: *member, reply }, rx).await
    }

    async fn put_response(&self, poll_id: &str, member: &TokenHash, answers_json: &str) -> Result<i64> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Put { poll: poll_id.to_string(), member: *member, answers: answers_json.to_string(), reply };
        self.submit(job, rx).await
    }

    async fn tally(&self, poll_id: &str) -> Result<Tally> {
        if let Some(t) = Tallies::get(&self.tallies, poll_id) {
            return Ok(t);
        }
        match self.poll(poll_id).await? {
            Some(poll) if poll.open => {
                let (reply, rx) = oneshot::channel();
                self.loads.send((poll_id.to_string(), reply)).await.map_err(|_| writer_gone())?;
                rx.await.map_err(|_| writer_gone())?
            }
            // A closed poll's tally no longer changes (nor does an unknown one's): read, not kept.
            _ => Ok(read_counted(&self.read, poll_id).await?.tally()),
        }
    }

    async fn release(&self, poll_id: &str, release: &Release, included: &[(TokenHash, String)]) -> Result<bool> {
        let (reply, rx) = oneshot::channel();
        let job =
            ReleaseJob { poll: poll_id.to_string(), release: release.clone(), included: included.to_vec(), reply };
        self.releases.send(job).await.map_err(|_| writer_gone())?;
        rx.await.map_err(|_| writer_gone())?
    }

    async fn close_poll(&self, poll_id: &str) -> Result<Option<PollRow>> {
        sqlx::query("UPDATE polls SET status = 'closed', code = NULL, closed_at = ? WHERE id = ? AND status = 'open'")
            .bind(now())
            .bind(poll_id)
            .execute(&self.write)
            .await?;
        self.closes.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if let Ok(mut polls) = self.polls.write() {
            polls.remove(poll_id);
        }
        if let Ok(mut tallies) = self.tallies.lock() {
            tallies.polls.remove(poll_id);
        }
        self.poll(poll_id).await
    }
}

super::inbox::inbox_store!(Sqlite, write, read, "BEGIN IMMEDIATE");
