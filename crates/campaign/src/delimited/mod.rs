//! Delimited files (CSV, TSV, …) for the Data Import tool (`campaign-import.md` §6.1–§6.4):
//! a streaming [`DelimitedReader`] (gzip, BOMs, encodings, RFC 4180 qualifiers, any line
//! endings, runaway-quote guard) and a [`sniff`]er that proposes a [`Dialect`], column types
//! and date formats, with a preview and an explanation of what it tried.

mod encoding;
mod reader;
mod sniff;
mod types;

pub use encoding::{Encoding, UnknownEncoding};
pub use reader::{Counts, DelimitedReader, RecordView};
pub use sniff::{
    ProposedType, SniffOverrides, Sniffed, SniffedColumn, delimiter_from_text, sniff, sniff_with,
};

/// How a delimited file is read: every setting explicit (saved definitions never say "auto").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    /// Used when the file has no BOM; a BOM always wins (IMP-6).
    pub encoding: Encoding,
    /// Must be an ASCII character other than CR and LF.
    pub delimiter: char,
    /// `'"'`, `'\''` or `None`; must be ASCII and differ from the delimiter.
    pub qualifier: Option<char>,
    /// The first row (after `skip_rows`) holds the column headings.
    pub header: bool,
    /// Physical lines skipped at the top, before the header.
    pub skip_rows: usize,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            encoding: Encoding::Utf8,
            delimiter: ',',
            qualifier: Some('"'),
            header: true,
            skip_rows: 0,
        }
    }
}

/// One record of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based physical line on which the record starts.
    pub line: u64,
    /// The record's original text (decoded), without its line terminator.
    pub raw: String,
    /// The fields, qualifiers removed and doubled qualifiers undone. The count is kept as in
    /// the file (ragged rows are the caller's to reject, IMP-19).
    pub fields: Vec<String>,
}

/// A record that cannot be read; it is rejected and reading goes on (IMP-9, IMP-13).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A qualified field was never closed, or ran over 1 MiB or 100 physical lines. `raw` is the
    /// first physical line of the record; reading resumed on the line after it.
    #[error("line {line}: unbalanced quotes")]
    UnbalancedQuotes { line: u64, raw: String },
    /// The record holds bytes that are invalid in the chosen encoding. `raw` shows them as
    /// U+FFFD for the reject file only; they are never part of a [`Record`].
    #[error("line {line}: bytes invalid in the chosen encoding")]
    Encoding { line: u64, raw: String },
}

impl RecordError {
    /// The reason code of the reject file (`unbalanced_quotes`, `encoding_error`).
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::UnbalancedQuotes { .. } => "unbalanced_quotes",
            RecordError::Encoding { .. } => "encoding_error",
        }
    }

    pub fn line(&self) -> u64 {
        match self {
            RecordError::UnbalancedQuotes { line, .. } | RecordError::Encoding { line, .. } => {
                *line
            }
        }
    }

    pub fn raw(&self) -> &str {
        match self {
            RecordError::UnbalancedQuotes { raw, .. } | RecordError::Encoding { raw, .. } => raw,
        }
    }
}

/// What kind of whole-file failure a [`ReadError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadErrorKind {
    /// Reading the input failed (including a corrupt gzip stream).
    Io,
    /// The decompressed content exceeds the cap (IMP-5).
    TooLarge,
    /// One record (without line breaks inside qualifiers) exceeds [`MAX_RECORD_BYTES`].
    RecordTooLong,
    /// The header row cannot be read (invalid bytes, unbalanced quotes).
    BadHeader,
    /// The dialect itself is unusable (e.g. a non-ASCII delimiter).
    BadDialect,
}

/// A failure that stops reading the whole file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, byte {byte}: {message}")]
pub struct ReadError {
    pub kind: ReadErrorKind,
    /// 1-based physical line being read.
    pub line: u64,
    /// Input bytes consumed when it failed (compressed bytes for gzip input).
    pub byte: u64,
    pub message: String,
}

/// Longest record accepted, in bytes after decoding.
pub const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;
/// Longest qualified field before it is treated as an unbalanced quote (IMP-13).
pub const MAX_QUALIFIED_FIELD_BYTES: usize = 1024 * 1024;
/// Most physical lines a qualified field may span (IMP-13).
pub const MAX_QUALIFIED_FIELD_LINES: u64 = 100;
