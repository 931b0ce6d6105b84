//! Definition validation: each kind of problem is found, reported with its JSON path, and every
//! problem of a file is reported at once.

use attune_core::{validate_definition, Instrument, ProblemKind};
use serde_json::{json, Value};

/// A small valid definition; each test breaks one thing in it.
fn base() -> Value {
    json!({
        "id": "demo", "name": "Demo scale", "short_name": "DEMO", "domain": "hope",
        "citation": "Author A. A demo scale. J Demo. 2024;1:1-2.",
        "license": {"status": "public-domain", "text_bundled": true, "statement": "Ours to give."},
        "instructions": "Answer each item.",
        "response_sets": {"agree5": [{"value": 1, "label": "No"}, {"value": 2}, {"value": 3}, {"value": 4}, {"value": 5, "label": "Yes"}]},
        "items": [
            {"id": "1", "text": "One", "response_set": "agree5"},
            {"id": "2", "text": "Two", "response_set": "agree5"},
            {"id": "3", "text": "Three", "response_set": "agree5"}
        ],
        "scores": [
            {"id": "a", "method": "sum", "items": ["1", "2"], "reverse": {"items": ["2"], "rule": "6 - x"},
             "range": [2, 10], "missing": {"rule": "none-allowed"},
             "bands": [{"id": "low", "min": 2, "max": 5}, {"id": "high", "min": 6, "max": 10}],
             "cutoffs": [{"id": "pos", "min": 7}]},
            {"id": "b", "method": "mean", "items": ["3"], "range": [1, 5], "missing": {"rule": "none-allowed"}},
            {"id": "diff", "method": "expression", "expression": "a - b", "range": [-3, 9], "missing": {"rule": "none-allowed"}}
        ],
        "flags": [{"id": "three_high", "critical": true, "rule": "item 3 >= 5"}],
        "test_vectors": [
            {"answers": {"1": 5, "2": 1, "3": 5},
             "expected": {"scores": {"a": {"value": 10, "band": "high", "cutoffs": ["pos"]}, "diff": {"value": 5}},
                          "flags": ["three_high"], "complete": true}},
            {"answers": {"1": 6}, "expected": {"error": {"code": "invalid_value"}}}
        ]
    })
}

fn problems(def: &Value) -> Vec<(String, ProblemKind)> {
    validate_definition(&def.to_string()).into_iter().map(|p| (p.path, p.kind)).collect()
}

fn assert_problem(def: &Value, path: &str, kind: ProblemKind) {
    let got = problems(def);
    assert!(got.iter().any(|(p, k)| p == path && *k == kind), "expected {kind:?} at {path}, got {got:?}");
}

fn edit(f: impl FnOnce(&mut Value)) -> Value {
    let mut d = base();
    f(&mut d);
    d
}

#[test]
fn the_base_definition_is_valid() {
    assert_eq!(problems(&base()), vec![]);
    assert!(Instrument::from_json(&base().to_string()).is_ok());
}

#[test]
fn not_json_and_wrong_types_are_schema_problems_with_a_path() {
    let got = validate_definition("{\"id\": ");
    assert_eq!(got.len(), 1);
    // The path says where the text stopped making sense: inside `id`.
    assert_eq!((got[0].path.as_str(), got[0].kind), ("$.id", ProblemKind::Schema));
    assert!(got[0].message.contains("EOF"), "{}", got[0].message);
    assert_problem(&edit(|d| d["items"][1]["response_set"] = json!(7)), "$.items[1].response_set", ProblemKind::Schema);
    assert_problem(&edit(|d| d["scores"][0]["method"] = json!("median")), "$.scores[0].method", ProblemKind::Schema);
}

#[test]
fn duplicate_and_unknown_item_ids() {
    assert_problem(&edit(|d| d["items"][2]["id"] = json!("1")), "$.items[2].id", ProblemKind::DuplicateItem);
    assert_problem(
        &edit(|d| d["scores"][0]["items"][1] = json!("9")),
        "$.scores[0].items[1]",
        ProblemKind::UnknownItem,
    );
    assert_problem(
        &edit(|d| d["scores"][0]["items"][1] = json!("1")),
        "$.scores[0].items[1]",
        ProblemKind::DuplicateItem,
    );
    assert_problem(&edit(|d| d["flags"][0]["rule"] = json!("item 4 >= 5")), "$.flags[0].rule", ProblemKind::BadRule);
}

#[test]
fn scores_that_name_missing_response_sets() {
    assert_problem(
        &edit(|d| d["items"][0]["response_set"] = json!("agree7")),
        "$.items[0].response_set",
        ProblemKind::UnknownResponseSet,
    );
    assert_problem(
        &edit(|d| d["response_sets"]["agree5"][1]["value"] = json!(1)),
        "$.response_sets.agree5[1].value",
        ProblemKind::BadResponseSet,
    );
}

#[test]
fn overlapping_bands_and_gaps() {
    assert_problem(
        &edit(|d| d["scores"][0]["bands"][1]["min"] = json!(5)),
        "$.scores[0].bands[1]",
        ProblemKind::BandOverlap,
    );
    assert_problem(
        &edit(|d| d["scores"][0]["bands"][1]["min"] = json!(7)),
        "$.scores[0].bands[1]",
        ProblemKind::BandGap,
    );
    assert_problem(
        &edit(|d| d["scores"][0]["bands"][0]["min"] = json!(3)),
        "$.scores[0].bands[0].min",
        ProblemKind::BandGap,
    );
    assert_problem(
        &edit(|d| d["scores"][0]["bands"][1]["max"] = json!(9)),
        "$.scores[0].bands[1].max",
        ProblemKind::BandGap,
    );
    assert_problem(
        &edit(|d| d["scores"][0]["bands"][1]["max"] = json!(12)),
        "$.scores[0].bands[1]",
        ProblemKind::OutsideRange,
    );
    assert_problem(
        &edit(|d| d["scores"][0]["bands"][1]["id"] = json!("low")),
        "$.scores[0].bands[1].id",
        ProblemKind::DuplicateId,
    );
    assert_problem(
        &edit(|d| d["scores"][0]["cutoffs"][0]["min"] = json!(11)),
        "$.scores[0].cutoffs[0].min",
        ProblemKind::OutsideRange,
    );
}

#[test]
fn expressions_with_unknown_scores_or_cycles() {
    assert_problem(
        &edit(|d| d["scores"][2]["expression"] = json!("a - c")),
        "$.scores[2].expression",
        ProblemKind::UnknownScore,
    );
    assert_problem(
        &edit(|d| d["scores"][2]["expression"] = json!("a -")),
        "$.scores[2].expression",
        ProblemKind::BadRule,
    );
    let cyclic = edit(|d| {
        d["scores"][2]["expression"] = json!("a - loop");
        d["scores"].as_array_mut().unwrap().push(json!(
            {"id": "loop", "method": "expression", "expression": "diff + 1", "range": [-3, 10], "missing": {"rule": "none-allowed"}}
        ));
    });
    let got = validate_definition(&cyclic.to_string());
    let cycle = got.iter().find(|p| p.kind == ProblemKind::ExpressionCycle).expect("cycle reported");
    assert!(cycle.message.contains("diff -> loop -> diff"), "{}", cycle.message);
    let self_ref = edit(|d| d["scores"][2]["expression"] = json!("diff + a"));
    assert_problem(&self_ref, "$.scores[2].expression", ProblemKind::ExpressionCycle);
}

#[test]
fn missing_licence_or_citation() {
    assert_problem(
        &edit(|d| drop(d.as_object_mut().unwrap().remove("license"))),
        "$.license",
        ProblemKind::MissingLicence,
    );
    assert_problem(
        &edit(|d| drop(d.as_object_mut().unwrap().remove("citation"))),
        "$.citation",
        ProblemKind::MissingCitation,
    );
    assert_problem(&edit(|d| d["citation"] = json!("  ")), "$.citation", ProblemKind::MissingCitation);
}

#[test]
fn wording_is_refused_where_the_licence_keeps_it_out() {
    let d = edit(|d| d["license"]["text_bundled"] = json!(false));
    assert_problem(&d, "$.items[0].text", ProblemKind::TextNotAllowed);
    assert_problem(&d, "$.instructions", ProblemKind::TextNotAllowed);
}

#[test]
fn reversals_and_missing_rules_are_checked() {
    assert_problem(
        &edit(|d| d["scores"][0]["reverse"]["rule"] = json!("x - 6")),
        "$.scores[0].reverse.rule",
        ProblemKind::BadReverse,
    );
    assert_problem(
        &edit(|d| d["scores"][0]["reverse"]["rule"] = json!("5 - x")),
        "$.scores[0].reverse.rule",
        ProblemKind::BadReverse,
    );
    assert_problem(
        &edit(|d| d["scores"][0]["reverse"]["items"] = json!(["3"])),
        "$.scores[0].reverse.items[0]",
        ProblemKind::UnknownItem,
    );
    assert_problem(
        &edit(|d| d["scores"][0]["missing"] = json!({"rule": "prorate"})),
        "$.scores[0].missing",
        ProblemKind::BadMissingRule,
    );
    assert_problem(
        &edit(|d| d["scores"][0]["missing"] = json!({"rule": "prorate", "max_missing": 2})),
        "$.scores[0].missing.max_missing",
        ProblemKind::BadMissingRule,
    );
    assert_problem(
        &edit(|d| d["scores"][0]["missing"] = json!({"rule": "mean-of-answered", "max_missing": 1})),
        "$.scores[0].missing.rule",
        ProblemKind::BadMissingRule,
    );
}

#[test]
fn context_in_cutoffs_must_be_declared() {
    assert_problem(
        &edit(|d| d["scores"][0]["cutoffs"][0]["when"] = json!({"sex": "female"})),
        "$.scores[0].cutoffs[0].when.sex",
        ProblemKind::BadContext,
    );
}

#[test]
fn test_vectors_that_do_not_match() {
    let d = edit(|d| d["test_vectors"][0]["expected"]["scores"]["a"]["value"] = json!(9));
    let got = validate_definition(&d.to_string());
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].path.as_str(), got[0].kind), ("$.test_vectors[0]", ProblemKind::VectorMismatch));
    assert!(got[0].message.contains("expected 9"), "{}", got[0].message);
    assert_problem(
        &edit(|d| d["test_vectors"][0]["expected"]["flags"] = json!([])),
        "$.test_vectors[0]",
        ProblemKind::VectorMismatch,
    );
    assert_problem(
        &edit(|d| d["test_vectors"][1]["expected"]["error"]["code"] = json!("unknown_item")),
        "$.test_vectors[1]",
        ProblemKind::VectorMismatch,
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let d = edit(|d| {
        d.as_object_mut().unwrap().remove("citation");
        d["items"][2]["id"] = json!("2");
        d["scores"][0]["bands"][1]["min"] = json!(4);
        d["scores"][2]["expression"] = json!("a - zzz");
    });
    let kinds: Vec<ProblemKind> = problems(&d).into_iter().map(|(_, k)| k).collect();
    for k in
        [ProblemKind::MissingCitation, ProblemKind::DuplicateItem, ProblemKind::BandOverlap, ProblemKind::UnknownScore]
    {
        assert!(kinds.contains(&k), "{k:?} missing from {kinds:?}");
    }
}

#[test]
fn lookup_tables_score_from_another_score() {
    let d = edit(|d| {
        d["scores"].as_array_mut().unwrap().push(json!({
            "id": "decile", "method": "lookup", "range": [10, 90], "missing": {"rule": "none-allowed"},
            "lookup": {"score": "a", "table": [{"min": 2, "max": 5, "value": 10}, {"min": 6, "max": 10, "value": 90}]}
        }));
        d["test_vectors"] = json!([
            {"answers": {"1": 2, "2": 5, "3": 1}, "expected": {"scores": {"decile": {"value": 10}}, "complete": true}},
            {"answers": {"1": 5, "2": 1, "3": 1}, "expected": {"scores": {"decile": {"value": 90}}, "complete": true}},
            {"answers": {"3": 1}, "expected": {"scores": {"decile": {"value": null}}, "complete": false}}
        ]);
    });
    assert_eq!(problems(&d), vec![]);
    let bad = edit(|d| {
        d["scores"].as_array_mut().unwrap().push(json!({
            "id": "decile", "method": "lookup", "range": [10, 90], "missing": {"rule": "none-allowed"},
            "lookup": {"score": "nope", "table": [{"min": 2, "max": 10, "value": 95}]}
        }));
    });
    assert_problem(&bad, "$.scores[3].lookup.score", ProblemKind::UnknownScore);
    assert_problem(&bad, "$.scores[3].lookup.table[0].value", ProblemKind::OutsideRange);
}

#[test]
fn huge_option_values_are_refused_before_they_can_overflow() {
    let d = edit(|d| {
        d["response_sets"]["agree5"][0]["value"] = json!(i64::MAX);
        d["response_sets"]["agree5"][1]["value"] = json!(i64::MIN);
    });
    assert_problem(&d, "$.response_sets.agree5[0].value", ProblemKind::BadResponseSet);
    assert_problem(&d, "$.response_sets.agree5[1].value", ProblemKind::BadResponseSet);
    let d = edit(|d| d["scores"][0]["reverse"]["rule"] = json!("-9223372036854775808 - x"));
    assert_problem(&d, "$.scores[0].reverse.rule", ProblemKind::BadReverse);
}

#[test]
fn deeply_nested_rules_are_problems_not_crashes() {
    let deep = format!("{}a{} - b", "(".repeat(5000), ")".repeat(5000));
    assert_problem(
        &edit(|d| d["scores"][2]["expression"] = json!(deep)),
        "$.scores[2].expression",
        ProblemKind::BadRule,
    );
    let long = format!("{}item 3 >= 5", "-".repeat(100_000));
    assert_problem(&edit(|d| d["flags"][0]["rule"] = json!(long)), "$.flags[0].rule", ProblemKind::BadRule);
}
