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

/// The state of every member's answers after each step, as the test made them.
type State = std::collections::BTreeMap<String, Value>;

/// What each member's answers contribute to each statistic in `state` (the core's definition:
/// scores first, then items); a member not in `state` contributes what no answers do.
fn contributions(state: &State) -> (Vec<String>, std::collections::BTreeMap<String, Vec<String>>) {
    let inst = Catalog::embedded().get("ucla3").expect("ucla3");
    let blank = inst.answer_sheet(&serde_json::Map::new()).expect("no answers");
    let per_member = state
        .iter()
        .map(|(m, answers)| {
            let sheet = inst.answer_sheet(answers.as_object().expect("object")).expect("valid answers");
            (m.clone(), attune_core::Group::contributions(inst, &sheet))
        })
        .collect();
    (attune_core::Group::contributions(inst, &blank), per_member)
}

/// The statistics' places in the aggregate's `stats`, in the core's order (scores, then items).
fn statistic_paths() -> Vec<(&'static str, String)> {
    let inst = Catalog::embedded().get("ucla3").expect("ucla3");
    inst.score_ids()
        .map(|id| ("scores", id.to_string()))
        .chain(inst.item_ids().map(|id| ("items", id.to_string())))
        .collect()
}

/// One statistic of `state`'s group statistics (min_n 3), with the means rounded to 9 places (the
/// server adds members in its own order).
fn statistic_of(state: &State, path: &(&str, String)) -> Value {
    let inst = Catalog::embedded().get("ucla3").expect("ucla3");
    let mut group = attune_core::Group::new(inst, 3).expect("group");
    for answers in state.values() {
        group.add_json(answers.as_object().expect("object")).expect("member");
    }
    rounded(&serde_json::to_value(group.finish()).expect("json")[path.0][&path.1])
}

fn rounded(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => json!((n.as_f64().unwrap_or(0.0) * 1e9).round() / 1e9),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), rounded(v))).collect()),
        other => other.clone(),
    }
}

/// The release rule, watched from outside: members answer one at a time (new answers, revisions,
/// the same answers sent again, answers changed back), dashboards reconnect, and the host reads
/// the aggregate after every step. A model of the documented rule, run beside the server on the
/// same steps, says when each statistic is released and from which answers; the server must make
/// exactly those releases with exactly those statistics, and the model's releases must keep the
/// guarantee: for every pair of releases (not only neighbours) and every statistic, the members
/// whose contribution differs are none or at least `min_n`. A release number always shows the
/// same statistics, and between releases nothing moves.
#[tokio::test]
async fn no_two_releases_differ_by_fewer_than_min_n_members() {
    let s = live_server().await;
    let (host, poll, code) = session(&s.app).await;
    let auth = format!("Bearer {host}");
    let mut tokens = Vec::new();
    for _ in 0..6 {
        let (_, j) = call(&s.app, "POST", &format!("/api/join/{code}"), &[], None).await;
        tokens.push(j["member_token"].as_str().expect("member token").to_string());
    }
    // One step per line: (member, answers). A deterministic mix of first answers, revisions and
    // repeats, chosen so that releases come at different points of the sequence.
    let mut seed = 7u64;
    let mut next_value = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        1 + (seed >> 33) % 3
    };
    let mut steps: Vec<(usize, Value)> = Vec::new();
    for k in 0..40usize {
        let member = match k {
            0..=1 => k,
            2..=4 => k % 2,   // the first two revise before a third arrives
            5..=8 => k - 3,   // members 2 to 5 arrive
            _ => (k * 5) % 6, // then everyone revises in turn
        };
        let answers = if k % 7 == 3 {
            // A partial answer: only the first item (the others absent).
            json!({"1": next_value()})
        } else if k % 9 == 4 && !steps.is_empty() {
            // The same answers again: a revision that changes nothing.
            steps
                .iter()
                .rev()
                .find(|(m, _)| *m == member)
                .map_or_else(|| json!({"1": 1, "2": 1, "3": 1}), |(_, a)| a.clone())
        } else {
            json!({"1": next_value(), "2": next_value(), "3": next_value()})
        };
        steps.push((member, answers));
    }

    let snapshots: std::sync::Arc<tokio::sync::Mutex<Vec<Value>>> = std::sync::Arc::default();
    let watch = |addr, poll: String, host: String, seen: std::sync::Arc<tokio::sync::Mutex<Vec<Value>>>| {
        tokio::spawn(async move {
            let mut ws = connect(addr, &poll, json!({"type": "dashboard", "token": host})).await;
            while let Some(m) = next(&mut ws).await {
                seen.lock().await.push(m["aggregate"].clone());
            }
        })
    };
    let mut dash = watch(s.addr, poll.clone(), host.clone(), snapshots.clone());
    let mut states: Vec<State> = vec![State::new()];
    let mut releases: Vec<(u64, usize, Value)> = Vec::new(); // (seq, step, stats)
    for (step, (member, answers)) in steps.iter().enumerate() {
        let (st, v) = call(
            &s.app,
            "PUT",
            &format!("/api/polls/{poll}/response"),
            &[("x-attune-member", &tokens[*member])],
            Some(json!({"answers": answers})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let mut state = states.last().cloned().unwrap_or_default();
        state.insert(tokens[*member].clone(), answers.clone());
        states.push(state);
        if step % 11 == 10 {
            // A dashboard drops and another connects.
            dash.abort();
            dash = watch(s.addr, poll.clone(), host.clone(), snapshots.clone());
        }
        // Time for the dashboards' snapshots (25 ms gather), which may make the release themselves.
        tokio::time::sleep(Duration::from_millis(40)).await;
        let (_, agg) =
            call(&s.app, "GET", &format!("/api/polls/{poll}/aggregate"), &[("authorization", &auth)], None).await;
        let seq = agg["released"]["seq"].as_u64().unwrap_or(0);
        if seq > releases.last().map_or(0, |r| r.0) {
            assert_eq!(seq, releases.last().map_or(0, |r| r.0) + 1, "releases are numbered one by one");
            releases.push((seq, step + 1, agg["stats"].clone()));
        } else if let Some((_, _, stats)) = releases.last() {
            assert_eq!(&agg["stats"], stats, "step {step}: the statistics move only with a release");
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    dash.abort();

    // The model: per statistic, what each member's contributions have been shown; a statistic is
    // released (from the answers now) when at least 3 members have a contribution never shown.
    let paths = statistic_paths();
    let mut shown: std::collections::BTreeMap<String, Vec<Vec<String>>> = std::collections::BTreeMap::new();
    let mut snapshot: Vec<Option<State>> = vec![None; paths.len()];
    let mut expected: Vec<(usize, Vec<Option<State>>)> = Vec::new();
    for (t, state) in states.iter().enumerate().skip(1) {
        let (blank, now) = contributions(state);
        let fresh =
            |k: usize, m: &str, c: &[String]| c[k] != blank[k] && !shown.get(m).is_some_and(|h| h[k].contains(&c[k]));
        let advancing: Vec<bool> =
            (0..paths.len()).map(|k| now.iter().filter(|(m, c)| fresh(k, m, c)).count() >= 3).collect();
        if advancing.contains(&true) {
            for (m, c) in &now {
                let h = shown.entry(m.clone()).or_insert_with(|| vec![Vec::new(); paths.len()]);
                for k in (0..paths.len()).filter(|&k| advancing[k]) {
                    if !h[k].contains(&c[k]) {
                        h[k].push(c[k].clone());
                    }
                }
            }
            for k in (0..paths.len()).filter(|&k| advancing[k]) {
                snapshot[k] = Some(state.clone());
            }
            expected.push((t, snapshot.clone()));
        }
    }
    assert!(expected.len() >= 4, "the sequence makes several releases: {}", expected.len());
    let steps_of = |r: &[(u64, usize, Value)]| r.iter().map(|x| x.1).collect::<Vec<_>>();
    assert_eq!(steps_of(&releases), expected.iter().map(|e| e.0).collect::<Vec<_>>(), "releases at the model's steps");
    for ((seq, _, stats), (_, snap)) in releases.iter().zip(&expected) {
        for (path, state) in paths.iter().zip(snap) {
            let want = state.as_ref().map_or_else(|| statistic_of(&State::new(), path), |s| statistic_of(s, path));
            assert_eq!(rounded(&stats[path.0][&path.1]), want, "release {seq}, {path:?}");
        }
    }
    // The guarantee, on every pair of releases and every statistic.
    let mut checked = 0;
    for i in 0..expected.len() {
        for j in i + 1..expected.len() {
            for k in 0..paths.len() {
                let empty = State::new();
                let (blank, a) = contributions(expected[i].1[k].as_ref().unwrap_or(&empty));
                let (_, b) = contributions(expected[j].1[k].as_ref().unwrap_or(&empty));
                let members: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                let differ = members
                    .into_iter()
                    .filter(|m| a.get(*m).map_or(&blank[k], |c| &c[k]) != b.get(*m).map_or(&blank[k], |c| &c[k]))
                    .count();
                assert!(
                    differ == 0 || differ >= 3,
                    "releases {} and {}, {:?}: {differ} members differ",
                    i + 1,
                    j + 1,
                    paths[k]
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0);
    // Every snapshot any dashboard received shows one of these releases, or no statistic values.
    let seen = snapshots.lock().await;
    assert!(seen.len() >= steps.len(), "a snapshot for every step or so: {} snapshots", seen.len());
    for snap in seen.iter() {
        match snap["released"]["seq"].as_u64() {
            Some(seq) => assert_eq!(&snap["stats"], &releases[seq as usize - 1].2, "snapshot of release {seq}"),
            None => assert!(snap["stats"]["scores"]["total"]["mean"].is_null(), "{snap}"),
        }
    }
}

/// Open sockets are capped per address and overall (a JSON 429 / 503 before the upgrade), and a
/// place is given back when a socket closes. A member's socket that says nothing is closed
/// ("idle", 1000); one from which not even a pong comes is dropped.
#[tokio::test]
async fn sockets_are_capped_and_idle_ones_are_closed() {
    use attune_server::SocketCaps;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Sqlite::open(&dir.path().join("attune.db")).await.expect("database");
    let caps = SocketCaps::new(3, 2).with_timeouts(
        Duration::from_millis(100),
        Duration::from_secs(60),
        Duration::from_millis(700),
    );
    let app = app(AppState::new(store, Catalog::embedded()).with_socket_caps(caps));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let served = app.clone().into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, served).await });
    let (host, poll, _) = session(&app).await;

    let mut a = connect(addr, &poll, json!({"type": "dashboard", "token": host})).await;
    let mut b = connect(addr, &poll, json!({"type": "member"})).await;
    assert_eq!(next(&mut b).await.expect("status")["type"], "status");
    let url = format!("ws://{addr}/api/polls/{poll}/live");
    let err = tokio_tungstenite::connect_async(&url).await.expect_err("a third from one address");
    assert!(err.to_string().contains("429"), "{err}");
    // Another address (127.0.0.2 is loopback too) still has room, up to the overall cap.
    let from = |ip: [u8; 4]| {
        let url = url.clone();
        async move {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket.bind(std::net::SocketAddr::from((ip, 0))).expect("bind");
            let stream = socket.connect(addr).await.expect("connect");
            tokio_tungstenite::client_async(url, stream).await.map(|(ws, _)| ws)
        }
    };
    let mut c = from([127, 0, 0, 2]).await.expect("a socket from another address");
    let err = from([127, 0, 0, 3]).await.expect_err("over the overall cap");
    assert!(err.to_string().contains("503"), "{err}");

    // The member's socket says nothing: closed as idle, and its place is free again. The dashboard
    // answers pings (its client does, as browsers do) and stays.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match b.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                _ => return None,
            }
        }
    })
    .await
    .expect("closed within 5 s");
    assert_eq!(closed.map(|f| (u16::from(f.code), f.reason.to_string())), Some((1000, "idle".to_string())));
    c.send(Message::text(json!({"type": "member"}).to_string())).await.expect("hello");
    let mut d = from([127, 0, 0, 3]).await.expect("a place was given back");
    d.send(Message::text(json!({"type": "member"}).to_string())).await.expect("hello");
    a.send(Message::text(json!({"type": "ping"}).to_string())).await.expect("ping");
    loop {
        let m = next(&mut a).await.expect("the dashboard is still open");
        if m["type"] == "pong" {
            break;
        }
    }
}

/// A message over 16 KiB (here 1 MB) gets an error message and a clean close with 1009, and the
/// server carries on.
#[tokio::test]
async fn a_message_too_big_gets_an_error_and_close_1009() {
    let s = live_server().await;
    let (host, poll, _) = session(&s.app).await;
    let mut ws = connect(s.addr, &poll, json!({"type": "member"})).await;
    assert_eq!(next(&mut ws).await.expect("status")["type"], "status");
    ws.send(Message::text("x".repeat(1_000_000))).await.expect("send 1 MB");
    let err = next(&mut ws).await.expect("an error message");
    assert_eq!((err["type"].as_str(), err["error"]["code"].as_str()), (Some("error"), Some("message_too_big")));
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a close frame") {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => {}
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(close.map(|f| u16::from(f.code)), Some(1009));
    // The server carries on.
    let mut dash = connect(s.addr, &poll, json!({"type": "dashboard", "token": host})).await;
    assert_eq!(next(&mut dash).await.expect("snapshot")["type"], "snapshot");
}
