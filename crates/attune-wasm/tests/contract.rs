//! The TypeScript declarations are generated from the types in `src/types.rs`, while the values come
//! from `attune-core`'s own serializers. This test holds the two together: every output the core
//! produces for the reference vectors, the catalog and group statistics must read as the declared
//! type with unknown fields denied, and lose nothing on the way back.

use std::path::PathBuf;

use attune_core::{Catalog, Group, Outcome};
use attune_wasm::{GroupStats, ScoreFailure, ScoreOutcome, ScoreResult};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

/// The catalog's copy of the clinical reference (its definitions carry the reference vectors;
/// attune-core's reference tests hold them equal to `../shared/instruments`).
fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../attune-core/instruments")
}

/// Numbers compare by value (the declared types read integers as floats).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w)),
        _ => a == b,
    }
}

/// `value` reads as `T` and writes back unchanged.
fn conforms<T: DeserializeOwned + Serialize>(value: &Value, what: &str) {
    let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{what}: {e}\n{value}"));
    let back = serde_json::to_value(&typed).expect("serialize");
    assert!(same(value, &back), "{what}: {value} became {back}");
}

#[test]
fn every_result_and_error_of_the_reference_vectors_has_the_declared_shape() {
    let catalog = Catalog::embedded();
    let (mut scored, mut failed) = (0, 0);
    for entry in std::fs::read_dir(reference_dir()).expect("the clinical reference") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let def: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        for v in def["test_vectors"].as_array().into_iter().flatten() {
            let request = json!({"instrument": def["id"], "answers": v["answers"], "context": v.get("context")});
            let outcome = attune_core::score_json(catalog, &request.to_string());
            let value = serde_json::to_value(&outcome).expect("serialize");
            match outcome {
                Outcome::Scored(_) => {
                    conforms::<ScoreResult>(&value, &format!("{} {}", path.display(), v["note"]));
                    scored += 1;
                }
                Outcome::Failed { .. } => {
                    conforms::<ScoreFailure>(&value, &format!("{} {}", path.display(), v["note"]));
                    failed += 1;
                }
            }
            conforms::<ScoreOutcome>(&value, "outcome");
        }
    }
    assert_eq!(scored + failed, 284);
    assert!(failed > 10 && scored > 200, "{scored} scored, {failed} failed");
}

#[test]
fn failures_of_every_code_have_the_declared_shape() {
    let catalog = Catalog::embedded();
    for request in [
        r#"{"instrument": "nope"}"#,
        r#"{"instrument": "phq9", "answers": {"99": 1}}"#,
        r#"{"instrument": "phq9", "answers": {"1": 9}}"#,
        r#"{"instrument": "auditc", "answers": {}, "context": {"sex": "x"}}"#,
        r#"{"answers": {}}"#,
        "[]",
    ] {
        let value = serde_json::to_value(attune_core::score_json(catalog, request)).expect("serialize");
        conforms::<ScoreFailure>(&value, request);
    }
}

#[test]
fn group_statistics_have_the_declared_shape_suppressed_or_not() {
    let catalog = Catalog::embedded();
    for id in ["gcqs", "ucla3", "rulers", "phq9"] {
        let inst = catalog.get(id).expect("instrument");
        for members in [1, 3, 8] {
            let mut group = Group::new(inst, 3).expect("group");
            for m in 0..members {
                let answers: Vec<(String, i64)> = (0..inst.definition().items.len())
                    .map(|k| {
                        (
                            inst.definition().items[k].id.to_string(),
                            inst.option_values(k)[m % inst.option_values(k).len()],
                        )
                    })
                    .collect();
                group.add_pairs(answers.iter().map(|(i, v)| (i.as_str(), *v))).expect("member");
            }
            let value = serde_json::to_value(group.finish()).expect("serialize");
            conforms::<GroupStats>(&value, &format!("{id} with {members} members"));
        }
    }
}
