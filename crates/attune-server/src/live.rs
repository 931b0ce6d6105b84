//! Live updates over WebSocket. A dashboard (host token) receives aggregate snapshots as answers
//! arrive; a member's page is told the poll's status, and again when it closes, and may send its
//! answers on the same socket (no new connection from a phone; the HTTP route's checks; `stored`
//! once committed). Stored answers bump a per-poll counter in the [`Hub`]; each dashboard
//! connection recomputes its snapshot from storage when the counter moves, so a slow client never
//! holds anyone else up.
//!
//! Snapshots are coalesced: a change waits [`SNAPSHOT_GATHER`] (25 ms) for those arriving with it,
//! then goes out if the connection's token bucket ([`SnapshotBudget`]) allows: a burst of up to
//! [`SNAPSHOT_BURST`] at once, so a group answering together is seen without delay, and after that
//! at most one every [`SNAPSHOT_EVERY`] (five a second). Changes that arrive while a snapshot waits
//! are folded into it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::{
    aggregate_json, host_matches, member_token_hash, state_of, store_answers, ApiError, AppState, Client,
};
use crate::storage::Storage;

/// How long a change waits for the ones arriving with it before a snapshot goes out: members
/// asked to answer together submit within moments of each other, and one snapshot per few answers
/// halves the work without anyone seeing the delay.
pub const SNAPSHOT_GATHER: Duration = Duration::from_millis(25);

/// Snapshots one dashboard connection may be sent back to back.
pub const SNAPSHOT_BURST: u32 = 10;

/// Once the burst is spent, the shortest time between two snapshots.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(200);

/// How long a new connection has to say who it is.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest message accepted from a client: a member's answers, like an HTTP body, fit in 16 KiB.
/// A longer one gets an error message and the connection is closed with 1009.
pub const MAX_MESSAGE: usize = crate::api::MAX_BODY;

/// Largest frame read in full before it is refused: up to this size a too-long message is read to
/// its end, so the refusal and the close frame reach the client in order (closing with unread
/// bytes would reset the connection and lose them). Past it the connection is dropped.
const MAX_READ: usize = (1 << 20) + 4096;

/// How often the server pings each connection (browsers answer by themselves).
pub const PING_EVERY: Duration = Duration::from_secs(30);

/// A connection from which nothing at all (not even a pong) arrived for this long is gone: its
/// phone left the network without closing. It is dropped.
pub const SILENT_AFTER: Duration = Duration::from_secs(75);

/// A member's connection on which the page sent nothing for this long is closed (code 1000,
/// "idle"): the page answers over HTTP after that, and learns that the poll closed when it does.
pub const MEMBER_IDLE: Duration = Duration::from_secs(30 * 60);

/// Open WebSockets allowed overall unless configured otherwise.
pub const DEFAULT_MAX_SOCKETS: usize = 20_000;

/// Open WebSockets allowed per client address (IPv6: per /64) unless configured otherwise: a
/// clinic's whole Wi-Fi may share one address.
pub const DEFAULT_SOCKETS_PER_ADDRESS: usize = 500;

/// Caps on open WebSockets, overall and per client address, and their timeouts. A connection holds
/// a [`SocketPermit`] for as long as it is open.
#[derive(Debug)]
pub struct SocketCaps {
    total: usize,
    per_address: usize,
    open: Mutex<(usize, HashMap<std::net::IpAddr, usize>)>,
    /// [`PING_EVERY`], [`SILENT_AFTER`], [`MEMBER_IDLE`] unless set otherwise (tests shorten them).
    ping_every: Duration,
    silent_after: Duration,
    member_idle: Duration,
}

impl Default for SocketCaps {
    fn default() -> SocketCaps {
        SocketCaps::new(DEFAULT_MAX_SOCKETS, DEFAULT_SOCKETS_PER_ADDRESS)
    }
}

/// One open WebSocket's place under the caps; given back when dropped.
#[derive(Debug)]
pub struct SocketPermit {
    caps: std::sync::Arc<SocketCaps>,
    addr: std::net::IpAddr,
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        let mut open = self.caps.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        open.0 = open.0.saturating_sub(1);
        if let std::collections::hash_map::Entry::Occupied(mut e) = open.1.entry(self.addr) {
            *e.get_mut() -= 1;
            if *e.get() == 0 {
                e.remove();
            }
        }
    }
}

impl SocketCaps {
    /// At most `total` open sockets, `per_address` from one address; 0 means no cap.
    pub fn new(total: usize, per_address: usize) -> SocketCaps {
        let cap = |n: usize| if n == 0 { usize::MAX } else { n };
        SocketCaps {
            total: cap(total),
            per_address: cap(per_address),
            open: Mutex::default(),
            ping_every: PING_EVERY,
            silent_after: SILENT_AFTER,
            member_idle: MEMBER_IDLE,
        }
    }

    /// The same caps with other timeouts: a ping every `ping_every`, a connection dropped after
    /// `silent_after` without a frame, a member's closed after `member_idle` without a message.
    pub fn with_timeouts(mut self, ping_every: Duration, silent_after: Duration, member_idle: Duration) -> SocketCaps {
        self.ping_every = ping_every.max(Duration::from_millis(10));
        self.silent_after = silent_after;
        self.member_idle = member_idle;
        self
    }

    /// A place for one more socket from `addr`, or the error to answer with.
    fn acquire(caps: &std::sync::Arc<SocketCaps>, addr: std::net::IpAddr) -> Result<SocketPermit, ApiError> {
        let addr = crate::limit::address_key(addr);
        let mut open = caps.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if open.0 >= caps.total {
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "too_many_sockets",
                "the server has as many live connections as it takes; try again shortly",
            ));
        }
        let mine = open.1.entry(addr).or_insert(0);
        if *mine >= caps.per_address {
            return Err(ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too_many_sockets",
                "too many live connections from this address",
            ));
        }
        *mine += 1;
        open.0 += 1;
        Ok(SocketPermit { caps: caps.clone(), addr })
    }

    /// Sockets open now.
    pub fn open(&self) -> usize {
        self.open.lock().map_or(0, |o| o.0)
    }
}

/// Bytes read from a socket at a time: ten thousand members' sockets should not cost more memory
/// than their messages need (a longer message is gathered over several reads).
const READ_BUFFER: usize = 4096;

/// A token bucket in its virtual-time form (GCRA): `SNAPSHOT_BURST` sends at once, then one per
/// `SNAPSHOT_EVERY`.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotBudget {
    /// When the bucket would be full again if nothing more were sent.
    full_at: Instant,
}

impl SnapshotBudget {
    /// A full bucket.
    pub fn new(now: Instant) -> SnapshotBudget {
        SnapshotBudget { full_at: now }
    }

    /// The earliest time the next snapshot may be sent.
    pub fn next_send(&self) -> Instant {
        self.full_at.checked_sub(SNAPSHOT_EVERY * (SNAPSHOT_BURST - 1)).unwrap_or(self.full_at)
    }

    /// Takes a token if one is there.
    pub fn try_take(&mut self, now: Instant) -> bool {
        if now < self.next_send() {
            return false;
        }
        self.full_at = self.full_at.max(now) + SNAPSHOT_EVERY;
        true
    }
}

/// Per-poll counters for the connections watching a poll: `changes` moves on every answer, join or
/// closing (dashboards follow it), `closes` only when the poll closes (members follow it, so an
/// answer does not wake every member's connection). Entries exist only while someone watches, so
/// memory is bounded by the open connections.
#[derive(Debug, Default)]
pub struct Hub {
    polls: Mutex<HashMap<String, Watched>>,
}

#[derive(Debug)]
struct Watched {
    changes: watch::Sender<u64>,
    closes: watch::Sender<u64>,
}

fn bump(tx: &watch::Sender<u64>) {
    tx.send_modify(|v| *v = v.wrapping_add(1));
}

impl Hub {
    /// Something that dashboards show changed (an answer, a join).
    pub fn notify(&self, poll: &str) {
        if let Ok(polls) = self.polls.lock() {
            if let Some(w) = polls.get(poll) {
                bump(&w.changes);
            }
        }
    }

    /// The poll closed: dashboards and members are told.
    pub fn closed(&self, poll: &str) {
        if let Ok(polls) = self.polls.lock() {
            if let Some(w) = polls.get(poll) {
                bump(&w.changes);
                bump(&w.closes);
            }
        }
    }

    /// Every watched poll may have changed (the replicas' listener reconnected): dashboards and
    /// members read each from storage again.
    pub fn resync(&self) {
        if let Ok(polls) = self.polls.lock() {
            for w in polls.values() {
                bump(&w.changes);
                bump(&w.closes);
            }
        }
    }

    fn subscribe(&self, poll: &str, dashboard: bool) -> Option<watch::Receiver<u64>> {
        let mut polls = self.polls.lock().ok()?;
        let w = polls
            .entry(poll.to_string())
            .or_insert_with(|| Watched { changes: watch::channel(0).0, closes: watch::channel(0).0 });
        Some(if dashboard { w.changes.subscribe() } else { w.closes.subscribe() })
    }

    fn release(&self, poll: &str) {
        if let Ok(mut polls) = self.polls.lock() {
            if polls.get(poll).is_some_and(|w| w.changes.receiver_count() + w.closes.receiver_count() == 0) {
                polls.remove(poll);
            }
        }
    }

    /// Polls currently watched (for tests and diagnostics).
    pub fn watched(&self) -> usize {
        self.polls.lock().map_or(0, |p| p.len())
    }
}

/// The first message a client sends (shared with the TypeScript types).
use attune_protocol::LiveHello as Hello;
use attune_protocol::{LiveError, LiveMessage, LiveRequest, PollStatus};

fn frame(m: &LiveMessage) -> Message {
    // Serializing these plain types cannot fail.
    Message::Text(serde_json::to_string(m).unwrap_or_default().into())
}

/// `GET /api/polls/{poll}/live`: upgrades to a WebSocket for a poll that exists.
pub async fn live<S: Storage>(
    State(state): State<AppState<S>>,
    Path(poll_id): Path<String>,
    Client(addr): Client,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(e) => {
            return ApiError::new(e.status(), "not_websocket", format!("this route is a WebSocket: {}", e.body_text()))
                .into_response()
        }
    };
    match state.store.poll(&poll_id).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "no such poll").into_response()
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    let permit = match SocketCaps::acquire(&state.sockets, addr) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    // Small buffers: a thousand dashboards should not cost a hundred megabytes of them.
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
        .max_message_size(MAX_READ)
        .max_frame_size(MAX_READ)
        .on_upgrade(move |socket| async move {
            session(state, poll_id, socket).await;
            drop(permit);
        })
}

fn error_message(code: &str, message: &str) -> Message {
    frame(&LiveMessage::Error { error: LiveError { code: code.to_string(), message: message.to_string() } })
}

/// How long one send may wait for a client that does not read (its TCP window closed): past it the
/// connection is dropped, so a stalled client cannot hold its place, its permit or the timeouts.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one message; `false` when the connection failed or the client did not take it within
/// [`SEND_TIMEOUT`].
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await, Ok(Ok(())))
}

async fn fail(mut socket: WebSocket, code: &str, message: &str) {
    let _ = send(&mut socket, error_message(code, message)).await;
    let _ = send(&mut socket, Message::Close(Some(CloseFrame { code: 1008, reason: code.to_string().into() }))).await;
}

async fn session<S: Storage>(state: AppState<S>, poll_id: String, mut socket: WebSocket) {
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(Message::Text(text)))) => from_object::<Hello>(&text),
        Ok(Some(Ok(_))) => return fail(socket, "invalid_json", "the first message must be JSON text").await,
        Ok(_) => return,
        Err(_) => return fail(socket, "timeout", "no hello message within 10 s").await,
    };
    let hello = match hello {
        Ok(h) => h,
        Err(e) => {
            let msg = format!("expected {{\"type\": \"dashboard\", \"token\": …}} or {{\"type\": \"member\"}}: {e}");
            return fail(socket, "invalid_json", &msg).await;
        }
    };
    let dashboard = match hello {
        Hello::Dashboard { token } => {
            let ok = match state.store.poll(&poll_id).await {
                Ok(Some(poll)) => host_matches(&state, &poll.group_id, &token).await.ok().flatten().is_some(),
                _ => false,
            };
            if !ok {
                return fail(socket, "unauthorized", "a valid host token is required").await;
            }
            true
        }
        Hello::Member => false,
    };
    let Some(mut changes) = state.hub.subscribe(&poll_id, dashboard) else { return };
    run(&state, &poll_id, &mut socket, &mut changes, dashboard).await;
    drop(changes);
    state.hub.release(&poll_id);
}

/// What this connection is sent now (JSON text of a `LiveMessage`): an aggregate snapshot, or the
/// poll's status; and whether the poll is closed. `None` on a storage failure (the connection is
/// closed; the client reconnects).
async fn message<S: Storage>(state: &AppState<S>, poll_id: &str, dashboard: bool) -> Option<(String, bool)> {
    let poll = state.store.poll(poll_id).await.ok()??;
    if dashboard {
        // `LiveMessage::Snapshot`, written around the aggregate's text (see `aggregate_json`).
        let aggregate = aggregate_json(state, &poll).await.ok()?;
        Some((format!("{{\"type\":\"snapshot\",\"aggregate\":{aggregate}}}"), !poll.open))
    } else {
        let msg = LiveMessage::Status { poll: PollStatus { status: state_of(&poll), id: poll.id } };
        Some((serde_json::to_string(&msg).unwrap_or_default(), !poll.open))
    }
}

/// A client's message, which must be a JSON object: serde would also read a tagged enum from an array.
fn from_object<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    match serde_json::from_str::<Value>(text)? {
        v @ Value::Object(_) => serde_json::from_value(v),
        _ => Err(serde::de::Error::custom("messages are JSON objects")),
    }
}

/// A client's message after the hello.
fn request(text: &str) -> Result<LiveRequest, String> {
    from_object(text).map_err(|e| {
        format!("expected {{\"type\": \"ping\"}} or {{\"type\": \"answer\", \"token\": …, \"answers\": {{…}}}}: {e}")
    })
}

/// Stores a member's answers sent on the socket (see `store_answers`); the revision once committed.
async fn answer<S: Storage>(
    state: &AppState<S>,
    poll_id: &str,
    token: &str,
    answers: &serde_json::Map<String, Value>,
) -> Result<u64, ApiError> {
    let member = member_token_hash(token)?;
    Ok(store_answers(state, poll_id, &member, answers).await?.max(0) as u64)
}

async fn run<S: Storage>(
    state: &AppState<S>,
    poll_id: &str,
    socket: &mut WebSocket,
    changes: &mut watch::Receiver<u64>,
    dashboard: bool,
) {
    let mut budget = SnapshotBudget::new(Instant::now());
    // The first message goes at once; after that, a change waits `SNAPSHOT_GATHER` for the answers
    // arriving with it, and for a token.
    let mut due = Some(Instant::now());
    let caps = &state.sockets;
    let mut pings = tokio::time::interval_at(Instant::now() + caps.ping_every, caps.ping_every);
    // When anything at all last came from the client, and when a message from a member's page did.
    let (mut heard, mut spoke) = (Instant::now(), Instant::now());
    loop {
        if let Some(at) = due {
            let now = Instant::now();
            if now >= at && budget.try_take(now) {
                due = None;
                let Some((msg, closed)) = message(state, poll_id, dashboard).await else {
                    let _ =
                        send(socket, Message::Close(Some(CloseFrame { code: 1011, reason: "storage".into() }))).await;
                    return;
                };
                if !send(socket, Message::Text(msg.into())).await {
                    return;
                }
                if closed && !dashboard {
                    let _ = send(socket, Message::Close(Some(CloseFrame { code: 1000, reason: "poll closed".into() })))
                        .await;
                    return;
                }
            }
        }
        let wait = due.map_or_else(Instant::now, |at| at.max(budget.next_send()));
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                due.get_or_insert_with(|| Instant::now() + SNAPSHOT_GATHER);
            }
            () = tokio::time::sleep_until(wait), if due.is_some() => {}
            _ = pings.tick() => {
                if heard.elapsed() >= caps.silent_after {
                    return;
                }
                if !dashboard && spoke.elapsed() >= caps.member_idle {
                    let _ = send(socket, Message::Close(Some(CloseFrame { code: 1000, reason: "idle".into() }))).await;
                    return;
                }
                if !send(socket, Message::Ping(axum::body::Bytes::new())).await {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) if text.len() > MAX_MESSAGE => {
                    let msg = format!("messages are limited to {MAX_MESSAGE} bytes");
                    let _ = send(socket, error_message("message_too_big", &msg)).await;
                    let close = CloseFrame { code: 1009, reason: "message too big".into() };
                    let _ = send(socket, Message::Close(Some(close))).await;
                    return;
                }
                Some(Ok(Message::Text(text))) => {
                    (heard, spoke) = (Instant::now(), Instant::now());
                    let reply = match request(&text) {
                        Ok(LiveRequest::Ping) => frame(&LiveMessage::Pong),
                        Ok(LiveRequest::Answer { token, answers }) if !dashboard => {
                            match answer(state, poll_id, &token, &answers).await {
                                Ok(revision) => frame(&LiveMessage::Stored { revision }),
                                Err(e) => error_message(e.code(), e.message()),
                            }
                        }
                        Ok(LiveRequest::Answer { .. }) => {
                            error_message("invalid_json", "answers are sent on a member's connection")
                        }
                        Err(e) => error_message("invalid_json", &e),
                    };
                    if !send(socket, reply).await {
                        return;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    heard = Instant::now();
                    if !send(socket, error_message("invalid_json", "binary frames are not used")).await {
                        return;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => heard = Instant::now(),
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_then_five_a_second() {
        let t0 = Instant::now();
        let mut budget = SnapshotBudget::new(t0);
        for k in 0..SNAPSHOT_BURST {
            assert!(budget.try_take(t0), "snapshot {k} of the burst");
        }
        assert!(!budget.try_take(t0), "the burst is spent");
        assert_eq!(budget.next_send(), t0 + SNAPSHOT_EVERY);
        assert!(!budget.try_take(t0 + SNAPSHOT_EVERY / 2));
        assert!(budget.try_take(t0 + SNAPSHOT_EVERY));
        // Sustained: one per SNAPSHOT_EVERY, never more, over ten seconds.
        let mut sent = 0;
        let mut now = t0 + SNAPSHOT_EVERY;
        while now < t0 + Duration::from_secs(10) {
            now += Duration::from_millis(10);
            sent += u32::from(budget.try_take(now));
        }
        assert_eq!(sent, 49, "five a second after the burst");
        // A quiet spell refills the bucket, up to the burst and no further.
        let later = now + SNAPSHOT_EVERY * (SNAPSHOT_BURST * 3);
        let burst = (0..SNAPSHOT_BURST * 2).filter(|_| budget.try_take(later)).count();
        assert_eq!(burst, SNAPSHOT_BURST as usize);
    }
}
