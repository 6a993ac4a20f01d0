//! Domain types shared by every userbridge crate.
//!
//! Nothing here touches a file, a socket or a database: these are the shapes
//! the store persists, the engines transform and the server speaks.

pub mod field_path;
pub mod ids;
pub mod job;
pub mod query;
pub mod record_error;
pub mod time;
pub mod user;

pub use field_path::{Attribute, FieldPath, Step};
pub use job::{ExportFormat, Job, JobKind, JobStatus};
pub use record_error::{ErrorCode, RecordError};
pub use user::{Connection, FieldValue, Identity, User};

/// Errors raised while validating domain values (paths, ids, queries).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("invalid field path {path:?}: {reason}")]
    FieldPath { path: String, reason: String },
    #[error("invalid query: {0}")]
    Query(String),
    #[error("invalid {what}: {value:?}")]
    Invalid { what: &'static str, value: String },
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
