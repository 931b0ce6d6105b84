//! The instrument definition as it is written in JSON: one file per instrument, the same fields as
//! the clinical reference (`shared/instruments/README.md`). This is data only; [`crate::Instrument`]
//! is the validated, compiled form the scorer runs on.
//!
//! Every text and list is a `Cow<'static, _>` and every map a sorted [`Map`], so the build step can
//! write the catalog as `static` borrowed data (see `build.rs`) while definitions read from JSON at
//! run time (feature `json`) own theirs. (The types are spelled out, not aliased, because the
//! TypeScript declarations are generated from their names.)

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// An instrument definition exactly as written in its JSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Definition {
    /// Stable lowercase id used in APIs, the CLI and URLs (`"phq9"`).
    pub id: Cow<'static, str>,
    /// Full name (`"Patient Health Questionnaire-9"`).
    pub name: Cow<'static, str>,
    /// Short display name (`"PHQ-9"`).
    pub short_name: Cow<'static, str>,
    /// Clinical domain (`"depression"`, `"cohesion"`, ...).
    pub domain: Cow<'static, str>,
    /// The primary reference. Required: every instrument shows its citation.
    #[serde(default)]
    pub citation: Option<Cow<'static, str>>,
    /// Where items, keys and rules were checked.
    #[serde(default)]
    pub sources: Cow<'static, [Cow<'static, str>]>,
    /// Licence block. Required: text is bundled only where the licence allows.
    #[serde(default)]
    pub license: Option<License>,
    /// Stem shown above the items; `None` when the host supplies it.
    #[serde(default)]
    pub instructions: Option<Cow<'static, str>>,
    /// Named sets of response options.
    #[cfg_attr(all(attune_lib, feature = "typescript"), tsify(type = "Record<string, ResponseOption[]>"))]
    pub response_sets: Map<Cow<'static, [ResponseOption]>>,
    /// Items in administration order.
    pub items: Cow<'static, [Item]>,
    /// Scores, in the order results list them.
    pub scores: Cow<'static, [ScoreDef]>,
    /// Flags raised by rules over the answers.
    #[serde(default)]
    pub flags: Cow<'static, [FlagDef]>,
    /// Skip rules (AUDIT); `None` when every item is always asked.
    #[serde(default)]
    pub skip_logic: Option<SkipLogic>,
    /// Context keys a rule reads (`sex` for AUDIT-C). Other context keys are ignored.
    #[serde(default)]
    #[cfg_attr(all(attune_lib, feature = "typescript"), tsify(type = "Record<string, ContextSpec>"))]
    pub context: Option<Map<ContextSpec>>,
    /// LOINC codes where verified: the panel and the total score (`{"panel": ..., "total": ...}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(all(attune_lib, feature = "typescript"), tsify(type = "Record<string, string>"))]
    pub loinc: Option<Map<Cow<'static, str>>>,
    /// Decisions, caveats and what could not be verified.
    #[serde(default)]
    pub notes: Cow<'static, [Cow<'static, str>]>,
    /// Reference vectors: answers and the exact expected result. Read from JSON only (the embedded
    /// catalog leaves them out).
    #[cfg(feature = "json")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_vectors: Vec<TestVector>,
}

impl Definition {
    /// A definition with nothing in it (not a valid one): a `const` stand-in where a reference must
    /// be returned and none exists.
    pub const EMPTY: Definition = Definition {
        id: Cow::Borrowed(""),
        name: Cow::Borrowed(""),
        short_name: Cow::Borrowed(""),
        domain: Cow::Borrowed(""),
        citation: None,
        sources: Cow::Borrowed(&[]),
        license: None,
        instructions: None,
        response_sets: Map(Cow::Borrowed(&[])),
        items: Cow::Borrowed(&[]),
        scores: Cow::Borrowed(&[]),
        flags: Cow::Borrowed(&[]),
        skip_logic: None,
        context: None,
        loinc: None,
        notes: Cow::Borrowed(&[]),
        #[cfg(feature = "json")]
        test_vectors: Vec::new(),
    };
}

/// Licence status of an instrument's wording and use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
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
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct License {
    /// Licence status.
    pub status: LicenceStatus,
    /// Whether item wording is part of the catalog; `false` means the host supplies it.
    pub text_bundled: bool,
    /// The owner's words, quoted, or what is known.
    pub statement: Cow<'static, str>,
    /// Line to show under the form, if any.
    #[serde(default)]
    pub attribution: Option<Cow<'static, str>>,
}

/// One response option: the published value and its label (null when the host supplies it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct ResponseOption {
    /// The published value, the number an answer carries.
    pub value: i64,
    /// Option wording, when bundled.
    #[serde(default)]
    pub label: Option<Cow<'static, str>>,
}

/// One item of the instrument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Item {
    /// 1-based item number as a string.
    pub id: Cow<'static, str>,
    /// Wording, when the licence allows it to be bundled.
    #[serde(default)]
    pub text: Option<Cow<'static, str>>,
    /// Name of the item's response set.
    pub response_set: Cow<'static, str>,
    /// `false` for items that are shown but never scored (PHQ-9 item 10).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub scored: bool,
    /// LOINC code of the item, where verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loinc: Option<Cow<'static, str>>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// How a score is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
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
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct ScoreDef {
    /// Score id, used as the key in results.
    pub id: Cow<'static, str>,
    /// Display label.
    #[serde(default)]
    pub label: Option<Cow<'static, str>>,
    /// How the score is computed.
    pub method: Method,
    /// Items of a `sum` or `mean` score.
    #[serde(default)]
    pub items: Cow<'static, [Cow<'static, str>]>,
    /// Reverse-keyed items and the reversal rule (`"6 - x"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<Reverse>,
    /// Arithmetic over other score ids, for method `expression`.
    #[serde(default)]
    pub expression: Option<Cow<'static, str>>,
    /// Table for method `lookup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<Lookup>,
    /// Lowest and highest possible value.
    pub range: [f64; 2],
    /// Missing-data rule.
    pub missing: MissingDef,
    /// Interpretive bands over the range (inclusive `min`/`max`).
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub bands: Cow<'static, [Band]>,
    /// Cut-offs: met when the value is at least `min` (and the context matches `when`).
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub cutoffs: Cow<'static, [Cutoff]>,
}

/// Reverse keying of some items of a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Reverse {
    /// Reverse-keyed items.
    pub items: Cow<'static, [Cow<'static, str>]>,
    /// The rule, `"<c> - x"`.
    pub rule: Cow<'static, str>,
}

/// A lookup table from another score's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Lookup {
    /// The score whose value is looked up.
    pub score: Cow<'static, str>,
    /// Rows: a source value in `min..=max` gives `value`.
    pub table: Cow<'static, [LookupRow]>,
}

/// One row of a lookup table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
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
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
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
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct MissingDef {
    /// The rule.
    pub rule: MissingRule,
    /// Most items that may be missing (prorate, mean-of-answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_missing: Option<u32>,
    /// The source's wording of the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Cow<'static, str>>,
}

/// An interpretive band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Band {
    /// Band id, reported in results.
    pub id: Cow<'static, str>,
    /// Lowest value (inclusive).
    pub min: f64,
    /// Highest value (inclusive).
    pub max: f64,
    /// Display label.
    #[serde(default)]
    pub label: Option<Cow<'static, str>>,
}

/// A cut-off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Cutoff {
    /// Cut-off id, reported in results when met.
    pub id: Cow<'static, str>,
    /// Met when the value is at least this.
    pub min: f64,
    /// Context the cut-off applies to (`{"sex": "female"}`); it applies whenever that key is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(all(attune_lib, feature = "typescript"), tsify(type = "Record<string, string>"))]
    pub when: Option<Map<Cow<'static, str>>>,
    /// Display label.
    #[serde(default)]
    pub label: Option<Cow<'static, str>>,
}

/// A flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct FlagDef {
    /// Flag id, reported in results when raised.
    pub id: Cow<'static, str>,
    /// Critical flags (PHQ-9 item 9) must always be shown to a clinician.
    pub critical: bool,
    /// The rule, as a condition (`"item 9 >= 1"`) or, with `unanswered_more_than`, in words.
    pub rule: Cow<'static, str>,
    /// Display label.
    #[serde(default)]
    pub label: Option<Cow<'static, str>>,
    /// Raised when more than this many of the instrument's items are unanswered (GCQ-S).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unanswered_more_than: Option<u32>,
    /// When raised, the form is invalid and every score is null (GCQ-S).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invalidates_scores: bool,
}

/// Skip logic (AUDIT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct SkipLogic {
    /// The instruction in words.
    #[serde(default)]
    pub description: Option<Cow<'static, str>>,
    /// Rules: when the condition holds, the listed items are not asked.
    pub rules: Cow<'static, [SkipRule]>,
    /// What a skipped, unanswered item contributes to a sum.
    #[serde(default)]
    pub skipped_items_score: i64,
    /// What happens to items answered although skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_anyway: Option<Cow<'static, str>>,
    /// When the form counts as complete, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_when: Option<Cow<'static, str>>,
}

/// One skip rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct SkipRule {
    /// Condition over answers (`"item 1 = 0"`).
    pub when: Cow<'static, str>,
    /// Items not asked when the condition holds.
    pub skip: Cow<'static, [Cow<'static, str>]>,
}

/// A context key a rule reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct ContextSpec {
    /// Allowed values.
    pub values: Cow<'static, [Cow<'static, str>]>,
    /// Whether the key must be given.
    #[serde(default)]
    pub required: bool,
    /// What the key does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Cow<'static, str>>,
}

/// A reference vector: answers (and context) with the exact expected result or error code.
#[cfg(feature = "json")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct TestVector {
    /// What the vector checks.
    #[serde(default)]
    pub note: Option<Cow<'static, str>>,
    /// Answers keyed by item id.
    #[cfg_attr(all(attune_lib, feature = "typescript"), tsify(type = "unknown"))]
    pub answers: serde_json::Value,
    /// Context, when the vector carries one (may deliberately be a non-object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(all(attune_lib, feature = "typescript"), tsify(type = "unknown"))]
    pub context: Option<serde_json::Value>,
    /// Expected `scores`/`flags`/`complete`, or `error` with a `code`.
    #[cfg_attr(all(attune_lib, feature = "typescript"), tsify(type = "unknown"))]
    pub expected: serde_json::Value,
}

/// Verified wording of an instrument in another language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Translation {
    /// Instrument id.
    pub instrument: Cow<'static, str>,
    /// BCP 47 language tag (`"es"`).
    pub lang: Cow<'static, str>,
    /// Where the wording comes from.
    pub source: Cow<'static, str>,
    /// Translated stem.
    #[serde(default)]
    pub instructions: Option<Cow<'static, str>>,
    /// Translated option labels by response set.
    #[cfg_attr(all(attune_lib, feature = "typescript"), tsify(type = "Record<string, ResponseOption[]>"))]
    pub response_sets: Map<Cow<'static, [ResponseOption]>>,
    /// Translated item wording by item id.
    #[cfg_attr(all(attune_lib, feature = "typescript"), tsify(type = "Record<string, string>"))]
    pub items: Map<Cow<'static, str>>,
    /// Translated attribution line.
    #[serde(default)]
    pub attribution: Option<Cow<'static, str>>,
}

/// A JSON object held as entries sorted by key: as `BTreeMap` reads and writes it, but a `static`
/// can hold one (`Map(Cow::Borrowed(&[...]))`).
#[derive(Debug, Clone, PartialEq)]
pub struct Map<V: Clone + 'static>(pub Cow<'static, [(Cow<'static, str>, V)]>);

impl<V: Clone + 'static> Map<V> {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.binary_search_by(|(k, _)| k.as_ref().cmp(key)).ok().map(|i| &self.0[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

type Entry<V> = (Cow<'static, str>, V);

impl<'m, V: Clone + 'static> IntoIterator for &'m Map<V> {
    type Item = (&'m str, &'m V);
    type IntoIter = std::iter::Map<std::slice::Iter<'m, Entry<V>>, fn(&'m Entry<V>) -> (&'m str, &'m V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<V: Clone + 'static> Default for Map<V> {
    fn default() -> Self {
        Map(Cow::Borrowed(&[]))
    }
}

impl<V: Clone + 'static> FromIterator<(String, V)> for Map<V> {
    /// Sorted by key; of two equal keys the last wins, as in a `BTreeMap`.
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let sorted: BTreeMap<String, V> = iter.into_iter().collect();
        Map(Cow::Owned(sorted.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect()))
    }
}

impl<V: Clone + Serialize + 'static> Serialize for Map<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

impl<'de, V: Clone + Deserialize<'de> + 'static> Deserialize<'de> for Map<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);
        impl<'de, V: Clone + Deserialize<'de> + 'static> Visitor<'de> for Entries<V> {
            type Value = Map<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Map<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = m.next_entry::<String, V>()? {
                    entries.push(entry);
                }
                Ok(entries.into_iter().collect())
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}
