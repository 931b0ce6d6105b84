//! Live updates with real WebSocket clients against the router served on 127.0.0.1: a dashboard sees
//! aggregates appear at three members and follow revisions, members hear that the poll closed, and
//! bad hellos, wrong tokens and junk frames get an error message, never a snapshot.

use std::time::Duration;

use attune_core::Catalog;
use attune_server::{app, AppState, Postgres, Sqlite};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use tower::ServiceExt;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Live {
    app: Router,
    addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

async fn live_server() -> Live {
    let dir = tempfile::tempdir().expect("temp dir");
    // With ATTUNE_TEST_POSTGRES (`cargo xtask test` starts a temporary server), on PostgreSQL.
    let app = match std::env::var("ATTUNE_TEST_POSTGRES").ok().filter(|u| !u.is_empty()) {
        Some(url) => {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            let schema = format!("live_{}_{nanos}", std::process::id());
            app(AppState::new(Postgres::open_in_schema(&url, &schema).await.expect("postgres"), Catalog::embedded()))
        }
        None => app(AppState::new(
            Sqlite::open(&dir.path().join("attune.db")).await.expect("database"),
            Catalog::embedded(),
        )),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let served = app.clone();
    tokio::spawn(async move { axum::serve(listener, served).await });
    Live { app, addr, _dir: dir }
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string()))).expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A group with an open UCLA-3 poll: (host token, poll id, code).
async fn session(app: &Router) -> (String, String, String) {
    let (_, g) = call(app, "POST", "/api/groups", &[], Some(json!({"name": "g"}))).await;
    let host = g["host_token"].as_str().expect("token").to_string();
    let gid = g["group"]["id"].as_str().expect("id");
    let auth = format!("Bearer {host}");
    let (_, p) = call(
        app,
        "POST",
        &format!("/api/groups/{gid}/polls"),
        &[("authorization", &auth)],
        Some(json!({"instrument": "ucla3"})),
    )
    .await;
    (host, p["poll"]["id"].as_str().expect("poll").into(), p["poll"]["code"].as_str().expect("code").into())
}

async fn member_answers(app: &Router, poll: &str, code: &str, answers: Value) -> String {
    let (_, j) = call(app, "POST", &format!("/api/join/{code}"), &[], None).await;
    let token = j["member_token"].as_str().expect("member token").to_string();
    let (st, v) = call(
        app,
        "PUT",
        &format!("/api/polls/{poll}/response"),
        &[("x-attune-member", &token)],
        Some(json!({"answers": answers})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    token
}

async fn close(app: &Router, poll: &str, host: &str) {
    let (st, v) =
        call(app, "POST", &format!("/api/polls/{poll}/close"), &[("authorization", &format!("Bearer {host}"))], None)
            .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

async fn send(ws: &mut Socket, v: Value) {
    ws.send(Message::text(v.to_string())).await.expect("send");
}

async fn connect(addr: std::net::SocketAddr, poll: &str, hello: Value) -> Socket {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/polls/{poll}/live")).await.expect("connect");
    ws.send(Message::text(hello.to_string())).await.expect("hello");
    ws
}

/// The next JSON text message, or `None` when the server closed the connection (5 s at most).
async fn next(ws: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a message within 5 s") {
            Some(Ok(Message::Text(t))) => {
                // Every message the server sends is one of the shared protocol types (exported to
                // TypeScript), with no field they do not declare.
                let typed: attune_protocol::LiveMessage = serde_json::from_str(&t).expect("a LiveMessage");
                let value: Value = serde_json::from_str(&t).expect("JSON message");
                assert_eq!(serde_json::to_value(&typed).expect("serialize"), value, "round trip");
                return Some(value);
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Reads snapshots until one satisfies `done`.
async fn until(ws: &mut Socket, done: impl Fn(&Value) -> bool) -> Value {
    loop {
        let msg = next(ws).await.expect("connection open");
        assert_eq!(msg["type"], "snapshot", "{msg}");
        if done(&msg["aggregate"]) {
            return msg["aggregate"].clone();
        }
    }
}

#[tokio::test]
async fn a_dashboard_sees_aggregates_arrive_at_three_members_and_follow_revisions() {
    let s = live_server().await;
    let (host, poll, code) = session(&s.app).await;
    let mut dash = connect(s.addr, &poll, json!({"type": "dashboard", "token": host})).await;
    let first = until(&mut dash, |_| true).await;
    assert_eq!((first["answered"].as_u64(), first["withheld"].as_str()), (Some(0), Some("below_min_n")));

    let a = member_answers(&s.app, &poll, &code, json!({"1": 1, "2": 1, "3": 1})).await;
    let b = member_answers(&s.app, &poll, &code, json!({"1": 2, "2": 2, "3": 2})).await;
    let two = until(&mut dash, |a| a["answered"] == 2).await;
    assert!(two["stats"]["scores"]["total"]["mean"].is_null(), "no statistic below three: {two}");
    let c = member_answers(&s.app, &poll, &code, json!({"1": 3, "2": 3, "3": 3})).await;
    let three = until(&mut dash, |a| a["answered"] == 3).await;
    assert_eq!(three["stats"]["scores"]["total"]["mean"], 6);

    // One member's revision is counted at once but not released: the snapshot's statistics would
    // otherwise differ by that member's answers. Sending the same answers again changes nothing.
    let revise = |token: String, answers: Value| {
        let app = s.app.clone();
        let poll = poll.clone();
        async move {
            let (st, _) = call(
                &app,
                "PUT",
                &format!("/api/polls/{poll}/response"),
                &[("x-attune-member", &token)],
                Some(json!({"answers": answers})),
            )
            .await;
            assert_eq!(st, StatusCode::OK);
        }
    };
    revise(a, json!({"1": 3, "2": 3, "3": 3})).await;
    revise(c.clone(), json!({"1": 3, "2": 3, "3": 3})).await;
    let held = until(&mut dash, |a| a["pending"] == 1).await;
    assert_eq!(held["stats"]["scores"]["total"]["mean"], 6, "{held}");
    revise(b, json!({"1": 3, "2": 3, "3": 3})).await;
    let still = until(&mut dash, |a| a["pending"] == 2).await;
    assert_eq!(still["stats"]["scores"]["total"]["mean"], 6, "{still}");
    // The third member's change makes three: released together; the dashboard follows without
    // reconnecting.
    revise(c, json!({"1": 2, "2": 2, "3": 2})).await;
    let revised = until(&mut dash, |a| a["stats"]["scores"]["total"]["mean"] == 8).await;
    assert_eq!((revised["answered"].as_u64(), revised["pending"].as_u64()), (Some(3), Some(0)));
    assert_eq!(revised["released"]["seq"], 2);

    // Pings are answered; junk gets an error message and the connection stays.
    dash.send(Message::text(json!({"type": "ping"}).to_string())).await.expect("ping");
    dash.send(Message::text("junk")).await.expect("junk");
    let mut saw = Vec::new();
    while saw.len() < 2 {
        let m = next(&mut dash).await.expect("open");
        if m["type"] != "snapshot" {
            saw.push(m["type"].as_str().unwrap_or("").to_string());
        }
    }
    saw.sort();
    assert_eq!(saw, ["error", "pong"]);
}

#[tokio::test]
async fn members_hear_when_the_poll_closes() {
    let s = live_server().await;
    let (host, poll, code) = session(&s.app).await;
    let mut member = connect(s.addr, &poll, json!({"type": "member"})).await;
    let open = next(&mut member).await.expect("status");
    assert_eq!((open["type"].as_str(), open["poll"]["status"].as_str()), (Some("status"), Some("open")));
    assert!(open.get("aggregate").is_none(), "members see no aggregate");
    // Answers do not wake members' connections: the next message is the closing.
    member_answers(&s.app, &poll, &code, json!({"1": 1, "2": 1, "3": 1})).await;
    member_answers(&s.app, &poll, &code, json!({"1": 2, "2": 2, "3": 2})).await;
    close(&s.app, &poll, &host).await;
    let closed = next(&mut member).await.expect("status");
    assert_eq!(closed["poll"]["status"], "closed");
    assert!(next(&mut member).await.is_none(), "the server closes the member's connection");
}

#[tokio::test]
async fn bad_hellos_and_wrong_tokens_get_an_error_and_nothing_else() {
    let s = live_server().await;
    let (_, poll, _) = session(&s.app).await;
    let (other_host, _, _) = session(&s.app).await;
    for (hello, code) in [
        (json!({"type": "dashboard", "token": "wrong"}), "unauthorized"),
        (json!({"type": "dashboard", "token": other_host}), "unauthorized"),
        (json!({"type": "dashboard"}), "invalid_json"),
        (json!({"type": "admin"}), "invalid_json"),
        (json!(["member"]), "invalid_json"),
    ] {
        let mut ws = connect(s.addr, &poll, hello.clone()).await;
        let msg = next(&mut ws).await.expect("an error message");
        assert_eq!((msg["type"].as_str(), msg["error"]["code"].as_str()), (Some("error"), Some(code)), "{hello}");
        assert!(next(&mut ws).await.is_none(), "{hello}: closed after the error");
    }
    // Not a WebSocket request, or an unknown poll: a 4xx with a JSON error.
    let (st, v) = call(&s.app, "GET", &format!("/api/polls/{poll}/live"), &[], None).await;
    assert_eq!((st.is_client_error(), v["error"]["code"].as_str()), (true, Some("not_websocket")));
    let err = tokio_tungstenite::connect_async(format!("ws://{}/api/polls/nope/live", s.addr)).await.expect_err("404");
    assert!(err.to_string().contains("404"), "{err}");
}

/// Members answer on the socket they already hold: the same checks as the HTTP route, a `stored`
/// reply once committed (revisions count up), an `error` reply that stores nothing, and the
/// dashboard follows. Dashboards' sockets take no answers.
#[tokio::test]
async fn members_answer_on_their_socket_with_the_http_routes_checks() {
    let s = live_server().await;
    let (host, poll, code) = session(&s.app).await;
    let mut dash = connect(s.addr, &poll, json!({"type": "dashboard", "token": host})).await;
    until(&mut dash, |a| a["answered"] == 0).await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let (_, j) = call(&s.app, "POST", &format!("/api/join/{code}"), &[], None).await;
        tokens.push(j["member_token"].as_str().expect("member token").to_string());
    }
    let mut member = connect(s.addr, &poll, json!({"type": "member"})).await;
    assert_eq!(next(&mut member).await.expect("status")["type"], "status");

    // Refused, in order, each with the HTTP route's code, and nothing stored.
    let stranger = "a".repeat(64);
    let bad = [
        (json!({"type": "answer", "token": "short", "answers": {"1": 1}}), "member_token"),
        (json!({"type": "answer", "token": stranger, "answers": {"1": 1}}), "not_a_member"),
        (json!({"type": "answer", "token": tokens[0], "answers": {"1": 9}}), "invalid_value"),
        (json!({"type": "answer", "token": tokens[0], "answers": {"99": 1}}), "unknown_item"),
        (json!({"type": "answer", "token": tokens[0], "answers": {}}), "no_answers"),
        (json!({"type": "answer", "token": tokens[0]}), "invalid_json"),
        (json!({"type": "answer", "token": tokens[0], "answers": [1]}), "invalid_json"),
    ];
    for (msg, code) in &bad {
        send(&mut member, msg.clone()).await;
        let reply = next(&mut member).await.expect("a reply");
        assert_eq!((reply["type"].as_str(), reply["error"]["code"].as_str()), (Some("error"), Some(*code)), "{msg}");
    }
    // Accepted: three members on one socket (a shared tablet), then a revision.
    for (k, t) in tokens.iter().enumerate() {
        send(&mut member, json!({"type": "answer", "token": t, "answers": {"1": k + 1, "2": 1, "3": 1}})).await;
        assert_eq!(next(&mut member).await.expect("a reply"), json!({"type": "stored", "revision": 1}));
    }
    send(&mut member, json!({"type": "answer", "token": tokens[0], "answers": {"1": 3, "2": 1, "3": 1}})).await;
    assert_eq!(next(&mut member).await.expect("a reply"), json!({"type": "stored", "revision": 2}));
    let three = until(&mut dash, |a| a["answered"] == 3 && !a["released"].is_null()).await;
    assert_eq!((three["joined"].as_u64(), three["stats"]["n"].as_u64()), (Some(3), Some(3)), "nothing else was stored");

    // A dashboard's socket takes no answers.
    send(&mut dash, json!({"type": "answer", "token": tokens[1], "answers": {"1": 1}})).await;
    loop {
        let m = next(&mut dash).await.expect("open");
        if m["type"] == "error" {
            assert_eq!(m["error"]["code"], "invalid_json");
            break;
        }
    }
    // Closing tells the member's socket; a socket opened later hears it at once; the answers stand.
    close(&s.app, &poll, &host).await;
    assert_eq!(next(&mut member).await.expect("status")["poll"]["status"], "closed");
    let mut late = connect(s.addr, &poll, json!({"type": "member"})).await;
    assert_eq!(next(&mut late).await.expect("status")["poll"]["status"], "closed");
    let (_, agg) = call(
        &s.app,
        "GET",
        &format!("/api/polls/{poll}/aggregate"),
        &[("authorization", &format!("Bearer {host}"))],
        None,
    )
    .await;
    assert_eq!(agg["answered"], 3);
}
