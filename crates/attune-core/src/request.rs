//! Requests as they arrive over JSON (CLI lines, JavaScript, the server): `{"instrument": id,
//! "answers": {...}, "context": {...}}`. Every way a request can be wrong becomes a [`ScoreError`]
//! with a stable code; nothing is guessed.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::error::{ErrorBody, ScoreError};
use crate::score::ScoreResult;

/// A request whose fields have not been checked yet.
#[derive(Debug, Default, Deserialize)]
struct RawRequest {
    #[serde(default)]
    instrument: Option<Value>,
    #[serde(default, deserialize_with = "answers_without_duplicates")]
    answers: Option<Value>,
    #[serde(default)]
    context: Option<Value>,
    #[serde(default)]
    id: Option<Value>,
}

/// Reads `answers` like any JSON value, except that an object naming an item twice is an error:
/// JSON parsers keep only the last of two equal keys, which could silently drop an answer (say a
/// PHQ-9 item 9 of 3 followed by a `null`).
fn answers_without_duplicates<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    use serde::de::{Error, MapAccess, SeqAccess, Visitor};
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of answers keyed by item id")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
            let mut out = Map::new();
            while let Some((k, v)) = m.next_entry::<String, Value>()? {
                if out.contains_key(&k) {
                    return Err(A::Error::custom(format!("item `{k}` is answered twice")));
                }
                out.insert(k, v);
            }
            Ok(Value::Object(out))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = s.next_element::<Value>()? {
                out.push(v);
            }
            Ok(Value::Array(out))
        }
        fn visit_unit<E: Error>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_bool<E: Error>(self, b: bool) -> Result<Value, E> {
            Ok(Value::Bool(b))
        }
        fn visit_i64<E: Error>(self, n: i64) -> Result<Value, E> {
            Ok(Value::from(n))
        }
        fn visit_u64<E: Error>(self, n: u64) -> Result<Value, E> {
            Ok(Value::from(n))
        }
        fn visit_f64<E: Error>(self, n: f64) -> Result<Value, E> {
            Ok(Value::from(n))
        }
        fn visit_str<E: Error>(self, s: &str) -> Result<Value, E> {
            Ok(Value::from(s))
        }
    }
    d.deserialize_any(V).map(Some)
}

/// The outcome of one request: a result, or an error naming the instrument when it is known.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<'a> {
    /// Scored.
    Scored(ScoreResult<'a>),
    /// Rejected.
    Failed {
        /// The instrument id given in the request, if any.
        instrument: Option<String>,
        /// Why.
        error: ScoreError,
    },
}

impl Serialize for Outcome<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Outcome::Scored(r) => r.serialize(s),
            Outcome::Failed { instrument, error } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("instrument", instrument)?;
                m.serialize_entry("error", &ErrorBody { error, member: None })?;
                m.end()
            }
        }
    }
}

/// A request checked for shape: the instrument id, the answers object and the context as given.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Instrument id.
    pub instrument: String,
    /// Answers keyed by item id.
    pub answers: Map<String, Value>,
    /// Context, as given (checked against the instrument when scored).
    pub context: Option<Value>,
    /// The caller's own `"id"` for this request, if any: echoed by the CLI so results can be joined
    /// back to their source rows. Never used in scoring.
    pub id: Option<Value>,
}

impl Request {
    /// Parses one request from JSON text. `instrument` may be left out when `default_instrument` is
    /// given (as for `attune group ID`), and must equal it when both are given.
    pub fn parse(json: &str, default_instrument: Option<&str>) -> Result<Request, (Option<String>, ScoreError)> {
        // serde would also accept a JSON array as a struct in tuple form: only objects are requests.
        if !json.trim_start().starts_with('{') {
            let error = match serde_json::from_str::<serde::de::IgnoredAny>(json) {
                Ok(_) => ScoreError::request_not_an_object(),
                Err(e) => ScoreError::invalid_json(format!("not valid JSON: {e}")),
            };
            return Err((default_instrument.map(str::to_string), error));
        }
        let raw: RawRequest = match serde_json::from_str(json) {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_data() { "invalid request" } else { "not valid JSON" };
                return Err((default_instrument.map(str::to_string), ScoreError::invalid_json(format!("{what}: {e}"))));
            }
        };
        Request::from_raw(raw, default_instrument)
    }

    /// Checks a request already parsed as a JSON value.
    pub fn from_value(value: Value, default_instrument: Option<&str>) -> Result<Request, (Option<String>, ScoreError)> {
        let raw = match value {
            Value::Object(mut o) => RawRequest {
                instrument: o.remove("instrument"),
                answers: o.remove("answers"),
                context: o.remove("context"),
                id: o.remove("id"),
            },
            _ => return Err((default_instrument.map(str::to_string), ScoreError::request_not_an_object())),
        };
        Request::from_raw(raw, default_instrument)
    }

    fn from_raw(raw: RawRequest, default_instrument: Option<&str>) -> Result<Request, (Option<String>, ScoreError)> {
        let instrument = match (raw.instrument, default_instrument) {
            (Some(Value::String(s)), Some(d)) if s != d => {
                let msg = format!("this line is for instrument `{s}`, but the group is for `{d}`");
                return Err((Some(s), ScoreError::invalid_json(msg)));
            }
            (Some(Value::String(s)), _) => s,
            (None | Some(Value::Null), Some(d)) => d.to_string(),
            (None | Some(Value::Null), None) => return Err((None, ScoreError::no_instrument())),
            (Some(other), _) => return Err((None, ScoreError::instrument_not_a_string(&other.to_string()))),
        };
        let answers = match raw.answers {
            Some(Value::Object(o)) => o,
            None | Some(Value::Null) => Map::new(),
            Some(other) => {
                let kind = match other {
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    _ => "a boolean",
                };
                return Err((Some(instrument), ScoreError::answers_not_an_object(kind)));
            }
        };
        Ok(Request { instrument, answers, context: raw.context, id: raw.id.filter(|v| !v.is_null()) })
    }

    /// Scores this request against a catalog.
    pub fn score<'c>(&self, catalog: &'c Catalog) -> Outcome<'c> {
        let Some(inst) = catalog.get(&self.instrument) else {
            return Outcome::Failed {
                instrument: Some(self.instrument.clone()),
                error: ScoreError::UnknownInstrument { id: self.instrument.clone() },
            };
        };
        match inst.score(&self.answers, self.context.as_ref()) {
            Ok(r) => Outcome::Scored(r),
            Err(error) => Outcome::Failed { instrument: Some(self.instrument.clone()), error },
        }
    }
}

/// Scores one JSON request (one line of `attune score`).
///
/// ```
/// let catalog = attune_core::Catalog::embedded();
/// let out = attune_core::score_json(catalog, r#"{"instrument": "gad2", "answers": {"1": 2, "2": 1}}"#);
/// assert_eq!(
///     serde_json::to_string(&out).unwrap(),
///     r#"{"instrument":"gad2","complete":true,"scores":{"total":{"value":3,"band":null,"cutoffs":["positive"]}},"flags":[]}"#
/// );
/// let bad = attune_core::score_json(catalog, r#"{"instrument": "gad2", "answers": {"1": 4}}"#);
/// assert!(serde_json::to_string(&bad).unwrap().contains(r#""code":"invalid_value","item":"1""#));
/// ```
pub fn score_json<'c>(catalog: &'c Catalog, json: &str) -> Outcome<'c> {
    match Request::parse(json, None) {
        Ok(req) => req.score(catalog),
        Err((instrument, error)) => Outcome::Failed { instrument, error },
    }
}
