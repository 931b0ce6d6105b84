//! What the tests that run the real `attune-server` binary share: HTTP on a fresh connection, a
//! server process on a database of its own (a SQLite file, or with `ATTUNE_TEST_POSTGRES` a fresh
//! PostgreSQL database), members' live sockets.
#![allow(dead_code)] // each test crate uses part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// One HTTP/1.1 request on a fresh connection; `None` when the server is gone.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    http_text(addr, method, path, headers, body.map(Value::to_string).as_deref())
}

/// [`http`] with a body of JSON text, sent as it is.
pub fn http_text(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.unwrap_or_default();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
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

pub fn start(db: &std::ffi::OsStr, port: u16) -> (Child, SocketAddr) {
    start_with(db, port, None)
}

/// [`start`], with the server's standard output and error written to `log` when given.
pub fn start_with(db: &std::ffi::OsStr, port: u16, log: Option<&std::path::Path>) -> (Child, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let (stdout, stderr) = match log {
        Some(path) => {
            let file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("log file");
            (Stdio::from(file.try_clone().expect("log file")), Stdio::from(file))
        }
        None => (Stdio::null(), Stdio::inherit()),
    };
    let child = Command::new(env!("CARGO_BIN_EXE_attune-server"))
        // Phones here answer as fast as they can: the per-member answer limit is off; so is the
        // per-address limit on inbox submissions (every test client is 127.0.0.1).
        .args(["--addr", &addr.to_string(), "--answers-per-minute", "0", "--submissions-per-minute", "0", "--database"])
        .arg(db)
        .stdout(stdout)
        .stderr(stderr)
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
pub enum Db {
    Sqlite(tempfile::TempDir),
    Postgres { admin: String, url: String, name: String },
}

impl Db {
    pub fn new(rt: &tokio::runtime::Runtime) -> Db {
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

    pub fn arg(&self) -> std::ffi::OsString {
        match self {
            Db::Sqlite(dir) => dir.path().join("attune.db").into_os_string(),
            Db::Postgres { url, .. } => url.into(),
        }
    }

    /// Every stored response of the poll: (member hash, revision, answers).
    pub fn responses(&self, rt: &tokio::runtime::Runtime, poll: &str) -> Vec<(Vec<u8>, i64, String)> {
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

    pub fn drop_in(self, rt: &tokio::runtime::Runtime) {
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
pub fn over_socket(
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

pub fn member_socket(addr: SocketAddr, poll: &str) -> tokio_tungstenite::tungstenite::WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let url = format!("ws://{addr}/api/polls/{poll}/live");
    let (mut ws, _) = tokio_tungstenite::tungstenite::client::client(url, stream).expect("handshake");
    ws.send(tokio_tungstenite::tungstenite::Message::text(json!({"type": "member"}).to_string())).expect("hello");
    ws
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}
