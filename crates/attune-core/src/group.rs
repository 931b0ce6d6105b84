//! Group statistics for live polls and multi-member scoring, exactly as
//! `shared/instruments/group-statistics.md`: each member is scored by the instrument's own rules,
//! then scores are aggregated (n, mean, sample SD, min, max, r_wg / r_wg(j)) and item answers
//! counted, with nothing shown below the minimum group size.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
#[cfg(feature = "json")]
use serde_json::{Map, Value};

use crate::error::{ErrorBody, ScoreError};
use crate::instrument::Instrument;
use crate::plan::Calc;
use crate::score::{AnswerSheet, ContextValues, Num};

/// The default minimum group size: no aggregate is shown for fewer contributing members.
pub const DEFAULT_MIN_N: usize = 3;

/// The smallest minimum group size a live poll may set: its aggregates are never shown for fewer
/// members, whatever the therapist asks.
pub const MIN_N_FLOOR: u32 = 3;

/// The largest minimum group size a live poll may set.
pub const MAX_MIN_N: u32 = 1000;

/// Checks a live poll's minimum group size; the error says why, for a person.
///
/// ```
/// assert_eq!(attune_core::check_min_n(5), Ok(5));
/// assert!(attune_core::check_min_n(2).unwrap_err().contains("never shown for fewer than 3"));
/// ```
pub fn check_min_n(min_n: u32) -> Result<u32, String> {
    if (MIN_N_FLOOR..=MAX_MIN_N).contains(&min_n) {
        Ok(min_n)
    } else {
        Err(format!(
            "min_n must be between {MIN_N_FLOOR} and {MAX_MIN_N}: aggregates are never shown for fewer than {MIN_N_FLOOR} members"
        ))
    }
}

/// A member's answers were rejected; `member` is its 0-based position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("member {member}: {error}")]
pub struct GroupError {
    /// 0-based index of the member in the input.
    pub member: usize,
    /// What was wrong with that member's answers.
    pub error: ScoreError,
}

impl GroupError {
    /// The `error` object of the JSON output, with `member`.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody { error: &self.error, member: Some(self.member) }
    }
}

/// Aggregates the members of one session for one instrument.
///
/// ```
/// use attune_core::{Catalog, Group};
/// let ucla3 = Catalog::embedded().get("ucla3").unwrap();
/// let mut group = Group::new(ucla3, 3).unwrap();
/// for answers in [[1, 1, 2], [2, 2, 2], [3, 2, 3], [1, 1, 1]] {
///     group.add_pairs(["1", "2", "3"].into_iter().zip(answers)).unwrap();
/// }
/// let stats = group.finish();
/// let total = &stats.scores[0].1;
/// assert_eq!(total.mean, Some(5.25));
/// assert!((total.rwg.unwrap() - 3.0 / 26.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct Group<'a> {
    inst: &'a Instrument,
    min_n: usize,
    members: Vec<AnswerSheet>,
    seen: usize,
}

/// Statistics of one score over the group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoreStats {
    /// Members whose value for this score is not null.
    pub n: usize,
    /// Mean of their values.
    pub mean: Option<f64>,
    /// Sample standard deviation (n - 1).
    pub sd: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Within-group agreement r_wg (one item) or r_wg(j) (several items).
    pub rwg: Option<f64>,
}

/// Answer distribution of one item over the group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemStats {
    /// Members who answered the item.
    pub n: usize,
    /// Count per option value, in the response set's order; empty when suppressed.
    pub counts: Vec<(i64, usize)>,
}

/// The group statistics object.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStats<'a> {
    /// Instrument id.
    pub instrument: &'a str,
    /// Members who answered at least one item.
    pub n: usize,
    /// Whether `n` is below the minimum group size.
    pub suppressed: bool,
    /// Every score of the instrument, in definition order.
    pub scores: Vec<(&'a str, ScoreStats)>,
    /// Every item of the instrument, in definition order.
    pub items: Vec<(&'a str, ItemStats)>,
}

impl<'a> Group<'a> {
    /// Starts a group. `min_n` must be at least 1.
    pub fn new(inst: &'a Instrument, min_n: usize) -> Result<Group<'a>, ScoreError> {
        if min_n < 1 {
            return Err(ScoreError::invalid_context("min_n must be an integer of at least 1"));
        }
        Ok(Group { inst, min_n, members: Vec::new(), seen: 0 })
    }

    /// Parses `min_n` from JSON: an integer of at least 1 (`3` or `3.0`); absent means 3.
    #[cfg(feature = "json")]
    pub fn min_n_from_json(v: Option<&Value>) -> Result<usize, ScoreError> {
        let bad = || ScoreError::invalid_context("min_n must be an integer of at least 1");
        match v {
            None | Some(Value::Null) => Ok(DEFAULT_MIN_N),
            Some(Value::Number(n)) => {
                let f = n.as_f64().ok_or_else(bad)?;
                if f.fract() == 0.0 && (1.0..=1.0e9).contains(&f) {
                    Ok(f as usize)
                } else {
                    Err(bad())
                }
            }
            Some(_) => Err(bad()),
        }
    }

    /// Adds one member's answers (JSON, keyed by item id). Errors name the member's position.
    #[cfg(feature = "json")]
    pub fn add_json(&mut self, answers: &Map<String, Value>) -> Result<(), GroupError> {
        self.add_checked(self.inst.answer_sheet(answers))
    }

    /// Adds one member's answers as `(item id, value)` pairs.
    pub fn add_pairs<'k>(&mut self, pairs: impl IntoIterator<Item = (&'k str, i64)>) -> Result<(), GroupError> {
        self.add_checked(self.inst.answer_sheet_from_pairs(pairs))
    }

    /// Adds one member whose answers were checked against this group's instrument by the caller
    /// (with [`Instrument::answer_sheet_from_values`], say): an error is that member's.
    pub fn add_checked(&mut self, checked: Result<AnswerSheet, ScoreError>) -> Result<(), GroupError> {
        let member = self.seen;
        self.seen += 1;
        self.push(checked.map_err(|error| GroupError { member, error })?);
        Ok(())
    }

    /// Records a rejected member so later members keep their input positions.
    pub fn skip_member(&mut self) -> usize {
        self.seen += 1;
        self.seen - 1
    }

    fn push(&mut self, sheet: AnswerSheet) {
        // Empty answer sets are not members for any statistic.
        if sheet.answered() > 0 {
            self.members.push(sheet);
        }
    }

    /// Computes the statistics.
    pub fn finish(&self) -> GroupStats<'a> {
        let inst = self.inst;
        let n = self.members.len();
        let suppressed = n < self.min_n;
        let ctx = ContextValues::default();
        let values: Vec<Vec<Option<f64>>> =
            self.members.iter().map(|m| inst.score_sheet(m, &ctx).scores.iter().map(|s| s.value).collect()).collect();

        let scores = inst
            .score_ids()
            .enumerate()
            .map(|(s, id)| {
                let counted: Vec<usize> = (0..n).filter(|&m| values[m][s].is_some()).collect();
                let xs: Vec<f64> = counted.iter().filter_map(|&m| values[m][s]).collect();
                let mut st = ScoreStats { n: xs.len(), ..ScoreStats::default() };
                if !suppressed && st.n >= self.min_n && st.n > 0 {
                    let mean = xs.iter().sum::<f64>() / st.n as f64;
                    st.mean = Some(mean);
                    st.sd = sample_variance(&xs).map(f64::sqrt);
                    st.min = xs.iter().copied().reduce(f64::min);
                    st.max = xs.iter().copied().reduce(f64::max);
                    st.rwg = self.rwg(s, &counted);
                }
                (id, st)
            })
            .collect();

        let items = inst
            .item_ids()
            .enumerate()
            .map(|(i, id)| {
                let answers: Vec<i64> = self.members.iter().filter_map(|m| m.get(i)).collect();
                let mut st = ItemStats { n: answers.len(), counts: Vec::new() };
                if !suppressed && st.n >= self.min_n {
                    st.counts = inst
                        .option_values(i)
                        .iter()
                        .map(|&v| (v, answers.iter().filter(|&&a| a == v).count()))
                        .collect();
                }
                (id, st)
            })
            .collect();

        GroupStats { instrument: inst.id(), n, suppressed, scores, items }
    }

    /// What one member's answers contribute to each statistic of [`Group::finish`], one text per
    /// statistic: each score first (in [`Instrument::score_ids`] order: its value, and the raw
    /// answers to its items that r_wg(j) reads), then each item (in [`Instrument::item_ids`] order:
    /// its answer, empty when absent). Two answer sheets with equal texts for a statistic contribute
    /// the same to it, so comparing texts tells whose answers a change of that statistic holds (the
    /// poll server's release rule does).
    pub fn contributions(inst: &Instrument, sheet: &AnswerSheet) -> Vec<String> {
        let answer = |i: usize| sheet.get(i).map_or_else(String::new, |v| v.to_string());
        let result = inst.score_sheet(sheet, &ContextValues::default());
        let scores = result.scores.iter().enumerate().map(|(s, score)| {
            let items = match &inst.scores[s].calc {
                Calc::Items { items, .. } => items.iter().map(|&(i, _)| answer(i)).collect::<Vec<_>>().join(","),
                _ => String::new(),
            };
            format!("{:?};{items}", score.value)
        });
        let items = (0..inst.item_ids().count()).map(answer);
        scores.chain(items).collect()
    }

    /// r_wg(j) of James, Demaree & Wolf (1984) as in R `multilevel` 2.8 (`rwg`, `rwg.j`), over the
    /// members counted in the score's n. Null for expressions and lookups, for items that do not
    /// share one response set, below 2 members, or when an item has fewer than 2 answers.
    fn rwg(&self, s: usize, counted: &[usize]) -> Option<f64> {
        if counted.len() < 2 {
            return None;
        }
        let Calc::Items { items, .. } = &self.inst.scores[s].calc else {
            return None;
        };
        let first = self.inst.response_set(items.first()?.0);
        if items.iter().any(|&(i, _)| self.inst.response_set(i) != first) {
            return None;
        }
        let a = self.inst.option_values(items[0].0).len() as f64;
        let null_variance = (a * a - 1.0) / 12.0;
        if null_variance <= 0.0 {
            // One option: every answer agrees by construction; the index is undefined.
            return None;
        }
        let mut variances = Vec::with_capacity(items.len());
        for &(i, _) in items.iter() {
            // Raw answers: reversal (c - x) does not change a variance.
            let xs: Vec<f64> = counted.iter().filter_map(|&m| self.members[m].get(i)).map(|v| v as f64).collect();
            variances.push(sample_variance(&xs)?);
        }
        let j = variances.len() as f64;
        let mean_s2 = (variances.iter().sum::<f64>() / j).min(null_variance);
        let ratio = mean_s2 / null_variance;
        Some(j * (1.0 - ratio) / (j * (1.0 - ratio) + ratio))
    }
}

fn sample_variance(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    Some(xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0))
}

impl Serialize for ScoreStats {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("n", &self.n)?;
        m.serialize_entry("mean", &Num(self.mean))?;
        m.serialize_entry("sd", &Num(self.sd))?;
        m.serialize_entry("min", &Num(self.min))?;
        m.serialize_entry("max", &Num(self.max))?;
        m.serialize_entry("rwg", &Num(self.rwg))?;
        m.end()
    }
}

struct Counts<'r>(&'r [(i64, usize)]);

impl Serialize for Counts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (v, c) in self.0 {
            m.serialize_entry(&v.to_string(), c)?;
        }
        m.end()
    }
}

impl Serialize for ItemStats {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("n", &self.n)?;
        m.serialize_entry("counts", &Counts(&self.counts))?;
        m.end()
    }
}

struct Entries<'r, T>(&'r [(&'r str, T)]);

impl<T: Serialize> Serialize for Entries<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for GroupStats<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("instrument", self.instrument)?;
        m.serialize_entry("n", &self.n)?;
        m.serialize_entry("suppressed", &self.suppressed)?;
        m.serialize_entry("scores", &Entries(&self.scores))?;
        m.serialize_entry("items", &Entries(&self.items))?;
        m.end()
    }
}
