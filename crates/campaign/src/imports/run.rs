//! Running an import (campaign-import.md §7, §8): read, convert, key, de-duplicate, apply in
//! one transaction, count, report and write the reject file.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use rand::Rng;
use rand::distributions::Alphanumeric;
use serde::{Deserialize, Serialize};
use userbridge_store::{CampaignRow, RowOutcome, Store, StoreError, StoredValue};

use super::definition::{Duplicates, Mode, SourceColumn, ValidImport};
use crate::delimited::DelimitedReader;
use crate::values::{Cell, ColumnType, Value, key_part_of_cell};
use crate::{CampaignError, Documents, Name, OnConflict, Result};

/// Most bytes a gzip source may expand to.
const MAX_DECOMPRESSED_BYTES: u64 = 64 * 1024 * 1024 * 1024;
/// Separates the parts of a composite key (never part of a converted value's text).
const KEY_SEPARATOR: char = '\u{1f}';
/// Who is recorded as the uploader of reject files.
const REJECTS_UPLOADED_BY: &str = "import";

/// A new run id: `run_` + 16 alphanumerics.
pub fn new_run_id() -> String {
    alphanumeric("run_")
}

/// A new definition id: `def_` + 16 alphanumerics.
pub fn new_definition_id() -> String {
    alphanumeric("def_")
}

fn alphanumeric(prefix: &str) -> String {
    let rest: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    format!("{prefix}{rest}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefinitionRef {
    pub id: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceReport {
    pub document: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub encoding: String,
    pub bom: bool,
    pub delimiter: String,
    pub qualifier: Option<String>,
    pub header: bool,
    pub skip_rows: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetReport {
    pub table: String,
    pub mode: String,
    pub key: Vec<String>,
    pub duplicates: String,
    /// The table was created by this run.
    pub created: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub physical_lines: u64,
    pub skipped_lines: u64,
    pub blank_lines: u64,
    pub read: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rejected_rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rejected_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_if_first_rows_rejected: Option<u64>,
    /// Rejected rows that count toward thresholds (duplicate-policy rejects do not).
    pub counted_rejects: u64,
    pub tripped: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The run report (§8.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub process_id: String,
    pub definition: DefinitionRef,
    pub dry_run: bool,
    /// `completed`, `completed_with_rejects`, `aborted` or `failed`.
    pub state: String,
    pub source: SourceReport,
    pub target: TargetReport,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    pub rows_per_second: f64,
    pub counts: Counts,
    pub rejects_by_reason: BTreeMap<String, u64>,
    pub truncated_cells: u64,
    pub threshold: ThresholdReport,
    pub reject_file: Option<String>,
    pub warnings: Vec<String>,
}

/// One rejected record.
struct Rejected {
    line: u64,
    reason: String,
    column: String,
    message: String,
    raw: String,
    /// Counts toward thresholds (not a duplicate-policy reject).
    counts: bool,
}

/// A converted record waiting for duplicate resolution.
struct Staged {
    line: u64,
    key: Option<String>,
    values: Vec<Option<StoredValue>>,
    raw: String,
    /// Dropped by the duplicate policy: (reason, line named in the message).
    dropped: Option<&'static str>,
    /// `reject` policy: another line with the same key.
    other_line: u64,
}

/// The canonical stored form of a converted cell: the same every run, so `unchanged` works.
fn stored(cell: Cell) -> Option<StoredValue> {
    match cell {
        Cell::Blank => None,
        Cell::Clear => Some(StoredValue::Null),
        Cell::Value(v) => Some(match v {
            Value::Null => StoredValue::Null,
            Value::Text(s) | Value::Decimal(s) => StoredValue::Text(s),
            Value::Integer(i) => StoredValue::Integer(i),
            Value::Boolean(b) => StoredValue::Integer(i64::from(b)),
            other @ (Value::Date(_) | Value::Datetime(_)) => StoredValue::Text(other.to_string()),
        }),
    }
}

/// Runs a validated import. `dry_run` does all the work and rolls back (IMP-38).
pub fn run(
    store: &dyn Store,
    documents: &Documents,
    import: &ValidImport,
    dry_run: bool,
) -> Result<Report> {
    run_as(store, documents, import, dry_run, new_run_id())
}

/// [`run`] under a process id chosen by the caller (the API creates the process first).
pub fn run_as(
    store: &dyn Store,
    documents: &Documents,
    import: &ValidImport,
    dry_run: bool,
    process_id: String,
) -> Result<Report> {
    let def = &import.definition;
    let started_at = userbridge_model::time::now();
    let clock = Instant::now();
    let mut warnings = Vec::new();

    let (info, file) = documents.open(&import.document)?;
    let read_error = |source| CampaignError::Read {
        document: info.path.clone(),
        source,
    };
    let mut reader =
        DelimitedReader::new(file, &import.dialect, MAX_DECOMPRESSED_BYTES).map_err(read_error)?;

    // Resolve the sources of the mapping.
    let headers: Option<Vec<String>> = reader.headers().map(|h| h.to_vec());
    let mut sources = Vec::with_capacity(def.mapping.len());
    for (i, m) in def.mapping.iter().enumerate() {
        let index = match (&m.source, &headers) {
            (SourceColumn::Position(p), _) => p.saturating_sub(1),
            (SourceColumn::Name(n), Some(h)) => h
                .iter()
                .position(|c| c == n)
                .or_else(|| {
                    h.iter()
                        .position(|c| c.trim().eq_ignore_ascii_case(n.trim()))
                })
                .ok_or_else(|| CampaignError::InvalidImport {
                    entry: format!("mapping[{i}] ({n:?})"),
                    reason: format!("the document's header has no column {n:?} (it has {h:?})"),
                })?,
            (SourceColumn::Name(n), None) => {
                return Err(CampaignError::InvalidImport {
                    entry: format!("mapping[{i}] ({n:?})"),
                    reason: "the document is empty or has no header row".to_string(),
                });
            }
        };
        sources.push(index);
    }
    let column_names: Vec<String> = match &headers {
        Some(h) => h.clone(),
        None => Vec::new(),
    };
    let mut expected_fields = headers.as_ref().map(|h| h.len());

    // Pass 1: read, convert, key, stage.
    let mut rejects: Vec<Rejected> = Vec::new();
    let mut staged: Vec<Staged> = Vec::new();
    // In-file duplicate detection over the whole file: key → index in `staged` (kept in
    // memory for now; IMP-32 asks for temporary storage beyond memory).
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut read: u64 = 0;
    let mut truncated: u64 = 0;
    let first_n = def.thresholds.abort_if_first_rows_rejected.unwrap_or(0);
    // The lines of the first `first_n` records, to check IMP-36's first-rows rule after
    // `not_found` outcomes are known.
    let mut first_lines: Vec<u64> = Vec::new();
    let clear = def.clear_token.as_str();
    for item in reader.by_ref() {
        let record = match item {
            Err(e) => return Err(read_error(e)),
            Ok(Err(bad)) => {
                read += 1;
                if (first_lines.len() as u64) < first_n {
                    first_lines.push(bad.line());
                }
                rejects.push(Rejected {
                    line: bad.line(),
                    reason: bad.code().to_string(),
                    column: String::new(),
                    message: bad.to_string(),
                    raw: bad.raw().to_string(),
                    counts: true,
                });
                continue;
            }
            Ok(Ok(record)) => record,
        };
        read += 1;
        if (first_lines.len() as u64) < first_n {
            first_lines.push(record.line);
        }
        let expected = *expected_fields.get_or_insert(record.fields.len());
        if record.fields.len() != expected {
            rejects.push(Rejected {
                line: record.line,
                reason: "column_count_mismatch".to_string(),
                column: String::new(),
                message: format!("{} fields, expected {expected}", record.fields.len()),
                raw: record.raw,
                counts: true,
            });
            continue;
        }
        let mut converted: Vec<Option<Cell>> = vec![None; def.mapping.len()];
        let mut failed: Option<(String, String, String)> = None;
        for (i, m) in def.mapping.iter().enumerate() {
            let raw = record
                .fields
                .get(sources[i])
                .map(String::as_str)
                .unwrap_or("");
            match m.column.convert(raw, clear) {
                Ok((cell, cut)) => {
                    truncated += u64::from(cut);
                    converted[i] = Some(cell);
                }
                Err(r) => {
                    failed = Some((
                        r.reason.as_str().to_string(),
                        m.column.name.clone(),
                        r.message,
                    ));
                    break;
                }
            }
        }
        let mut key = None;
        if failed.is_none() && !import.key_mapping.is_empty() {
            let mut text = String::new();
            for (n, &m) in import.key_mapping.iter().enumerate() {
                let spec = &def.mapping[m].column;
                let cell = converted[m].as_ref().unwrap_or(&Cell::Blank);
                match key_part_of_cell(cell, &spec.name, spec.column_type == ColumnType::Email) {
                    Ok(part) => {
                        if n > 0 {
                            text.push(KEY_SEPARATOR);
                        }
                        text.push_str(&part);
                    }
                    Err(r) => {
                        failed =
                            Some((r.reason.as_str().to_string(), spec.name.clone(), r.message));
                        break;
                    }
                }
            }
            key = Some(text);
        }
        if let Some((reason, column, message)) = failed {
            rejects.push(Rejected {
                line: record.line,
                reason,
                column,
                message,
                raw: record.raw,
                counts: true,
            });
            continue;
        }
        let values: Vec<Option<StoredValue>> = import
            .column_mapping
            .iter()
            .map(|m| m.and_then(|m| converted[m].take()).and_then(stored))
            .collect();
        let index = staged.len();
        let mut entry = Staged {
            line: record.line,
            key,
            values,
            raw: record.raw,
            dropped: None,
            other_line: 0,
        };
        if let Some(k) = &entry.key {
            if let Some(&prev) = seen.get(k) {
                match def.duplicates {
                    Duplicates::First => {
                        rejects.push(Rejected {
                            line: entry.line,
                            reason: "duplicate_in_file".to_string(),
                            column: String::new(),
                            message: format!("duplicate key; line {} is kept", staged[prev].line),
                            raw: entry.raw,
                            counts: false,
                        });
                        continue;
                    }
                    Duplicates::Last => {
                        staged[prev].dropped = Some("superseded_in_file");
                        seen.insert(k.clone(), index);
                    }
                    Duplicates::Reject => {
                        if staged[prev].dropped.is_none() {
                            staged[prev].dropped = Some("duplicate_in_file");
                            staged[prev].other_line = entry.line;
                        }
                        entry.dropped = Some("duplicate_in_file");
                        entry.other_line = staged[prev].line;
                    }
                }
            } else {
                seen.insert(k.clone(), index);
            }
        }
        staged.push(entry);
    }
    let reader_counts = reader.counts();

    // Duplicate-policy rejects, and the rows to apply (file order).
    let keep_raw = def.mode == Mode::UpdateOnly;
    let mut raws: HashMap<u64, String> = HashMap::new();
    let mut rows: Vec<CampaignRow> = Vec::with_capacity(staged.len());
    let lines: Vec<u64> = staged.iter().map(|s| s.line).collect();
    for s in staged {
        match s.dropped {
            Some(reason) => {
                let message = match reason {
                    "superseded_in_file" => {
                        let kept = s
                            .key
                            .as_ref()
                            .and_then(|k| seen.get(k))
                            .and_then(|&i| lines.get(i).copied())
                            .unwrap_or(0);
                        format!("superseded by line {kept} with the same key (kept)")
                    }
                    _ => format!(
                        "duplicate key (also on line {}); no occurrence is applied",
                        s.other_line
                    ),
                };
                rejects.push(Rejected {
                    line: s.line,
                    reason: reason.to_string(),
                    column: String::new(),
                    message,
                    raw: s.raw,
                    counts: false,
                });
            }
            None => {
                if keep_raw {
                    raws.insert(s.line, s.raw);
                }
                rows.push(CampaignRow {
                    line: s.line,
                    key: s.key,
                    values: s.values,
                });
            }
        }
    }
    Ok(Report {
        process_id,
        definition: DefinitionRef {
            id: import.id.clone(),
            name: def.name.clone(),
        },
        dry_run,
        state: String::new(),
        source: SourceReport {
            document: info.path.clone(),
            size_bytes: info.size,
            sha256: info.sha256.clone(),
            encoding: reader.encoding().label().to_string(),
            bom: reader.bom(),
            delimiter: import.dialect.delimiter.to_string(),
            qualifier: import.dialect.qualifier.map(String::from),
            header: import.dialect.header,
            skip_rows: import.dialect.skip_rows,
        },
        target: TargetReport {
            table: import.table.name.clone(),
            mode: def.mode.as_str().to_string(),
            key: import.table.key.clone(),
            duplicates: def.duplicates.as_str().to_string(),
            created: false,
        },
        started_at,
        finished_at: String::new(),
        duration_ms: 0,
        rows_per_second: 0.0,
        counts: Counts {
            physical_lines: reader_counts.physical_lines,
            skipped_lines: reader_counts.skipped_lines,
            blank_lines: reader_counts.blank_lines,
            read,
            ..Counts::default()
        },
        rejects_by_reason: BTreeMap::new(),
        truncated_cells: truncated,
        threshold: ThresholdReport {
            max_rejected_rows: def.thresholds.max_rejected_rows,
            max_rejected_percent: def.thresholds.max_rejected_percent,
            abort_if_first_rows_rejected: def.thresholds.abort_if_first_rows_rejected,
            counted_rejects: 0,
            tripped: false,
            reason: None,
        },
        reject_file: None,
        warnings: Vec::new(),
    })
    .and_then(|report| {
        finish(
            store,
            documents,
            import,
            dry_run,
            report,
            Applying {
                rows,
                rejects,
                raws,
                first_lines,
                column_names,
                clock,
            },
            &mut warnings,
        )
    })
    .map(|mut report| {
        report.warnings.append(&mut warnings);
        report
    })
}

struct Applying {
    rows: Vec<CampaignRow>,
    rejects: Vec<Rejected>,
    raws: HashMap<u64, String>,
    first_lines: Vec<u64>,
    column_names: Vec<String>,
    clock: Instant,
}

/// Per-run tallies shared by the outcome and commit callbacks.
#[derive(Default)]
struct Tally {
    inserted: u64,
    updated: u64,
    unchanged: u64,
    not_found: Vec<u64>,
}

fn finish(
    store: &dyn Store,
    documents: &Documents,
    import: &ValidImport,
    dry_run: bool,
    mut report: Report,
    applying: Applying,
    warnings: &mut Vec<String>,
) -> Result<Report> {
    let def = &import.definition;
    let Applying {
        rows,
        mut rejects,
        raws,
        first_lines,
        column_names,
        clock,
    } = applying;
    let pre_counted = rejects.iter().filter(|r| r.counts).count() as u64;
    let read = report.counts.read;
    let tally = RefCell::new(Tally::default());
    let decision: RefCell<Option<(bool, Option<String>)>> = RefCell::new(None);
    let rejected_lines: std::collections::HashSet<u64> = rejects
        .iter()
        .filter(|r| r.counts)
        .map(|r| r.line)
        .collect();

    let thresholds = &def.thresholds;
    let evaluate = |not_found: &[u64]| -> Option<String> {
        let counted = pre_counted + not_found.len() as u64;
        if let Some(max) = thresholds.max_rejected_rows
            && counted > max
        {
            return Some(format!(
                "{counted} rejected rows exceed max_rejected_rows {max}"
            ));
        }
        if let Some(max) = thresholds.max_rejected_percent
            && read > 0
        {
            let percent = counted as f64 * 100.0 / read as f64;
            if percent > max {
                return Some(format!(
                    "{percent:.2}% rejected rows exceed max_rejected_percent {max}"
                ));
            }
        }
        if let Some(n) = thresholds.abort_if_first_rows_rejected
            && n > 0
            && first_lines.len() as u64 >= n
            && first_lines
                .iter()
                .all(|l| rejected_lines.contains(l) || not_found.contains(l))
        {
            return Some(format!("the first {n} data rows were all rejected"));
        }
        None
    };
    let decide = |not_found: &[u64]| -> bool {
        let tripped = evaluate(not_found);
        let commit = tripped.is_none() && !dry_run;
        *decision.borrow_mut() = Some((tripped.is_some(), tripped));
        commit
    };

    if import.table_exists {
        let mut iter = rows.into_iter().map(Ok);
        let mut outcome = |line: u64, o: RowOutcome| -> userbridge_store::Result<()> {
            let mut t = tally.borrow_mut();
            match o {
                RowOutcome::Inserted => t.inserted += 1,
                RowOutcome::Updated => t.updated += 1,
                RowOutcome::Unchanged => t.unchanged += 1,
                RowOutcome::NotFound => t.not_found.push(line),
            }
            Ok(())
        };
        let mut commit = || {
            let nf = tally.borrow().not_found.clone();
            decide(&nf)
        };
        store.apply_campaign_rows(
            &import.table.name,
            def.mode.apply_mode(),
            def.blank_overwrites,
            &mut iter,
            &mut outcome,
            &mut commit,
        )?;
    } else {
        // The table does not exist yet: every row would be inserted (or not found), so the
        // outcome is known without touching the store; the table is only created when the
        // run commits, so a dry or aborted run leaves no table behind.
        {
            let mut t = tally.borrow_mut();
            for r in &rows {
                match def.mode {
                    Mode::UpdateOnly => t.not_found.push(r.line),
                    _ => t.inserted += 1,
                }
            }
        }
        let nf = tally.borrow().not_found.clone();
        if decide(&nf) {
            store.create_campaign_table(&import.table)?;
            report.target.created = true;
            let mut iter = rows.into_iter().map(Ok);
            let mut check = |_: u64, o: RowOutcome| -> userbridge_store::Result<()> {
                match o {
                    RowOutcome::Inserted => Ok(()),
                    other => Err(StoreError::Aborted(format!(
                        "unexpected outcome {other:?} in a new table"
                    ))),
                }
            };
            store.apply_campaign_rows(
                &import.table.name,
                def.mode.apply_mode(),
                def.blank_overwrites,
                &mut iter,
                &mut check,
                &mut || true,
            )?;
        }
    }

    let tally = tally.into_inner();
    for line in &tally.not_found {
        rejects.push(Rejected {
            line: *line,
            reason: "not_found".to_string(),
            column: String::new(),
            message: "update_only: no stored row has this key".to_string(),
            raw: raws.get(line).cloned().unwrap_or_default(),
            counts: true,
        });
    }
    rejects.sort_by_key(|r| r.line);
    let (tripped, reason) = decision.into_inner().unwrap_or((false, None));
    report.threshold.counted_rejects = rejects.iter().filter(|r| r.counts).count() as u64;
    report.threshold.tripped = tripped;
    report.threshold.reason = reason;
    report.counts.inserted = tally.inserted;
    report.counts.updated = tally.updated;
    report.counts.unchanged = tally.unchanged;
    report.counts.rejected = rejects.len() as u64;
    for r in &rejects {
        *report
            .rejects_by_reason
            .entry(r.reason.clone())
            .or_default() += 1;
    }
    let c = &report.counts;
    if c.read != c.inserted + c.updated + c.unchanged + c.rejected {
        return Err(CampaignError::Internal(format!(
            "count invariant violated: read {} != inserted {} + updated {} + unchanged {} + rejected {}",
            c.read, c.inserted, c.updated, c.unchanged, c.rejected
        )));
    }
    if def.mode == Mode::AddOnly && c.unchanged > 0 {
        warnings.push(format!(
            "{} rows matched existing keys and were left alone (add_only)",
            c.unchanged
        ));
    }
    if !rejects.is_empty() {
        report.reject_file = Some(write_rejects(
            documents,
            import,
            &report.process_id,
            &column_names,
            &rejects,
        )?);
    }
    report.state = if tripped {
        "aborted"
    } else if rejects.is_empty() {
        "completed"
    } else {
        "completed_with_rejects"
    }
    .to_string();
    let elapsed = clock.elapsed();
    report.finished_at = userbridge_model::time::now();
    report.duration_ms = elapsed.as_millis() as u64;
    let secs = elapsed.as_secs_f64();
    report.rows_per_second = if secs > 0.0 {
        (report.counts.read as f64 / secs * 10.0).round() / 10.0
    } else {
        0.0
    };
    Ok(report)
}

/// Writes the reject file next to the source: `<name>.<run id>.rejects.csv` with columns
/// line, reason, column, message, raw.
fn write_rejects(
    documents: &Documents,
    import: &ValidImport,
    process_id: &str,
    _column_names: &[String],
    rejects: &[Rejected],
) -> Result<String> {
    let mut buf = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        let io = |e: csv::Error| CampaignError::Io {
            context: "cannot write the reject file".to_string(),
            source: std::io::Error::other(e.to_string()),
        };
        w.write_record(["line", "reason", "column", "message", "raw"])
            .map_err(io)?;
        for r in rejects {
            w.write_record([
                r.line.to_string().as_str(),
                &r.reason,
                &r.column,
                &r.message,
                &r.raw,
            ])
            .map_err(io)?;
        }
        w.flush()
            .map_err(CampaignError::io("cannot write the reject file"))?;
    }
    let source_name = import
        .document
        .name()
        .map(|n| n.as_str().to_string())
        .unwrap_or_else(|| "import".to_string());
    let name = Name::parse(&format!("{source_name}.{process_id}.rejects.csv"))?;
    let directory = import
        .document
        .parent()
        .unwrap_or_else(crate::DocPath::root);
    let stored = documents.upload(
        &mut buf.as_slice(),
        &directory,
        &name,
        OnConflict::Replace,
        REJECTS_UPLOADED_BY,
    )?;
    Ok(stored.path)
}
