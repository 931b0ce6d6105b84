//! Reading what JavaScript passes, without a JSON parser. A value is first made plain by
//! `normalize` in `js/plain.js` (what `JSON.stringify` and `JSON.parse` make of it: no getters, no
//! classes, no `undefined`; a non-finite number becomes text, so it cannot pass for `null`); then
//! its parts are read here and handed to the core as typed values. Values shown in error messages
//! are written as the core's JSON readers write them (`show` in `js/plain.js`), so every error reads
//! as it does from the CLI or the server.

use attune_core::{Answer, ContextInput, ContextValues, Instrument, ScoreError};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::describe;
#[cfg(feature = "scoring")]
use crate::error::MAX_JSON_LEN;

#[wasm_bindgen(module = "/js/plain.js")]
extern "C" {
    /// `[plain value, problem, detail]`: problem 0 when the value reads as JSON; 1 when it cannot
    /// be read (detail: why), 2 when it is no JSON value (detail: its type), 3 when its text is
    /// longer than the limit, 4 when it nests deeper than the limit.
    fn normalize(value: &JsValue, max_len: u32, max_depth: u32) -> Array;
    /// The JSON text of a plain value, as the core's JSON readers write it.
    fn show(value: &JsValue) -> String;
}

/// Deepest nesting accepted: what the core's JSON reader accepts (it refuses a 128th level).
const MAX_DEPTH: u32 = 127;

/// `value` made plain, or why it cannot be; `what` names it in the message (`"the request"`).
#[cfg(feature = "scoring")]
pub(crate) fn plain(value: &JsValue, what: &str) -> Result<JsValue, String> {
    plain_within(value, what, MAX_JSON_LEN)
}

/// [`plain`], for a value whose JSON text may have at most `max_len` characters.
pub(crate) fn plain_within(value: &JsValue, what: &str, max_len: u32) -> Result<JsValue, String> {
    let out = normalize(value, max_len, MAX_DEPTH);
    let detail = out.get(2);
    match out.get(1).as_f64().unwrap_or(1.0) as u32 {
        0 => Ok(out.get(0)),
        2 => Err(format!("{what} must be a JSON value, not {}", detail.as_string().unwrap_or_default())),
        3 if max_len >= 1 << 20 => Err(format!("{what} is larger than {} MiB of JSON", max_len >> 20)),
        3 => Err(format!("{what} is larger than {} KiB of JSON", max_len >> 10)),
        4 => Err(format!("{what} nests deeper than {MAX_DEPTH} levels")),
        _ => Err(format!("{what} cannot be read as JSON: {}", describe(&detail))),
    }
}

/// A plain value shown in an error message: its JSON text, at most 40 bytes.
pub(crate) fn shown(value: &JsValue) -> String {
    attune_core::shown(show(value))
}

/// Whether a plain value is an object (not an array, not `null`).
pub(crate) fn is_object(v: &JsValue) -> bool {
    v.is_object() && !Array::is_array(v)
}

/// A property of a plain object (`undefined` when absent).
pub(crate) fn get(obj: &JsValue, key: &str) -> JsValue {
    // A plain object has no getters: reading a property cannot throw.
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `null` or `undefined`.
pub(crate) fn is_absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

/// A plain request: `{ instrument, answers?, context? }`.
#[cfg(feature = "scoring")]
pub(crate) struct Request {
    pub(crate) instrument: String,
    answers: JsValue,
    context: JsValue,
}

/// Reads a plain request's shape; the error carries the instrument id when it is known.
#[cfg(feature = "scoring")]
pub(crate) fn request(v: &JsValue) -> Result<Request, (Option<String>, ScoreError)> {
    if !is_object(v) {
        return Err((None, ScoreError::request_not_an_object()));
    }
    let id = get(v, "instrument");
    let instrument = match id.as_string() {
        Some(s) => s,
        None if is_absent(&id) => return Err((None, ScoreError::no_instrument())),
        None => return Err((None, ScoreError::instrument_not_a_string(&show(&id)))),
    };
    let answers = get(v, "answers");
    let kind = if is_absent(&answers) || is_object(&answers) {
        None
    } else if Array::is_array(&answers) {
        Some("an array")
    } else if answers.is_string() {
        Some("a string")
    } else if answers.as_f64().is_some() {
        Some("a number")
    } else {
        Some("a boolean")
    };
    if let Some(kind) = kind {
        return Err((Some(instrument), ScoreError::answers_not_an_object(kind)));
    }
    Ok(Request { instrument, answers, context: get(v, "context") })
}

#[cfg(feature = "scoring")]
impl Request {
    /// Checks the answers and the context against the instrument, as the core checks JSON.
    pub(crate) fn check(&self, inst: &Instrument) -> Result<(attune_core::AnswerSheet, ContextValues), ScoreError> {
        let context = context(inst, &self.context)?;
        let sheet = answers(inst, &self.answers)?;
        Ok((sheet, context))
    }
}

/// Checks a plain answers object (or `null`/`undefined`, no answers) against the instrument.
pub(crate) fn answers(inst: &Instrument, answers: &JsValue) -> Result<attune_core::AnswerSheet, ScoreError> {
    if is_absent(answers) {
        return inst.answer_sheet_from_values(std::iter::empty());
    }
    let entries = entries(answers);
    let shown: Vec<String> = entries
        .iter()
        .map(|(_, v)| if is_absent(v) || integer(v).is_some() { String::new() } else { shown(v) })
        .collect();
    inst.answer_sheet_from_values(entries.iter().zip(&shown).map(|((id, v), text)| {
        let answer = match integer(v) {
            _ if is_absent(v) => Answer::Null,
            Some(x) => Answer::Integer(x),
            None => Answer::Other(text),
        };
        (id.as_str(), answer)
    }))
}

/// The entries of a plain object, in the order a JSON object's keys are read (sorted), so that the
/// first error reported is the same whoever reads it.
pub(crate) fn entries(obj: &JsValue) -> Vec<(String, JsValue)> {
    let mut entries: Vec<(String, JsValue)> = Object::entries(obj.unchecked_ref())
        .iter()
        .map(|entry| {
            let entry: Array = entry.unchecked_into();
            (entry.get(0).as_string().unwrap_or_default(), entry.get(1))
        })
        .collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    entries
}

/// A whole number that JavaScript writes digit for digit (below 2^53 in magnitude). A larger one
/// is no option value anyway, and is shown as JavaScript writes it (`4611686018427388000`).
fn integer(v: &JsValue) -> Option<i64> {
    let f = v.as_f64()?;
    const TWO_POW_53: f64 = 9_007_199_254_740_992.0;
    (f.fract() == 0.0 && f.abs() < TWO_POW_53).then_some(f as i64)
}

/// Checks a plain context (or `null`/`undefined`, none) against the instrument's declared keys.
pub(crate) fn context(inst: &Instrument, context: &JsValue) -> Result<ContextValues, ScoreError> {
    if is_absent(context) {
        return inst.context_values_with(|_| ContextInput::Absent);
    }
    if !is_object(context) {
        return Err(ScoreError::context_not_an_object(&shown(context)));
    }
    inst.context_values_with(|key| {
        let v = get(context, key);
        match v.as_string() {
            Some(s) => ContextInput::Text(s.into()),
            None if is_absent(&v) => ContextInput::Absent,
            None => ContextInput::Other(shown(&v)),
        }
    })
}
