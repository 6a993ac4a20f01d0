//! The one error type of the campaign crate: every variant says what and where.

use userbridge_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("invalid name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("no document or directory at {path}")]
    NotFound { path: String },
    #[error("no directory at {path}")]
    DirectoryNotFound { path: String },
    #[error("{path} is a document, not a directory")]
    NotADirectory { path: String },
    #[error("{path} is a directory, not a document")]
    NotADocument { path: String },
    #[error("a {what} named {name:?} already exists in {directory}")]
    Exists {
        /// `document` or `directory`.
        what: &'static str,
        name: String,
        directory: String,
    },
    #[error("the directory {path} is not empty (delete it recursively to remove its content)")]
    NotEmpty { path: String },
    #[error("the root directory / cannot be {action}")]
    Root { action: &'static str },
    #[error("cannot move {from} into itself ({to})")]
    IntoItself { from: String, to: String },
    #[error("{name:?} is larger than the maximum document size of {limit} bytes")]
    TooLarge { name: String, limit: u64 },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("import definition: {entry}: {reason}")]
    InvalidImport { entry: String, reason: String },
    #[error("no import definition {id}")]
    ImportNotFound { id: String },
    #[error("an import definition named {name:?} already exists (names are unique, ignoring case)")]
    ImportExists { name: String },
    #[error(
        "import definition {id} has a {state} process {process}; delete it once that has finished"
    )]
    ImportInUse {
        id: String,
        process: String,
        state: String,
    },
    #[error("cannot read {document}: {source}")]
    Read {
        document: String,
        source: crate::delimited::ReadError,
    },
    /// RUN-8: the document's header differs from the one the definition remembers.
    #[error(
        "the header of {document} does not match the definition's (verify_headers {policy}): missing: {}; unexpected: {}; expected: {expected}",
        quoted(missing),
        quoted(unexpected)
    )]
    HeaderMismatch {
        document: String,
        policy: &'static str,
        missing: Vec<String>,
        unexpected: Vec<String>,
        expected: String,
    },
    /// The run was cancelled; nothing was committed (RUN-5).
    #[error("the run was cancelled; nothing was changed")]
    Cancelled,
    /// The stored content (or the documents directory) is a symbolic link or not a regular
    /// file: someone changed the data directory by hand; it is never followed.
    #[error(
        "the stored content of {what} is not a regular file inside the documents directory ({reason}); it was not read"
    )]
    UnsafeContent { what: String, reason: String },
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Names for an error message: `"a", "b"`, or `none`.
fn quoted(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl CampaignError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CampaignError {
        let context = context.into();
        move |source| CampaignError::Io { context, source }
    }
}

pub type Result<T, E = CampaignError> = std::result::Result<T, E>;
