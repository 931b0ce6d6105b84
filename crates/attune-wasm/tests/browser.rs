//! The JavaScript API in headless Chromium (`cargo xtask test` runs this with wasm-bindgen-test-runner
//! and Debian's chromedriver): every reference vector of the clinical reference, and malformed input
//! of every kind, each followed by a valid request to prove the module is still alive.
//!
//! The reference vectors are read at compile time from the file named by `ATTUNE_REFERENCE_VECTORS`,
//! which `cargo xtask test` writes from the catalog's copy of the clinical reference.
#![cfg(target_arch = "wasm32")]

#[cfg(feature = "validate")]
use attune_wasm::validate_definition;
use attune_wasm::{catalog, group_stats, instrument, score, score_many, version};
use js_sys::{Array, Reflect, JSON};
use serde_json::{json, Value};
use tsify::Ts;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const VECTORS: &str = include_str!(env!("ATTUNE_REFERENCE_VECTORS"));

#[wasm_bindgen(inline_js = r#"
export function junkRequests() {
  const cyclic = { instrument: "phq9", answers: {} }; cyclic.answers.self = cyclic;
  let deep = []; for (let i = 0; i < 100000; i++) deep = [deep];
  let nested = {}; for (let i = 0; i < 500; i++) nested = { a: nested };
  const big = new Array(1000000).fill(1);
  const many = {}; for (let i = 0; i < 100000; i++) many[String(i + 1)] = 1;
  const getter = { instrument: "phq9", get answers() { throw new Error("boom"); } };
  return [
    ["undefined", undefined, "invalid_json"],
    ["null", null, "invalid_json"],
    ["number", 42, "invalid_json"],
    ["string", "phq9", "invalid_json"],
    ["array", [], "invalid_json"],
    ["function", () => 1, "invalid_json"],
    ["symbol", Symbol("x"), "invalid_json"],
    ["empty object", {}, "invalid_json"],
    ["instrument a number", { instrument: 5, answers: {} }, "invalid_json"],
    ["instrument an object", { instrument: { id: "phq9" } }, "invalid_json"],
    ["unknown instrument", { instrument: "nope", answers: {} }, "unknown_instrument"],
    ["answers an array", { instrument: "phq9", answers: [1, 2, 3] }, "invalid_json"],
    ["answers a string", { instrument: "phq9", answers: "1,2,3" }, "invalid_json"],
    ["answers a huge array", { instrument: "phq9", answers: big }, "invalid_json"],
    ["a fraction", { instrument: "phq9", answers: { "1": 2.5 } }, "invalid_value"],
    ["NaN", { instrument: "phq9", answers: { "1": NaN } }, "invalid_value"],
    ["Infinity", { instrument: "phq9", answers: { "9": Infinity } }, "invalid_value"],
    ["-Infinity", { instrument: "phq9", answers: { "9": -Infinity } }, "invalid_value"],
    ["a numeric string", { instrument: "phq9", answers: { "1": "2" } }, "invalid_value"],
    ["a boolean", { instrument: "phq9", answers: { "1": true } }, "invalid_value"],
    ["an object value", { instrument: "phq9", answers: { "1": { v: 1 } } }, "invalid_value"],
    ["an array value", { instrument: "phq9", answers: { "1": [1] } }, "invalid_value"],
    ["out of range", { instrument: "phq9", answers: { "1": 4 } }, "invalid_value"],
    ["negative", { instrument: "phq9", answers: { "1": -1 } }, "invalid_value"],
    ["huge number", { instrument: "phq9", answers: { "1": 1e300 } }, "invalid_value"],
    ["max safe integer", { instrument: "phq9", answers: { "1": Number.MAX_SAFE_INTEGER } }, "invalid_value"],
    ["unknown item", { instrument: "phq9", answers: { "99": 1 } }, "unknown_item"],
    ["100,000 unknown items", { instrument: "phq9", answers: many }, "unknown_item"],
    ["a BigInt", { instrument: "phq9", answers: { "1": 1n } }, "invalid_json"],
    ["a cycle", cyclic, "invalid_json"],
    ["a getter that throws", getter, "invalid_json"],
    ["nesting deeper than the call stack", { instrument: "phq9", answers: {}, context: deep }, "invalid_json"],
    ["nesting deeper than the parser allows", { instrument: "phq9", answers: {}, context: nested }, "invalid_json"],
    ["context not an object", { instrument: "auditc", answers: { "1": 1 }, context: ["female"] }, "invalid_context"],
    ["context value not allowed", { instrument: "auditc", answers: { "1": 1 }, context: { sex: "x" } }, "invalid_context"],
  ];
}

export function oddBatch() {
  const bare = Object.create(null); bare.instrument = "gad2"; bare.answers = { "1": 1, "2": 1 };
  const withProto = Object.create({ answers: { "1": 3 } }); withProto.instrument = "gad2";
  class Req { constructor() { this.instrument = "gad2"; this.answers = { "1": 2, "2": 2 }; } }
  return [
    { instrument: "gad2", answers: { "1": 1, "2": 2 }, id: 7n },
    { instrument: "gad2", answers: { "1": 1, "2": 2 }, id: "row-1" },
    { instrument: "gad2", answers: { "1": 1, "2": 2 }, id: { nested: [1n] } },
    { instrument: "gad2", answers: { "1": 1, "2": 2 }, extra: Symbol("s") },
    { instrument: "gad2", answers: { "01": 1, "2": 2 } },
    { instrument: "gad2", answers: { "1.0": 1, "2": 2 } },
    { instrument: "gad2", answers: { "1": -0, "2": 0 } },
    { instrument: "gad2", answers: { "1": 1, "2": undefined } },
    { instrument: "gad2", answers: { "1": 1, "2": null } },
    { instrument: "gad2", answers: { "1": 2147483648 } },
    { instrument: "gad2", answers: { "1": 1 }, context: null },
    { instrument: "gad2", answers: {} },
    { instrument: "gad2" },
    { instrument: "gad2", answers: null },
    { instrument: "gad2", answers: { "3": 1 } },
    { instrument: "gad2", answers: { "1": 1, "2": 9 } },
    { instrument: "auditc", answers: { "1": 1, "2": 0, "3": 0 } },
    { instrument: "auditc", answers: { "1": 1, "2": 0, "3": 0 }, context: { sex: "female" } },
    { instrument: "audit", answers: { "1": 0, "9": 0, "10": 0 } },
    { instrument: "phq9", answers: { "10": 3 } },
    bare, withProto, new Req(),
    { instrument: "", answers: {} },
    { instrument: "gad2", get answers() { throw new Error("boom"); } },
  ];
}

export function batchWithJunk() {
  return [
    { instrument: "gad2", answers: { "1": 1, "2": 2 } },
    { instrument: "gad2", answers: { "1": 1n } },
    7,
    { instrument: "nope" },
    undefined,
    { instrument: "gad2", answers: { "1": NaN } },
    { instrument: "gad2", answers: { "1": 3, "2": 3 } },
  ];
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = junkRequests)]
    fn junk_requests() -> Array;
    #[wasm_bindgen(js_name = oddBatch)]
    fn odd_batch() -> Array;
    #[wasm_bindgen(js_name = batchWithJunk)]
    fn batch_with_junk() -> Array;
}

fn js(v: &Value) -> JsValue {
    JSON::parse(&v.to_string()).expect("valid JSON")
}

fn rust(v: &JsValue) -> Value {
    let text: String = JSON::stringify(v).expect("stringify").into();
    serde_json::from_str(&text).expect("JSON")
}

fn score_value(request: &Value) -> Result<Value, JsValue> {
    score(Ts::new_unchecked(js(request))).map(|r| rust(&r.js_value()))
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &key.into()).expect("property")
}

/// Asserts that `err` is an `AttuneError` with this code, and returns it.
fn assert_attune_error(err: &JsValue, code: &str, what: &str) -> js_sys::Error {
    let e = err.dyn_ref::<js_sys::Error>().unwrap_or_else(|| panic!("{what}: threw a non-Error {err:?}"));
    assert_eq!(String::from(e.name()), "AttuneError", "{what}");
    assert_eq!(get(err, "code").as_string().as_deref(), Some(code), "{what}: {}", String::from(e.message()));
    assert!(!String::from(e.message()).is_empty(), "{what}: empty message");
    e.clone()
}

/// The module is alive: a valid PHQ-9 scores as it should.
fn assert_alive(after: &str) {
    let r = score_value(&json!({"instrument": "phq9", "answers": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1, "6": 1, "7": 1, "8": 1, "9": 1}}))
        .unwrap_or_else(|e| panic!("after {after}: a valid request failed: {e:?}"));
    assert_eq!(r["scores"]["total"]["value"], 9, "after {after}");
    assert_eq!(r["flags"], json!(["item9_positive"]), "after {after}");
}

fn approx_eq(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Number(a), Value::Number(b)) => {
            (a.as_f64().unwrap_or(f64::NAN) - b.as_f64().unwrap_or(f64::NAN)).abs() <= 1e-9
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|g| approx_eq(v, g)))
        }
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| approx_eq(x, y)),
        _ => want == got,
    }
}

/// Whether a result (or thrown error) matches a reference vector's `expected`.
fn matches(expected: &Value, got: &Result<Value, JsValue>) -> bool {
    match (got, expected.get("error")) {
        (Err(e), Some(err)) => get(e, "code").as_string().as_deref() == err["code"].as_str(),
        (Ok(r), None) => {
            expected.as_object().expect("expected").iter().all(|(key, want)| match key.as_str() {
                "scores" => want.as_object().expect("scores").iter().all(|(s, w)| {
                    w.as_object().expect("score").iter().all(|(f, wv)| approx_eq(wv, &r["scores"][s][f]))
                }),
                _ => approx_eq(want, &r[key]),
            })
        }
        _ => false,
    }
}

fn vectors() -> Vec<(String, Value)> {
    let all: Value = serde_json::from_str(VECTORS).expect("vectors JSON");
    let mut out = Vec::new();
    for inst in all.as_array().expect("array") {
        let id = inst["id"].as_str().expect("id");
        for v in inst["test_vectors"].as_array().expect("vectors") {
            out.push((id.to_string(), v.clone()));
        }
    }
    out
}

fn request_of(id: &str, v: &Value) -> Value {
    let mut req = json!({"instrument": id, "answers": v["answers"]});
    if let Some(c) = v.get("context") {
        req["context"] = c.clone();
    }
    req
}

#[wasm_bindgen_test]
fn every_reference_vector_through_score() {
    let mut failures = Vec::new();
    let all = vectors();
    for (id, v) in &all {
        let got = score_value(&request_of(id, v));
        if let Err(e) = &got {
            assert_attune_error(e, get(e, "code").as_string().as_deref().unwrap_or("?"), id);
        }
        if !matches(&v["expected"], &got) {
            failures.push(format!("{id} ({}): {:?}", v["note"], got.map_err(|e| get(&e, "message").as_string())));
        }
    }
    assert!(failures.is_empty(), "{} of {} vectors failed:\n{}", failures.len(), all.len(), failures.join("\n"));
    // The reference has 284 vectors, all of which this (non-commercial) build scores.
    assert_eq!(all.len(), 284);
}

#[wasm_bindgen_test]
fn every_reference_vector_through_score_many_in_one_batch() {
    let all = vectors();
    let requests: Vec<Value> = all.iter().map(|(id, v)| request_of(id, v)).collect();
    let out = score_many(js(&Value::Array(requests))).expect("scoreMany");
    let out = rust(&out);
    let out = out.as_array().expect("array");
    assert_eq!(out.len(), all.len());
    for ((id, v), got) in all.iter().zip(out) {
        let got = match got.get("error") {
            Some(err) => {
                assert!(err["message"].is_string(), "{id}: failure without a message");
                let e = js_sys::Error::new("");
                Reflect::set(&e, &"code".into(), &err["code"].as_str().unwrap_or("").into()).expect("set");
                Err(e.into())
            }
            None => Ok(got.clone()),
        };
        assert!(matches(&v["expected"], &got), "{id} ({}) in scoreMany: {got:?}", v["note"]);
    }
}

#[wasm_bindgen_test]
fn malformed_requests_throw_attune_errors_and_the_module_lives_on() {
    let junk = junk_requests();
    assert!(junk.length() >= 30);
    for case in junk.iter() {
        let case: Array = case.unchecked_into();
        let label = case.get(0).as_string().expect("label");
        let code = case.get(2).as_string().expect("code");
        match score(Ts::new_unchecked(case.get(1))) {
            Ok(r) => panic!("{label}: scored {:?}", rust(&r.js_value())),
            Err(e) => {
                assert_attune_error(&e, &code, &label);
            }
        }
        assert_alive(&label);
    }
}

#[wasm_bindgen_test]
fn errors_name_the_item() {
    let e = score_value(&json!({"instrument": "phq9", "answers": {"3": 7}})).expect_err("out of range");
    let e = assert_attune_error(&e, "invalid_value", "out of range");
    assert_eq!(get(&e, "item").as_string().as_deref(), Some("3"));
    let e = score_value(&json!({"instrument": "phq9", "answers": {"11": 0}})).expect_err("unknown item");
    assert_eq!(get(&e, "item").as_string().as_deref(), Some("11"));
    assert!(get(&e, "member").is_undefined());
}

#[wasm_bindgen_test]
fn score_many_reports_each_bad_request_in_place() {
    let out = rust(&score_many(batch_with_junk().into()).expect("scoreMany"));
    let out = out.as_array().expect("array");
    let codes: Vec<&str> = out.iter().map(|o| o["error"]["code"].as_str().unwrap_or("scored")).collect();
    assert_eq!(
        codes,
        ["scored", "invalid_json", "invalid_json", "unknown_instrument", "invalid_json", "invalid_value", "scored"]
    );
    assert_eq!(out[0]["scores"]["total"]["value"], 3);
    assert_eq!(out[6]["scores"]["total"]["value"], 6);
    assert_eq!(out[3]["instrument"], "nope");
    assert_eq!(out[5]["error"]["item"], "1");

    for not_an_array in
        [JsValue::UNDEFINED, JsValue::NULL, JsValue::from(3), js(&json!({"0": {}})), JsValue::from("[]")]
    {
        let e = score_many(not_an_array).expect_err("not an array");
        assert_attune_error(&e, "invalid_json", "scoreMany of a non-array");
    }
    assert_eq!(rust(&score_many(Array::new().into()).expect("empty")), json!([]));
    assert_alive("scoreMany junk");
}

#[wasm_bindgen_test]
fn score_many_keeps_order_across_chunks() {
    // 5,000 requests cross several internal batches; every 7th is invalid.
    let requests: Vec<Value> = (0..5000)
        .map(|k| {
            let v = if k % 7 == 0 { 9 } else { k % 4 };
            json!({"instrument": "gad2", "answers": {"1": v, "2": 0}})
        })
        .collect();
    let out = rust(&score_many(js(&Value::Array(requests))).expect("scoreMany"));
    for (k, o) in out.as_array().expect("array").iter().enumerate() {
        if k % 7 == 0 {
            assert_eq!(o["error"]["code"], "invalid_value", "{k}");
        } else {
            assert_eq!(o["scores"]["total"]["value"], k % 4, "{k}");
        }
    }
}

#[wasm_bindgen_test]
fn catalog_lists_every_instrument_and_filters_commercial_use() {
    let all = rust(&catalog(None).expect("catalog"));
    let all = all.as_array().expect("array");
    assert_eq!(all.len(), 22);
    let phq9 = all.iter().find(|s| s["id"] == "phq9").expect("phq9");
    assert_eq!(phq9["critical_flags"], json!(["item9_positive"]));
    assert!(phq9["citation"].as_str().is_some_and(|c| c.contains("Kroenke")));
    let commercial = rust(&catalog(Some(Ts::new_unchecked(js(&json!({"commercial": true}))))).expect("catalog"));
    let ids: Vec<&str> = commercial.as_array().expect("array").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids.len(), 19);
    assert!(!ids.contains(&"audit") && !ids.contains(&"dast10") && ids.contains(&"phq9"));
    let e = catalog(Some(Ts::new_unchecked(js(&json!({"commercial": "yes"}))))).expect_err("bad option");
    assert_attune_error(&e, "invalid_json", "catalog options");
    assert_alive("catalog");
}

#[wasm_bindgen_test]
fn instrument_returns_the_definition_with_licence_and_citation() {
    let phq9 = rust(&instrument("phq9".into()).expect("phq9").js_value());
    assert_eq!(phq9["items"].as_array().map(Vec::len), Some(10));
    assert_eq!(phq9["license"]["status"], "public-domain");
    assert!(phq9["citation"].is_string());
    assert!(phq9["items"][0]["text"].is_string(), "PHQ-9 wording is bundled");
    assert_eq!(phq9["translations"][0]["lang"], "es");
    assert!(phq9.get("test_vectors").is_none());
    // Host-text-only instruments carry keys but no wording.
    let urica = rust(&instrument("urica".into()).expect("urica").js_value());
    assert!(urica["items"].as_array().expect("items").iter().all(|i| i["text"].is_null()));
    let e = instrument("nope".into()).expect_err("unknown");
    assert_attune_error(&e, "unknown_instrument", "instrument(nope)");
    let e = instrument(JsValue::from("x".repeat(100_000))).expect_err("a very long id");
    assert_attune_error(&e, "invalid_json", "instrument(long id)");
    let e = instrument(JsValue::from(9)).expect_err("not a string");
    assert_attune_error(&e, "invalid_json", "instrument(9)");
    assert_alive("instrument");
}

#[wasm_bindgen_test]
fn group_stats_agree_with_the_core_and_reject_bad_members() {
    let members =
        json!([{"1": 1, "2": 1, "3": 2}, {"1": 2, "2": 2, "3": 2}, {"1": 3, "2": 2, "3": 3}, {"1": 1, "2": 1, "3": 1}]);
    let got = rust(&group_stats("ucla3".into(), js(&members), None).expect("groupStats").js_value());
    let inst = attune_core::Catalog::embedded().get("ucla3").expect("ucla3");
    let mut group = attune_core::Group::new(inst, 3).expect("group");
    for m in members.as_array().expect("array") {
        group.add_json(m.as_object().expect("object")).expect("member");
    }
    // Equal to the core's own statistics (to 1e-9: serde_json reads floats back within an ulp).
    let want = serde_json::to_value(group.finish()).expect("json");
    assert!(approx_eq(&want, &got), "{got} != {want}");
    assert_eq!(got["scores"]["total"]["mean"], 5.25);

    let suppressed = rust(
        &group_stats("ucla3".into(), js(&members), Some(Ts::new_unchecked(js(&json!({"minN": 5})))))
            .expect("groupStats")
            .js_value(),
    );
    assert_eq!(suppressed["suppressed"], true);
    assert!(suppressed["scores"]["total"]["mean"].is_null());

    let e = group_stats("ucla3".into(), js(&json!([{"1": 1}, {"1": 9}])), None).expect_err("bad member");
    assert_attune_error(&e, "invalid_value", "bad member");
    assert_eq!(get(&e, "member").as_f64(), Some(1.0));
    assert_eq!(get(&e, "item").as_string().as_deref(), Some("1"));
    let e = group_stats("ucla3".into(), js(&json!([{"1": 1}, 7])), None).expect_err("member not an object");
    assert_eq!(get(&e, "member").as_f64(), Some(1.0));
    let e = group_stats("ucla3".into(), JsValue::from("x"), None).expect_err("not an array");
    assert_attune_error(&e, "invalid_json", "members not an array");
    let e = group_stats("nope".into(), js(&json!([])), None).expect_err("unknown");
    assert_attune_error(&e, "unknown_instrument", "unknown instrument");
    for bad in [json!({"minN": 0}), json!({"minN": 2.5}), json!({"minN": -1}), json!({"minN": "3"})] {
        let e = group_stats("ucla3".into(), js(&members), Some(Ts::new_unchecked(js(&bad)))).expect_err("bad minN");
        assert_attune_error(&e, "invalid_context", &bad.to_string());
    }
    assert_alive("groupStats");
}

#[cfg(feature = "validate")]
#[wasm_bindgen_test]
fn validate_definition_reports_problems_with_paths() {
    let phq9 = include_str!("../../attune-core/instruments/phq9.json");
    assert_eq!(rust(&validate_definition(phq9.into()).expect("text")), json!([]));
    assert_eq!(rust(&validate_definition(JSON::parse(phq9).expect("json")).expect("object")), json!([]));
    let mut broken: Value = serde_json::from_str(phq9).expect("json");
    broken["items"][2]["response_set"] = json!("missing");
    broken["scores"][0]["bands"][1]["min"] = json!(-3);
    let problems = rust(&validate_definition(broken.to_string().into()).expect("problems"));
    let paths: Vec<&str> = problems.as_array().expect("array").iter().filter_map(|p| p["path"].as_str()).collect();
    assert!(paths.contains(&"$.items[2].response_set"), "{paths:?}");
    assert!(problems.as_array().expect("array").len() >= 2, "{problems}");
    let schema = rust(&validate_definition("{\"id\": 3}".into()).expect("schema problem"));
    assert_eq!(schema[0]["kind"], "schema");
    assert_eq!(rust(&validate_definition("not json".into()).expect("schema"))[0]["kind"], "schema");
    let huge = JsValue::from(" ".repeat(17 << 20));
    assert_attune_error(&validate_definition(huge).expect_err("too large"), "invalid_json", "huge definition");
    for bad in [JsValue::UNDEFINED, JsValue::NULL, JsValue::from(5)] {
        let e = validate_definition(bad).expect_err("not text");
        assert_attune_error(&e, "invalid_json", "validateDefinition");
    }
    assert_alive("validateDefinition");
}

#[wasm_bindgen_test]
fn version_is_the_core_version() {
    assert_eq!(version(), attune_core::VERSION);
}

/// What `score()` gives for one request, as `scoreMany` reports it: the result, or the error.
fn single(request: JsValue) -> Value {
    match score(Ts::new_unchecked(request)) {
        Ok(r) => rust(&r.js_value()),
        Err(e) => {
            let body = json!({
                "code": get(&e, "code").as_string(),
                "item": get(&e, "item").as_string(),
                "message": get(&e, "message").as_string(),
            });
            json!({ "error": body.to_string() })
        }
    }
}

/// `scoreMany`'s outcome in the shape of `single`.
fn many_as_single(outcome: &Value) -> Value {
    match outcome.get("error") {
        Some(e) => {
            json!({"error": json!({"code": e["code"].as_str(), "item": e["item"].as_str(), "message": e["message"].as_str()}).to_string()})
        }
        None => outcome.clone(),
    }
}

#[wasm_bindgen_test]
fn score_many_answers_exactly_as_score_does_for_odd_requests() {
    let batch = odd_batch();
    let out = rust(&score_many(batch.clone().into()).expect("scoreMany"));
    for (k, request) in batch.iter().enumerate() {
        let want = single(request);
        let got = many_as_single(&out[k]);
        assert_eq!(got, want, "request {k}");
    }
}

#[wasm_bindgen_test]
fn score_many_answers_exactly_as_score_does_for_random_requests() {
    // Deterministic xorshift: answers drawn from each item's options, with items left out, values
    // off the scale, unknown items and contexts mixed in, across the whole catalog.
    let mut seed = 0x5eed_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let catalog = attune_core::Catalog::embedded();
    let mut requests = Vec::new();
    for inst in catalog.instruments() {
        for _ in 0..60 {
            let mut answers = serde_json::Map::new();
            for (i, item) in inst.definition().items.iter().enumerate() {
                let options = inst.option_values(i);
                match next() % 20 {
                    0 => {}
                    1 => {
                        answers.insert(item.id.to_string(), Value::Null);
                    }
                    2 if next() % 4 == 0 => {
                        answers.insert(item.id.to_string(), json!(options.iter().max().copied().unwrap_or(0) + 1));
                    }
                    _ => {
                        answers.insert(item.id.to_string(), json!(options[next() as usize % options.len()]));
                    }
                }
            }
            if next() % 40 == 0 {
                answers.insert("999".into(), json!(1));
            }
            let mut request = json!({"instrument": inst.id(), "answers": answers});
            if next() % 8 == 0 {
                request["context"] = json!({"sex": if next() % 2 == 0 { "female" } else { "male" }});
            }
            requests.push(request);
        }
    }
    let batch: Array = js(&Value::Array(requests)).unchecked_into();
    let out = rust(&score_many(batch.clone().into()).expect("scoreMany"));
    let mut errors = 0;
    for (k, request) in batch.iter().enumerate() {
        let want = single(request);
        errors += usize::from(want.get("error").is_some());
        assert_eq!(many_as_single(&out[k]), want, "request {k}");
    }
    assert!(errors > 20 && errors < batch.length() as usize / 2, "{errors} errors");
}

/// Requests made in JavaScript, each scored by `score()` and by the CLI's reader
/// (`attune_core::score_json`) from the value's JSON text: the outcome, error code, item and message
/// must be the same to the byte. They reach every message that shows a value. (Numbers have few
/// significant digits: serde_json, without its `float_roundtrip` feature, may read a long one, say a
/// 24-digit integer, an ulp away from the value JavaScript holds.)
#[wasm_bindgen(inline_js = r#"
export function oddValues() {
  return [
    '{"instrument": "phq9", "answers": {"1": 2.5}}',
    '{"instrument": "phq9", "answers": {"1": 1e100}}',
    '{"instrument": "phq9", "answers": {"1": 1e21}}',
    '{"instrument": "phq9", "answers": {"1": 1.5e23}}',
    '{"instrument": "phq9", "answers": {"1": 4611686018427387904}}',
    '{"instrument": "phq9", "answers": {"1": -9223372036854775808}}',
    '{"instrument": "phq9", "answers": {"1": 0.000001}}',
    '{"instrument": "phq9", "answers": {"1": 1e-7}}',
    '{"instrument": "phq9", "answers": {"1": 12345678901234567}}',
    '{"instrument": "phq9", "answers": {"1": 1.5e16}}',
    '{"instrument": "phq9", "answers": {"1": -0.0}}',
    '{"instrument": "phq9", "answers": {"1": "two"}}',
    '{"instrument": "phq9", "answers": {"1": "a very long string that the message cuts after forty bytes"}}',
    '{"instrument": "phq9", "answers": {"1": "ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé"}}',
    '{"instrument": "phq9", "answers": {"1": "tab\\tnew\\nline \\"q\\" \\\\ \\u0001"}}',
    '{"instrument": "phq9", "answers": {"1": true}}',
    '{"instrument": "phq9", "answers": {"1": [1, 2.5, {"b": 1, "a": [null]}]}}',
    '{"instrument": "phq9", "answers": {"1": {"z": 1, "a": 2}}}',
    '{"instrument": "phq9", "answers": {"9": 7, "10": 9}}',
    '{"instrument": "phq9", "answers": {"99": 1, "1": 9}}',
    '{"instrument": "phq9", "answers": [1]}',
    '{"instrument": "phq9", "answers": "x"}',
    '{"instrument": "phq9", "answers": 3}',
    '{"instrument": "phq9", "answers": false}',
    '{"instrument": 5}',
    '{"instrument": {"id": "phq9", "list": [1e300, 0.5, "x"]}}',
    '{"instrument": ["phq9"]}',
    '{"answers": {}}',
    '[]',
    '"phq9"',
    'null',
    '{"instrument": "nope"}',
    '{"instrument": "auditc", "answers": {"1": 1}, "context": ["female"]}',
    '{"instrument": "auditc", "answers": {"1": 1}, "context": "female"}',
    '{"instrument": "auditc", "answers": {"1": 1}, "context": 7}',
    '{"instrument": "auditc", "answers": {"1": 1}, "context": {"sex": "x\\"y\\n"}}',
    '{"instrument": "auditc", "answers": {"1": 1}, "context": {"sex": 3.25}}',
    '{"instrument": "auditc", "answers": {"1": 1}, "context": {"sex": ["female"]}}',
    '{"instrument": "auditc", "answers": {"1": 1}, "context": {"sex": "female", "other": 1}}',
    '{"instrument": "auditc", "answers": {"1": 1}, "context": {"sex": null}}',
    '{"instrument": "auditc", "answers": {"1": 9}, "context": {"sex": "x"}}',
  ];
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = oddValues)]
    fn odd_values() -> Array;
}

#[wasm_bindgen_test]
fn errors_read_from_javascript_values_are_the_cli_errors_to_the_byte() {
    let catalog = attune_core::Catalog::embedded();
    let mut checked = 0;
    for text in odd_values().iter() {
        let text = text.as_string().expect("request text");
        let value = JSON::parse(&text).expect("valid JSON");
        // What the JavaScript value says as JSON text (what `score` used to hand the core).
        let as_json: String = JSON::stringify(&value).expect("stringify").into();
        let want = serde_json::to_value(attune_core::score_json(catalog, &as_json)).expect("outcome");
        let got = match score(Ts::new_unchecked(value)) {
            Ok(r) => rust(&r.js_value()),
            Err(e) => {
                let mut error = json!({"code": get(&e, "code").as_string(), "message": get(&e, "message").as_string()});
                if let Some(item) = get(&e, "item").as_string() {
                    error["item"] = json!(item);
                }
                json!({"error": error})
            }
        };
        let want = match want.get("error") {
            Some(e) => json!({"error": e}),
            None => want,
        };
        assert_eq!(got, want, "{text}");
        checked += 1;
    }
    assert!(checked >= 40);
}
