//! Input errors. Bad input is never scored: it becomes one of these, with a stable code that the
//! CLI, the JavaScript API and the server all report in the same JSON shape.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// The stable error codes of ARCHITECTURE.md. The JavaScript API declares this type to TypeScript
/// as it is (`ErrorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No instrument with that id in the catalog.
    UnknownInstrument,
    /// An answer names an item the instrument does not have.
    UnknownItem,
    /// An answer is not one of the item's option values (out of range, a fraction, a string, a boolean).
    InvalidValue,
    /// The context is not an object, or a context value is not allowed, or `min_n` is invalid.
    InvalidContext,
    /// The request is not JSON, or not of the request shape.
    InvalidJson,
}

impl ErrorCode {
    /// The code as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::UnknownInstrument => "unknown_instrument",
            ErrorCode::UnknownItem => "unknown_item",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::InvalidContext => "invalid_context",
            ErrorCode::InvalidJson => "invalid_json",
        }
    }
}

/// Why an answer set (or a request) cannot be scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// No instrument with that id.
    #[error("unknown instrument `{id}`; `attune catalog` lists the instruments")]
    UnknownInstrument {
        /// The id that was asked for.
        id: String,
    },
    /// An answer names an item the instrument does not have.
    #[error("item `{item}` is not an item of this instrument")]
    UnknownItem {
        /// The item id as given.
        item: String,
    },
    /// An answer is not one of the item's option values.
    #[error("item `{item}`: {found} is not an option value; allowed values are {allowed}")]
    InvalidValue {
        /// The item id.
        item: String,
        /// The value as given, in JSON.
        found: String,
        /// The allowed values, listed.
        allowed: String,
    },
    /// The context is not usable.
    #[error("{message}")]
    InvalidContext {
        /// What is wrong with the context.
        message: String,
    },
    /// The request is not JSON or not of the request shape.
    #[error("{message}")]
    InvalidJson {
        /// What is wrong with the request.
        message: String,
    },
}

impl ScoreError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            ScoreError::UnknownInstrument { .. } => ErrorCode::UnknownInstrument,
            ScoreError::UnknownItem { .. } => ErrorCode::UnknownItem,
            ScoreError::InvalidValue { .. } => ErrorCode::InvalidValue,
            ScoreError::InvalidContext { .. } => ErrorCode::InvalidContext,
            ScoreError::InvalidJson { .. } => ErrorCode::InvalidJson,
        }
    }

    /// The item the error is about, where there is one.
    pub fn item(&self) -> Option<&str> {
        match self {
            ScoreError::UnknownItem { item } | ScoreError::InvalidValue { item, .. } => Some(item),
            _ => None,
        }
    }

    /// An `invalid_json` error with this message.
    pub fn invalid_json(message: impl Into<String>) -> Self {
        ScoreError::InvalidJson { message: message.into() }
    }

    /// An `invalid_context` error with this message.
    pub fn invalid_context(message: impl Into<String>) -> Self {
        ScoreError::InvalidContext { message: message.into() }
    }

    /// A request that is not an object.
    pub fn request_not_an_object() -> Self {
        ScoreError::invalid_json("a request must be a JSON object")
    }

    /// A request without an instrument.
    pub fn no_instrument() -> Self {
        ScoreError::invalid_json("the request has no \"instrument\"")
    }

    /// An instrument id that is not a string; `shown` is the value as JSON text.
    pub fn instrument_not_a_string(shown: &str) -> Self {
        ScoreError::invalid_json(format!("\"instrument\" must be a string, not {shown}"))
    }

    /// Answers that are not an object; `kind` is what they are (`"an array"`, `"a string"`, ...).
    pub fn answers_not_an_object(kind: &str) -> Self {
        ScoreError::invalid_json(format!("\"answers\" must be an object keyed by item id, not {kind}"))
    }

    /// A context that is not an object; `shown` is the value as JSON text (see [`crate::shown`]).
    pub fn context_not_an_object(shown: &str) -> Self {
        ScoreError::invalid_context(format!("context must be an object, not {shown}"))
    }
}

/// The `error` object of the JSON output: `{"code": ..., "item": ..., "member": ..., "message": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorBody<'a> {
    /// The error.
    pub error: &'a ScoreError,
    /// For group statistics: the 0-based index of the member whose answers were rejected.
    pub member: Option<usize>,
}

impl Serialize for ErrorBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("code", &self.error.code())?;
        if let Some(item) = self.error.item() {
            m.serialize_entry("item", item)?;
        }
        if let Some(member) = self.member {
            m.serialize_entry("member", &member)?;
        }
        m.serialize_entry("message", &self.error.to_string())?;
        m.end()
    }
}

impl Serialize for ScoreError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ErrorBody { error: self, member: None }.serialize(s)
    }
}
