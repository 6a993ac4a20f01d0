//! The saved import definition (campaign-import.md §6, §9) and its validation.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use userbridge_store::{ApplyMode, CampaignColumn, CampaignTable, Store};

use super::headers::VerifyHeaders;
use crate::delimited::{Dialect, Encoding};
use crate::values::{ColumnSpec, DEFAULT_CLEAR_TOKEN, check_table_name};
use crate::{CampaignError, DocPath, Documents, Result};

/// How the source document is read; every setting explicit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialectSpec {
    /// An encoding label (`UTF-8`, `UTF-16LE`, `UTF-16BE`, `windows-1252`, `ISO-8859-1`).
    #[serde(default = "default_encoding")]
    pub encoding: String,
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// `"` (default), `'` or null (none).
    #[serde(default = "default_qualifier")]
    pub qualifier: Option<char>,
    #[serde(default = "default_true")]
    pub header: bool,
    #[serde(default)]
    pub skip_rows: usize,
}

impl Default for DialectSpec {
    fn default() -> Self {
        DialectSpec {
            encoding: default_encoding(),
            delimiter: default_delimiter(),
            qualifier: default_qualifier(),
            header: true,
            skip_rows: 0,
        }
    }
}

fn default_encoding() -> String {
    Encoding::Utf8.label().to_string()
}
fn default_delimiter() -> char {
    ','
}
fn default_qualifier() -> Option<char> {
    Some('"')
}
fn default_true() -> bool {
    true
}
fn default_clear_token() -> String {
    DEFAULT_CLEAR_TOKEN.to_string()
}
fn default_first_rows() -> Option<u64> {
    Some(100)
}

/// The target campaign table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSpec {
    pub table: String,
    /// Create the table from the mapping when it does not exist.
    #[serde(default)]
    pub create: bool,
}

/// A source column: its header name, or its 1-based position (files without a header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SourceColumn {
    Position(usize),
    Name(String),
}

impl std::fmt::Display for SourceColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceColumn::Position(p) => write!(f, "column {p}"),
            SourceColumn::Name(n) => write!(f, "{n:?}"),
        }
    }
}

/// One mapped column: source → target column (`column.name`) with its type and options.
/// Source columns not mapped are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub source: SourceColumn,
    pub column: ColumnSpec,
}

/// Import mode (§6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    AddOnly,
    UpdateOnly,
    #[default]
    AddAndUpdate,
    Overwrite,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::AddOnly => "add_only",
            Mode::UpdateOnly => "update_only",
            Mode::AddAndUpdate => "add_and_update",
            Mode::Overwrite => "overwrite",
        }
    }

    pub fn apply_mode(self) -> ApplyMode {
        match self {
            Mode::AddOnly => ApplyMode::AddOnly,
            Mode::UpdateOnly => ApplyMode::UpdateOnly,
            Mode::AddAndUpdate => ApplyMode::AddAndUpdate,
            Mode::Overwrite => ApplyMode::Overwrite,
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().replace('-', "_").to_ascii_lowercase().as_str() {
            "add_only" => Ok(Mode::AddOnly),
            "update_only" => Ok(Mode::UpdateOnly),
            "add_and_update" => Ok(Mode::AddAndUpdate),
            "overwrite" => Ok(Mode::Overwrite),
            _ => Err(format!(
                "unknown mode {s:?}: use add_only, update_only, add_and_update or overwrite"
            )),
        }
    }
}

/// Policy for duplicate keys inside the file (§6.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duplicates {
    First,
    #[default]
    Last,
    Reject,
}

impl Duplicates {
    pub fn as_str(self) -> &'static str {
        match self {
            Duplicates::First => "first",
            Duplicates::Last => "last",
            Duplicates::Reject => "reject",
        }
    }
}

impl std::str::FromStr for Duplicates {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "first" => Ok(Duplicates::First),
            "last" => Ok(Duplicates::Last),
            "reject" => Ok(Duplicates::Reject),
            _ => Err(format!(
                "unknown duplicates policy {s:?}: use first, last or reject"
            )),
        }
    }
}

/// Error thresholds (IMP-36); any may be unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rejected_rows: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rejected_percent: Option<f64>,
    /// Abort when the first N data rows are all rejected (default 100).
    #[serde(default = "default_first_rows")]
    pub abort_if_first_rows_rejected: Option<u64>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_rejected_rows: None,
            max_rejected_percent: None,
            abort_if_first_rows_rejected: default_first_rows(),
        }
    }
}

/// A Data Import definition ("New Import" window), saved as JSON in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportDefinition {
    pub name: String,
    /// Path of the source document, e.g. `/marketing/users.tsv`.
    pub document: String,
    #[serde(default)]
    pub dialect: DialectSpec,
    pub target: TargetSpec,
    pub mapping: Vec<Mapping>,
    /// Target column names.
    #[serde(default)]
    pub key: Vec<String>,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub duplicates: Duplicates,
    /// Empty disables the feature.
    #[serde(default = "default_clear_token")]
    pub clear_token: String,
    #[serde(default)]
    pub blank_overwrites: bool,
    #[serde(default)]
    pub thresholds: Thresholds,
    /// RUN-8: how a run's header is compared with `expected_headers`.
    #[serde(default)]
    pub verify_headers: VerifyHeaders,
    /// The header row of the document the definition was saved for (filled when it is
    /// saved); runs compare their document's header with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_headers: Option<Vec<String>>,
}

/// A definition checked against the store and the Documents area, ready to run.
#[derive(Debug, Clone)]
pub struct ValidImport {
    /// The saved definition's id (`def_…`), when it has one.
    pub id: Option<String>,
    /// The saved definition's version (IMP-41), when it has one; set with `id`.
    pub version: Option<u64>,
    pub definition: ImportDefinition,
    pub document: DocPath,
    pub dialect: Dialect,
    /// The table as it exists, or as it will be created (`exists == false`).
    pub table: CampaignTable,
    pub table_exists: bool,
    /// For each table column: the index of the mapping filling it.
    pub column_mapping: Vec<Option<usize>>,
    /// The mapping indexes of the key columns, in key order.
    pub key_mapping: Vec<usize>,
}

fn invalid(entry: impl Into<String>, reason: impl Into<String>) -> CampaignError {
    CampaignError::InvalidImport {
        entry: entry.into(),
        reason: reason.into(),
    }
}

impl ImportDefinition {
    /// Checks everything a run needs, naming the offending entry.
    pub fn validate(&self, store: &dyn Store, documents: &Documents) -> Result<ValidImport> {
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty"));
        }
        // Dialect.
        let encoding: Encoding =
            self.dialect
                .encoding
                .parse()
                .map_err(|e: crate::delimited::UnknownEncoding| {
                    invalid("dialect.encoding", e.to_string())
                })?;
        let usable = |c: char| c.is_ascii() && c != '\r' && c != '\n';
        if !usable(self.dialect.delimiter) {
            return Err(invalid(
                "dialect.delimiter",
                format!(
                    "{:?} is not supported (an ASCII character other than CR/LF)",
                    self.dialect.delimiter
                ),
            ));
        }
        if let Some(q) = self.dialect.qualifier
            && (!usable(q) || q == self.dialect.delimiter)
        {
            return Err(invalid(
                "dialect.qualifier",
                format!("{q:?} is not supported (ASCII, not CR/LF, not the delimiter)"),
            ));
        }
        let dialect = Dialect {
            encoding,
            delimiter: self.dialect.delimiter,
            qualifier: self.dialect.qualifier,
            header: self.dialect.header,
            skip_rows: self.dialect.skip_rows,
        };
        // Document.
        let document =
            DocPath::parse(&self.document).map_err(|e| invalid("document", e.to_string()))?;
        match documents.entry(&document) {
            Ok(crate::Entry::Document(_)) => {}
            Ok(crate::Entry::Directory(_)) => {
                return Err(invalid("document", format!("{document} is a directory")));
            }
            Err(e) => return Err(invalid("document", e.to_string())),
        }
        // Target table name.
        check_table_name(&self.target.table).map_err(|e| invalid("target.table", e))?;
        // Mapping.
        if self.mapping.is_empty() {
            return Err(invalid("mapping", "map at least one column"));
        }
        let mut targets = HashSet::new();
        for (i, m) in self.mapping.iter().enumerate() {
            let entry = format!("mapping[{i}] ({} → {:?})", m.source, m.column.name);
            m.column.validate().map_err(|e| invalid(&entry, e))?;
            if !targets.insert(m.column.name.to_lowercase()) {
                return Err(invalid(&entry, "target column mapped twice"));
            }
            match &m.source {
                SourceColumn::Position(0) => {
                    return Err(invalid(&entry, "positions start at 1"));
                }
                SourceColumn::Name(n) if !dialect.header => {
                    return Err(invalid(
                        &entry,
                        format!(
                            "source {n:?} is a header name but the file has no header row; use a position"
                        ),
                    ));
                }
                _ => {}
            }
        }
        let find = |name: &str| {
            self.mapping
                .iter()
                .position(|m| m.column.name.eq_ignore_ascii_case(name))
        };
        // Key.
        let mut key_mapping = Vec::new();
        for (i, k) in self.key.iter().enumerate() {
            let Some(m) = find(k) else {
                return Err(invalid(
                    format!("key[{i}] ({k:?})"),
                    "the key column is not mapped",
                ));
            };
            if key_mapping.contains(&m) {
                return Err(invalid(format!("key[{i}] ({k:?})"), "named twice"));
            }
            key_mapping.push(m);
        }
        if self.key.is_empty() && matches!(self.mode, Mode::UpdateOnly | Mode::AddAndUpdate) {
            return Err(invalid(
                "key",
                format!("mode {} needs a key", self.mode.as_str()),
            ));
        }
        // Thresholds.
        if let Some(p) = self.thresholds.max_rejected_percent
            && !(0.0..=100.0).contains(&p)
        {
            return Err(invalid(
                "thresholds.max_rejected_percent",
                "must be between 0 and 100",
            ));
        }
        // Table.
        let existing = store.campaign_table(&self.target.table)?;
        let (table, table_exists) = match existing {
            Some(t) => {
                let table_key: Vec<String> = t.key.iter().map(|k| k.to_lowercase()).collect();
                let def_key: Vec<String> = self
                    .key
                    .iter()
                    .map(|k| {
                        find(k)
                            .map(|m| self.mapping[m].column.name.to_lowercase())
                            .unwrap_or_default()
                    })
                    .collect();
                if !self.key.is_empty() && table_key != def_key {
                    return Err(invalid(
                        "key",
                        format!(
                            "table {} is keyed on {:?}; the definition's key must be the same",
                            t.name, t.key
                        ),
                    ));
                }
                for (i, m) in self.mapping.iter().enumerate() {
                    if !t
                        .columns
                        .iter()
                        .any(|c| c.name.eq_ignore_ascii_case(&m.column.name))
                    {
                        return Err(invalid(
                            format!("mapping[{i}] ({:?})", m.column.name),
                            format!("table {} has no such column", t.name),
                        ));
                    }
                }
                (t, true)
            }
            None if self.target.create => {
                let mut columns = Vec::with_capacity(self.mapping.len());
                for m in &self.mapping {
                    columns.push(CampaignColumn {
                        name: m.column.name.clone(),
                        spec: serde_json::to_value(&m.column)
                            .map_err(|e| CampaignError::Internal(e.to_string()))?,
                    });
                }
                let key = self
                    .key
                    .iter()
                    .filter_map(|k| find(k).map(|m| self.mapping[m].column.name.clone()))
                    .collect();
                (
                    CampaignTable {
                        name: self.target.table.clone(),
                        columns,
                        key,
                        rows: 0,
                        created_at: String::new(),
                    },
                    false,
                )
            }
            None => {
                return Err(invalid(
                    "target.table",
                    format!(
                        "no campaign table {:?} (set create to make it from the mapping)",
                        self.target.table
                    ),
                ));
            }
        };
        let column_mapping = table.columns.iter().map(|c| find(&c.name)).collect();
        Ok(ValidImport {
            id: None,
            version: None,
            definition: self.clone(),
            document,
            dialect,
            table,
            table_exists,
            column_mapping,
            key_mapping,
        })
    }
}
