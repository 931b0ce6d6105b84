//! `attune/fhir`: the core's FHIR R4 mapping for JavaScript: `questionnaire`, `toFhir` and
//! `fromQuestionnaireResponse`. Its own module (it carries a JSON parser and the catalog's wording),
//! loaded only by those who import it. Values cross as JSON text both ways; every failure is a thrown
//! `AttuneError`.

use attune_core::fhir::{self, Options, QuestionnaireResponse, Reading};
use attune_core::{Catalog, ErrorCode, Request, ScoreError};
use js_sys::JsString;
use serde::{Deserialize, Serialize};
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::types::{ScoreRequest, ScoreResult};

use crate::error::{attune_error, invalid_json, score_error, MAX_JSON_LEN};

#[wasm_bindgen(typescript_custom_section)]
const FHIR_TYPES: &str = r#"
/** A FHIR R4 resource, as JSON. */
export interface FhirResource {
    resourceType: string;
    [field: string]: unknown;
}

/** A FHIR R4 Questionnaire (SDC): items, options with their scores, skip rules, citation. */
export interface Questionnaire extends FhirResource {
    resourceType: "Questionnaire";
    url: string;
    version: string;
    name: string;
    title: string;
    status: "active";
    copyright: string;
    item: Array<{ linkId: string; type: "choice" | "display"; text?: string; [field: string]: unknown }>;
}

/** A FHIR R4 QuestionnaireResponse. */
export interface QuestionnaireResponse extends FhirResource {
    resourceType: "QuestionnaireResponse";
    status: string;
    questionnaire?: string;
    item?: Array<{ linkId: string; answer?: Array<Record<string, unknown>>; item?: unknown[] }>;
}

/** A FHIR R4 transaction Bundle: the QuestionnaireResponse, then an Observation per score and per
 * raised flag, then the panel. */
export interface Bundle extends FhirResource {
    resourceType: "Bundle";
    type: "transaction";
    entry: Array<{ fullUrl: string; resource: FhirResource; request: { method: "POST"; url: string } }>;
}
"#;

/// Options of `questionnaire`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Tsify)]
#[serde(default, deny_unknown_fields)]
pub struct QuestionnaireOptions {
    /// Canonical base of Attune's Questionnaires and code systems (default `urn:attune:fhir`).
    #[tsify(optional)]
    pub base: Option<String>,
    /// Language of the text: `en`, one of the instrument's verified translations, or a language of
    /// `text` (default `en`).
    #[tsify(optional)]
    pub lang: Option<String>,
    /// The host's text pack (as `<attune-questionnaire>` takes it): wording the catalog does not
    /// bundle, for instruments whose licence keeps it out. Checked like the element checks it.
    #[tsify(optional, type = "import(\"../elements.js\").TextPack")]
    pub text: Option<attune_core::TextPack>,
}

/// Options of `toFhir`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Tsify)]
#[serde(default, deny_unknown_fields)]
pub struct FhirOptions {
    /// Canonical base of Attune's Questionnaires and code systems (default `urn:attune:fhir`).
    #[tsify(optional)]
    pub base: Option<String>,
    /// When the response was completed, a FHIR dateTime (`2026-12-05T09:30:00Z`).
    #[tsify(optional)]
    pub authored: Option<String>,
    /// The patient, as a reference (`Patient/123`). Left out when not given.
    #[tsify(optional)]
    pub subject: Option<String>,
    /// The host's own id for the response, written as the QuestionnaireResponse's `identifier`.
    #[tsify(optional)]
    pub identifier: Option<String>,
}

/// Options of `fromQuestionnaireResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Tsify)]
#[serde(default, deny_unknown_fields)]
pub struct ReadingOptions {
    /// The canonical base the Questionnaires were written with (default `urn:attune:fhir`).
    #[tsify(optional)]
    pub base: Option<String>,
    /// The instrument, for a response whose `questionnaire` names neither Attune's nor a LOINC panel.
    #[tsify(optional)]
    pub instrument: Option<String>,
}

/// JSON text of a JavaScript value, refused past the size limit.
fn json_text(value: &JsValue, what: &str) -> Result<String, JsValue> {
    let text = js_sys::JSON::stringify(value)
        .map_err(|e| invalid_json(&format!("{what} cannot be read as JSON: {}", crate::error::describe(&e))))?;
    // `JSON.stringify` gives `undefined` for a function, `undefined` or a `toJSON` that returns it.
    let Some(text) = text.dyn_ref::<JsString>() else {
        return Err(invalid_json(&format!("{what} cannot be read as JSON")));
    };
    if text.length() > MAX_JSON_LEN {
        return Err(invalid_json(&format!("{what} is larger than {} MiB of JSON", MAX_JSON_LEN >> 20)));
    }
    Ok(String::from(text))
}

/// Options read into `T`; none given (or `undefined`, `null`) are `T::default()`.
fn options<T: for<'de> Deserialize<'de> + Default + Tsify>(given: Option<Ts<T>>) -> Result<T, JsValue> {
    let Some(value) = given.map(|o| o.js_value()) else { return Ok(T::default()) };
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    read(&value, "options")
}

/// An object read into `T`.
fn read<T: for<'de> Deserialize<'de>>(value: &JsValue, what: &str) -> Result<T, JsValue> {
    if !value.is_object() {
        return Err(invalid_json(&format!("{what} must be an object")));
    }
    serde_json::from_str(&json_text(value, what)?).map_err(|e| invalid_json(&format!("{what}: {e}")))
}

fn to_js(value: &impl serde::Serialize) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| invalid_json(&e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|e| invalid_json(&crate::error::describe(&e)))
}

fn checked(opts: &Options<'_>) -> Result<(), JsValue> {
    opts.check().map_err(|m| invalid_json(&m))
}

/// The instrument as a FHIR R4 Questionnaire: LOINC codes where the catalog has them, each option's
/// score as `ordinalValue` and `itemWeight`, skip rules as `enableWhen`, the citation and licence in
/// `copyright`, and item text only where the licence bundles it.
#[wasm_bindgen(unchecked_return_type = "Questionnaire")]
pub fn questionnaire(id: &str, options: Option<Ts<QuestionnaireOptions>>) -> Result<JsValue, JsValue> {
    let opts = self::options(options)?;
    let inst =
        Catalog::embedded().get(id).ok_or_else(|| score_error(&ScoreError::UnknownInstrument { id: id.into() }))?;
    let pack_problem =
        |problems: Vec<String>| crate::error::error_with_code("invalid_text_pack", &problems.join("; "), None, None);
    if let Some(pack) = &opts.text {
        if let Some(problem) = pack.shape_problem() {
            return Err(pack_problem(vec![problem]));
        }
        let problems = inst.check_text_pack(pack);
        if !problems.is_empty() {
            return Err(pack_problem(problems));
        }
    }
    let pack = opts.text.as_ref();
    let opts = Options {
        base: opts.base.as_deref().unwrap_or(fhir::DEFAULT_BASE),
        lang: opts.lang.as_deref().unwrap_or("en"),
        text: pack,
        ..Options::default()
    };
    checked(&opts)?;
    opts.check_language(inst).map_err(|m| invalid_json(&m))?;
    to_js(&fhir::questionnaire(inst, &opts))
}

/// A scored response as a FHIR R4 transaction Bundle: the QuestionnaireResponse, an Observation per
/// score (a value, or a `dataAbsentReason` when the missing-data rule leaves it null) and per raised
/// flag (critical ones interpreted `AA`), and a panel. `result`, when given, must be what `score`
/// returns for `response` (it is scored again here; a stale or edited result is refused).
#[wasm_bindgen(js_name = toFhir, unchecked_return_type = "Bundle")]
pub fn to_fhir(
    response: Ts<ScoreRequest>,
    result: Option<Ts<ScoreResult>>,
    options: Option<Ts<FhirOptions>>,
) -> Result<JsValue, JsValue> {
    let opts = self::options(options)?;
    let response = response.js_value();
    let result = result.map_or(JsValue::UNDEFINED, |r| r.js_value());
    let catalog = Catalog::embedded();
    let request = Request::parse(&json_text(&response, "the response")?, None).map_err(|(_, e)| score_error(&e))?;
    let inst = catalog
        .get(&request.instrument)
        .ok_or_else(|| score_error(&ScoreError::UnknownInstrument { id: request.instrument.clone() }))?;
    let scored = inst.score(&request.answers, request.context.as_ref()).map_err(|e| score_error(&e))?;
    if !(result.is_undefined() || result.is_null()) {
        let given: serde_json::Value = serde_json::from_str(&json_text(&result, "the result")?)
            .map_err(|e| invalid_json(&format!("the result: {e}")))?;
        let ours = serde_json::to_value(&scored).map_err(|e| invalid_json(&e.to_string()))?;
        if !same_result(&given, &ours) {
            return Err(attune_error(
                ErrorCode::InvalidJson,
                "the result is not the one this response scores to: pass the result `score` returned for it, or none",
                None,
                None,
            ));
        }
    }
    let opts = Options {
        base: opts.base.as_deref().unwrap_or(fhir::DEFAULT_BASE),
        authored: opts.authored.as_deref(),
        subject: opts.subject.as_deref(),
        identifier: opts.identifier.as_deref(),
        ..Options::default()
    };
    checked(&opts)?;
    to_js(&fhir::bundle(inst, &request, &scored, &opts).map_err(|e| score_error(&e))?)
}

/// Whether a result given by the host is the one the core computes: the same fields, numbers equal
/// to the last bit (both come from the same scorer).
fn same_result(given: &serde_json::Value, ours: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (given, ours) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|o| same_result(v, o)))
        }
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_result(x, y)),
        _ => given == ours,
    }
}

/// A FHIR R4 QuestionnaireResponse from any system as a request `score` takes: the instrument by
/// the Questionnaire's canonical (Attune's, or a LOINC panel), items by `linkId` (the item id, or a
/// path ending in the item's LOINC code), answers by `ordinalValue`/`itemWeight`, Attune's coding,
/// the option's label, `valueInteger` or `valueDecimal`. Anything else throws, naming the item.
#[wasm_bindgen(js_name = fromQuestionnaireResponse, unchecked_return_type = "ScoreRequest")]
pub fn from_questionnaire_response(
    #[wasm_bindgen(unchecked_param_type = "QuestionnaireResponse")] response: JsValue,
    options: Option<Ts<ReadingOptions>>,
) -> Result<JsValue, JsValue> {
    let opts = self::options(options)?;
    if !response.is_object() {
        return Err(invalid_json("fromQuestionnaireResponse takes a QuestionnaireResponse object"));
    }
    let text = json_text(&response, "the QuestionnaireResponse")?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| invalid_json(&e.to_string()))?;
    let qr = QuestionnaireResponse::from_value(value).map_err(|e| score_error(&e))?;
    let how =
        Reading { base: opts.base.as_deref().unwrap_or(fhir::DEFAULT_BASE), instrument: opts.instrument.as_deref() };
    let request =
        fhir::request_from_questionnaire_response(Catalog::embedded(), &qr, &how).map_err(|(_, e)| score_error(&e))?;
    let mut out = serde_json::json!({"instrument": request.instrument, "answers": request.answers});
    if let Some(context) = request.context {
        out["context"] = context;
    }
    if let Some(id) = request.id {
        out["id"] = id;
    }
    to_js(&out)
}
