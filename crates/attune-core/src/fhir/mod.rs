//! HL7 FHIR R4 (with the Structured Data Capture guide) both ways: every instrument as a
//! `Questionnaire`, a scored response as a `QuestionnaireResponse` with `Observation`s in a
//! transaction `Bundle`, and a `QuestionnaireResponse` from any system read back into a request.
//!
//! The resource types here are the part of R4 Attune writes and reads, typed; unknown fields of a
//! resource read from elsewhere are ignored. LOINC codes come only from the catalog's `loinc`
//! fields, and carry no `display` (LOINC's own names are not in the catalog; the concept's `text`
//! says what it is); everything without one is coded in Attune's own code systems, under a canonical base
//! that a clinic may set to its own (see [`Options::base`] and the crate README).

mod questionnaire;
mod read;
mod results;

use serde::{Deserialize, Serialize};

pub use questionnaire::{questionnaire, STEM_LINK_ID};
pub use read::{request_from_questionnaire_response, Reading};
pub use results::{bundle, group_observation, observations, questionnaire_response};

use crate::{Instrument, TextPack};

/// The canonical base used unless a host sets its own: Questionnaires are `{base}/Questionnaire/{id}`,
/// Attune's code systems `{base}/CodeSystem/...`. A URN, because Attune publishes no server of its
/// own; a clinic that publishes its Questionnaires sets its own base.
pub const DEFAULT_BASE: &str = "urn:attune:fhir";
/// LOINC's code system.
pub const LOINC: &str = "http://loinc.org";
/// The SDC (R4) extension carrying an answer option's score.
pub const ORDINAL_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/ordinalValue";
/// The newer (R5 core, SDC 3+) extension carrying an answer option's score; readers accept either.
pub const ITEM_WEIGHT: &str = "http://hl7.org/fhir/StructureDefinition/itemWeight";
/// The SDC extension for an `enableWhen` that plain `enableWhen` cannot express.
pub const ENABLE_WHEN_EXPRESSION: &str =
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const DATA_ABSENT_REASON: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
const UCUM: &str = "http://unitsofmeasure.org";

/// How resources are written: the canonical base, the language and text, and what a response
/// carries besides its answers.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// Canonical base ([`DEFAULT_BASE`] by default).
    pub base: &'a str,
    /// Language of the text (`"en"`); bundled English is used for `en`, a verified translation or
    /// the host's pack for others.
    pub lang: &'a str,
    /// Host-supplied wording (required for the text of instruments whose licence keeps it out;
    /// without it their items have no text, never invented text).
    pub text: Option<&'a TextPack>,
    /// When the response was completed, as a FHIR `dateTime` (`authored`, `effectiveDateTime`).
    pub authored: Option<&'a str>,
    /// A reference to the patient (`"Patient/123"`), when the host has one. Left out otherwise.
    pub subject: Option<&'a str>,
    /// The caller's own id for the response (a CSV row's id), as the QuestionnaireResponse's
    /// `identifier`; read back as the request's `id`.
    pub identifier: Option<&'a str>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options { base: DEFAULT_BASE, lang: "en", text: None, authored: None, subject: None, identifier: None }
    }
}

impl Options<'_> {
    /// Checks what a host passes in: `authored` a FHIR `dateTime`, `subject` a reference, `base` an
    /// absolute URI. The message names the option.
    pub fn check(&self) -> Result<(), String> {
        if let Some(when) = self.authored {
            check_date_time(when).map_err(|why| format!("authored `{when}` is not a FHIR dateTime: {why}"))?;
        }
        if let Some(subject) = self.subject {
            let (kind, id) = subject.rsplit_once('/').unwrap_or_default();
            let kind = kind.rsplit('/').next().unwrap_or_default();
            let id_ok = !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            // What R4 allows as the subject of the Observations.
            if !(["Patient", "Group", "Device", "Location"].contains(&kind) && id_ok) {
                return Err(format!(
                    "subject `{subject}` is not a reference to a Patient, Group, Device or Location, such as `Patient/123`"
                ));
            }
        }
        let scheme = self.base.split_once(':').map(|(s, _)| s).unwrap_or_default();
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok || self.base.ends_with('/') || self.base.contains(char::is_whitespace) {
            return Err(format!(
                "base `{}` is not an absolute URI without a trailing `/` (e.g. `https://clinic.example.org/fhir`)",
                self.base
            ));
        }
        Ok(())
    }

    /// Checks that `lang` has wording to write: English, a verified translation, or a language of
    /// the host's pack.
    pub fn check_language(&self, inst: &Instrument) -> Result<(), String> {
        let host = self.text.is_some_and(|p| p.languages.get(self.lang).is_some());
        if self.lang == "en" || host || inst.translation(self.lang).is_some() {
            return Ok(());
        }
        let mut have: Vec<&str> = vec!["en"];
        have.extend(inst.translations().iter().map(|t| t.lang.as_ref()));
        Err(format!("`{}` has no wording in `{}`: it has {}", inst.id(), self.lang, have.join(", ")))
    }

    /// The Questionnaire's canonical URL.
    pub fn questionnaire_url(&self, instrument: &str) -> String {
        format!("{}/Questionnaire/{instrument}", self.base)
    }
    /// The code system of an instrument's response set: its codes are the option values.
    pub fn answer_system(&self, instrument: &str, set: &str) -> String {
        format!("{}/CodeSystem/{instrument}-{set}", self.base)
    }
    /// Attune's code system for panels, scores, bands, cut-offs and flags: `phq9`, `phq9.total`,
    /// `phq9.total.band.moderate`, `phq9.total.cutoff.positive`, `phq9.flag.item9_positive`.
    pub fn score_system(&self) -> String {
        format!("{}/CodeSystem/scores", self.base)
    }
    /// The extension carrying a response's context (`sex` for AUDIT-C), one sub-extension per key.
    pub fn context_extension(&self) -> String {
        format!("{}/StructureDefinition/context", self.base)
    }
}

/// Checks a FHIR `dateTime`: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or a date and time with seconds and
/// a zone (`2026-12-05T09:30:00Z`, `...T09:30:00.250+01:00`).
pub fn check_date_time(s: &str) -> Result<(), &'static str> {
    let digits = |part: &str, n: usize| part.len() == n && part.bytes().all(|b| b.is_ascii_digit());
    let in_range = |part: &str, lo: u32, hi: u32| part.parse::<u32>().is_ok_and(|v| (lo..=hi).contains(&v));
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let year_ok = |y: &str| digits(y, 4) && in_range(y, 1, 9999);
    let days_in = |y: &str, m: &str| {
        let (y, m) = (y.parse::<u32>().unwrap_or(1), m.parse::<u32>().unwrap_or(1));
        match m {
            2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    };
    let date_ok = match parts.as_slice() {
        [y] => year_ok(y),
        [y, m] => year_ok(y) && digits(m, 2) && in_range(m, 1, 12),
        [y, m, d] => year_ok(y) && digits(m, 2) && in_range(m, 1, 12) && digits(d, 2) && in_range(d, 1, days_in(y, m)),
        _ => false,
    };
    if !date_ok {
        return Err("the date must be YYYY, YYYY-MM or YYYY-MM-DD");
    }
    let Some(time) = time else { return Ok(()) };
    if parts.len() != 3 {
        return Err("a time needs a full date");
    }
    let (clock, zone) = if let Some(clock) = time.strip_suffix('Z') {
        (clock, "Z")
    } else {
        match time.rfind(['+', '-']) {
            Some(k) => (&time[..k], &time[k..]),
            None => return Err("a time needs a zone, `Z` or `+hh:mm`"),
        }
    };
    let zone_ok = zone == "Z"
        || matches!(zone[1..].split_once(':'), Some((h, m)) if digits(h, 2) && digits(m, 2) && in_range(m, 0, 59)
            && (in_range(h, 0, 13) || (h == "14" && m == "00")));
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
    let hms: Vec<&str> = hms.split(':').collect();
    let clock_ok = matches!(hms.as_slice(), [h, m, s] if digits(h, 2) && in_range(h, 0, 23) && digits(m, 2)
        && in_range(m, 0, 59) && digits(s, 2) && in_range(s, 0, 60))
        && (1..=9).contains(&fraction.len())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if zone_ok && clock_ok {
        Ok(())
    } else {
        Err("the time must be hh:mm:ss with a zone, e.g. 2026-12-05T09:30:00Z")
    }
}

/// Unix seconds as a FHIR `instant`/`dateTime` in UTC (`2026-12-05T09:30:00Z`).
pub fn date_time_from_unix(seconds: i64) -> String {
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar; H. Hinnant's method).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3_600, secs % 3_600 / 60, secs % 60)
}

/// The wording to write: the host's pack first, then what the catalog bundles.
struct Wording<'a> {
    host: Option<&'a crate::PackLanguage>,
    bundled: Option<crate::PackLanguage>,
}

impl<'a> Wording<'a> {
    fn new(inst: &Instrument, opts: &Options<'a>) -> Self {
        let host = opts.text.and_then(|p| p.languages.get(opts.lang));
        let bundled = inst.bundled_text().languages.get(opts.lang).cloned();
        Wording { host, bundled }
    }
    fn find(&self, pick: impl Fn(&crate::PackLanguage) -> Option<&String>) -> Option<String> {
        self.host.and_then(&pick).or_else(|| self.bundled.as_ref().and_then(&pick)).cloned()
    }
    fn instructions(&self) -> Option<String> {
        self.find(|l| l.instructions.as_ref())
    }
    fn item(&self, id: &str) -> Option<String> {
        self.find(|l| l.items.get(id))
    }
    fn option(&self, set: &str, value: i64) -> Option<String> {
        self.find(|l| l.options.get(set)?.get(&value.to_string()))
    }
    fn score(&self, id: &str) -> Option<String> {
        self.find(|l| l.scores.get(id))
    }
    fn band(&self, score: &str, id: &str) -> Option<String> {
        self.find(|l| l.bands.get(score)?.get(id))
    }
    fn cutoff(&self, score: &str, id: &str) -> Option<String> {
        self.find(|l| l.cutoffs.get(score)?.get(id))
    }
    fn flag(&self, id: &str) -> Option<String> {
        self.find(|l| l.flags.get(id))
    }
}

/// FHIR decimals as Attune writes numbers: `3`, not `3.0`.
fn decimal<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    crate::score::serialize_number(*v, s)
}

fn some_decimal<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => crate::score::serialize_number(*v, s),
        None => s.serialize_none(),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A FHIR `Extension` with the value types Attune writes and reads.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    /// What the extension is.
    pub url: String,
    /// Nested extensions (a complex extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// `valueDecimal`.
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "some_decimal")]
    pub value_decimal: Option<f64>,
    /// `valueInteger`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_integer: Option<i64>,
    /// `valueString`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_string: Option<String>,
    /// `valueExpression`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_expression: Option<Expression>,
}

impl Extension {
    fn decimal(url: &str, value: f64) -> Self {
        Extension { url: url.to_string(), value_decimal: Some(value), ..Extension::default() }
    }
    fn string(url: &str, value: &str) -> Self {
        Extension { url: url.to_string(), value_string: Some(value.to_string()), ..Extension::default() }
    }
}

/// A FHIR `Expression` (FHIRPath for Attune).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expression {
    /// `text/fhirpath`.
    pub language: String,
    /// The expression.
    pub expression: String,
    /// What it says, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A FHIR `Coding`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Coding {
    /// Extensions (the score of an answer: [`ORDINAL_VALUE`], [`ITEM_WEIGHT`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// The code system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Its display text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Coding {
    fn new(system: &str, code: &str, display: Option<String>) -> Self {
        Coding { extension: Vec::new(), system: Some(system.to_string()), code: Some(code.to_string()), display }
    }
    /// The score an answer coding carries in [`ORDINAL_VALUE`] or [`ITEM_WEIGHT`].
    pub fn weight(&self) -> Option<f64> {
        weight_of(&self.extension)
    }
}

fn weight_of(extensions: &[Extension]) -> Option<f64> {
    extensions
        .iter()
        .filter(|e| e.url == ORDINAL_VALUE || e.url == ITEM_WEIGHT)
        .find_map(|e| e.value_decimal.or(e.value_integer.map(|i| i as f64)))
}

/// A FHIR `CodeableConcept`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CodeableConcept {
    /// Codings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    /// Plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A FHIR `Reference`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Reference {
    /// The reference (`"Patient/123"`, `"urn:uuid:..."`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Text for a subject that is not a resource (a therapy group's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// A FHIR `Identifier`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Identifier {
    /// Where the value is unique, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A FHIR `Quantity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    /// The value.
    #[serde(serialize_with = "decimal")]
    pub value: f64,
    /// The unit as shown.
    pub unit: String,
    /// UCUM.
    pub system: String,
    /// The UCUM code (`{score}`).
    pub code: String,
}

/// A FHIR `Questionnaire`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct Questionnaire {
    /// The instrument id.
    pub id: String,
    /// Language of the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Canonical URL.
    pub url: String,
    /// The Attune version that wrote it.
    pub version: String,
    /// A computer-friendly name (`Phq9`).
    pub name: String,
    /// The instrument's full name.
    pub title: String,
    /// Always `active`.
    pub status: String,
    /// The citation and the licence.
    pub copyright: String,
    /// The LOINC panel, where the catalog has one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code: Vec<Coding>,
    /// The stem (a `display` item) and the items.
    pub item: Vec<QuestionnaireItem>,
}

/// An item of a [`Questionnaire`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionnaireItem {
    /// [`ENABLE_WHEN_EXPRESSION`] where a skip rule needs more than `enableWhen`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// The item id.
    pub link_id: String,
    /// The item's LOINC code, where the catalog has one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code: Vec<Coding>,
    /// The wording, when the licence bundles it or the host supplied it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `choice` for items, `display` for the stem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Skip rules: the item is asked only when these hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enable_when: Vec<EnableWhen>,
    /// `all` when there is more than one `enableWhen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_behavior: Option<String>,
    /// Never true: an instrument's missing-data rule decides what an unanswered item means.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// The options, each a coding whose score is its [`ORDINAL_VALUE`] and [`ITEM_WEIGHT`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answer_option: Vec<AnswerOption>,
}

/// A Questionnaire item's `enableWhen`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnableWhen {
    /// The item whose answer is compared.
    pub question: String,
    /// `!=`, or `exists`.
    pub operator: String,
    /// For `exists`: whether an answer is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_boolean: Option<bool>,
    /// For `!=`: the option compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_coding: Option<Coding>,
}

/// An `answerOption`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerOption {
    /// The option.
    pub value_coding: Coding,
}

/// A FHIR `QuestionnaireResponse`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct QuestionnaireResponse {
    /// The resource id, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The response's context (`sex` for AUDIT-C), in Attune's context extension.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// The caller's own id for the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Identifier>,
    /// The Questionnaire's canonical URL (`url|version` also accepted when read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub questionnaire: Option<String>,
    /// `completed` when the result is complete, else `in-progress`.
    #[serde(default)]
    pub status: String,
    /// The patient, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Reference>,
    /// When it was completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authored: Option<String>,
    /// The answered items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item: Vec<ResponseItem>,
}

/// An item of a [`QuestionnaireResponse`]; groups nest items.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseItem {
    /// The Questionnaire item this answers.
    pub link_id: String,
    /// The item's text, when written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The answers (one for Attune's items).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answer: Vec<Answer>,
    /// Nested items (groups).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item: Vec<ResponseItem>,
}

/// An answer of a [`ResponseItem`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// Extensions (an [`ORDINAL_VALUE`] or [`ITEM_WEIGHT`] may sit here instead of on the coding).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// A coded answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_coding: Option<Coding>,
    /// An integer answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_integer: Option<i64>,
    /// A decimal answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_decimal: Option<f64>,
    /// A text answer (never scored: an error when read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_string: Option<String>,
    /// A boolean answer (never scored: an error when read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_boolean: Option<bool>,
    /// Questions nested under this answer (read like any other).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item: Vec<ResponseItem>,
}

/// A FHIR `Observation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct Observation {
    /// `final` for a complete response, `preliminary` for an incomplete one.
    pub status: String,
    /// `survey`.
    pub category: Vec<CodeableConcept>,
    /// LOINC where the catalog has a code, else Attune's score system.
    pub code: CodeableConcept,
    /// The patient, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Reference>,
    /// When the response was completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date_time: Option<String>,
    /// A score's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_quantity: Option<Quantity>,
    /// A flag: always `true` (only raised flags are written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_boolean: Option<bool>,
    /// Why a score has no value: its missing-data rule left it null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_absent_reason: Option<CodeableConcept>,
    /// The band and the cut-offs met; `AA` (critical) for a critical flag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interpretation: Vec<CodeableConcept>,
    /// A group's statistics, one component each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub component: Vec<Component>,
    /// The panel's scores and flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub has_member: Vec<Reference>,
    /// The QuestionnaireResponse it was scored from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derived_from: Vec<Reference>,
}

/// A component of an [`Observation`]: one statistic of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// Which statistic of which score.
    pub code: CodeableConcept,
    /// A mean, SD, minimum, maximum or agreement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_quantity: Option<Quantity>,
    /// A count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_integer: Option<i64>,
    /// Why there is no value: `masked` below the minimum group size, else `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_absent_reason: Option<CodeableConcept>,
}

/// A FHIR transaction `Bundle`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct Bundle {
    /// `transaction`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The QuestionnaireResponse first, then the Observations.
    pub entry: Vec<BundleEntry>,
}

/// One entry of a [`Bundle`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    /// `urn:uuid:...`, what the other entries reference.
    pub full_url: String,
    /// The resource.
    pub resource: Resource,
    /// `POST` to the resource type.
    pub request: BundleRequest,
}

/// What a transaction does with an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleRequest {
    /// `POST`.
    pub method: String,
    /// The resource type.
    pub url: String,
}

/// A resource in a [`Bundle`] (each writes its own `resourceType`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Resource {
    /// The response.
    QuestionnaireResponse(QuestionnaireResponse),
    /// A score, flag or panel.
    Observation(Observation),
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        match value.get("resourceType").and_then(serde_json::Value::as_str) {
            Some("QuestionnaireResponse") => {
                serde_json::from_value(value).map(Resource::QuestionnaireResponse).map_err(D::Error::custom)
            }
            Some("Observation") => serde_json::from_value(value).map(Resource::Observation).map_err(D::Error::custom),
            other => Err(D::Error::custom(format!("a Bundle entry of resourceType {other:?} is not one Attune reads"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_are_checked_as_fhir_reads_them() {
        for ok in [
            "2026",
            "2026-12",
            "2026-12-05",
            "2026-12-05T09:30:00Z",
            "2026-12-05T09:30:00.250+01:00",
            "2026-12-05T23:59:60-05:00",
            "2024-02-29",
            "2026-12-05T09:30:00+14:00",
        ] {
            assert_eq!(check_date_time(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "26-12-05",
            "2026-13-01",
            "2026-12-5",
            "2026-12-05T09:30",
            "2026-12-05T09:30:00",
            "2026-12T09:30:00Z",
            "2026-12-05T25:00:00Z",
            "2026-12-05T09:30:00.Z",
            "yesterday",
            "2026-02-29",
            "2026-04-31",
            "0000",
            "2026-12-05T09:30:00+14:30",
            "2026-12-05T09:30:00.1234567890Z",
        ] {
            assert!(check_date_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unix_seconds_are_utc_date_times() {
        assert_eq!(date_time_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(date_time_from_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(date_time_from_unix(1_796_463_000), "2026-12-05T09:30:00Z");
        assert_eq!(date_time_from_unix(-1), "1969-12-31T23:59:59Z");
        assert_eq!(check_date_time(&date_time_from_unix(4_102_444_799)), Ok(()));
    }

    #[test]
    fn options_name_what_is_wrong() {
        let check = |o: Options<'_>| o.check();
        assert_eq!(check(Options::default()), Ok(()));
        assert_eq!(
            check(Options {
                base: "https://clinic.example.org/fhir",
                subject: Some("Patient/p-1"),
                ..Options::default()
            }),
            Ok(())
        );
        assert!(check(Options { base: "https://clinic.example.org/fhir/", ..Options::default() })
            .unwrap_err()
            .contains("base"));
        assert!(check(Options { base: "clinic", ..Options::default() }).unwrap_err().contains("base"));
        assert!(check(Options { subject: Some("p1"), ..Options::default() }).unwrap_err().contains("subject"));
        assert!(check(Options { subject: Some("Practitioner/1"), ..Options::default() })
            .unwrap_err()
            .contains("subject"));
        assert!(check(Options { authored: Some("today"), ..Options::default() }).unwrap_err().contains("authored"));
    }
}
