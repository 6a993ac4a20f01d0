//! Export file writers: CSV/TSV/JSON/NDJSON cells, quoting and formula protection.
//!
//! The byte-level rules are those of `export-formats.md` §3–§4 and the value rendering of
//! `user-schema.md` §9.5–§9.6:
//!
//! * CSV/TSV: a header row, then one record per line; RFC 4180 minimal quoting (a field is quoted
//!   only when it contains the delimiter, `"`, CR or LF, or is an empty string); a missing value is
//!   an empty unquoted field; LF (or CRLF) after every record; optional BOM; formula escaping per
//!   [`FormulaEscape`]; optional newline flattening.
//! * JSON array (`[`, one compact object per line, `]`) and NDJSON (one compact object per line).
//!
//! A [`RecordWriter`] builds each record in an internal buffer and hands it to the output with one
//! `write_all`, so an unbuffered writer works, although a `BufWriter` is still recommended.
//!
//! ```
//! use userbridge_formats::{ExportFormat, FieldValue, RecordWriter, WriterOptions};
//!
//! let options = WriterOptions::new(ExportFormat::Tsv);
//! let columns = vec!["Email".to_string(), "Email Verified".to_string()];
//! let mut writer = RecordWriter::new(Vec::new(), &options, Some(columns))?;
//! writer.write_cell(&FieldValue::Str("jane@example.com"))?;
//! writer.write_cell(&FieldValue::Bool(true))?;
//! writer.end_record()?;
//! assert_eq!(writer.records(), 1);
//! let bytes = writer.finish()?;
//! assert_eq!(bytes, b"Email\tEmail Verified\njane@example.com\ttrue\n");
//! # Ok::<(), userbridge_formats::FormatError>(())
//! ```

mod cell;
mod options;
mod writer;

use std::io::{self, Write};

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

pub use options::{DateFormat, FormulaEscape, WriterOptions};
pub use userbridge_model::{ExportFormat, FieldValue, User};
pub use writer::RecordWriter;

/// One text as the `smart` formula protection writes it: with a leading `'` when it starts
/// with `=`, `+`, `-`, `@`, TAB, CR or NUL and is not a plain number. For CSV the product
/// writes without a [`RecordWriter`] (a campaign run's reject file).
pub fn formula_guarded(text: &str) -> std::borrow::Cow<'_, str> {
    if cell::smart_needs_prefix(text.as_bytes()) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Everything that can go wrong while configuring or writing an export file.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The output failed (disk full, closed pipe…). [`FormatError::io_error_kind`] tells which.
    #[error("writing the export failed: {0}")]
    Io(#[from] io::Error),
    /// A JSON value could not be serialised.
    #[error("serialising a JSON value failed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid formula escape mode {0:?} (expected smart, auth0 or none)")]
    InvalidFormulaEscape(String),
    #[error("invalid date format {pattern:?}: {reason}")]
    InvalidDateFormat { pattern: String, reason: String },
    #[error("invalid delimiter {0:?}: a delimiter cannot be a double quote, CR or LF")]
    InvalidDelimiter(char),
    /// A record got more cells than there are columns, or ended with fewer.
    #[error("a record has {found} cells, the header has {expected}")]
    CellCount { expected: usize, found: usize },
    /// The writer was used against its contract (e.g. `write_profile` on a CSV writer).
    #[error("{0}")]
    Misuse(&'static str),
}

impl FormatError {
    /// The kind of the underlying I/O error, if this error comes from the output.
    pub fn io_error_kind(&self) -> Option<io::ErrorKind> {
        match self {
            FormatError::Io(e) => Some(e.kind()),
            FormatError::Json(e) => e.io_error_kind(),
            _ => None,
        }
    }

    /// True when the reader of the output went away (e.g. `userbridge export | head`).
    pub fn is_broken_pipe(&self) -> bool {
        self.io_error_kind() == Some(io::ErrorKind::BrokenPipe)
    }
}

pub type Result<T, E = FormatError> = std::result::Result<T, E>;

/// A writer that gzips into `out`, with the gzip header's original-name field set to
/// `original_name` (NUL bytes, which the field cannot hold, are dropped). Call
/// [`GzEncoder::finish`] to write the trailer and get `out` back.
pub fn gzip_writer<W: Write>(out: W, original_name: &str) -> GzEncoder<W> {
    let name: Vec<u8> = original_name.bytes().filter(|&b| b != 0).collect();
    GzBuilder::new()
        .filename(name)
        .write(out, Compression::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzip_writer_sets_the_original_name() {
        let mut gz = gzip_writer(Vec::new(), "tenant.csv");
        gz.write_all(b"a,b\n1,2\n").unwrap();
        let bytes = gz.finish().unwrap();
        let mut decoder = flate2::read::GzDecoder::new(&bytes[..]);
        let mut text = String::new();
        decoder.read_to_string(&mut text).unwrap();
        assert_eq!(text, "a,b\n1,2\n");
        assert_eq!(
            decoder.header().unwrap().filename(),
            Some(&b"tenant.csv"[..])
        );
    }

    #[test]
    fn gzip_writer_does_not_panic_on_nul_in_name() {
        let gz = gzip_writer(Vec::new(), "a\0b.json");
        let bytes = gz.finish().unwrap();
        let decoder = flate2::read::GzDecoder::new(&bytes[..]);
        assert_eq!(decoder.header().unwrap().filename(), Some(&b"ab.json"[..]));
    }

    #[test]
    fn io_error_kind_is_reachable() {
        let e = FormatError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(e.is_broken_pipe());
        assert_eq!(e.io_error_kind(), Some(io::ErrorKind::BrokenPipe));
        assert_eq!(FormatError::Misuse("x").io_error_kind(), None);
        let source = std::error::Error::source(&e).unwrap();
        assert_eq!(
            source.downcast_ref::<io::Error>().unwrap().kind(),
            io::ErrorKind::BrokenPipe
        );
    }
}
