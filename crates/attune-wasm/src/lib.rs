//! # attune-wasm
//!
//! Attune's JavaScript API (npm package `attune`) and custom elements: bindings only, every rule lives
//! in `attune-core`. One crate, built once per npm entry (see `cargo xtask npm`):
//!
//! - `attune` (feature `scoring`, the default): `score`, `scoreMany`, `catalog`, `instrument`,
//!   `groupStats`, `version`. No JSON parser: requests are read as JavaScript values, results are
//!   built as JavaScript objects, and the catalog is the core's `static` data.
//! - `attune/validate` (feature `validate`): `validateDefinition`, the one place that needs a JSON
//!   parser with paths.
//! - `attune/fhir` (feature `fhir`): `questionnaire`, `toFhir`, `fromQuestionnaireResponse`, the
//!   core's FHIR R4 mapping.
//! - `attune/elements` (feature `elements`) and `attune/poll` (feature `poll`): the custom elements.
//! - `attune/seal` (feature `seal`, built without `scoring`): `seal` and `fingerprint`, the sealed
//!   intake inbox's sealer (`attune-seal`). No catalog, no JSON parser.
//!
//! Nothing a caller passes can panic the module (a panic would abort the whole instance): every
//! failure is a thrown `AttuneError` with a `code`.

/// A small single-threaded allocator: about 3 KB smaller gzipped than the default dlmalloc
/// (measured on the scoring entry; `wee_alloc` is unmaintained, RUSTSEC-2022-0054).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
#[allow(unsafe_code)]
// SAFETY: the module is built without atomics, so it runs on exactly one thread: a JavaScript
// worker that loads it gets an instance and a memory of its own, never this allocator.
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

#[cfg(feature = "elements")]
pub mod elements;
mod error;
#[cfg(feature = "fhir")]
mod fhir;
mod js;
#[cfg(any(feature = "scoring", feature = "elements"))]
mod lane;
#[cfg(any(feature = "scoring", feature = "elements"))]
mod read;
#[cfg(feature = "scoring")]
mod scoring;
#[cfg(feature = "seal")]
mod seal;
mod types;
#[cfg(feature = "validate")]
mod validate;

pub use error::MAX_JSON_LEN;
#[cfg(feature = "fhir")]
pub use fhir::{from_questionnaire_response, questionnaire, to_fhir};
#[cfg(feature = "scoring")]
pub use scoring::{catalog, group_stats, instrument, score, score_many, version};
#[cfg(feature = "seal")]
pub use seal::{fingerprint, seal};
pub use types::{
    CatalogOptions, ErrorBody, GroupOptions, GroupStats, InstrumentDefinition, ItemStats, MemberAnswers, ScoreFailure,
    ScoreOutcome, ScoreRequest, ScoreResult, ScoreStats, ScoreValue,
};
#[cfg(feature = "validate")]
pub use validate::validate_definition;
