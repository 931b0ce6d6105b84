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
    let mut s = v.to_string();
    if s.len() > 40 {
        let mut cut = 37;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

impl Instrument {
    /// Validates answers keyed by item id. `null` counts as unanswered; anything that is not one of
    /// the item's option values is an error, and so is an item id the instrument does not have.
    #[cfg(feature = "json")]
    pub fn answer_sheet(&self, answers: &Map<String, Value>) -> Result<AnswerSheet, ScoreError> {
        let mut values = vec![None; self.items.len()];
        for (id, v) in answers {
            let Some(i) = self.find_item(id) else {
                return Err(ScoreError::UnknownItem { item: id.clone() });
            };
            if v.is_null() {
                continue;
            }
            let allowed = &self.items[i].values;
            match as_integer(v) {
                Some(x) if allowed.contains(&x) => values[i] = Some(x),
                _ => return Err(self.invalid_value(i, id, show_value(v))),
            }
        }
        Ok(AnswerSheet { values })
    }

    /// Builds an answer sheet from `(item id, value)` pairs, with the same checks as JSON answers.
    pub fn answer_sheet_from_pairs<'k>(
        &self,
        pairs: impl IntoIterator<Item = (&'k str, i64)>,
    ) -> Result<AnswerSheet, ScoreError> {
        let mut values = vec![None; self.items.len()];
        for (id, x) in pairs {
            let Some(i) = self.find_item(id) else {
                return Err(ScoreError::UnknownItem { item: id.to_string() });
            };
            if !self.items[i].values.contains(&x) {
                return Err(self.invalid_value(i, id, x.to_string()));
            }
            values[i] = Some(x);
        }
        Ok(AnswerSheet { values })
    }

    fn invalid_value(&self, i: usize, id: &str, found: String) -> ScoreError {
        let allowed: Vec<String> = self.items[i].values.iter().map(i64::to_string).collect();
        ScoreError::InvalidValue { item: id.to_string(), found, allowed: allowed.join(", ") }
    }

    /// Validates the context: absent or `null` is empty; otherwise it must be an object whose
    /// declared keys carry allowed values (or `null`). Undeclared keys are ignored.
    #[cfg(feature = "json")]
    pub fn context_values(&self, context: Option<&Value>) -> Result<ContextValues, ScoreError> {
        let obj = match context {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => Some(o),
            Some(other) => {
                return Err(ScoreError::invalid_context(format!(
                    "context must be an object, not {}",
                    show_value(other)
                )));
            }
        };
        let mut values = Vec::with_capacity(self.context.len());
        for crate::plan::ContextPlan { key, values: allowed, required } in self.context.iter() {
            match obj.and_then(|o| o.get(key.as_ref())) {
                None | Some(Value::Null) => {
                    if *required {
                        return Err(ScoreError::invalid_context(format!(
                            "context `{key}` is required ({})",
                            allowed.join(" or ")
                        )));
                    }
                    values.push(None);
                }
                Some(v) => match v.as_str().and_then(|s| allowed.iter().position(|a| a == s)) {
                    Some(i) => values.push(Some(i)),
                    None => {
                        return Err(ScoreError::invalid_context(format!(
                            "context `{key}` is {}; allowed values are {}",
                            show_value(v),
                            allowed.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", ")
                        )));
                    }
                },
            }
        }
        Ok(ContextValues { values })
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
        let mut skipped = vec![false; self.items.len()];
        for skip in self.skips.iter() {
            if skip.when.eval(&answer) == Some(true) {
                for &t in skip.items.iter() {
                    skipped[t] = true;
                }
            }
        }
        skipped
    }

    /// Scores a validated answer sheet made by this instrument's [`Instrument::answer_sheet`].
    /// Never fails and never panics (a sheet from another instrument gives a meaningless result).
    pub fn score_sheet(&self, sheet: &AnswerSheet, ctx: &ContextValues) -> ScoreResult<'_> {
        let answer = |i: usize| sheet.get(i).map(|v| v as f64);

        let skipped = self.skipped_items(sheet);
        let is_skipped = |i: usize| skipped.get(i).copied().unwrap_or(false);

        let mut flags = Vec::new();
        let mut invalid_form = false;
        for (plan, def) in self.flags.iter().zip(self.def.flags.iter()) {
            let raised = match &plan.test {
                FlagTest::Condition(c) => c.eval(&answer) == Some(true),
                FlagTest::UnansweredMoreThan(n) => sheet.values.iter().filter(|v| v.is_none()).count() > *n,
            };
            if raised {
                flags.push(def.id.as_ref());
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
            .zip(self.def.scores.iter())
            .zip(&values)
            .map(|((plan, def), &value)| {
                let mut band = None;
                let mut cutoffs = Vec::new();
                if let Some(v) = value {
                    // The band with the greatest min not above the value (PHQ-9 reference note).
                    band = plan.bands.iter().rev().find(|(min, _)| *min <= v).map(|&(_, b)| def.bands[b].id.as_ref());
                    for (plan, cut) in plan.cutoffs.iter().zip(def.cutoffs.iter()) {
                        let applies = plan
                            .when
                            .iter()
                            .all(|&(k, val)| ctx.values.get(k).copied().flatten().is_none_or(|given| given == val));
                        if applies && v >= plan.min {
                            cutoffs.push(cut.id.as_ref());
                        }
                    }
                }
                ScoreOutcome { id: def.id.as_ref(), value, band, cutoffs }
            })
            .collect();

        let complete = self.scored_items.iter().all(|&i| sheet.get(i).is_some() || is_skipped(i));
        ScoreResult { instrument: &self.def.id, complete, scores, flags }
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
