//! Running an import (campaign-import.md §7, §8) in the two phases of RUN-2.
//!
//! ```text
//! reading:  producer thread: decode ─► parse ─► convert ─► key ══ bounded channel ══►
//!           this thread: staging file (every record, applied or rejected, in file order)
//! then:     duplicate groups from the staging index ─► policy marks (first/last/reject)
//! applying: one store transaction: set-based update/insert from staging ─► thresholds
//!           decide commit or rollback (dry runs always roll back)
//! finishing: not_found marks, reject file streamed from staging, report
//! ```
//!
//! When every row is an insert into an empty table (a new table, an empty one, overwrite),
//! the rows skip staging: this thread hands them to the store's load table, which replaces
//! the table's rows in one transaction at the end (`Store::load_campaign_table`); only
//! rejects are staged. The load proves every key unique as it goes; at the first key that
//! may repeat it is dropped and the run starts over on the general path above.
//!
//! Memory stays flat whatever the file size: records live in the staging file or the
//! table, never in a collection; the channel holds a few chunks.

use std::io::Seek;
use std::sync::mpsc;
use std::time::Instant;

use rand::Rng;
use rand::distributions::Alphanumeric;
use userbridge_store::{
    CampaignRowSink, CampaignStaging, DirectLoad, Mark, StagedOutcome, StagedRecordRef, Store,
    StoredValue, encode_fields,
};

use super::control::{Phase, RunControl};
use super::definition::{Duplicates, Mode, SourceColumn, ValidImport};
use super::report::{Counts, DefinitionRef, Report, SourceReport, TargetReport, ThresholdReport};
use crate::delimited::{Counts as ReaderCounts, DelimitedReader, ReadError, RecordView};
use crate::values::{Cell, ColumnType, Value, key_part_of_cell};
use crate::{CampaignError, DocumentInfo, Documents, Name, OnConflict, Result};
use userbridge_formats::formula_guarded;

/// Separates the parts of a composite key (never part of a converted value's text).
const KEY_SEPARATOR: char = '\u{1f}';
/// Who is recorded as the uploader of reject files.
const REJECTS_UPLOADED_BY: &str = "import";
/// Records per chunk handed from the reading thread to the staging one.
const CHUNK: usize = 1024;
/// Chunks in flight.
const CHANNEL_CHUNKS: usize = 4;
/// Lines named in a `reject`-policy duplicate message.
const LINES_NAMED: usize = 5;

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

/// One record as the reading thread hands it over.
enum Item {
    Row {
        line: u64,
        key: Option<String>,
        /// The fields as parsed, encoded for staging (`encode_fields`).
        fields: Vec<u8>,
        values: Vec<Option<StoredValue>>,
        /// Text values cut to their column's maximum length (`truncate` columns).
        truncated: u64,
    },
    Rejected {
        line: u64,
        /// The fields as parsed, encoded for staging (`encode_fields`).
        fields: Vec<u8>,
        /// The first offending column (empty for whole-row problems).
        column: String,
        /// Codes joined with `;` (§8.2).
        code: String,
        /// Messages joined with `; `.
        message: String,
    },
}

/// What the reading thread sends.
enum Message {
    Chunk { items: Vec<Item>, bytes: u64 },
    Done(ReaderCounts),
    Failed(ReadError),
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
    run_with(
        store,
        documents,
        import,
        dry_run,
        new_run_id(),
        &RunControl::default(),
    )
}

/// [`run`] under a process id chosen by the caller (the API creates the process first),
/// watched and cancellable through `control`.
pub fn run_with(
    store: &dyn Store,
    documents: &Documents,
    import: &ValidImport,
    dry_run: bool,
    process_id: String,
    control: &RunControl,
) -> Result<Report> {
    let def = &import.definition;
    let started_at = userbridge_model::time::now();
    let clock = Instant::now();

    let (info, file) = documents.open(&import.document)?;
    let reader = open_reader(documents, import, &info, file)?;
    let headers: Option<Vec<String>> = reader.headers().map(<[String]>::to_vec);
    super::headers::verify(
        def.verify_headers,
        def.expected_headers.as_deref(),
        headers.as_deref(),
        &info.path,
    )?;
    let sources = resolve_sources(import, headers.as_deref())?;
    let encoding = reader.encoding();
    let bom = reader.bom();
    let converter = Converter {
        import,
        sources: &sources,
        expected_fields: headers.as_ref().map(Vec::len),
        keep_row_fields: true,
    };
    let first_n = def
        .thresholds
        .abort_if_first_rows_rejected
        .filter(|&n| n > 0)
        .unwrap_or(0);
    let source = Source {
        info: &info,
        converter,
        first_n,
    };
    let mut staging = CampaignStaging::create(
        documents.scratch_dir(),
        &process_id,
        import.table.columns.len(),
    )?;

    let attempt = Attempt {
        store,
        import,
        dry_run,
        source,
        control,
    };
    let mut reader = Some(reader);
    let mut direct = None;
    if every_row_is_an_insert(import)
        && let Some(reader) = reader.take()
    {
        direct = attempt.load_directly(reader, &mut staging)?;
        if direct.is_none() {
            // Not empty after all, a key may repeat, or another process loads the table:
            // nothing was written; the run starts over through staging, whose key index
            // settles duplicates.
            drop(staging);
            staging = CampaignStaging::create(
                documents.scratch_dir(),
                &process_id,
                import.table.columns.len(),
            )?;
        }
    }
    let (reading, outcome, tripped) = match direct {
        Some(loaded) => loaded,
        None => {
            let reader = match reader.take() {
                Some(reader) => reader,
                None => attempt.source.reopen(documents, import)?,
            };
            attempt.apply_staged(reader, &mut staging)?
        }
    };
    let Reading {
        read,
        counts: reader_counts,
        truncated_cells,
        ..
    } = reading;

    control.set_phase(Phase::Finishing);
    let StagedOutcome {
        inserted,
        updated,
        unchanged,
        not_found,
    } = outcome;
    if !not_found.is_empty() {
        let marks: Vec<Mark> = not_found
            .iter()
            .map(|&seq| Mark {
                seq,
                code: "not_found".into(),
                message: "update_only: no stored row has this key".into(),
                counted: true,
            })
            .collect();
        staging.mark(&marks)?;
    }
    let tallies = staging.reject_tallies();
    let rejected: u64 = tallies.iter().map(|t| t.rows).sum();
    let counts = Counts {
        physical_lines: reader_counts.physical_lines,
        skipped_lines: reader_counts.skipped_lines,
        blank_lines: reader_counts.blank_lines,
        read,
        inserted,
        updated,
        unchanged,
        rejected,
    };
    if counts.read != counts.inserted + counts.updated + counts.unchanged + counts.rejected {
        return Err(CampaignError::Internal(format!(
            "count invariant violated: read {} != inserted {} + updated {} + unchanged {} + rejected {}",
            counts.read, counts.inserted, counts.updated, counts.unchanged, counts.rejected
        )));
    }
    let mut warnings = Vec::new();
    if def.mode == Mode::AddOnly && counts.unchanged > 0 {
        warnings.push(format!(
            "{} rows matched existing keys and were left alone (add_only)",
            counts.unchanged
        ));
    }
    let reject_file = if rejected > 0 {
        Some(write_rejects(
            documents,
            import,
            &process_id,
            headers.as_deref(),
            &staging,
        )?)
    } else {
        None
    };
    let elapsed = clock.elapsed();
    let secs = elapsed.as_secs_f64();
    Ok(Report {
        process_id,
        definition: DefinitionRef {
            id: import.id.clone(),
            name: def.name.clone(),
            version: import.version,
        },
        dry_run,
        state: if tripped.is_some() {
            "aborted"
        } else if rejected == 0 {
            "completed"
        } else {
            "completed_with_rejects"
        }
        .to_string(),
        source: SourceReport {
            document: info.path.clone(),
            size_bytes: info.size,
            sha256: info.sha256.clone(),
            encoding: encoding.label().to_string(),
            bom,
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
            created: !import.table_exists && tripped.is_none() && !dry_run,
        },
        started_at,
        finished_at: userbridge_model::time::now(),
        duration_ms: elapsed.as_millis() as u64,
        rows_per_second: if secs > 0.0 {
            (read as f64 / secs * 10.0).round() / 10.0
        } else {
            0.0
        },
        rejects_by_reason: tallies.iter().map(|t| (t.code.clone(), t.rows)).collect(),
        truncated_cells,
        threshold: ThresholdReport {
            max_rejected_rows: def.thresholds.max_rejected_rows,
            max_rejected_percent: def.thresholds.max_rejected_percent,
            abort_if_first_rows_rejected: def.thresholds.abort_if_first_rows_rejected,
            counted_rejects: tallies.iter().map(|t| t.counted).sum(),
            tripped: tripped.is_some(),
            reason: tripped,
        },
        counts,
        reject_file,
        warnings,
    })
}

/// The document being read and how its records become rows.
struct Source<'a> {
    info: &'a DocumentInfo,
    converter: Converter<'a>,
    /// `abort_if_first_rows_rejected` (0: not set).
    first_n: u64,
}

/// The document's records under the import's dialect.
fn open_reader(
    documents: &Documents,
    import: &ValidImport,
    info: &DocumentInfo,
    file: std::fs::File,
) -> Result<DelimitedReader> {
    DelimitedReader::with_limits(file, &import.dialect, documents.read_limits())
        .map_err(|e| read_error(info, e))
}

fn read_error(info: &DocumentInfo, source: ReadError) -> CampaignError {
    CampaignError::Read {
        document: info.path.clone(),
        source,
    }
}

impl Source<'_> {
    /// The document again from its start (a direct load that had to stop), refused if it
    /// was replaced since the first read began.
    fn reopen(&self, documents: &Documents, import: &ValidImport) -> Result<DelimitedReader> {
        let (info, file) = documents.open(&import.document)?;
        if info.sha256 != self.info.sha256 {
            return Err(CampaignError::Internal(format!(
                "the document {} was replaced while the run read it; run it again",
                self.info.path
            )));
        }
        open_reader(documents, import, self.info, file)
    }
}

/// What the reading phase counted.
struct Reading {
    read: u64,
    /// Records rejected while reading (every one counts toward the thresholds).
    rejected: u64,
    truncated_cells: u64,
    counts: ReaderCounts,
    /// The first `first_n` records in file order: staging `seq` (0 for a row loaded
    /// directly, which can never be `not_found`) and whether it was rejected.
    first_records: Vec<(i64, bool)>,
}

/// The outcome of reading and applying: what was read, what the table got, and the
/// threshold that tripped (the run then rolled back).
type Applied = (Reading, StagedOutcome, Option<String>);

/// Whether every row of the run would be an insert into an empty table: then the rows go
/// straight to the table (the store checks the emptiness again, under its write lock).
fn every_row_is_an_insert(import: &ValidImport) -> bool {
    match import.definition.mode {
        Mode::UpdateOnly => false,
        Mode::Overwrite => true,
        Mode::AddOnly | Mode::AddAndUpdate => !import.table_exists || import.table.rows == 0,
    }
}

/// What both paths of a run share.
struct Attempt<'a> {
    store: &'a dyn Store,
    import: &'a ValidImport,
    dry_run: bool,
    source: Source<'a>,
    control: &'a RunControl,
}

impl Attempt<'_> {
    /// The fast path (RUN-2 for an empty table): rows go to the store's load table while the
    /// file is read, without staging, and replace the table's rows in one transaction at the
    /// end; rejects are still staged, for the reject file. `None` when it cannot be used — the
    /// table has rows, some key may repeat in the file (only staging applies a duplicate
    /// policy), another process loads the table — and nothing was written.
    fn load_directly(
        &self,
        reader: DelimitedReader,
        staging: &mut CampaignStaging,
    ) -> Result<Option<Applied>> {
        let mut reader = Some(reader);
        let mut reading: Option<Reading> = None;
        let mut failure: Option<CampaignError> = None;
        let mut tripped: Option<String> = None;
        // Decided once the reading ends (thresholds need nothing the table knows), asked by
        // the store after the key index is built.
        let commit = std::cell::Cell::new(false);
        let loaded = self.store.load_campaign_table(
            &self.import.table.name,
            (!self.import.table_exists).then_some(&self.import.table),
            self.import.definition.mode == Mode::Overwrite,
            Some(self.control.cancel_flag()),
            &mut |table| {
                let Some(reader) = reader.take() else {
                    return Ok(());
                };
                match read_records(reader, &self.source, staging, Some(table), self.control) {
                    Ok(Some(done)) => {
                        self.control.set_phase(Phase::Applying);
                        tripped = threshold_tripped(
                            self.import,
                            done.read,
                            done.rejected,
                            &done.first_records,
                            &StagedOutcome::default(),
                        );
                        commit.set(tripped.is_none() && !self.dry_run);
                        reading = Some(done);
                        Ok(())
                    }
                    Ok(None) => Ok(()), // the store saw a key that may repeat
                    Err(e) => {
                        failure = Some(e);
                        Err(userbridge_store::StoreError::Aborted(
                            "the reading phase failed".into(),
                        ))
                    }
                }
            },
            &mut |_| commit.get(),
        );
        match loaded {
            Err(e) => Err(failure.unwrap_or_else(|| store_error(e))),
            Ok(DirectLoad::Loaded(outcome)) => match reading {
                Some(reading) => Ok(Some((reading, outcome, tripped))),
                None => Err(CampaignError::Internal(
                    "the store loaded a table that was never read".into(),
                )),
            },
            Ok(DirectLoad::NotEmpty | DirectLoad::KeysMayRepeat | DirectLoad::Busy) => Ok(None),
        }
    }

    /// The general path (RUN-2): every record to staging, duplicates resolved there, then one
    /// set-based apply in a store transaction.
    fn apply_staged(
        &self,
        reader: DelimitedReader,
        staging: &mut CampaignStaging,
    ) -> Result<Applied> {
        let def = &self.import.definition;
        let reading =
            read_records(reader, &self.source, staging, None, self.control)?.ok_or_else(|| {
                CampaignError::Internal("staging refused a record it never checks keys of".into())
            })?;
        self.control.set_phase(Phase::Applying);
        staging.finish_reading()?;
        staging.resolve_duplicates(&mut |members, marks| {
            duplicate_marks(def.duplicates, members, marks)
        })?;
        let counted_before: u64 = staging.reject_tallies().iter().map(|t| t.counted).sum();

        // Thresholds are judged on the outcome, before the commit.
        let mut tripped: Option<String> = None;
        let outcome = self
            .store
            .apply_campaign_staging(
                &self.import.table.name,
                (!self.import.table_exists).then_some(&self.import.table),
                def.mode.apply_mode(),
                def.blank_overwrites,
                staging,
                Some(self.control.cancel_flag()),
                &mut |outcome| {
                    tripped = threshold_tripped(
                        self.import,
                        reading.read,
                        counted_before,
                        &reading.first_records,
                        outcome,
                    );
                    tripped.is_none() && !self.dry_run
                },
            )
            .map_err(store_error)?;
        Ok((reading, outcome, tripped))
    }
}

/// A store error as the run reports it: an interrupted statement is the user's cancel.
fn store_error(e: userbridge_store::StoreError) -> CampaignError {
    match e {
        userbridge_store::StoreError::Aborted(m) if m == userbridge_store::CANCELLED => {
            CampaignError::Cancelled
        }
        other => other.into(),
    }
}

/// The reading phase: a producer thread decodes, parses, converts and keys records; this
/// thread hands rows to `table` (a direct load) or to staging, and rejects to staging.
/// `None` when `table` refused a row because its key may repeat.
fn read_records(
    reader: DelimitedReader,
    source: &Source<'_>,
    staging: &mut CampaignStaging,
    mut table: Option<&mut dyn CampaignRowSink>,
    control: &RunControl,
) -> Result<Option<Reading>> {
    let size = source.info.size;
    let converter = Converter {
        keep_row_fields: table.is_none(),
        ..source.converter
    };
    std::thread::scope(|scope| -> Result<Option<Reading>> {
        let (sender, chunks) = mpsc::sync_channel::<Message>(CHANNEL_CHUNKS);
        // Chunks go back to the reading thread once handled: it frees their records and
        // refills them, so this thread, the busier one, never pays for those frees.
        let (recycle, recycled) = mpsc::sync_channel::<Vec<Item>>(CHANNEL_CHUNKS);
        let cancelled = control.cancel_flag();
        scope.spawn(move || converter.read_all(reader, sender, &recycled, &cancelled));
        let mut read = 0u64;
        let mut rejected = 0u64;
        let mut truncated_cells = 0u64;
        let mut first_records = Vec::new();
        for message in chunks {
            match message {
                Message::Chunk { items, bytes } => {
                    for item in &items {
                        read += 1;
                        let first = match item {
                            Item::Row {
                                line,
                                key,
                                fields,
                                values,
                                truncated,
                            } => {
                                truncated_cells += truncated;
                                let seq = match table.as_deref_mut() {
                                    Some(table) => {
                                        if !table
                                            .insert(key.as_deref(), values)
                                            .map_err(store_error)?
                                        {
                                            return Ok(None);
                                        }
                                        0
                                    }
                                    None => {
                                        staging.add_row(*line, key.as_deref(), fields, values)?
                                    }
                                };
                                (seq, false)
                            }
                            Item::Rejected {
                                line,
                                fields,
                                column,
                                code,
                                message,
                            } => {
                                rejected += 1;
                                let seq =
                                    staging.add_reject(*line, fields, column, code, message)?;
                                (seq, true)
                            }
                        };
                        if read <= source.first_n {
                            first_records.push(first);
                        }
                    }
                    let _ = recycle.try_send(items);
                    control.reading(read, rejected, bytes, size);
                    if control.is_cancelled() {
                        return Err(CampaignError::Cancelled);
                    }
                }
                Message::Done(counts) => {
                    return Ok(Some(Reading {
                        read,
                        rejected,
                        truncated_cells,
                        counts,
                        first_records,
                    }));
                }
                Message::Failed(e) => return Err(read_error(source.info, e)),
            }
        }
        // The reader stopped without a last word: it saw the cancel flag.
        Err(CampaignError::Cancelled)
    })
}

/// For each mapping, the index of its source field.
fn resolve_sources(import: &ValidImport, headers: Option<&[String]>) -> Result<Vec<usize>> {
    let mut sources = Vec::with_capacity(import.definition.mapping.len());
    for (i, m) in import.definition.mapping.iter().enumerate() {
        let index = match (&m.source, headers) {
            (SourceColumn::Position(p), _) => p.saturating_sub(1),
            (SourceColumn::Name(n), Some(h)) => {
                // Exact names first, then ignoring case and surrounding spaces.
                let mut found: Vec<usize> = (0..h.len()).filter(|&c| h[c] == *n).collect();
                if found.is_empty() {
                    found = (0..h.len())
                        .filter(|&c| h[c].trim().eq_ignore_ascii_case(n.trim()))
                        .collect();
                }
                match found.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(CampaignError::InvalidImport {
                            entry: format!("mapping[{i}] ({n:?})"),
                            reason: format!(
                                "the document's header has no column {n:?} (it has {h:?})"
                            ),
                        });
                    }
                    several => {
                        // Picking one would silently drop the other's values.
                        let positions: Vec<String> =
                            several.iter().map(|c| format!("#{}", c + 1)).collect();
                        return Err(CampaignError::InvalidImport {
                            entry: format!("mapping[{i}] ({n:?})"),
                            reason: format!(
                                "the document's header names {} columns {n:?}; map them by \
                                 position ({})",
                                several.len(),
                                positions.join(", ")
                            ),
                        });
                    }
                }
            }
            (SourceColumn::Name(n), None) => {
                return Err(CampaignError::InvalidImport {
                    entry: format!("mapping[{i}] ({n:?})"),
                    reason: "the document is empty or has no header row".to_string(),
                });
            }
        };
        sources.push(index);
    }
    Ok(sources)
}

/// Turns parsed records into staged items (the reading thread's work).
#[derive(Clone, Copy)]
struct Converter<'a> {
    import: &'a ValidImport,
    sources: &'a [usize],
    /// Fields every record must have: the header's count, else the first record's.
    expected_fields: Option<usize>,
    /// Rows keep their fields as parsed (staging may reject them later, a duplicate); a
    /// direct load never rejects a row it took, so only rejects carry theirs.
    keep_row_fields: bool,
}

impl Converter<'_> {
    fn read_all(
        mut self,
        mut reader: DelimitedReader,
        sender: mpsc::SyncSender<Message>,
        recycled: &mpsc::Receiver<Vec<Item>>,
        cancelled: &std::sync::atomic::AtomicBool,
    ) {
        // A handled chunk, emptied here (its records freed on this thread), or a new one.
        let next_chunk = || match recycled.try_recv() {
            Ok(mut chunk) => {
                chunk.clear();
                chunk
            }
            Err(_) => Vec::with_capacity(CHUNK),
        };
        let mut items = next_chunk();
        loop {
            let item = match reader.next_record() {
                None => break,
                Some(Err(e)) => {
                    let _ = sender.send(Message::Failed(e));
                    return;
                }
                Some(Ok(Err(bad))) => Item::Rejected {
                    line: bad.line(),
                    fields: encoded([bad.raw()]),
                    column: String::new(),
                    code: bad.code().to_string(),
                    message: bad.to_string(),
                },
                Some(Ok(Ok(record))) => self.convert(record),
            };
            items.push(item);
            if items.len() == CHUNK {
                let bytes = reader.counts().bytes;
                let full = std::mem::replace(&mut items, next_chunk());
                if cancelled.load(std::sync::atomic::Ordering::Relaxed)
                    || sender.send(Message::Chunk { items: full, bytes }).is_err()
                {
                    return; // cancelled, or the staging side stopped
                }
            }
        }
        let bytes = reader.counts().bytes;
        if !items.is_empty() && sender.send(Message::Chunk { items, bytes }).is_err() {
            return;
        }
        let _ = sender.send(Message::Done(reader.counts()));
    }

    /// Converts one record: every problem of the row is reported, not only the first.
    fn convert(&mut self, record: RecordView<'_>) -> Item {
        let def = &self.import.definition;
        let line = record.line;
        let expected = *self.expected_fields.get_or_insert(record.len());
        if record.len() != expected {
            return Item::Rejected {
                line,
                message: format!("{} fields, expected {expected}", record.len()),
                fields: encoded(record.fields()),
                column: String::new(),
                code: "column_count_mismatch".into(),
            };
        }
        let mut converted: Vec<Option<Cell>> = vec![None; def.mapping.len()];
        let mut problems: Vec<(&str, String, String)> = Vec::new();
        let mut truncated = 0;
        for (i, m) in def.mapping.iter().enumerate() {
            let raw = record.field(self.sources[i]).unwrap_or_default();
            match m.column.convert(raw, &def.clear_token) {
                Ok((cell, cut)) => {
                    truncated += u64::from(cut);
                    converted[i] = Some(cell);
                }
                Err(r) => problems.push((&m.column.name, r.reason.as_str().to_string(), r.message)),
            }
        }
        let mut key = None;
        if !self.import.key_mapping.is_empty() {
            let mut text = String::new();
            for (n, &m) in self.import.key_mapping.iter().enumerate() {
                let spec = &def.mapping[m].column;
                // A key column that failed conversion is already reported.
                let Some(cell) = converted[m].as_ref() else {
                    continue;
                };
                match key_part_of_cell(cell, &spec.name, spec.column_type == ColumnType::Email) {
                    Ok(part) => {
                        if n > 0 {
                            text.push(KEY_SEPARATOR);
                        }
                        text.push_str(&part);
                    }
                    Err(r) => problems.push((&spec.name, r.reason.as_str().to_string(), r.message)),
                }
            }
            key = Some(text);
        }
        if let Some((column, _, _)) = problems.first() {
            return Item::Rejected {
                line,
                column: (*column).to_string(),
                code: join(problems.iter().map(|p| p.1.as_str()), ";"),
                message: join(problems.iter().map(|p| p.2.as_str()), "; "),
                fields: encoded(record.fields()),
            };
        }
        let values = self
            .import
            .column_mapping
            .iter()
            .map(|m| m.and_then(|m| converted[m].take()).and_then(stored))
            .collect();
        let mut fields = Vec::new();
        if self.keep_row_fields {
            fields.reserve(record.raw().len() + 4 * record.len());
            encode_fields(record.fields(), &mut fields);
        }
        Item::Row {
            line,
            key,
            fields,
            values,
            truncated,
        }
    }
}

/// Fields in the form staging keeps them.
fn encoded<'a>(fields: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut blob = Vec::new();
    encode_fields(fields, &mut blob);
    blob
}

fn join<'a>(parts: impl Iterator<Item = &'a str>, separator: &str) -> String {
    parts.collect::<Vec<_>>().join(separator)
}

/// The duplicate policy (IMP-31) for one group of records sharing a key, in file order.
fn duplicate_marks(policy: Duplicates, members: &[StagedRecordRef], marks: &mut Vec<Mark>) {
    let (Some(first), Some(last)) = (members.first(), members.last()) else {
        return;
    };
    let mark = |m: &StagedRecordRef, code: &str, message: String| Mark {
        seq: m.seq,
        code: code.to_string(),
        message,
        // Duplicate-policy rejects do not count toward thresholds (IMP-36).
        counted: false,
    };
    match policy {
        Duplicates::First => marks.extend(members[1..].iter().map(|m| {
            mark(
                m,
                "duplicate_in_file",
                format!("duplicate key; line {} is kept", first.line),
            )
        })),
        Duplicates::Last => marks.extend(members[..members.len() - 1].iter().map(|m| {
            mark(
                m,
                "superseded_in_file",
                format!("superseded by line {} with the same key (kept)", last.line),
            )
        })),
        Duplicates::Reject => marks.extend(members.iter().map(|m| {
            let others: Vec<String> = members
                .iter()
                .filter(|o| o.seq != m.seq)
                .take(LINES_NAMED)
                .map(|o| o.line.to_string())
                .collect();
            let more = if members.len() - 1 > LINES_NAMED {
                ", …"
            } else {
                ""
            };
            mark(
                m,
                "duplicate_in_file",
                format!(
                    "duplicate key (also on line {}{more}); no occurrence is applied",
                    others.join(", ")
                ),
            )
        })),
    }
}

/// The thresholds of IMP-36, judged on the whole run; the reason when one trips.
fn threshold_tripped(
    import: &ValidImport,
    read: u64,
    counted_before: u64,
    first_records: &[(i64, bool)],
    outcome: &StagedOutcome,
) -> Option<String> {
    let thresholds = &import.definition.thresholds;
    let counted = counted_before + outcome.not_found.len() as u64;
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
        && first_records.len() as u64 >= n
        && first_records
            .iter()
            .all(|(seq, rejected)| *rejected || outcome.not_found.binary_search(seq).is_ok())
    {
        return Some(format!("the first {n} data rows were all rejected"));
    }
    None
}

/// Writes the reject file next to the source (§8.2): the source's columns as parsed, then
/// `_line, _column, _reason_code, _reason`, with the source's delimiter and qualifier; UTF-8
/// without BOM. Streamed from staging. Every cell below the header gets the `smart` formula
/// protection, like every CSV the product writes (issue 6): the file is meant to be opened
/// and fixed in a spreadsheet; `strip_leading_apostrophe` undoes it on re-import.
fn write_rejects(
    documents: &Documents,
    import: &ValidImport,
    process_id: &str,
    headers: Option<&[String]>,
    staging: &CampaignStaging,
) -> Result<String> {
    let io = |e: csv::Error| CampaignError::Io {
        context: "cannot write the reject file".to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut file = tempfile::tempfile_in(documents.scratch_dir())
        .map_err(CampaignError::io("cannot create the reject file"))?;
    {
        let dialect = &import.dialect;
        let mut writer = csv::WriterBuilder::new()
            .delimiter(dialect.delimiter as u8)
            .quote(dialect.qualifier.map_or(b'"', |q| q as u8))
            .flexible(true)
            .from_writer(std::io::BufWriter::new(&mut file));
        let source_columns: Vec<String> = match headers {
            Some(h) => h.to_vec(),
            None => {
                let width = import
                    .definition
                    .mapping
                    .iter()
                    .filter_map(|m| match m.source {
                        SourceColumn::Position(p) => Some(p),
                        SourceColumn::Name(_) => None,
                    })
                    .max()
                    .unwrap_or(1);
                (1..=width).map(|i| format!("Column {i}")).collect()
            }
        };
        let width = source_columns.len();
        let mut header = source_columns;
        header.extend(["_line", "_column", "_reason_code", "_reason"].map(String::from));
        // The header stays as the source wrote it (as an export's column names do): a
        // re-import matches it by name.
        writer.write_record(&header).map_err(io)?;
        let mut record: Vec<String> = Vec::with_capacity(width + 4);
        staging.rejects(&mut |reject| {
            record.clear();
            record.extend(
                reject
                    .fields
                    .into_iter()
                    .map(|f| formula_guarded(&f).into_owned()),
            );
            // Short rows are padded so the marker columns stay aligned; long rows keep
            // their extra fields before them.
            while record.len() < width {
                record.push(String::new());
            }
            record.push(reject.line.to_string());
            record.push(formula_guarded(&reject.column).into_owned());
            record.push(reject.code);
            record.push(formula_guarded(&reject.message).into_owned());
            writer
                .write_record(&record)
                .map_err(|e| userbridge_store::StoreError::Aborted(e.to_string()))
        })?;
        writer
            .flush()
            .map_err(CampaignError::io("cannot write the reject file"))?;
    }
    file.rewind()
        .map_err(CampaignError::io("cannot read back the reject file"))?;
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
        &mut file,
        &directory,
        &name,
        OnConflict::Replace,
        REJECTS_UPLOADED_BY,
    )?;
    Ok(stored.path)
}
