//! Per-record import errors (`user-schema.md` §8): Auth0's codes, a message that always
//! names the property, and the path of the offending value.

use std::fmt;

use serde::Serialize;

/// Auth0's documented per-record error codes. No others are ever emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    AnyOfMissing,
    ArrayLengthLong,
    ArrayLengthShort,
    Conflict,
    ConflictEmail,
    ConflictUsername,
    ConnectionNotFound,
    DuplicatedUser,
    EnumMismatch,
    Format,
    InvalidType,
    MaxLength,
    Maximum,
    MfaFactorsFailed,
    MinLength,
    Minimum,
    NotPassed,
    ObjectRequired,
    Pattern,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AnyOfMissing => "ANY_OF_MISSING",
            ErrorCode::ArrayLengthLong => "ARRAY_LENGTH_LONG",
            ErrorCode::ArrayLengthShort => "ARRAY_LENGTH_SHORT",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::ConflictEmail => "CONFLICT_EMAIL",
            ErrorCode::ConflictUsername => "CONFLICT_USERNAME",
            ErrorCode::ConnectionNotFound => "CONNECTION_NOT_FOUND",
            ErrorCode::DuplicatedUser => "DUPLICATED_USER",
            ErrorCode::EnumMismatch => "ENUM_MISMATCH",
            ErrorCode::Format => "FORMAT",
            ErrorCode::InvalidType => "INVALID_TYPE",
            ErrorCode::MaxLength => "MAX_LENGTH",
            ErrorCode::Maximum => "MAXIMUM",
            ErrorCode::MfaFactorsFailed => "MFA_FACTORS_FAILED",
            ErrorCode::MinLength => "MIN_LENGTH",
            ErrorCode::Minimum => "MINIMUM",
            ErrorCode::NotPassed => "NOT_PASSED",
            ErrorCode::ObjectRequired => "OBJECT_REQUIRED",
            ErrorCode::Pattern => "PATTERN",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one record. `message` begins with the path (or names the property
/// when the path is the whole record, `""`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordError {
    pub code: ErrorCode,
    pub message: String,
    pub path: String,
}

impl RecordError {
    /// An error at `path`; the message is `"<path>: <problem>"` (or just the problem at `""`).
    pub fn new(code: ErrorCode, path: impl Into<String>, problem: impl fmt::Display) -> Self {
        let path = path.into();
        let message = if path.is_empty() {
            problem.to_string()
        } else {
            format!("{path}: {problem}")
        };
        RecordError {
            code,
            message,
            path,
        }
    }
}
