//! Every route in process (`app(state)` with tower's `oneshot`) on a real SQLite file: a session from
//! group creation to trend, the minimum group size, revisions, closing, authorisation, and every kind
//! of bad request, each of which must change nothing.

use attune_core::{Catalog, Group};
use attune_server::{app, AppState, Postgres, Sqlite};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Server {
    app: Router,
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    /// With `ATTUNE_TEST_POSTGRES` (a URL; `cargo xtask test` starts a temporary PostgreSQL), every
    /// test runs on PostgreSQL in a schema of its own instead of a SQLite file.
    postgres: Option<(String, String)>,
}

/// The router over this test's storage (opened again: as after a restart).
async fn open(path: &std::path::Path, postgres: Option<&(String, String)>) -> Router {
    match postgres {
        Some((url, schema)) => {
            app(AppState::new(Postgres::open_in_schema(url, schema).await.expect("postgres"), Catalog::embedded()))
        }
        None => app(AppState::new(Sqlite::open(path).await.expect("open database"), Catalog::embedded())),
    }
}

async fn server() -> Server {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("attune.db");
    let postgres = std::env::var("ATTUNE_TEST_POSTGRES").ok().filter(|u| !u.is_empty()).map(|url| {
        let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (url, format!("api_{}_{}_{k}", std::process::id(), now_nanos()))
    });
    Server { app: open(&path, postgres.as_ref()).await, _dir: dir, path, postgres }
}

fn now_nanos() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos())
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
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req.body(body.map_or_else(Body::empty, Body::from)).expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON body") };
    (status, value)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Creates a group; returns (group id, host token).
async fn group(app: &Router) -> (String, String) {
    let (s, v) = call(app, "POST", "/api/groups", &[], Some(json!({"name": "Tuesday group"}).to_string())).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (v["group"]["id"].as_str().expect("id").into(), v["host_token"].as_str().expect("token").into())
}

/// Creates a poll; returns (poll id, code).
async fn poll(app: &Router, group: &str, token: &str, body: Value) -> (String, String) {
    let (s, v) = call(
        app,
        "POST",
        &format!("/api/groups/{group}/polls"),
        &[("authorization", &bearer(token))],
        Some(body.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (v["poll"]["id"].as_str().expect("id").into(), v["poll"]["code"].as_str().expect("code").into())
}

/// Joins by code; returns the member token.
async fn join(app: &Router, code: &str) -> String {
    let (s, v) = call(app, "POST", &format!("/api/join/{code}"), &[], None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    round_trip::<attune_protocol::Joined>(&v);
    v["member_token"].as_str().expect("member token").into()
}

/// Reads `v` as the shared protocol type `T` (exported to TypeScript), with no field left over,
/// and writes it back to the same JSON.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) {
    let typed: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"));
    assert_eq!(&serde_json::to_value(&typed).expect("serialize"), v, "round trip");
}

async fn answer(app: &Router, poll: &str, member: &str, answers: Value) -> (StatusCode, Value) {
    call(
        app,
        "PUT",
        &format!("/api/polls/{poll}/response"),
        &[("x-attune-member", member)],
        Some(json!({"answers": answers}).to_string()),
    )
    .await
}

async fn aggregate(app: &Router, poll: &str, token: &str) -> (StatusCode, Value) {
    let (status, v) =
        call(app, "GET", &format!("/api/polls/{poll}/aggregate"), &[("authorization", &bearer(token))], None).await;
    if status == StatusCode::OK {
        // The shared protocol type (exported to TypeScript) reads it with no field left over.
        let typed: attune_protocol::Aggregate = serde_json::from_value(v.clone()).expect("an Aggregate");
        assert_eq!(serde_json::to_value(&typed).expect("serialize"), v, "round trip");
    }
    (status, v)
}

fn ucla(a: i64, b: i64, c: i64) -> Value {
    json!({"1": a, "2": b, "3": c})
}

/// A UCLA-3 poll that four members joined and answered; returns (poll id, member tokens).
async fn ucla_poll_of_four(app: &Router, group: &str, host: &str) -> (String, Vec<String>) {
    let (p, code) = poll(app, group, host, json!({"instrument": "ucla3"})).await;
    let mut members = Vec::new();
    for k in 0..4 {
        let m = join(app, &code).await;
        answer(app, &p, &m, ucla(1 + k % 3, 2, 3)).await;
        members.push(m);
    }
    (p, members)
}

#[tokio::test]
async fn a_session_from_group_to_trend_shows_aggregates_only_from_three_members() {
    let s = server().await;
    let app = &s.app;
    let (g, host) = group(app).await;
    let (p, code) = poll(app, &g, &host, json!({"instrument": "ucla3"})).await;
    assert_eq!(code.len(), 6);
    assert!(code.chars().all(|c| "ABCDEFGHJKMNPQRSTUVWXYZ23456789".contains(c)), "{code}");

    let members: Vec<String> =
        [join(app, &code).await, join(app, &code.to_lowercase()).await, join(app, &code).await].into();
    let (_, v) = aggregate(app, &p, &host).await;
    assert_eq!((v["joined"].as_u64(), v["answered"].as_u64()), (Some(3), Some(0)));

    let answers = [ucla(1, 1, 2), ucla(2, 2, 2), ucla(3, 2, 3)];
    for (k, (m, a)) in members.iter().zip(&answers).enumerate() {
        let (st, v) = answer(app, &p, m, a.clone()).await;
        assert_eq!((st, v["stored"].as_bool(), v["revision"].as_i64()), (StatusCode::OK, Some(true), Some(1)), "{v}");
        let (_, agg) = aggregate(app, &p, &host).await;
        assert_eq!(agg["answered"], k + 1);
        if k < 2 {
            // Fewer than three: counts only, every statistic withheld.
            assert_eq!(agg["withheld"], "below_min_n", "{agg}");
            assert!(agg["stats"]["scores"]["total"]["mean"].is_null(), "{agg}");
            assert!(agg["stats"]["items"]["1"]["counts"].as_object().is_some_and(|c| c.is_empty()), "{agg}");
        }
    }
    let (_, agg) = aggregate(app, &p, &host).await;
    assert!(agg["withheld"].is_null());
    let inst = Catalog::embedded().get("ucla3").expect("ucla3");
    let mut want = Group::new(inst, 3).expect("group");
    for a in &answers {
        want.add_json(a.as_object().expect("object")).expect("member");
    }
    assert_eq!(agg["stats"], serde_json::to_value(want.finish()).expect("json"));

    assert_eq!(
        (agg["pending"].as_u64(), agg["released"]["seq"].as_u64(), agg["released"]["n"].as_u64()),
        (Some(0), Some(1), Some(3))
    );

    // A member revises: the count moves at once, the statistics only once `min_n` members'
    // answers changed since the last release (else the change would be that member's answers).
    let (st, v) = answer(app, &p, &members[0], ucla(3, 3, 3)).await;
    assert_eq!((st, v["revision"].as_i64()), (StatusCode::OK, Some(2)));
    let (_, held) = aggregate(app, &p, &host).await;
    assert_eq!((held["answered"].as_u64(), held["pending"].as_u64()), (Some(3), Some(1)));
    assert_eq!(held["stats"], agg["stats"], "one member's change is not released");
    for (m, a) in members[1..].iter().zip([ucla(2, 3, 2), ucla(3, 2, 2)]) {
        answer(app, &p, m, a).await;
    }
    let (_, agg) = aggregate(app, &p, &host).await;
    // Per statistic: the total has three new values (9, 7, 7) and is released; no item has three
    // new answers (item 1 only member 0's, items 2 and 3 two each), so each keeps its last release,
    // and all three members still have something unreleased.
    assert_eq!((agg["pending"].as_u64(), agg["released"]["seq"].as_u64()), (Some(3), Some(2)));
    assert_eq!(agg["stats"]["scores"]["total"]["max"], 9);
    assert_eq!(agg["stats"]["items"], held["stats"]["items"], "{agg}");

    // Closing freezes the poll and retires its code.
    let (st, v) = call(app, "POST", &format!("/api/polls/{p}/close"), &[("authorization", &bearer(&host))], None).await;
    assert_eq!((st, v["poll"]["status"].as_str(), v["poll"]["code"].is_null()), (StatusCode::OK, Some("closed"), true));
    let (st, v) = answer(app, &p, &members[1], ucla(1, 1, 1)).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("poll_closed")));
    let (st, _) = call(app, "POST", &format!("/api/join/{code}"), &[], None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, status) = call(app, "GET", &format!("/api/polls/{p}"), &[], None).await;
    assert_eq!(status["poll"]["status"], "closed");
    let (_, frozen) = aggregate(app, &p, &host).await;
    assert_eq!(frozen["stats"], agg["stats"]);

    // The trend has this session with its n and means.
    let (p2, _) = poll(app, &g, &host, json!({"instrument": "ucla3"})).await;
    let (st, t) = call(app, "GET", &format!("/api/groups/{g}/trend"), &[("authorization", &bearer(&host))], None).await;
    assert_eq!(st, StatusCode::OK);
    round_trip::<attune_protocol::Trend>(&t);
    let sessions = t["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2);
    assert_eq!((sessions[0]["poll"].as_str(), sessions[0]["n"].as_u64()), (Some(p.as_str()), Some(3)));
    assert_eq!(sessions[0]["scores"]["total"]["mean"], agg["stats"]["scores"]["total"]["mean"]);
    assert_eq!((sessions[1]["poll"].as_str(), sessions[1]["suppressed"].as_bool()), (Some(p2.as_str()), Some(true)));
    assert!(sessions[1]["scores"]["total"]["mean"].is_null());
    let (_, list) =
        call(app, "GET", &format!("/api/groups/{g}/polls"), &[("authorization", &bearer(&host))], None).await;
    assert_eq!(list["polls"].as_array().map(Vec::len), Some(2));
    round_trip::<attune_protocol::PollList>(&list);
}

#[tokio::test]
async fn no_route_returns_a_members_answers() {
    let s = server().await;
    let app = &s.app;
    let (g, host) = group(app).await;
    let (p, members) = ucla_poll_of_four(app, &g, &host).await;
    let (_, agg) = aggregate(app, &p, &host).await;
    let keys: Vec<&str> = agg.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["answered", "joined", "pending", "poll", "released", "stats", "withheld"]);
    let stat_keys: Vec<&str> = agg["stats"].as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(stat_keys, ["instrument", "items", "n", "scores", "suppressed"]);
    // Member tokens never come back, and a member sees only whether the poll is open.
    let text = agg.to_string();
    assert!(members.iter().all(|m| !text.contains(m.as_str())));
    let (_, status) = call(app, "GET", &format!("/api/polls/{p}"), &[("x-attune-member", &members[0])], None).await;
    assert_eq!(status, json!({"poll": {"id": p, "instrument": "ucla3", "status": "open"}}));
}

#[tokio::test]
async fn hosts_need_their_own_token() {
    let s = server().await;
    let app = &s.app;
    let (g, host) = group(app).await;
    let (other, other_host) = group(app).await;
    let (p, _) = poll(app, &g, &host, json!({"instrument": "gcqs"})).await;
    let wrong = [None, Some("Bearer nope".to_string()), Some(bearer(&other_host)), Some(host.clone())];
    for auth in &wrong {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        for (method, uri, body) in [
            ("GET", format!("/api/polls/{p}/aggregate"), None),
            ("POST", format!("/api/polls/{p}/close"), None),
            ("GET", format!("/api/groups/{g}/trend"), None),
            ("GET", format!("/api/groups/{g}/polls"), None),
            ("POST", format!("/api/groups/{g}/polls"), Some(json!({"instrument": "gcqs"}).to_string())),
        ] {
            let (st, v) = call(app, method, &uri, &headers, body).await;
            assert_eq!(
                (st, v["error"]["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("unauthorized")),
                "{method} {uri} {auth:?}"
            );
        }
    }
    // Another group's token opens that group only; an unknown group looks like a wrong token.
    let (st, _) =
        call(app, "GET", &format!("/api/groups/{other}/polls"), &[("authorization", &bearer(&other_host))], None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = call(app, "GET", "/api/groups/nope/trend", &[("authorization", &bearer(&host))], None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (_, v) = call(app, "GET", &format!("/api/polls/{p}"), &[], None).await;
    assert_eq!(v["poll"]["status"], "open", "the poll is untouched");
}

#[tokio::test]
async fn every_bad_request_is_a_4xx_with_a_json_error_and_changes_nothing() {
    let s = server().await;
    let app = &s.app;
    let (g, host) = group(app).await;
    let (p, code) = poll(app, &g, &host, json!({"instrument": "phq9"})).await;
    let m = join(app, &code).await;
    let auth = bearer(&host);
    let member = [("x-attune-member", m.as_str())];
    let big = format!("{{\"answers\": {{\"1\": 1, \"pad\": \"{}\"}}}}", "x".repeat(20_000));
    // (method, path, headers, body, expected status, expected error code)
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, Option<String>, StatusCode, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("POST", "/api/groups".into(), vec![], Some("not json".into()), StatusCode::BAD_REQUEST, "invalid_json"),
        ("POST", "/api/groups".into(), vec![], Some("{\"name\": 5}".into()), StatusCode::BAD_REQUEST, "invalid_json"),
        (
            "POST",
            "/api/groups".into(),
            vec![],
            Some("{\"name\": \"  \"}".into()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "POST",
            "/api/groups".into(),
            vec![],
            Some("{\"name\": \"x\", \"extra\": 1}".into()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        ("POST", "/api/groups".into(), vec![], None, StatusCode::BAD_REQUEST, "invalid_json"),
        (
            "POST",
            format!("/api/groups/{g}/polls"),
            vec![("authorization", &auth)],
            Some("{\"instrument\": \"nope\"}".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_instrument",
        ),
        (
            "POST",
            format!("/api/groups/{g}/polls"),
            vec![("authorization", &auth)],
            Some("{\"instrument\": \"gcqs\", \"min_n\": 2}".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_min_n",
        ),
        (
            "POST",
            format!("/api/groups/{g}/polls"),
            vec![("authorization", &auth)],
            Some("{\"instrument\": \"gcqs\", \"min_n\": -1}".into()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "POST",
            format!("/api/groups/{g}/polls"),
            vec![("authorization", &auth)],
            Some("[1,2]".into()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "PUT",
            format!("/api/polls/{p}/response"),
            member.to_vec(),
            Some("{\"answers\": {\"1\": 9}}".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
        ),
        (
            "PUT",
            format!("/api/polls/{p}/response"),
            member.to_vec(),
            Some("{\"answers\": {\"1\": 1.5}}".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
        ),
        (
            "PUT",
            format!("/api/polls/{p}/response"),
            member.to_vec(),
            Some("{\"answers\": {\"1\": \"1\"}}".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
        ),
        (
            "PUT",
            format!("/api/polls/{p}/response"),
            member.to_vec(),
            Some("{\"answers\": {\"42\": 1}}".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_item",
        ),
        (
            "PUT",
            format!("/api/polls/{p}/response"),
            member.to_vec(),
            Some("{\"answers\": {}}".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_answers",
        ),
        (
            "PUT",
            format!("/api/polls/{p}/response"),
            member.to_vec(),
            Some("{\"answers\": [1, 2]}".into()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "PUT",
            format!("/api/polls/{p}/response"),
            member.to_vec(),
            Some("{\"answers\": {\"1\": 1}".into()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "PUT",
            format!("/api/polls/{p}/response"),
            member.to_vec(),
            Some(big),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "PUT",
            format!("/api/polls/{p}/response"),
            vec![],
            Some("{\"answers\": {\"1\": 1}}".into()),
            StatusCode::BAD_REQUEST,
            "member_token",
        ),
        (
            "PUT",
            format!("/api/polls/{p}/response"),
            vec![("x-attune-member", "short")],
            Some("{\"answers\": {\"1\": 1}}".into()),
            StatusCode::BAD_REQUEST,
            "member_token",
        ),
        (
            "PUT",
            "/api/polls/nope/response".into(),
            member.to_vec(),
            Some("{\"answers\": {\"1\": 1}}".into()),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        ("POST", "/api/join/ZZZZZZ".into(), vec![], None, StatusCode::NOT_FOUND, "not_found"),
        ("GET", "/api/polls/nope".into(), vec![], None, StatusCode::NOT_FOUND, "not_found"),
        ("GET", "/api/nothing/here".into(), vec![], None, StatusCode::NOT_FOUND, "not_found"),
    ];
    for (method, uri, headers, body, status, code) in cases {
        let (st, v) = call(app, method, &uri, &headers, body.clone()).await;
        assert_eq!((st, v["error"]["code"].as_str()), (status, Some(code)), "{method} {uri} {body:?}: {v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    // Nothing was stored by any of them: one member joined, none answered, one poll.
    let (_, agg) = aggregate(app, &p, &host).await;
    assert_eq!((agg["joined"].as_u64(), agg["answered"].as_u64()), (Some(1), Some(0)), "{agg}");
    let (_, list) = call(app, "GET", &format!("/api/groups/{g}/polls"), &[("authorization", &auth)], None).await;
    assert_eq!(list["polls"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn hidden_until_closed_shows_counts_only_while_open() {
    let s = server().await;
    let app = &s.app;
    let (g, host) = group(app).await;
    let (p, code) = poll(app, &g, &host, json!({"instrument": "ucla3", "hide_until_closed": true, "min_n": 4})).await;
    for k in 0..4 {
        let m = join(app, &code).await;
        answer(app, &p, &m, ucla(1, 2, 1 + k % 3)).await;
    }
    let (_, agg) = aggregate(app, &p, &host).await;
    assert_eq!(
        (agg["withheld"].as_str(), agg["stats"].is_null(), agg["answered"].as_u64()),
        (Some("hidden_until_closed"), true, Some(4))
    );
    call(app, "POST", &format!("/api/polls/{p}/close"), &[("authorization", &bearer(&host))], None).await;
    let (_, agg) = aggregate(app, &p, &host).await;
    assert_eq!(agg["stats"]["n"], 4);
    assert!(agg["stats"]["scores"]["total"]["mean"].is_number());
}

#[tokio::test]
async fn the_database_file_keeps_everything_across_a_restart() {
    let s = server().await;
    let (g, host) = group(&s.app).await;
    let (p, code) = poll(&s.app, &g, &host, json!({"instrument": "ucla3"})).await;
    let m = join(&s.app, &code).await;
    answer(&s.app, &p, &m, ucla(2, 2, 2)).await;

    // A second server on the same file (as after a restart): the open poll resumes, answers are there.
    let again = open(&s.path, s.postgres.as_ref()).await;
    let (_, agg) = aggregate(&again, &p, &host).await;
    assert_eq!((agg["answered"].as_u64(), agg["poll"]["status"].as_str()), (Some(1), Some("open")));
    let (st, v) = answer(&again, &p, &m, ucla(3, 3, 3)).await;
    assert_eq!((st, v["revision"].as_i64()), (StatusCode::OK, Some(2)));
    let (st, _) = call(&again, "POST", &format!("/api/join/{code}"), &[("x-attune-member", &m)], None).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn joins_are_rate_limited_per_client_address() {
    use axum::extract::connect_info::MockConnectInfo;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Sqlite::open(&dir.path().join("attune.db")).await.expect("database");
    let state = AppState::new(store, Catalog::embedded()).with_join_limit(3);
    let from = |ip: [u8; 4]| app(state.clone()).layer(MockConnectInfo(std::net::SocketAddr::from((ip, 40000))));
    let (one, two) = (from([10, 0, 0, 1]), from([10, 0, 0, 2]));
    let (g, host) = group(&one).await;
    let (_, code) = poll(&one, &g, &host, json!({"instrument": "gcqs"})).await;
    for _ in 0..3 {
        join(&one, &code).await;
    }
    // Wrong codes count too: guessing is what the limit is for.
    let req = Request::builder().method("POST").uri("/api/join/AAAAAA").body(Body::empty()).expect("request");
    let res = one.clone().oneshot(req).await.expect("response");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"].to_str().expect("header").parse().expect("seconds");
    assert!((1..=20).contains(&retry), "{retry}");
    let body: Value = serde_json::from_slice(&res.into_body().collect().await.expect("body").to_bytes()).expect("json");
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another address is not held up, and the limited one joined nobody new.
    join(&two, &code).await;
    let (_, agg) = aggregate(&one, &poll_id_of(&one, &g, &host).await, &host).await;
    assert_eq!(agg["joined"], 4);
}

async fn poll_id_of(app: &Router, group: &str, host: &str) -> String {
    let (_, list) =
        call(app, "GET", &format!("/api/groups/{group}/polls"), &[("authorization", &bearer(host))], None).await;
    list["polls"][0]["id"].as_str().expect("poll id").to_string()
}

#[tokio::test]
async fn the_join_qr_code_is_an_svg_for_open_polls_only() {
    let s = server().await;
    let app = &s.app;
    let (g, host) = group(app).await;
    let (status, created) = call(
        app,
        "POST",
        &format!("/api/groups/{g}/polls"),
        &[("authorization", &bearer(&host)), ("host", "clinic.test:8787")],
        Some(json!({"instrument": "gcqs"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let code = created["poll"]["code"].as_str().expect("code");
    assert_eq!(created["join_url"], format!("http://clinic.test:8787/join/?code={code}"));

    let req = Request::builder().uri(format!("/api/join/{code}/qr.svg")).body(Body::empty()).expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    let svg = String::from_utf8(res.into_body().collect().await.expect("body").to_bytes().to_vec()).expect("utf-8");
    assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
    assert!(!svg.contains("style="), "no inline style: the dashboard runs under a strict CSP");

    let p = created["poll"]["id"].as_str().expect("id");
    call(app, "POST", &format!("/api/polls/{p}/close"), &[("authorization", &bearer(&host))], None).await;
    let (status, v) = call(app, "GET", &format!("/api/join/{code}/qr.svg"), &[], None).await;
    assert_eq!((status, v["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

#[tokio::test]
async fn a_custom_question_is_aggregated_and_labelled_not_validated() {
    let s = server().await;
    let app = &s.app;
    let (g, host) = group(app).await;
    let auth = bearer(&host);
    let text = "How connected did you feel to the group today?";
    let (p, code) = poll(app, &g, &host, json!({"question": {"text": text, "scale": {"min": 0, "max": 10}}})).await;
    let (_, joined) = call(app, "POST", &format!("/api/join/{code}"), &[], None).await;
    assert_eq!(joined["poll"]["instrument"], "custom");
    assert_eq!(joined["poll"]["question"]["text"], text);
    assert_eq!(joined["poll"]["question"]["options"].as_array().map(Vec::len), Some(11));
    let first = joined["member_token"].as_str().expect("token").to_string();

    let (st, v) = answer(app, &p, &first, json!({"1": 11})).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_value")), "{v}");
    answer(app, &p, &first, json!({"1": 7})).await;
    for value in [9, 5] {
        let m = join(app, &code).await;
        answer(app, &p, &m, json!({"1": value})).await;
    }
    let (_, agg) = aggregate(app, &p, &host).await;
    assert_eq!(agg["poll"]["validated"], false);
    assert_eq!(agg["poll"]["question"]["note"], "A custom question, not a validated instrument.");
    assert_eq!(agg["stats"]["scores"]["answer"]["mean"], 7);
    assert_eq!(agg["stats"]["scores"]["answer"]["n"], 3);
    assert_eq!(agg["stats"]["items"]["1"]["counts"]["9"], 1);
    let (_, trend) = call(app, "GET", &format!("/api/groups/{g}/trend"), &[("authorization", &auth)], None).await;
    assert_eq!(trend["sessions"][0]["validated"], false);

    // A few labelled options; a catalog poll stays validated.
    let (p2, code2) =
        poll(app, &g, &host, json!({"question": {"text": "Today felt", "options": ["heavy", "mixed", "light"]}})).await;
    let m = join(app, &code2).await;
    let (st, _) = answer(app, &p2, &m, json!({"1": 2})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = answer(app, &p2, &m, json!({"1": 3})).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_value")));
    let (p3, _) = poll(app, &g, &host, json!({"instrument": "gcqs"})).await;
    let (_, agg3) = aggregate(app, &p3, &host).await;
    assert_eq!((agg3["poll"]["validated"].as_bool(), agg3["poll"]["question"].is_null()), (Some(true), true));

    for bad in [
        json!({"question": {"text": "", "scale": {"min": 0, "max": 10}}}),
        json!({"question": {"text": "x", "scale": {"min": 5, "max": 5}}}),
        json!({"question": {"text": "x", "scale": {"min": 0, "max": 11}}}),
        json!({"question": {"text": "x", "options": ["only one"]}}),
        json!({"question": {"text": "x", "options": ["a", " "]}}),
        json!({"question": {"text": "x", "scale": {"min": 0, "max": 4}, "options": ["a", "b"]}}),
        json!({"question": {"text": "x"}}),
        json!({"instrument": "gcqs", "question": {"text": "x", "options": ["a", "b"]}}),
        json!({}),
    ] {
        let (st, v) =
            call(app, "POST", &format!("/api/groups/{g}/polls"), &[("authorization", &auth)], Some(bad.to_string()))
                .await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_question")),
            "{bad}"
        );
    }
    let (_, list) = call(app, "GET", &format!("/api/groups/{g}/polls"), &[("authorization", &auth)], None).await;
    assert_eq!(list["polls"].as_array().map(Vec::len), Some(3), "no bad question created a poll");
}

#[tokio::test]
async fn every_poll_has_a_stem_and_says_whose_words_it_is() {
    let s = server().await;
    let app = &s.app;
    let (g, host) = group(app).await;
    let stem_of = |v: &Value| {
        (v["poll"]["stem"]["text"].as_str().map(String::from), v["poll"]["stem"]["source"].as_str().map(String::from))
    };
    let create = |body: Value| {
        let (g, auth) = (g.clone(), bearer(&host));
        async move {
            call(app, "POST", &format!("/api/groups/{g}/polls"), &[("authorization", &auth)], Some(body.to_string()))
                .await
        }
    };
    // GCQ-S has no stem in the reference: Attune's neutral default, naming only the time frame.
    let (_, gcqs) = create(json!({"instrument": "gcqs"})).await;
    assert_eq!(stem_of(&gcqs), (Some(attune_server::DEFAULT_STEM.to_string()), Some("attune".to_string())));
    // The PHQ-9's own instructions.
    let (_, phq9) = create(json!({"instrument": "phq9"})).await;
    let own = Catalog::embedded().get("phq9").and_then(|i| i.definition().instructions.as_deref().map(str::to_string));
    assert_eq!(stem_of(&phq9), (own, Some("instrument".to_string())));
    // The therapist's, shown to members when they join.
    let (_, mine) = create(json!({"instrument": "gcqs", "stem": "Thinking about tonight's group:"})).await;
    assert_eq!(stem_of(&mine).1.as_deref(), Some("therapist"));
    let (_, joined) =
        call(app, "POST", &format!("/api/join/{}", mine["poll"]["code"].as_str().expect("code")), &[], None).await;
    assert_eq!(joined["poll"]["stem"]["text"], "Thinking about tonight's group:");
    // A custom question is its own stem.
    let (_, custom) = create(json!({"question": {"text": "Energy today?", "scale": {"min": 0, "max": 10}}})).await;
    assert!(custom["poll"]["stem"].is_null());
    for bad in [
        json!({"instrument": "gcqs", "stem": " "}),
        json!({"question": {"text": "x", "options": ["a", "b"]}, "stem": "y"}),
    ] {
        let (st, _) = create(bad.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

/// Only the join route makes member tokens: a made-up token, another poll's token or a closed
/// poll's token answers nothing, and a token sent to join is kept only if this poll gave it.
#[tokio::test]
async fn answers_come_only_from_tokens_this_poll_gave() {
    let s = server().await;
    let app = &s.app;
    let (g, host) = group(app).await;
    let (p, code) = poll(app, &g, &host, json!({"instrument": "ucla3"})).await;
    let (other, other_code) = poll(app, &g, &host, json!({"instrument": "ucla3"})).await;
    let theirs = join(app, &other_code).await;
    let (closed, closed_code) = poll(app, &g, &host, json!({"instrument": "ucla3"})).await;
    let old = join(app, &closed_code).await;
    call(app, "POST", &format!("/api/polls/{closed}/close"), &[("authorization", &bearer(&host))], None).await;

    let made_up = "A".repeat(64);
    for (token, status, code) in [
        (made_up.as_str(), StatusCode::UNAUTHORIZED, "not_a_member"),
        (theirs.as_str(), StatusCode::UNAUTHORIZED, "not_a_member"),
        (old.as_str(), StatusCode::UNAUTHORIZED, "not_a_member"),
    ] {
        let (st, v) = answer(app, &p, token, ucla(1, 1, 1)).await;
        assert_eq!((st, v["error"]["code"].as_str()), (status, Some(code)), "{v}");
    }
    let (st, v) = answer(app, &closed, &old, ucla(1, 1, 1)).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("poll_closed")));
    let (_, agg) = aggregate(app, &p, &host).await;
    assert_eq!((agg["joined"].as_u64(), agg["answered"].as_u64()), (Some(0), Some(0)), "nothing stored: {agg}");

    // Join ignores a token this poll did not give (it makes a new one) and keeps one it did.
    for sent in [made_up.as_str(), theirs.as_str()] {
        let (st, v) = call(app, "POST", &format!("/api/join/{code}"), &[("x-attune-member", sent)], None).await;
        assert_eq!(st, StatusCode::OK);
        let fresh = v["member_token"].as_str().expect("a new token");
        assert_ne!(fresh, sent);
    }
    let mine = join(app, &code).await;
    let (st, v) = call(app, "POST", &format!("/api/join/{code}"), &[("x-attune-member", &mine)], None).await;
    assert_eq!((st, v.get("member_token")), (StatusCode::OK, None), "a reload keeps its token: {v}");
    let (st, _) = answer(app, &p, &mine, ucla(2, 2, 2)).await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = answer(app, &other, &mine, ucla(2, 2, 2)).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("not_a_member")),
        "bound to its poll"
    );
    let (_, agg) = aggregate(app, &p, &host).await;
    assert_eq!((agg["joined"].as_u64(), agg["answered"].as_u64()), (Some(3), Some(1)), "{agg}");
}

/// Group creation is limited per client address and answers per member token (each a 429 with
/// `Retry-After` and a JSON error), and a refused request stores nothing.
#[tokio::test]
async fn group_creation_and_answers_are_rate_limited() {
    use attune_server::{Limiter, Limits};
    use axum::extract::connect_info::MockConnectInfo;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Sqlite::open(&dir.path().join("attune.db")).await.expect("database");
    let limits = Limits {
        joins: Limiter::new(0, 0),
        groups: Limiter::new(2, 2),
        answers: Limiter::new(3, 3),
        trusted_proxies: vec!["10.9.0.0/16".parse().expect("cidr")],
    };
    let state = AppState::new(store, Catalog::embedded()).with_limits(limits);
    let from = |ip: [u8; 4]| app(state.clone()).layer(MockConnectInfo(std::net::SocketAddr::from((ip, 40000))));
    let (one, two, proxy) = (from([10, 0, 0, 1]), from([10, 0, 0, 2]), from([10, 9, 0, 1]));
    let (g, host) = group(&one).await;
    group(&one).await;
    let (st, v) = call(&one, "POST", "/api/groups", &[], Some(json!({"name": "third"}).to_string())).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{v}");
    group(&two).await;
    // Behind a trusted proxy each forwarded address has its own bucket; a stranger's
    // X-Forwarded-For is not believed (10.0.0.1 is still limited).
    for client in ["198.51.100.1", "198.51.100.1", "198.51.100.2"] {
        let (st, _) =
            call(&proxy, "POST", "/api/groups", &[("x-forwarded-for", client)], Some(json!({"name": "p"}).to_string()))
                .await;
        assert_eq!(st, StatusCode::CREATED, "{client}");
    }
    let (st, _) = call(
        &proxy,
        "POST",
        "/api/groups",
        &[("x-forwarded-for", "198.51.100.1")],
        Some(json!({"name": "p"}).to_string()),
    )
    .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    // A proxy that adds its own X-Forwarded-For line: the right-most address of all lines counts,
    // not the line the client wrote.
    let lines = [("x-forwarded-for", "203.0.113.77"), ("x-forwarded-for", "198.51.100.1")];
    let (st, _) = call(&proxy, "POST", "/api/groups", &lines, Some(json!({"name": "p"}).to_string())).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "198.51.100.1 is still limited");
    let (st, _) = call(
        &one,
        "POST",
        "/api/groups",
        &[("x-forwarded-for", "198.51.100.9")],
        Some(json!({"name": "p"}).to_string()),
    )
    .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "X-Forwarded-For from a client that is not a trusted proxy");

    let (p, code) = poll(&one, &g, &host, json!({"instrument": "ucla3"})).await;
    let m = join(&one, &code).await;
    for k in 1..=3 {
        let (st, v) = answer(&one, &p, &m, ucla(1, 1, k)).await;
        assert_eq!((st, v["revision"].as_i64()), (StatusCode::OK, Some(k)));
    }
    let req = Request::builder()
        .method("PUT")
        .uri(format!("/api/polls/{p}/response"))
        .header("x-attune-member", &m)
        .header("content-type", "application/json")
        .body(Body::from(json!({"answers": ucla(3, 3, 3)}).to_string()))
        .expect("request");
    let res = one.clone().oneshot(req).await.expect("response");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    // Another member is not held up; the limited one's fourth answer was not stored.
    let other = join(&one, &code).await;
    let (st, v) = answer(&one, &p, &other, ucla(2, 2, 2)).await;
    assert_eq!((st, v["revision"].as_i64()), (StatusCode::OK, Some(1)));
    let (_, agg) = aggregate(&one, &p, &host).await;
    assert_eq!(agg["answered"], 2);
}

/// Every error response, whoever makes it (a handler, the router's 404 and 405, a path that does
/// not decode, a body over the limit, the static files), is a JSON error; every response carries
/// `nosniff`, `Referrer-Policy: no-referrer` and a Content-Security-Policy.
#[tokio::test]
async fn every_error_is_json_and_every_response_has_the_security_headers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let www = dir.path().join("www");
    std::fs::create_dir_all(www.join("join")).expect("www");
    std::fs::write(www.join("index.html"), "<!doctype html><title>t</title>").expect("file");
    std::fs::write(www.join("join/index.html"), "<!doctype html><title>join</title>").expect("file");
    std::fs::write(www.join(".env"), "SECRET=1").expect("file");
    let store = Sqlite::open(&dir.path().join("attune.db")).await.expect("database");
    let app = app(AppState::new(store, Catalog::embedded()).with_site(&www));
    let (g, host) = group(&app).await;
    let (p, code) = poll(&app, &g, &host, json!({"instrument": "ucla3"})).await;

    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(20_000));
    let errors: Vec<(&str, String, Option<String>, StatusCode, &str)> = vec![
        ("GET", "/api/groups".into(), None, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        ("DELETE", format!("/api/polls/{p}/aggregate"), None, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        ("GET", "/api/nope".into(), None, StatusCode::NOT_FOUND, "not_found"),
        ("GET", "/api/polls/%FF%FE/aggregate".into(), None, StatusCode::BAD_REQUEST, "bad_request"),
        ("POST", "/api/groups".into(), Some(big), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        ("GET", "/missing.js".into(), None, StatusCode::NOT_FOUND, "not_found"),
        ("GET", "/.env".into(), None, StatusCode::NOT_FOUND, "not_found"),
        ("GET", "/%2eenv".into(), None, StatusCode::NOT_FOUND, "not_found"),
        ("POST", "/index.html".into(), None, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
    ];
    for (method, uri, body, status, code) in errors {
        let mut req = Request::builder().method(method).uri(&uri);
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let res =
            app.clone().oneshot(req.body(body.map_or_else(Body::empty, Body::from)).expect("req")).await.expect("res");
        assert_eq!(res.status(), status, "{method} {uri}");
        assert_eq!(res.headers()["content-type"], "application/json", "{method} {uri}");
        security_headers(res.headers(), "default-src 'none'", &uri);
        let v: Value =
            serde_json::from_slice(&res.into_body().collect().await.expect("body").to_bytes()).expect("JSON");
        assert_eq!(v["error"]["code"], code, "{method} {uri}: {v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    // Successes too: the API's JSON, the QR code, the site's files (with the site's own policy),
    // and HEAD on a file (its length, no body).
    for (method, uri, auth, policy) in [
        ("GET", format!("/api/polls/{p}/aggregate"), true, "default-src 'none'"),
        ("GET", format!("/api/join/{code}/qr.svg"), false, "default-src 'none'"),
        ("GET", "/".to_string(), false, "script-src 'self' 'wasm-unsafe-eval'"),
        ("GET", "/join/".to_string(), false, "script-src 'self' 'wasm-unsafe-eval'"),
        ("HEAD", "/index.html".to_string(), false, "script-src 'self' 'wasm-unsafe-eval'"),
    ] {
        let mut req = Request::builder().method(method).uri(&uri);
        if auth {
            req = req.header("authorization", bearer(&host));
        }
        let res = app.clone().oneshot(req.body(Body::empty()).expect("req")).await.expect("res");
        assert_eq!(res.status(), StatusCode::OK, "{method} {uri}");
        security_headers(res.headers(), policy, &uri);
        if method == "HEAD" {
            assert_eq!(res.headers()["content-length"], "31");
            assert!(res.into_body().collect().await.expect("body").to_bytes().is_empty());
        }
    }
}

fn security_headers(h: &axum::http::HeaderMap, policy: &str, uri: &str) {
    assert_eq!(h.get("x-content-type-options").map(|v| v.as_bytes()), Some(&b"nosniff"[..]), "{uri}");
    assert_eq!(h.get("referrer-policy").map(|v| v.as_bytes()), Some(&b"no-referrer"[..]), "{uri}");
    let csp = h.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(csp.contains(policy) && csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
}

#[tokio::test]
async fn a_closed_polls_statistics_are_one_fhir_observation_of_the_group() {
    let s = server().await;
    let app = &s.app;
    let (g, host) = group(app).await;
    let auth = [("authorization", bearer(&host))];
    let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (p, members) = ucla_poll_of_four(app, &g, &host).await;
    let uri = format!("/api/polls/{p}/fhir");
    let (st, v) = call(app, "GET", &uri, &auth, None).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("poll_open")), "{v}");
    let (st, _) = call(app, "GET", &uri, &[], None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    call(app, "POST", &format!("/api/polls/{p}/close"), &auth, None).await;
    let (_, agg) = aggregate(app, &p, &host).await;
    let (st, obs) = call(app, "GET", &uri, &auth, None).await;
    assert_eq!(st, StatusCode::OK, "{obs}");
    assert_eq!(obs["resourceType"], "Observation");
    assert_eq!(obs["status"], "final");
    assert_eq!(obs["subject"]["display"], "Tuesday group");
    assert!(obs["effectiveDateTime"].as_str().is_some_and(|t| t.ends_with('Z')), "{obs}");
    let component = |code: &str| {
        obs["component"].as_array().unwrap().iter().find(|c| c["code"]["coding"][0]["code"] == code).cloned()
    };
    assert_eq!(component("ucla3.group.n").unwrap()["valueInteger"], 4);
    for (score, stats) in agg["stats"]["scores"].as_object().unwrap() {
        let mean = component(&format!("ucla3.{score}.mean")).unwrap();
        assert_eq!(mean["valueQuantity"]["value"], stats["mean"], "{score}");
        assert_eq!(component(&format!("ucla3.{score}.n")).unwrap()["valueInteger"], stats["n"]);
    }
    // Nothing about any member: no tokens, no item counts, no answers.
    let text = obs.to_string();
    assert!(members.iter().all(|m| !text.contains(m.as_str())));
    assert!(!text.contains("counts") && !text.contains("\"item\""), "{text}");

    // Below the minimum group size every statistic is masked.
    let (small, code) = poll(app, &g, &host, json!({"instrument": "ucla3"})).await;
    for k in 0..2 {
        let m = join(app, &code).await;
        answer(app, &small, &m, ucla(1 + k, 2, 3)).await;
    }
    call(app, "POST", &format!("/api/polls/{small}/close"), &auth, None).await;
    let (st, obs) = call(app, "GET", &format!("/api/polls/{small}/fhir"), &auth, None).await;
    assert_eq!(st, StatusCode::OK, "{obs}");
    for c in obs["component"].as_array().unwrap().iter().skip(1) {
        assert!(c.get("valueQuantity").is_none() && c.get("valueInteger").is_none(), "{c}");
        assert_eq!(c["dataAbsentReason"]["coding"][0]["code"], "masked", "{c}");
    }
}
