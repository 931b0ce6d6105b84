//! The shapes that cross the JavaScript boundary, declared once in Rust: tsify turns them into the
//! package's TypeScript declarations. Values are produced by `attune-core`'s own serializers, so each
//! type here mirrors one of them exactly; `tests/contract.rs` checks every reference vector, catalog
//! entry and group example against these types with unknown fields denied.

use std::collections::BTreeMap;

use attune_core::model::{Definition, Translation};
use serde::{Deserialize, Serialize};
use tsify::Tsify;

/// A field whose TypeScript type is declared by hand: JavaScript passes it, the bindings read it
/// part by part (`read.rs`), and no Rust value of this type is ever made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnyJson;

/// One response to score: answers keyed by item id (`"1"`, `"2"`, ...) with the published option
/// values. An unanswered item is absent (or `null`); it is never a zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
pub struct ScoreRequest {
    /// Catalog id of the instrument (`"phq9"`); `catalog()` lists them.
    pub instrument: String,
    /// Answers keyed by item id. Values must be one of the item's option values.
    #[serde(default)]
    #[tsify(optional)]
    pub answers: Option<BTreeMap<String, Option<i64>>>,
    /// What some rules need, such as `{ sex: "female" }` for AUDIT-C. Other keys are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[tsify(optional, type = "Record<string, string | number | boolean | null>")]
    pub context: Option<AnyJson>,
    /// Your own reference for this response. Not used in scoring; the CLI echoes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[tsify(optional, type = "unknown")]
    pub id: Option<AnyJson>,
}

/// A scored response, in the JSON shape every part of Attune uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
#[serde(deny_unknown_fields)]
pub struct ScoreResult {
    /// Instrument id.
    pub instrument: String,
    /// `true` when every item that the instrument asks (after skip rules) was answered.
    pub complete: bool,
    /// Every score of the instrument, keyed by score id.
    pub scores: BTreeMap<String, ScoreValue>,
    /// Ids of the flags raised, critical ones included (PHQ-9 `item9_positive`).
    pub flags: Vec<String>,
}

/// One score of a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
#[serde(deny_unknown_fields)]
pub struct ScoreValue {
    /// The score, or `null` when the instrument's missing-data rule does not allow computing it.
    pub value: Option<f64>,
    /// Band id (`"moderate"`), or `null` when the value is null or the score has no bands.
    pub band: Option<String>,
    /// Ids of the cut-offs met.
    pub cutoffs: Vec<String>,
}

/// A response that could not be scored (`scoreMany` reports these in place of a result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
#[serde(deny_unknown_fields)]
pub struct ScoreFailure {
    /// The instrument id given in the request, when there was one.
    pub instrument: Option<String>,
    /// What was wrong.
    pub error: ErrorBody,
}

/// The outcome of one response of `scoreMany`: a result, or a failure with an `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
#[serde(untagged)]
pub enum ScoreOutcome {
    /// Scored.
    Scored(ScoreResult),
    /// Not scored.
    Failed(ScoreFailure),
}

/// An error, as JSON. Its `code` is the core's `ErrorCode`, declared to TypeScript from that type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// Stable code.
    pub code: attune_core::ErrorCode,
    /// The item concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// For group statistics: the 0-based position of the member whose answers were rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<u32>,
    /// What is wrong, for a person.
    pub message: String,
}

/// Options of `catalog()`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
#[serde(rename_all = "camelCase")]
pub struct CatalogOptions {
    /// Only instruments a commercial host may use (leaves out non-commercial licences).
    #[serde(default)]
    #[tsify(optional)]
    pub commercial: Option<bool>,
}

/// An instrument's full definition: items, options, wording where its licence allows, scores,
/// bands, cut-offs, flags, licence and citation, plus its verified translations. (The reference
/// vectors are left out; they ship in the package's `instruments/` folder.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
pub struct InstrumentDefinition {
    /// The definition.
    #[serde(flatten)]
    pub definition: Definition,
    /// Verified translations of the wording (`lang`, instructions, items, options).
    pub translations: Vec<Translation>,
}

/// Options of `groupStats()`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
#[serde(rename_all = "camelCase")]
pub struct GroupOptions {
    /// Minimum number of members before any statistic is shown (default 3).
    #[serde(default)]
    #[tsify(optional)]
    pub min_n: Option<u32>,
}

/// One member's answers for `groupStats()`, keyed by item id, as in a `ScoreRequest`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
#[serde(transparent)]
pub struct MemberAnswers(pub BTreeMap<String, Option<i64>>);

/// Group statistics (`shared/instruments/group-statistics.md`): below the minimum group size every
/// statistic is null and every count list is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
#[serde(deny_unknown_fields)]
pub struct GroupStats {
    /// Instrument id.
    pub instrument: String,
    /// Members who answered at least one item.
    pub n: u32,
    /// Whether `n` is below the minimum group size, so that nothing is shown.
    pub suppressed: bool,
    /// Every score, keyed by score id.
    pub scores: BTreeMap<String, ScoreStats>,
    /// Every item, keyed by item id.
    pub items: BTreeMap<String, ItemStats>,
}

/// A score over the group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
#[serde(deny_unknown_fields)]
pub struct ScoreStats {
    /// Members whose value for this score is not null.
    pub n: u32,
    /// Mean.
    pub mean: Option<f64>,
    /// Sample standard deviation (n - 1).
    pub sd: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Within-group agreement: r_wg for one item, r_wg(j) for several.
    pub rwg: Option<f64>,
}

/// An item's answers over the group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Tsify)]
#[tsify(hashmap_as_object, missing_as_null)]
#[serde(deny_unknown_fields)]
pub struct ItemStats {
    /// Members who answered it.
    pub n: u32,
    /// Members per option value (keyed by the value); empty when suppressed.
    pub counts: BTreeMap<String, u32>,
}
