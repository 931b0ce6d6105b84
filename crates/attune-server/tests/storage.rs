//! The SQLite storage's group commit: many joins and answers at once land in shared transactions,
//! and each caller still gets its own outcome: revisions counted per member (also when one member's
//! two answers share a batch), refusals for unknown and closed polls and for members who did not join
//! beside accepted answers; and releases that only ever follow the last one.

use attune_server::{PollRow, Release, Sqlite, Storage, StorageError, TokenHash};

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

    // 40 members join, then answer the open poll twice each, all at once; member 40 only joins;
    // members 50-59 never joined; others answer a closed and an unknown poll in the same stream.
    for k in 0..40u8 {
        store.join("open", &member(k)).await.expect("join");
    }
    let mut tasks = tokio::task::JoinSet::new();
    for k in 50..60u8 {
        let s = store.clone();
        tasks.spawn(async move { (k, "stranger", s.put_response("open", &member(k), "{\"1\":1}").await) });
    }
    for k in 0..40u8 {
        for round in 0..2 {
            let s = store.clone();
            tasks.spawn(async move {
                let answers = format!("{{\"1\":{round}}}");
                (k, "open", s.put_response("open", &member(k), &answers).await)
            });
        }
        let s = store.clone();
        tasks.spawn(async move { (k, "shut", s.put_response("shut", &member(k), "{\"1\":1}").await) });
        let s = store.clone();
        tasks.spawn(async move { (k, "none", s.put_response("none", &member(k), "{\"1\":1}").await) });
    }
    let s = store.clone();
    let joined = tokio::spawn(async move { s.join("open", &member(40)).await });
    let mut revisions: std::collections::HashMap<u8, Vec<i64>> = std::collections::HashMap::new();
    while let Some(done) = tasks.join_next().await {
        match done.expect("task") {
            (k, "open", Ok(rev)) => revisions.entry(k).or_default().push(rev),
            (_, "shut", outcome) => assert_eq!(outcome, Err(StorageError::Closed)),
            (_, "stranger", outcome) => assert_eq!(outcome, Err(StorageError::NotMember)),
            (_, "none", outcome) => assert_eq!(outcome, Err(StorageError::UnknownPoll)),
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(joined.await.expect("task"), Ok(()));
    assert_eq!(store.join("shut", &member(41)).await, Err(StorageError::Closed));
    assert_eq!(store.join("none", &member(41)).await, Err(StorageError::UnknownPoll));

    for k in 0..40u8 {
        let mut r = revisions.remove(&k).expect("both answers acknowledged");
        r.sort_unstable();
        assert_eq!(r, [1, 2], "member {k}: each answer has its own revision");
    }
    let tally = store.tally("open").await.expect("tally");
    assert_eq!(tally.joined, 41, "40 who answered and 1 who only joined");
    assert_eq!(tally.answers.len(), 40, "one response per member; none from those who did not join");
    assert!(store.is_member("open", &member(3)).await.expect("read"));
    assert!(!store.is_member("open", &member(55)).await.expect("read"));
    let closed = store.tally("shut").await.expect("tally");
    assert_eq!((closed.joined, closed.answers.len()), (0, 0), "nothing stored for a closed poll");

    let mut latest: Vec<(TokenHash, String)> = tally.answers.iter().map(|a| (a.member, a.answers.clone())).collect();
    latest.sort();
    assert!(latest.iter().all(|(_, a)| a == "{\"1\":0}" || a == "{\"1\":1}"));
    assert!(tally.answers.iter().all(|a| a.released.is_none()), "nothing released yet");

    // A release follows the last one or is refused; it records what it showed for exactly the
    // members it names.
    let first = Release { seq: 1, n: 3, stats: "{\"n\":3}".into(), at: 5 };
    let held: Vec<(TokenHash, String)> = latest[..3].iter().map(|(m, _)| (*m, "[[\"r1\"]]".to_string())).collect();
    assert!(store.release("open", &first, &held).await.expect("release"));
    assert!(!store.release("open", &first, &held).await.expect("release"), "seq 1 again is refused");
    let skip = Release { seq: 3, ..first.clone() };
    assert!(!store.release("open", &skip, &held).await.expect("release"), "seq 3 does not follow 1");
    let tally = store.tally("open").await.expect("tally");
    assert_eq!(tally.release.as_ref(), Some(&first));
    let recorded = |t: &attune_server::Tally| t.answers.iter().filter(|a| a.released.is_some()).count();
    assert_eq!(recorded(&tally), 3);
    // Several releases of the same number at once (dashboards and the aggregate route asking
    // together) share one transaction: exactly one is stored.
    let second = Release { seq: 2, n: 40, stats: "{\"n\":40}".into(), at: 6 };
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let held: Vec<(TokenHash, String)> = latest.iter().map(|(m, _)| (*m, "[[\"r2\"]]".to_string())).collect();
        let (s, r) = (store.clone(), second.clone());
        racing.spawn(async move { s.release("open", &r, &held).await.expect("release") });
    }
    let won = racing.join_all().await.into_iter().filter(|w| *w).count();
    assert_eq!(won, 1, "one of six identical releases is stored");
    let tally = store.tally("open").await.expect("tally");
    assert_eq!((tally.release.as_ref(), recorded(&tally)), (Some(&second), 40));

    // What memory says is what the file holds, as a fresh process reads it.
    drop(store);
    let again = Sqlite::open(&dir.path().join("s.db")).await.expect("reopen");
    let from_file = again.tally("open").await.expect("tally");
    let mut answers: Vec<(TokenHash, String)> =
        from_file.answers.iter().map(|a| (a.member, a.answers.clone())).collect();
    answers.sort();
    assert_eq!((from_file.joined, answers), (41, latest));
    assert_eq!(recorded(&from_file), 40);
    assert!(from_file.answers.iter().all(|a| a.released.as_deref() == Some("[[\"r2\"]]")));
    assert_eq!(from_file.release, Some(second));
}

/// The SQLite process cache holds open polls only: a closed poll leaves it (and is read from the
/// file when asked for), so closed polls do not pile up in memory.
#[tokio::test]
async fn closed_polls_leave_the_cache() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Sqlite::open(&dir.path().join("s.db")).await.expect("open");
    store.create_group("g", "group", &[9; 32]).await.expect("group");
    for k in 0..5u8 {
        let code = format!("CODE{k}A");
        assert!(store.create_poll(&poll(&format!("p{k}"), &code)).await.expect("poll"));
    }
    assert_eq!(store.cached_polls(), 5);
    for k in 0..3u8 {
        store.close_poll(&format!("p{k}")).await.expect("close");
    }
    assert_eq!(store.cached_polls(), 2, "closed polls left the cache");
    let closed = store.poll("p1").await.expect("read").expect("the file still has it");
    assert!(!closed.open);
    assert_eq!(store.cached_polls(), 2, "reading a closed poll does not put it back");
}
