//! The scoring engine: validates an answer set against an instrument, then computes every score,
//! band, cut-off and flag exactly as the definition says. Missing answers are never zeros.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
#[cfg(feature = "json")]
use serde_json::{Map, Value};

use crate::error::ScoreError;
use crate::instrument::Instrument;
use crate::model::MissingRule;
use crate::plan::{Calc, FlagTest};

/// An answer set validated against one instrument: one slot per item, `None` when unanswered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerSheet {
    values: Vec<Option<i64>>,
}

impl AnswerSheet {
    /// The answer to the item at `index`, if given.
    pub fn get(&self, index: usize) -> Option<i64> {
        self.values.get(index).copied().flatten()
    }

    /// Number of items answered.
    pub fn answered(&self) -> usize {
        self.values.iter().filter(|v| v.is_some()).count()
    }

    /// All slots, in item order.
    pub fn values(&self) -> &[Option<i64>] {
        &self.values
    }
}

/// Context values validated against an instrument's declared context keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContextValues {
    /// For each declared key: the index of the given value among the allowed ones.
    values: Vec<Option<usize>>,
}

/// How far a respondent has come: items answered among those the instrument asks, its skip rules
/// applied to the answers so far (AUDIT asks 3 items after "Never" to item 1, not 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Items answered among those asked.
    pub answered: usize,
    /// Items asked.
    pub total: usize,
}

/// The result of scoring one answer set. Ids borrow from the instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreResult<'a> {
    /// Instrument id.
    pub instrument: &'a str,
    /// Every item used by a score is answered (or legitimately skipped).
    pub complete: bool,
    /// One outcome per score, in definition order.
    pub scores: Vec<ScoreOutcome<'a>>,
    /// Raised flags, in definition order.
    pub flags: Vec<&'a str>,
}

/// One score of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreOutcome<'a> {
    /// Score id.
    pub id: &'a str,
    /// The exact value, or `None` when the missing-data rule does not allow one.
    pub value: Option<f64>,
    /// The band the value falls in.
    pub band: Option<&'a str>,
    /// Cut-offs met, in definition order.
    pub cutoffs: Vec<&'a str>,
}

impl<'a> ScoreResult<'a> {
    /// The outcome of the score with this id.
    pub fn score(&self, id: &str) -> Option<&ScoreOutcome<'a>> {
        self.scores.iter().find(|s| s.id == id)
    }

    /// Whether the flag with this id was raised.
    pub fn has_flag(&self, id: &str) -> bool {
        self.flags.contains(&id)
    }
}

/// Writes integral values as JSON integers (`12`, not `12.0`) and others as exact floats.
pub(crate) fn serialize_number<S: Serializer>(v: f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        // The value is integral and within i64's exact range, so the cast is lossless.
        s.serialize_i64(v as i64)
    } else {
        s.serialize_f64(v)
    }
}

/// A number as text, written the way [`serialize_number`] writes it (`12`, `14.625`).
#[cfg(feature = "fhir")]
pub(crate) fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        // Integral and within i64's exact range, as above.
        (v as i64).to_string()
    } else {
        v.to_string()
    }
}

pub(crate) struct Num(pub(crate) Option<f64>);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(v) if v.is_finite() => serialize_number(v, s),
            _ => s.serialize_none(),
        }
    }
}

impl Serialize for ScoreOutcome<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("value", &Num(self.value))?;
        m.serialize_entry("band", &self.band)?;
        m.serialize_entry("cutoffs", &self.cutoffs)?;
        m.end()
    }
}

struct ScoreMap<'r, 'a>(&'r [ScoreOutcome<'a>]);

impl Serialize for ScoreMap<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for o in self.0 {
            m.serialize_entry(o.id, o)?;
        }
        m.end()
    }
}

impl Serialize for ScoreResult<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("instrument", self.instrument)?;
        m.serialize_entry("complete", &self.complete)?;
        m.serialize_entry("scores", &ScoreMap(&self.scores))?;
        m.serialize_entry("flags", &self.flags)?;
        m.end()
    }
}

/// One answer as given, before it is checked against the item's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer<'a> {
    /// Unanswered (`null`).
    Null,
    /// A whole number: an option value if the item has it.
    Integer(i64),
    /// Anything else (a fraction, a string, ...), as it is shown in the error: JSON text, at most
    /// 40 bytes (see [`shown`]).
    Other(&'a str),
}

/// A context value as given, for [`Instrument::context_values_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextInput<'a> {
    /// Not given, or `null`.
    Absent,
    /// A string.
    Text(std::borrow::Cow<'a, str>),
    /// Anything else, shown as JSON text of at most 40 bytes (see [`shown`]).
    Other(String),
}

/// `s` as a JSON string literal, escaped as JSON writers escape it.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// How error messages show a value that was given: its JSON text, cut to 40 bytes (on a character
/// boundary) with `...` when it is longer.
pub fn shown(mut json: String) -> String {
    if json.len() > 40 {
        let mut cut = 37;
        while !json.is_char_boundary(cut) {
            cut -= 1;
        }
        json.truncate(cut);
        json.push_str("...");
    }
    json
}

#[cfg(feature = "json")]
/// A JSON number that is exactly an integer (`2` or `2.0`), as the reference conventions require.
fn as_integer(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // |f| < 2^53 keeps the conversion exact; anything larger is no option value anyway.
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

#[cfg(feature = "json")]
fn show_value(v: &Value) -> String {
    shown(v.to_string())
}

impl Instrument {
    /// Validates answers keyed by item id, in the order given (callers give them sorted by id, as
    /// a JSON object is read, so the first error is the same whoever calls). `null` counts as
    /// unanswered; anything that is not one of the item's option values is an error, and so is an
    /// item id the instrument does not have.
    pub fn answer_sheet_from_values<'k, 'v>(
        &self,
        answers: impl IntoIterator<Item = (&'k str, Answer<'v>)>,
    ) -> Result<AnswerSheet, ScoreError> {
        let mut values = vec![None; self.item_ids.len()];
        for (id, v) in answers {
            let Some(i) = self.find_item(id) else {
                return Err(ScoreError::UnknownItem { item: id.to_string() });
            };
            match v {
                Answer::Null => {}
                Answer::Integer(x) if self.option_values(i).contains(&x) => values[i] = Some(x),
                Answer::Integer(x) => return Err(self.invalid_value(i, id, x.to_string())),
                Answer::Other(text) => return Err(self.invalid_value(i, id, text.to_string())),
            }
        }
        Ok(AnswerSheet { values })
    }

    /// Validates answers keyed by item id (JSON). See [`Instrument::answer_sheet_from_values`].
    #[cfg(feature = "json")]
    pub fn answer_sheet(&self, answers: &Map<String, Value>) -> Result<AnswerSheet, ScoreError> {
        let shown: Vec<Option<String>> =
            answers.values().map(|v| (!v.is_null() && as_integer(v).is_none()).then(|| show_value(v))).collect();
        self.answer_sheet_from_values(answers.iter().zip(&shown).map(|((id, v), text)| {
            let answer = match (v, as_integer(v), text) {
                (Value::Null, _, _) => Answer::Null,
                (_, Some(x), _) => Answer::Integer(x),
                (_, None, text) => Answer::Other(text.as_deref().unwrap_or("")),
            };
            (id.as_str(), answer)
        }))
    }

    /// Builds an answer sheet from `(item id, value)` pairs, with the same checks as JSON answers.
    pub fn answer_sheet_from_pairs<'k>(
        &self,
        pairs: impl IntoIterator<Item = (&'k str, i64)>,
    ) -> Result<AnswerSheet, ScoreError> {
        self.answer_sheet_from_values(pairs.into_iter().map(|(id, x)| (id, Answer::Integer(x))))
    }

    fn invalid_value(&self, i: usize, id: &str, found: String) -> ScoreError {
        let allowed: Vec<String> = self.option_values(i).iter().map(i64::to_string).collect();
        ScoreError::InvalidValue { item: id.to_string(), found, allowed: allowed.join(", ") }
    }

    /// Validates a context: `get` returns what was given for each key the instrument declares.
    /// Declared keys must carry allowed values (or be absent, unless required); other keys are never
    /// asked for. A context that is not an object is [`ScoreError::context_not_an_object`].
    pub fn context_values_with<'v>(
        &self,
        mut get: impl FnMut(&str) -> ContextInput<'v>,
    ) -> Result<ContextValues, ScoreError> {
        let mut values = Vec::with_capacity(self.context.len());
        for crate::plan::ContextPlan { key, values: allowed, required } in self.context.iter() {
            let found = match get(key) {
                ContextInput::Absent => {
                    if *required {
                        return Err(ScoreError::invalid_context(format!(
                            "context `{key}` is required ({})",
                            allowed.join(" or ")
                        )));
                    }
                    values.push(None);
                    continue;
                }
                ContextInput::Text(s) => match allowed.iter().position(|a| *a == s) {
                    Some(i) => {
                        values.push(Some(i));
                        continue;
                    }
                    None => shown(json_string(&s)),
                },
                ContextInput::Other(text) => text,
            };
            return Err(ScoreError::invalid_context(format!(
                "context `{key}` is {found}; allowed values are {}",
                allowed.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(ContextValues { values })
    }

    /// Validates the context: absent or `null` is empty; otherwise it must be an object whose
    /// declared keys carry allowed values (or `null`). Undeclared keys are ignored.
    #[cfg(feature = "json")]
    pub fn context_values(&self, context: Option<&Value>) -> Result<ContextValues, ScoreError> {
        let obj = match context {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => Some(o),
            Some(other) => return Err(ScoreError::context_not_an_object(&show_value(other))),
        };
        self.context_values_with(|key| match obj.and_then(|o| o.get(key)) {
            None | Some(Value::Null) => ContextInput::Absent,
            Some(Value::String(s)) => ContextInput::Text(s.into()),
            Some(v) => ContextInput::Other(show_value(v)),
        })
    }

    /// Scores answers keyed by item id, with an optional context object.
    ///
    /// ```
    /// use attune_core::Catalog;
    /// let phq9 = Catalog::embedded().get("phq9").expect("PHQ-9 is in the catalog");
    /// let answers = serde_json::json!({"1": 2, "2": 2, "3": 2, "4": 2, "5": 1, "6": 1, "7": 0, "8": 0, "9": 1});
    /// let result = phq9.score(answers.as_object().unwrap(), None).expect("valid answers");
    /// let total = result.score("total").unwrap();
    /// assert_eq!(total.value, Some(11.0));
    /// assert_eq!(total.band, Some("moderate"));
    /// assert_eq!(total.cutoffs, ["positive"]);
    /// assert!(result.has_flag("item9_positive")); // critical: item 9 was endorsed
    /// ```
    #[cfg(feature = "json")]
    pub fn score(&self, answers: &Map<String, Value>, context: Option<&Value>) -> Result<ScoreResult<'_>, ScoreError> {
        let ctx = self.context_values(context)?;
        let sheet = self.answer_sheet(answers)?;
        Ok(self.score_sheet(&sheet, &ctx))
    }

    /// Which items the instrument's skip rules leave unasked for these answers, one slot per item
    /// (AUDIT: items 2 and 3 after "Never" to item 1). Rules are decided on the answers as given; an
    /// undecidable rule skips nothing. Empty for instruments without skip rules, so they pay nothing.
    pub fn skipped_items(&self, sheet: &AnswerSheet) -> Vec<bool> {
        if self.skips.is_empty() {
            return Vec::new();
        }
        let answer = |i: usize| sheet.get(i).map(|v| v as f64);
        let mut skipped = vec![false; self.item_ids.len()];
        for skip in self.skips.iter() {
            if skip.when.eval(&answer) == Some(true) {
                for &t in skip.items.iter() {
                    skipped[t] = true;
                }
            }
        }
        skipped
    }

    /// Items answered among those asked under the skip rules, for "3 of 9" and progress bars.
    pub fn progress(&self, sheet: &AnswerSheet) -> Progress {
        let skipped = self.skipped_items(sheet);
        let asked = (0..self.item_ids.len()).filter(|&i| !skipped.get(i).copied().unwrap_or(false));
        asked.fold(Progress::default(), |p, i| Progress {
            answered: p.answered + usize::from(sheet.get(i).is_some()),
            total: p.total + 1,
        })
    }

    /// The first item (index, in administration order) that keeps these answers from being
    /// complete: used by a score, asked under the skip rules, and unanswered. `None` exactly when
    /// [`ScoreResult::complete`] is true; a form's `required` waits for this item.
    pub fn first_missing(&self, sheet: &AnswerSheet) -> Option<usize> {
        let skipped = self.skipped_items(sheet);
        self.scored_items.iter().copied().find(|&i| sheet.get(i).is_none() && !skipped.get(i).copied().unwrap_or(false))
    }

    /// Scores a validated answer sheet made by this instrument's [`Instrument::answer_sheet`].
    /// Never fails and never panics (a sheet from another instrument gives a meaningless result).
    pub fn score_sheet(&self, sheet: &AnswerSheet, ctx: &ContextValues) -> ScoreResult<'_> {
        let answer = |i: usize| sheet.get(i).map(|v| v as f64);

        let skipped = self.skipped_items(sheet);
        let is_skipped = |i: usize| skipped.get(i).copied().unwrap_or(false);

        let mut flags = Vec::new();
        let mut invalid_form = false;
        for plan in self.flags.iter() {
            let raised = match &plan.test {
                FlagTest::Condition(c) => c.eval(&answer) == Some(true),
                FlagTest::UnansweredMoreThan(n) => sheet.values.iter().filter(|v| v.is_none()).count() > *n,
            };
            if raised {
                flags.push(plan.id.as_ref());
                invalid_form |= plan.invalidates;
            }
        }

        let mut values: Vec<Option<f64>> = vec![None; self.scores.len()];
        for &s in self.order.iter() {
            values[s] = if invalid_form { None } else { self.compute(s, sheet, &is_skipped, &values) };
        }

        let scores = self
            .scores
            .iter()
            .zip(&values)
            .map(|(plan, &value)| {
                let mut band = None;
                let mut cutoffs = Vec::new();
                if let Some(v) = value {
                    // The band with the greatest min not above the value (PHQ-9 reference note).
                    band = plan.bands.iter().rev().find(|(min, _)| *min <= v).map(|&(_, b)| plan.band_ids[b].as_ref());
                    for cut in plan.cutoffs.iter() {
                        let applies = cut
                            .when
                            .iter()
                            .all(|&(k, val)| ctx.values.get(k).copied().flatten().is_none_or(|given| given == val));
                        if applies && v >= cut.min {
                            cutoffs.push(cut.id.as_ref());
                        }
                    }
                }
                ScoreOutcome { id: plan.id.as_ref(), value, band, cutoffs }
            })
            .collect();

        let complete = self.scored_items.iter().all(|&i| sheet.get(i).is_some() || is_skipped(i));
        ScoreResult { instrument: &self.id, complete, scores, flags }
    }

    fn find_item(&self, id: &str) -> Option<usize> {
        self.item_index(id)
    }

    fn compute(
        &self,
        s: usize,
        sheet: &AnswerSheet,
        skipped: &impl Fn(usize) -> bool,
        values: &[Option<f64>],
    ) -> Option<f64> {
        match &self.scores[s].calc {
            Calc::Items { mean, items, rule, max_missing } => {
                let mut total = 0i64;
                let mut counted = 0usize;
                for &(i, reverse) in items.iter() {
                    match sheet.get(i) {
                        Some(x) => {
                            total += reverse.map_or(x, |c| c - x);
                            counted += 1;
                        }
                        None if skipped(i) => {
                            total += self.skipped_item_score;
                            counted += 1;
                        }
                        None => {}
                    }
                }
                let n = items.len();
                let missing = n - counted;
                let allowed = match rule {
                    MissingRule::NoneAllowed => 0,
                    MissingRule::Prorate | MissingRule::MeanOfAnswered => *max_missing,
                };
                if missing > allowed || counted == 0 {
                    return None;
                }
                let total = total as f64;
                Some(match (mean, missing) {
                    (true, _) => total / counted as f64,
                    (false, 0) => total,
                    // Prorate: the sum of the answered items scaled to the full item count.
                    (false, _) => total * n as f64 / counted as f64,
                })
            }
            Calc::Expression(e) => e.eval(&|_| None, &|i| values.get(i).copied().flatten()),
            Calc::Lookup { source, table } => {
                let v = values.get(*source).copied().flatten()?;
                table.iter().find(|(min, max, _)| *min <= v && v <= *max).map(|r| r.2)
            }
        }
    }
}

#[cfg(all(test, feature = "json"))]
mod tests {
    use super::*;

    #[test]
    fn json_string_escapes_as_serde_json_does() {
        for s in ["plain", "quote \" and \\ slash", "line\nbreak\ttab\r", "\u{1}\u{8}\u{c}\u{1f}\u{7f}", "é ✓ 🙂", ""]
        {
            assert_eq!(json_string(s), serde_json::to_string(s).expect("a string serialises"), "{s:?}");
        }
    }

    #[test]
    fn progress_counts_only_the_items_asked() {
        let audit = crate::Catalog::embedded().get("audit").expect("AUDIT is in this build");
        // "Never" to item 1: items 2-8 are not asked, so 1 of 3 is answered, not 1 of 10.
        let never = audit.answer_sheet_from_pairs([("1", 0)]).expect("valid");
        assert_eq!(audit.progress(&never), Progress { answered: 1, total: 3 });
        let some = audit.answer_sheet_from_pairs([("1", 2), ("2", 1)]).expect("valid");
        assert_eq!(audit.progress(&some), Progress { answered: 2, total: 10 });
        let phq9 = crate::Catalog::embedded().get("phq9").expect("PHQ-9");
        let empty = phq9.answer_sheet_from_pairs([]).expect("valid");
        assert_eq!(phq9.progress(&empty), Progress { answered: 0, total: 10 });
    }

    #[test]
    fn first_missing_is_what_keeps_a_response_incomplete() {
        let catalog = crate::Catalog::embedded();
        let phq9 = catalog.get("phq9").expect("PHQ-9");
        let none = ContextValues::default();
        // Item 10 (difficulty) is not scored: items 1-9 answered is complete.
        let nine = phq9.answer_sheet_from_pairs(phq9.item_ids().take(9).map(|id| (id, 1))).expect("valid");
        assert_eq!(phq9.first_missing(&nine), None);
        assert!(phq9.score_sheet(&nine, &none).complete);
        let gap = phq9.answer_sheet_from_pairs([("1", 1), ("2", 0), ("4", 3)]).expect("valid");
        assert_eq!(phq9.first_missing(&gap), Some(2));
        assert!(!phq9.score_sheet(&gap, &none).complete);
        // AUDIT: after "Never" to item 1, items 2-8 are skipped; item 9 is the first one asked.
        let audit = catalog.get("audit").expect("AUDIT is in this build");
        let never = audit.answer_sheet_from_pairs([("1", 0)]).expect("valid");
        assert_eq!(audit.first_missing(&never).map(|i| audit.item_ids().nth(i)), Some(Some("9")));
        // Over every instrument, answering the first k items or every item but the k-th:
        // `first_missing` is none exactly when the result is complete, and names an unanswered item.
        for inst in catalog.instruments() {
            let n = inst.item_ids().count();
            let lowest = |i: usize| inst.option_values(i)[0];
            for k in 0..=n {
                for prefix in [true, false] {
                    let keep = |i: usize| if prefix { i < k } else { i != k };
                    let pairs = inst.item_ids().enumerate().filter(|&(i, _)| keep(i)).map(|(i, id)| (id, lowest(i)));
                    let sheet = inst.answer_sheet_from_pairs(pairs).expect("valid");
                    let complete = inst.score_sheet(&sheet, &none).complete;
                    let missing = inst.first_missing(&sheet);
                    assert_eq!(missing.is_none(), complete, "{} k={k}", inst.id());
                    assert!(missing.is_none_or(|i| sheet.get(i).is_none()), "{} k={k}", inst.id());
                }
            }
        }
    }

    #[test]
    fn typed_answers_and_context_fail_as_json_ones_do() {
        let auditc = crate::Catalog::embedded().get("auditc").expect("AUDIT-C is in this build");
        let json = serde_json::json!({"1": 2.5});
        let from_json = auditc.answer_sheet(json.as_object().expect("object")).expect_err("a fraction");
        let typed = auditc.answer_sheet_from_values([("1", Answer::Other("2.5"))]).expect_err("a fraction");
        assert_eq!(from_json, typed);
        for (given, input) in [
            (serde_json::json!({"sex": "x\"y"}), ContextInput::Text("x\"y".into())),
            (serde_json::json!({"sex": 3}), ContextInput::Other("3".into())),
        ] {
            let a = auditc.context_values(Some(&given)).expect_err("not allowed");
            let b = auditc.context_values_with(|_| input.clone()).expect_err("not allowed");
            assert_eq!(a, b);
        }
        let ok = auditc.context_values_with(|k| {
            if k == "sex" {
                ContextInput::Text("female".into())
            } else {
                ContextInput::Absent
            }
        });
        assert_eq!(ok, auditc.context_values(Some(&serde_json::json!({"sex": "female"}))));
    }
}
