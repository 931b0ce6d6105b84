//! The SQLite storage's group commit: many joins and answers at once land in shared transactions,
//! and each caller still gets its own outcome: revisions counted per member (also when one member's
//! two answers share a batch), refusals for unknown and closed polls beside accepted answers, and
//! joined counts that include members who answered without joining.

use attune_server::{PollRow, Refused, Sqlite, Storage, TokenHash};

fn poll(id: &str, code: &str) -> PollRow {
    PollRow {
        id: id.into(),
        group_id: "g".into(),
        instrument: "gcqs".into(),
        code: Some(code.into()),
        min_n: 3,
        hide_until_closed: false,
        open: true,
        created_at: 1,
        closed_at: None,
        question: None,
        stem: None,
    }
}

fn member(k: u8) -> TokenHash {
    [k; 32]
}

#[tokio::test]
async fn concurrent_writes_share_commits_and_keep_their_own_outcomes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Sqlite::open(&dir.path().join("s.db")).await.expect("open");
    store.create_group("g", "group", &[9; 32]).await.expect("group");
    assert!(store.create_poll(&poll("open", "AAAAAA")).await.expect("poll"));
    assert!(store.create_poll(&poll("shut", "BBBBBB")).await.expect("poll"));
    store.close_poll("shut").await.expect("close");
    // The open poll's tally is now kept in memory and must follow every commit from here on.
    assert_eq!(store.tally("open").await.expect("tally"), attune_server::Tally::default());

    // 40 members answer the open poll twice each, all at once; member 40 only joins; others
    // answer a closed and an unknown poll in the same stream of jobs.
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..40u8 {
        for round in 0..2 {
            let s = store.clone();
            tasks.spawn(async move {
                let answers = format!("{{\"1\":{round}}}");
                (k, "open", s.put_response("open", &member(k), &answers).await.expect("stored"))
            });
        }
        let s = store.clone();
        tasks.spawn(async move { (k, "shut", s.put_response("shut", &member(k), "{\"1\":1}").await.expect("ran")) });
        let s = store.clone();
        tasks.spawn(async move { (k, "none", s.put_response("none", &member(k), "{\"1\":1}").await.expect("ran")) });
    }
    let s = store.clone();
    let joined = tokio::spawn(async move { s.join("open", &member(40)).await.expect("join") });
    let mut revisions: std::collections::HashMap<u8, Vec<i64>> = std::collections::HashMap::new();
    while let Some(done) = tasks.join_next().await {
        match done.expect("task") {
            (k, "open", Ok(rev)) => revisions.entry(k).or_default().push(rev),
            (_, "shut", outcome) => assert_eq!(outcome, Err(Refused::Closed)),
            (_, "none", outcome) => assert_eq!(outcome, Err(Refused::UnknownPoll)),
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(joined.await.expect("task"), Ok(()));
    assert_eq!(store.join("shut", &member(41)).await.expect("ran"), Err(Refused::Closed));
    assert_eq!(store.join("none", &member(41)).await.expect("ran"), Err(Refused::UnknownPoll));

    for k in 0..40u8 {
        let mut r = revisions.remove(&k).expect("both answers acknowledged");
        r.sort_unstable();
        assert_eq!(r, [1, 2], "member {k}: each answer has its own revision");
    }
    let tally = store.tally("open").await.expect("tally");
    assert_eq!(tally.joined, 41, "40 who answered and 1 who only joined");
    assert_eq!(tally.answers.len(), 40, "one response per member");
    let closed = store.tally("shut").await.expect("tally");
    assert_eq!((closed.joined, closed.answers.len()), (0, 0), "nothing stored for a closed poll");

    let mut latest: Vec<String> = tally.answers.clone();
    latest.sort();
    assert!(latest.iter().all(|a| a == "{\"1\":0}" || a == "{\"1\":1}"));

    // What memory says is what the file holds, as a fresh process reads it.
    drop(store);
    let again = Sqlite::open(&dir.path().join("s.db")).await.expect("reopen");
    let mut from_file = again.tally("open").await.expect("tally");
    from_file.answers.sort();
    assert_eq!((from_file.joined, from_file.answers), (41, latest));
}
