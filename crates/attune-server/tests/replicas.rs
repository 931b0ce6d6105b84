//! Two replicas of the real `attune-server` binary on one temporary PostgreSQL database
//! (`ATTUNE_TEST_POSTGRES`; `cargo xtask test` starts the server and builds this test with the
//! `replica-tests` feature): a dashboard on replica A follows members who join and answer through
//! A and B; it converges to the database's truth within a bound, never counts an answer twice, and
//! its releases only move forward; A catches up after its listening connection is terminated
//! (`pg_terminate_backend`) while answers go through B; SIGKILL of B in the middle of answers loses
//! no acknowledged answer and A's dashboard stays right; a poll closed through B is closed for A's
//! members; min-n holds on both replicas.

mod support;

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::{free_port, http, member_socket, start, Db};
use tokio_tungstenite::tungstenite::{Message, WebSocket};

/// How long a dashboard on one replica may take to show what another replica committed.
const CONVERGE: Duration = Duration::from_secs(10);

/// The dashboard's snapshots, in the order they arrived, read on a thread of their own.
struct Dashboard {
    snapshots: Arc<Mutex<Vec<Value>>>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Dashboard {
    fn open(addr: SocketAddr, poll: &str, host: &str) -> Dashboard {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
        let (mut ws, _) =
            tokio_tungstenite::tungstenite::client::client(format!("ws://{addr}/api/polls/{poll}/live"), stream)
                .expect("handshake");
        ws.send(Message::text(json!({"type": "dashboard", "token": host}).to_string())).expect("hello");
        let (snapshots, stop) = (Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicBool::new(false)));
        let reader = {
            let (snapshots, stop) = (snapshots.clone(), stop.clone());
            std::thread::spawn(move || read_snapshots(ws, &snapshots, &stop))
        };
        Dashboard { snapshots, stop, reader: Some(reader) }
    }

    /// The latest snapshot's aggregate.
    fn latest(&self) -> Option<Value> {
        self.snapshots.lock().expect("lock").last().cloned()
    }

    /// Waits until the latest snapshot satisfies `ok`; the time it took.
    fn until(&self, what: &str, ok: impl Fn(&Value) -> bool) -> Duration {
        let t0 = Instant::now();
        while t0.elapsed() < CONVERGE {
            if self.latest().is_some_and(|a| ok(&a)) {
                return t0.elapsed();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the dashboard did not show {what} within {CONVERGE:?}; latest: {:?}", self.latest());
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

fn read_snapshots(mut ws: WebSocket<TcpStream>, snapshots: &Mutex<Vec<Value>>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).expect("JSON");
                if v["type"] == "snapshot" {
                    snapshots.lock().expect("lock").push(v["aggregate"].clone());
                }
            }
            Ok(_) => {}
            Err(tokio_tungstenite::tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

/// Joins through `addr`; the member token.
fn join(addr: SocketAddr, code: &str) -> String {
    let (status, j) = http(addr, "POST", &format!("/api/join/{code}"), &[], None).expect("join");
    assert_eq!(status, 200, "{j}");
    j["member_token"].as_str().expect("member token").to_string()
}

/// Answers through `addr` over HTTP; the revision once acknowledged (`None`: no answer came).
fn answer(addr: SocketAddr, poll: &str, token: &str, k: u64) -> Option<i64> {
    let answers =
        json!({"1": k % 7, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 0, "8": 1, "9": 2, "10": 3, "11": 4, "12": 5});
    match http(
        addr,
        "PUT",
        &format!("/api/polls/{poll}/response"),
        &[("X-Attune-Member", token)],
        Some(&json!({"answers": answers})),
    )? {
        (200, v) => v["revision"].as_i64(),
        (status, v) => panic!("answer refused with {status}: {v}"),
    }
}

/// Members who answered, as the database has them.
fn answered_in_db(rt: &tokio::runtime::Runtime, db: &Db, poll: &str) -> u64 {
    db.responses(rt, poll).len() as u64
}

fn sql(rt: &tokio::runtime::Runtime, db: &Db, query: &str) -> u64 {
    let Db::Postgres { url, .. } = db else { unreachable!("PostgreSQL only") };
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(url).await.expect("postgres");
        let rows = sqlx::query(query).execute(&pool).await.expect("query").rows_affected();
        pool.close().await;
        rows
    })
}

/// The releases a dashboard saw only move forward, and the answered count never goes back.
fn monotonic(snapshots: &[Value]) {
    let mut last = (0u64, 0u64);
    for a in snapshots {
        let seq = a["released"]["seq"].as_u64().unwrap_or(0);
        let answered = a["answered"].as_u64().expect("answered");
        assert!(seq >= last.0 && answered >= last.1, "went back: {last:?} then ({seq}, {answered})");
        last = (seq, answered);
    }
}

#[test]
fn two_replicas_share_live_updates() {
    assert!(
        std::env::var("ATTUNE_TEST_POSTGRES").is_ok_and(|u| !u.is_empty()),
        "this test needs ATTUNE_TEST_POSTGRES (cargo xtask test starts a temporary PostgreSQL)"
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let db = Db::new(&rt);
    let (mut a_server, a) = start(&db.arg(), free_port());
    let (mut b_server, b) = start(&db.arg(), free_port());

    let (_, g) = http(a, "POST", "/api/groups", &[], Some(&json!({"name": "replicas"}))).expect("group");
    let host = g["host_token"].as_str().expect("token").to_string();
    let auth = format!("Bearer {host}");
    let gid = g["group"]["id"].as_str().expect("id").to_string();
    let (_, p) = http(
        b,
        "POST",
        &format!("/api/groups/{gid}/polls"),
        &[("Authorization", &auth)],
        Some(&json!({"instrument": "gcqs", "min_n": 3})),
    )
    .expect("poll");
    let poll = p["poll"]["id"].as_str().expect("poll").to_string();
    let code = p["poll"]["code"].as_str().expect("code").to_string();

    let dash = Dashboard::open(a, &poll, &host);
    let mut a_member = member_socket(a, &poll);
    dash.until("the new poll", |s| s["answered"] == 0);

    // Members join through both replicas and answer through the other one.
    let mut members = Vec::new();
    for k in 0..2u64 {
        let (via_join, via_answer) = if k % 2 == 0 { (a, b) } else { (b, a) };
        let token = join(via_join, &code);
        assert_eq!(answer(via_answer, &poll, &token, k), Some(1));
        members.push(token);
    }
    let took = dash.until("2 answers", |s| s["answered"] == 2 && s["joined"] == 2);
    println!("dashboard on A saw the answers through B after {took:?}");
    // min-n (3): below it, neither replica releases anything.
    for addr in [a, b] {
        let (_, agg) = http(addr, "GET", &format!("/api/polls/{poll}/aggregate"), &[("Authorization", &auth)], None)
            .expect("aggregate");
        assert!(agg["released"].is_null(), "released below min-n on {addr}: {agg}");
    }
    assert!(dash.latest().expect("snapshot")["released"].is_null());

    // A third member, through B: the statistics are released once, on both.
    let token = join(b, &code);
    answer(b, &poll, &token, 2).expect("stored");
    members.push(token);
    dash.until("the first release of 3", |s| s["answered"] == 3 && s["released"]["n"] == 3);

    // A's listening connection is cut; answers go through B meanwhile; A catches up.
    let cut = sql(
        &rt,
        &db,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'attune-listener'",
    );
    assert!(cut >= 2, "expected both replicas' listeners, terminated {cut}");
    for k in 3..6u64 {
        let token = join(b, &code);
        answer(b, &poll, &token, k).expect("stored");
        members.push(token);
    }
    let took = dash.until("6 answers after the listener was cut", |s| s["answered"] == 6);
    println!("after pg_terminate_backend of the listeners, A caught up in {took:?}");

    // B is killed in the middle of answers: every acknowledged answer is stored, and A's
    // dashboard shows what the database holds.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let phones: Vec<_> = (0..4u64)
        .map(|k| {
            let (stop, acked, poll, code) = (stop.clone(), acked.clone(), poll.clone(), code.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let Some((200, j)) = http(b, "POST", &format!("/api/join/{code}"), &[], None) else { return };
                    let token = j["member_token"].as_str().expect("token").to_string();
                    n += 1;
                    match answer(b, &poll, &token, k + n) {
                        Some(_) => acked.lock().expect("lock").push(token),
                        None => return,
                    }
                }
            })
        })
        .collect();
    let t0 = Instant::now();
    while acked.lock().expect("lock").len() < 20 && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(5));
    }
    b_server.kill().expect("SIGKILL");
    b_server.wait().expect("reaped");
    stop.store(true, Ordering::Relaxed);
    for p in phones {
        p.join().expect("phone");
    }
    let acked = acked.lock().expect("lock").clone();
    let in_db = answered_in_db(&rt, &db, &poll);
    assert!(in_db >= 6 + acked.len() as u64, "{} acknowledged through B, {in_db} stored in all", acked.len());
    let stored = db.responses(&rt, &poll);
    for token in &acked {
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        assert!(stored.iter().any(|(h, _, _)| h.as_slice() == hash), "an acknowledged answer is missing");
    }
    dash.until("every stored answer after B died", |s| s["answered"].as_u64() == Some(in_db));
    println!("{} answers acknowledged through B before SIGKILL, all stored; A shows {in_db}", acked.len());

    // B comes back; the poll is closed through it; A's member hears it.
    let (mut b_server, b) = start(&db.arg(), free_port());
    let (status, _) =
        http(b, "POST", &format!("/api/polls/{poll}/close"), &[("Authorization", &auth)], None).expect("close");
    assert_eq!(status, 200);
    let t0 = Instant::now();
    let mut closed = false;
    while !closed && t0.elapsed() < CONVERGE {
        match a_member.read() {
            Ok(Message::Text(t)) => {
                closed = serde_json::from_str::<Value>(&t).expect("JSON")["poll"]["status"] == "closed"
            }
            Ok(Message::Close(_)) => break,
            Ok(_) => {}
            Err(e) => panic!("A's member socket failed before hearing the close: {e}"),
        }
    }
    assert!(closed, "A's member was not told that the poll closed through B");
    dash.until("the closed poll", |s| s["poll"]["status"] == "closed");

    // Nothing counted twice, nothing shown going back, and the same aggregate on both replicas.
    let snapshots = dash.snapshots.lock().expect("lock").clone();
    monotonic(&snapshots);
    let last = dash.latest().expect("snapshot");
    assert_eq!(last["answered"].as_u64(), Some(answered_in_db(&rt, &db, &poll)));
    let (_, agg_b) =
        http(b, "GET", &format!("/api/polls/{poll}/aggregate"), &[("Authorization", &auth)], None).expect("aggregate");
    assert_eq!(agg_b["answered"], last["answered"]);
    assert_eq!(agg_b["released"]["seq"], last["released"]["seq"]);

    drop(dash);
    for server in [&mut a_server, &mut b_server] {
        server.kill().expect("stop");
        server.wait().expect("reaped");
    }
    db.drop_in(&rt);
}
