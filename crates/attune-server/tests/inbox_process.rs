//! Sealed inboxes on the real `attune-server` binary: the database file, its write-ahead log and
//! the server's own output never hold a plaintext answer; and SIGKILL in the middle of a stream of
//! submissions loses none that was acknowledged (on a SQLite file; with `ATTUNE_TEST_POSTGRES`, on
//! a fresh PostgreSQL database too).

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{free_port, http, http_text, start_with, Db};

fn ikm() -> [u8; 32] {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("entropy");
    b
}

/// Creates an inbox for the key pair derived from `seed`; returns (id, host token, fingerprint, public key).
fn create(addr: std::net::SocketAddr, seed: u8) -> (String, String, String, String, [u8; 32]) {
    let (sk, pk) = attune_seal::derive_key_pair(&[seed; 32]);
    let (status, v) = http(
        addr,
        "POST",
        "/api/inboxes",
        &[],
        Some(&json!({"name": "Intake", "public_key": attune_seal::b64url(&pk)})),
    )
    .expect("server up");
    assert_eq!(status, 201, "{v}");
    (
        v["inbox"].as_str().expect("id").into(),
        v["host_token"].as_str().expect("token").into(),
        v["fingerprint"].as_str().expect("fp").into(),
        attune_seal::b64url(&pk),
        sk,
    )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_database_its_log_and_the_server_output_hold_no_plaintext_answer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, log) = (dir.path().join("attune.db"), dir.path().join("server.log"));
    let (mut server, addr) = start_with(db.as_os_str(), free_port(), Some(&log));
    let (inbox, token, fp, pk, _) = create(addr, 21);

    // Distinctive responses: each with its own answers, and a completion time no other text has.
    let mut needles: Vec<String> =
        vec!["\"instrument\":\"phq9\"".into(), "\"answers\"".into(), "item9_positive".into()];
    let mut sealed = Vec::new();
    for n in 0..12u32 {
        let answers: serde_json::Map<String, Value> =
            (1..=9).map(|i| (i.to_string(), json!((i * 7 + n) % 4))).collect();
        let completed = format!("2031-07-19T04:27:{n:02}.913Z");
        let plaintext = json!({"v": 1, "instrument": "phq9", "version": "1.0.0", "answers": answers, "context": {},
            "result": {"instrument": "phq9", "complete": true, "flags": ["item9_positive"]}, "completed": completed, "lang": "en"})
        .to_string();
        needles.push(Value::Object(answers.clone()).to_string());
        needles.push(completed);
        // Every item value as the plaintext writes it, in a run of three items.
        needles.push(format!("\"1\":{},\"2\":{},\"3\":{}", answers["1"], answers["2"], answers["3"]));
        let key = format!("plain-check-{n:04}");
        let envelope = attune_seal::seal_envelope(&pk, &fp, &inbox, &key, plaintext.as_bytes(), &ikm()).expect("seals");
        let (status, v) = http_text(
            addr,
            "POST",
            &format!("/api/inboxes/{inbox}/submissions"),
            &[("Idempotency-Key", &key)],
            Some(&envelope),
        )
        .expect("server up");
        assert_eq!(status, 201, "{v}");
        sealed.push(envelope);
    }
    let (status, listed) = http(
        addr,
        "GET",
        &format!("/api/inboxes/{inbox}/submissions"),
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    )
    .expect("server up");
    assert_eq!((status, listed["submissions"].as_array().map(Vec::len)), (200, Some(12)));

    let files = |when: &str| {
        let mut all = Vec::new();
        for name in ["attune.db", "attune.db-wal", "server.log"] {
            let bytes = std::fs::read(dir.path().join(name)).unwrap_or_default();
            for needle in &needles {
                assert!(!contains(&bytes, needle.as_bytes()), "{when}: {name} holds plaintext `{needle}`");
            }
            all.extend(bytes);
        }
        all
    };
    // While it runs (the WAL holds the latest writes), and after SIGKILL (nothing checkpointed).
    let running = files("running");
    // The search looks where the submissions are: each sealed ciphertext is there.
    for envelope in &sealed {
        let ct = serde_json::from_str::<Value>(envelope).expect("json")["ct"].as_str().expect("ct").to_string();
        assert!(contains(&running, ct.as_bytes()), "the stored ciphertext is found in the files searched");
    }
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
    files("after SIGKILL");
}

#[test]
fn sigkill_during_submissions_loses_no_acknowledged_one() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let db = Db::new(&rt);
    let (mut server, addr) = start_with(&db.arg(), free_port(), None);
    let (inbox, token, fp, pk, sk) = create(addr, 22);

    // Four waiting-room tablets submit as fast as they can; every acknowledged one is recorded.
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tablets = Vec::new();
    for t in 0..4u32 {
        let (acked, stop, inbox, fp, pk) = (acked.clone(), stop.clone(), inbox.clone(), fp.clone(), pk.clone());
        tablets.push(std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let key = format!("tablet-{t}-{n:06}");
                let text = json!({"v": 1, "instrument": "gad7", "answers": {"1": n % 4}}).to_string();
                let envelope =
                    attune_seal::seal_envelope(&pk, &fp, &inbox, &key, text.as_bytes(), &ikm()).expect("seals");
                match http_text(
                    addr,
                    "POST",
                    &format!("/api/inboxes/{inbox}/submissions"),
                    &[("Idempotency-Key", &key)],
                    Some(&envelope),
                ) {
                    Some((201, _)) => acked.lock().expect("lock").push((key, envelope)),
                    Some((status, v)) => panic!("refused with {status}: {v}"),
                    None => return, // killed mid-request: not acknowledged
                }
            }
        }));
    }
    let t0 = Instant::now();
    while acked.lock().expect("lock").len() < 150 && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
    stop.store(true, Ordering::Relaxed);
    for t in tablets {
        t.join().expect("tablet thread");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= 150, "only {} submissions were acknowledged before the kill", acked.len());

    let (mut server, addr) = start_with(&db.arg(), free_port(), None);
    let (status, listed) = http(
        addr,
        "GET",
        &format!("/api/inboxes/{inbox}/submissions"),
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    )
    .expect("server up");
    assert_eq!(status, 200);
    let stored: std::collections::HashMap<String, Value> = listed["submissions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| (s["id"].as_str().expect("id").to_string(), s["envelope"].clone()))
        .collect();
    let (_, public) = attune_seal::derive_key_pair(&[22; 32]);
    for (key, envelope) in &acked {
        let got =
            stored.get(key).unwrap_or_else(|| panic!("acknowledged submission {key} is missing after the restart"));
        assert_eq!(got, &serde_json::from_str::<Value>(envelope).expect("json"), "{key} is stored as sent");
        let opened = attune_seal::open_envelope(
            &sk,
            &public,
            &inbox,
            key,
            got["key"].as_str().expect("key"),
            got["enc"].as_str().expect("enc"),
            got["ct"].as_str().expect("ct"),
        );
        assert!(opened.is_ok(), "{key} opens after the restart");
    }
    println!(
        "{} submissions acknowledged before SIGKILL; all present after restart ({} stored)",
        acked.len(),
        stored.len()
    );
    server.kill().expect("stop");
    server.wait().expect("reaped");
    db.drop_in(&rt);
}
