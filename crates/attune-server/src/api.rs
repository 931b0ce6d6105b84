//! The HTTP API: a therapist's group and its polls (host token), members joining with a code and
//! answering (member token), and aggregates only. Every answer is checked by `attune-core` before it
//! is stored, and acknowledged only after it is committed. No route returns a member's answers.

use attune_core::{Catalog, Group, GroupStats};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use std::sync::Arc;

use attune_protocol::{
    CustomQuestion as QuestionView, GroupInfo, Joined, JoinedPoll, Poll, PollList, PollState, QuestionOption, Released,
    ScoreMean, Stem, StemSource, Trend, TrendSession, Withheld,
};

use crate::limit::{address_key, client_address, Cidr, Limiter};
use crate::live::{live, Hub, SocketCaps};
use crate::storage::{now, PollRow, Release, Storage, StorageError, Tally, TokenHash};

/// Largest request body accepted, in bytes. A full answer set is well under a kilobyte.
pub const MAX_BODY: usize = 16 * 1024;

/// The smallest group whose aggregates are shown: the core's rule, re-exported for clients.
pub use attune_core::MIN_N_FLOOR;

/// Join codes: no 0/O, 1/I/L, so a code read across a room is typed right.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 6;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct AppState<S> {
    pub store: S,
    pub catalog: &'static Catalog,
    /// Change counters for live connections.
    pub hub: Arc<Hub>,
    /// Rate limits: joins and group creation per client address, answers per member.
    pub limits: Arc<Limits>,
    /// Open WebSockets, overall and per client address.
    pub sockets: Arc<SocketCaps>,
    /// Where members open the join page (`https://clinic.example/attune`); the request's own host
    /// when not set.
    pub public_url: Option<Arc<str>>,
    /// A folder of static files served for every path outside `/api/` (the demo site).
    pub site: Option<crate::site::Site>,
    /// Custom questions compiled once, by poll id, not on every answer.
    custom: Arc<CustomQuestions>,
    /// Origins whose pages may call the poll routes from the browser (CORS); the inbox's public
    /// routes take any origin.
    allowed_origins: Vec<axum::http::HeaderValue>,
    /// Sealed inboxes: limits and forwarding.
    pub(crate) inboxes: Arc<crate::inbox::InboxConfig>,
    /// Wakes the forwarder when a submission is queued.
    pub(crate) forwarder: Arc<tokio::sync::Notify>,
}

/// Compiled custom questions by poll id. Bounded: past the bound the oldest entry goes (it is
/// compiled again from its stored definition if its poll is still answered).
#[derive(Debug, Default)]
struct CustomQuestions(std::sync::Mutex<std::collections::VecDeque<(String, Arc<attune_core::Instrument>)>>);

impl CustomQuestions {
    const MAX: usize = 1024;

    fn get_or_compile(&self, poll: &str, definition: &str) -> Option<Arc<attune_core::Instrument>> {
        // A poisoned lock only means another handler panicked mid-update: the cache is still usable.
        let mut cache = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, inst)) = cache.iter().find(|(id, _)| id == poll) {
            return Some(inst.clone());
        }
        let inst = Arc::new(attune_core::Instrument::from_json(definition).ok()?);
        if cache.len() >= Self::MAX {
            cache.pop_front();
        }
        cache.push_back((poll.to_string(), inst.clone()));
        Some(inst)
    }
}

/// Joins a minute per client address unless configured otherwise: a whole group behind one clinic
/// Wi-Fi address can join at once, a code cannot be guessed.
pub const DEFAULT_JOINS_PER_MINUTE: u32 = 60;

/// Groups created a minute per client address unless configured otherwise (in bursts of as many):
/// a clinic sets up its groups once; a stranger cannot fill the database.
pub const DEFAULT_GROUPS_PER_MINUTE: u32 = 10;

/// Answers a minute per member token (in bursts of [`ANSWER_BURST`]): a member revising an answer
/// now and then is never slowed; a script cannot flood a poll.
pub const DEFAULT_ANSWERS_PER_MINUTE: u32 = 30;

/// Answers one member may send back to back.
pub const ANSWER_BURST: u32 = 10;

/// The server's rate limits, and the proxies whose `X-Forwarded-For` is believed.
#[derive(Debug)]
pub struct Limits {
    /// Join attempts (and QR lookups) per client address.
    pub joins: Limiter<std::net::IpAddr>,
    /// Groups created per client address.
    pub groups: Limiter<std::net::IpAddr>,
    /// Answers per member token.
    pub answers: Limiter<TokenHash>,
    /// Reverse proxies in front of the server (`--trusted-proxy`).
    pub trusted_proxies: Vec<Cidr>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            joins: Limiter::new(DEFAULT_JOINS_PER_MINUTE, DEFAULT_JOINS_PER_MINUTE),
            groups: Limiter::new(DEFAULT_GROUPS_PER_MINUTE, DEFAULT_GROUPS_PER_MINUTE),
            answers: Limiter::new(DEFAULT_ANSWERS_PER_MINUTE, ANSWER_BURST),
            trusted_proxies: Vec::new(),
        }
    }
}

impl<S> AppState<S> {
    /// State over a store and a catalog, with the default join limit.
    pub fn new(store: S, catalog: &'static Catalog) -> AppState<S> {
        AppState {
            store,
            catalog,
            hub: Arc::new(Hub::default()),
            limits: Arc::default(),
            sockets: Arc::default(),
            public_url: None,
            site: None,
            custom: Arc::default(),
            allowed_origins: Vec::new(),
            inboxes: Arc::default(),
            forwarder: Arc::default(),
        }
    }

    /// The same state with other inbox limits and forwarding.
    pub fn with_inbox_config(mut self, config: crate::inbox::InboxConfig) -> AppState<S> {
        self.inboxes = Arc::new(config);
        self
    }

    /// The same state letting pages of `origins` call the poll routes (CORS).
    pub fn with_allowed_origins(mut self, origins: Vec<axum::http::HeaderValue>) -> AppState<S> {
        self.allowed_origins = origins;
        self
    }

    /// The address this server is reached at: `--public-url`, or the request's own host.
    pub(crate) fn base_url(&self, headers: &HeaderMap) -> String {
        match &self.public_url {
            Some(url) => url.to_string(),
            None => format!("http://{}", header(headers, "host").unwrap_or("localhost")),
        }
    }

    /// The same state with the public address of the join page's site.
    pub fn with_public_url(mut self, url: &str) -> AppState<S> {
        self.public_url = Some(Arc::from(url.trim_end_matches('/')));
        self
    }

    /// The same state serving the static files of `dir` outside `/api/` (the demo site).
    pub fn with_site(mut self, dir: &std::path::Path) -> AppState<S> {
        self.site = Some(crate::site::Site::new(dir));
        self
    }

    /// The same state, its site's pages allowed to connect and post to `origins` too (a clinic's
    /// receiving endpoint); refused unless each is an origin (`https://host[:port]`).
    pub fn with_site_connect(mut self, origins: &[String]) -> Result<AppState<S>, String> {
        if let Some(site) = self.site.take() {
            self.site = Some(site.connecting_to(origins)?);
        }
        Ok(self)
    }

    /// The same state with other rate limits and trusted proxies.
    pub fn with_limits(mut self, limits: Limits) -> AppState<S> {
        self.limits = Arc::new(limits);
        self
    }

    /// The same state with another join limit (joins a minute per address; 0 for none).
    pub fn with_join_limit(self, per_minute: u32) -> AppState<S> {
        let limits = Limits {
            joins: Limiter::new(per_minute, per_minute),
            groups: Limiter::new(DEFAULT_GROUPS_PER_MINUTE, DEFAULT_GROUPS_PER_MINUTE),
            answers: Limiter::new(DEFAULT_ANSWERS_PER_MINUTE, ANSWER_BURST),
            trusted_proxies: self.limits.trusted_proxies.clone(),
        };
        self.with_limits(limits)
    }

    /// The same state with other caps on open WebSockets.
    pub fn with_socket_caps(mut self, caps: SocketCaps) -> AppState<S> {
        self.sockets = Arc::new(caps);
        self
    }
}

/// An error response: a status and `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for a `Retry-After` header (rate limiting).
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None }
    }
    /// The error's code, as in the JSON body.
    pub fn code(&self) -> &'static str {
        self.code
    }
    /// The error's message, as in the JSON body.
    pub fn message(&self) -> &str {
        &self.message
    }
    pub(crate) fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such {what}"))
    }
    pub(crate) fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid host token is required (Authorization: Bearer …)",
        )
    }
    fn not_a_member() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not_a_member",
            "this member token did not join this poll: join with the poll's code first",
        )
    }
    fn closed() -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "poll_closed", "the poll is closed")
    }
    pub(crate) fn invalid_json(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res =
            (self.status, Json(json!({"error": {"code": self.code, "message": self.message}}))).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> ApiError {
        match e {
            StorageError::UnknownPoll => ApiError::not_found("poll"),
            StorageError::Closed => ApiError::closed(),
            StorageError::NotMember => ApiError::not_a_member(),
            StorageError::Database(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage", format!("not stored: {e}"))
            }
        }
    }
}

/// A 429 with `Retry-After`, for a rate limit of `what`.
pub(crate) fn rate_limited(what: &str, wait: std::time::Duration) -> ApiError {
    let secs = wait.as_secs().max(1);
    let mut err =
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", format!("too many {what}; try again in {secs} s"));
    err.retry_after = Some(secs);
    err
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// A JSON body whose every failure (not JSON, wrong shape, too large) is an [`ApiError`].
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("bodies are limited to {MAX_BODY} bytes"),
                )
            } else {
                ApiError::invalid_json(e.body_text())
            }
        })?;
        serde_json::from_slice(&bytes).map(Body).map_err(|e| ApiError::invalid_json(e.to_string()))
    }
}

/// A fresh random token (256 bits, hex).
pub(crate) fn new_token() -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "entropy", e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub(crate) fn new_id() -> ApiResult<String> {
    new_token().map(|t| t[..24].to_string())
}

fn new_code() -> ApiResult<String> {
    let mut bytes = [0u8; CODE_LEN];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "entropy", e.to_string()))?;
    // 31 symbols: the modulo bias (256 = 8 * 31 + 8) is irrelevant for codes that are not secrets.
    Ok(bytes.iter().map(|b| CODE_ALPHABET[*b as usize % CODE_ALPHABET.len()] as char).collect())
}

pub(crate) fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

pub(crate) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The bearer token of `Authorization: Bearer …`; empty without one.
pub(crate) fn bearer(headers: &HeaderMap) -> &str {
    header(headers, "authorization").and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("")
}

/// Whether `token` is the one whose hash is `stored` (compared in constant time; an empty token never is).
pub(crate) fn token_is(token: &str, stored: &TokenHash) -> bool {
    !token.is_empty() && bool::from(hash(token).ct_eq(stored))
}

/// The group's name when `token` is its host token (compared in constant time); `None` otherwise,
/// and for no group.
pub(crate) async fn host_matches<S: Storage>(
    state: &AppState<S>,
    group_id: &str,
    token: &str,
) -> Result<Option<String>, StorageError> {
    Ok(match state.store.group(group_id).await? {
        Some((name, stored)) if token_is(token, &stored) => Some(name),
        _ => None,
    })
}

/// The group's name after checking the host token. An unknown group gets the same answer as a
/// wrong token: group ids are not confirmed to strangers.
async fn authorize<S: Storage>(state: &AppState<S>, headers: &HeaderMap, group_id: &str) -> ApiResult<String> {
    host_matches(state, group_id, bearer(headers)).await?.ok_or_else(ApiError::unauthorized)
}

/// The poll after checking its group's host token.
async fn authorize_poll<S: Storage>(state: &AppState<S>, headers: &HeaderMap, poll_id: &str) -> ApiResult<PollRow> {
    let Some(poll) = state.store.poll(poll_id).await? else {
        return Err(ApiError::unauthorized());
    };
    authorize(state, headers, &poll.group_id).await?;
    Ok(poll)
}

fn member_hash(headers: &HeaderMap) -> ApiResult<TokenHash> {
    member_token_hash(header(headers, "x-attune-member").unwrap_or_default()).map_err(|mut e| {
        e.message = "X-Attune-Member must carry the member token returned by the join route".into();
        e
    })
}

/// The member's join page for a code: the configured public address, else this request's host.
fn join_url<S>(state: &AppState<S>, headers: &HeaderMap, code: &str) -> String {
    format!("{}/join/?code={code}", state.base_url(headers))
}

fn stem_view(p: &PollRow) -> Option<Stem> {
    p.stem.as_ref().map(|(text, source)| Stem {
        text: text.clone(),
        source: match source.as_str() {
            "therapist" => StemSource::Therapist,
            "instrument" => StemSource::Instrument,
            _ => StemSource::Attune,
        },
    })
}

/// What a member or dashboard shows of a custom question: its text and options.
fn question_view(p: &PollRow) -> Option<QuestionView> {
    let def: Value = serde_json::from_str(p.question.as_deref()?).ok()?;
    let options = def["response_sets"]["answer"]
        .as_array()?
        .iter()
        .filter_map(|o| Some(QuestionOption { value: o["value"].as_i64()?, label: o["label"].as_str()?.to_string() }))
        .collect();
    Some(QuestionView {
        text: def["items"][0]["text"].as_str()?.to_string(),
        options,
        note: "A custom question, not a validated instrument.".into(),
    })
}

pub(crate) fn state_of(p: &PollRow) -> PollState {
    if p.open {
        PollState::Open
    } else {
        PollState::Closed
    }
}

/// What anyone may see of a poll (`attune_protocol::Poll`, shared with the TypeScript types).
fn view(p: &PollRow) -> Poll {
    Poll {
        id: p.id.clone(),
        group: p.group_id.clone(),
        instrument: p.instrument.clone(),
        status: state_of(p),
        code: p.code.clone(),
        min_n: p.min_n,
        hide_until_closed: p.hide_until_closed,
        created_at: p.created_at,
        closed_at: p.closed_at,
        validated: p.question.is_none(),
        question: question_view(p),
        stem: stem_view(p),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewGroup {
    name: String,
}

async fn create_group<S: Storage>(
    State(state): State<AppState<S>>,
    Client(addr): Client,
    Body(req): Body<NewGroup>,
) -> ApiResult<impl IntoResponse> {
    state
        .limits
        .groups
        .check(&address_key(addr))
        .map_err(|wait| rate_limited("groups created from this address", wait))?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid_json("the group needs a name of 1 to 100 characters"));
    }
    let (id, token) = (new_id()?, new_token()?);
    state.store.create_group(&id, name, &hash(&token)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"group": {"id": id, "name": name}, "host_token": token,
            "note": "The host token is shown once and stored only as a hash: keep it to run this group's polls."})),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPoll {
    /// A catalog instrument, or …
    #[serde(default)]
    instrument: Option<String>,
    /// … a quick custom question.
    #[serde(default)]
    question: Option<CustomQuestion>,
    /// The therapist's own stem above the items (instruments only).
    #[serde(default)]
    stem: Option<String>,
    #[serde(default)]
    min_n: Option<u32>,
    #[serde(default)]
    hide_until_closed: bool,
}

/// A quick question of the therapist's own: a 0–10 scale (or a narrower one) or a few labelled
/// options. It is not a validated instrument, and its results say so wherever they appear.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomQuestion {
    text: String,
    #[serde(default)]
    scale: Option<Scale>,
    #[serde(default)]
    options: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scale {
    min: i64,
    max: i64,
}

/// The stem where the reference gives none (GCQ-S): Attune's words, naming only the time frame.
pub const DEFAULT_STEM: &str = "Thinking about today's session:";

/// Instrument id recorded for custom-question polls.
const CUSTOM: &str = attune_core::QUICK_QUESTION_ID;

/// The one-item definition of a custom question, built and checked by the core, as stored JSON.
fn custom_definition(q: &CustomQuestion) -> ApiResult<String> {
    let bad = |m: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_question", m);
    let answers = match (&q.scale, &q.options) {
        (Some(Scale { min, max }), None) => attune_core::QuickAnswers::Scale { min: *min, max: *max },
        (None, Some(labels)) => attune_core::QuickAnswers::Options(labels),
        _ => return Err(bad("a question has either a `scale` {min, max} or `options` [labels], not both")),
    };
    let inst = attune_core::Instrument::quick_question(&q.text, answers).map_err(|m| bad(&m))?;
    serde_json::to_string(inst.definition()).map_err(|e| bad(&e.to_string()))
}

/// A poll's instrument: from the catalog, or a custom question's own definition.
enum PollInstrument {
    Catalog(&'static attune_core::Instrument),
    Custom(Arc<attune_core::Instrument>),
}

impl PollInstrument {
    fn get(&self) -> &attune_core::Instrument {
        match self {
            PollInstrument::Catalog(i) => i,
            PollInstrument::Custom(i) => i,
        }
    }
}

fn instrument_of<S>(state: &AppState<S>, poll: &PollRow) -> ApiResult<PollInstrument> {
    let gone =
        || ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "unknown_instrument", "the poll's instrument is gone");
    match &poll.question {
        Some(def) => state.custom.get_or_compile(&poll.id, def).map(PollInstrument::Custom).ok_or_else(gone),
        None => state.catalog.get(&poll.instrument).map(PollInstrument::Catalog).ok_or_else(gone),
    }
}

async fn create_poll<S: Storage>(
    State(state): State<AppState<S>>,
    Path(group): Path<String>,
    headers: HeaderMap,
    Body(req): Body<NewPoll>,
) -> ApiResult<impl IntoResponse> {
    authorize(&state, &headers, &group).await?;
    let (instrument, question) = match (req.instrument, &req.question) {
        (Some(id), None) => {
            if state.catalog.get(&id).is_none() {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_instrument",
                    format!("unknown instrument `{id}`"),
                ));
            }
            (id, None)
        }
        (None, Some(q)) => {
            if req.stem.is_some() {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_question",
                    "a custom question is its own stem: leave `stem` out",
                ));
            }
            (CUSTOM.to_string(), Some(custom_definition(q)?))
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_question",
                "a poll has either an `instrument` from the catalog or a custom `question`",
            ))
        }
    };
    let min_n = attune_core::check_min_n(req.min_n.unwrap_or(MIN_N_FLOOR))
        .map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_min_n", m))?;
    let stem = match (&question, req.stem.as_deref().map(str::trim)) {
        (Some(_), _) => None,
        (None, Some(text)) if !text.is_empty() && text.chars().count() <= 300 => {
            Some((text.to_string(), "therapist".to_string()))
        }
        (None, Some(_)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_stem",
                "a stem has 1 to 300 characters",
            ))
        }
        (None, None) => {
            let own = state.catalog.get(&instrument).and_then(|i| i.definition().instructions.clone());
            Some(match own.filter(|t| !t.trim().is_empty()) {
                Some(text) => (text.into_owned(), "instrument".to_string()),
                None => (DEFAULT_STEM.to_string(), "attune".to_string()),
            })
        }
    };
    let mut poll = PollRow {
        id: new_id()?,
        group_id: group,
        instrument,
        code: None,
        min_n,
        hide_until_closed: req.hide_until_closed,
        open: true,
        created_at: now(),
        closed_at: None,
        question,
        stem,
    };
    // A clash with an open poll's code is rare (31^6 codes); draw again a few times.
    for _ in 0..8 {
        poll.code = Some(new_code()?);
        if state.store.create_poll(&poll).await? {
            let url = join_url(&state, &headers, poll.code.as_deref().unwrap_or(""));
            return Ok((StatusCode::CREATED, Json(json!({"poll": view(&poll), "join_url": url}))));
        }
    }
    Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_code", "no free join code; try again"))
}

async fn list_polls<S: Storage>(
    State(state): State<AppState<S>>,
    Path(group): Path<String>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let name = authorize(&state, &headers, &group).await?;
    let polls = state.store.polls_of_group(&group).await?;
    Ok(Json(PollList { group: GroupInfo { id: group, name }, polls: polls.iter().map(view).collect() }))
}

/// The client's address: the connection's peer, or, behind a trusted proxy, the address it
/// forwarded for (see [`client_address`]). In-process callers without connect info are `0.0.0.0`.
#[derive(Debug, Clone, Copy)]
pub struct Client(pub std::net::IpAddr);

impl<S: Storage> FromRequestParts<AppState<S>> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState<S>,
    ) -> Result<Client, Self::Rejection> {
        let peer = axum::extract::ConnectInfo::<std::net::SocketAddr>::from_request_parts(parts, state)
            .await
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        // Every X-Forwarded-For line, in order (a proxy may add a line of its own instead of
        // appending to the client's).
        let forwarded: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let forwarded = (!forwarded.is_empty()).then(|| forwarded.join(","));
        Ok(Client(client_address(peer, forwarded.as_deref(), &state.limits.trusted_proxies)))
    }
}

/// The open poll with this code, for joining and for its QR code. Both count against the client's
/// join attempts (a 429 with `Retry-After` once they are used up), so codes cannot be guessed.
async fn open_poll_by_code<S: Storage>(
    state: &AppState<S>,
    code: &str,
    addr: std::net::IpAddr,
) -> ApiResult<(String, PollRow)> {
    state
        .limits
        .joins
        .check(&address_key(addr))
        .map_err(|wait| rate_limited("join attempts from this address", wait))?;
    let code = code.trim().to_ascii_uppercase();
    let poll = state.store.poll_by_code(&code).await?.ok_or_else(|| ApiError::not_found("open poll with that code"))?;
    Ok((code, poll))
}

/// Joins an open poll by code. Only this route makes member tokens: random, returned once, stored
/// as a hash and bound to this poll. A member who sends the token this poll gave it (a reload, a
/// second tab) keeps it and gets no new one, so answers can be revised until the poll closes; any
/// other token sent is ignored and a new one is made.
async fn join<S: Storage>(
    State(state): State<AppState<S>>,
    Path(code): Path<String>,
    Client(addr): Client,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let (_, poll) = open_poll_by_code(&state, &code, addr).await?;
    let kept = match header(&headers, "x-attune-member").map(member_token_hash) {
        Some(Ok(h)) if state.store.is_member(&poll.id, &h).await? => Some(h),
        _ => None,
    };
    let token = match kept {
        Some(_) => None,
        None => Some(new_token()?),
    };
    let member = match (&token, kept) {
        (Some(t), _) => hash(t),
        (None, Some(h)) => h,
        (None, None) => return Err(ApiError::not_a_member()),
    };
    state.store.join(&poll.id, &member).await?;
    state.hub.notify(&poll.id);
    let joined = JoinedPoll {
        id: poll.id.clone(),
        instrument: poll.instrument.clone(),
        status: PollState::Open,
        question: question_view(&poll),
        stem: stem_view(&poll),
    };
    Ok(Json(Joined { poll: joined, member_token: token }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answers {
    answers: Map<String, Value>,
}

/// Stores (or revises) a member's answers once the core has accepted them.
async fn put_response<S: Storage>(
    State(state): State<AppState<S>>,
    Path(poll_id): Path<String>,
    headers: HeaderMap,
    Body(req): Body<Answers>,
) -> ApiResult<impl IntoResponse> {
    let member = member_hash(&headers)?;
    let revision = store_answers(&state, &poll_id, &member, &req.answers).await?;
    Ok(Json(json!({"stored": true, "revision": revision})))
}

/// A member token's hash, if it has a token's form.
pub(crate) fn member_token_hash(token: &str) -> ApiResult<TokenHash> {
    if (32..=128).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(hash(token))
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "member_token",
            "the member token returned by the join route is required",
        ))
    }
}

/// Checks a member's answers with the core and stores them while the poll is open; returns the
/// revision once committed. Shared by the HTTP route and answers sent on a member's WebSocket.
pub(crate) async fn store_answers<S: Storage>(
    state: &AppState<S>,
    poll_id: &str,
    member: &TokenHash,
    answers: &Map<String, Value>,
) -> ApiResult<i64> {
    let poll = state.store.poll(poll_id).await?.ok_or_else(|| ApiError::not_found("poll"))?;
    if !poll.open {
        return Err(ApiError::closed());
    }
    // Checked before the answers are read, so a stranger's guesses cost nothing but this lookup;
    // checked again in the transaction that stores them.
    if !state.store.is_member(&poll.id, member).await? {
        return Err(ApiError::not_a_member());
    }
    state.limits.answers.check(member).map_err(|wait| rate_limited("answers from this member", wait))?;
    let inst = instrument_of(state, &poll)?;
    let inst = inst.get();
    let sheet = inst.answer_sheet(answers).map_err(|e| {
        let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code().as_str(), e.to_string());
        if e.code() == attune_core::ErrorCode::InvalidJson {
            err.status = StatusCode::BAD_REQUEST;
        }
        err
    })?;
    if sheet.answered() == 0 {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "no_answers", "answer at least one item"));
    }
    // Store the checked answers in canonical form: item ids and integer values, nulls dropped.
    let canonical: std::collections::BTreeMap<&str, i64> = inst
        .definition()
        .items
        .iter()
        .zip(sheet.values())
        .filter_map(|(item, v)| v.map(|v| (item.id.as_ref(), v)))
        .collect();
    let text = serde_json::to_string(&canonical).map_err(|e| ApiError::invalid_json(e.to_string()))?;
    let revision = state.store.put_response(&poll.id, member, &text).await?;
    state.hub.notify(&poll.id);
    Ok(revision)
}

/// What a member's page polls for: whether the poll is still open. No counts, no answers.
async fn poll_status<S: Storage>(
    State(state): State<AppState<S>>,
    Path(poll_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let poll = state.store.poll(&poll_id).await?.ok_or_else(|| ApiError::not_found("poll"))?;
    Ok(Json(json!({"poll": {"id": poll.id, "instrument": poll.instrument, "status": state_of(&poll)}})))
}

/// The group statistics of a poll's stored answers.
fn stats_of<'c, 'a>(
    poll: &PollRow,
    inst: &'c attune_core::Instrument,
    answers: impl Iterator<Item = &'a str>,
) -> ApiResult<GroupStats<'c>> {
    let mut group = Group::new(inst, poll.min_n as usize)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "min_n", e.to_string()))?;
    for text in answers {
        // Stored answers are canonical (`{"item id": integer}`, see `put_response`), so they read
        // as borrowed pairs without building JSON values; one that no longer reads is skipped
        // (counted as not answered) rather than taking the dashboard down.
        let added = match serde_json::from_str::<std::collections::BTreeMap<&str, i64>>(text) {
            Ok(pairs) => group.add_pairs(pairs).is_ok(),
            Err(_) => false,
        };
        if !added {
            group.skip_member();
        }
    }
    Ok(group.finish())
}

/// How many tries a release gets when other requests release the same poll at the same moment.
const RELEASE_TRIES: usize = 4;

/// The statistics of no answers: every statistic present, n 0, no values. What a statistic shows
/// until its first release.
fn unreleased(inst: &attune_core::Instrument, answered: usize) -> ApiResult<Value> {
    let group =
        Group::new(inst, 1).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "min_n", e.to_string()))?;
    let mut v = serde_json::to_value(group.finish()).map_err(|e| ApiError::invalid_json(e.to_string()))?;
    v["n"] = answered.into();
    v["suppressed"] = true.into();
    Ok(v)
}

/// Where a poll stands against the release rule (see [`release_plan`]).
struct ReleasePlan {
    /// Members with a contribution to some statistic that no release has shown yet.
    pending: usize,
    /// Per statistic (scores, then items, as `Group::contributions`): whether it is released now.
    advancing: Vec<bool>,
    /// Per member: their contributions now, and what every release so far has shown of theirs.
    members: Vec<(TokenHash, Vec<String>, Vec<Vec<String>>)>,
}

/// The release rule, per statistic. A member's *contribution* to a statistic is what of their
/// answers it reads (`Group::contributions`: a score's value and the answers its r_wg reads, an
/// item's answer). A contribution is *new* when no release has shown it for that member (an
/// absent answer never is). A statistic is released again only when at least `min_n` members
/// have a new contribution to it; then it is computed from every member's answers now, and until
/// then every release repeats its last value.
///
/// So between any two releases a host can see, a statistic that differs was released in between
/// from at least `min_n` members' contributions that neither earlier release showed: the
/// difference always mixes at least `min_n` members, whatever the sequence (answers that go back to
/// an earlier value are never new, so they cannot isolate anyone either).
fn release_plan(poll: &PollRow, inst: &attune_core::Instrument, tally: &Tally) -> ReleasePlan {
    // What a member who answered nothing contributes: shown by every release (before they joined).
    let empty = match inst.answer_sheet_from_pairs(std::iter::empty::<(&str, i64)>()) {
        Ok(blank) => Group::contributions(inst, &blank),
        Err(_) => return ReleasePlan { pending: 0, advancing: Vec::new(), members: Vec::new() },
    };
    let mut members = Vec::with_capacity(tally.answers.len());
    for a in &tally.answers {
        // Stored answers are canonical (`put_response`); one that no longer reads contributes
        // nothing (as in `stats_of`).
        let Ok(pairs) = serde_json::from_str::<std::collections::BTreeMap<&str, i64>>(&a.answers) else { continue };
        let Ok(sheet) = inst.answer_sheet_from_pairs(pairs) else { continue };
        let now = Group::contributions(inst, &sheet);
        let shown: Vec<Vec<String>> = a
            .released
            .as_deref()
            .and_then(|h| serde_json::from_str(h).ok())
            .filter(|h: &Vec<Vec<String>>| h.len() == now.len())
            .unwrap_or_else(|| vec![Vec::new(); now.len()]);
        members.push((a.member, now, shown));
    }
    let is_new = |k: usize, now: &[String], shown: &[Vec<String>]| now[k] != empty[k] && !shown[k].contains(&now[k]);
    let advancing: Vec<bool> = (0..empty.len())
        .map(|k| members.iter().filter(|(_, now, shown)| is_new(k, now, shown)).count() >= poll.min_n.max(1) as usize)
        .collect();
    let pending = members.iter().filter(|(_, now, shown)| (0..empty.len()).any(|k| is_new(k, now, shown))).count();
    ReleasePlan { pending, advancing, members }
}

/// A poll's tally with its statistics released as far as the rule allows (see [`release_plan`]),
/// and how many members have answers no release shows yet. The host never sees statistics
/// computed at the moment of asking: only the last stored release. A poll hidden until closed is
/// released only once closed.
async fn released<S: Storage>(
    state: &AppState<S>,
    poll: &PollRow,
    inst: &attune_core::Instrument,
) -> ApiResult<(Tally, usize)> {
    for _ in 0..RELEASE_TRIES {
        let mut tally = state.store.tally(&poll.id).await?;
        let plan = release_plan(poll, inst, &tally);
        if (poll.hide_until_closed && poll.open) || !plan.advancing.contains(&true) {
            return Ok((tally, plan.pending));
        }
        let current = serde_json::to_value(stats_of(poll, inst, tally.answers.iter().map(|a| a.answers.as_str()))?)
            .map_err(|e| ApiError::invalid_json(e.to_string()))?;
        let before = match &tally.release {
            Some(r) => serde_json::from_str(&r.stats).map_err(|e| ApiError::invalid_json(e.to_string()))?,
            None => unreleased(inst, 0)?,
        };
        let ids: Vec<(&str, &str)> =
            inst.score_ids().map(|id| ("scores", id)).chain(inst.item_ids().map(|id| ("items", id))).collect();
        let mut stats = before.clone();
        for ((part, id), advancing) in ids.iter().zip(&plan.advancing) {
            let from = if *advancing { &current } else { &before };
            stats[*part][*id] = from[*part][*id].clone();
        }
        stats["n"] = current["n"].clone();
        stats["suppressed"] = false.into();
        let n = u32::try_from(plan.members.len()).unwrap_or(u32::MAX);
        let release = Release {
            seq: tally.release.as_ref().map_or(1, |r| r.seq + 1),
            n,
            stats: serde_json::to_string(&stats).map_err(|e| ApiError::invalid_json(e.to_string()))?,
            at: now(),
        };
        // What this release shows of each member, added to what earlier ones showed.
        let mut included = Vec::new();
        for (member, contributions, mut shown) in plan.members {
            let mut grew = false;
            for (k, advancing) in plan.advancing.iter().enumerate() {
                if *advancing && !shown[k].contains(&contributions[k]) {
                    shown[k].push(contributions[k].clone());
                    grew = true;
                }
            }
            if grew {
                let record = serde_json::to_string(&shown).map_err(|e| ApiError::invalid_json(e.to_string()))?;
                included.push((member, record));
            }
        }
        if state.store.release(&poll.id, &release, &included).await? {
            for a in &mut tally.answers {
                if let Some((_, h)) = included.iter().find(|(m, _)| *m == a.member) {
                    a.released = Some(h.clone());
                }
            }
            tally.release = Some(release);
            let pending = release_plan(poll, inst, &tally).pending;
            return Ok((tally, pending));
        }
        // Another request released first: read again and go on from its release.
    }
    Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "the statistics are being released; try again"))
}

/// The release rule applied to one poll (see [`released`]): the tally, the members pending, why
/// statistics are withheld, and before the first release the statistics of no answers (counts of
/// members only, no values). After a release, its statistics are the stored text in
/// `tally.release`.
async fn shown<S: Storage>(
    state: &AppState<S>,
    poll: &PollRow,
    inst: &attune_core::Instrument,
) -> ApiResult<(Tally, usize, Option<Withheld>, Option<Value>)> {
    let (tally, pending) = released(state, poll, inst).await?;
    if poll.hide_until_closed && poll.open {
        return Ok((tally, pending, Some(Withheld::HiddenUntilClosed), None));
    }
    if tally.release.is_some() {
        return Ok((tally, pending, None, None));
    }
    let stats = unreleased(inst, tally.answers.len())?;
    Ok((tally, pending, Some(Withheld::BelowMinN), Some(stats)))
}

/// A poll's aggregate as written: exactly `attune_protocol::Aggregate`'s fields (the router and
/// WebSocket tests read every aggregate back as that type and compare), with the statistics
/// written straight from their stored text or from the core instead of through a JSON tree:
/// snapshots are the server's most frequent output.
#[derive(serde::Serialize)]
struct AggregateOut<'a> {
    poll: Poll,
    joined: u64,
    answered: u64,
    pending: u64,
    released: Option<Released>,
    withheld: Option<Withheld>,
    stats: Option<&'a serde_json::value::RawValue>,
}

/// The aggregate of a poll, as JSON text: joined, answered and pending counts, and the statistics
/// of the last release (see [`released`]). Shared by the HTTP route and the live snapshots.
pub(crate) async fn aggregate_json<S: Storage>(state: &AppState<S>, poll: &PollRow) -> ApiResult<String> {
    let inst = instrument_of(state, poll)?;
    let inst = inst.get();
    let (tally, pending, withheld, unreleased) = shown(state, poll, inst).await?;
    let text = match (&tally.release, withheld, &unreleased) {
        (Some(r), None, _) => Some(r.stats.clone()),
        (_, _, Some(v)) => Some(v.to_string()),
        _ => None,
    };
    let raw = text
        .map(serde_json::value::RawValue::from_string)
        .transpose()
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string()))?;
    let out = AggregateOut {
        poll: view(poll),
        joined: tally.joined.into(),
        answered: tally.answers.len() as u64,
        pending: pending as u64,
        released: tally.release.as_ref().map(|r| Released { seq: r.seq.max(0) as u64, n: r.n.into(), at: r.at }),
        withheld,
        stats: raw.as_deref(),
    };
    serde_json::to_string(&out).map_err(|e| ApiError::invalid_json(e.to_string()))
}

/// Aggregates only (see [`aggregate_json`]).
async fn aggregate<S: Storage>(
    State(state): State<AppState<S>>,
    Path(poll_id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let poll = authorize_poll(&state, &headers, &poll_id).await?;
    let body = aggregate_json(&state, &poll).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], body))
}

/// A closed poll's statistics as one FHIR R4 Observation of the group
/// (`attune_core::fhir::group_observation`): what the aggregate shows (the last release, or
/// suppressed statistics below the minimum group size), never a member's answers. The group is the
/// subject by name; the release time is `effectiveDateTime`. `409 poll_open` until the poll is
/// closed, because its statistics can change until then.
async fn fhir_observation<S: Storage>(
    State(state): State<AppState<S>>,
    Path(poll_id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let poll = authorize_poll(&state, &headers, &poll_id).await?;
    if poll.open {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "poll_open",
            "the poll is open: its statistics can still change; close it to export them",
        ));
    }
    let inst = instrument_of(&state, &poll)?;
    let inst = inst.get();
    let (tally, _, _, unreleased) = shown(&state, &poll, inst).await?;
    let (stats, at) = match (&tally.release, unreleased) {
        (Some(r), _) => {
            let stats: Value = serde_json::from_str(&r.stats).map_err(|e| ApiError::invalid_json(e.to_string()))?;
            (stats, Some(r.at))
        }
        (None, Some(stats)) => (stats, poll.closed_at),
        (None, None) => return Err(ApiError::not_found("statistics")),
    };
    let stats = group_stats(inst, &stats)?;
    let group = state.store.group(&poll.group_id).await?.map(|(name, _)| name);
    let authored = at.map(attune_core::fhir::date_time_from_unix);
    let opts = attune_core::fhir::Options { authored: authored.as_deref(), ..Default::default() };
    let mut observation = attune_core::fhir::group_observation(inst, &stats, group.as_deref(), &opts);
    if let Some(q) = question_view(&poll) {
        observation.code.text = Some(format!("{} (a custom question, not a validated instrument)", q.text));
    }
    Ok(([(axum::http::header::CONTENT_TYPE, "application/fhir+json")], Json(observation)))
}

/// Stored group statistics (the JSON of `attune_core::GroupStats`) read back for the FHIR mapping:
/// the scores in the instrument's order; item counts are not needed (the Observation has none).
fn group_stats<'a>(inst: &'a attune_core::Instrument, stats: &Value) -> ApiResult<attune_core::GroupStats<'a>> {
    let number = |v: &Value| v.as_f64();
    let scores = inst
        .score_ids()
        .map(|id| {
            let s = &stats["scores"][id];
            let score = attune_core::ScoreStats {
                n: s["n"].as_u64().unwrap_or(0) as usize,
                mean: number(&s["mean"]),
                sd: number(&s["sd"]),
                min: number(&s["min"]),
                max: number(&s["max"]),
                rwg: number(&s["rwg"]),
            };
            (id, score)
        })
        .collect();
    Ok(attune_core::GroupStats {
        instrument: inst.id(),
        n: stats["n"].as_u64().unwrap_or(0) as usize,
        suppressed: stats["suppressed"].as_bool().unwrap_or(true),
        scores,
        items: Vec::new(),
    })
}

async fn close<S: Storage>(
    State(state): State<AppState<S>>,
    Path(poll_id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    authorize_poll(&state, &headers, &poll_id).await?;
    let poll = state.store.close_poll(&poll_id).await?.ok_or_else(|| ApiError::not_found("poll"))?;
    state.hub.closed(&poll.id);
    Ok(Json(json!({"poll": view(&poll)})))
}

/// Each score's mean per session (poll) of the group, with n; null below the poll's `min_n`.
async fn trend<S: Storage>(
    State(state): State<AppState<S>>,
    Path(group): Path<String>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    authorize(&state, &headers, &group).await?;
    let mut sessions = Vec::new();
    for poll in state.store.polls_of_group(&group).await? {
        let Ok(inst) = instrument_of(&state, &poll) else { continue };
        let inst = inst.get();
        if poll.hide_until_closed && poll.open {
            continue;
        }
        // The trend shows what the aggregate shows: the last release (see `released`).
        let (tally, _, _, unreleased) = shown(&state, &poll, inst).await?;
        let mean = |s: &Value| ScoreMean { n: s["n"].as_u64().unwrap_or(0), mean: s["mean"].as_f64() };
        let (n, is_suppressed, stats) = match (&tally.release, unreleased) {
            (Some(r), _) => {
                let stats: Value = serde_json::from_str(&r.stats).map_err(|e| ApiError::invalid_json(e.to_string()))?;
                (u64::from(r.n), false, stats)
            }
            (None, Some(stats)) => (tally.answers.len() as u64, true, stats),
            (None, None) => continue,
        };
        let scores = stats["scores"]
            .as_object()
            .map(|m| m.iter().map(|(id, s)| (id.clone(), mean(s))).collect())
            .unwrap_or_default();
        sessions.push(TrendSession {
            validated: poll.question.is_none(),
            question: question_view(&poll),
            created_at: poll.created_at,
            closed_at: poll.closed_at,
            n,
            suppressed: is_suppressed,
            scores,
            poll: poll.id,
            instrument: poll.instrument,
        });
    }
    Ok(Json(Trend { group, sessions }))
}

/// The join page's address for an open poll's code as a QR code (SVG, made here), for the
/// dashboard to show large enough to scan across a room. Rate-limited like joins.
async fn qr<S: Storage>(
    State(state): State<AppState<S>>,
    Path(code): Path<String>,
    Client(addr): Client,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let (code, _) = open_poll_by_code(&state, &code, addr).await?;
    let url = join_url(&state, &headers, &code);
    let qr = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "qr", e.to_string()))?;
    let svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(320, 320)
        .dark_color(qrcode::render::svg::Color("#000"))
        .light_color(qrcode::render::svg::Color("#fff"))
        .build();
    Ok(([(axum::http::header::CONTENT_TYPE, "image/svg+xml"), (axum::http::header::CACHE_CONTROL, "no-store")], svg)
        .into_response())
}

/// Any other path: a file of the demo site when one is configured, else a JSON 404.
async fn fallback<S: Storage>(State(state): State<AppState<S>>, request: Request) -> Response {
    match &state.site {
        Some(site) if !request.uri().path().starts_with("/api/") => site.serve(request).await,
        _ => ApiError::not_found("route").into_response(),
    }
}

/// A method the route does not take: a JSON 405 that names the ones it does (axum's `Allow`
/// header is kept).
async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
}

/// The router, for the server binary and for in-process tests.
pub fn app<S: Storage>(state: AppState<S>) -> Router {
    use axum::http::{header, HeaderName, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    // Changes other replicas commit reach this process's connections too.
    state.store.follow(&state.hub);
    // Forwarding and retention run beside the routes, for as long as the process does.
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::spawn(crate::inbox::forwarder(state.store.clone(), state.inboxes.clone(), state.forwarder.clone()));
    }
    // CORS: the poll routes answer pages of `--allowed-origin` only. A clinic's patients post to
    // its inbox from the clinic's own site, and its staff may open the inbox from another page:
    // the inbox routes answer any origin, without cookies (the host token is a bearer token).
    let allowed = state.allowed_origins.clone();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, parts| {
            parts.uri.path().starts_with("/api/inboxes") || allowed.iter().any(|o| o == origin)
        }))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-attune-member"),
            HeaderName::from_static("idempotency-key"),
        ])
        .max_age(std::time::Duration::from_secs(600));
    let router = Router::new()
        .route("/api/groups", post(create_group::<S>))
        .route("/api/groups/{group}/polls", post(create_poll::<S>).get(list_polls::<S>))
        .route("/api/groups/{group}/trend", get(trend::<S>))
        .route("/api/join/{code}", post(join::<S>))
        .route("/api/join/{code}/qr.svg", get(qr::<S>))
        .route("/api/polls/{poll}", get(poll_status::<S>))
        .route("/api/polls/{poll}/response", put(put_response::<S>))
        .route("/api/polls/{poll}/aggregate", get(aggregate::<S>))
        .route("/api/polls/{poll}/close", post(close::<S>))
        .route("/api/polls/{poll}/fhir", get(fhir_observation::<S>))
        .route("/api/polls/{poll}/live", get(live::<S>))
        .route("/api/inboxes", post(crate::inbox::create::<S>))
        .route("/api/inboxes/{id}", get(crate::inbox::public::<S>))
        .route("/api/inboxes/{id}/submissions", post(crate::inbox::submit::<S>).get(crate::inbox::list::<S>))
        .route("/api/inboxes/{id}/submissions/{sid}", axum::routing::delete(crate::inbox::delete::<S>))
        .route("/api/inboxes/{id}/settings", get(crate::inbox::get_settings::<S>).put(crate::inbox::put_settings::<S>))
        .route("/api/inboxes/{id}/key", put(crate::inbox::put_key::<S>))
        .fallback(fallback::<S>)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(crate::site::json_errors))
        .layer(cors);
    crate::site::security_headers(router).with_state(state)
}

#[cfg(test)]
mod custom_question_tests {
    use super::*;

    #[test]
    fn a_custom_question_is_compiled_once_and_the_cache_is_bounded() {
        let q = CustomQuestion { text: "Ready?".into(), scale: Some(Scale { min: 0, max: 10 }), options: None };
        let def = custom_definition(&q).expect("a valid question");
        let cache = CustomQuestions::default();
        let a = cache.get_or_compile("p1", &def).expect("compiles");
        let b = cache.get_or_compile("p1", &def).expect("cached");
        assert!(Arc::ptr_eq(&a, &b), "the second answer reuses the compiled question");
        for k in 0..CustomQuestions::MAX + 5 {
            cache.get_or_compile(&format!("p{k}"), &def).expect("compiles");
        }
        assert_eq!(cache.0.lock().expect("lock").len(), CustomQuestions::MAX);
        assert!(
            cache.get_or_compile("broken", "{}").is_none(),
            "a stored definition that no longer compiles is refused"
        );
    }
}
