//! Durability: the real `attune-server` binary on a temporary database takes answers from many
//! concurrent members (half over HTTP, half on their live WebSocket, as the join page sends them),
//! is killed with SIGKILL in the middle of the stream, and restarted on the same database. Every
//! answer it acknowledged must be there, and the open poll must carry on. On a SQLite file; with
//! `ATTUNE_TEST_POSTGRES` (`cargo xtask test` starts a temporary server), on a fresh PostgreSQL
//! database instead.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::{free_port, http, member_socket, over_socket, start, Db};

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
