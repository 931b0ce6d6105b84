//! # attune-wasm
//!
//! Attune's JavaScript API (npm package `attune`): the scoring core compiled to WebAssembly. It holds
//! bindings only; every rule lives in `attune-core`.
//!
//! Values cross the boundary as JSON text: JavaScript's own `JSON.stringify` turns the caller's value
//! into text, `attune-core` parses and checks it exactly as the CLI does, and the result goes back
//! through `JSON.parse`. Two native calls per request are faster than walking objects property by
//! property across the boundary, and the checks are the same code as everywhere else. `scoreMany`
//! adds a faster lane for plain requests (see `batch.rs`) that ends in the same core calls. One thing `JSON.stringify` would lose is kept: a number that is not
//! finite (`NaN`, `Infinity`) would become `null`, which means "unanswered"; it is passed on as text
//! instead, so it is rejected as an invalid value.
//!
//! Nothing a caller passes can panic the module (a panic would abort the whole instance): every
//! failure is a thrown `AttuneError` with a `code`.

use attune_core::{Catalog, ErrorCode as CoreCode, Group, Outcome, Request, ScoreError};
use js_sys::{Array, JsString, Reflect, JSON};
use serde::Serialize;
use tsify::Ts;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

mod batch;
#[cfg(feature = "elements")]
pub mod elements;
mod types;

pub use types::{
    CatalogOptions, ErrorBody, ErrorCode, GroupOptions, GroupStats, InstrumentDefinition, ItemStats, MemberAnswers,
    ScoreFailure, ScoreOutcome, ScoreRequest, ScoreResult, ScoreStats, ScoreValue,
};

/// Longest JSON text accepted for one value (one request, one definition, one group), in UTF-16
/// code units. A real request is under a kilobyte; this only keeps a runaway value from exhausting
/// the module's memory.
pub const MAX_JSON_LEN: u32 = 16 << 20;

#[wasm_bindgen(typescript_custom_section)]
const ATTUNE_ERROR: &str = r#"
/**
 * Thrown by every function of the API for input it cannot accept. Nothing is scored from bad input.
 *
 * ```ts
 * try { score(req) } catch (e) { if (isAttuneError(e) && e.code === "invalid_value") console.log(e.item) }
 * ```
 */
export interface AttuneError extends Error {
    name: "AttuneError";
    /** Stable, machine-readable code. */
    code: ErrorCode;
    /** The item concerned, when there is one. */
    item?: string;
    /** `groupStats`: the 0-based position of the member whose answers were rejected. */
    member?: number;
}
"#;

#[wasm_bindgen(inline_js = "export function toJson(v) {
  return JSON.stringify(v, (k, x) => typeof x === 'number' && !Number.isFinite(x) ? String(x) : x);
}")]
extern "C" {
    /// `JSON.stringify`, keeping non-finite numbers as text so that they cannot pass for `null`.
    #[wasm_bindgen(catch, js_name = toJson)]
    fn to_json(value: &JsValue) -> Result<JsValue, JsValue>;
}

/// Builds the thrown `AttuneError`.
fn attune_error(code: CoreCode, message: &str, item: Option<&str>, member: Option<usize>) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("AttuneError");
    // Setting a property on a fresh Error object cannot fail; the results are ignored on purpose.
    let _ = Reflect::set(&err, &"code".into(), &code.as_str().into());
    if let Some(item) = item {
        let _ = Reflect::set(&err, &"item".into(), &item.into());
    }
    if let Some(member) = member {
        let _ = Reflect::set(&err, &"member".into(), &JsValue::from_f64(member as f64));
    }
    err.into()
}

fn score_error(e: &ScoreError) -> JsValue {
    attune_error(e.code(), &e.to_string(), e.item(), None)
}

fn invalid_json(message: &str) -> JsValue {
    attune_error(CoreCode::InvalidJson, message, None, None)
}

/// A description of a JavaScript error or value, for messages.
fn describe(e: &JsValue) -> String {
    match e.dyn_ref::<js_sys::Error>() {
        Some(err) => String::from(err.message()),
        None => e.as_string().unwrap_or_else(|| "unknown error".to_string()),
    }
}

/// The JSON text of a JavaScript value; `what` names it in error messages.
fn json_text(value: &JsValue, what: &str) -> Result<String, String> {
    let text = to_json(value).map_err(|e| format!("{what} cannot be read as JSON: {}", describe(&e)))?;
    let Some(s) = text.dyn_ref::<JsString>() else {
        return Err(format!("{what} must be a JSON value, not {}", value.js_typeof().as_string().unwrap_or_default()));
    };
    if s.length() > MAX_JSON_LEN {
        return Err(format!("{what} is larger than {} MiB of JSON", MAX_JSON_LEN >> 20));
    }
    Ok(String::from(s))
}

/// Parses JSON text made by `serde_json` into a JavaScript value.
fn from_json(text: &str) -> Result<JsValue, JsValue> {
    JSON::parse(text).map_err(|e| invalid_json(&describe(&e)))
}

fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| invalid_json(&e.to_string()))?;
    from_json(&text)
}

/// Longest instrument id read from JavaScript; catalog ids are a few characters.
const MAX_ID_LEN: u32 = 256;

/// A string argument, or an `AttuneError` naming it. The length is checked before the text is
/// copied into the module, so no argument can exhaust its memory.
fn string_arg(value: &JsValue, what: &str, max_len: u32) -> Result<String, JsValue> {
    let s = value.dyn_ref::<JsString>().ok_or_else(|| invalid_json(&format!("{what} must be a string")))?;
    if s.length() > max_len {
        return Err(invalid_json(&format!("{what} is longer than {max_len} characters")));
    }
    Ok(String::from(s))
}

/// Scores one response.
///
/// Throws an `AttuneError` (`unknown_instrument`, `unknown_item`, `invalid_value`,
/// `invalid_context` or `invalid_json`) when the request cannot be scored.
#[wasm_bindgen]
pub fn score(request: Ts<ScoreRequest>) -> Result<Ts<ScoreResult>, JsValue> {
    let text = json_text(&request.js_value(), "the request").map_err(|m| invalid_json(&m))?;
    let req = Request::parse(&text, None).map_err(|(_, e)| score_error(&e))?;
    match req.score(Catalog::embedded()) {
        Outcome::Scored(result) => Ok(Ts::new_unchecked(to_js(&result)?)),
        Outcome::Failed { error, .. } => Err(score_error(&error)),
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
    batch::score_many(Catalog::embedded(), requests.unchecked_ref()).map(Into::into)
}

/// Summaries of the catalog's instruments, sorted by id: id, name, domain, licence status,
/// whether the wording is bundled, items, scores, critical flags, languages and citation.
/// `{ commercial: true }` leaves out instruments whose licence allows only non-commercial use.
#[wasm_bindgen(unchecked_return_type = "Summary[]")]
pub fn catalog(options: Option<Ts<CatalogOptions>>) -> Result<JsValue, JsValue> {
    let options = match options {
        Some(o) => o.to_rust().map_err(|e| invalid_json(&format!("catalog options: {e}")))?,
        None => CatalogOptions::default(),
    };
    if options.commercial == Some(true) {
        to_js(&Catalog::embedded().commercial_use().summaries())
    } else {
        to_js(&Catalog::embedded().summaries())
    }
}

/// The full definition of one instrument, with its translations.
/// Throws `unknown_instrument` for an id not in the catalog.
#[wasm_bindgen]
pub fn instrument(
    #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
) -> Result<Ts<InstrumentDefinition>, JsValue> {
    let id = string_arg(&id, "the instrument id", MAX_ID_LEN)?;
    let inst = Catalog::embedded().get(&id).ok_or_else(|| score_error(&ScoreError::UnknownInstrument { id }))?;
    #[derive(Serialize)]
    struct Full<'a> {
        #[serde(flatten)]
        definition: &'a attune_core::Definition,
        translations: &'a [attune_core::Translation],
    }
    let full = Full { definition: inst.definition(), translations: inst.translations() };
    Ok(Ts::new_unchecked(to_js(&full)?))
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
    let id = string_arg(&id, "the instrument id", MAX_ID_LEN)?;
    let inst = Catalog::embedded().get(&id).ok_or_else(|| score_error(&ScoreError::UnknownInstrument { id }))?;
    let min_n = match options {
        Some(o) => o
            .to_rust()
            .map_err(|e| attune_error(CoreCode::InvalidContext, &format!("groupStats options: {e}"), None, None))?
            .min_n
            .map_or(attune_core::DEFAULT_MIN_N, |n| n as usize),
        None => attune_core::DEFAULT_MIN_N,
    };
    let mut group = Group::new(inst, min_n).map_err(|e| score_error(&e))?;
    if !Array::is_array(&members) {
        return Err(invalid_json("groupStats takes an array of members' answers"));
    }
    let text = json_text(&members, "the members' answers").map_err(|m| invalid_json(&m))?;
    let members: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| invalid_json(&e.to_string()))?;
    for (k, answers) in members.iter().enumerate() {
        let answers = answers.as_object().ok_or_else(|| {
            attune_error(
                CoreCode::InvalidJson,
                &format!("member {k}: answers must be an object keyed by item id"),
                None,
                Some(k),
            )
        })?;
        group
            .add_json(answers)
            .map_err(|e| attune_error(e.error.code(), &e.to_string(), e.error.item(), Some(e.member)))?;
    }
    Ok(Ts::new_unchecked(to_js(&group.finish())?))
}

/// Checks an instrument definition (JSON text, or the parsed object) and returns every problem
/// with its JSON path; an empty array means the definition is valid. Text is better than an object:
/// only text shows a key written twice.
#[wasm_bindgen(js_name = validateDefinition, unchecked_return_type = "Problem[]")]
pub fn validate_definition(
    #[wasm_bindgen(unchecked_param_type = "string | object")] definition: JsValue,
) -> Result<JsValue, JsValue> {
    let text = if definition.is_string() {
        string_arg(&definition, "the definition", MAX_JSON_LEN)?
    } else if definition.is_object() {
        json_text(&definition, "the definition").map_err(|m| invalid_json(&m))?
    } else {
        return Err(invalid_json("validateDefinition takes JSON text or an object"));
    };
    to_js(&attune_core::validate_definition(&text))
}

/// The version of Attune's scoring core.
#[wasm_bindgen]
pub fn version() -> String {
    attune_core::VERSION.to_string()
}
