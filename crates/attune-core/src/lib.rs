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
//! ```
//! use attune_core::{score_json, Catalog};
//! let out = score_json(Catalog::embedded(),
//!     r#"{"instrument": "phq9", "answers": {"1": 2, "2": 2, "3": 2, "4": 2, "6": 2, "7": 1, "8": 1, "9": 1}}"#);
//! let json = serde_json::to_value(&out).unwrap();
//! // Item 5 is missing: the total is prorated (13 x 9 / 8), unrounded, and the form is incomplete.
//! assert_eq!(json["scores"]["total"]["value"], 14.625);
//! assert_eq!(json["scores"]["total"]["band"], "moderate");
//! assert_eq!(json["complete"], false);
//! assert_eq!(json["flags"][0], "item9_positive");
//! ```

mod catalog;
mod error;
pub mod expr;
mod group;
mod instrument;
pub mod model;
mod problem;
mod request;
mod score;
mod validate;

pub use catalog::{Catalog, LoadError, Summary};
pub use error::{ErrorBody, ErrorCode, ScoreError};
pub use group::{Group, GroupError, GroupStats, ItemStats, ScoreStats, DEFAULT_MIN_N};
pub use instrument::Instrument;
pub use model::{Definition, LicenceStatus, Translation};
pub use problem::{Problem, ProblemKind};
pub use request::{score_json, Outcome, Request};
pub use score::{AnswerSheet, ContextValues, ScoreOutcome, ScoreResult};
pub use validate::{check_vector, validate_definition};

/// The version of this crate, reported by the CLI and the JavaScript API.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
