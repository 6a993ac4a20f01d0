//! Property tests: whatever the cell values, files written by `RecordWriter` read back through
//! independent parsers (the `csv` crate, serde_json) to the same values, up to the documented
//! formula-escape prefix (`export-formats.md` §3.3).

// Helpers outside `#[test]` functions panic on purpose, like the tests themselves.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;
use userbridge_formats::{DateFormat, FormulaEscape, RecordWriter, WriterOptions};
use userbridge_model::{ExportFormat, FieldValue};

/// An owned cell value (a `FieldValue` borrows).
#[derive(Debug, Clone)]
enum Cell {
    Missing,
    Bool(bool),
    Int(i64),
    Str(String),
    Timestamp(String),
    Json(Value),
    Raw(Box<RawValue>),
}

impl Cell {
    fn field(&self) -> FieldValue<'_> {
        match self {
            Cell::Missing => FieldValue::Missing,
            Cell::Bool(b) => FieldValue::Bool(*b),
            Cell::Int(i) => FieldValue::Int(*i),
            Cell::Str(s) => FieldValue::Str(s),
            Cell::Timestamp(s) => FieldValue::Timestamp(s),
            Cell::Json(v) => FieldValue::Json(v.clone()),
            Cell::Raw(r) => FieldValue::Raw(r),
        }
    }

    /// §9.6 rendering, written independently of the crate: `None` for a missing value, and
    /// whether the value is a JSON string for Auth0's rule.
    fn rendered(&self, date_format: Option<&str>) -> Option<(String, bool)> {
        match self {
            Cell::Missing | Cell::Json(Value::Null) => None,
            Cell::Bool(b) => Some((b.to_string(), false)),
            Cell::Int(i) => Some((i.to_string(), false)),
            Cell::Str(s) | Cell::Json(Value::String(s)) => Some((s.clone(), true)),
            Cell::Timestamp(s) => Some((format_date(s, date_format), false)),
            Cell::Json(v @ (Value::Bool(_) | Value::Number(_))) => Some((v.to_string(), false)),
            Cell::Json(v) => Some((serde_json::to_string(v).unwrap(), true)),
            Cell::Raw(r) => Some((r.get().to_string(), true)),
        }
    }

    /// The JSON an export with a field list holds for this value.
    fn json(&self, date_format: Option<&str>) -> Value {
        match self {
            Cell::Missing => Value::Null,
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Int(i) => Value::from(*i),
            Cell::Str(s) => Value::from(s.as_str()),
            Cell::Timestamp(s) => Value::from(format_date(s, date_format)),
            Cell::Json(v) => v.clone(),
            Cell::Raw(r) => serde_json::from_str(r.get()).unwrap(),
        }
    }
}

fn format_date(timestamp: &str, pattern: Option<&str>) -> String {
    match pattern {
        None => timestamp.to_string(),
        Some(p) => chrono::DateTime::parse_from_rfc3339(timestamp)
            .unwrap()
            .with_timezone(&chrono::Utc)
            .format(p)
            .to_string(),
    }
}

/// Text made of the characters that matter, arbitrary Unicode, or number-like text.
fn tricky_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[=+\\-@\t\r\n\",;'|a0-9.eE \\x00é😀]{0,12}",
        "[+-]?[0-9]{0,4}(\\.[0-9]{0,3})?([eE][+-]?[0-9]{0,2})?",
        "(\r\n|\r|\n|[a\"=]){0,6}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Floats with a short exact decimal form, so any parser reads them back exactly.
        (-4000i32..4000).prop_map(|n| Value::from(f64::from(n) / 4.0)),
        tricky_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((tricky_text(), inner), 0..3)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        1 => Just(Cell::Missing),
        1 => any::<bool>().prop_map(Cell::Bool),
        1 => any::<i64>().prop_map(Cell::Int),
        6 => tricky_text().prop_map(Cell::Str),
        1 => (0i64..253_402_300_800_000)
            .prop_map(|ms| Cell::Timestamp(userbridge_model::time::format_millis(ms))),
        3 => json_value().prop_map(Cell::Json),
        1 => json_value().prop_map(|v| {
            Cell::Raw(RawValue::from_string(serde_json::to_string(&v).unwrap()).unwrap())
        }),
    ]
}

/// Column names and rows with as many cells as columns.
fn table(min_columns: usize) -> impl Strategy<Value = (Vec<String>, Vec<Vec<Cell>>)> {
    (min_columns..6usize).prop_flat_map(|n| {
        (
            prop::collection::vec(tricky_text(), n).prop_map(|names| {
                // Unique names (duplicates are rejected before an export starts).
                names
                    .into_iter()
                    .enumerate()
                    .map(|(i, name)| format!("{name}#{i}"))
                    .collect::<Vec<_>>()
            }),
            prop::collection::vec(prop::collection::vec(cell(), n), 0..8),
        )
    })
}

fn escape_mode() -> impl Strategy<Value = FormulaEscape> {
    prop_oneof![
        Just(FormulaEscape::Smart),
        Just(FormulaEscape::Auth0),
        Just(FormulaEscape::None),
    ]
}

fn date_pattern() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        Just(Some("%Y%m%d")),
        Just(Some("%Y%m%d %H%M%S")),
        Just(Some("%Y-%m-%d %H:%M:%S")),
        Just(Some("=%d,%m\"%Y\n")),
    ]
}

/// (format, delimiter) of the delimited files under test.
fn delimited() -> impl Strategy<Value = (ExportFormat, char)> {
    prop_oneof![
        Just((ExportFormat::Csv, ',')),
        Just((ExportFormat::Csv, ';')),
        Just((ExportFormat::Tsv, '\t')),
    ]
}

fn write_file(options: &WriterOptions, columns: &[String], rows: &[Vec<Cell>]) -> Vec<u8> {
    let mut w = RecordWriter::new(Vec::new(), options, Some(columns.to_vec())).unwrap();
    for row in rows {
        for cell in row {
            w.write_cell(&cell.field()).unwrap();
        }
        w.end_record().unwrap();
    }
    assert_eq!(w.records(), rows.len() as u64);
    w.finish().unwrap()
}

fn flattened(text: &str) -> String {
    text.replace("\r\n", " ").replace(['\r', '\n'], " ")
}

/// `^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`, via Rust's float grammar, which is
/// the same once `inf`/`nan` are excluded.
fn plain_number(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        && text.parse::<f64>().is_ok()
}

/// What a csv reader sees for a cell, per §3.3.
fn expected_field(
    cell: &Cell,
    escape: FormulaEscape,
    flatten: bool,
    date_format: Option<&str>,
) -> String {
    let Some((text, is_string)) = cell.rendered(date_format) else {
        return String::new();
    };
    let text = if flatten { flattened(&text) } else { text };
    let prefix = match escape {
        FormulaEscape::None => false,
        FormulaEscape::Auth0 => is_string,
        FormulaEscape::Smart => {
            text.starts_with(['=', '+', '-', '@', '\t', '\r', '\0']) && !plain_number(&text)
        }
    };
    if prefix { format!("'{text}") } else { text }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn delimited_files_read_back(
        (columns, rows) in table(2),
        (format, delimiter) in delimited(),
        escape in escape_mode(),
        crlf in any::<bool>(),
        bom in any::<bool>(),
        flatten in any::<bool>(),
        pattern in date_pattern(),
    ) {
        let mut options = WriterOptions::new(format);
        options.delimiter = delimiter;
        options.formula_escape = escape;
        options.crlf = crlf;
        options.bom = bom;
        options.flatten_newlines = flatten;
        options.date_format = pattern.map(|p| DateFormat::parse(p).unwrap());
        let bytes = write_file(&options, &columns, &rows);
        prop_assert_eq!(bytes.starts_with(b"\xEF\xBB\xBF"), bom);
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);

        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter as u8)
            .has_headers(true)
            .from_reader(body);
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let expected_headers: Vec<String> = if flatten {
            columns.iter().map(|c| flattened(c)).collect()
        } else {
            columns.clone()
        };
        prop_assert_eq!(headers, expected_headers);
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        prop_assert_eq!(records.len(), rows.len());
        for (record, row) in records.iter().zip(&rows) {
            let got: Vec<&str> = record.iter().collect();
            let want: Vec<String> =
                row.iter().map(|c| expected_field(c, escape, flatten, pattern)).collect();
            prop_assert_eq!(got, want);
        }

        // Line ends: LF after every record, or CRLF; never a lone CR outside quotes. With
        // flattening the file is line-based: one physical line per record (and the header).
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        prop_assert!(body.ends_with(eol));
        if flatten {
            let text = std::str::from_utf8(body).unwrap();
            let text = text.replace(if crlf { "\r\n" } else { "\n" }, "\u{0}EOL");
            prop_assert!(!text.contains(['\r', '\n']));
            prop_assert_eq!(text.matches("\u{0}EOL").count(), rows.len() + 1);
        }
    }

    #[test]
    fn escape_none_is_byte_identical(
        (columns, rows) in table(2),
        (format, delimiter) in delimited(),
    ) {
        let mut options = WriterOptions::new(format);
        options.delimiter = delimiter;
        options.formula_escape = FormulaEscape::None;
        let bytes = write_file(&options, &columns, &rows);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter as u8)
            .from_reader(&bytes[..]);
        for (record, row) in reader.records().zip(&rows) {
            let record = record.unwrap();
            for (field, cell) in record.iter().zip(row) {
                let original = cell.rendered(None).map(|(t, _)| t).unwrap_or_default();
                prop_assert_eq!(field.as_bytes(), original.as_bytes());
            }
        }
    }

    #[test]
    fn json_files_read_back(
        (columns, rows) in table(1),
        array in any::<bool>(),
        escape in escape_mode(),
        flatten in any::<bool>(),
        bom in any::<bool>(),
        pattern in date_pattern(),
    ) {
        let format = if array { ExportFormat::JsonArray } else { ExportFormat::Ndjson };
        let mut options = WriterOptions::new(format);
        // None of these apply to JSON.
        options.formula_escape = escape;
        options.flatten_newlines = flatten;
        options.bom = bom;
        options.crlf = bom;
        options.date_format = pattern.map(|p| DateFormat::parse(p).unwrap());
        let bytes = write_file(&options, &columns, &rows);
        let text = String::from_utf8(bytes).unwrap();
        prop_assert!(!text.starts_with('\u{feff}'), "BOM in JSON");
        prop_assert!(!text.contains('\r'));

        let objects: Vec<Value> = if array {
            if rows.is_empty() {
                prop_assert_eq!(text.as_str(), "[\n]\n");
            } else {
                prop_assert!(text.starts_with("[\n{") && text.ends_with("}\n]\n"), "{:?}", text);
                prop_assert_eq!(text.lines().count(), rows.len() + 2);
            }
            match serde_json::from_str(&text).unwrap() {
                Value::Array(items) => items,
                other => panic!("not an array: {other}"),
            }
        } else {
            prop_assert!(rows.is_empty() || text.ends_with('\n'));
            text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
        };
        prop_assert_eq!(objects.len(), rows.len());
        for (object, row) in objects.iter().zip(&rows) {
            let got: Vec<(String, Value)> = object
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let want: Vec<(String, Value)> = columns
                .iter()
                .cloned()
                .zip(row.iter().map(|c| c.json(pattern)))
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
