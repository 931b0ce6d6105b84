//! The instrument definition as it is written in JSON: one file per instrument, the same fields as
//! the clinical reference (`shared/instruments/README.md`). This is data only; [`crate::Instrument`]
//! is the validated, compiled form the scorer runs on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An instrument definition exactly as written in its JSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Definition {
    /// Stable lowercase id used in APIs, the CLI and URLs (`"phq9"`).
    pub id: String,
    /// Full name (`"Patient Health Questionnaire-9"`).
    pub name: String,
    /// Short display name (`"PHQ-9"`).
    pub short_name: String,
    /// Clinical domain (`"depression"`, `"cohesion"`, ...).
    pub domain: String,
    /// The primary reference. Required: every instrument shows its citation.
    #[serde(default)]
    pub citation: Option<String>,
    /// Where items, keys and rules were checked.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Licence block. Required: text is bundled only where the licence allows.
    #[serde(default)]
    pub license: Option<License>,
    /// Stem shown above the items; `None` when the host supplies it.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Named sets of response options.
    pub response_sets: BTreeMap<String, Vec<ResponseOption>>,
    /// Items in administration order.
    pub items: Vec<Item>,
    /// Scores, in the order results list them.
    pub scores: Vec<ScoreDef>,
    /// Flags raised by rules over the answers.
    #[serde(default)]
    pub flags: Vec<FlagDef>,
    /// Skip rules (AUDIT); `None` when every item is always asked.
    #[serde(default)]
    pub skip_logic: Option<SkipLogic>,
    /// Context keys a rule reads (`sex` for AUDIT-C). Other context keys are ignored.
    #[serde(default)]
    pub context: Option<BTreeMap<String, ContextSpec>>,
    /// LOINC codes where verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", tsify(type = "unknown"))]
    pub loinc: Option<Value>,
    /// Decisions, caveats and what could not be verified.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Reference vectors: answers and the exact expected result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_vectors: Vec<TestVector>,
}

/// Licence status of an instrument's wording and use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
#[serde(rename_all = "kebab-case")]
pub enum LicenceStatus {
    /// No permission needed.
    PublicDomain,
    /// Free to use with the attribution line shown.
    FreeWithAttribution,
    /// Only for non-commercial use: excluded by a commercial build.
    NonCommercial,
    /// No licence statement could be found.
    Unverified,
    /// Keys may be used; the wording must come from the host.
    HostTextOnly,
}

impl LicenceStatus {
    /// The status as written in the JSON files.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenceStatus::PublicDomain => "public-domain",
            LicenceStatus::FreeWithAttribution => "free-with-attribution",
            LicenceStatus::NonCommercial => "non-commercial",
            LicenceStatus::Unverified => "unverified",
            LicenceStatus::HostTextOnly => "host-text-only",
        }
    }
}

/// The licence block of a definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct License {
    /// Licence status.
    pub status: LicenceStatus,
    /// Whether item wording is part of the catalog; `false` means the host supplies it.
    pub text_bundled: bool,
    /// The owner's words, quoted, or what is known.
    pub statement: String,
    /// Line to show under the form, if any.
    #[serde(default)]
    pub attribution: Option<String>,
}

/// One response option: the published value and its label (null when the host supplies it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct ResponseOption {
    /// The published value, the number an answer carries.
    pub value: i64,
    /// Option wording, when bundled.
    #[serde(default)]
    pub label: Option<String>,
}

/// One item of the instrument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Item {
    /// 1-based item number as a string.
    pub id: String,
    /// Wording, when the licence allows it to be bundled.
    #[serde(default)]
    pub text: Option<String>,
    /// Name of the item's response set.
    pub response_set: String,
    /// `false` for items that are shown but never scored (PHQ-9 item 10).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub scored: bool,
    /// LOINC code of the item, where verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loinc: Option<String>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// How a score is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Sum of the (reversed where keyed) item values.
    Sum,
    /// Mean of the item values.
    Mean,
    /// Arithmetic over other scores (`"pros - cons"`).
    Expression,
    /// A value looked up in a table from another score's value.
    Lookup,
}

/// One score of the instrument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct ScoreDef {
    /// Score id, used as the key in results.
    pub id: String,
    /// Display label.
    #[serde(default)]
    pub label: Option<String>,
    /// How the score is computed.
    pub method: Method,
    /// Items of a `sum` or `mean` score.
    #[serde(default)]
    pub items: Vec<String>,
    /// Reverse-keyed items and the reversal rule (`"6 - x"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<Reverse>,
    /// Arithmetic over other score ids, for method `expression`.
    #[serde(default)]
    pub expression: Option<String>,
    /// Table for method `lookup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<Lookup>,
    /// Lowest and highest possible value.
    pub range: [f64; 2],
    /// Missing-data rule.
    pub missing: MissingDef,
    /// Interpretive bands over the range (inclusive `min`/`max`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<Band>,
    /// Cut-offs: met when the value is at least `min` (and the context matches `when`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cutoffs: Vec<Cutoff>,
}

/// Reverse keying of some items of a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Reverse {
    /// Reverse-keyed items.
    pub items: Vec<String>,
    /// The rule, `"<c> - x"`.
    pub rule: String,
}

/// A lookup table from another score's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Lookup {
    /// The score whose value is looked up.
    pub score: String,
    /// Rows: a source value in `min..=max` gives `value`.
    pub table: Vec<LookupRow>,
}

/// One row of a lookup table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct LookupRow {
    /// Lowest source value of the row (inclusive).
    pub min: f64,
    /// Highest source value of the row (inclusive).
    pub max: f64,
    /// The looked-up value.
    pub value: f64,
}

/// Missing-data rules of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
#[serde(rename_all = "kebab-case")]
pub enum MissingRule {
    /// Any missing item makes the score null.
    NoneAllowed,
    /// Up to `max_missing` items may be missing; the sum is scaled to the full item count.
    Prorate,
    /// Mean of the answered items, null when more than `max_missing` are missing.
    MeanOfAnswered,
}

/// A score's missing-data rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct MissingDef {
    /// The rule.
    pub rule: MissingRule,
    /// Most items that may be missing (prorate, mean-of-answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_missing: Option<u32>,
    /// The source's wording of the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An interpretive band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Band {
    /// Band id, reported in results.
    pub id: String,
    /// Lowest value (inclusive).
    pub min: f64,
    /// Highest value (inclusive).
    pub max: f64,
    /// Display label.
    #[serde(default)]
    pub label: Option<String>,
}

/// A cut-off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Cutoff {
    /// Cut-off id, reported in results when met.
    pub id: String,
    /// Met when the value is at least this.
    pub min: f64,
    /// Context the cut-off applies to (`{"sex": "female"}`); it applies whenever that key is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<BTreeMap<String, String>>,
    /// Display label.
    #[serde(default)]
    pub label: Option<String>,
}

/// A flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct FlagDef {
    /// Flag id, reported in results when raised.
    pub id: String,
    /// Critical flags (PHQ-9 item 9) must always be shown to a clinician.
    pub critical: bool,
    /// The rule, as a condition (`"item 9 >= 1"`) or, with `unanswered_more_than`, in words.
    pub rule: String,
    /// Display label.
    #[serde(default)]
    pub label: Option<String>,
    /// Raised when more than this many of the instrument's items are unanswered (GCQ-S).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unanswered_more_than: Option<u32>,
    /// When raised, the form is invalid and every score is null (GCQ-S).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invalidates_scores: bool,
}

/// Skip logic (AUDIT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct SkipLogic {
    /// The instruction in words.
    #[serde(default)]
    pub description: Option<String>,
    /// Rules: when the condition holds, the listed items are not asked.
    pub rules: Vec<SkipRule>,
    /// What a skipped, unanswered item contributes to a sum.
    #[serde(default)]
    pub skipped_items_score: i64,
    /// What happens to items answered although skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_anyway: Option<String>,
    /// When the form counts as complete, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_when: Option<String>,
}

/// One skip rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct SkipRule {
    /// Condition over answers (`"item 1 = 0"`).
    pub when: String,
    /// Items not asked when the condition holds.
    pub skip: Vec<String>,
}

/// A context key a rule reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct ContextSpec {
    /// Allowed values.
    pub values: Vec<String>,
    /// Whether the key must be given.
    #[serde(default)]
    pub required: bool,
    /// What the key does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A reference vector: answers (and context) with the exact expected result or error code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct TestVector {
    /// What the vector checks.
    #[serde(default)]
    pub note: Option<String>,
    /// Answers keyed by item id.
    #[cfg_attr(feature = "typescript", tsify(type = "unknown"))]
    pub answers: Value,
    /// Context, when the vector carries one (may deliberately be a non-object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", tsify(type = "unknown"))]
    pub context: Option<Value>,
    /// Expected `scores`/`flags`/`complete`, or `error` with a `code`.
    #[cfg_attr(feature = "typescript", tsify(type = "unknown"))]
    pub expected: Value,
}

/// Verified wording of an instrument in another language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Translation {
    /// Instrument id.
    pub instrument: String,
    /// BCP 47 language tag (`"es"`).
    pub lang: String,
    /// Where the wording comes from.
    pub source: String,
    /// Translated stem.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Translated option labels by response set.
    pub response_sets: BTreeMap<String, Vec<ResponseOption>>,
    /// Translated item wording by item id.
    pub items: BTreeMap<String, String>,
    /// Translated attribution line.
    #[serde(default)]
    pub attribution: Option<String>,
}
