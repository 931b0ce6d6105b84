//! The one way errors reach JavaScript: an `Error` named `AttuneError` with the core's stable
//! `code` (and the `item` or `member` it is about), thrown by every function for input it cannot
//! accept, or reported in place by `scoreMany`.

// The `attune/validate` build uses a part of this module.
#![cfg_attr(not(any(feature = "scoring", feature = "elements")), allow(dead_code))]

use attune_core::{ErrorCode, ScoreError};
use wasm_bindgen::prelude::*;

use crate::js::set;

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

/// The thrown `AttuneError`.
pub(crate) fn attune_error(code: ErrorCode, message: &str, item: Option<&str>, member: Option<usize>) -> JsValue {
    error_with_code(code.as_str(), message, item, member)
}

/// The thrown `AttuneError` with a code of the elements' own (`invalid_text_pack`, ...) or the core's.
pub(crate) fn error_with_code(code: &str, message: &str, item: Option<&str>, member: Option<usize>) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("AttuneError");
    let err = JsValue::from(err);
    set(&err, "code", &JsValue::from_str(code));
    if let Some(item) = item {
        set(&err, "item", &JsValue::from_str(item));
    }
    if let Some(member) = member {
        set(&err, "member", &JsValue::from_f64(member as f64));
    }
    err
}

/// The thrown form of a core error.
pub(crate) fn score_error(e: &ScoreError) -> JsValue {
    attune_error(e.code(), &e.to_string(), e.item(), None)
}

/// An `invalid_json` error: input that is not of the expected shape.
#[cfg(any(feature = "scoring", feature = "validate", feature = "fhir"))]
pub(crate) fn invalid_json(message: &str) -> JsValue {
    attune_error(ErrorCode::InvalidJson, message, None, None)
}

/// `scoreMany`'s report of a request it could not score: `{ instrument, error: { code, item?, message } }`.
#[cfg(feature = "scoring")]
pub(crate) fn failure(instrument: Option<&str>, e: &ScoreError) -> JsValue {
    let body = crate::js::object(&[("code", &JsValue::from_str(e.code().as_str()))]);
    if let Some(item) = e.item() {
        set(&body, "item", &JsValue::from_str(item));
    }
    set(&body, "message", &JsValue::from_str(&e.to_string()));
    let instrument = instrument.map_or(JsValue::NULL, JsValue::from_str);
    crate::js::object(&[("instrument", &instrument), ("error", &body)])
}

/// A description of a JavaScript error or value, for messages.
pub(crate) fn describe(e: &JsValue) -> String {
    match e.dyn_ref::<js_sys::Error>() {
        Some(err) => String::from(err.message()),
        None => e.as_string().unwrap_or_else(|| "unknown error".to_string()),
    }
}
