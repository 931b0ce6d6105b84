//! What the components render: plain data prepared by the element glue from an instrument
//! definition, its translations and a host text pack. Nothing here scores; the numbers come in as
//! an [`Evaluation`] from an injected [`Evaluator`].

use std::fmt;
use std::rc::Rc;

/// A piece of wording and, when it differs from the interface language, the language it is in, so
/// that English shown in a Spanish interface is marked `lang="en"` for screen readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The wording.
    pub text: String,
    /// BCP 47 tag of the wording when it is not the interface language.
    pub lang: Option<String>,
}

impl Text {
    /// Wording in the interface language.
    pub fn plain(text: impl Into<String>) -> Text {
        Text { text: text.into(), lang: None }
    }
}

/// One response option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The published value an answer carries.
    pub value: i64,
    /// The option's label.
    pub label: Text,
}

/// One item of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Item id (`"9"`).
    pub id: String,
    /// Item wording.
    pub text: Text,
    /// Options in published order.
    pub choices: Vec<Choice>,
}

/// The form as shown: title, stem, items and the instrument's credits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// Instrument id.
    pub id: String,
    /// Title line (`"PHQ-9: Patient Health Questionnaire-9"`).
    pub title: String,
    /// The stem shown above the items, when there is one.
    pub instructions: Option<Text>,
    /// Items in administration order.
    pub questions: Vec<Question>,
    /// The instrument's citation: shown on every screen.
    pub citation: String,
    /// The licence's attribution line, if any.
    pub attribution: Option<Text>,
    /// Terms under which host-supplied wording is used (an opt-in text pack), shown with it.
    pub terms: Option<String>,
    /// True when some wording falls back to English in a non-English interface.
    pub english_fallback: bool,
}

/// One score line of a result, formatted for display.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreLine {
    /// Score label.
    pub label: String,
    /// The value, or `None` when the missing-data rule gives no value. Written for people by
    /// [`Evaluator::number`] when the results card shows it.
    pub value: Option<f64>,
    /// The possible range, lowest and highest (`0–27` on the results card).
    pub range: Option<[f64; 2]>,
    /// The band's label in plain words.
    pub band: Option<String>,
    /// Labels of cut-offs met.
    pub cutoffs: Vec<String>,
}

/// A raised flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagLine {
    /// Flag label.
    pub label: String,
    /// Critical flags are never hidden.
    pub critical: bool,
}

/// What the scoring core says about the answers so far.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// Per item: not asked under the instrument's skip rules (empty when it has none).
    pub skipped: Vec<bool>,
    /// Items answered among those asked (the core counts them: `Instrument::progress`).
    pub answered: usize,
    /// Items asked under the skip rules.
    pub total: usize,
    /// Every score, in definition order.
    pub scores: Vec<ScoreLine>,
    /// Raised flags.
    pub flags: Vec<FlagLine>,
}

impl Evaluation {
    /// Whether the item at `index` is asked.
    pub fn asked(&self, index: usize) -> bool {
        !self.skipped.get(index).copied().unwrap_or(false)
    }

    /// Whether a critical flag is raised.
    pub fn critical(&self) -> bool {
        self.flags.iter().any(|f| f.critical)
    }
}

/// A function from answers (one slot per item, in order) to their evaluation.
pub type EvaluateFn = dyn Fn(&[Option<i64>]) -> Evaluation;

/// Writes a number for people, in the interface language.
pub type NumberFn = dyn Fn(f64) -> String;

/// Evaluates answers, and writes the numbers of the results. Injected by the element so that the
/// components never score; compared by identity.
#[derive(Clone)]
pub struct Evaluator {
    /// Scores the answers (every render).
    pub score: Rc<EvaluateFn>,
    /// Writes a score or a range's end (the results card only: the browser's number formatting is
    /// costly to start, and the form's first paint does not wait for it).
    pub number: Rc<NumberFn>,
}

impl Evaluator {
    /// Evaluates the answers.
    pub fn eval(&self, answers: &[Option<i64>]) -> Evaluation {
        (self.score)(answers)
    }

    /// `value` as the results card shows it.
    pub fn number(&self, value: f64) -> String {
        (self.number)(value)
    }
}

impl PartialEq for Evaluator {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.score, &other.score) && Rc::ptr_eq(&self.number, &other.number)
    }
}

impl fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Evaluator")
    }
}

/// The crisis panel's wording, set by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crisis {
    /// Heading.
    pub title: String,
    /// Body text.
    pub body: String,
    /// Contact line (`"Call or text 988"`), optional.
    pub contact: Option<String>,
    /// A `tel:`/`sms:`/`https:` link for the contact, optional.
    pub href: Option<String>,
}

/// How items are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One item per screen.
    Paged,
    /// All items on one screen.
    List,
}

/// An error the element shows instead of a form: never a blank box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Stable code (`unknown_instrument`, `invalid_text_pack`, `text_required`, ...).
    pub code: String,
    /// What went wrong and what the host can do.
    pub message: String,
}
