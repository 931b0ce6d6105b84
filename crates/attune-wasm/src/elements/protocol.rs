//! The poll server's answers and messages, read from the plain values the browser's `JSON.parse`
//! made (see `net`) into `attune_protocol`'s types, and the messages the elements send, made as
//! plain values. The module carries no JSON parser: one of serde's would cost more than the elements
//! themselves. A value that is not of the documented shape reads as `None`.
//!
//! The wire names of the protocol's enums come from `attune_protocol` itself (`PollState::parse`,
//! ...), which also links that crate's TypeScript declarations into this build.
//!
//! An aggregate's statistics (`group-statistics.md`'s object) stay the plain value the server sent:
//! the dashboard reads the few numbers it shows from it ([`number`], [`entries`]).

use attune_protocol::{
    Aggregate, CustomQuestion, GroupInfo, Joined, JoinedPoll, LiveError, Poll, PollList, PollState, PollStatus,
    QuestionOption, Released, ScoreMean, Stem, StemSource, Trend, TrendSession, Withheld,
};
use js_sys::{Array, Object};
use wasm_bindgen::{JsCast, JsValue};

use crate::js::{object, set};
use crate::read::{get, is_absent};

/// A message from the server on the live WebSocket.
#[derive(Debug)]
pub enum Message {
    /// A dashboard's snapshot: the aggregate, and its statistics as sent.
    Snapshot(Box<Aggregate>, JsValue),
    /// A member's poll status.
    Status(PollStatus),
    /// A member's answers are committed.
    Stored(u64),
    /// An error (a refused answer, a bad hello).
    Error(LiveError),
}

/// A number, if `v` is one.
pub fn number(v: &JsValue) -> Option<f64> {
    v.as_f64()
}

/// A plain object's own properties, in the order JavaScript gives them (integer-like keys
/// ascending, then the others as written).
pub fn entries(obj: &JsValue) -> Vec<(String, JsValue)> {
    if !obj.is_object() {
        return Vec::new();
    }
    Object::entries(obj.unchecked_ref())
        .iter()
        .map(|entry| {
            let entry: Array = entry.unchecked_into();
            (entry.get(0).as_string().unwrap_or_default(), entry.get(1))
        })
        .collect()
}

fn string(v: &JsValue, key: &str) -> Option<String> {
    get(v, key).as_string()
}

/// A whole number that is not negative.
fn count(v: &JsValue, key: &str) -> Option<u64> {
    get(v, key).as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64)
}

fn integer(v: &JsValue, key: &str) -> Option<i64> {
    get(v, key).as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)
}

/// `null` (or absent) as `Some(None)`, a value `read` accepts as `Some(Some(_))`, anything else
/// `None`.
fn nullable<T>(v: &JsValue, key: &str, read: impl Fn(&JsValue) -> Option<T>) -> Option<Option<T>> {
    let x = get(v, key);
    if is_absent(&x) {
        Some(None)
    } else {
        read(&x).map(Some)
    }
}

fn list<T>(v: &JsValue, key: &str, read: impl Fn(&JsValue) -> Option<T>) -> Option<Vec<T>> {
    let x = get(v, key);
    if !Array::is_array(&x) {
        return None;
    }
    Array::from(&x).iter().map(|item| read(&item)).collect()
}

fn poll_state(v: &JsValue) -> Option<PollState> {
    PollState::parse(&v.as_string()?)
}

fn stem(v: &JsValue) -> Option<Stem> {
    Some(Stem { text: string(v, "text")?, source: StemSource::parse(&string(v, "source")?)? })
}

fn question(v: &JsValue) -> Option<CustomQuestion> {
    Some(CustomQuestion {
        text: string(v, "text")?,
        options: list(v, "options", |o| {
            Some(QuestionOption { value: integer(o, "value")?, label: string(o, "label")? })
        })?,
        note: string(v, "note")?,
    })
}

/// A poll as the host routes show it.
pub fn poll(v: &JsValue) -> Option<Poll> {
    Some(Poll {
        id: string(v, "id")?,
        group: string(v, "group")?,
        instrument: string(v, "instrument")?,
        status: poll_state(&get(v, "status"))?,
        code: nullable(v, "code", JsValue::as_string)?,
        min_n: u32::try_from(count(v, "min_n")?).ok()?,
        hide_until_closed: get(v, "hide_until_closed").as_bool()?,
        created_at: integer(v, "created_at")?,
        closed_at: nullable(v, "closed_at", |x| x.as_f64().map(|f| f as i64))?,
        validated: get(v, "validated").as_bool()?,
        question: nullable(v, "question", question)?,
        stem: nullable(v, "stem", stem)?,
    })
}

/// An aggregate, with its statistics as sent (`null` when there are none).
pub fn aggregate(v: &JsValue) -> Option<(Aggregate, JsValue)> {
    let withheld = nullable(v, "withheld", |w| Withheld::parse(&w.as_string()?))?;
    let released = nullable(v, "released", |r| {
        Some(Released { seq: count(r, "seq")?, n: count(r, "n")?, at: integer(r, "at")? })
    })?;
    let stats = get(v, "stats");
    let aggregate = Aggregate {
        poll: poll(&get(v, "poll"))?,
        joined: count(v, "joined")?,
        answered: count(v, "answered")?,
        pending: count(v, "pending")?,
        released,
        withheld,
        // Kept as the plain value beside it: see the module's documentation.
        stats: None,
    };
    Some((aggregate, if stats.is_object() { stats } else { JsValue::NULL }))
}

/// `GET /api/groups/{group}/polls`.
pub fn poll_list(v: &JsValue) -> Option<PollList> {
    let group = get(v, "group");
    Some(PollList {
        group: GroupInfo { id: string(&group, "id")?, name: string(&group, "name")? },
        polls: list(v, "polls", poll)?,
    })
}

/// `GET /api/groups/{group}/trend`.
pub fn trend(v: &JsValue) -> Option<Trend> {
    let session = |s: &JsValue| {
        Some(TrendSession {
            poll: string(s, "poll")?,
            instrument: string(s, "instrument")?,
            validated: get(s, "validated").as_bool()?,
            question: nullable(s, "question", question)?,
            created_at: integer(s, "created_at")?,
            closed_at: nullable(s, "closed_at", |x| x.as_f64().map(|f| f as i64))?,
            n: count(s, "n")?,
            suppressed: get(s, "suppressed").as_bool()?,
            scores: entries(&get(s, "scores"))
                .into_iter()
                .map(|(id, m)| {
                    Some((id, ScoreMean { n: count(&m, "n")?, mean: nullable(&m, "mean", JsValue::as_f64)? }))
                })
                .collect::<Option<_>>()?,
        })
    };
    Some(Trend { group: string(v, "group")?, sessions: list(v, "sessions", session)? })
}

/// `POST /api/join/{code}`.
pub fn joined(v: &JsValue) -> Option<Joined> {
    let p = get(v, "poll");
    Some(Joined {
        poll: JoinedPoll {
            id: string(&p, "id")?,
            instrument: string(&p, "instrument")?,
            status: poll_state(&get(&p, "status"))?,
            question: nullable(&p, "question", question)?,
            stem: nullable(&p, "stem", stem)?,
        },
        member_token: nullable(v, "member_token", JsValue::as_string)?,
    })
}

/// A message on the live WebSocket (`pong` and unknown types read as `None`: nothing to do).
pub fn message(v: &JsValue) -> Option<Message> {
    match string(v, "type")?.as_str() {
        "snapshot" => {
            let (aggregate, stats) = aggregate(&get(v, "aggregate"))?;
            Some(Message::Snapshot(Box::new(aggregate), stats))
        }
        "status" => {
            let p = get(v, "poll");
            Some(Message::Status(PollStatus { id: string(&p, "id")?, status: poll_state(&get(&p, "status"))? }))
        }
        "stored" => Some(Message::Stored(count(v, "revision")?)),
        "error" => {
            let e = get(v, "error");
            Some(Message::Error(LiveError { code: string(&e, "code")?, message: string(&e, "message")? }))
        }
        _ => None,
    }
}

/// A member's answers as a plain object: item id to value.
pub fn answers(pairs: &[(String, i64)]) -> JsValue {
    let o = JsValue::from(Object::new());
    for (id, value) in pairs {
        set(&o, id, &JsValue::from_f64(*value as f64));
    }
    o
}

/// `{"type": "answer", "token", "answers"}` (`attune_protocol::LiveRequest::Answer`).
pub fn answer_request(token: &str, pairs: &[(String, i64)]) -> JsValue {
    object(&[("type", &"answer".into()), ("token", &token.into()), ("answers", &answers(pairs))])
}

/// The first message of a dashboard (`LiveHello::Dashboard`) or of a member (`LiveHello::Member`).
pub fn hello(dashboard_token: Option<&str>) -> JsValue {
    match dashboard_token {
        Some(token) => object(&[("type", &"dashboard".into()), ("token", &token.into())]),
        None => object(&[("type", &"member".into())]),
    }
}

/// The readers against serde's own writing of the same types: what the server sends (serde_json
/// text of `attune_protocol` values), parsed by the browser's `JSON.parse`, reads back equal.
#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use attune_protocol::{LiveMessage, PollStatus};
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    fn parsed<T: serde::Serialize>(value: &T) -> JsValue {
        let text = serde_json::to_string(value).expect("serialize");
        js_sys::JSON::parse(&text).expect("JSON.parse")
    }

    fn poll_of(question: bool) -> Poll {
        Poll {
            id: "p1".into(),
            group: "g1".into(),
            instrument: if question { "custom".into() } else { "gcqs".into() },
            status: PollState::Open,
            code: if question { None } else { Some("ABC234".into()) },
            min_n: 4,
            hide_until_closed: question,
            created_at: 1_764_800_000,
            closed_at: question.then_some(1_764_803_600),
            validated: !question,
            question: question.then(|| CustomQuestion {
                text: "How connected do you feel?".into(),
                options: vec![
                    QuestionOption { value: 0, label: "not".into() },
                    QuestionOption { value: 1, label: "very".into() },
                ],
                note: "A custom question, not a validated instrument.".into(),
            }),
            stem: (!question)
                .then(|| Stem { text: "Thinking about today's session:".into(), source: StemSource::Attune }),
        }
    }

    #[wasm_bindgen_test]
    fn what_serde_writes_reads_back_equal() {
        for question in [false, true] {
            let p = poll_of(question);
            assert_eq!(poll(&parsed(&p)), Some(p.clone()));
            let list =
                PollList { group: GroupInfo { id: "g1".into(), name: "Tuesday".into() }, polls: vec![p.clone()] };
            assert_eq!(poll_list(&parsed(&list)), Some(list));
            let stats = serde_json::json!({"instrument": "gcqs", "n": 4, "suppressed": false,
                "scores": {"engaged": {"n": 4, "mean": 3.5}}, "items": {"1": {"n": 4, "counts": {"0": 1, "6": 3}}}});
            let agg = Aggregate {
                poll: p.clone(),
                joined: 6,
                answered: 5,
                pending: 1,
                released: Some(Released { seq: 2, n: 4, at: 1_764_800_100 }),
                withheld: question.then_some(Withheld::HiddenUntilClosed),
                stats: Some(stats.clone()),
            };
            let (read, plain) = aggregate(&parsed(&agg)).expect("an aggregate");
            assert_eq!(read, Aggregate { stats: None, ..agg.clone() });
            assert_eq!(number(&get(&get(&get(&plain, "scores"), "engaged"), "mean")), Some(3.5));
            let counts: Vec<String> =
                entries(&get(&get(&get(&plain, "items"), "1"), "counts")).into_iter().map(|e| e.0).collect();
            assert_eq!(counts, ["0", "6"]);
            match message(&parsed(&LiveMessage::Snapshot { aggregate: Box::new(agg.clone()) })) {
                Some(Message::Snapshot(read, _)) => assert_eq!(*read, Aggregate { stats: None, ..agg }),
                other => panic!("{other:?}"),
            }
        }
        let trend_value = Trend {
            group: "g1".into(),
            sessions: vec![TrendSession {
                poll: "p1".into(),
                instrument: "gcqs".into(),
                validated: true,
                question: None,
                created_at: 1,
                closed_at: None,
                n: 0,
                suppressed: true,
                scores: [("engaged".to_string(), ScoreMean { n: 2, mean: None })].into_iter().collect(),
            }],
        };
        assert_eq!(trend(&parsed(&trend_value)), Some(trend_value));
        for token in [Some("t".repeat(64)), None] {
            let j = Joined {
                poll: JoinedPoll {
                    id: "p1".into(),
                    instrument: "ucla3".into(),
                    status: PollState::Open,
                    question: None,
                    stem: Some(Stem { text: "Over the last week".into(), source: StemSource::Therapist }),
                },
                member_token: token,
            };
            assert_eq!(joined(&parsed(&j)), Some(j));
        }
        let status = LiveMessage::Status { poll: PollStatus { id: "p1".into(), status: PollState::Closed } };
        assert!(matches!(message(&parsed(&status)), Some(Message::Status(s)) if s.status == PollState::Closed));
        assert!(matches!(message(&parsed(&LiveMessage::Stored { revision: 3 })), Some(Message::Stored(3))));
        let error = LiveMessage::Error { error: LiveError { code: "not_a_member".into(), message: "m".into() } };
        assert!(matches!(message(&parsed(&error)), Some(Message::Error(e)) if e.code == "not_a_member"));
        assert!(message(&parsed(&LiveMessage::Pong)).is_none());
        // Not of the documented shape: nothing.
        assert_eq!(poll(&js_sys::JSON::parse("{\"id\": 5}").expect("json")), None);
        assert!(aggregate(&JsValue::NULL).is_none());
    }

    #[wasm_bindgen_test]
    fn what_the_elements_send_is_the_protocol_s() {
        let pairs = vec![("1".to_string(), 3), ("2".to_string(), 0)];
        let text =
            js_sys::JSON::stringify(&answer_request("tok", &pairs)).expect("stringify").as_string().expect("text");
        let request: attune_protocol::LiveRequest = serde_json::from_str(&text).expect("a LiveRequest");
        assert_eq!(
            request,
            attune_protocol::LiveRequest::Answer {
                token: "tok".into(),
                answers: serde_json::from_str("{\"1\": 3, \"2\": 0}").expect("map"),
            }
        );
        for (hello_value, want) in [
            (hello(Some("h")), attune_protocol::LiveHello::Dashboard { token: "h".into() }),
            (hello(None), attune_protocol::LiveHello::Member),
        ] {
            let text = js_sys::JSON::stringify(&hello_value).expect("stringify").as_string().expect("text");
            assert_eq!(serde_json::from_str::<attune_protocol::LiveHello>(&text).expect("a hello"), want);
        }
    }
}
