//! The scoring entry, `import { score, ... } from "attune"`: the functions and nothing else. Values
//! are read as JavaScript values (`read.rs`), scored by the one lane (`lane.rs`), and returned as
//! JavaScript objects; the catalog's data is the core's `static` data.

use attune_core::{Catalog, ErrorCode, Group, GroupStats as Stats, ScoreError, Summary};
use js_sys::{Array, JsString, Object};
use tsify::Ts;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::{attune_error, failure, invalid_json, score_error};
use crate::js::{object, set, strings};
use crate::types::{CatalogOptions, GroupOptions, GroupStats, InstrumentDefinition, ScoreRequest, ScoreResult};
use crate::{lane, read};

/// Longest instrument id read from JavaScript; catalog ids are a few characters.
const MAX_ID_LEN: u32 = 256;

/// A string argument, or an `AttuneError` naming it. The length is checked before the text is
/// copied into the module, so no argument can exhaust its memory.
pub(crate) fn string_arg(value: &JsValue, what: &str, max_len: u32) -> Result<String, JsValue> {
    let s = value.dyn_ref::<JsString>().ok_or_else(|| invalid_json(&format!("{what} must be a string")))?;
    if s.length() > max_len {
        return Err(invalid_json(&format!("{what} is longer than {max_len} characters")));
    }
    Ok(String::from(s))
}

/// A number as JSON writes it: not finite is `null`, and zero has no sign.
fn number(v: Option<f64>) -> JsValue {
    v.filter(|v| v.is_finite()).map_or(JsValue::NULL, |v| JsValue::from_f64(v + 0.0))
}

/// A summary as `attune catalog` writes it.
fn summary_object(s: &Summary<'_>) -> JsValue {
    object(&[
        ("id", &JsValue::from_str(s.id)),
        ("name", &JsValue::from_str(s.name)),
        ("short_name", &JsValue::from_str(s.short_name)),
        ("domain", &JsValue::from_str(s.domain)),
        ("licence", &JsValue::from_str(s.licence)),
        ("text_bundled", &JsValue::from_bool(s.text_bundled)),
        ("items", &JsValue::from_f64(s.items as f64)),
        ("scores", &strings(s.scores.iter().copied())),
        ("critical_flags", &strings(s.critical_flags.iter().copied())),
        ("languages", &strings(s.languages.iter().copied())),
        ("citation", &JsValue::from_str(s.citation)),
    ])
}

/// Group statistics as `attune group` writes them.
fn group_object(g: &Stats<'_>) -> JsValue {
    let scores = JsValue::from(Object::new());
    for (id, st) in &g.scores {
        let o = JsValue::from(Object::new());
        set(&o, "n", &JsValue::from_f64(st.n as f64));
        for (key, v) in [("mean", st.mean), ("sd", st.sd), ("min", st.min), ("max", st.max), ("rwg", st.rwg)] {
            set(&o, key, &number(v));
        }
        set(&scores, id, &o);
    }
    let items = JsValue::from(Object::new());
    for (id, st) in &g.items {
        let counts = JsValue::from(Object::new());
        for (value, count) in &st.counts {
            set(&counts, &value.to_string(), &JsValue::from_f64(*count as f64));
        }
        set(&items, id, &object(&[("n", &JsValue::from_f64(st.n as f64)), ("counts", &counts)]));
    }
    object(&[
        ("instrument", &JsValue::from_str(g.instrument)),
        ("n", &JsValue::from_f64(g.n as f64)),
        ("suppressed", &JsValue::from_bool(g.suppressed)),
        ("scores", &scores),
        ("items", &items),
    ])
}

/// An options object (`undefined` or `null`: none), made plain.
fn options(value: Option<JsValue>, what: &str, code: ErrorCode) -> Result<Option<JsValue>, JsValue> {
    let Some(value) = value.filter(|v| !read::is_absent(v)) else { return Ok(None) };
    let plain = read::plain(&value, what).map_err(|m| attune_error(code, &m, None, None))?;
    if !read::is_object(&plain) {
        return Err(attune_error(code, &format!("{what} must be an object"), None, None));
    }
    Ok(Some(plain))
}

fn instrument_arg(id: &JsValue) -> Result<&'static attune_core::Instrument, JsValue> {
    let id = string_arg(id, "the instrument id", MAX_ID_LEN)?;
    Catalog::embedded().get(&id).ok_or_else(|| score_error(&ScoreError::UnknownInstrument { id }))
}

/// Scores one response.
///
/// Throws an `AttuneError` (`unknown_instrument`, `unknown_item`, `invalid_value`,
/// `invalid_context` or `invalid_json`) when the request cannot be scored.
#[wasm_bindgen]
pub fn score(request: Ts<ScoreRequest>) -> Result<Ts<ScoreResult>, JsValue> {
    let requests = Array::of1(&request.js_value());
    let out = Array::new_with_length(1);
    let mut error = None;
    lane::score_into(Catalog::embedded(), &requests, &out, |_, e| {
        let thrown = score_error(&e);
        error = Some(thrown.clone());
        thrown
    });
    match error {
        Some(e) => Err(e),
        None => Ok(Ts::new_unchecked(out.get(0))),
    }
}

/// Scores many responses at once. Each element of the returned array is the result of the
/// request at the same position, or a `ScoreFailure` (`{ instrument, error: { code, item?,
/// message } }`) when that request cannot be scored; one bad request does not stop the others.
/// Throws an `AttuneError` only when `requests` is not an array.
#[wasm_bindgen(js_name = scoreMany, unchecked_return_type = "ScoreOutcome[]")]
pub fn score_many(
    #[wasm_bindgen(unchecked_param_type = "ScoreRequest[]")] requests: JsValue,
) -> Result<JsValue, JsValue> {
    if !Array::is_array(&requests) {
        return Err(invalid_json("scoreMany takes an array of requests"));
    }
    let requests: &Array = requests.unchecked_ref();
    let out = Array::new_with_length(requests.length());
    lane::score_into(Catalog::embedded(), requests, &out, |instrument, e| failure(instrument.as_deref(), &e));
    Ok(out.into())
}

/// Summaries of the catalog's instruments, sorted by id: id, name, domain, licence status,
/// whether the wording is bundled, items, scores, critical flags, languages and citation.
/// `{ commercial: true }` leaves out instruments whose licence allows only non-commercial use.
#[wasm_bindgen(unchecked_return_type = "Summary[]")]
pub fn catalog(options: Option<Ts<CatalogOptions>>) -> Result<JsValue, JsValue> {
    let what = "catalog options";
    let commercial = match self::options(options.map(|o| o.js_value()), what, ErrorCode::InvalidJson)? {
        None => false,
        Some(o) => {
            let c = read::get(&o, "commercial");
            match c.as_bool() {
                Some(b) => b,
                None if read::is_absent(&c) => false,
                None => return Err(invalid_json(&format!("{what}: `commercial` must be true or false"))),
            }
        }
    };
    // Filtered in place: `Catalog::commercial_use` would clone the plans it keeps.
    let kept = Catalog::embedded().instruments().iter().filter(|i| !commercial || i.allows_commercial_use());
    Ok(kept.map(|i| summary_object(&i.summary())).collect::<Array>().into())
}

/// The full definition of one instrument, with its translations.
/// Throws `unknown_instrument` for an id not in the catalog.
#[wasm_bindgen]
pub fn instrument(
    #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
) -> Result<Ts<InstrumentDefinition>, JsValue> {
    let inst = instrument_arg(&id)?;
    // Written as JSON text by the build step: the one copy of the wording this module carries.
    let text = inst.definition_json().unwrap_or("null");
    js_sys::JSON::parse(text).map(Ts::new_unchecked).map_err(|e| invalid_json(&crate::error::describe(&e)))
}

/// Group statistics for one instrument over members' answers, as in
/// `shared/instruments/group-statistics.md`: per score n, mean, SD, min, max and r_wg / r_wg(j),
/// per item the answer counts, all suppressed below `minN` members (default 3).
/// Throws an `AttuneError` with `member` set when a member's answers are rejected.
#[wasm_bindgen(js_name = groupStats)]
pub fn group_stats(
    #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    #[wasm_bindgen(unchecked_param_type = "MemberAnswers[]")] members: JsValue,
    options: Option<Ts<GroupOptions>>,
) -> Result<Ts<GroupStats>, JsValue> {
    let inst = instrument_arg(&id)?;
    let what = "groupStats options";
    let min_n = match self::options(options.map(|o| o.js_value()), what, ErrorCode::InvalidContext)? {
        None => attune_core::DEFAULT_MIN_N,
        Some(o) => {
            let n = read::get(&o, "minN");
            match n.as_f64() {
                None if read::is_absent(&n) => attune_core::DEFAULT_MIN_N,
                Some(f) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => f as usize,
                _ => {
                    let message = format!("{what}: `minN` must be a whole number of at least 1");
                    return Err(attune_error(ErrorCode::InvalidContext, &message, None, None));
                }
            }
        }
    };
    let mut group = Group::new(inst, min_n).map_err(|e| score_error(&e))?;
    if !Array::is_array(&members) {
        return Err(invalid_json("groupStats takes an array of members' answers"));
    }
    let members = read::plain(&members, "the members' answers").map_err(|m| invalid_json(&m))?;
    let members: Array = members.unchecked_into();
    for (k, answers) in members.iter().enumerate() {
        if !read::is_object(&answers) {
            let message = format!("member {k}: answers must be an object keyed by item id");
            return Err(attune_error(ErrorCode::InvalidJson, &message, None, Some(k)));
        }
        group
            .add_checked(read::answers(inst, &answers))
            .map_err(|e| attune_error(e.error.code(), &e.to_string(), e.error.item(), Some(e.member)))?;
    }
    Ok(Ts::new_unchecked(group_object(&group.finish())))
}

/// The version of Attune's scoring core.
#[wasm_bindgen]
pub fn version() -> String {
    attune_core::VERSION.to_string()
}
