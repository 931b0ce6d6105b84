//! A `QuestionnaireResponse` from any system read into a request: the instrument found by the
//! Questionnaire's canonical URL (Attune's, or a LOINC panel's such as LHC-Forms writes), items by
//! `linkId` (Attune's item id, or a path ending in the item's LOINC code), answers by their score
//! (`ordinalValue` or `itemWeight`, on the coding or the answer), by Attune's own answer coding, by
//! the option's label in the catalog, or as `valueInteger`/`valueDecimal`. The sending system's own
//! scores are not read. Whatever else cannot be mapped is an error naming the item.

use serde_json::{Map, Value};

use super::{weight_of, Options, QuestionnaireResponse, ResponseItem};
use crate::{Catalog, Instrument, Request, ScoreError};

/// How to read a response: the canonical base of Attune's Questionnaires, and optionally the
/// instrument, for responses whose `questionnaire` names neither Attune's nor a LOINC panel.
#[derive(Debug, Clone)]
pub struct Reading<'a> {
    /// The canonical base the Questionnaires were written with.
    pub base: &'a str,
    /// The instrument, when the caller knows it.
    pub instrument: Option<&'a str>,
}

impl Default for Reading<'_> {
    fn default() -> Self {
        Reading { base: super::DEFAULT_BASE, instrument: None }
    }
}

/// The request a response answers. Errors carry the instrument id once it is known, as
/// [`Request::parse`] does.
///
/// ```
/// use attune_core::{fhir, Catalog};
/// let qr: fhir::QuestionnaireResponse = serde_json::from_str(r#"{
///   "resourceType": "QuestionnaireResponse", "status": "completed",
///   "questionnaire": "http://loinc.org/q/44249-1",
///   "item": [{"linkId": "/44260-8", "answer": [{"valueCoding": {"code": "LA6570-1",
///     "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 2}]}}]}]
/// }"#).unwrap();
/// let request = fhir::request_from_questionnaire_response(Catalog::embedded(), &qr, &Default::default()).unwrap();
/// assert_eq!(request.instrument, "phq9");
/// assert_eq!(request.answers["9"], 2);
/// ```
pub fn request_from_questionnaire_response(
    catalog: &Catalog,
    qr: &QuestionnaireResponse,
    how: &Reading<'_>,
) -> Result<Request, (Option<String>, ScoreError)> {
    if matches!(qr.status.as_str(), "entered-in-error" | "stopped") {
        let message = format!("the QuestionnaireResponse is `{}`: it is not scored", qr.status);
        return Err((None, ScoreError::invalid_json(message)));
    }
    let inst = find_instrument(catalog, qr, how).map_err(|e| (None, e))?;
    let fail = |e: ScoreError| (Some(inst.id().to_string()), e);
    let opts = Options { base: how.base, ..Options::default() };
    let mut answers = Map::new();
    let mut items = Vec::new();
    flatten(&qr.item, &mut items);
    for item in items {
        if item.answer.is_empty() || is_foreign_score(inst, &item.link_id) {
            continue;
        }
        let index = item_index(inst, &item.link_id)
            .ok_or_else(|| fail(ScoreError::UnknownItem { item: item.link_id.clone() }))?;
        let id = inst.item_ids().nth(index).unwrap_or_default().to_string();
        let [answer] = item.answer.as_slice() else {
            return Err(fail(not_scorable(&id, "more than one answer", inst, index)));
        };
        let value =
            answer_value(inst, &opts, index, answer).map_err(|why| fail(not_scorable(&id, &why, inst, index)))?;
        if answers.insert(id.clone(), Value::from(value)).is_some() {
            return Err(fail(ScoreError::invalid_json(format!("item `{id}` is answered twice"))));
        }
    }
    let context = context(qr, &opts);
    // The caller's id: the identifier Attune wrote, else the resource id.
    let id = qr.identifier.as_ref().and_then(|i| i.value.clone()).or_else(|| qr.id.clone());
    Ok(Request { instrument: inst.id().to_string(), answers, context, id: id.map(Value::String) })
}

fn find_instrument<'c>(
    catalog: &'c Catalog,
    qr: &QuestionnaireResponse,
    how: &Reading<'_>,
) -> Result<&'c Instrument, ScoreError> {
    if let Some(id) = how.instrument {
        return catalog.get(id).ok_or_else(|| ScoreError::UnknownInstrument { id: id.to_string() });
    }
    let Some(canonical) = qr.questionnaire.as_deref() else {
        return Err(ScoreError::invalid_json(
            "the QuestionnaireResponse names no `questionnaire`: say which instrument it answers",
        ));
    };
    let url = canonical.split('|').next().unwrap_or_default();
    let prefix = format!("{}/Questionnaire/", how.base);
    if let Some(id) = url.strip_prefix(&prefix) {
        return catalog.get(id).ok_or_else(|| ScoreError::UnknownInstrument { id: id.to_string() });
    }
    // A LOINC panel: `http://loinc.org/q/44249-1`, `Questionnaire/44249-1`, ...
    let last = url.rsplit('/').next().unwrap_or_default();
    catalog
        .instruments()
        .iter()
        .find(|i| i.definition().loinc.as_ref().and_then(|l| l.get("panel")).is_some_and(|p| p == last))
        .ok_or_else(|| ScoreError::UnknownInstrument { id: canonical.to_string() })
}

impl QuestionnaireResponse {
    /// A QuestionnaireResponse from JSON already parsed (the CLI's lines, JavaScript values): its
    /// `resourceType` checked, its shape read; an `invalid_json` error saying what is wrong.
    pub fn from_value(value: Value) -> Result<Self, ScoreError> {
        match value.get("resourceType").and_then(Value::as_str) {
            Some("QuestionnaireResponse") => serde_json::from_value(value)
                .map_err(|e| ScoreError::invalid_json(format!("not a QuestionnaireResponse Attune can read: {e}"))),
            Some(other) => {
                Err(ScoreError::invalid_json(format!("a {other} is not a response: give a QuestionnaireResponse")))
            }
            None => Err(ScoreError::invalid_json("`resourceType` must be \"QuestionnaireResponse\"")),
        }
    }
}

/// Items with answers, groups opened.
fn flatten<'q>(items: &'q [ResponseItem], out: &mut Vec<&'q ResponseItem>) {
    for item in items {
        out.push(item);
        flatten(&item.item, out);
        for answer in &item.answer {
            flatten(&answer.item, out);
        }
    }
}

/// An item holding the sending system's own score (its `linkId` ends in a LOINC score code such as
/// PHQ-9's total, 44261-6): not read, because Attune scores by the instrument's own rules (LHC-Forms'
/// PHQ-9 total, for one, counts a missing answer as 0).
fn is_foreign_score(inst: &Instrument, link_id: &str) -> bool {
    let last = link_id.rsplit('/').next().unwrap_or_default();
    inst.item_index(link_id).is_none()
        && inst
            .definition()
            .loinc
            .as_ref()
            .is_some_and(|l| l.0.iter().any(|(key, code)| key != "panel" && code == last))
}

/// Attune's item id, or a `linkId` whose last `/` segment is the item's LOINC code.
fn item_index(inst: &Instrument, link_id: &str) -> Option<usize> {
    inst.item_index(link_id).or_else(|| {
        let last = link_id.rsplit('/').next()?;
        inst.definition().items.iter().position(|i| i.loinc.as_deref() == Some(last))
    })
}

/// The option value an answer carries.
fn answer_value(inst: &Instrument, opts: &Options<'_>, index: usize, answer: &super::Answer) -> Result<i64, String> {
    let whole = |v: f64, what: &str| {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            Ok(v as i64)
        } else {
            Err(format!("{what} {}", crate::score::number(v)))
        }
    };
    if let Some(coding) = &answer.value_coding {
        // A score read as the option value only where the two are the same: not on a reverse-keyed
        // item, whose option adds `c - value` (a sender's score there could be either).
        let weight = coding.weight().or_else(|| weight_of(&answer.extension));
        if let Some(w) = weight.filter(|_| super::questionnaire::weighs(inst, index)) {
            return whole(w, "a coding whose score is");
        }
        let ours = opts.answer_system(inst.id(), inst.response_set(index));
        if coding.system.as_deref() == Some(ours.as_str()) {
            if let Some(v) = coding.code.as_deref().and_then(|c| c.parse().ok()) {
                return Ok(v);
            }
        }
        if let Some(v) = coding.display.as_deref().and_then(|d| by_label(inst, index, d)) {
            return Ok(v);
        }
        let shown = serde_json::to_string(coding).unwrap_or_default();
        return Err(format!(
            "the coding {} (no ordinalValue or itemWeight that is the option's value, not one of Attune's codes, no option's label)",
            crate::shown(shown)
        ));
    }
    if let Some(v) = answer.value_integer {
        return Ok(v);
    }
    if let Some(v) = answer.value_decimal {
        return whole(v, "valueDecimal");
    }
    Err("an answer that is not a coding, an integer or a decimal".to_string())
}

/// The option whose catalog label is `display` (ignoring case and surrounding space), when exactly
/// one is: how an unscored item's answer (PHQ-9 item 10 from LHC-Forms) is read.
fn by_label(inst: &Instrument, index: usize, display: &str) -> Option<i64> {
    let def = inst.definition();
    let options = def.response_sets.get(inst.response_set(index))?;
    let mut found =
        options.iter().filter(|o| o.label.as_deref().is_some_and(|l| l.trim().eq_ignore_ascii_case(display.trim())));
    match (found.next(), found.next()) {
        (Some(option), None) => Some(option.value),
        _ => None,
    }
}

fn not_scorable(item: &str, why: &str, inst: &Instrument, index: usize) -> ScoreError {
    let allowed: Vec<String> = inst.option_values(index).iter().map(i64::to_string).collect();
    ScoreError::InvalidValue { item: item.to_string(), found: why.to_string(), allowed: allowed.join(", ") }
}

/// The context Attune wrote in its extension, as a request's context object.
fn context(qr: &QuestionnaireResponse, opts: &Options<'_>) -> Option<Value> {
    let url = opts.context_extension();
    let ext = qr.extension.iter().find(|e| e.url == url)?;
    let map: Map<String, Value> =
        ext.extension.iter().filter_map(|e| Some((e.url.clone(), Value::String(e.value_string.clone()?)))).collect();
    Some(Value::Object(map))
}
