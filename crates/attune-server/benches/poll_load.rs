//! `cargo xtask bench poll`: a load generator on loopback against the real server binary
//! (`ATTUNE_SERVER_BIN`) on a fresh SQLite file. 1,000 polls (100 groups of 10), one dashboard
//! WebSocket each, 10 members each (10,000 in all, one keep-alive connection per member). Every
//! member joins, then all answer within a window of 1.5 s (6,667 answers offered a second, more
//! than the target, so the rate measured is the server's). Measured: acknowledged (committed) answers
//! per second, the time from a member sending an answer to the poll's dashboard receiving a snapshot
//! that counts it (p50, p99), errors, and the server's peak resident memory. Prints one JSON object.
//! Bounded: the whole run gives up after 60 s.

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

/// A keep-alive HTTP/1.1 connection: enough client for JSON requests with Content-Length replies.
struct Conn {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    async fn open(addr: &str) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
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
        Ok((status, serde_json::from_slice(&buf).unwrap_or(Value::Null)))
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let bin = std::env::var("ATTUNE_SERVER_BIN").map_err(|_| anyhow::anyhow!("set ATTUNE_SERVER_BIN"))?;
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = tokio::process::Command::new(&bin)
        .args(["--addr", &addr, "--joins-per-minute", "0", "--database"])
        .arg(dir.path().join("load.db"))
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = server.id().unwrap_or(0);
    let started = Instant::now();
    let mut setup = loop {
        match Conn::open(&addr).await {
            Ok(c) => break c,
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => return Err(e),
        }
    };
    let result = tokio::time::timeout(Duration::from_secs(60), run(&addr, &mut setup)).await;
    let peak = peak_rss_mb(pid);
    let cpu = cpu_seconds(pid);
    server.kill().await?;
    let mut report = result.map_err(|_| anyhow::anyhow!("the load run did not finish within 60 s"))??;
    report["server_peak_rss_mb"] = json!(peak);
    report["server_cpu_seconds"] = json!(cpu);
    report["wall_seconds"] = json!(started.elapsed().as_secs_f64());
    println!("{report}");
    Ok(())
}

async fn run(addr: &str, setup: &mut Conn) -> anyhow::Result<Value> {
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
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/polls/{}/live", poll.id)).await?;
        ws.send(Message::text(json!({"type": "dashboard", "token": poll.host}).to_string())).await?;
        let snapshots = snapshots.clone();
        dashboards.push(tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(t) = msg {
                    let now = Instant::now();
                    if let Ok(v) = serde_json::from_str::<Value>(&t) {
                        if let Some(n) = v["aggregate"]["answered"].as_u64() {
                            snapshots[k].lock().await.push((now, n));
                        }
                    }
                }
            }
        }));
    }

    // Members join, then wait for the start signal.
    let (go_tx, go_rx) = tokio::sync::watch::channel(None::<Instant>);
    let acks: Arc<Vec<Mutex<Vec<Ack>>>> = Arc::new((0..polls.len()).map(|_| Mutex::new(Vec::new())).collect());
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let joined = Arc::new(tokio::sync::Barrier::new(polls.len() * MEMBERS_PER_POLL + 1));
    let mut members = Vec::new();
    for m in 0..polls.len() * MEMBERS_PER_POLL {
        let k = m / MEMBERS_PER_POLL;
        let (polls, acks, errors, joined, mut go) =
            (polls.clone(), acks.clone(), errors.clone(), joined.clone(), go_rx.clone());
        let addr = addr.to_string();
        members.push(tokio::spawn(async move {
            let fail = || errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let conn = Conn::open(&addr).await;
            let token = match conn {
                Ok(mut c) => match c.request("POST", &format!("/api/join/{}", polls[k].code), &[], None).await {
                    Ok((200, v)) => v["member_token"].as_str().map(|t| (c, t.to_string())),
                    _ => None,
                },
                Err(_) => None,
            };
            joined.wait().await;
            let Some((mut conn, token)) = token else {
                fail();
                return;
            };
            let Ok(start) = go.wait_for(Option::is_some).await.map(|s| s.unwrap_or_else(Instant::now)) else { return };
            // Spread over the window, deterministically per member.
            let offset = Duration::from_micros((m as u64 * 7919) % ANSWER_WINDOW.as_micros() as u64);
            tokio::time::sleep_until((start + offset).into()).await;
            let answers: serde_json::Map<String, Value> =
                (1..=12).map(|i| (i.to_string(), json!((m + i) % 7))).collect();
            let sent = Instant::now();
            match conn
                .request(
                    "PUT",
                    &format!("/api/polls/{}/response", polls[k].id),
                    &[("X-Attune-Member", &token)],
                    Some(&json!({"answers": answers})),
                )
                .await
            {
                Ok((200, _)) => acks[k].lock().await.push((sent, Instant::now())),
                _ => {
                    fail();
                }
            }
        }));
    }
    joined.wait().await;
    let t0 = Instant::now();
    go_tx.send(Some(t0))?;
    for m in members {
        m.await?;
    }
    let elapsed = t0.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for d in &dashboards {
        d.abort();
    }

    let mut latencies = Vec::new();
    let mut acked = 0usize;
    let mut first_send = None::<Instant>;
    let mut last_ack = None::<Instant>;
    for k in 0..polls.len() {
        let mut a = acks[k].lock().await.clone();
        a.sort_by_key(|x| x.1);
        acked += a.len();
        let snaps = snapshots[k].lock().await.clone();
        for (i, (sent, ack)) in a.iter().enumerate() {
            first_send = Some(first_send.map_or(*sent, |f| f.min(*sent)));
            last_ack = Some(last_ack.map_or(*ack, |l| l.max(*ack)));
            // The first snapshot counting this answer (the (i+1)-th stored in this poll).
            if let Some((t, _)) = snaps.iter().find(|(_, n)| *n as usize > i) {
                latencies.push(t.saturating_duration_since(*sent).as_secs_f64() * 1000.0);
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    let window = match (first_send, last_ack) {
        (Some(f), Some(l)) => l.duration_since(f).as_secs_f64(),
        _ => elapsed.as_secs_f64(),
    };
    Ok(json!({
        "members": polls.len() * MEMBERS_PER_POLL,
        "polls": polls.len(),
        "acknowledged": acked,
        "errors": errors.load(std::sync::atomic::Ordering::Relaxed),
        "seconds": window,
        "answers_per_second": acked as f64 / window,
        "latency_ms_p50": percentile(&latencies, 0.5),
        "latency_ms_p99": percentile(&latencies, 0.99),
        "latencies_measured": latencies.len(),
    }))
}
