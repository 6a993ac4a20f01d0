//! CSV and TSV: a header row, then one user per row, turned into the JSON object the JSON
//! formats would have given.
//!
//! # Columns
//!
//! Each column gets a target: the mapped field path when [`ReaderOptions::columns`] names the
//! header, else the header itself when it parses as a path (§9.1 syntax, rooted at any schema
//! property, including `password_hash`, `custom_password_hash` and `mfa_factors` which are not
//! exportable), else the raw header text as a top-level key (which the validator then reports as
//! an unknown property). Nested paths build nested objects and arrays:
//! `user_metadata.consent.given` → `{"user_metadata": {"consent": {"given": …}}}`,
//! `identities[1].connection` → `{"identities": [null, {"connection": …}]}`.
//!
//! # Cells
//!
//! * An empty cell means the property is absent (CSV cannot tell a missing value from an empty
//!   string).
//! * A leading `'` before `=`, `+`, `-`, `@`, TAB, CR or NUL is removed: that is the formula
//!   protection userbridge's `smart` export mode (and OWASP) puts in front of such text, so a
//!   re-imported value is the original one. A `'` before anything else is kept: it is data (a
//!   name like `'t Hooft`). Files written in `auth0` mode (Auth0's own rule) have a `'` before
//!   *every* string: only the ones before those characters are removed here.
//! * `email_verified`, `phone_verified`, `blocked`: `true`/`false` (any case) become booleans.
//! * `custom_password_hash.keylen`/`.cost`/`.blockSize`/`.parallelization` and `logins_count`:
//!   a whole number becomes a JSON number (the schema wants integers).
//! * A whole `user_metadata`, `app_metadata`, `custom_password_hash`, `mfa_factors`, `identities`
//!   or `multifactor` column, and any path inside `user_metadata`/`app_metadata`: a cell that is
//!   a JSON object or array becomes that value (how the exporter writes objects and arrays).
//! * Everything else stays a string. In particular a metadata leaf that looks like a number,
//!   `true`, `false` or `null` stays a string: a CSV cell has no type, and `"00123"` (a zip
//!   code) or `"true"` (a free-text answer) must not silently become `123` or `true` — the file
//!   author can always write typed values as a JSON object in the parent column.
//!
//! # Rows
//!
//! More cells than header columns → a per-record `FORMAT` error naming the line; fewer → the
//! missing cells are absent. Duplicate header names, a mapping whose column is not in the
//! header, an invalid mapping target and two columns aimed at the same or overlapping paths are
//! whole-file errors raised when the header is read.

use std::collections::HashMap;
use std::io::{self, Read};

use serde_json::{Map, Value};
use userbridge_model::{Attribute, ErrorCode, FieldPath, ModelError, RecordError, Step};

use super::source::{Pos, human_size, read_error_of};
use super::{RawRecord, ReadError, ReaderOptions};

/// Properties of the import schema that are not exportable attributes, so
/// [`FieldPath::parse`] does not know them as roots.
const IMPORT_ONLY_ROOTS: [&str; 3] = ["password_hash", "custom_password_hash", "mfa_factors"];
/// Largest array index a column path may use (each row materialises the array up to it).
pub const MAX_COLUMN_INDEX: usize = 999;
const CSV_BUFFER: usize = 64 * 1024;

/// How a cell's text becomes a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    Text,
    Boolean,
    Integer,
    /// A JSON object/array when the cell is one, else text.
    Json,
}

#[derive(Debug, Clone)]
enum Column {
    Path {
        root: String,
        steps: Vec<Step>,
        kind: CellKind,
        text: String,
    },
    Raw(String),
}

pub(crate) struct DelimitedRows<R> {
    reader: csv::Reader<Tap<R>>,
    columns: Vec<Column>,
    record: csv::StringRecord,
    index: u64,
    /// Where the CSV parser's input starts (its positions are relative to it).
    base: Pos,
}

/// Where a row starts: absolute byte and line.
#[derive(Debug, Clone, Copy)]
struct RowStart {
    byte: u64,
    line: u64,
}

/// Sits between the decoded input and the CSV parser and watches the bytes handed over.
///
/// The csv crate reports a row's position as where the previous row ended, before the blank
/// lines it skips (and, with CRLF, before the LF), so the tap finds the real start of each row:
/// after a row ends, it skips `\r` and `\n` from there, in the copy it keeps of the last chunk
/// it handed over (the CSV parser's unread buffer is always inside that chunk) and then in the
/// chunks that follow. It also enforces `max_record_bytes`: the parser buffers a whole row, so
/// a row may not run further than the limit (plus one parser buffer) past its start.
struct Tap<R> {
    inner: R,
    /// Copy of the last chunk handed over, and the absolute byte of its first byte.
    chunk: Vec<u8>,
    chunk_start: u64,
    /// Looking for the next row's start: the line reached so far.
    seeking: Option<u64>,
    /// The start of the row being parsed, once seen.
    row: Option<RowStart>,
    max_row_bytes: u64,
}

impl<R: Read> Tap<R> {
    /// A row (or the header) ended at `end`, on line `line`.
    fn row_ended(&mut self, end: u64, line: u64) {
        self.row = None;
        self.seeking = Some(line);
        let from = usize::try_from(end.saturating_sub(self.chunk_start)).unwrap_or(usize::MAX);
        self.seek_from(from.min(self.chunk.len()));
    }

    fn seek_from(&mut self, from: usize) {
        let Some(mut line) = self.seeking else { return };
        for (i, &b) in self.chunk[from..].iter().enumerate() {
            match b {
                b'\n' => line += 1,
                b'\r' => {}
                _ => {
                    let byte = self.chunk_start + (from + i) as u64;
                    self.row = Some(RowStart { byte, line });
                    self.seeking = None;
                    return;
                }
            }
        }
        self.seeking = Some(line);
    }
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(row) = self.row {
            let handed = self.chunk_start + self.chunk.len() as u64;
            if handed.saturating_sub(row.byte) > self.max_row_bytes + CSV_BUFFER as u64 {
                let at = Pos {
                    line: row.line,
                    column: 1,
                    byte: row.byte,
                };
                let error = at.error(format!(
                    "the row is longer than the limit of {} (max_record_bytes); \
                     is a quote left open?",
                    human_size(self.max_row_bytes)
                ));
                return Err(io::Error::new(io::ErrorKind::InvalidData, error));
            }
        }
        let n = self.inner.read(out)?;
        self.chunk_start += self.chunk.len() as u64;
        self.chunk.clear();
        self.chunk.extend_from_slice(&out[..n]);
        self.seek_from(0);
        Ok(n)
    }
}

/// A parsed column target: the root property and the steps below it.
fn parse_target(text: &str) -> Result<(String, Vec<Step>), String> {
    let root_end = text.find(['.', '[']).unwrap_or(text.len());
    let root = &text[..root_end];
    let import_only = IMPORT_ONLY_ROOTS.contains(&root);
    if !import_only && Attribute::from_name(root).is_none() {
        return Err(format!("{root:?} is not a user property"));
    }
    // The step syntax is the export paths' one; borrow its parser with a known root.
    let parsed = if import_only {
        FieldPath::parse(&format!("user_metadata{}", &text[root_end..]))
    } else {
        FieldPath::parse(text)
    };
    match parsed {
        Ok(path) => Ok((root.to_string(), path.steps().to_vec())),
        Err(ModelError::FieldPath { reason, .. }) => Err(reason),
        Err(other) => Err(other.to_string()),
    }
}

fn cell_kind(root: &str, steps: &[Step]) -> CellKind {
    match (root, steps) {
        ("email_verified" | "phone_verified" | "blocked", []) => CellKind::Boolean,
        ("logins_count", []) => CellKind::Integer,
        ("custom_password_hash", [Step::Key(key)])
            if matches!(
                key.as_str(),
                "keylen" | "cost" | "blockSize" | "parallelization"
            ) =>
        {
            CellKind::Integer
        }
        (
            "user_metadata"
            | "app_metadata"
            | "custom_password_hash"
            | "mfa_factors"
            | "identities"
            | "multifactor",
            [],
        ) => CellKind::Json,
        ("user_metadata" | "app_metadata", _) => CellKind::Json,
        _ => CellKind::Text,
    }
}

/// Why two column paths cannot both be set, if they cannot.
fn clash(a: &[Step], b: &[Step]) -> Option<&'static str> {
    for (x, y) in a.iter().zip(b) {
        match (x, y) {
            (Step::Key(p), Step::Key(q)) if p == q => {}
            (Step::Index(i), Step::Index(j)) if i == j => {}
            (Step::Key(_), Step::Key(_)) | (Step::Index(_), Step::Index(_)) => return None,
            _ => return Some("one uses a key where the other uses an index"),
        }
    }
    Some(if a.len() == b.len() {
        "both set the same property"
    } else {
        "one is inside the other"
    })
}

/// Removes the `'` that formula protection puts before `=`, `+`, `-`, `@`, TAB, CR or NUL.
fn undo_formula_escape(cell: &str) -> &str {
    match cell.as_bytes() {
        [b'\'', b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\0', ..] => &cell[1..],
        _ => cell,
    }
}

fn cell_value(kind: CellKind, text: &str) -> Value {
    match kind {
        CellKind::Boolean => {
            let trimmed = text.trim();
            if trimmed.eq_ignore_ascii_case("true") {
                return Value::Bool(true);
            }
            if trimmed.eq_ignore_ascii_case("false") {
                return Value::Bool(false);
            }
        }
        CellKind::Integer => {
            let trimmed = text.trim();
            if let Ok(n) = trimmed.parse::<u64>() {
                return Value::from(n);
            }
            if let Ok(n) = trimmed.parse::<i64>() {
                return Value::from(n);
            }
        }
        CellKind::Json => {
            if text.trim_start().starts_with(['{', '['])
                && let Ok(value @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(text)
            {
                return value;
            }
        }
        CellKind::Text => {}
    }
    Value::String(text.to_string())
}

/// An empty container of the kind `step` steps into.
fn container_for(step: &Step) -> Value {
    match step {
        Step::Key(_) => Value::Object(Map::new()),
        Step::Index(_) => Value::Array(Vec::new()),
    }
}

/// Sets `value` at `root` + `steps` in `object`, creating containers on the way.
fn insert(
    object: &mut Map<String, Value>,
    root: &str,
    steps: &[Step],
    value: Value,
) -> Result<(), ()> {
    let Some(first) = steps.first() else {
        object.insert(root.to_string(), value);
        return Ok(());
    };
    let mut slot = object
        .entry(root.to_string())
        .or_insert_with(|| container_for(first));
    for (i, step) in steps.iter().enumerate() {
        let next = steps.get(i + 1);
        let make = || next.map_or(Value::Null, container_for);
        slot = match (slot, step) {
            (Value::Object(map), Step::Key(key)) => map.entry(key.clone()).or_insert_with(make),
            (Value::Array(items), Step::Index(index)) => {
                if items.len() <= *index {
                    items.resize(*index + 1, Value::Null);
                }
                let item = &mut items[*index];
                if item.is_null() {
                    *item = make();
                }
                item
            }
            _ => return Err(()),
        };
    }
    *slot = value;
    Ok(())
}

impl<R: Read> DelimitedRows<R> {
    /// Reads the header row and resolves every column's target.
    pub(crate) fn new(
        input: R,
        delimiter: u8,
        options: &ReaderOptions,
        base: Pos,
    ) -> Result<Self, ReadError> {
        let mut tap = Tap {
            inner: input,
            chunk: Vec::new(),
            chunk_start: base.byte,
            seeking: None,
            row: None,
            max_row_bytes: options.max_record_bytes as u64,
        };
        tap.row_ended(base.byte, base.line);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(true)
            .buffer_capacity(CSV_BUFFER)
            .from_reader(tap);
        let headers = reader.headers().map_err(|e| csv_error(e, base))?.clone();
        if headers.len() > options.max_columns {
            return Err(base.error(format!(
                "the header row has {} columns, more than the limit of {} (max_columns)",
                headers.len(),
                options.max_columns
            )));
        }
        let mut rows = DelimitedRows {
            reader,
            columns: Vec::new(),
            record: csv::StringRecord::new(),
            index: 0,
            base,
        };
        let at = rows.row_start();
        rows.row_ended();
        rows.columns = resolve_columns(&headers, &options.columns).map_err(|m| at.error(m))?;
        Ok(rows)
    }

    /// Where the parser stands (just after the last row read), absolute.
    fn parser_position(&self) -> Pos {
        let p = self.reader.position();
        Pos {
            line: self.base.line + p.line().saturating_sub(1),
            column: 1,
            byte: self.base.byte + p.byte(),
        }
    }

    /// Where the row just read starts.
    fn row_start(&self) -> Pos {
        match self.reader.get_ref().row {
            Some(row) => Pos {
                line: row.line,
                column: 1,
                byte: row.byte,
            },
            None => self.parser_position(),
        }
    }

    /// Tells the tap that a row has just been read.
    fn row_ended(&mut self) {
        let end = self.parser_position();
        self.reader.get_mut().row_ended(end.byte, end.line);
    }

    pub(crate) fn next_record(&mut self) -> Option<Result<RawRecord, ReadError>> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => Some(Err(csv_error(e, self.row_start()))),
            Ok(true) => {
                let line = self.row_start().line;
                self.row_ended();
                let index = self.index;
                self.index += 1;
                Some(Ok(RawRecord {
                    index,
                    line,
                    value: self.row_value(line),
                }))
            }
        }
    }

    fn row_value(&self, line: u64) -> Result<Value, RecordError> {
        if self.record.len() > self.columns.len() {
            return Err(RecordError::new(
                ErrorCode::Format,
                "",
                format!(
                    "the row on line {line} has {} cells, but the header row has {} columns",
                    self.record.len(),
                    self.columns.len()
                ),
            ));
        }
        let mut object = Map::new();
        for (cell, column) in self.record.iter().zip(&self.columns) {
            if cell.is_empty() {
                continue;
            }
            let text = undo_formula_escape(cell);
            match column {
                Column::Raw(name) => {
                    object.insert(name.clone(), Value::String(text.to_string()));
                }
                Column::Path {
                    root,
                    steps,
                    kind,
                    text: path,
                } => {
                    insert(&mut object, root, steps, cell_value(*kind, text)).map_err(|()| {
                        RecordError::new(
                            ErrorCode::Format,
                            path.clone(),
                            "conflicts with another column",
                        )
                    })?;
                }
            }
        }
        Ok(Value::Object(object))
    }
}

/// Every column's target, or why the header row cannot be used.
fn resolve_columns(
    headers: &csv::StringRecord,
    mapping: &[(String, String)],
) -> Result<Vec<Column>, String> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, header) in headers.iter().enumerate() {
        if let Some(first) = seen.insert(header, i) {
            return Err(format!(
                "duplicate column name {header:?} (columns {} and {})",
                first + 1,
                i + 1
            ));
        }
    }
    let mut mapped: HashMap<&str, &str> = HashMap::new();
    for (header, target) in mapping {
        if mapped.insert(header, target).is_some() {
            return Err(format!("the column {header:?} is mapped twice"));
        }
        if !seen.contains_key(header.as_str()) {
            let names: Vec<String> = headers.iter().map(|h| format!("{h:?}")).collect();
            return Err(format!(
                "the mapped column {header:?} is not in the header row ({})",
                names.join(", ")
            ));
        }
    }
    let mut columns = Vec::with_capacity(headers.len());
    for header in headers.iter() {
        let column = match mapped.get(header) {
            Some(target) => {
                let (root, steps) = parse_target(target).map_err(|reason| {
                    format!("column {header:?}: invalid field path {target:?}: {reason}")
                })?;
                Column::Path {
                    kind: cell_kind(&root, &steps),
                    root,
                    steps,
                    text: target.to_string(),
                }
            }
            None => match parse_target(header) {
                Ok((root, steps)) => Column::Path {
                    kind: cell_kind(&root, &steps),
                    root,
                    steps,
                    text: header.to_string(),
                },
                Err(_) => Column::Raw(header.to_string()),
            },
        };
        if let Column::Path { steps, text, .. } = &column
            && let Some(index) = steps.iter().find_map(|s| match s {
                Step::Index(i) if *i > MAX_COLUMN_INDEX => Some(*i),
                _ => None,
            })
        {
            return Err(format!(
                "column {header:?}: the index {index} in {text:?} is too large (at most {MAX_COLUMN_INDEX})"
            ));
        }
        columns.push(column);
    }
    check_clashes(headers, &columns)?;
    Ok(columns)
}

/// Two columns whose paths are the same, nested in each other, or disagree on a container.
fn check_clashes(headers: &csv::StringRecord, columns: &[Column]) -> Result<(), String> {
    // Columns grouped by root, groups and members in column order (deterministic messages).
    let mut group_of: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Vec<(usize, &[Step], &str)>> = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        if let Column::Path {
            root, steps, text, ..
        } = column
        {
            let group = *group_of.entry(root).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[group].push((i, steps, text));
        }
    }
    for group in &groups {
        for (n, &(a, steps_a, path_a)) in group.iter().enumerate() {
            for &(b, steps_b, path_b) in &group[n + 1..] {
                if let Some(why) = clash(steps_a, steps_b) {
                    let (header_a, header_b) =
                        (headers.get(a).unwrap_or(""), headers.get(b).unwrap_or(""));
                    return Err(format!(
                        "columns {header_a:?} ({path_a}) and {header_b:?} ({path_b}) cannot both be \
                         imported: {why}"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn csv_error(error: csv::Error, at: Pos) -> ReadError {
    match error.kind() {
        // The input is checked to be UTF-8 before the CSV parser sees it.
        csv::ErrorKind::Io(io) => read_error_of(io, at),
        _ => at.error(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets() {
        assert_eq!(parse_target("email"), Ok(("email".into(), vec![])));
        assert_eq!(
            parse_target("custom_password_hash.hash.value"),
            Ok((
                "custom_password_hash".into(),
                vec![Step::Key("hash".into()), Step::Key("value".into())]
            ))
        );
        assert_eq!(
            parse_target("mfa_factors[0].totp.secret").map(|t| t.1.len()),
            Ok(3)
        );
        assert_eq!(
            parse_target("password_hash"),
            Ok(("password_hash".into(), vec![]))
        );
        assert!(
            parse_target("Given Name")
                .unwrap_err()
                .contains("not a user property")
        );
        assert!(parse_target("user_metadata..x").is_err());
        assert!(parse_target("password_hash[x]").is_err());
    }

    #[test]
    fn kinds() {
        assert_eq!(cell_kind("blocked", &[]), CellKind::Boolean);
        assert_eq!(cell_kind("user_metadata", &[]), CellKind::Json);
        assert_eq!(
            cell_kind("user_metadata", &[Step::Key("a".into())]),
            CellKind::Json
        );
        assert_eq!(
            cell_kind("custom_password_hash", &[Step::Key("cost".into())]),
            CellKind::Integer
        );
        assert_eq!(
            cell_kind("custom_password_hash", &[Step::Key("hash".into())]),
            CellKind::Text
        );
        assert_eq!(cell_kind("email", &[]), CellKind::Text);
    }

    #[test]
    fn values() {
        assert_eq!(cell_value(CellKind::Boolean, "TRUE"), json!(true));
        assert_eq!(cell_value(CellKind::Boolean, "False"), json!(false));
        assert_eq!(cell_value(CellKind::Boolean, "yes"), json!("yes"));
        assert_eq!(cell_value(CellKind::Integer, "16384"), json!(16384));
        assert_eq!(cell_value(CellKind::Integer, "-1"), json!(-1));
        assert_eq!(cell_value(CellKind::Integer, "1.5"), json!("1.5"));
        assert_eq!(cell_value(CellKind::Json, "{\"a\":1}"), json!({"a": 1}));
        assert_eq!(cell_value(CellKind::Json, " [1,2]"), json!([1, 2]));
        assert_eq!(cell_value(CellKind::Json, "00123"), json!("00123"));
        assert_eq!(cell_value(CellKind::Json, "true"), json!("true"));
        assert_eq!(cell_value(CellKind::Json, "null"), json!("null"));
        assert_eq!(cell_value(CellKind::Json, "{broken"), json!("{broken"));
        assert_eq!(cell_value(CellKind::Text, "{\"a\":1}"), json!("{\"a\":1}"));
    }

    #[test]
    fn formula_escape_is_undone() {
        for (cell, plain) in [
            ("'=SUM(A1)", "=SUM(A1)"),
            ("'+1", "+1"),
            ("'-x", "-x"),
            ("'@x", "@x"),
            ("'\tx", "\tx"),
            ("'\rx", "\rx"),
            ("'\0", "\0"),
            ("'tis", "'tis"),
            ("'", "'"),
            ("''=x", "''=x"),
            ("=x", "=x"),
        ] {
            assert_eq!(undo_formula_escape(cell), plain);
        }
    }

    #[test]
    fn nested_inserts() {
        let mut object = Map::new();
        let steps = |s: &str| parse_target(s).unwrap().1;
        insert(
            &mut object,
            "user_metadata",
            &steps("user_metadata.consent.given"),
            json!("yes"),
        )
        .unwrap();
        insert(
            &mut object,
            "user_metadata",
            &steps("user_metadata.consent.at"),
            json!("now"),
        )
        .unwrap();
        insert(
            &mut object,
            "identities",
            &steps("identities[1].connection"),
            json!("db"),
        )
        .unwrap();
        insert(
            &mut object,
            "app_metadata",
            &steps("app_metadata.roles[0]"),
            json!("admin"),
        )
        .unwrap();
        insert(&mut object, "email", &[], json!("a@b.c")).unwrap();
        assert_eq!(
            Value::Object(object.clone()),
            json!({
                "user_metadata": {"consent": {"given": "yes", "at": "now"}},
                "identities": [null, {"connection": "db"}],
                "app_metadata": {"roles": ["admin"]},
                "email": "a@b.c"
            })
        );
        assert!(insert(&mut object, "email", &steps("email"), json!(1)).is_ok());
        assert!(insert(&mut object, "user_metadata", &[Step::Index(0)], json!(1)).is_err());
    }

    #[test]
    fn clashes() {
        let steps = |s: &str| parse_target(s).unwrap().1;
        assert!(clash(&steps("user_metadata.a"), &steps("user_metadata.b")).is_none());
        assert!(clash(&steps("identities[0].x"), &steps("identities[1].x")).is_none());
        assert!(clash(&steps("user_metadata.a"), &steps("user_metadata.a")).is_some());
        assert!(clash(&steps("user_metadata"), &steps("user_metadata.a")).is_some());
        assert!(clash(&steps("user_metadata.a.b"), &steps("user_metadata.a")).is_some());
        assert!(clash(&steps("app_metadata.r[0]"), &steps("app_metadata.r.x")).is_some());
    }
}
