//! Sealed intake inboxes (docs/inbox.md), in process on a real SQLite file (or, with
//! `ATTUNE_TEST_POSTGRES`, on PostgreSQL in a schema of its own): every route, what the server
//! refuses and why, that it stores each submission once, that what it stores opens with the
//! clinic's key and only as the submission it was sealed for, retention, and forwarding to a
//! clinic's endpoint on 127.0.0.1 signed as Standard Webhooks specify, across an outage.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use attune_core::Catalog;
use attune_server::{app, AppState, Forwarding, InboxConfig, InboxStore, Limiter, Postgres, Sqlite};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// The clinic's key pair, derived from a fixed seed so a failure can be replayed.
fn clinic(seed: u8) -> ([u8; 32], [u8; 32]) {
    attune_seal::derive_key_pair(&[seed; 32])
}

fn ikm() -> [u8; 32] {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("entropy");
    b
}

/// A distinctive PHQ-9 response as the widget seals it.
fn plaintext(n: u32) -> String {
    let answers: serde_json::Map<String, Value> = (1..=9).map(|i| (i.to_string(), json!((i + n) % 4))).collect();
    json!({"v": 1, "instrument": "phq9", "version": "1.0.0", "answers": answers, "context": {},
           "result": {"instrument": "phq9", "complete": true}, "completed": format!("2026-12-05T10:{:02}:00.000Z", n % 60), "lang": "en"})
    .to_string()
}

enum Store {
    Sqlite(Sqlite),
    Postgres(Postgres),
}

struct Server {
    app: Router,
    store: Store,
    _dir: tempfile::TempDir,
}

fn fast_forwarding() -> Forwarding {
    Forwarding {
        first_retry: Duration::from_millis(100),
        max_retry: Duration::from_millis(400),
        timeout: Duration::from_secs(5),
        allow_local_http: true,
        poll_every: Duration::from_millis(50),
    }
}

async fn server(config: InboxConfig) -> Server {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = tempfile::tempdir().expect("temp dir");
    let pg = std::env::var("ATTUNE_TEST_POSTGRES").ok().filter(|u| !u.is_empty());
    let (app, store) = match pg {
        Some(url) => {
            let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
            let schema = format!("inbox_{}_{nanos}_{k}", std::process::id());
            let store = Postgres::open_in_schema(&url, &schema).await.expect("postgres");
            let state = AppState::new(store.clone(), Catalog::embedded()).with_inbox_config(config);
            (app(state), Store::Postgres(store))
        }
        None => {
            let store = Sqlite::open(&dir.path().join("attune.db")).await.expect("open");
            let state = AppState::new(store.clone(), Catalog::embedded()).with_inbox_config(config);
            (app(state), Store::Sqlite(store))
        }
    };
    Server { app, store, _dir: dir }
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body.map_or_else(Body::empty, Body::from)).expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (status, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON body") })
}

/// Creates an inbox for the key pair; returns (id, host token, fingerprint).
async fn create(app: &Router, public: &[u8; 32], extra: Value) -> (String, String, String) {
    let mut body = json!({"name": "Intake", "public_key": attune_seal::b64url(public)});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (s, v) =
        call(app, "POST", "/api/inboxes", &[("content-type", "application/json")], Some(body.to_string())).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["fingerprint"].as_str(), Some(attune_seal::fingerprint(public).as_str()));
    (
        v["inbox"].as_str().expect("id").into(),
        v["host_token"].as_str().expect("token").into(),
        v["fingerprint"].as_str().expect("fp").into(),
    )
}

async fn submit(app: &Router, inbox: &str, key: &str, envelope: &str) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        &format!("/api/inboxes/{inbox}/submissions"),
        &[("idempotency-key", key), ("content-type", "application/json")],
        Some(envelope.to_string()),
    )
    .await
}

async fn list(app: &Router, inbox: &str, token: &str) -> Vec<Value> {
    let (s, v) = call(
        app,
        "GET",
        &format!("/api/inboxes/{inbox}/submissions"),
        &[("authorization", &format!("Bearer {token}"))],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["submissions"].as_array().expect("submissions").clone()
}

/// Opens a listed submission with the clinic's key pair.
fn open(sk: &[u8; 32], pk: &[u8; 32], inbox: &str, listed: &Value) -> Result<String, attune_seal::Error> {
    let e = &listed["envelope"];
    let text = attune_seal::open_envelope(
        sk,
        pk,
        inbox,
        listed["id"].as_str().expect("id"),
        e["key"].as_str().unwrap_or(""),
        e["enc"].as_str().unwrap_or(""),
        e["ct"].as_str().unwrap_or(""),
    )?;
    Ok(String::from_utf8(text).expect("UTF-8"))
}

#[tokio::test]
async fn a_clinic_receives_sealed_responses_once_and_opens_them() {
    let s = server(InboxConfig::default()).await;
    let (sk, pk) = clinic(7);
    let (inbox, token, fp) = create(&s.app, &pk, json!({})).await;

    // What a browser needs to seal: the key, its fingerprint, the suite, from any origin.
    let (st, v) =
        call(&s.app, "GET", &format!("/api/inboxes/{inbox}"), &[("origin", "https://clinic.example")], None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (v["public_key"].as_str(), v["fingerprint"].as_str()),
        (Some(attune_seal::b64url(&pk).as_str()), Some(fp.as_str()))
    );
    assert_eq!(v["suite"], "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM");
    let res = s
        .app
        .clone()
        .oneshot(
            Request::builder()
                .method("OPTIONS")
                .uri(format!("/api/inboxes/{inbox}/submissions"))
                .header("origin", "https://clinic.example")
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type,idempotency-key")
                .body(Body::empty())
                .expect("preflight"),
        )
        .await
        .expect("response");
    assert_eq!(
        res.headers().get("access-control-allow-origin").map(|v| v.to_str().ok()),
        Some(Some("https://clinic.example")),
        "{:?} {:?}",
        res.status(),
        res.headers()
    );

    // Three responses, one sent twice (a retry after a lost answer): stored once.
    let mut sent = HashMap::new();
    for n in 0..3u32 {
        let key = format!("0b6f5a1c-{n:04}-4c1e-9a55-5f1d2e3c4b5a");
        let text = plaintext(n);
        let envelope =
            attune_seal::seal_envelope(&attune_seal::b64url(&pk), &fp, &inbox, &key, text.as_bytes(), &ikm())
                .expect("seals");
        let (st, v) = submit(&s.app, &inbox, &key, &envelope).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert_eq!(v["id"].as_str(), Some(key.as_str()));
        if n == 1 {
            let (again, v2) = submit(&s.app, &inbox, &key, &envelope).await;
            assert_eq!(
                (again, &v2["received_at"]),
                (StatusCode::OK, &v["received_at"]),
                "a replay is acknowledged, not stored again"
            );
            let other =
                attune_seal::seal_envelope(&attune_seal::b64url(&pk), &fp, &inbox, &key, b"{}", &ikm()).expect("seals");
            let (conflict, v3) = submit(&s.app, &inbox, &key, &other).await;
            assert_eq!((conflict, v3["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_conflict")));
        }
        sent.insert(key, text);
    }
    let listed = list(&s.app, &inbox, &token).await;
    assert_eq!(listed.len(), 3, "each submission stored once");
    for item in &listed {
        let id = item["id"].as_str().expect("id");
        assert_eq!(open(&sk, &pk, &inbox, item).expect("opens with the clinic's key"), sent[id]);
        assert!(item["size"].as_i64().expect("size") > 0 && item["received_at"].as_i64().is_some());
    }

    // The host token guards the list, deleting and settings; a wrong token and an unknown inbox
    // get the same answer.
    for (uri, method) in [
        (format!("/api/inboxes/{inbox}/submissions"), "GET"),
        (format!("/api/inboxes/{inbox}/settings"), "GET"),
        (format!("/api/inboxes/{inbox}/submissions/{}", listed[0]["id"].as_str().expect("id")), "DELETE"),
        ("/api/inboxes/nosuchinbox/submissions".to_string(), "GET"),
    ] {
        for auth in [vec![], vec![("authorization", "Bearer wrong")]] {
            let (st, v) = call(&s.app, method, &uri, &auth, None).await;
            assert_eq!(
                (st, v["error"]["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("unauthorized")),
                "{method} {uri}"
            );
        }
    }
    assert_eq!(list(&s.app, &inbox, &token).await.len(), 3, "nothing was deleted by a refused request");

    // Deleting after export: gone, and a second delete says so.
    let first = listed[0]["id"].as_str().expect("id").to_string();
    let auth = format!("Bearer {token}");
    let uri = format!("/api/inboxes/{inbox}/submissions/{first}");
    assert_eq!(call(&s.app, "DELETE", &uri, &[("authorization", &auth)], None).await.0, StatusCode::NO_CONTENT);
    let (st, v) = call(&s.app, "DELETE", &uri, &[("authorization", &auth)], None).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    assert_eq!(list(&s.app, &inbox, &token).await.len(), 2);
}

#[tokio::test]
async fn what_cannot_be_opened_is_refused_by_the_server_or_by_the_clinic() {
    let s = server(InboxConfig::default()).await;
    let (sk, pk) = clinic(8);
    let (inbox, token, fp) = create(&s.app, &pk, json!({})).await;
    let pkb = attune_seal::b64url(&pk);
    let good =
        attune_seal::seal_envelope(&pkb, &fp, &inbox, "key-good-0001", plaintext(1).as_bytes(), &ikm()).expect("seals");

    // The server checks the shape, and that it is sealed to the inbox's current key.
    let env: Value = serde_json::from_str(&good).expect("json");
    let with = |k: &str, v: Value| {
        let mut e = env.clone();
        e[k] = v;
        e.to_string()
    };
    let cases = [
        ("not json", "{".to_string(), StatusCode::BAD_REQUEST, "invalid_envelope"),
        ("version 2", with("v", json!(2)), StatusCode::BAD_REQUEST, "invalid_envelope"),
        ("short enc", with("enc", json!("AAAA")), StatusCode::BAD_REQUEST, "invalid_envelope"),
        ("enc not base64url", with("enc", json!("!".repeat(43))), StatusCode::BAD_REQUEST, "invalid_envelope"),
        ("short ct", with("ct", json!("AAAA")), StatusCode::BAD_REQUEST, "invalid_envelope"),
        ("extra field", with("answers", json!({"1": 2})), StatusCode::BAD_REQUEST, "invalid_envelope"),
        (
            "another key's fingerprint",
            with("key", json!(attune_seal::fingerprint(&clinic(9).1))),
            StatusCode::CONFLICT,
            "key_changed",
        ),
    ];
    for (what, body, status, code) in cases {
        let (st, v) = submit(&s.app, &inbox, "key-bad-00001", &body).await;
        assert_eq!((st, v["error"]["code"].as_str()), (status, Some(code)), "{what}: {v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    for (what, key) in [("missing", ""), ("too short", "abc"), ("bad characters", "key with spaces!")] {
        let (st, v) = call(
            &s.app,
            "POST",
            &format!("/api/inboxes/{inbox}/submissions"),
            &if key.is_empty() { vec![] } else { vec![("idempotency-key", key)] },
            Some(good.clone()),
        )
        .await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_idempotency_key")),
            "{what}"
        );
    }
    let (st, v) = submit(&s.app, "nosuchinbox", "key-good-0001", &good).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    assert!(list(&s.app, &inbox, &token).await.is_empty(), "nothing refused was stored");

    // What the server cannot tell: a ciphertext changed in one byte, sealed to another key under
    // this inbox's fingerprint, or moved to another submission. The clinic's key refuses each.
    let mut ct = attune_seal::from_b64url(env["ct"].as_str().expect("ct")).expect("b64");
    ct[5] ^= 0x01;
    let altered = with("ct", json!(attune_seal::b64url(&ct)));
    let (_, other_pk) = clinic(10);
    let other_fp = attune_seal::fingerprint(&other_pk);
    let wrong_key: Value = serde_json::from_str(
        &attune_seal::seal_envelope(
            &attune_seal::b64url(&other_pk),
            &other_fp,
            &inbox,
            "key-wrong-001",
            plaintext(2).as_bytes(),
            &ikm(),
        )
        .expect("seals"),
    )
    .expect("json");
    let mut wrong_key_claimed = wrong_key.clone();
    wrong_key_claimed["key"] = json!(fp);
    for (key, body) in
        [("key-altered-1", altered), ("key-wrong-001", wrong_key_claimed.to_string()), ("key-moved-001", good.clone())]
    {
        assert_eq!(submit(&s.app, &inbox, key, &body).await.0, StatusCode::CREATED);
    }
    for item in list(&s.app, &inbox, &token).await {
        assert_eq!(open(&sk, &pk, &inbox, &item), Err(attune_seal::Error::OpenFailed), "{}", item["id"]);
    }

    // A sealing page pinned to a fingerprint refuses any other key: nothing is sealed.
    assert_eq!(
        attune_seal::seal_envelope(&attune_seal::b64url(&other_pk), &fp, &inbox, "k", b"{}", &ikm()),
        Err(attune_seal::Error::KeyMismatch)
    );

    // A new key: envelopes sealed to the old one are refused from then on, the old ones stay.
    let (_, new_pk) = clinic(11);
    let auth = format!("Bearer {token}");
    let (st, v) = call(
        &s.app,
        "PUT",
        &format!("/api/inboxes/{inbox}/key"),
        &[("authorization", &auth), ("content-type", "application/json")],
        Some(json!({"public_key": attune_seal::b64url(&new_pk)}).to_string()),
    )
    .await;
    assert_eq!((st, v["fingerprint"].as_str()), (StatusCode::OK, Some(attune_seal::fingerprint(&new_pk).as_str())));
    let (st, v) = submit(&s.app, &inbox, "key-after-rot", &good).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("key_changed")));
    // A repeat of one stored before is still acknowledged: its browser did not hear the first answer.
    let (st, _) = submit(&s.app, &inbox, "key-moved-001", &good).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list(&s.app, &inbox, &token).await.len(), 3);
}

#[tokio::test]
async fn inbox_settings_limits_and_retention() {
    let config = InboxConfig {
        per_inbox: Limiter::new(5, 5),
        max_submissions: 4,
        forwarding: Forwarding { allow_local_http: false, ..Forwarding::default() },
        ..InboxConfig::default()
    };
    let s = server(config).await;
    let (_, pk) = clinic(12);
    let pkb = attune_seal::b64url(&pk);

    // Creation: a name, a key, sensible retention and an https endpoint.
    for (body, code) in [
        (json!({"name": "", "public_key": pkb}), "invalid_json"),
        (json!({"name": "x", "public_key": "AAAA"}), "invalid_key"),
        (json!({"name": "x", "public_key": attune_seal::b64url(&[0u8; 32])}), "invalid_key"),
        (json!({"name": "x", "public_key": pkb, "retention_days": 0}), "invalid_json"),
        (json!({"name": "x", "public_key": pkb, "retention_days": 4000}), "invalid_json"),
        (json!({"name": "x", "public_key": pkb, "forward_url": "http://clinic.example/hook"}), "invalid_forward_url"),
        (json!({"name": "x", "public_key": pkb, "forward_url": "http://127.0.0.1:9/hook"}), "invalid_forward_url"),
        (json!({"name": "x", "public_key": pkb, "private_key": "no"}), "invalid_json"),
    ] {
        let (st, v) =
            call(&s.app, "POST", "/api/inboxes", &[("content-type", "application/json")], Some(body.to_string())).await;
        assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{body}: {v}");
    }
    let (inbox, token, fp) =
        create(&s.app, &pk, json!({"retention_days": 30, "forward_url": "https://clinic.example/hooks/attune"})).await;
    let auth = format!("Bearer {token}");
    let (st, v) =
        call(&s.app, "GET", &format!("/api/inboxes/{inbox}/settings"), &[("authorization", &auth)], None).await;
    assert_eq!(
        (st, v["retention_days"].as_u64(), v["forward_url"].as_str()),
        (StatusCode::OK, Some(30), Some("https://clinic.example/hooks/attune"))
    );
    let secret = v["forward_secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    // The endpoint kept: the secret kept, unless rotated; no endpoint: no secret.
    let put = |body: Value| {
        let (app, auth, inbox) = (s.app.clone(), auth.clone(), inbox.clone());
        async move {
            call(
                &app,
                "PUT",
                &format!("/api/inboxes/{inbox}/settings"),
                &[("authorization", &auth), ("content-type", "application/json")],
                Some(body.to_string()),
            )
            .await
        }
    };
    let (_, v) = put(json!({"retention_days": 7, "forward_url": "https://clinic.example/other"})).await;
    assert_eq!((v["retention_days"].as_u64(), v["forward_secret"].as_str()), (Some(7), Some(secret.as_str())));
    let (_, v) =
        put(json!({"retention_days": 7, "forward_url": "https://clinic.example/other", "rotate_secret": true})).await;
    assert_ne!(v["forward_secret"].as_str(), Some(secret.as_str()));
    let (_, v) = put(json!({"retention_days": 1})).await;
    assert_eq!((v["forward_url"].clone(), v["forward_secret"].clone()), (Value::Null, Value::Null));

    // Four submissions fill the inbox; the fifth is refused until the clinic deletes.
    for n in 0..5u32 {
        let key = format!("limit-key-{n:04}");
        let env = attune_seal::seal_envelope(&pkb, &fp, &inbox, &key, plaintext(n).as_bytes(), &ikm()).expect("seals");
        let (st, v) = submit(&s.app, &inbox, &key, &env).await;
        if n < 4 {
            assert_eq!(st, StatusCode::CREATED, "{v}");
        } else {
            assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::INSUFFICIENT_STORAGE, Some("inbox_full")));
        }
    }
    // The inbox's rate: five a minute, so the sixth request is refused with Retry-After.
    let env = attune_seal::seal_envelope(&pkb, &fp, &inbox, "limit-key-0009", b"{}", &ikm()).expect("seals");
    let (st, v) = submit(&s.app, &inbox, "limit-key-0009", &env).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));

    // Retention: one day. Two days on, everything is past it; nothing of another inbox is touched.
    let (other, other_token, other_fp) = create(&s.app, &clinic(13).1, json!({})).await;
    let env = attune_seal::seal_envelope(
        &attune_seal::b64url(&clinic(13).1),
        &other_fp,
        &other,
        "keep-key-0001",
        b"{}",
        &ikm(),
    )
    .expect("seals");
    assert_eq!(submit(&s.app, &other, "keep-key-0001", &env).await.0, StatusCode::CREATED);
    let later = attune_server::storage_now() + 2 * 86_400;
    let expired = match &s.store {
        Store::Sqlite(db) => db.expire(later).await,
        Store::Postgres(db) => db.expire(later).await,
    }
    .expect("expire");
    assert_eq!(expired, 4);
    let (st, v) =
        call(&s.app, "GET", &format!("/api/inboxes/{inbox}/submissions"), &[("authorization", &auth)], None).await;
    assert_eq!((st, v["submissions"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    assert_eq!(list(&s.app, &other, &other_token).await.len(), 1, "an inbox without retention keeps its submissions");
}

/// A clinic's endpoint on 127.0.0.1 that verifies each webhook as Standard Webhooks specify (with
/// its own HMAC, not the server's code), keeps each message id once, and is down or failing while
/// `outage` says so.
#[derive(Default)]
struct Receiver {
    outage: std::sync::atomic::AtomicU32,
    received: Mutex<Vec<(String, Value)>>,
    refused: std::sync::atomic::AtomicU32,
    attempts: std::sync::atomic::AtomicU32,
}

fn verify(secret: &str, headers: &axum::http::HeaderMap, body: &[u8]) -> bool {
    use base64::Engine;
    use hmac::Mac;
    let get = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (id, ts, sigs) = (get("webhook-id"), get("webhook-timestamp"), get("webhook-signature"));
    let Ok(ts_n) = ts.parse::<i64>() else { return false };
    if (attune_server::storage_now() - ts_n).abs() > 300 {
        return false;
    }
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).expect("secret");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    sigs.split(' ').any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_is_signed_and_delivers_each_submission_once_across_an_outage() {
    let s = server(InboxConfig { forwarding: fast_forwarding(), ..InboxConfig::default() }).await;
    let (sk, pk) = clinic(14);
    // The receiver's port is chosen now, but nothing listens on it yet: the first attempts are refused connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let (inbox, _token, fp) =
        create(&s.app, &pk, json!({"forward_url": format!("http://127.0.0.1:{port}/hooks")})).await;
    let secret = {
        let (_, v) = call(
            &s.app,
            "GET",
            &format!("/api/inboxes/{inbox}/settings"),
            &[("authorization", &format!("Bearer {_token}"))],
            None,
        )
        .await;
        v["forward_secret"].as_str().expect("secret").to_string()
    };
    let pkb = attune_seal::b64url(&pk);
    let mut sent = HashMap::new();
    for n in 0..6u32 {
        let key = format!("hook-key-{n:04}");
        let text = plaintext(n);
        let env = attune_seal::seal_envelope(&pkb, &fp, &inbox, &key, text.as_bytes(), &ikm()).expect("seals");
        assert_eq!(submit(&s.app, &inbox, &key, &env).await.0, StatusCode::CREATED);
        sent.insert(key, text);
    }
    tokio::time::sleep(Duration::from_millis(600)).await;

    // The endpoint comes up, but fails its first four requests with 503; then it takes them.
    let receiver = Arc::new(Receiver::default());
    receiver.outage.store(4, std::sync::atomic::Ordering::SeqCst);
    let (r, secret2) = (receiver.clone(), secret.clone());
    let hook = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let (r, secret) = (r.clone(), secret2.clone());
            async move {
                use std::sync::atomic::Ordering::SeqCst;
                r.attempts.fetch_add(1, SeqCst);
                if r.outage.load(SeqCst) > 0 {
                    r.outage.fetch_sub(1, SeqCst);
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                if !verify(&secret, &headers, &body) {
                    r.refused.fetch_add(1, SeqCst);
                    return StatusCode::BAD_REQUEST;
                }
                let id = headers["webhook-id"].to_str().expect("id").to_string();
                let mut got = r.received.lock().expect("lock");
                if !got.iter().any(|(i, _)| *i == id) {
                    got.push((id, serde_json::from_slice(&body).expect("JSON body")));
                }
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("receiver port");
    tokio::spawn(async move { axum::serve(listener, hook).await.expect("receiver") });

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while receiver.received.lock().expect("lock").len() < 6 {
        assert!(std::time::Instant::now() < deadline, "not every submission was forwarded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pending = match &s.store {
        Store::Sqlite(db) => db.forwards_pending().await,
        Store::Postgres(db) => db.forwards_pending().await,
    }
    .expect("pending");
    assert_eq!(pending, 0, "the outbox is empty once every submission is delivered");
    use std::sync::atomic::Ordering::SeqCst;
    assert_eq!(receiver.refused.load(SeqCst), 0, "every signature verified");
    let received = receiver.received.lock().expect("lock").clone();
    assert_eq!(received.len(), 6);
    // Each submission arrived once, still sealed, and opens with the clinic's key.
    assert_eq!(receiver.attempts.load(SeqCst), 4 + 6, "4 refused by the outage, then each delivered once");
    for (id, body) in &received {
        assert_eq!(body["type"], "inbox.submission");
        let data = &body["data"];
        assert_eq!(*id, format!("{inbox}_{}", data["id"].as_str().expect("id")));
        let text = open(&sk, &pk, &inbox, data).expect("opens");
        assert_eq!(text, sent[data["id"].as_str().expect("id")]);
    }

    // A tampered message is refused by the receiver: one byte of the body, or the timestamp.
    let (id, body) = &received[0];
    let body = body.to_string();
    let ts = attune_server::storage_now();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("webhook-id", id.parse().expect("header"));
    headers.insert("webhook-timestamp", ts.to_string().parse().expect("header"));
    let sig = attune_server::webhook_signature(&secret, id, ts, &body).expect("signs");
    headers.insert("webhook-signature", sig.parse().expect("header"));
    assert!(verify(&secret, &headers, body.as_bytes()), "the untouched message verifies");
    let mut tampered = body.clone().into_bytes();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    assert!(!verify(&secret, &headers, &tampered), "one byte changed");
    headers.insert("webhook-timestamp", (ts - 3600).to_string().parse().expect("header"));
    assert!(!verify(&secret, &headers, body.as_bytes()), "an hour-old timestamp");
    let sig = attune_server::webhook_signature(&secret, id, ts, &body).expect("signs");
    let mut request = format!(
        "POST /hooks HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\nwebhook-id: {id}\r\n\
         webhook-timestamp: {ts}\r\nwebhook-signature: {sig}\r\n\r\n",
        tampered.len()
    )
    .into_bytes();
    request.extend_from_slice(&tampered);
    let status = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.write_all(&request).expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer");
        answer.split_whitespace().nth(1).unwrap_or("").to_string()
    })
    .await
    .expect("request");
    assert_eq!(status, "400", "the receiver refuses a tampered body");
    assert_eq!(receiver.refused.load(SeqCst), 1);
}
