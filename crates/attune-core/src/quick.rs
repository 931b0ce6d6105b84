//! A therapist's quick question for a live poll: a short scale or a few labelled options, written
//! for one session. It is never a validated instrument, and its definition says so; it is built and
//! checked here, with the rules of every other definition, so the server only stores and serves it.

use std::borrow::Cow;

use crate::instrument::Instrument;
use crate::model::{
    Definition, Item, LicenceStatus, License, Map, Method, MissingDef, MissingRule, ResponseOption, ScoreDef,
};

/// The instrument id every quick question has.
pub const QUICK_QUESTION_ID: &str = "custom";

/// Longest question, in characters.
pub const MAX_QUESTION_CHARS: usize = 300;
/// Longest option label, in characters.
pub const MAX_OPTION_CHARS: usize = 80;

/// How a quick question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuickAnswers<'a> {
    /// Whole numbers from `min` to `max`, within 0 to 10 (a readiness ruler is 0 to 10).
    Scale {
        /// Lowest value.
        min: i64,
        /// Highest value.
        max: i64,
    },
    /// Two to seven labelled options, valued 0, 1, 2, ... in order.
    Options(&'a [String]),
}

fn owned(s: &str) -> Cow<'static, str> {
    Cow::Owned(s.to_string())
}

impl Instrument {
    /// Builds and compiles a quick question; the error says, for a person, what does not fit.
    ///
    /// ```
    /// use attune_core::{Instrument, QuickAnswers};
    /// let q = Instrument::quick_question("How safe did you feel today?", QuickAnswers::Scale { min: 0, max: 10 }).unwrap();
    /// assert_eq!(q.id(), "custom");
    /// assert_eq!(q.option_values(0).len(), 11);
    /// assert!(Instrument::quick_question("", QuickAnswers::Scale { min: 0, max: 10 }).is_err());
    /// ```
    pub fn quick_question(text: &str, answers: QuickAnswers<'_>) -> Result<Instrument, String> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_QUESTION_CHARS {
            return Err(format!("the question needs a text of 1 to {MAX_QUESTION_CHARS} characters"));
        }
        let options: Vec<ResponseOption> = match answers {
            QuickAnswers::Scale { min, max } if 0 <= min && min < max && max <= 10 => {
                (min..=max).map(|v| ResponseOption { value: v, label: Some(Cow::Owned(v.to_string())) }).collect()
            }
            QuickAnswers::Scale { .. } => {
                return Err("a scale runs from min to max within 0 to 10, min below max".into());
            }
            QuickAnswers::Options(labels) if (2..=7).contains(&labels.len()) => {
                let mut out = Vec::with_capacity(labels.len());
                for (k, label) in labels.iter().enumerate() {
                    let label = label.trim();
                    if label.is_empty() || label.chars().count() > MAX_OPTION_CHARS {
                        return Err(format!("each option needs a label of 1 to {MAX_OPTION_CHARS} characters"));
                    }
                    out.push(ResponseOption { value: k as i64, label: Some(owned(label)) });
                }
                out
            }
            QuickAnswers::Options(_) => return Err("a question has 2 to 7 options".into()),
        };
        let range = [options.first().map_or(0.0, |o| o.value as f64), options.last().map_or(0.0, |o| o.value as f64)];
        let def = Definition {
            id: Cow::Borrowed(QUICK_QUESTION_ID),
            name: owned(text),
            short_name: Cow::Borrowed("Custom question"),
            domain: Cow::Borrowed("custom"),
            citation: Some(Cow::Borrowed("A question written for this session in Attune: not a validated instrument.")),
            license: Some(License {
                status: LicenceStatus::PublicDomain,
                text_bundled: true,
                statement: Cow::Borrowed("Written by the group's therapist; not a validated instrument."),
                attribution: None,
            }),
            response_sets: [("answer".to_string(), Cow::Owned(options))].into_iter().collect::<Map<_>>(),
            items: Cow::Owned(vec![Item {
                id: Cow::Borrowed("1"),
                text: Some(owned(text)),
                response_set: Cow::Borrowed("answer"),
                scored: true,
                loinc: None,
            }]),
            scores: Cow::Owned(vec![ScoreDef {
                id: Cow::Borrowed("answer"),
                label: Some(Cow::Borrowed("Answer")),
                method: Method::Sum,
                items: Cow::Owned(vec![Cow::Borrowed("1")]),
                reverse: None,
                expression: None,
                lookup: None,
                range,
                missing: MissingDef { rule: MissingRule::NoneAllowed, max_missing: None, note: None },
                bands: Cow::Borrowed(&[]),
                cutoffs: Cow::Borrowed(&[]),
            }]),
            ..Definition::EMPTY
        };
        // Checked like any definition: a rule broken here is a bug in this function, reported.
        Instrument::from_definition(def).map_err(|p| p.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_options_become_one_item_instruments() {
        let scale = Instrument::quick_question(" Ready? ", QuickAnswers::Scale { min: 2, max: 5 }).expect("valid");
        assert_eq!(scale.option_values(0), [2, 3, 4, 5]);
        assert_eq!(scale.definition().items[0].text.as_deref(), Some("Ready?"));
        let sheet = scale.answer_sheet_from_pairs([("1", 4)]).expect("an option");
        let r = scale.score_sheet(&sheet, &Default::default());
        assert_eq!(r.scores[0].value, Some(4.0));
        let labels = vec!["Yes".to_string(), " No ".to_string()];
        let options = Instrument::quick_question("Again?", QuickAnswers::Options(&labels)).expect("valid");
        assert_eq!(options.definition().response_sets.get("answer").expect("set")[1].label.as_deref(), Some("No"));
        // The definition round-trips as JSON, as the server stores it.
        let text = serde_json::to_string(options.definition()).expect("serialises");
        assert_eq!(Instrument::from_json(&text).expect("compiles").definition(), options.definition());
    }

    #[test]
    fn what_does_not_fit_is_said() {
        let long = "x".repeat(301);
        let one = vec!["Only".to_string()];
        let blank = vec!["A".to_string(), " ".to_string()];
        for (text, answers, want) in [
            ("", QuickAnswers::Scale { min: 0, max: 10 }, "1 to 300 characters"),
            (long.as_str(), QuickAnswers::Scale { min: 0, max: 10 }, "1 to 300 characters"),
            ("Q", QuickAnswers::Scale { min: 3, max: 3 }, "within 0 to 10"),
            ("Q", QuickAnswers::Scale { min: 0, max: 11 }, "within 0 to 10"),
            ("Q", QuickAnswers::Options(&one), "2 to 7 options"),
            ("Q", QuickAnswers::Options(&blank), "1 to 80 characters"),
        ] {
            let e = Instrument::quick_question(text, answers).expect_err(want);
            assert!(e.contains(want), "{e}");
        }
    }
}
