//! # attune-core
//!
//! Scores validated questionnaires exactly as published. Instruments are data (one JSON file each,
//! embedded in [`Catalog::embedded`]); this crate knows the few methods they use: sums and means of
//! items with reversals, expressions over other scores, lookup tables, skip rules, the missing-data
//! rules of the clinical reference, bands, cut-offs (context-dependent where the source says so) and
//! flags, critical ones included. It also aggregates a group's answers ([`Group`]).
//!
//! No I/O, no async, no wasm: the CLI, the WebAssembly bindings and the poll server all call this.
//!
//! The catalog is compiled at build time into `static` data ([`Catalog::embedded`] parses nothing).
//! JSON is a feature, not the heart: reading requests, answers and definitions from JSON text, and
//! validating definitions, come with the `json` feature (on by default); without it the core scores
//! typed answers ([`Instrument::answer_sheet_from_pairs`]) and carries no JSON parser.
//!
//! ```
//! # #[cfg(feature = "json")] {
//! use attune_core::{score_json, Catalog};
//! let out = score_json(Catalog::embedded(),
//!     r#"{"instrument": "phq9", "answers": {"1": 2, "2": 2, "3": 2, "4": 2, "6": 2, "7": 1, "8": 1, "9": 1}}"#);
//! let json = serde_json::to_value(&out).unwrap();
//! // Item 5 is missing: the total is prorated (13 x 9 / 8), unrounded, and the form is incomplete.
//! assert_eq!(json["scores"]["total"]["value"], 14.625);
//! assert_eq!(json["scores"]["total"]["band"], "moderate");
//! assert_eq!(json["complete"], false);
//! assert_eq!(json["flags"][0], "item9_positive");
//! # }
//! ```

mod catalog;
#[cfg(feature = "json")]
mod compile;
mod error;
pub mod expr;
#[cfg(feature = "fhir")]
pub mod fhir;
mod group;
mod instrument;
pub mod model;
mod plan;
mod problem;
#[cfg(feature = "json")]
mod quick;
#[cfg(feature = "json")]
mod request;
mod score;
mod text_pack;
#[cfg(feature = "json")]
mod validate;

#[cfg(feature = "json")]
pub use catalog::LoadError;
pub use catalog::{Catalog, Summary};
pub use error::{ErrorBody, ErrorCode, ScoreError};
pub use group::{
    check_min_n, Group, GroupError, GroupStats, ItemStats, ScoreStats, DEFAULT_MIN_N, MAX_MIN_N, MIN_N_FLOOR,
};
pub use instrument::Instrument;
pub use model::{Definition, LicenceStatus, Translation};
pub use problem::{Problem, ProblemKind};
#[cfg(feature = "json")]
pub use quick::{QuickAnswers, MAX_OPTION_CHARS, MAX_QUESTION_CHARS, QUICK_QUESTION_ID};
#[cfg(feature = "json")]
pub use request::{score_json, Outcome, Request};
pub use score::{
    json_string, shown, Answer, AnswerSheet, ContextInput, ContextValues, Progress, ScoreOutcome, ScoreResult,
};
pub use text_pack::{
    primary_language, Entries, NestedLabels, PackLanguage, TextPack, PACK_FIELDS, PACK_LANGUAGE_FIELDS,
};
#[cfg(feature = "json")]
pub use validate::{check_vector, validate_definition};

/// The version of this crate, reported by the CLI and the JavaScript API.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
