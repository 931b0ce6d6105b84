//! The messages of the live poll: what the server sends on `GET /api/polls/{poll}/live` and in the
//! aggregate route, and what a client says first. One definition, used by `attune-server` to write
//! them and exported to TypeScript in the npm package (`attune/poll`), so both sides agree by
//! construction. Field names and shapes are those of `crates/attune-server/README.md`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(feature = "typescript")]
use tsify::Tsify;

/// A client's first message on the live WebSocket, within 10 seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LiveHello {
    /// A therapist's dashboard, with the group's host token: it receives snapshots.
    Dashboard {
        /// The group's host token.
        token: String,
    },
    /// A member's page: it is told when the poll closes.
    Member,
}

/// What a client may send after its hello.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LiveRequest {
    /// Answered with `pong`.
    Ping,
    /// A member's answers, on a member's connection: the same checks as
    /// `PUT /api/polls/{poll}/response`, with the member token in the message instead of a header.
    /// Answered, in order, with `stored` once committed or with `error` (and nothing stored).
    Answer {
        /// The member token from the join route.
        token: String,
        /// Item id to value, as in the HTTP route.
        #[cfg_attr(feature = "typescript", tsify(type = "Record<string, number | null>"))]
        answers: serde_json::Map<String, Value>,
    },
}

/// A message from the server on the live WebSocket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LiveMessage {
    /// To dashboards: the aggregate now (at once, then on every change, at most a few a second).
    Snapshot {
        /// The same object as `GET /api/polls/{poll}/aggregate`.
        aggregate: Box<Aggregate>,
    },
    /// To members: the poll's status (at once, and when it closes).
    Status {
        /// The poll and its status.
        poll: PollStatus,
    },
    /// To a member, after `answer`: the answers are committed, with their revision (1 for the first).
    Stored {
        /// How many times this member's answers have been stored in this poll.
        revision: u64,
    },
    /// The answer to `{"type": "ping"}`.
    Pong,
    /// A bad frame or hello; after a bad hello the connection is closed with code 1008.
    Error {
        /// What was wrong.
        error: LiveError,
    },
}

/// Open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify))]
#[serde(rename_all = "snake_case")]
pub enum PollState {
    /// Answers are taken.
    Open,
    /// Frozen: answers are refused and the code is retired.
    Closed,
}

/// A poll's id and status, as members see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct PollStatus {
    /// Poll id.
    pub id: String,
    /// Open or closed.
    pub status: PollState,
}

/// An error: a stable code and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct LiveError {
    /// Stable, machine-readable code (`invalid_json`, `unauthorized`, `timeout`, ...).
    pub code: String,
    /// What went wrong.
    pub message: String,
}

/// Whose words a poll's stem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify))]
#[serde(rename_all = "snake_case")]
pub enum StemSource {
    /// The therapist's own stem.
    Therapist,
    /// The instrument's published instructions.
    Instrument,
    /// Attune's neutral default, naming only the time frame: not part of the instrument.
    Attune,
}

/// The stem shown above a poll's items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct Stem {
    /// The wording.
    pub text: String,
    /// Whose wording it is.
    pub source: StemSource,
}

/// One option of a custom question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct QuestionOption {
    /// The value an answer carries (0, 1, ...).
    pub value: i64,
    /// The label.
    pub label: String,
}

/// A therapist's quick custom question: never a validated instrument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct CustomQuestion {
    /// The question.
    pub text: String,
    /// Its options, in order.
    pub options: Vec<QuestionOption>,
    /// "A custom question, not a validated instrument."
    pub note: String,
}

/// A poll, as the host routes and dashboards see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct Poll {
    /// Poll id.
    pub id: String,
    /// Group id.
    pub group: String,
    /// Catalog instrument id, or `"custom"`.
    pub instrument: String,
    /// Open or closed.
    pub status: PollState,
    /// The join code while the poll is open; `null` once closed.
    pub code: Option<String>,
    /// Aggregates are withheld below this many answers (never below 3).
    pub min_n: u32,
    /// Aggregates are withheld until the poll closes.
    pub hide_until_closed: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, once closed.
    pub closed_at: Option<i64>,
    /// `false` for a custom question: its results are not those of a validated instrument.
    pub validated: bool,
    /// A custom question's wording and options (`null` for catalog instruments).
    pub question: Option<CustomQuestion>,
    /// The stem above the items; `null` for custom questions, which are their own stem.
    pub stem: Option<Stem>,
}

/// Why aggregates are not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify))]
#[serde(rename_all = "snake_case")]
pub enum Withheld {
    /// Fewer members answered than the poll's `min_n`.
    BelowMinN,
    /// The poll hides results until it is closed.
    HiddenUntilClosed,
}

/// When the statistics shown were released, and from how many members' answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct Released {
    /// 1 for the poll's first release, then 2, 3, ...
    pub seq: u64,
    /// Members whose answers the release holds.
    pub n: u64,
    /// Unix seconds.
    pub at: i64,
}

/// A poll's aggregate: counts at once, statistics only as released (the answers of at least
/// `min_n` members, then steps of at least `min_n` members added or changed). Never an
/// individual's answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    /// The poll.
    pub poll: Poll,
    /// Members who joined.
    pub joined: u64,
    /// Members who answered.
    pub answered: u64,
    /// Members whose answers were added or changed since the statistics shown: they are released
    /// together once at least `min_n` of them are pending (or at close for a poll hidden until then).
    pub pending: u64,
    /// The release the statistics come from; `null` before the first.
    pub released: Option<Released>,
    /// Why `stats` is null or suppressed, if it is.
    pub withheld: Option<Withheld>,
    /// `group-statistics.md`'s object (`GroupStats` of the scoring API) of the last release; before
    /// the first, suppressed statistics (no values); null while hidden until closed.
    #[cfg_attr(feature = "typescript", tsify(type = "GroupStats | null"))]
    pub stats: Option<Value>,
}

/// A group as its host sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct GroupInfo {
    /// Group id.
    pub id: String,
    /// The name the therapist gave it.
    pub name: String,
}

/// `GET /api/groups/{group}/polls`: a group's polls, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct PollList {
    /// The group.
    pub group: GroupInfo,
    /// Its polls, oldest first.
    pub polls: Vec<Poll>,
}

/// One score's mean in one session of the trend.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct ScoreMean {
    /// Members with a value for the score.
    pub n: u64,
    /// Their mean; `null` before the poll's first release.
    pub mean: Option<f64>,
}

/// One session (poll) of a group's trend: its last release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct TrendSession {
    /// Poll id.
    pub poll: String,
    /// Catalog instrument id, or `"custom"`.
    pub instrument: String,
    /// `false` for a custom question.
    pub validated: bool,
    /// A custom question's wording and options.
    pub question: Option<CustomQuestion>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, once closed.
    pub closed_at: Option<i64>,
    /// Members in the release.
    pub n: u64,
    /// `true` before the first release (means are null).
    pub suppressed: bool,
    /// Each score's n and mean, by score id (a plain object on the wire).
    #[cfg_attr(feature = "typescript", tsify(type = "Record<string, ScoreMean>"))]
    pub scores: std::collections::BTreeMap<String, ScoreMean>,
}

/// `GET /api/groups/{group}/trend`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct Trend {
    /// Group id.
    pub group: String,
    /// Its sessions, oldest first; polls hidden until closed appear once closed.
    pub sessions: Vec<TrendSession>,
}

/// The poll a member joined: what the join page needs to show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify), tsify(missing_as_null))]
#[serde(deny_unknown_fields)]
pub struct JoinedPoll {
    /// Poll id.
    pub id: String,
    /// Catalog instrument id, or `"custom"`.
    pub instrument: String,
    /// Open (a closed poll cannot be joined).
    pub status: PollState,
    /// A custom question's wording and options (`null` for catalog instruments).
    pub question: Option<CustomQuestion>,
    /// The stem above the items; `null` for custom questions.
    pub stem: Option<Stem>,
}

/// `POST /api/join/{code}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(Tsify))]
#[serde(deny_unknown_fields)]
pub struct Joined {
    /// The poll.
    pub poll: JoinedPoll,
    /// A new member token, shown once; absent when the member sent the token this poll gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", tsify(optional))]
    pub member_token: Option<String>,
}

impl PollState {
    /// The state of its wire name (`"open"`, `"closed"`), as serde writes it.
    pub fn parse(name: &str) -> Option<PollState> {
        match name {
            "open" => Some(PollState::Open),
            "closed" => Some(PollState::Closed),
            _ => None,
        }
    }
}

impl StemSource {
    /// The source of its wire name (`"therapist"`, `"instrument"`, `"attune"`).
    pub fn parse(name: &str) -> Option<StemSource> {
        match name {
            "therapist" => Some(StemSource::Therapist),
            "instrument" => Some(StemSource::Instrument),
            "attune" => Some(StemSource::Attune),
            _ => None,
        }
    }
}

impl Withheld {
    /// The reason of its wire name (`"below_min_n"`, `"hidden_until_closed"`).
    pub fn parse(name: &str) -> Option<Withheld> {
        match name {
            "below_min_n" => Some(Withheld::BelowMinN),
            "hidden_until_closed" => Some(Withheld::HiddenUntilClosed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_have_the_documented_shapes() {
        let hello: LiveHello = serde_json::from_value(json!({"type": "dashboard", "token": "t"})).expect("hello");
        assert_eq!(hello, LiveHello::Dashboard { token: "t".into() });
        assert_eq!(serde_json::to_value(LiveMessage::Pong).expect("pong"), json!({"type": "pong"}));
        let status = LiveMessage::Status { poll: PollStatus { id: "p".into(), status: PollState::Closed } };
        assert_eq!(
            serde_json::to_value(status).expect("status"),
            json!({"type": "status", "poll": {"id": "p", "status": "closed"}})
        );
        assert_eq!(serde_json::to_value(Withheld::BelowMinN).expect("w"), json!("below_min_n"));
    }

    #[test]
    fn wire_names_parse_as_serde_writes_them() {
        for s in [PollState::Open, PollState::Closed] {
            let name = serde_json::to_value(s).expect("name");
            assert_eq!(PollState::parse(name.as_str().expect("string")), Some(s));
        }
        for s in [StemSource::Therapist, StemSource::Instrument, StemSource::Attune] {
            let name = serde_json::to_value(s).expect("name");
            assert_eq!(StemSource::parse(name.as_str().expect("string")), Some(s));
        }
        for w in [Withheld::BelowMinN, Withheld::HiddenUntilClosed] {
            let name = serde_json::to_value(w).expect("name");
            assert_eq!(Withheld::parse(name.as_str().expect("string")), Some(w));
        }
        assert_eq!(PollState::parse("Open"), None);
    }
}
