//! Sealed intake inboxes in the database: the same SQL on SQLite and PostgreSQL (both take `$1`
//! placeholders, `ON CONFLICT` and `RETURNING`), written once in [`inbox_store!`] and expanded for
//! each backend. Every write is committed before it returns.

use std::future::Future;

use super::{Result, TokenHash};

/// An inbox as stored: never a private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub id: String,
    pub name: String,
    pub host: TokenHash,
    /// The clinic's X25519 public key, base64url.
    pub public_key: String,
    /// `sha256:` and the base64url SHA-256 of the public key.
    pub fingerprint: String,
    /// Submissions older than this many days are deleted; `None` keeps them until the clinic does.
    pub retention_days: Option<u32>,
    /// Where each new submission is forwarded (Standard Webhooks), and the signing secret.
    pub forward: Option<(String, String)>,
    pub created_at: i64,
}

/// One sealed submission as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionRow {
    /// The client's idempotency key.
    pub id: String,
    /// The sealed envelope as received (JSON text).
    pub envelope: String,
    pub size: i64,
    /// Unix seconds.
    pub received_at: i64,
}

/// What storing a submission did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Stored now.
    New(SubmissionRow),
    /// Already stored with the same envelope: nothing changed.
    Repeat(SubmissionRow),
    /// Already stored with another envelope: nothing changed.
    Conflict,
    /// No such inbox.
    UnknownInbox,
}

/// A submission due to be forwarded, leased to the caller until it reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub inbox: String,
    pub submission: SubmissionRow,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub url: String,
    pub secret: String,
}

/// What the inbox routes need from a database.
pub trait InboxStore {
    /// Creates an inbox.
    fn create_inbox(&self, inbox: &InboxRow) -> impl Future<Output = Result<()>> + Send;
    /// One inbox by id.
    fn inbox(&self, id: &str) -> impl Future<Output = Result<Option<InboxRow>>> + Send;
    /// Replaces an inbox's key (and its fingerprint) alone; `false` for no such inbox.
    fn set_inbox_key(
        &self,
        inbox: &str,
        public_key: &str,
        fingerprint: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Replaces an inbox's retention and forwarding alone; `false` for no such inbox.
    fn set_inbox_settings(&self, inbox: &InboxRow) -> impl Future<Output = Result<bool>> + Send;
    /// One stored submission.
    fn submission(&self, inbox: &str, id: &str) -> impl Future<Output = Result<Option<SubmissionRow>>> + Send;
    /// How many submissions an inbox holds.
    fn submission_count(&self, inbox: &str) -> impl Future<Output = Result<i64>> + Send;
    /// Stores a submission once per `(inbox, id)`, queueing it for forwarding (due at `due_ms`)
    /// when the inbox forwards, in the same transaction.
    fn submit(
        &self,
        inbox: &str,
        id: &str,
        envelope: &str,
        received_at: i64,
        due_ms: i64,
    ) -> impl Future<Output = Result<Submitted>> + Send;
    /// An inbox's submissions, newest first, at most `limit`.
    fn submissions(&self, inbox: &str, limit: i64) -> impl Future<Output = Result<Vec<SubmissionRow>>> + Send;
    /// Deletes one submission (and its place in the forwarding outbox); `false` if there was none.
    fn delete_submission(&self, inbox: &str, id: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Deletes every submission past its inbox's retention at `now` (Unix seconds); how many.
    fn expire(&self, now: i64) -> impl Future<Output = Result<u64>> + Send;
    /// Leases the submission most overdue for forwarding at `now_ms` until `lease_until_ms`, and
    /// counts the attempt; `None` when nothing is due. Replicas never lease the same one at once.
    fn claim_forward(&self, now_ms: i64, lease_until_ms: i64) -> impl Future<Output = Result<Option<Forward>>> + Send;
    /// The forward was acknowledged: it leaves the outbox.
    fn forward_done(&self, inbox: &str, id: &str) -> impl Future<Output = Result<()>> + Send;
    /// The forward failed: tried again at `next_ms`.
    fn forward_failed(
        &self,
        inbox: &str,
        id: &str,
        next_ms: i64,
        error: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Submissions waiting to be forwarded, over all inboxes.
    fn forwards_pending(&self) -> impl Future<Output = Result<i64>> + Send;
}

/// One submission of an inbox, as [`submission_from`] reads it.
pub(crate) const SUBMISSION: &str =
    "SELECT id, envelope, size, received_at FROM inbox_submissions WHERE inbox_id = $1 AND id = $2";

/// The columns of `inboxes`, in the order [`inbox_from`] reads them.
pub(crate) const INBOX_COLUMNS: &str =
    "id, name, host_token_hash, public_key, fingerprint, retention_days, forward_url, forward_secret, created_at";

pub(crate) fn inbox_from<'r, R>(row: &'r R) -> std::result::Result<InboxRow, sqlx::Error>
where
    R: sqlx::Row,
    &'static str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let url: Option<String> = row.try_get("forward_url")?;
    let secret: Option<String> = row.try_get("forward_secret")?;
    Ok(InboxRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        host: super::hash_from(row.try_get("host_token_hash")?),
        public_key: row.try_get("public_key")?,
        fingerprint: row.try_get("fingerprint")?,
        retention_days: row
            .try_get::<Option<i64>, _>("retention_days")?
            .map(|d| d.clamp(0, i64::from(u32::MAX)) as u32),
        forward: url.zip(secret),
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn submission_from<'r, R>(row: &'r R) -> std::result::Result<SubmissionRow, sqlx::Error>
where
    R: sqlx::Row,
    &'static str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(SubmissionRow {
        id: row.try_get("id")?,
        envelope: row.try_get("envelope")?,
        size: row.try_get("size")?,
        received_at: row.try_get("received_at")?,
    })
}

/// [`InboxStore`] for a backend type whose pools are `$write` and `$read` and whose write
/// transactions begin with `$begin`.
macro_rules! inbox_store {
    ($ty:ty, $write:ident, $read:ident, $begin:literal) => {
        impl $crate::storage::inbox::InboxStore for $ty {
            async fn create_inbox(&self, i: &$crate::storage::inbox::InboxRow) -> $crate::storage::Result<()> {
                let (url, secret) = i.forward.clone().unzip();
                sqlx::query(
                    "INSERT INTO inboxes (id, name, host_token_hash, public_key, fingerprint, retention_days, \
                     forward_url, forward_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&i.id)
                .bind(&i.name)
                .bind(&i.host[..])
                .bind(&i.public_key)
                .bind(&i.fingerprint)
                .bind(i.retention_days.map(i64::from))
                .bind(url)
                .bind(secret)
                .bind(i.created_at)
                .execute(&self.$write)
                .await?;
                Ok(())
            }

            async fn inbox(&self, id: &str) -> $crate::storage::Result<Option<$crate::storage::inbox::InboxRow>> {
                let sql = format!("SELECT {} FROM inboxes WHERE id = $1", $crate::storage::inbox::INBOX_COLUMNS);
                let row = sqlx::query(&sql).bind(id).fetch_optional(&self.$read).await?;
                Ok(row.as_ref().map($crate::storage::inbox::inbox_from).transpose()?)
            }

            async fn set_inbox_key(&self, id: &str, public_key: &str, fingerprint: &str) -> $crate::storage::Result<bool> {
                let done = sqlx::query("UPDATE inboxes SET public_key = $2, fingerprint = $3 WHERE id = $1")
                    .bind(id)
                    .bind(public_key)
                    .bind(fingerprint)
                    .execute(&self.$write)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_inbox_settings(&self, i: &$crate::storage::inbox::InboxRow) -> $crate::storage::Result<bool> {
                let (url, secret) = i.forward.clone().unzip();
                let done = sqlx::query(
                    "UPDATE inboxes SET retention_days = $2, forward_url = $3, forward_secret = $4 WHERE id = $1",
                )
                .bind(&i.id)
                .bind(i.retention_days.map(i64::from))
                .bind(url)
                .bind(secret)
                .execute(&self.$write)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn submission(
                &self,
                inbox: &str,
                id: &str,
            ) -> $crate::storage::Result<Option<$crate::storage::inbox::SubmissionRow>> {
                let row = sqlx::query($crate::storage::inbox::SUBMISSION)
                .bind(inbox)
                .bind(id)
                .fetch_optional(&self.$read)
                .await?;
                Ok(row.as_ref().map($crate::storage::inbox::submission_from).transpose()?)
            }

            async fn submission_count(&self, inbox: &str) -> $crate::storage::Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM inbox_submissions WHERE inbox_id = $1")
                    .bind(inbox)
                    .fetch_one(&self.$read)
                    .await?)
            }

            async fn submit(
                &self,
                inbox: &str,
                id: &str,
                envelope: &str,
                received_at: i64,
                due_ms: i64,
            ) -> $crate::storage::Result<$crate::storage::inbox::Submitted> {
                use $crate::storage::inbox::{submission_from, Submitted};
                let mut tx = self.$write.begin_with($begin).await?;
                let forwards: Option<Option<String>> =
                    sqlx::query_scalar("SELECT forward_url FROM inboxes WHERE id = $1")
                        .bind(inbox)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(forward_url) = forwards else { return Ok(Submitted::UnknownInbox) };
                let inserted = sqlx::query(
                    "INSERT INTO inbox_submissions (inbox_id, id, envelope, size, received_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (inbox_id, id) DO NOTHING",
                )
                .bind(inbox)
                .bind(id)
                .bind(envelope)
                .bind(envelope.len() as i64)
                .bind(received_at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                let row = sqlx::query($crate::storage::inbox::SUBMISSION)
                .bind(inbox)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                let stored = submission_from(&row)?;
                if inserted && forward_url.is_some() {
                    sqlx::query("INSERT INTO inbox_forwards (inbox_id, submission_id, next_at) VALUES ($1, $2, $3)")
                        .bind(inbox)
                        .bind(id)
                        .bind(due_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(if inserted {
                    Submitted::New(stored)
                } else if stored.envelope == envelope {
                    Submitted::Repeat(stored)
                } else {
                    Submitted::Conflict
                })
            }

            async fn submissions(
                &self,
                inbox: &str,
                limit: i64,
            ) -> $crate::storage::Result<Vec<$crate::storage::inbox::SubmissionRow>> {
                let rows = sqlx::query(
                    "SELECT id, envelope, size, received_at FROM inbox_submissions WHERE inbox_id = $1 \
                     ORDER BY received_at DESC, id LIMIT $2",
                )
                .bind(inbox)
                .bind(limit)
                .fetch_all(&self.$read)
                .await?;
                Ok(rows.iter().map($crate::storage::inbox::submission_from).collect::<std::result::Result<Vec<_>, sqlx::Error>>()?)
            }

            async fn delete_submission(&self, inbox: &str, id: &str) -> $crate::storage::Result<bool> {
                let mut tx = self.$write.begin_with($begin).await?;
                sqlx::query("DELETE FROM inbox_forwards WHERE inbox_id = $1 AND submission_id = $2")
                    .bind(inbox)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let gone = sqlx::query("DELETE FROM inbox_submissions WHERE inbox_id = $1 AND id = $2")
                    .bind(inbox)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(gone == 1)
            }

            async fn expire(&self, now: i64) -> $crate::storage::Result<u64> {
                const PAST: &str = "SELECT s.inbox_id, s.id FROM inbox_submissions s JOIN inboxes i ON i.id = s.inbox_id \
                                    WHERE i.retention_days IS NOT NULL AND s.received_at < $1 - i.retention_days * 86400";
                let mut tx = self.$write.begin_with($begin).await?;
                sqlx::query(&format!("DELETE FROM inbox_forwards WHERE (inbox_id, submission_id) IN ({PAST})"))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let gone = sqlx::query(&format!("DELETE FROM inbox_submissions WHERE (inbox_id, id) IN ({PAST})"))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(gone)
            }

            async fn claim_forward(
                &self,
                now_ms: i64,
                lease_until_ms: i64,
            ) -> $crate::storage::Result<Option<$crate::storage::inbox::Forward>> {
                use sqlx::Row;
                let mut tx = self.$write.begin_with($begin).await?;
                let due: Option<(String, String)> = sqlx::query_as(
                    "SELECT inbox_id, submission_id FROM inbox_forwards WHERE next_at <= $1 AND lease_until <= $1 \
                     ORDER BY next_at LIMIT 1",
                )
                .bind(now_ms)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((inbox, id)) = due else { return Ok(None) };
                // The lease is checked again by the update itself: of two replicas that chose the
                // same row, the second updates nothing (PostgreSQL re-reads the row after waiting).
                let attempts: Option<i64> = sqlx::query_scalar(
                    "UPDATE inbox_forwards SET lease_until = $1, attempts = attempts + 1 \
                     WHERE inbox_id = $2 AND submission_id = $3 AND lease_until <= $4 RETURNING attempts",
                )
                .bind(lease_until_ms)
                .bind(&inbox)
                .bind(&id)
                .bind(now_ms)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(attempts) = attempts else { return Ok(None) };
                let row = sqlx::query(
                    "SELECT s.id, s.envelope, s.size, s.received_at, i.forward_url, i.forward_secret \
                     FROM inbox_submissions s JOIN inboxes i ON i.id = s.inbox_id WHERE s.inbox_id = $1 AND s.id = $2",
                )
                .bind(&inbox)
                .bind(&id)
                .fetch_one(&mut *tx)
                .await?;
                let target: (Option<String>, Option<String>) = (row.try_get("forward_url")?, row.try_get("forward_secret")?);
                let submission = $crate::storage::inbox::submission_from(&row)?;
                let forward = match target {
                    (Some(url), Some(secret)) => {
                        tx.commit().await?;
                        Some($crate::storage::inbox::Forward { inbox, submission, attempts, url, secret })
                    }
                    // Forwarding was turned off since: the submission leaves the outbox.
                    _ => {
                        sqlx::query("DELETE FROM inbox_forwards WHERE inbox_id = $1 AND submission_id = $2")
                            .bind(&inbox)
                            .bind(&id)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        None
                    }
                };
                Ok(forward)
            }

            async fn forward_done(&self, inbox: &str, id: &str) -> $crate::storage::Result<()> {
                sqlx::query("DELETE FROM inbox_forwards WHERE inbox_id = $1 AND submission_id = $2")
                    .bind(inbox)
                    .bind(id)
                    .execute(&self.$write)
                    .await?;
                Ok(())
            }

            async fn forward_failed(
                &self,
                inbox: &str,
                id: &str,
                next_ms: i64,
                error: &str,
            ) -> $crate::storage::Result<()> {
                sqlx::query(
                    "UPDATE inbox_forwards SET next_at = $3, lease_until = 0, last_error = $4 \
                     WHERE inbox_id = $1 AND submission_id = $2",
                )
                .bind(inbox)
                .bind(id)
                .bind(next_ms)
                .bind(error)
                .execute(&self.$write)
                .await?;
                Ok(())
            }

            async fn forwards_pending(&self) -> $crate::storage::Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM inbox_forwards").fetch_one(&self.$read).await?)
            }
        }
    };
}

pub(crate) use inbox_store;
