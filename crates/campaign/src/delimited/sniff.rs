//! The sniffer (IMP-6, IMP-7, IMP-10..IMP-12, IMP-14, IMP-20..IMP-22): proposes a dialect and
//! column types from the start of a file, explains what it tried, and previews 20 rows.

use std::io::{Cursor, Read};
use std::sync::atomic::Ordering;

use super::reader::{io_error, open};
use super::types::{is_number_or_date, propose, trim_cell};
use super::{DelimitedReader, Dialect, Encoding, ReadError, Record, UnknownEncoding};

/// Bytes sampled (decompressed).
const SAMPLE_BYTES: usize = 1024 * 1024;
/// Records sampled.
const SAMPLE_RECORDS: usize = 1000;
/// Rows in the preview.
const PREVIEW_ROWS: usize = 20;
const CANDIDATES: [char; 4] = [',', ';', '\t', '|'];

/// A type the sniffer can propose for a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProposedType {
    Text,
    Integer,
    Decimal,
    Boolean,
    Date,
    Datetime,
    Email,
}

/// One column as sniffed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniffedColumn {
    /// The header cell, or `Column N` without a header row (IMP-18).
    pub name: String,
    pub proposed_type: ProposedType,
    /// For dates and datetimes: `CCYYMMDD`, `DD/MM/CCYY`, `ISO 8601`, …
    pub date_format: Option<String>,
    /// E.g. "day/month order is ambiguous — choose a format".
    pub warnings: Vec<String>,
    /// Every value starts with `'`: remove it on import (IMP-15), proposed ticked.
    pub strip_leading_apostrophe: bool,
}

/// What the sniffer proposes; every setting can be overridden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub dialect: Dialect,
    pub bom: bool,
    /// False when Windows-1252 was guessed (IMP-7): the user must confirm it.
    pub encoding_confirmed: bool,
    /// `LF`, `CRLF`, `CR` or `mixed` (`LF` when the sample has no line break).
    pub line_ending: &'static str,
    pub columns: Vec<SniffedColumn>,
    /// The first 20 data rows under the proposed dialect.
    pub preview: Vec<Vec<String>>,
    /// Data rows: exact when the whole file was sampled, else extrapolated by bytes.
    pub estimated_rows: u64,
    /// What was tried and why this won.
    pub explanation: Vec<String>,
    /// One readable line (IMP-12).
    pub summary: String,
    pub warnings: Vec<String>,
}

fn delimiter_name(d: char) -> String {
    match d {
        ',' => "comma".into(),
        ';' => "semicolon".into(),
        '\t' => "tab".into(),
        '|' => "pipe".into(),
        c => format!("{c:?}"),
    }
}

/// A delimiter by name (`tab`, `comma`, `semicolon`, `pipe`, `\t`) or as one character.
pub fn delimiter_from_text(text: &str) -> Result<char, String> {
    match text.to_ascii_lowercase().as_str() {
        "tab" | "\\t" => return Ok('\t'),
        "comma" => return Ok(','),
        "semicolon" => return Ok(';'),
        "pipe" => return Ok('|'),
        _ => {}
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(format!(
            "the delimiter must be one character (or tab, comma, semicolon, pipe): {text:?}"
        )),
    }
}

/// Settings the user chose before sniffing again: each one given replaces its detection
/// step (and says so in the explanation); the others are still detected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SniffOverrides {
    pub encoding: Option<Encoding>,
    pub delimiter: Option<char>,
    /// `Some(None)`: no qualifier.
    pub qualifier: Option<Option<char>>,
    pub header: Option<bool>,
    pub skip_rows: usize,
}

impl SniffOverrides {
    /// From a dialect object as definitions spell it (`encoding`, `delimiter`, `qualifier`,
    /// `header`, `skip_rows`); a missing key or `"auto"` means "detect".
    pub fn from_json(value: &serde_json::Value) -> Result<SniffOverrides, String> {
        use serde_json::Value;
        let Value::Object(map) = value else {
            return Err("the dialect must be an object".into());
        };
        const KEYS: [&str; 5] = ["encoding", "delimiter", "qualifier", "header", "skip_rows"];
        if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!("unknown dialect setting {k:?}"));
        }
        let chosen = |key: &str| match map.get(key) {
            None => None,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("auto") => None,
            Some(v) => Some(v),
        };
        let mut overrides = SniffOverrides::default();
        if let Some(v) = chosen("encoding") {
            let label = v.as_str().ok_or("encoding: expected a label")?;
            overrides.encoding = Some(label.parse().map_err(|e: UnknownEncoding| e.to_string())?);
        }
        if let Some(v) = chosen("delimiter") {
            let text = v.as_str().ok_or("delimiter: expected a string")?;
            overrides.delimiter = Some(delimiter_from_text(text)?);
        }
        if let Some(v) = chosen("qualifier") {
            overrides.qualifier = Some(match v {
                Value::Null => None,
                Value::String(q) if q == "\"" || q == "'" => q.chars().next(),
                Value::String(q) if q.is_empty() || q.eq_ignore_ascii_case("none") => None,
                _ => return Err(format!("qualifier: expected \", ', none or null, not {v}")),
            });
        }
        if let Some(v) = chosen("header") {
            overrides.header = Some(v.as_bool().ok_or("header: expected true, false or auto")?);
        }
        if let Some(v) = chosen("skip_rows") {
            let n = v.as_u64().ok_or("skip_rows: expected a whole number")?;
            overrides.skip_rows = usize::try_from(n).map_err(|_| "skip_rows: too large")?;
        }
        Ok(overrides)
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

struct Parsed {
    items: Vec<Result<Record, super::RecordError>>,
    counts: super::Counts,
}

/// Parses the sample; the last record is dropped when the sample was cut.
fn parse_sample(
    sample: &[u8],
    truncated: bool,
    dialect: &Dialect,
    limit: usize,
) -> Result<Parsed, ReadError> {
    let mut reader = DelimitedReader::new(Cursor::new(sample.to_vec()), dialect, u64::MAX)?;
    let mut items = Vec::new();
    let mut reached_end = true;
    for item in reader.by_ref() {
        items.push(item?);
        if items.len() > limit {
            reached_end = false;
            break;
        }
    }
    if truncated && reached_end {
        items.pop();
    }
    items.truncate(limit);
    Ok(Parsed {
        items,
        counts: reader.counts(),
    })
}

/// Modal field count, how many records have it, and the number of records.
fn modal(items: &[Result<Record, super::RecordError>]) -> (usize, usize, usize) {
    let mut freq: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for r in items.iter().flatten() {
        *freq.entry(r.fields.len()).or_default() += 1;
    }
    let (count, n) = freq
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
        .unwrap_or((0, 0));
    (count, n, items.len())
}

impl Sniffed {
    /// The detection as JSON, as the CLI's `imports preview` and the API's sniff show it:
    /// summary, explanation, dialect, columns with proposed types, date formats and
    /// warnings, and the first 20 rows parsed under the detected settings.
    pub fn to_json(&self) -> serde_json::Value {
        let columns: Vec<_> = self
            .columns
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.name,
                    "proposed_type": format!("{:?}", c.proposed_type),
                    "date_format": c.date_format,
                    "strip_leading_apostrophe": c.strip_leading_apostrophe,
                    "warnings": c.warnings,
                })
            })
            .collect();
        serde_json::json!({
            "summary": self.summary,
            "dialect": {
                "encoding": self.dialect.encoding.label(),
                "delimiter": self.dialect.delimiter.to_string(),
                "qualifier": self.dialect.qualifier.map(String::from),
                "header": self.dialect.header,
                "skip_rows": self.dialect.skip_rows,
            },
            "encoding_confirmed": self.encoding_confirmed,
            "bom": self.bom,
            "line_ending": self.line_ending,
            "explanation": self.explanation,
            "columns": columns,
            "rows": self.preview.iter().take(20).collect::<Vec<_>>(),
            "estimated_rows": self.estimated_rows,
            "warnings": self.warnings,
        })
    }
}

/// Sniffs the start of `input` (a document of `file_size` bytes).
pub fn sniff(input: impl Read + Send + 'static, file_size: u64) -> Result<Sniffed, ReadError> {
    sniff_with(input, file_size, &SniffOverrides::default())
}

/// [`sniff`], with the settings the user chose taken as given.
pub fn sniff_with(
    input: impl Read + Send + 'static,
    file_size: u64,
    overrides: &SniffOverrides,
) -> Result<Sniffed, ReadError> {
    let skip_rows = overrides.skip_rows;
    let opened = open(input, u64::MAX)?;
    let mut sample = Vec::new();
    opened
        .stream
        .take(SAMPLE_BYTES as u64 + 1)
        .read_to_end(&mut sample)
        .map_err(|e| io_error(e, 1, opened.bytes.load(Ordering::Relaxed)))?;
    let truncated = sample.len() > SAMPLE_BYTES;
    sample.truncate(SAMPLE_BYTES);
    let consumed = opened.bytes.load(Ordering::Relaxed).max(1);

    let mut explanation = Vec::new();
    let mut warnings = Vec::new();

    // Encoding (IMP-6, IMP-7).
    let bom_encoding = Encoding::from_bom(&sample);
    let (encoding, bom, confirmed) = match (overrides.encoding, bom_encoding) {
        (Some(enc), _) => {
            explanation.push(format!("encoding {enc}: chosen by you"));
            (enc, bom_encoding.is_some_and(|(b, _)| b == enc), true)
        }
        (None, Some((enc, _))) => {
            explanation.push(format!("encoding {enc}: byte order mark found"));
            (enc, true, true)
        }
        (None, None) => match std::str::from_utf8(&sample) {
            Ok(_) => {
                explanation.push("encoding UTF-8: the sample is valid UTF-8".to_string());
                (Encoding::Utf8, false, true)
            }
            Err(e) if truncated && e.error_len().is_none() => {
                explanation.push("encoding UTF-8: the sample is valid UTF-8".to_string());
                (Encoding::Utf8, false, true)
            }
            Err(e) => {
                explanation.push(format!(
                    "encoding windows-1252 (guessed): no byte order mark and byte {} is not valid UTF-8",
                    e.valid_up_to()
                ));
                warnings.push(
                    "the encoding is a guess (windows-1252): confirm it or choose another before running"
                        .to_string(),
                );
                (Encoding::Windows1252, false, false)
            }
        },
    };

    // Delimiter (IMP-10).
    let mut best: Option<(char, f64, usize)> = None;
    let candidates: &[char] = match overrides.delimiter {
        Some(chosen) => {
            explanation.push(format!(
                "delimiter {}: chosen by you",
                delimiter_name(chosen)
            ));
            &[]
        }
        None => &CANDIDATES,
    };
    for &d in candidates {
        let dialect = Dialect {
            encoding,
            delimiter: d,
            qualifier: Some('"'),
            header: false,
            skip_rows,
        };
        let parsed = parse_sample(&sample, truncated, &dialect, SAMPLE_RECORDS)?;
        let (count, n, total) = modal(&parsed.items);
        let share = if total == 0 {
            0.0
        } else {
            n as f64 / total as f64
        };
        explanation.push(format!(
            "delimiter {:?} ({}): {n} of {total} records have {count} fields",
            d,
            delimiter_name(d)
        ));
        if count >= 2 && best.is_none_or(|(_, s, _)| share > s) {
            best = Some((d, share, count));
        }
    }
    let delimiter = match (overrides.delimiter, best) {
        (Some(d), _) => d,
        (None, Some((d, share, count))) => {
            explanation.push(format!(
                "chose {} : the highest share of records ({:.0} %) with the same field count ({count})",
                delimiter_name(d),
                share * 100.0
            ));
            d
        }
        (None, None) => {
            if !sample.is_empty() {
                warnings.push(
                    "no delimiter gives two or more columns: read as a single column (delimiter ',')"
                        .to_string(),
                );
            }
            explanation.push(
                "no candidate delimiter gives two or more fields per record: single column"
                    .to_string(),
            );
            ','
        }
    };

    // Qualifier: '"' unless '\'' is clearly used as one: fields open with it, none with '"',
    // and parsing with it gives at least as regular records.
    let mut qualifier = Some('"');
    if let Some(chosen) = overrides.qualifier {
        qualifier = chosen;
        explanation.push(match chosen {
            Some(q) => format!("qualifier {q}: chosen by you"),
            None => "no qualifier: chosen by you".to_string(),
        });
    } else {
        let with = |q: Option<char>| Dialect {
            encoding,
            delimiter,
            qualifier: q,
            header: false,
            skip_rows,
        };
        let plain = parse_sample(&sample, truncated, &with(None), SAMPLE_RECORDS)?;
        let opening = |q: char| {
            plain
                .items
                .iter()
                .flatten()
                .flat_map(|r| r.fields.iter())
                .filter(|f| f.starts_with(q))
                .count()
        };
        let (single, double) = (opening('\''), opening('"'));
        let mut chose_single = false;
        if single >= 2 && double == 0 {
            let share = |q: char| -> Result<f64, ReadError> {
                let p = parse_sample(&sample, truncated, &with(Some(q)), SAMPLE_RECORDS)?;
                let (_, n, total) = modal(&p.items);
                Ok(if total == 0 {
                    0.0
                } else {
                    n as f64 / total as f64
                })
            };
            if share('\'')? >= share('"')? {
                chose_single = true;
            }
        }
        if chose_single {
            qualifier = Some('\'');
            explanation.push(format!(
                "qualifier ': {single} fields open with a single quote, none with a double quote"
            ));
        } else {
            explanation.push(format!(
                "qualifier \": {double} fields open with a double quote, {single} with a single quote"
            ));
        }
    }

    // Parse with the chosen settings.
    let mut dialect = Dialect {
        encoding,
        delimiter,
        qualifier,
        header: false,
        skip_rows,
    };
    let parsed = parse_sample(&sample, truncated, &dialect, usize::MAX)?;
    let counts = parsed.counts;
    let total_records = parsed.items.len();
    let mut rows: Vec<Record> = Vec::new();
    let mut rejected = Vec::new();
    for item in parsed.items.into_iter().take(SAMPLE_RECORDS) {
        match item {
            Ok(r) => rows.push(r),
            Err(e) => rejected.push(e),
        }
    }
    if let Some(first) = rejected.first() {
        warnings.push(format!(
            "{} record(s) of the sample would be rejected (first: {first})",
            rejected.len()
        ));
    }

    // Header (IMP-11).
    let header = match (overrides.header, rows.first()) {
        (Some(chosen), _) => {
            explanation.push(format!(
                "{}: chosen by you",
                if chosen {
                    "header row"
                } else {
                    "no header row"
                }
            ));
            chosen
        }
        (None, None) => false,
        (None, Some(first)) => {
            let others = &rows[1..];
            let mut typed_cols = 0;
            let mut header_evidence = false;
            let mut data_evidence = false;
            for (i, cell) in first.fields.iter().enumerate() {
                let vals: Vec<&str> = others
                    .iter()
                    .filter_map(|r| r.fields.get(i))
                    .map(|v| trim_cell(v))
                    .filter(|v| !v.is_empty())
                    .collect();
                if vals.is_empty() {
                    continue;
                }
                let typed = vals.iter().filter(|v| is_number_or_date(v)).count();
                if typed * 10 >= vals.len() * 9 {
                    typed_cols += 1;
                    if is_number_or_date(cell) {
                        data_evidence = true;
                    } else {
                        header_evidence = true;
                    }
                }
            }
            let non_empty = first.fields.iter().all(|c| !trim_cell(c).is_empty());
            let mut seen = std::collections::HashSet::new();
            let dups: Vec<&str> = first
                .fields
                .iter()
                .map(|c| trim_cell(c))
                .filter(|c| !c.is_empty() && !seen.insert(*c))
                .collect();
            let unique = dups.is_empty();
            let all_text = typed_cols == 0;
            if header_evidence {
                explanation.push(
                    "header row: row 1 is text where the other rows hold numbers or dates"
                        .to_string(),
                );
                if !unique {
                    warnings.push(format!("duplicate column headings: {}", dups.join(", ")));
                }
                if !non_empty {
                    warnings.push("some column headings are empty".to_string());
                }
                true
            } else if all_text && non_empty && unique {
                explanation.push(
                    "header row: every column is text and row 1 has unique, non-empty cells"
                        .to_string(),
                );
                true
            } else {
                if data_evidence {
                    explanation.push(
                        "no header row: row 1 holds numbers or dates like the other rows"
                            .to_string(),
                    );
                } else {
                    explanation
                        .push("no header row: row 1 has empty or duplicate cells".to_string());
                }
                if !unique {
                    warnings.push(format!(
                        "row 1 has duplicate values ({}) so it was not taken as the header row; if it is, column headings are duplicated",
                        dups.join(", ")
                    ));
                }
                false
            }
        }
    };
    dialect.header = header;

    let (header_row, data): (Option<&Record>, &[Record]) = if header {
        (rows.first(), rows.get(1..).unwrap_or(&[]))
    } else {
        (None, &rows[..])
    };
    let ncols = match header_row {
        Some(h) => h.fields.len(),
        None => modal(&data.iter().cloned().map(Ok).collect::<Vec<_>>()).0,
    };

    // Ragged rows (IMP-14, IMP-19).
    let ragged: Vec<&Record> = data.iter().filter(|r| r.fields.len() != ncols).collect();
    if let Some(first) = ragged.first() {
        warnings.push(format!(
            "{} of {} sampled rows do not have {ncols} fields (first on line {}): they will be rejected",
            ragged.len(),
            data.len(),
            first.line
        ));
    }

    let columns: Vec<SniffedColumn> = (0..ncols)
        .map(|i| {
            let name = header_row
                .and_then(|h| h.fields.get(i))
                .map(|s| trim_cell(s).to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("Column {}", i + 1));
            let values: Vec<&str> = data
                .iter()
                .filter_map(|r| r.fields.get(i))
                .map(String::as_str)
                .collect();
            let p = propose(&values);
            SniffedColumn {
                name,
                proposed_type: p.proposed_type,
                date_format: p.date_format,
                warnings: p.warnings,
                strip_leading_apostrophe: p.strip_leading_apostrophe,
            }
        })
        .collect();

    let preview: Vec<Vec<String>> = data
        .iter()
        .take(PREVIEW_ROWS)
        .map(|r| r.fields.clone())
        .collect();

    let sample_rows = total_records.saturating_sub(usize::from(header)) as u64;
    let estimated_rows = if truncated {
        ((sample_rows as f64) * (file_size as f64) / (consumed as f64)).round() as u64
    } else {
        sample_rows
    };

    let line_ending = match (counts.lf > 0, counts.crlf > 0, counts.cr > 0) {
        (false, true, false) => "CRLF",
        (false, false, true) => "CR",
        (true, false, false) | (false, false, false) => "LF",
        _ => "mixed",
    };

    if sample.is_empty() {
        warnings.push("the file is empty".to_string());
    } else if header && data.is_empty() {
        warnings.push("the file has a header row but no data rows".to_string());
    }

    let encoding_text = match (bom, confirmed) {
        (true, _) => format!("{encoding} with BOM"),
        (false, true) => encoding.to_string(),
        (false, false) => format!("{encoding} (unconfirmed)"),
    };
    let qualifier_text = match qualifier {
        Some('"') => "double-quote qualifier",
        Some('\'') => "single-quote qualifier",
        _ => "no qualifier",
    };
    let summary = format!(
        "{encoding_text} · {} · {qualifier_text} · {} · {line_ending} · {ncols} column{} · {}{} rows",
        delimiter_name(delimiter),
        if header {
            "header row"
        } else {
            "no header row"
        },
        if ncols == 1 { "" } else { "s" },
        if truncated { "~" } else { "" },
        thousands(estimated_rows)
    );

    Ok(Sniffed {
        dialect,
        bom,
        encoding_confirmed: confirmed,
        line_ending,
        columns,
        preview,
        estimated_rows,
        explanation,
        summary,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separator() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(48000), "48,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn overrides_replace_their_detection_step() {
        let text = "id;name\r\n1;Zoë\r\n2;Ann\r\n";
        let overrides =
            SniffOverrides::from_json(&serde_json::json!({"delimiter": "comma", "header": false}))
                .unwrap();
        let s = sniff_with(Cursor::new(text.as_bytes().to_vec()), 20, &overrides).unwrap();
        assert_eq!(s.dialect.delimiter, ',');
        assert!(!s.dialect.header);
        assert_eq!(s.columns.len(), 1);
        assert_eq!(s.preview[0], ["id;name"]);
        assert!(
            s.explanation
                .iter()
                .any(|e| e == "delimiter comma: chosen by you")
        );
        // "auto" and missing keys are detected as usual.
        let auto = SniffOverrides::from_json(&serde_json::json!({"delimiter": "auto"})).unwrap();
        assert_eq!(auto, SniffOverrides::default());
        for (bad, why) in [
            (serde_json::json!({"delimiter": "ab"}), "one character"),
            (
                serde_json::json!({"encoding": "EBCDIC"}),
                "unsupported encoding",
            ),
            (serde_json::json!({"qualifier": "x"}), "qualifier"),
            (serde_json::json!({"header": "maybe"}), "header"),
            (serde_json::json!({"colour": 1}), "unknown dialect setting"),
        ] {
            let e = SniffOverrides::from_json(&bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn semicolon_with_header_and_types() {
        let text = "id;name;born;score\r\n1;Zoë;31/01/1990;1,5\r\n2;Ann;01/02/1985;2\r\n";
        let s = sniff(Cursor::new(text.as_bytes().to_vec()), text.len() as u64).unwrap();
        assert_eq!(s.dialect.delimiter, ';');
        assert!(s.dialect.header);
        assert_eq!(s.line_ending, "CRLF");
        assert_eq!(s.estimated_rows, 2);
        let types: Vec<_> = s.columns.iter().map(|c| c.proposed_type).collect();
        assert_eq!(
            types,
            [
                ProposedType::Integer,
                ProposedType::Text,
                ProposedType::Date,
                ProposedType::Decimal
            ]
        );
        assert_eq!(s.columns[2].date_format.as_deref(), Some("DD/MM/CCYY"));
        assert_eq!(
            s.summary,
            "UTF-8 · semicolon · double-quote qualifier · header row · CRLF · 4 columns · 2 rows"
        );
    }
}
