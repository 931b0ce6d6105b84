//! `attune/validate`: `validateDefinition`, the one function that needs a JSON parser with paths.
//! It is its own module, loaded only by those who import it.

use js_sys::JsString;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::{invalid_json, MAX_JSON_LEN};

#[wasm_bindgen(inline_js = "export function toJson(v) {
  return JSON.stringify(v, (k, x) => typeof x === 'number' && !Number.isFinite(x) ? String(x) : x);
}")]
extern "C" {
    /// `JSON.stringify`, keeping non-finite numbers as text so that they cannot pass for `null`.
    #[wasm_bindgen(catch, js_name = toJson)]
    fn to_json(value: &JsValue) -> Result<JsValue, JsValue>;
}

/// The text of a definition, refused when longer than the limit (checked before it is copied).
fn text(s: &JsString, too_long: impl FnOnce() -> String) -> Result<String, JsValue> {
    if s.length() > MAX_JSON_LEN {
        return Err(invalid_json(&too_long()));
    }
    Ok(String::from(s))
}

/// Checks an instrument definition (JSON text, or the parsed object) and returns every problem
/// with its JSON path; an empty array means the definition is valid. Text is better than an object:
/// only text shows a key written twice.
#[wasm_bindgen(js_name = validateDefinition, unchecked_return_type = "Problem[]")]
pub fn validate_definition(
    #[wasm_bindgen(unchecked_param_type = "string | object")] definition: JsValue,
) -> Result<JsValue, JsValue> {
    let text = if let Some(s) = definition.dyn_ref::<JsString>() {
        text(s, || format!("the definition is longer than {MAX_JSON_LEN} characters"))?
    } else if definition.is_object() {
        let json = to_json(&definition).map_err(|e| {
            invalid_json(&format!("the definition cannot be read as JSON: {}", crate::error::describe(&e)))
        })?;
        let json = json.dyn_ref::<JsString>().ok_or_else(|| invalid_json("the definition must be a JSON value"))?;
        text(json, || format!("the definition is larger than {} MiB of JSON", MAX_JSON_LEN >> 20))?
    } else {
        return Err(invalid_json("validateDefinition takes JSON text or an object"));
    };
    let problems =
        serde_json::to_string(&attune_core::validate_definition(&text)).map_err(|e| invalid_json(&e.to_string()))?;
    js_sys::JSON::parse(&problems).map_err(|e| invalid_json(&crate::error::describe(&e)))
}
