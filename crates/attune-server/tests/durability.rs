//! Durability: the real `attune-server` binary on a temporary database takes answers from many
//! concurrent members (half over HTTP, half on their live WebSocket, as the join page sends them),
//! is killed with SIGKILL in the middle of the stream, and restarted on the same database. Every
//! answer it acknowledged must be there, and the open poll must carry on. On a SQLite file; with
//! `ATTUNE_TEST_POSTGRES` (`cargo xtask test` starts a temporary server), on a fresh PostgreSQL
//! database instead.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// One HTTP/1.1 request on a fresh connection; `None` when the server is gone.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    stream.write_all(req.as_bytes()).ok()?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).ok()?;
    let code: u16 = status.split_whitespace().nth(1)?.parse().ok()?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
    }
    let mut buf = vec![0; length];
    reader.read_exact(&mut buf).ok()?;
    Some((code, serde_json::from_slice(&buf).unwrap_or(Value::Null)))
}

fn start(db: &std::ffi::OsStr, port: u16) -> (Child, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let child = Command::new(env!("CARGO_BIN_EXE_attune-server"))
        // Phones here answer as fast as they can: the per-member answer limit is off.
        .args(["--addr", &addr.to_string(), "--answers-per-minute", "0", "--database"])
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start attune-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    while http(addr, "GET", "/api/polls/none", &[], None).is_none() {
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, addr)
}

/// Where the server keeps its data for this test: a SQLite file, or a PostgreSQL database of its own.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres { admin: String, url: String, name: String },
}

impl Db {
    fn new(rt: &tokio::runtime::Runtime) -> Db {
        match std::env::var("ATTUNE_TEST_POSTGRES").ok().filter(|u| !u.is_empty()) {
            Some(admin) => {
                let nanos =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
                let name = format!("durability_{}_{nanos}", std::process::id());
                rt.block_on(async {
                    let pool = sqlx::PgPool::connect(&admin).await.expect("postgres");
                    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&pool).await.expect("create database");
                    pool.close().await;
                });
                let url = format!("{}/{name}", admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base));
                Db::Postgres { admin, url, name }
            }
            None => Db::Sqlite(tempfile::tempdir().expect("temp dir")),
        }
    }

    fn arg(&self) -> std::ffi::OsString {
        match self {
            Db::Sqlite(dir) => dir.path().join("attune.db").into_os_string(),
            Db::Postgres { url, .. } => url.into(),
        }
    }

    /// Every stored response of the poll: (member hash, revision, answers).
    fn responses(&self, rt: &tokio::runtime::Runtime, poll: &str) -> Vec<(Vec<u8>, i64, String)> {
        rt.block_on(async {
            match self {
                Db::Sqlite(dir) => {
                    let url = format!("sqlite://{}", dir.path().join("attune.db").display());
                    let pool = sqlx::SqlitePool::connect(&url).await.expect("open");
                    let rows = sqlx::query_as("SELECT member_hash, revision, answers FROM responses WHERE poll_id = ?")
                        .bind(poll)
                        .fetch_all(&pool)
                        .await
                        .expect("rows");
                    pool.close().await;
                    rows
                }
                Db::Postgres { url, .. } => {
                    let pool = sqlx::PgPool::connect(url).await.expect("open");
                    let rows: Vec<(Vec<u8>, i64, String)> = sqlx::query_as(
                        "SELECT member_hash, revision::bigint, answers::text FROM responses WHERE poll_id = $1",
                    )
                    .bind(poll)
                    .fetch_all(&pool)
                    .await
                    .expect("rows");
                    pool.close().await;
                    rows
                }
            }
        })
    }

    fn drop_in(self, rt: &tokio::runtime::Runtime) {
        if let Db::Postgres { admin, name, .. } = self {
            rt.block_on(async {
                let pool = sqlx::PgPool::connect(&admin).await.expect("postgres");
                sqlx::raw_sql(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&pool).await.expect("drop");
                pool.close().await;
            });
        }
    }
}

/// Sends answers on a member's live socket and waits for the reply: the revision once stored,
/// `None` when the server is gone (not acknowledged).
fn over_socket(
    ws: &mut tokio_tungstenite::tungstenite::WebSocket<TcpStream>,
    token: &str,
    answers: &Value,
) -> Option<i64> {
    use tokio_tungstenite::tungstenite::Message;
    let msg = json!({"type": "answer", "token": token, "answers": answers}).to_string();
    ws.send(Message::text(msg)).ok()?;
    loop {
        if let Message::Text(t) = ws.read().ok()? {
            let v: Value = serde_json::from_str(&t).expect("JSON");
            match v["type"].as_str() {
                Some("stored") => return v["revision"].as_i64(),
                Some("error") => panic!("answer refused on the socket: {v}"),
                _ => {}
            }
        }
    }
}

fn member_socket(addr: SocketAddr, poll: &str) -> tokio_tungstenite::tungstenite::WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let url = format!("ws://{addr}/api/polls/{poll}/live");
    let (mut ws, _) = tokio_tungstenite::tungstenite::client::client(url, stream).expect("handshake");
    ws.send(tokio_tungstenite::tungstenite::Message::text(json!({"type": "member"}).to_string())).expect("hello");
    ws
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_answer() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let db = Db::new(&rt);
    let (mut server, addr) = start(&db.arg(), free_port());

    let (_, g) = http(addr, "POST", "/api/groups", &[], Some(&json!({"name": "durability"}))).expect("group");
    let host = g["host_token"].as_str().expect("token").to_string();
    let auth = format!("Bearer {host}");
    let gid = g["group"]["id"].as_str().expect("id").to_string();
    let (_, p) = http(
        addr,
        "POST",
        &format!("/api/groups/{gid}/polls"),
        &[("Authorization", &auth)],
        Some(&json!({"instrument": "gcqs"})),
    )
    .expect("poll");
    let poll = p["poll"]["id"].as_str().expect("poll").to_string();
    let code = p["poll"]["code"].as_str().expect("code").to_string();

    // Eight members' phones answer as fast as they can, each answer a revision of the last; every
    // acknowledged (member token, revision) is recorded.
    let acked: Arc<Mutex<Vec<(String, i64, Value)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut phones = Vec::new();
    for k in 0..8u64 {
        let (acked, stop, poll, code) = (acked.clone(), stop.clone(), poll.clone(), code.clone());
        phones.push(std::thread::spawn(move || {
            let Some((200, j)) = http(addr, "POST", &format!("/api/join/{code}"), &[], None) else { return };
            let token = j["member_token"].as_str().expect("member token").to_string();
            // Odd phones answer on their live socket, even ones over HTTP.
            let mut socket = (k % 2 == 1).then(|| member_socket(addr, &poll));
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let answers = json!({"1": (k + n) % 7, "2": n % 7, "3": 3, "4": 4, "5": 5, "6": 6, "7": 0, "8": 1, "9": 2, "10": 3, "11": 4, "12": 5});
                let revision = match &mut socket {
                    Some(ws) => over_socket(ws, &token, &answers),
                    None => match http(addr, "PUT", &format!("/api/polls/{poll}/response"), &[("X-Attune-Member", &token)], Some(&json!({"answers": answers}))) {
                        Some((200, v)) => Some(v["revision"].as_i64().expect("revision")),
                        Some((status, v)) => panic!("answer refused with {status}: {v}"),
                        None => None,
                    },
                };
                match revision {
                    Some(r) => acked.lock().expect("lock").push((token.clone(), r, answers)),
                    None => return, // killed mid-request: not acknowledged
                }
            }
        }));
    }
    // Let answers flow, then kill without warning.
    let t0 = Instant::now();
    while acked.lock().expect("lock").len() < 200 && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
    stop.store(true, Ordering::Relaxed);
    for p in phones {
        p.join().expect("phone thread");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= 200, "only {} answers were acknowledged before the kill", acked.len());

    // Restart on the same file: every member's last acknowledged revision (or a later one the
    // server committed but could not acknowledge) is stored.
    let (mut server, addr) = start(&db.arg(), free_port());
    let stored = db.responses(&rt, &poll);
    let mut last: std::collections::HashMap<String, (i64, Value)> = std::collections::HashMap::new();
    for (token, revision, answers) in &acked {
        let e = last.entry(token.clone()).or_insert((0, Value::Null));
        if *revision > e.0 {
            *e = (*revision, answers.clone());
        }
    }
    for (token, (revision, answers)) in &last {
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let row = stored.iter().find(|(h, _, _)| h.as_slice() == hash).expect("the member's answer is stored");
        assert!(row.1 >= *revision, "acknowledged revision {revision} but stored {}", row.1);
        if row.1 == *revision {
            assert_eq!(serde_json::from_str::<Value>(&row.2).expect("json"), *answers);
        }
    }
    // The open poll carries on after the restart.
    let (status, agg) = http(addr, "GET", &format!("/api/polls/{poll}/aggregate"), &[("Authorization", &auth)], None)
        .expect("aggregate");
    assert_eq!((status, agg["poll"]["status"].as_str()), (200, Some("open")));
    assert_eq!(agg["answered"].as_u64(), Some(last.len() as u64));
    println!(
        "{} answers acknowledged by {} members before SIGKILL; all present after restart",
        acked.len(),
        last.len()
    );
    server.kill().expect("stop");
    server.wait().expect("reaped");
    db.drop_in(&rt);
}
