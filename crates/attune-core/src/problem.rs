//! Problems found in an instrument definition. The loader reports every problem it finds, each with
//! the JSON path of the offending value, so an author can fix a file in one pass.

use std::fmt;

use serde::Serialize;

/// The kind of a definition problem: a stable, machine-readable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The file is not JSON or a field has the wrong type or is missing.
    Schema,
    /// An id is not lowercase letters, digits, `-` or `_`.
    BadId,
    /// Two items share an id.
    DuplicateItem,
    /// A score, skip rule or reversal names an item the instrument does not have.
    UnknownItem,
    /// An item names a response set that does not exist.
    UnknownResponseSet,
    /// A response set is empty or repeats a value.
    BadResponseSet,
    /// Two scores, bands, cut-offs or flags share an id.
    DuplicateId,
    /// A score's items, method or range do not fit together.
    BadScore,
    /// A reversal rule is malformed or does not mirror the item's options.
    BadReverse,
    /// A missing-data rule is malformed or does not fit the score.
    BadMissingRule,
    /// Two bands overlap.
    BandOverlap,
    /// Bands leave part of the score's range uncovered.
    BandGap,
    /// A band or cut-off lies outside the score's range.
    OutsideRange,
    /// An expression or lookup names a score that does not exist.
    UnknownScore,
    /// Score expressions depend on each other in a cycle.
    ExpressionCycle,
    /// A rule or expression cannot be parsed.
    BadRule,
    /// A context key or value is used but not declared.
    BadContext,
    /// The licence block is missing.
    MissingLicence,
    /// The citation is missing or empty.
    MissingCitation,
    /// Wording is present although the licence does not allow bundling it.
    TextNotAllowed,
    /// A test vector's expected result differs from what the definition computes.
    VectorMismatch,
    /// A translation names items, sets or values the instrument does not have.
    BadTranslation,
}

/// One problem in a definition, with the JSON path of the value it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Problem {
    /// JSON path, such as `$.scores[0].bands[2].min`.
    pub path: String,
    /// Machine-readable kind.
    pub kind: ProblemKind,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Collects problems while a definition is checked.
#[cfg(any(feature = "json", not(attune_lib)))]
#[derive(Debug, Default)]
pub(crate) struct Problems(pub(crate) Vec<Problem>);

#[cfg(any(feature = "json", not(attune_lib)))]
impl Problems {
    pub(crate) fn push(&mut self, path: impl Into<String>, kind: ProblemKind, message: impl Into<String>) {
        self.0.push(Problem { path: path.into(), kind, message: message.into() });
    }
}
