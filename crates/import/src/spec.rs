//! From a request (CLI flags, an API upload, a web form) to one validated [`ImportSpec`].

use std::path::PathBuf;

use userbridge_model::Connection;
use userbridge_store::{ConnectionSelector, Store};

use crate::reader::{Detected, InputFormat, ReaderOptions, RecordReader};
use crate::validate::ValidationLimits;
use crate::{ImportError, Result};

/// An import as asked for: nothing checked yet.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The users file, on disk (uploads and standard input are spooled to a file first:
    /// the engine reads it twice, once to check it, once to apply it).
    pub file: PathBuf,
    pub connection: ConnectionSelector,
    /// Update users that already exist instead of failing them.
    pub upsert: bool,
    pub format: InputFormat,
    /// CSV/TSV column → profile field path, the reverse of an export's mapping.
    pub columns: Vec<(String, String)>,
    /// Check everything, write nothing.
    pub dry_run: bool,
    /// Largest decompressed size accepted (gzip bombs stop here).
    pub max_decompressed_bytes: u64,
    /// Records per transaction (and per saved checkpoint).
    pub batch_size: usize,
}

/// One CSV/TSV column mapping, `COLUMN=PATH` (the last `=` splits, so a column name may
/// hold one); `None` when there is no `=`.
pub fn column_mapping(text: &str) -> Option<(String, String)> {
    let (column, path) = text.rsplit_once('=')?;
    Some((column.to_string(), path.to_string()))
}

impl ImportRequest {
    pub fn new(file: PathBuf, connection: ConnectionSelector) -> ImportRequest {
        ImportRequest {
            file,
            connection,
            upsert: false,
            format: InputFormat::Auto,
            columns: Vec::new(),
            dry_run: false,
            max_decompressed_bytes: 4 << 30,
            batch_size: crate::engine::BATCH_SIZE,
        }
    }
}

/// A validated import, ready to run.
#[derive(Debug, Clone)]
pub struct ImportSpec {
    pub file: PathBuf,
    /// What the file turned out to be.
    pub detected: Detected,
    pub connection: Connection,
    pub upsert: bool,
    pub dry_run: bool,
    pub reader: ReaderOptions,
    pub limits: ValidationLimits,
    pub batch_size: usize,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ImportError {
    ImportError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

impl ImportSpec {
    pub fn validate(request: &ImportRequest, store: &dyn Store) -> Result<ImportSpec> {
        let connection = request
            .connection
            .resolve(store)?
            .ok_or_else(|| ImportError::UnknownConnection(request.connection.to_string()))?;
        if !request.file.is_file() {
            return Err(invalid(
                "file",
                format!("{} is not a readable file", request.file.display()),
            ));
        }
        let reader = ReaderOptions {
            format: request.format,
            columns: request.columns.clone(),
            max_decompressed_bytes: request.max_decompressed_bytes,
            ..ReaderOptions::default()
        };
        // Opening checks what can be checked before the run: the encoding, the format and,
        // for CSV/TSV, the header row against the column mapping.
        let detected = RecordReader::open(&request.file, &reader)?.detected();
        Ok(ImportSpec {
            detected,
            file: request.file.clone(),
            connection,
            upsert: request.upsert,
            dry_run: request.dry_run,
            reader,
            limits: ValidationLimits::default(),
            batch_size: request.batch_size.max(1),
        })
    }
}
