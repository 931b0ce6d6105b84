//! Full validation of an instrument definition, as `attune validate FILE` runs it: every structural
//! problem, and then every reference vector scored and compared with its expected result.

use serde_json::{Map, Value};

use crate::instrument::{parse_definition, Instrument};
use crate::model::TestVector;
use crate::problem::{Problem, ProblemKind};

/// Checks a definition and reports every problem with its JSON path; empty means valid.
///
/// ```
/// let problems = attune_core::validate_definition(r#"{"id": "x", "name": "X", "short_name": "X",
///   "domain": "hope", "response_sets": {"yn": [{"value": 0}, {"value": 1}]},
///   "items": [{"id": "1", "response_set": "yn"}, {"id": "1", "response_set": "ab"}],
///   "scores": [{"id": "total", "method": "sum", "items": ["1", "3"], "range": [0, 2],
///               "missing": {"rule": "none-allowed"}}]}"#);
/// let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
/// assert!(paths.contains(&"$.license"));
/// assert!(paths.contains(&"$.citation"));
/// assert!(paths.contains(&"$.items[1].id"));            // duplicate item id
/// assert!(paths.contains(&"$.items[1].response_set"));  // unknown response set
/// assert!(paths.contains(&"$.scores[0].items[1]"));     // unknown item
/// ```
pub fn validate_definition(json: &str) -> Vec<Problem> {
    let def = match parse_definition(json) {
        Ok(d) => d,
        Err(p) => return p,
    };
    let vectors = def.test_vectors.clone();
    let inst = match Instrument::from_definition(def) {
        Ok(i) => i,
        Err(p) => return p,
    };
    let mut problems = Vec::new();
    for (k, v) in vectors.iter().enumerate() {
        if let Err(message) = check_vector(&inst, v) {
            problems.push(Problem { path: format!("$.test_vectors[{k}]"), kind: ProblemKind::VectorMismatch, message });
        }
    }
    problems
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9
}

/// Scores a reference vector and compares it with its expected result; `Err` says what differs.
pub fn check_vector(inst: &Instrument, v: &TestVector) -> Result<(), String> {
    let empty = Map::new();
    let answers = match &v.answers {
        Value::Object(o) => o,
        Value::Null => &empty,
        _ => return Err("`answers` must be an object".into()),
    };
    let outcome = inst.score(answers, v.context.as_ref());
    if let Some(err) = v.expected.get("error") {
        let want = err.get("code").and_then(Value::as_str).unwrap_or("");
        return match outcome {
            Err(e) if e.code().as_str() == want => Ok(()),
            Err(e) => Err(format!("expected error `{want}`, got error `{}` ({e})", e.code().as_str())),
            Ok(_) => Err(format!("expected error `{want}`, but the answers were scored")),
        };
    }
    let result = outcome.map_err(|e| format!("expected a result, got error `{}`: {e}", e.code().as_str()))?;
    let mut diffs = Vec::new();
    if let Some(scores) = v.expected.get("scores").and_then(Value::as_object) {
        for (id, want) in scores {
            let Some(got) = result.score(id) else {
                diffs.push(format!("score `{id}` does not exist"));
                continue;
            };
            match (want.get("value"), got.value) {
                (Some(Value::Null), None) | (None, _) => {}
                (Some(w), Some(g)) if w.as_f64().is_some_and(|w| close(w, g)) => {}
                (Some(w), g) => diffs.push(format!("`{id}` value: expected {w}, got {g:?}")),
            }
            if let Some(w) = want.get("band") {
                let w = w.as_str();
                if w != got.band {
                    diffs.push(format!("`{id}` band: expected {w:?}, got {:?}", got.band));
                }
            }
            if let Some(w) = want.get("cutoffs").and_then(Value::as_array) {
                let w: Vec<&str> = w.iter().filter_map(Value::as_str).collect();
                if w != got.cutoffs {
                    diffs.push(format!("`{id}` cut-offs: expected {w:?}, got {:?}", got.cutoffs));
                }
            }
        }
    }
    if let Some(w) = v.expected.get("flags").and_then(Value::as_array) {
        let w: Vec<&str> = w.iter().filter_map(Value::as_str).collect();
        if w != result.flags {
            diffs.push(format!("flags: expected {w:?}, got {:?}", result.flags));
        }
    }
    if let Some(w) = v.expected.get("complete").and_then(Value::as_bool) {
        if w != result.complete {
            diffs.push(format!("complete: expected {w}, got {}", result.complete));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}
