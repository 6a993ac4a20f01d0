//! The import engine.
//!
//! Every import — `userbridge import`, `POST /api/v2/jobs/users-imports` and the web page —
//! is an [`ImportRequest`] validated into one [`ImportSpec`] and run by [`engine::run`].

pub mod engine;
pub mod reader;
mod spec;
pub mod validate;

pub use engine::{BatchSink, Checkpoint, FailedRecord, Summary};
pub use spec::{ImportRequest, ImportSpec, column_mapping};

/// Errors that stop an import as a whole (per-record problems are [`userbridge_model::RecordError`]s).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("the connection does not exist: {0}")]
    UnknownConnection(String),
    /// The file cannot be read as a users file; nothing was imported.
    #[error("{0}")]
    Read(#[from] reader::ReadError),
    #[error(transparent)]
    Store(#[from] userbridge_store::StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the import was cancelled")]
    Cancelled,
}

pub type Result<T, E = ImportError> = std::result::Result<T, E>;
