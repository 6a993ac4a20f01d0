//! Reading users files: JSON array, NDJSON, CSV/TSV, optionally gzip-compressed
//! (`user-schema.md` §1).
//!
//! [`RecordReader`] streams: it reads through fixed-size buffers and keeps at most one record in
//! memory (bounded by [`ReaderOptions::max_record_bytes`]), so a file of any size is read in flat
//! memory. It yields one [`RawRecord`] per user record, in file order; a record that cannot be
//! used on its own (nested too deep, too large, a CSV row with too many cells) carries a
//! [`RecordError`] and the records around it still come. A problem with the file as a whole
//! (syntax error, invalid UTF-8, corrupt gzip, size limit) is a [`ReadError`] with its line,
//! column and byte, after which iteration ends. Records yielded before a [`ReadError`] are
//! correct, but a caller that must import nothing from a broken file (§1: the whole file is
//! syntax-checked before anything is applied) reads to the end before applying any record.
//!
//! The pipeline: gzip is recognised by its magic bytes `1f 8b` (whatever the file name) and
//! decompressed on the fly; the decompressed size is capped by
//! [`ReaderOptions::max_decompressed_bytes`] (plain files too); a UTF-8 BOM is skipped, a UTF-16
//! or UTF-32 file (BOM, or NUL bytes between ASCII characters) is refused; every byte is checked
//! to be UTF-8 as it passes, so an invalid sequence is reported at its exact position.
//!
//! Positions in [`ReadError`]: `line` and `column` are 1-based, `column` counts characters
//! (not bytes) from the start of the line; `byte` is the 0-based offset in the decompressed
//! data, a UTF-8 BOM included.

mod delimited;
mod json;
mod source;

use std::fmt;
use std::fs::File;
use std::io::{BufRead, Read};
use std::iter::FusedIterator;
use std::path::Path;
use std::str::FromStr;

use serde_json::Value;
use userbridge_model::RecordError;

pub use source::Input;

use delimited::DelimitedRows;
use json::JsonScanner;
use source::Pos;

pub use delimited::MAX_COLUMN_INDEX;
pub use json::MAX_RECORD_DEPTH;

/// Default of [`ReaderOptions::max_decompressed_bytes`]: 4 GiB.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 4 << 30;
/// Default of [`ReaderOptions::max_record_bytes`]: 64 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 64 << 20;
/// Default of [`ReaderOptions::max_columns`].
pub const DEFAULT_MAX_COLUMNS: usize = 100_000;

/// The container of a users file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InputFormat {
    /// Detect from the content (see [`RecordReader::from_reader`]).
    #[default]
    Auto,
    /// A JSON array of user objects (Auth0's format). Named `json`.
    JsonArray,
    /// One JSON value per line; blank lines are ignored.
    Ndjson,
    /// Comma-separated values with a header row (RFC 4180 quoting).
    Csv,
    /// Tab-separated values with a header row (same quoting as CSV).
    Tsv,
}

impl InputFormat {
    /// `auto`, `json`, `ndjson`, `csv` or `tsv`.
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Auto => "auto",
            InputFormat::JsonArray => "json",
            InputFormat::Ndjson => "ndjson",
            InputFormat::Csv => "csv",
            InputFormat::Tsv => "tsv",
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not `auto`, `json`, `ndjson`, `csv` or `tsv`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown input format {0:?} (expected auto, json, ndjson, csv or tsv)")]
pub struct UnknownInputFormat(pub String);

impl FromStr for InputFormat {
    type Err = UnknownInputFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(InputFormat::Auto),
            "json" => Ok(InputFormat::JsonArray),
            "ndjson" => Ok(InputFormat::Ndjson),
            "csv" => Ok(InputFormat::Csv),
            "tsv" => Ok(InputFormat::Tsv),
            other => Err(UnknownInputFormat(other.to_string())),
        }
    }
}

/// How to read a users file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderOptions {
    pub format: InputFormat,
    /// CSV/TSV column → profile field path (`"Email Address"` → `"email"`). Columns not listed
    /// map to themselves when their header is a valid field path; other headers stay top-level
    /// keys named by the header (the validator then reports them as unknown properties). Every
    /// listed column must be in the header row. Ignored for JSON formats.
    pub columns: Vec<(String, String)>,
    /// Largest decompressed size (gzip bomb cap); also applied to uncompressed input.
    pub max_decompressed_bytes: u64,
    /// Largest record: one record's JSON text (larger → a per-record `MAX_LENGTH` error) or one
    /// CSV/TSV row (larger → a [`ReadError`], as the row's end cannot be found reliably).
    pub max_record_bytes: usize,
    /// JSON formats: the deepest nesting of objects and arrays in a record (the record itself
    /// is one level; larger → a per-record `FORMAT` error). At most [`MAX_RECORD_DEPTH`].
    pub max_record_depth: usize,
    /// CSV/TSV: the most columns the header row may have (more → a [`ReadError`]); rows with
    /// more cells than the header are per-record `FORMAT` errors.
    pub max_columns: usize,
    /// JSON formats: check the syntax and count the records, yielding `Value::Null` for each
    /// well-formed record instead of parsing it (the import's pre-scan).
    pub syntax_only: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            format: InputFormat::Auto,
            columns: Vec::new(),
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_record_depth: MAX_RECORD_DEPTH,
            max_columns: DEFAULT_MAX_COLUMNS,
            syntax_only: false,
        }
    }
}

/// One record as read from the file, not validated yet.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// 0-based position among the file's records.
    pub index: u64,
    /// 1-based line where the record starts.
    pub line: u64,
    /// `Err`: this record alone is unusable (path `""`): nested deeper than
    /// [`MAX_RECORD_DEPTH`] (`FORMAT`), larger than `max_record_bytes` (`MAX_LENGTH`), a number
    /// out of range or a lone surrogate escape (`FORMAT`), a CSV row with more cells than the
    /// header (`FORMAT`).
    pub value: Result<Value, RecordError>,
}

/// A problem with the file as a whole; nothing after it can be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column} (byte {byte}): {message}")]
pub struct ReadError {
    pub line: u64,
    pub column: u64,
    pub byte: u64,
    pub message: String,
}

/// What [`RecordReader`] found out about the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// Never [`InputFormat::Auto`].
    pub format: InputFormat,
    pub gzip: bool,
}

enum Parser<R> {
    Json(Box<JsonScanner<R>>),
    Delimited(Box<DelimitedRows<R>>),
    Done,
}

/// Streams the records of a users file. See the [module documentation](self).
pub struct RecordReader<R: BufRead = Input> {
    detected: Detected,
    parser: Parser<R>,
}

impl<R: BufRead> fmt::Debug for RecordReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordReader")
            .field("detected", &self.detected)
            .finish_non_exhaustive()
    }
}

impl RecordReader<Input> {
    /// Opens a users file; see [`RecordReader::from_reader`].
    pub fn open(path: &Path, options: &ReaderOptions) -> Result<Self, ReadError> {
        let file = File::open(path)
            .map_err(|e| Pos::START.error(format!("cannot open {}: {e}", path.display())))?;
        Self::from_reader(file, options)
    }

    /// Reads a users file from any byte source (stdin, an upload, a test buffer).
    ///
    /// Detects gzip by its magic bytes and decompresses it under the size cap; skips a UTF-8
    /// BOM; refuses UTF-16/UTF-32 ("the file is UTF-16; save it as UTF-8"). With
    /// [`InputFormat::Auto`], the first non-whitespace byte decides: `[` → JSON array, `{` →
    /// NDJSON, anything else → CSV when the first line has more commas than tabs, TSV
    /// otherwise; a file with no content at all is an empty JSON array (no records). For CSV/TSV
    /// the header row is read here, so header problems (duplicate names, mapping errors) are
    /// returned here.
    pub fn from_reader(
        reader: impl Read + Send + 'static,
        options: &ReaderOptions,
    ) -> Result<Self, ReadError> {
        let opened = source::open_input(
            Box::new(reader),
            options.format,
            options.max_decompressed_bytes,
        )?;
        let input = opened.input;
        let parser = match opened.format {
            InputFormat::Auto | InputFormat::JsonArray | InputFormat::Ndjson => {
                let ndjson = opened.format == InputFormat::Ndjson;
                Parser::Json(Box::new(
                    JsonScanner::new(input, ndjson, opened.start, options.max_record_bytes)
                        .max_depth(options.max_record_depth)
                        .syntax_only(options.syntax_only),
                ))
            }
            InputFormat::Csv | InputFormat::Tsv => {
                let delimiter = if opened.format == InputFormat::Csv {
                    b','
                } else {
                    b'\t'
                };
                Parser::Delimited(Box::new(DelimitedRows::new(
                    input,
                    delimiter,
                    options,
                    opened.start,
                )?))
            }
        };
        let format = match opened.format {
            InputFormat::Auto => InputFormat::JsonArray,
            other => other,
        };
        Ok(RecordReader {
            detected: Detected {
                format,
                gzip: opened.gzip,
            },
            parser,
        })
    }
}

impl<R: BufRead> RecordReader<R> {
    pub fn detected(&self) -> Detected {
        self.detected
    }
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<RawRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = match &mut self.parser {
            Parser::Json(scanner) => scanner.next_record(),
            Parser::Delimited(rows) => rows.next_record(),
            Parser::Done => None,
        };
        if !matches!(item, Some(Ok(_))) {
            self.parser = Parser::Done;
        }
        item
    }
}

impl<R: BufRead> FusedIterator for RecordReader<R> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names() {
        for format in [
            InputFormat::Auto,
            InputFormat::JsonArray,
            InputFormat::Ndjson,
            InputFormat::Csv,
            InputFormat::Tsv,
        ] {
            assert_eq!(format.as_str().parse::<InputFormat>(), Ok(format));
        }
        let err = "xml".parse::<InputFormat>().unwrap_err();
        assert!(err.to_string().contains("\"xml\""));
    }

    #[test]
    fn reader_is_send() {
        fn send<T: Send>() {}
        send::<RecordReader>();
    }

    #[test]
    fn read_error_display() {
        let err = ReadError {
            line: 3,
            column: 7,
            byte: 42,
            message: "boom".into(),
        };
        assert_eq!(err.to_string(), "line 3, column 7 (byte 42): boom");
    }
}
