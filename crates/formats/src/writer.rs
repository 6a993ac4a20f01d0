//! [`RecordWriter`]: the streaming writer of every export format.

use std::io::Write;

use userbridge_model::{ExportFormat, FieldValue, User};

use crate::cell::{self, Class, Quoting, Scratch};
use crate::options::{DateFormat, FormulaEscape, WriterOptions};
use crate::{FormatError, Result};

const BOM: &[u8] = b"\xEF\xBB\xBF";

enum Layout {
    /// csv/tsv with this many columns.
    Delimited {
        quoting: Quoting,
        columns: usize,
        eol: &'static [u8],
        flatten: bool,
        escape: FormulaEscape,
    },
    /// JSON array or NDJSON; `keys` holds each column's encoded `"key":` when a field list was given.
    Json {
        array: bool,
        keys: Option<Vec<Vec<u8>>>,
    },
}

/// Writes an export file one record at a time.
///
/// A record is built in an internal buffer and handed to `out` with a single `write_all` when it
/// ends, so `out` need not be buffered (a `BufWriter` still saves system calls).
pub struct RecordWriter<W: Write> {
    out: W,
    layout: Layout,
    date_format: Option<DateFormat>,
    /// Whole-profile records carry the user's secrets ([`WriterOptions::include_secrets`]).
    include_secrets: bool,
    /// Cells written to the current record.
    cells: usize,
    /// The current record has been started (its opening bytes are in `line`).
    in_record: bool,
    records: u64,
    line: Vec<u8>,
    scratch: Scratch,
}

impl<W: Write> RecordWriter<W> {
    /// Writes the preamble: BOM (when asked, csv/tsv only — never for JSON), header row
    /// (csv/tsv) or `[` (JSON array).
    ///
    /// `columns` are the header cells / JSON keys. Pass `None` for whole-profile JSON/NDJSON
    /// (records are then written with [`RecordWriter::write_profile`]). csv/tsv need columns.
    pub fn new(mut out: W, options: &WriterOptions, columns: Option<Vec<String>>) -> Result<Self> {
        let mut line = Vec::with_capacity(1024);
        let layout = match options.format {
            ExportFormat::Csv | ExportFormat::Tsv => {
                let delimiter = if options.format == ExportFormat::Tsv {
                    '\t'
                } else {
                    options.delimiter
                };
                if matches!(delimiter, '"' | '\r' | '\n') {
                    return Err(FormatError::InvalidDelimiter(delimiter));
                }
                let Some(columns) = columns else {
                    return Err(FormatError::Misuse(
                        "a csv/tsv export needs a list of columns",
                    ));
                };
                let quoting = Quoting::new(delimiter);
                let eol: &'static [u8] = if options.crlf { b"\r\n" } else { b"\n" };
                if options.bom {
                    line.extend_from_slice(BOM);
                }
                let mut flat = Vec::new();
                for (i, name) in columns.iter().enumerate() {
                    if i > 0 {
                        line.extend_from_slice(quoting.delimiter());
                    }
                    // Header cells: same quoting, never formula-escaped; flattened when asked so
                    // that the header, too, is one physical line.
                    let name = if options.flatten_newlines {
                        cell::flatten(name.as_bytes(), &mut flat)
                    } else {
                        name.as_bytes()
                    };
                    quoting.push_field(&mut line, name, Class::Text, FormulaEscape::None);
                }
                line.extend_from_slice(eol);
                Layout::Delimited {
                    quoting,
                    columns: columns.len(),
                    eol,
                    flatten: options.flatten_newlines,
                    escape: options.formula_escape,
                }
            }
            ExportFormat::JsonArray | ExportFormat::Ndjson => {
                let array = options.format == ExportFormat::JsonArray;
                if array {
                    line.extend_from_slice(b"[\n");
                }
                let keys = match columns {
                    Some(columns) => {
                        let mut keys = Vec::with_capacity(columns.len());
                        for name in &columns {
                            let mut key = serde_json::to_vec(name)?;
                            key.push(b':');
                            keys.push(key);
                        }
                        Some(keys)
                    }
                    None => None,
                };
                Layout::Json { array, keys }
            }
        };
        out.write_all(&line)?;
        line.clear();
        Ok(RecordWriter {
            out,
            layout,
            date_format: options.date_format.clone(),
            include_secrets: options.include_secrets,
            cells: 0,
            in_record: false,
            records: 0,
            line,
            scratch: Scratch::default(),
        })
    }

    /// Writes the next column of the current record; starts the record if needed.
    pub fn write_cell(&mut self, value: &FieldValue<'_>) -> Result<()> {
        let index = self.cells;
        let date_format = self.date_format.as_ref();
        match &self.layout {
            Layout::Delimited {
                quoting,
                columns,
                flatten,
                escape,
                ..
            } => {
                if index >= *columns {
                    return Err(FormatError::CellCount {
                        expected: *columns,
                        found: index + 1,
                    });
                }
                if index > 0 {
                    self.line.extend_from_slice(quoting.delimiter());
                }
                let Scratch { render, date, flat } = &mut self.scratch;
                let (class, text) = cell::render(value, render, date, date_format)?;
                let text = if *flatten {
                    cell::flatten(text, flat)
                } else {
                    text
                };
                quoting.push_field(&mut self.line, text, class, *escape);
            }
            Layout::Json { array, keys } => {
                let Some(keys) = keys else {
                    return Err(FormatError::Misuse(
                        "write_cell needs columns; whole-profile JSON uses write_profile",
                    ));
                };
                let Some(key) = keys.get(index) else {
                    return Err(FormatError::CellCount {
                        expected: keys.len(),
                        found: index + 1,
                    });
                };
                if !self.in_record {
                    start_json_record(&mut self.line, *array, self.records);
                    self.line.push(b'{');
                } else {
                    self.line.push(b',');
                }
                self.line.extend_from_slice(key);
                push_json_value(&mut self.line, &mut self.scratch.date, value, date_format)?;
            }
        }
        self.in_record = true;
        self.cells += 1;
        Ok(())
    }

    /// Ends the current record: every column must have been written.
    pub fn end_record(&mut self) -> Result<()> {
        let expected = match &self.layout {
            Layout::Delimited { columns, .. } => *columns,
            Layout::Json {
                keys: Some(keys), ..
            } => keys.len(),
            Layout::Json { keys: None, .. } => {
                return Err(FormatError::Misuse(
                    "end_record needs columns; whole-profile JSON uses write_profile",
                ));
            }
        };
        if self.cells != expected {
            let found = self.cells;
            self.discard_record();
            return Err(FormatError::CellCount { expected, found });
        }
        match &self.layout {
            Layout::Delimited { eol, columns, .. } => {
                // A lone empty cell would make a blank line, which readers skip: the row
                // would be lost. Quote it instead (as the csv crate does).
                if *columns == 1 && self.line.is_empty() {
                    self.line.extend_from_slice(b"\"\"");
                }
                self.line.extend_from_slice(eol)
            }
            Layout::Json { array, .. } => {
                if !self.in_record {
                    // A record of zero columns.
                    start_json_record(&mut self.line, *array, self.records);
                    self.line.push(b'{');
                }
                end_json_record(&mut self.line, *array);
            }
        }
        self.flush_record()
    }

    /// Writes one whole-profile JSON/NDJSON record: the compact JSON of [`User::profile`], with
    /// the profile timestamps reformatted when a date format is set. Only for JSON writers
    /// created without columns.
    pub fn write_profile(&mut self, user: &User) -> Result<()> {
        let array = match &self.layout {
            Layout::Json { array, keys: None } => *array,
            Layout::Json { keys: Some(_), .. } => {
                return Err(FormatError::Misuse(
                    "write_profile is for whole-profile JSON (a writer created without columns)",
                ));
            }
            Layout::Delimited { .. } => {
                return Err(FormatError::Misuse(
                    "write_profile is for JSON and NDJSON exports",
                ));
            }
        };
        if self.in_record {
            return Err(FormatError::Misuse(
                "write_profile inside an unfinished record",
            ));
        }
        start_json_record(&mut self.line, array, self.records);
        let mut profile = user.profile();
        match &self.date_format {
            None if self.include_secrets => {
                serde_json::to_writer(&mut self.line, &user.with_secrets(profile))?
            }
            None => serde_json::to_writer(&mut self.line, &profile)?,
            Some(df) => {
                let created_at = df.format(profile.created_at);
                let updated_at = df.format(profile.updated_at);
                let last_login = profile.last_login.map(|t| df.format(t));
                let last_password_reset = profile.last_password_reset.map(|t| df.format(t));
                let multifactor_last_modified =
                    profile.multifactor_last_modified.map(|t| df.format(t));
                profile.created_at = &created_at;
                profile.updated_at = &updated_at;
                profile.last_login = last_login.as_deref();
                profile.last_password_reset = last_password_reset.as_deref();
                profile.multifactor_last_modified = multifactor_last_modified.as_deref();
                if self.include_secrets {
                    serde_json::to_writer(&mut self.line, &user.with_secrets(profile))?;
                } else {
                    serde_json::to_writer(&mut self.line, &profile)?;
                }
            }
        }
        if !array {
            self.line.push(b'\n');
        }
        self.flush_record()
    }

    /// Ends the file (`]` and a newline for a JSON array), flushes, and returns the output.
    pub fn finish(mut self) -> Result<W> {
        if self.in_record {
            return Err(FormatError::Misuse("finish inside an unfinished record"));
        }
        if let Layout::Json { array: true, .. } = self.layout {
            let tail: &[u8] = if self.records > 0 { b"\n]\n" } else { b"]\n" };
            self.out.write_all(tail)?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    /// Records ended so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    fn flush_record(&mut self) -> Result<()> {
        let result = self.out.write_all(&self.line);
        self.discard_record();
        result?;
        self.records += 1;
        Ok(())
    }

    fn discard_record(&mut self) {
        self.line.clear();
        self.cells = 0;
        self.in_record = false;
    }
}

/// The separator from the previous record of a JSON array.
fn start_json_record(line: &mut Vec<u8>, array: bool, records: u64) {
    if array && records > 0 {
        line.extend_from_slice(b",\n");
    }
}

fn end_json_record(line: &mut Vec<u8>, array: bool) {
    line.push(b'}');
    if !array {
        line.push(b'\n');
    }
}

/// One JSON value of a record with a field list (`export-formats.md` §4.5).
fn push_json_value(
    line: &mut Vec<u8>,
    date_buf: &mut String,
    value: &FieldValue<'_>,
    date_format: Option<&DateFormat>,
) -> Result<()> {
    match value {
        FieldValue::Missing => line.extend_from_slice(b"null"),
        FieldValue::Bool(true) => line.extend_from_slice(b"true"),
        FieldValue::Bool(false) => line.extend_from_slice(b"false"),
        FieldValue::Int(i) => cell::push_int(line, *i),
        FieldValue::Str(s) => serde_json::to_writer(&mut *line, s)?,
        FieldValue::Timestamp(s) => match date_format {
            Some(df) => {
                date_buf.clear();
                df.format_into(s, date_buf);
                serde_json::to_writer(&mut *line, date_buf.as_str())?;
            }
            None => serde_json::to_writer(&mut *line, s)?,
        },
        FieldValue::Raw(raw) => line.extend_from_slice(raw.get().as_bytes()),
        FieldValue::Json(v) => serde_json::to_writer(&mut *line, v)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests;
