//! `cargo xtask bench poll`: a load generator on loopback against the real server binary
//! (`ATTUNE_SERVER_BIN`) on a fresh SQLite file. 1,000 polls (100 groups of 10), one dashboard
//! WebSocket each, 10 members each (10,000 in all). Every member does what the join page does: it
//! joins over HTTP, opens the member WebSocket and keeps it, and later sends its answers on that
//! socket. All answer within a window of 1.5 s (6,667 answers offered a second, a third over the
//! target), a poll's ten members within about 80 ms of each other, as a group asked to answer
//! together. Measured: acknowledged (committed) answers per second, the time from a member sending
//! an answer to its acknowledgement and to the poll's dashboard receiving a snapshot that counts it
//! (p50, p99), errors, the server's resident memory (after the joins, after the answers, peak) and
//! CPU time. The generator's connections come from 64 loopback addresses, and it runs on one thread
//! so that the server keeps the other core. Prints one JSON object. Bounded: gives up after 60 s.
//!
//! With `ATTUNE_BENCH_DATABASE` (a `postgres://` URL of an empty database) and
//! `ATTUNE_BENCH_REPLICAS=2`, the same load runs against two replicas on that database: each poll's
//! members join and answer through one replica and its dashboard watches from the other, so every
//! latency measured crosses replicas (PostgreSQL `LISTEN`/`NOTIFY`). Memory is reported per replica.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

const GROUPS: usize = 100;
const POLLS_PER_GROUP: usize = 10;
const MEMBERS_PER_POLL: usize = 10;
const ANSWER_WINDOW: Duration = Duration::from_millis(1500);

/// Source addresses the generator's connections are spread over (127.0.0.2 and up), as members'
/// phones come from many addresses. On one address, 20,000 connections to one server port make
/// the kernel's search for a free local port the costliest part of every connect.
const SOURCE_ADDRESSES: u32 = 64;

/// A TCP connection to the server from the next source address.
async fn connect(addr: &str) -> anyhow::Result<TcpStream> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % SOURCE_ADDRESSES;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(std::net::SocketAddr::from(([127, 0, 0, 2 + k as u8], 0)))?;
    let stream = socket.connect(addr.parse()?).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A WebSocket to a poll's live route.
async fn live_socket(addr: &str, poll: &str) -> anyhow::Result<Socket> {
    let stream = connect(addr).await?;
    // Small buffers, as a browser's: tungstenite's default of 128 KiB a socket would make the
    // generator zero memory all day.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096);
    let url = format!("ws://{addr}/api/polls/{poll}/live");
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(ws)
}

/// A keep-alive HTTP/1.1 connection: enough client for JSON requests with Content-Length replies.
struct Conn {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    async fn open(addr: &str) -> anyhow::Result<Conn> {
        let stream = connect(addr).await?;
        Ok(Conn { stream: BufReader::new(stream), host: addr.to_string() })
    }

    async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n", self.host, body.len());
        if !body.is_empty() {
            req.push_str("Content-Type: application/json\r\n");
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(&body);
        self.stream.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line.split_whitespace().nth(1).unwrap_or("0").parse()?;
        let mut length = 0;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse()?;
            }
        }
        let mut buf = vec![0; length];
        self.stream.read_exact(&mut buf).await?;
        if headers.contains(&CLOSE) {
            // Wait for the server to close its end first (see `CLOSE`).
            let mut rest = Vec::new();
            self.stream.read_to_end(&mut rest).await?;
        }
        Ok((status, serde_json::from_slice(&buf).unwrap_or(Value::Null)))
    }
}

/// A member's join asks the server to close the connection after replying: the page has nothing
/// more to ask over HTTP (its answers go on its WebSocket). The server closing first also keeps the
/// load generator's own ports free of TIME_WAIT sockets, which would slow every later connect.
const CLOSE: (&str, &str) = ("Connection", "close");

/// The count of members answered in a snapshot, read without parsing the rest (the generator
/// shares the machine with the server, so it spends as little as it can): the server writes
/// compact JSON in which `"answered":` occurs once, at the top of the aggregate.
fn answered_count(text: &str) -> Option<u64> {
    if !text.starts_with("{\"type\":\"snapshot\"") {
        return None;
    }
    let rest = &text[text.find("\"answered\":")? + "\"answered\":".len()..];
    rest[..rest.find(|c: char| !c.is_ascii_digit())?].parse().ok()
}

type Socket = tokio_tungstenite::WebSocketStream<TcpStream>;

/// Sends a member's answers on the member's socket, as the join page does, and waits for the reply:
/// `true` once the server says they are stored (committed).
async fn stored_on(ws: &mut Socket, token: &str, answers: serde_json::Map<String, Value>) -> anyhow::Result<bool> {
    ws.send(Message::text(json!({"type": "answer", "token": token, "answers": answers}).to_string())).await?;
    while let Some(msg) = ws.next().await {
        if let Message::Text(t) = msg? {
            if t.starts_with("{\"type\":\"stored\"") {
                return Ok(true);
            }
            if t.starts_with("{\"type\":\"error\"") {
                return Ok(false);
            }
        }
    }
    Ok(false)
}

/// A member's WebSocket after its hello, with the first status read.
async fn member_socket(addr: &str, poll: &str) -> anyhow::Result<Socket> {
    let mut ws = live_socket(addr, poll).await?;
    ws.send(Message::text(json!({"type": "member"}).to_string())).await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("\"open\"") => Ok(ws),
        other => Err(anyhow::anyhow!("member socket: {other:?}")),
    }
}

struct Poll {
    id: String,
    code: String,
    host: String,
}

/// (send time, ack time) of one acknowledged answer.
type Ack = (Instant, Instant);

/// Per poll: what its dashboard received, as (time, members answered).
type Snapshots = Arc<Vec<Mutex<Vec<(Instant, u64)>>>>;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// CPU seconds (user + system) the process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let ticks = 100.0; // USER_HZ on Linux
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1;
            let f: Vec<&str> = after.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / ticks)
        })
        .unwrap_or(f64::NAN)
}

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let bin = std::env::var("ATTUNE_SERVER_BIN").map_err(|_| anyhow::anyhow!("set ATTUNE_SERVER_BIN"))?;
    let replicas: usize = std::env::var("ATTUNE_BENCH_REPLICAS").ok().and_then(|n| n.parse().ok()).unwrap_or(1).max(1);
    let dir = tempfile::tempdir()?;
    let database: std::ffi::OsString = match std::env::var("ATTUNE_BENCH_DATABASE") {
        Ok(url) if !url.is_empty() => url.into(),
        _ => dir.path().join("load.db").into_os_string(),
    };
    let (mut servers, mut addrs) = (Vec::new(), Vec::new());
    for _ in 0..replicas {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = format!("127.0.0.1:{port}");
        servers.push(
            tokio::process::Command::new(&bin)
                .args(["--addr", &addr, "--joins-per-minute", "0", "--groups-per-minute", "0", "--database"])
                .arg(&database)
                .stdout(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()?,
        );
        addrs.push(addr);
    }
    let started = Instant::now();
    let mut up = Vec::new();
    for addr in &addrs {
        up.push(loop {
            match Conn::open(addr).await {
                Ok(c) => break c,
                Err(_) if started.elapsed() < Duration::from_secs(20) => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(e) => return Err(e),
            }
        });
    }
    let mut setup = up.swap_remove(0);
    let result = tokio::time::timeout(Duration::from_secs(60), run(&addrs, &mut setup, &mut servers)).await;
    for server in &mut servers {
        let _ = server.kill().await;
    }
    let mut report = result.map_err(|_| anyhow::anyhow!("the load run did not finish within 60 s"))??;
    report["wall_seconds"] = json!(started.elapsed().as_secs_f64());
    println!("{report}");
    Ok(())
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn run(addrs: &[String], setup: &mut Conn, servers: &mut [tokio::process::Child]) -> anyhow::Result<Value> {
    let pids: Vec<u32> = servers.iter().map(|s| s.id().unwrap_or(0)).collect();
    let n = addrs.len();
    let mut polls = Vec::new();
    for g in 0..GROUPS {
        let (_, group) = setup.request("POST", "/api/groups", &[], Some(&json!({"name": format!("load {g}")}))).await?;
        let host = group["host_token"].as_str().unwrap_or_default().to_string();
        let gid = group["group"]["id"].as_str().unwrap_or_default().to_string();
        let auth = format!("Bearer {host}");
        for _ in 0..POLLS_PER_GROUP {
            let (status, p) = setup
                .request(
                    "POST",
                    &format!("/api/groups/{gid}/polls"),
                    &[("Authorization", &auth)],
                    Some(&json!({"instrument": "gcqs"})),
                )
                .await?;
            anyhow::ensure!(status == 201, "creating a poll: {status} {p}");
            polls.push(Poll {
                id: p["poll"]["id"].as_str().unwrap_or_default().into(),
                code: p["poll"]["code"].as_str().unwrap_or_default().into(),
                host: host.clone(),
            });
        }
    }
    let polls = Arc::new(polls);

    // One dashboard per poll, recording (time, answered) of every snapshot.
    let snapshots: Snapshots = Arc::new((0..polls.len()).map(|_| Mutex::new(Vec::new())).collect());
    let mut dashboards = Vec::new();
    for (k, poll) in polls.iter().enumerate() {
        // With replicas, on another replica than the one its members use.
        let mut ws = live_socket(&addrs[(k + 1) % n], &poll.id).await?;
        ws.send(Message::text(json!({"type": "dashboard", "token": poll.host}).to_string())).await?;
        let snapshots = snapshots.clone();
        dashboards.push(tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(t) = msg {
                    let now = Instant::now();
                    if let Some(answered) = answered_count(&t) {
                        snapshots[k].lock().await.push((now, answered));
                    }
                }
            }
        }));
    }

    // Members do what the join page does: join over HTTP, open the member WebSocket (kept for the
    // whole run: it is how the page hears that the poll closed) and, later, send their answers on
    // it, each acknowledged once committed.
    let (go_tx, go_rx) = tokio::sync::watch::channel(None::<Instant>);
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let acks: Arc<Vec<Mutex<Vec<Ack>>>> = Arc::new((0..polls.len()).map(|_| Mutex::new(Vec::new())).collect());
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let joined = Arc::new(tokio::sync::Barrier::new(polls.len() * MEMBERS_PER_POLL + 1));
    let (answered_tx, mut answered_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut members = Vec::new();
    for m in 0..polls.len() * MEMBERS_PER_POLL {
        let k = m / MEMBERS_PER_POLL;
        let (polls, acks, errors, joined, mut go, mut release, answered) = (
            polls.clone(),
            acks.clone(),
            errors.clone(),
            joined.clone(),
            go_rx.clone(),
            release_rx.clone(),
            answered_tx.clone(),
        );
        let addr = addrs[k % n].clone();
        members.push(tokio::spawn(async move {
            let fail = || errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let token = match Conn::open(&addr).await {
                Ok(mut c) => match c.request("POST", &format!("/api/join/{}", polls[k].code), &[CLOSE], None).await {
                    Ok((200, v)) => v["member_token"].as_str().map(str::to_string),
                    _ => None,
                },
                Err(_) => None,
            };
            let live = match &token {
                Some(_) => member_socket(&addr, &polls[k].id).await.ok(),
                None => None,
            };
            joined.wait().await;
            let (Some(token), Some(mut live)) = (token, live) else {
                fail();
                let _ = answered.send(());
                return;
            };
            let Ok(start) = go.wait_for(Option::is_some).await.map(|s| s.unwrap_or_else(Instant::now)) else { return };
            // Spread over the window, deterministically per member.
            let offset = Duration::from_micros((m as u64 * 7919) % ANSWER_WINDOW.as_micros() as u64);
            tokio::time::sleep_until((start + offset).into()).await;
            let answers: serde_json::Map<String, Value> =
                (1..=12).map(|i| (i.to_string(), json!((m + i) % 7))).collect();
            let sent = Instant::now();
            let stored = stored_on(&mut live, &token, answers).await;
            match stored {
                Ok(true) => acks[k].lock().await.push((sent, Instant::now())),
                _ => {
                    fail();
                }
            }
            let _ = answered.send(());
            let _ = release.wait_for(|r| *r).await;
            drop(live);
        }));
    }
    drop(answered_tx);
    joined.wait().await;
    let most = |f: fn(u32) -> f64| pids.iter().map(|&p| f(p)).fold(f64::NAN, f64::max);
    let cpu_all = || pids.iter().map(|&p| cpu_seconds(p)).sum::<f64>();
    let rss_joined = most(rss_mb);
    let (server_cpu0, own_cpu0) = (cpu_all(), cpu_seconds(std::process::id()));
    let t0 = Instant::now();
    go_tx.send(Some(t0))?;
    for _ in 0..polls.len() * MEMBERS_PER_POLL {
        if answered_rx.recv().await.is_none() {
            break;
        }
    }
    let elapsed = t0.elapsed();
    let (server_cpu1, own_cpu1) = (cpu_all(), cpu_seconds(std::process::id()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_end, peak, cpu) = (most(rss_mb), most(peak_rss_mb), cpu_all());
    let peaks: Vec<f64> = pids.iter().map(|&p| peak_rss_mb(p)).collect();
    // The servers go first, so that their sockets, not the generator's, are the ones closing first.
    for server in servers.iter_mut() {
        server.kill().await?;
    }
    for d in &dashboards {
        d.abort();
    }
    release_tx.send(true)?;
    for m in members {
        m.await?;
    }

    let mut latencies = Vec::new();
    let mut ack_latencies = Vec::new();
    let mut acked = 0usize;
    let mut first_send = None::<Instant>;
    let mut last_ack = None::<Instant>;
    for k in 0..polls.len() {
        let mut a = acks[k].lock().await.clone();
        a.sort_by_key(|x| x.1);
        acked += a.len();
        let snaps = snapshots[k].lock().await.clone();
        for (i, (sent, ack)) in a.iter().enumerate() {
            ack_latencies.push(ack.saturating_duration_since(*sent).as_secs_f64() * 1000.0);
            first_send = Some(first_send.map_or(*sent, |f| f.min(*sent)));
            last_ack = Some(last_ack.map_or(*ack, |l| l.max(*ack)));
            // The first snapshot counting this answer (the (i+1)-th stored in this poll).
            if let Some((t, _)) = snaps.iter().find(|(_, n)| *n as usize > i) {
                latencies.push(t.saturating_duration_since(*sent).as_secs_f64() * 1000.0);
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    ack_latencies.sort_by(f64::total_cmp);
    let window = match (first_send, last_ack) {
        (Some(f), Some(l)) => l.duration_since(f).as_secs_f64(),
        _ => elapsed.as_secs_f64(),
    };
    Ok(json!({
        "replicas": n,
        "replica_peak_rss_mb": peaks,
        "members": polls.len() * MEMBERS_PER_POLL,
        "polls": polls.len(),
        "acknowledged": acked,
        "errors": errors.load(std::sync::atomic::Ordering::Relaxed),
        "seconds": window,
        "answers_per_second": acked as f64 / window,
        "latency_ms_p50": percentile(&latencies, 0.5),
        "latency_ms_p99": percentile(&latencies, 0.99),
        "latencies_measured": latencies.len(),
        "offered_per_second": (polls.len() * MEMBERS_PER_POLL) as f64 / ANSWER_WINDOW.as_secs_f64(),
        "ack_ms_p50": percentile(&ack_latencies, 0.5),
        "ack_ms_p99": percentile(&ack_latencies, 0.99),
        "server_rss_mb_joined": rss_joined,
        "server_rss_mb_answered": rss_end,
        "server_peak_rss_mb": peak,
        "server_cpu_seconds": cpu,
        "answer_phase_server_cpu_seconds": server_cpu1 - server_cpu0,
        "answer_phase_generator_cpu_seconds": own_cpu1 - own_cpu0,
    }))
}
