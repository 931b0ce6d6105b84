//! Sealed intake inboxes (docs/inbox.md): a clinic registers an X25519 public key; patients'
//! browsers seal each completed response to it (HPKE) and post the envelope here; the clinic's
//! staff list, open (in their own browser) and delete them with the inbox's host token. The server
//! checks an envelope's shape and nothing else, because it cannot: it never holds a private key.
//! A submission is acknowledged once committed, once per idempotency key. An inbox may forward
//! each new submission, still sealed, to the clinic's own endpoint, signed as Standard Webhooks
//! specify, from a durable outbox in the database ([`forwarder`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{
    bearer, hash, header, new_id, new_token, rate_limited, token_is, ApiError, ApiResult, AppState, Body, Client,
};
use crate::limit::{address_key, Limiter};
use crate::storage::{InboxRow, Storage, Submitted};

/// The suite every inbox uses (RFC 9180 names).
pub const SUITE: &str = "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM";

/// Submissions a minute per client address unless configured otherwise: a waiting room behind one
/// clinic address is never slowed; a script cannot fill an inbox.
pub const DEFAULT_SUBMISSIONS_PER_MINUTE: u32 = 30;
/// Submissions a minute per inbox unless configured otherwise.
pub const DEFAULT_INBOX_SUBMISSIONS_PER_MINUTE: u32 = 300;
/// Inboxes created a minute per client address.
pub const DEFAULT_INBOXES_PER_MINUTE: u32 = 10;
/// Submissions one inbox holds at most; past it new ones are refused (`inbox_full`) until the
/// clinic exports and deletes.
/// As many as one list shows: everything an inbox holds can be listed, opened and exported at once.
pub const DEFAULT_MAX_SUBMISSIONS: i64 = MAX_LISTED;
/// Submissions listed at most in one response.
pub const MAX_LISTED: i64 = 1_000;
/// Longest retention a clinic may set, in days (ten years).
const MAX_RETENTION_DAYS: u32 = 3_650;

/// Limits and forwarding of the inbox routes.
#[derive(Debug)]
pub struct InboxConfig {
    /// Submissions per client address.
    pub per_address: Limiter<IpAddr>,
    /// Submissions per inbox.
    pub per_inbox: Limiter<String>,
    /// Inboxes created per client address.
    pub creations: Limiter<IpAddr>,
    /// Submissions an inbox holds at most.
    pub max_submissions: i64,
    pub forwarding: Forwarding,
}

impl Default for InboxConfig {
    fn default() -> InboxConfig {
        InboxConfig {
            per_address: Limiter::new(DEFAULT_SUBMISSIONS_PER_MINUTE, DEFAULT_SUBMISSIONS_PER_MINUTE),
            per_inbox: Limiter::new(DEFAULT_INBOX_SUBMISSIONS_PER_MINUTE, DEFAULT_INBOX_SUBMISSIONS_PER_MINUTE),
            creations: Limiter::new(DEFAULT_INBOXES_PER_MINUTE, DEFAULT_INBOXES_PER_MINUTE),
            max_submissions: DEFAULT_MAX_SUBMISSIONS,
            forwarding: Forwarding::default(),
        }
    }
}

/// How submissions are forwarded to a clinic's endpoint.
#[derive(Debug, Clone)]
pub struct Forwarding {
    /// The wait after the first failure; it doubles after each (with ±20% jitter) up to `max_retry`.
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// How long one delivery may take.
    pub timeout: Duration,
    /// Whether `http://` to this machine (localhost, 127.0.0.1, ::1) is accepted as an endpoint: for
    /// development and tests only (`--allow-local-forwarding`). Otherwise endpoints are `https://`.
    pub allow_local_http: bool,
    /// How often the outbox is looked at when nothing woke the forwarder (other replicas' new
    /// submissions, retries that fell due), and expired submissions deleted.
    pub poll_every: Duration,
}

impl Default for Forwarding {
    fn default() -> Forwarding {
        Forwarding {
            first_retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
            allow_local_http: false,
            poll_every: Duration::from_secs(2),
        }
    }
}

/// `POST /api/inboxes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewInbox {
    name: String,
    public_key: String,
    #[serde(default)]
    retention_days: Option<u32>,
    #[serde(default)]
    forward_url: Option<String>,
}

/// `PUT /api/inboxes/{id}/settings`: the whole of it (absent is none).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    #[serde(default)]
    retention_days: Option<u32>,
    #[serde(default)]
    forward_url: Option<String>,
    /// A new signing secret even though the endpoint stays.
    #[serde(default)]
    rotate_secret: bool,
}

/// `PUT /api/inboxes/{id}/key`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    public_key: String,
}

/// The sealed envelope, as posted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    v: u32,
    key: String,
    enc: String,
    ct: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    limit: Option<i64>,
}

fn public_key(text: &str) -> ApiResult<([u8; 32], String)> {
    let key = attune_seal::public_key_from_b64(text.trim())
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_key", format!("public_key: {e}")))?;
    Ok((key, attune_seal::fingerprint(&key)))
}

fn retention(days: Option<u32>) -> ApiResult<Option<u32>> {
    match days {
        Some(d) if d == 0 || d > MAX_RETENTION_DAYS => Err(ApiError::invalid_json(format!(
            "retention_days is a number of days from 1 to {MAX_RETENTION_DAYS}, or absent to keep submissions until deleted"
        ))),
        d => Ok(d),
    }
}

/// A forwarding endpoint: `https://…`, or `http://` to this machine when allowed. Refused with a
/// message that says which.
pub fn check_forward_url(url: &str, allow_local_http: bool) -> Result<String, String> {
    let url = url.trim();
    let bad = || format!("forward_url `{url}`: an https:// address is required");
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let name = match host.find(']') {
        Some(end) if host.starts_with('[') => &host[..=end],
        _ => host.split(':').next().unwrap_or(""),
    };
    if host.is_empty()
        || host.contains('@')
        || url.len() > 2000
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad());
    }
    let local = matches!(name, "localhost" | "127.0.0.1" | "[::1]");
    match scheme {
        "https" => Ok(url.to_string()),
        "http" if local && allow_local_http => Ok(url.to_string()),
        "http" if local => Err(format!(
            "forward_url `{url}`: http:// to this machine is refused unless the server runs with --allow-local-forwarding"
        )),
        _ => Err(bad()),
    }
}

/// A new Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64.
fn new_secret() -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "entropy", e.to_string()))?;
    Ok(format!("whsec_{}", base64_std(&bytes)))
}

/// Standard base64 with padding (the Standard Webhooks secret and signature encoding).
pub(crate) fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn inbox_url<S>(state: &AppState<S>, headers: &HeaderMap, id: &str) -> String {
    format!("{}/api/inboxes/{id}", state.base_url(headers))
}

/// The inbox after checking its host token (constant time). An unknown inbox gets the same answer
/// as a wrong token.
async fn authorize<S: Storage>(state: &AppState<S>, headers: &HeaderMap, id: &str) -> ApiResult<InboxRow> {
    match state.store.inbox(id).await? {
        Some(inbox) if token_is(bearer(headers), &inbox.host) => Ok(inbox),
        _ => Err(ApiError::unauthorized()),
    }
}

fn settings_view(inbox: &InboxRow) -> Value {
    let (url, secret) = inbox.forward.clone().unzip();
    json!({"retention_days": inbox.retention_days, "forward_url": url, "forward_secret": secret})
}

pub(crate) async fn create<S: Storage>(
    State(state): State<AppState<S>>,
    Client(addr): Client,
    headers: HeaderMap,
    Body(req): Body<NewInbox>,
) -> ApiResult<impl IntoResponse> {
    state
        .inboxes
        .creations
        .check(&address_key(addr))
        .map_err(|wait| rate_limited("inboxes created from this address", wait))?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid_json("the inbox needs a name of 1 to 100 characters"));
    }
    let (key, fingerprint) = public_key(&req.public_key)?;
    let forward = match &req.forward_url {
        Some(url) => Some((
            check_forward_url(url, state.inboxes.forwarding.allow_local_http)
                .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "invalid_forward_url", m))?,
            new_secret()?,
        )),
        None => None,
    };
    let (id, token) = (new_id()?, new_token()?);
    let inbox = InboxRow {
        id: id.clone(),
        name: name.to_string(),
        host: hash(&token),
        public_key: attune_seal::b64url(&key),
        fingerprint: fingerprint.clone(),
        retention_days: retention(req.retention_days)?,
        forward,
        created_at: crate::storage::now(),
    };
    state.store.create_inbox(&inbox).await?;
    let mut body = json!({
        "inbox": id, "name": name, "host_token": token, "fingerprint": fingerprint,
        "url": inbox_url(&state, &headers, &inbox.id), "retention_days": inbox.retention_days,
        "note": "The host token is shown once and stored only as a hash: keep it (with the private key) to read this inbox.",
    });
    if let Some((url, secret)) = &inbox.forward {
        body["forward_url"] = json!(url);
        body["forward_secret"] = json!(secret);
    }
    Ok((StatusCode::CREATED, Json(body)))
}

/// `GET /api/inboxes/{id}`: what a browser needs to seal to this inbox.
pub(crate) async fn public<S: Storage>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let inbox = state.store.inbox(&id).await?.ok_or_else(|| ApiError::not_found("inbox"))?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-cache")],
        Json(json!({
            "inbox": inbox.id, "name": inbox.name, "public_key": inbox.public_key,
            "fingerprint": inbox.fingerprint, "suite": SUITE, "max_bytes": crate::api::MAX_BODY,
        })),
    ))
}

/// An idempotency key: 8 to 64 of `A-Z a-z 0-9 - _` (a UUID is one).
fn idempotency_key(headers: &HeaderMap) -> ApiResult<String> {
    let key = header(headers, "idempotency-key").unwrap_or("").trim();
    let ok = (8..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(key.to_string())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            "an Idempotency-Key header of 8 to 64 letters, digits, '-' or '_' is required (a UUID is one)",
        ))
    }
}

/// The envelope's shape: version 1, base64url fields, a 32-byte `enc`, a `ct` holding at least
/// the 16-byte tag, sealed to the inbox's current key.
fn check_envelope(body: &[u8], inbox: &InboxRow) -> ApiResult<()> {
    let bad = |m: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid_envelope", m.to_string());
    let env: Envelope = serde_json::from_slice(body).map_err(|e| bad(&format!("not a sealed envelope: {e}")))?;
    if env.v != 1 {
        return Err(bad("envelope version 1 is the only one this server takes"));
    }
    match attune_seal::from_b64url(&env.enc) {
        Ok(enc) if enc.len() == 32 => {}
        _ => return Err(bad("enc must be 32 bytes, base64url")),
    }
    match attune_seal::from_b64url(&env.ct) {
        Ok(ct) if ct.len() >= 16 => {}
        _ => return Err(bad("ct must be base64url and at least 16 bytes")),
    }
    if env.key != inbox.fingerprint {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "key_changed",
            format!("sealed to key {}, but this inbox's key is now {}", env.key, inbox.fingerprint),
        ));
    }
    Ok(())
}

fn idempotency_conflict() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_conflict",
        "another envelope was already stored under this Idempotency-Key",
    )
}

/// `POST /api/inboxes/{id}/submissions`: stores a sealed envelope once per idempotency key, and
/// answers only after the commit.
pub(crate) async fn submit<S: Storage>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    Client(addr): Client,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    state
        .inboxes
        .per_address
        .check(&address_key(addr))
        .map_err(|wait| rate_limited("submissions from this address", wait))?;
    let inbox = state.store.inbox(&id).await?.ok_or_else(|| ApiError::not_found("inbox"))?;
    state.inboxes.per_inbox.check(&inbox.id).map_err(|wait| rate_limited("submissions to this inbox", wait))?;
    let envelope = std::str::from_utf8(&body).map_err(|_| ApiError::invalid_json("the body is not UTF-8"))?;
    // A repeat of what is stored is acknowledged as it was, whatever changed since (the inbox's key,
    // how full it is): the browser that sends it again did not hear the first answer.
    if let Some(row) = state.store.submission(&inbox.id, &key).await? {
        if row.envelope == envelope {
            return Ok((StatusCode::OK, Json(json!({"id": row.id, "received_at": row.received_at, "size": row.size})))
                .into_response());
        }
        return Err(idempotency_conflict());
    }
    check_envelope(&body, &inbox)?;
    if state.store.submission_count(&inbox.id).await? >= state.inboxes.max_submissions {
        return Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "inbox_full",
            format!(
                "this inbox holds {} submissions, its limit: the clinic must export and delete some first",
                state.inboxes.max_submissions
            ),
        ));
    }
    let due = crate::storage::now_ms();
    let (status, row) = match state.store.submit(&inbox.id, &key, envelope, crate::storage::now(), due).await? {
        Submitted::New(row) => {
            if inbox.forward.is_some() {
                state.forwarder.notify_one();
            }
            (StatusCode::CREATED, row)
        }
        Submitted::Repeat(row) => (StatusCode::OK, row),
        Submitted::Conflict => return Err(idempotency_conflict()),
        Submitted::UnknownInbox => return Err(ApiError::not_found("inbox")),
    };
    Ok((status, Json(json!({"id": row.id, "received_at": row.received_at, "size": row.size}))).into_response())
}

/// `GET /api/inboxes/{id}/submissions` (host token): the sealed envelopes, newest first.
pub(crate) async fn list<S: Storage>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let inbox = authorize(&state, &headers, &id).await?;
    let limit = q.limit.unwrap_or(MAX_LISTED).clamp(1, MAX_LISTED);
    let rows = state.store.submissions(&inbox.id, limit).await?;
    let storage = |e: serde_json::Error| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string());
    let submissions = rows.iter().map(|row| Stored::of(None, row)).collect::<Result<Vec<_>, _>>().map_err(storage)?;
    let body = serde_json::to_string(&Listing { inbox: &inbox.id, submissions }).map_err(storage)?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json"), (axum::http::header::CACHE_CONTROL, "no-store")],
        body,
    ))
}

/// `DELETE /api/inboxes/{id}/submissions/{sid}` (host token).
pub(crate) async fn delete<S: Storage>(
    State(state): State<AppState<S>>,
    Path((id, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let inbox = authorize(&state, &headers, &id).await?;
    if state.store.delete_submission(&inbox.id, &sid).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("submission"))
    }
}

/// `GET /api/inboxes/{id}/settings` (host token).
pub(crate) async fn get_settings<S: Storage>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let inbox = authorize(&state, &headers, &id).await?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], Json(settings_view(&inbox))))
}

/// `PUT /api/inboxes/{id}/settings` (host token): retention and forwarding, replaced as a whole.
pub(crate) async fn put_settings<S: Storage>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(req): Body<Settings>,
) -> ApiResult<impl IntoResponse> {
    let mut inbox = authorize(&state, &headers, &id).await?;
    inbox.retention_days = retention(req.retention_days)?;
    inbox.forward = match req.forward_url {
        None => None,
        Some(url) => {
            let url = check_forward_url(&url, state.inboxes.forwarding.allow_local_http)
                .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "invalid_forward_url", m))?;
            let secret = match inbox.forward.take() {
                Some((_, secret)) if !req.rotate_secret => secret,
                _ => new_secret()?,
            };
            Some((url, secret))
        }
    };
    state.store.set_inbox_settings(&inbox).await?;
    state.forwarder.notify_one();
    Ok(Json(settings_view(&inbox)))
}

/// `PUT /api/inboxes/{id}/key` (host token): a new public key for submissions sealed from now on.
/// Those sealed to the old key stay as they are (and open only with the old private key).
pub(crate) async fn put_key<S: Storage>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(req): Body<NewKey>,
) -> ApiResult<impl IntoResponse> {
    let mut inbox = authorize(&state, &headers, &id).await?;
    let (key, fingerprint) = public_key(&req.public_key)?;
    inbox.public_key = attune_seal::b64url(&key);
    inbox.fingerprint = fingerprint;
    state.store.set_inbox_key(&inbox.id, &inbox.public_key, &inbox.fingerprint).await?;
    Ok(Json(json!({"inbox": inbox.id, "public_key": inbox.public_key, "fingerprint": inbox.fingerprint})))
}

/// The forwarder: delivers the outbox's due submissions one at a time, signed; retries with
/// backoff; deletes submissions past their inbox's retention. Runs until the process ends. Woken
/// by a new submission on this process, and every [`Forwarding::poll_every`] otherwise.
pub(crate) async fn forwarder<S: Storage>(store: S, config: Arc<InboxConfig>, wake: Arc<tokio::sync::Notify>) {
    let forwarding = config.forwarding.clone();
    let mut last_expiry = std::time::Instant::now() - Duration::from_secs(3600);
    let mut running = tokio::task::JoinSet::new();
    loop {
        if last_expiry.elapsed() >= Duration::from_secs(60) {
            last_expiry = std::time::Instant::now();
            match store.expire(crate::storage::now()).await {
                Ok(0) => {}
                Ok(n) => eprintln!("attune-server: deleted {n} inbox submissions past their retention"),
                Err(e) => eprintln!("attune-server: retention: {e}"),
            }
        }
        // Up to FORWARDS_AT_ONCE deliveries at a time: an endpoint that never answers holds one
        // slot for its timeout, not the whole outbox.
        let mut idle = false;
        while running.len() < FORWARDS_AT_ONCE {
            let now = crate::storage::now_ms();
            let lease = now + (forwarding.timeout.as_millis() as i64) * 3;
            match store.claim_forward(now, lease).await {
                Ok(Some(job)) => {
                    running.spawn(forward_one(store.clone(), forwarding.clone(), job));
                }
                Ok(None) => {
                    idle = true;
                    break;
                }
                Err(e) => {
                    eprintln!("attune-server: forwarding outbox: {e}");
                    idle = true;
                    break;
                }
            }
        }
        if running.is_empty() || idle {
            // Woken by a new submission, a finished delivery, or after a while (other replicas'
            // submissions, retries falling due).
            tokio::select! {
                _ = tokio::time::sleep(forwarding.poll_every) => {}
                _ = wake.notified() => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        } else {
            running.join_next().await;
        }
    }
}

/// Deliveries in flight at once on one process.
const FORWARDS_AT_ONCE: usize = 8;

/// One delivery attempt and its outcome in the outbox.
async fn forward_one<S: Storage>(store: S, forwarding: Forwarding, job: crate::storage::Forward) {
    let recorded = match deliver(&job, forwarding.timeout, forwarding.allow_local_http).await {
        Ok(()) => store.forward_done(&job.inbox, &job.submission.id).await,
        Err(error) => {
            let wait = backoff(&forwarding, job.attempts);
            eprintln!(
                "attune-server: forwarding {}/{} (attempt {}) failed: {error}; next in {:.1} s",
                job.inbox,
                job.submission.id,
                job.attempts,
                wait.as_secs_f64()
            );
            let next = crate::storage::now_ms() + wait.as_millis() as i64;
            store.forward_failed(&job.inbox, &job.submission.id, next, &error).await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the delivery is tried again: at least once, never lost.
        eprintln!("attune-server: forwarding outbox: {e}");
    }
}

/// The wait before attempt `attempts + 1`: doubling from `first_retry` to `max_retry`, ±20%.
fn backoff(f: &Forwarding, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let base = f.first_retry.saturating_mul(1u32 << doublings.min(20)).min(f.max_retry);
    let mut r = [0u8; 1];
    let _ = getrandom::fill(&mut r);
    // 0.8 to 1.2 of the base.
    base.mul_f64(0.8 + 0.4 * f64::from(r[0]) / 255.0)
}

/// A stored submission as it is listed and forwarded: the envelope written as it was stored (it was
/// checked as JSON when it arrived), not parsed into a tree and written again.
#[derive(Debug, serde::Serialize)]
struct Stored<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    inbox: Option<&'a str>,
    id: &'a str,
    received_at: i64,
    size: i64,
    envelope: &'a serde_json::value::RawValue,
}

impl<'a> Stored<'a> {
    fn of(inbox: Option<&'a str>, row: &'a crate::storage::SubmissionRow) -> serde_json::Result<Stored<'a>> {
        Ok(Stored {
            inbox,
            id: &row.id,
            received_at: row.received_at,
            size: row.size,
            envelope: serde_json::from_str(&row.envelope)?,
        })
    }
}

/// `GET /api/inboxes/{id}/submissions`.
#[derive(Debug, serde::Serialize)]
struct Listing<'a> {
    inbox: &'a str,
    submissions: Vec<Stored<'a>>,
}

/// A forwarded message (Standard Webhooks' recommended shape).
#[derive(Debug, serde::Serialize)]
struct Webhook<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    data: Stored<'a>,
}

/// The webhook's body: the submission, still sealed.
pub fn webhook_body(inbox: &str, sub: &crate::storage::SubmissionRow) -> serde_json::Result<String> {
    serde_json::to_string(&Webhook {
        kind: "inbox.submission",
        timestamp: attune_core::fhir::date_time_from_unix(sub.received_at),
        data: Stored::of(Some(inbox), sub)?,
    })
}

/// The Standard Webhooks signature of a message: `v1,` and the base64 HMAC-SHA256, keyed with the
/// secret's bytes (after `whsec_`), of `{id}.{timestamp}.{body}`.
pub fn webhook_signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    use base64::Engine;
    use hmac::Mac;
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Some(format!("v1,{}", base64_std(&mac.finalize().into_bytes())))
}

/// The webhook id of a submission: the same on every attempt, so the receiver keeps it once.
pub fn webhook_id(inbox: &str, submission: &str) -> String {
    format!("{inbox}_{submission}")
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared (CGNAT),
/// unique-local, unspecified, multicast, documentation or broadcast, nor an IPv4 address inside an
/// IPv6 one that is any of these.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped().or_else(|| v6.to_ipv4()) {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// Name resolution for forwarding: the endpoint's addresses, refused unless every one is public
/// (or, with `--allow-local-forwarding`, loopback). The connection then goes to the addresses
/// checked here, so a name cannot be made to point elsewhere between the check and the request.
#[derive(Debug)]
struct PublicOnly {
    inner: ureq::unversioned::resolver::DefaultResolver,
    allow_loopback: bool,
}

impl ureq::unversioned::resolver::Resolver for PublicOnly {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        for a in addrs.iter() {
            if !(is_public(a.ip()) || (self.allow_loopback && a.ip().is_loopback())) {
                return Err(ureq::Error::Io(std::io::Error::other(format!(
                    "the endpoint resolves to {}, which is not a public address",
                    a.ip()
                ))));
            }
        }
        Ok(addrs)
    }
}

/// Posts one submission to the clinic's endpoint; `Ok` for a 2xx answer.
async fn deliver(job: &crate::storage::Forward, timeout: Duration, allow_loopback: bool) -> Result<(), String> {
    let body = webhook_body(&job.inbox, &job.submission).map_err(|e| format!("the stored envelope: {e}"))?;
    let id = webhook_id(&job.inbox, &job.submission.id);
    let timestamp = crate::storage::now();
    let signature = webhook_signature(&job.secret, &id, timestamp, &body).ok_or("the signing secret is unreadable")?;
    let url = job.url.clone();
    let sent = tokio::task::spawn_blocking(move || {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(5))))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent("attune-server")
            .build();
        let resolver = PublicOnly { inner: Default::default(), allow_loopback };
        let agent = ureq::Agent::with_parts(config, ureq::unversioned::transport::DefaultConnector::new(), resolver);
        agent
            .post(&url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", &timestamp.to_string())
            .header("webhook-signature", &signature)
            .send(body.as_bytes())
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?;
    match sent? {
        s if (200..300).contains(&s) => Ok(()),
        s => Err(format!("the endpoint answered {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_endpoints_are_https_or_local_when_allowed() {
        assert!(check_forward_url("https://clinic.example/hooks", false).is_ok());
        assert!(check_forward_url("http://clinic.example/hooks", true).is_err());
        assert!(check_forward_url("http://127.0.0.1:9000/h", false).is_err());
        assert!(check_forward_url("http://127.0.0.1:9000/h", true).is_ok());
        assert!(check_forward_url("http://localhost/h", true).is_ok());
        assert!(check_forward_url("http://[::1]:8080/h", true).is_ok());
        assert!(check_forward_url("http://127.0.0.1.evil.example/h", true).is_err());
        assert!(check_forward_url("https://user@clinic.example/", false).is_err());
        assert!(check_forward_url("ftp://clinic.example/", false).is_err());
        assert!(check_forward_url("clinic.example", false).is_err());
    }

    #[test]
    fn the_signature_is_standard_webhooks() {
        // Standard Webhooks: HMAC-SHA256 keyed with the base64-decoded secret over
        // `{id}.{timestamp}.{body}`, sent as `v1,<base64>`. Checked against the same HMAC built
        // independently here.
        use hmac::Mac;
        let secret = format!("whsec_{}", base64_std(b"0123456789abcdef0123456789abcdef"));
        let sig = webhook_signature(&secret, "msg_1", 1_700_000_000, "{\"a\":1}").expect("signs");
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"0123456789abcdef0123456789abcdef").expect("key");
        mac.update(b"msg_1.1700000000.{\"a\":1}");
        assert_eq!(sig, format!("v1,{}", base64_std(&mac.finalize().into_bytes())));
        assert!(webhook_signature("not-a-secret", "m", 1, "").is_none());
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().expect("ip")), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
    }

    #[tokio::test]
    async fn forwarding_never_connects_inside_the_network_unless_allowed() {
        // A listener on loopback that would answer 204: refused before any connection unless
        // loopback is allowed.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let hook = axum::Router::new().route("/h", axum::routing::post(|| async { StatusCode::NO_CONTENT }));
        tokio::spawn(async move { axum::serve(listener, hook).await.expect("serve") });
        let job = |host: &str| crate::storage::Forward {
            inbox: "i".into(),
            submission: crate::storage::SubmissionRow {
                id: "s".into(),
                envelope: "{}".into(),
                size: 2,
                received_at: 0,
            },
            attempts: 1,
            url: format!("https://{host}:{port}/h")
                .replace("https://127", "http://127")
                .replace("https://localhost", "http://localhost"),
            secret: format!("whsec_{}", base64_std(&[7u8; 32])),
        };
        let t = Duration::from_secs(5);
        for host in ["127.0.0.1", "localhost"] {
            let refused = deliver(&job(host), t, false).await.expect_err("refused");
            assert!(refused.contains("not a public address"), "{refused}");
            assert_eq!(deliver(&job(host), t, true).await, Ok(()), "allowed on loopback for development");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let f = Forwarding {
            first_retry: Duration::from_secs(10),
            max_retry: Duration::from_secs(60),
            ..Forwarding::default()
        };
        let within =
            |d: Duration, base: f64| d.as_secs_f64() >= base * 0.8 - 1e-9 && d.as_secs_f64() <= base * 1.2 + 1e-9;
        assert!(within(backoff(&f, 1), 10.0));
        assert!(within(backoff(&f, 2), 20.0));
        assert!(within(backoff(&f, 3), 40.0));
        assert!(within(backoff(&f, 4), 60.0));
        assert!(within(backoff(&f, 40), 60.0));
    }
}
