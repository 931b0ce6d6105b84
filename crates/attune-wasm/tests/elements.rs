//! `<attune-questionnaire>` and the yew components in a real browser (wasm-bindgen-test in headless
//! Chromium): attributes and properties, events, errors, and the components' navigation with an
//! injected evaluator. Run with `--features elements` (part of `cargo xtask test`).
#![cfg(all(target_arch = "wasm32", feature = "elements"))]

use std::rc::Rc;

use attune_core::{score_json, Catalog, Outcome};
use attune_ui::{
    Choice, Content, Crisis, Evaluation, Evaluator, FlagLine, Form, Layout, Question, QuestionnaireProps, Text, Widget,
    WidgetProps,
};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = "
export function make(attrs) {
  const el = document.createElement('attune-questionnaire');
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  document.body.append(el);
  return el;
}
export function host() { const d = document.createElement('div'); document.body.append(d); return d; }
export function tick(ms) { return new Promise((r) => setTimeout(r, ms)); }
export function texts(el, sel) { return [...(el.shadowRoot ?? el).querySelectorAll(sel)].map((e) => e.textContent); }
export function count(el, sel) { return (el.shadowRoot ?? el).querySelectorAll(sel).length; }
export function click(el, sel, n) { (el.shadowRoot ?? el).querySelectorAll(sel)[n ?? 0].click(); }
export function setJson(el, k, json) { try { el[k] = JSON.parse(json); return null; } catch (e) { return `${e.name}:${e.code}`; } }
export function getJson(el, k) { return JSON.stringify(el[k]); }
export function attr(el, k, v) { if (v === null) el.removeAttribute(k); else el.setAttribute(k, v); }
export function listen(el) { const got = []; for (const t of ['attune-change', 'attune-critical', 'attune-complete', 'attune-error']) el.addEventListener(t, (e) => got.push({ type: t, detail: e.detail })); return got; }
export function drain(got) { return JSON.stringify(got.splice(0)); }
export function reset(el) { el.reset(); }
let release;
const gate = new Promise((r) => { release = r; });
const calls = new Map();
export function loader(json) {
  const packs = JSON.parse(json);
  const arrived = new Map();
  const load = (id) => {
    calls.set(id, (calls.get(id) ?? 0) + 1);
    if (id === 'gad2') return gate.then(() => packs[id]);
    if (id === 'cage') return new Promise(() => {});
    return Object.hasOwn(packs, id) ? Promise.resolve(packs[id]).then((p) => { arrived.set(id, p); return p; })
      : Promise.reject(new Error(`no wording for ${id}`));
  };
  return { load, loaded: (id) => arrived.get(id) };
}
export function callsFor(id) { return calls.get(id) ?? 0; }
export function releaseWording() { release(); }
")]
extern "C" {
    fn make(attrs: &JsValue) -> JsValue;
    fn host() -> web_sys::Element;
    fn tick(ms: u32) -> js_sys::Promise;
    fn texts(el: &JsValue, sel: &str) -> Vec<String>;
    fn count(el: &JsValue, sel: &str) -> u32;
    fn click(el: &JsValue, sel: &str, n: u32);
    #[wasm_bindgen(js_name = setJson)]
    fn set_json(el: &JsValue, key: &str, json: &str) -> Option<String>;
    #[wasm_bindgen(js_name = getJson)]
    fn get_json(el: &JsValue, key: &str) -> String;
    fn attr(el: &JsValue, key: &str, value: Option<&str>);
    fn listen(el: &JsValue) -> JsValue;
    fn drain(got: &JsValue) -> String;
    fn reset(el: &JsValue);
    fn loader(packs: &str) -> JsValue;
    #[wasm_bindgen(js_name = releaseWording)]
    fn release_wording();
    #[wasm_bindgen(js_name = callsFor)]
    fn calls_for(id: &str) -> u32;
}

/// The catalog's wording as the package's `wording/` modules give it, from the core's packs: every
/// instrument's but UCLA-3's (whose loading fails), GAD-2's held back until [`release_wording`], and
/// CAGE's never arriving. [`calls_for`] counts the loads asked for.
fn wording() -> JsValue {
    let packs: serde_json::Map<String, Value> = Catalog::embedded()
        .instruments()
        .iter()
        .filter(|i| i.id() != "ucla3")
        .map(|i| (i.id().to_string(), serde_json::to_value(i.bundled_text()).expect("pack")))
        .collect();
    loader(&Value::Object(packs).to_string())
}

async fn settle() {
    // yew renders in a microtask and effects follow; a short timeout lets both finish.
    let _ = JsFuture::from(tick(30)).await;
}

fn element(attrs: Value) -> JsValue {
    attune_wasm::elements::define_elements(wording(), &JsValue::UNDEFINED);
    make(&js_sys::JSON::parse(&attrs.to_string()).expect("attrs"))
}

fn core(request: Value) -> Value {
    match score_json(Catalog::embedded(), &request.to_string()) {
        Outcome::Scored(r) => serde_json::to_value(r).expect("result"),
        Outcome::Failed { error, .. } => panic!("{error}"),
    }
}

fn events(got: &JsValue) -> Vec<Value> {
    serde_json::from_str(&drain(got)).expect("events")
}

#[wasm_bindgen_test]
fn defining_is_idempotent() {
    let first = attune_wasm::elements::define_elements(wording(), &JsValue::UNDEFINED);
    let second = attune_wasm::elements::define_elements(wording(), &JsValue::UNDEFINED);
    assert!(first.len() <= 1, "{first:?}");
    assert!(second.is_empty(), "a second definition must not throw or redefine: {second:?}");
}

#[wasm_bindgen_test]
async fn attributes_map_to_props() {
    let el = element(json!({ "instrument": "phq9", "layout": "list" }));
    settle().await;
    assert_eq!(count(&el, "fieldset.item"), 10);
    assert!(texts(&el, ".title")[0].contains("PHQ-9"));
    attr(&el, "layout", Some("paged"));
    settle().await;
    assert_eq!(count(&el, "fieldset.item"), 1);
    assert_eq!(texts(&el, ".progress-text"), ["Question 1 of 10"]);
    attr(&el, "lang", Some("es"));
    settle().await;
    assert_eq!(texts(&el, ".progress-text"), ["Pregunta 1 de 10"]);
    attr(&el, "instrument", Some("gad7"));
    settle().await;
    assert_eq!(texts(&el, ".progress-text"), ["Pregunta 1 de 7"]);
    attr(&el, "instrument", Some("no-such"));
    settle().await;
    assert_eq!(count(&el, "[role=alert]"), 1);
    assert_eq!(texts(&el, "code"), ["unknown_instrument"]);
}

#[wasm_bindgen_test]
async fn wording_arrives_per_instrument_and_a_failure_is_reported() {
    let el = element(json!({ "instrument": "gad2", "layout": "list" }));
    let got = listen(&el);
    settle().await;
    assert_eq!(texts(&el, "[role=status]"), ["Loading the questions…"]);
    assert_eq!(count(&el, "fieldset.item"), 0);
    // The plan checks answers at once, while the wording is on its way; those that fit are kept.
    assert_eq!(set_json(&el, "answers", r#"{"1": 9}"#).as_deref(), Some("AttuneError:invalid_value"));
    assert_eq!(set_json(&el, "answers", r#"{"1": 2}"#), None);
    assert_eq!(get_json(&el, "answers"), r#"{"1":2}"#);
    // Resolving again while it loads does not ask again.
    attr(&el, "lang", Some("en"));
    settle().await;
    assert_eq!(calls_for("gad2"), 1);
    release_wording();
    settle().await;
    assert_eq!(count(&el, "fieldset.item"), 2);
    assert_eq!(get_json(&el, "answers"), r#"{"1":2}"#);
    assert!(events(&got).is_empty(), "loading is not an error");
    attr(&el, "instrument", Some("ucla3"));
    settle().await;
    assert_eq!(texts(&el, "code"), ["wording_unavailable"]);
    let ev = events(&got);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["detail"]["code"], "wording_unavailable");
    let message = ev[0]["detail"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("UCLA") && message.contains("no wording for ucla3"), "{message}");
    // A failure is not asked again by itself; the host's next change asks again.
    settle().await;
    assert_eq!(calls_for("ucla3"), 1);
    attr(&el, "lang", Some("es"));
    settle().await;
    assert_eq!(calls_for("ucla3"), 2);
    assert_eq!(texts(&el, "code"), ["wording_unavailable"]);
}

#[wasm_bindgen_test]
async fn switching_instrument_while_wording_loads_starts_the_new_one_blank() {
    let el = element(json!({ "instrument": "cage", "layout": "list" }));
    settle().await;
    assert_eq!(count(&el, "[role=status]"), 1);
    assert_eq!(set_json(&el, "answers", r#"{"1": 1}"#), None);
    let response: Value = serde_json::from_str(&get_json(&el, "response")).expect("response");
    assert_eq!(response["answers"], json!({ "1": 1 }), "the answers are there while the wording loads");
    attr(&el, "instrument", Some("phq9"));
    settle().await;
    assert_eq!(count(&el, "fieldset.item"), 10);
    assert_eq!(get_json(&el, "answers"), "{}", "CAGE's answer does not carry over to PHQ-9");
}

#[wasm_bindgen_test]
async fn answers_response_and_events_follow_the_core() {
    let el = element(json!({ "instrument": "phq9", "layout": "list" }));
    let got = listen(&el);
    settle().await;
    let answers = json!({ "1": 3, "2": 3, "3": 2, "4": 2, "5": 1, "6": 1, "7": 0, "8": 0 });
    assert_eq!(set_json(&el, "answers", &answers.to_string()), None);
    settle().await;
    let response: Value = serde_json::from_str(&get_json(&el, "response")).expect("response");
    assert_eq!(response["result"], core(json!({ "instrument": "phq9", "answers": answers })));
    assert_eq!(response["complete"], false);
    // Answer item 9 with a click: the critical flag is raised once, with the change.
    click(&el, "fieldset.item:nth-of-type(9) input[type=radio]", 1);
    settle().await;
    let ev = events(&got);
    let types: Vec<&str> = ev.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["attune-change", "attune-critical"], "{ev:?}");
    assert_eq!(ev[0]["detail"]["progress"], json!({ "answered": 9, "total": 10 }));
    assert_eq!(ev[1]["detail"]["flags"], json!(["item9_positive"]));
    assert_eq!(count(&el, ".crisis"), 1);
    // Another answer keeps the flag raised: no second critical event.
    click(&el, "fieldset.item:nth-of-type(10) input[type=radio]", 0);
    settle().await;
    let types: Vec<String> = events(&got).iter().filter_map(|e| e["type"].as_str().map(String::from)).collect();
    assert_eq!(types, ["attune-change"]);
    // Bad answers throw a typed error and change nothing.
    assert_eq!(set_json(&el, "answers", r#"{"1": 9}"#).as_deref(), Some("AttuneError:invalid_value"));
    let kept: Value = serde_json::from_str(&get_json(&el, "answers")).expect("answers");
    assert_eq!(kept["9"], 1);
    reset(&el);
    settle().await;
    assert_eq!(get_json(&el, "answers"), "{}");
    assert_eq!(count(&el, ".crisis"), 0);
}

#[wasm_bindgen_test]
async fn text_pack_problems_are_shown_and_reported() {
    let el = element(json!({ "instrument": "urica" }));
    let got = listen(&el);
    settle().await;
    assert!(texts(&el, "[role=alert] p")[0].contains("item texts 1–32"));
    assert_eq!(set_json(&el, "textPack", r#"{"languages":{"en":{"items":{"40":"x"}}}}"#), None);
    settle().await;
    assert!(texts(&el, "[role=alert] p")[0].contains("no item `40`"), "{:?}", texts(&el, "[role=alert] p"));
    let ev = events(&got);
    assert_eq!(ev.last().expect("error event")["detail"]["code"], "invalid_text_pack");
    let items: serde_json::Map<String, Value> =
        (1..=32).map(|i| (i.to_string(), json!(format!("Statement {i}")))).collect();
    let pack = json!({ "languages": { "en": { "items": items } } });
    assert_eq!(set_json(&el, "textPack", &pack.to_string()), None);
    settle().await;
    assert_eq!(count(&el, "[role=alert]"), 0);
    assert!(count(&el, "fieldset.item") >= 1);
}

/// The components alone, with an evaluator that skips item 2 once item 1 is answered and raises a
/// critical flag: navigation follows the evaluator, never its own idea of the rules.
#[wasm_bindgen_test]
async fn components_follow_the_injected_evaluator() {
    let q = |id: &str| Question {
        id: id.into(),
        text: Text::plain(format!("Item {id}")),
        choices: vec![Choice { value: 0, label: Text::plain("No") }, Choice { value: 1, label: Text::plain("Yes") }],
    };
    let form = Form {
        id: "test".into(),
        title: "Test".into(),
        instructions: Some(Text::plain("Stem")),
        questions: vec![q("1"), q("2"), q("3")],
        citation: "A citation".into(),
        attribution: None,
        terms: None,
        english_fallback: false,
    };
    let score = Rc::new(|a: &[Option<i64>]| {
        let skipped = vec![false, a.first().copied().flatten().is_some(), false];
        let asked: Vec<usize> = (0..3).filter(|&i| !skipped[i]).collect();
        Evaluation {
            answered: asked.iter().filter(|&&i| a.get(i).copied().flatten().is_some()).count(),
            total: asked.len(),
            skipped,
            scores: vec![],
            flags: if a.first() == Some(&Some(1)) {
                vec![FlagLine { label: "Flag".into(), critical: true }]
            } else {
                vec![]
            },
        }
    });
    let evaluator = Evaluator { score, number: Rc::new(|v: f64| format!("{v}")) };
    let props = QuestionnaireProps {
        form: Rc::new(form),
        evaluator,
        initial: Rc::new(vec![]),
        lang: "en".into(),
        layout: Layout::Paged,
        show_results: true,
        crisis: Rc::new(Crisis { title: "Crisis".into(), body: "Body".into(), contact: None, href: None }),
        instance: 999,
        seek: (0, 0),
        on_change: yew::Callback::noop(),
        on_complete: yew::Callback::noop(),
    };
    let root = host();
    let _app = yew::Renderer::<Widget>::with_root_and_props(
        root.clone(),
        WidgetProps { content: Content::Ready(props), session: 1, lang: "en".into() },
    )
    .render();
    settle().await;
    let el: JsValue = root.into();
    assert_eq!(texts(&el, ".progress-text"), ["Question 1 of 3"]);
    click(&el, "input[type=radio]", 1);
    settle().await;
    assert_eq!(count(&el, ".crisis"), 1, "critical flag shows the crisis panel at once");
    assert_eq!(texts(&el, ".progress-text"), ["Question 1 of 2"], "item 2 is skipped now");
    click(&el, "button[type=submit]", 0);
    settle().await;
    assert_eq!(texts(&el, "legend .num"), ["3."], "Next skips item 2");
    click(&el, "button[type=submit]", 0);
    settle().await;
    assert_eq!(texts(&el, "#review-title"), ["Review your answers"]);
    assert!(texts(&el, ".missing button")[0].contains("Go to question 3"));
}
