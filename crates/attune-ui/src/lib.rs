//! Attune's yew components. They render and collect answers; they never score. Scores, bands,
//! flags and skip decisions come in through an injected [`Evaluator`] built by `attune-wasm` on
//! `attune-core`. The components are mounted by `attune-wasm`'s custom elements in an open shadow
//! root, styled by [`STYLE`] through a constructable stylesheet (no inline styles: strict CSP).

#[cfg(test)]
mod minify;
pub mod poll;
mod questionnaire;
pub mod strings;
mod view;

pub use questionnaire::{Answers, Content, Questionnaire, QuestionnaireProps, Widget, WidgetProps};
pub use view::{
    Choice, Crisis, Evaluation, Evaluator, FlagLine, Form, Layout, NumberFn, Problem, Question, ScoreLine, Text,
};

/// The components' stylesheet: theming through `--attune-*` custom properties and `::part()`.
/// `src/style.css`, without its comments and needless whitespace (`build.rs`).
pub const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/style.css"));

/// [`STYLE`] with the live-poll elements' rules: the poll elements' stylesheet.
pub const POLL_STYLE: &str =
    concat!(include_str!(concat!(env!("OUT_DIR"), "/style.css")), include_str!(concat!(env!("OUT_DIR"), "/poll.css")));
