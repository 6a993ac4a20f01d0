//! The export engine.
//!
//! Every export — `userbridge export`, `POST /api/v2/jobs/users-exports` and the web page —
//! is an [`ExportRequest`] validated into one [`ExportSpec`] and run by [`run`]:
//!
//! ```text
//!  source (this thread)            bounded channel              sink (writer thread)
//!  store scan ─► batch of users ══ CHANNEL_BATCHES batches ══► field mapping ─► RecordWriter ─► gzip? ─► output
//!        ▲                                                            │
//!        └──────────────────── emptied batches come back ─────────────┘
//! ```
//!
//! Reading SQLite and rendering cells run on two cores. Batches are recycled, and each
//! user in them is overwritten in place ([`User::copy_from`]), so the steady state
//! allocates nothing; at most `CHANNEL_BATCHES + 2` batches of [`BATCH_SIZE`] users exist,
//! so memory stays flat whatever the size of the directory.

mod spec;

use std::io::{self, Write};
use std::sync::mpsc;

use userbridge_formats::{FormatError, RecordWriter, gzip_writer};
use userbridge_model::User;
use userbridge_store::{Store, StoreError};

pub use spec::{Column, DEFAULT_FIELDS, ExportOptions, ExportRequest, ExportSpec, FieldRequest};
pub use userbridge_store::ConnectionSelector;

/// Users per batch sent from the store scan to the writer.
pub const BATCH_SIZE: usize = 256;
/// Batches in flight before the scan waits for the writer.
pub const CHANNEL_BATCHES: usize = 4;

/// Errors of an export: a request that does not validate, or a run that fails.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The request is invalid; `field` names the offending entry (`format`, `fields[2].name`…).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("the connection does not exist: {0}")]
    UnknownConnection(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Write(#[from] FormatError),
    #[error("writing the export failed: {0}")]
    Io(#[from] io::Error),
    #[error("the export was cancelled")]
    Cancelled,
}

impl ExportError {
    /// True when the reader of the output went away (`userbridge export | head`).
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            ExportError::Io(e) => e.kind() == io::ErrorKind::BrokenPipe,
            ExportError::Write(e) => e.io_error_kind() == Some(io::ErrorKind::BrokenPipe),
            _ => false,
        }
    }
}

pub type Result<T, E = ExportError> = std::result::Result<T, E>;

/// Progress of a running export: users written so far and in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// What a finished export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    pub records: u64,
}

/// Runs an export to `out`. `progress` is called after every batch; returning `false`
/// from it cancels the export.
pub fn run<W: Write + Send>(
    store: &dyn Store,
    spec: &ExportSpec,
    out: W,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<ExportSummary> {
    let scan = spec.scan();
    let total = store.count_scan(&scan)?;
    if !progress(Progress { done: 0, total }) {
        return Err(ExportError::Cancelled);
    }
    let (full, filled) = mpsc::sync_channel::<Vec<User>>(CHANNEL_BATCHES);
    let (emptied, empty) = mpsc::channel::<Vec<User>>();
    std::thread::scope(|scope| {
        let sink = scope.spawn(move || sink(spec, out, filled, emptied));

        let mut batch: Vec<User> = Vec::with_capacity(BATCH_SIZE);
        let mut done = 0u64;
        let mut cancelled = false;
        let send = |batch: &mut Vec<User>, len: usize| -> bool {
            batch.truncate(len);
            let next = empty
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(BATCH_SIZE));
            // A closed channel means the sink stopped; its error is reported below.
            full.send(std::mem::replace(batch, next)).is_ok()
        };
        let mut len = 0;
        let scanned = store.scan_users(&scan, &mut |user| {
            match batch.get_mut(len) {
                Some(slot) => slot.copy_from(user),
                None => batch.push(user.clone()),
            }
            len += 1;
            if len == BATCH_SIZE {
                if !send(&mut batch, len) {
                    return Err(StoreError::Aborted("export output closed".into()));
                }
                done += len as u64;
                len = 0;
                if !progress(Progress {
                    done,
                    total: total.max(done),
                }) {
                    cancelled = true;
                    return Err(StoreError::Aborted("export cancelled".into()));
                }
            }
            Ok(())
        });
        if scanned.is_ok() && len > 0 {
            send(&mut batch, len);
        }
        drop(full);
        let written = sink.join().unwrap_or_else(|_| {
            Err(ExportError::Io(io::Error::other(
                "the export writer panicked",
            )))
        });
        // A failed sink (a closed pipe, a full disk) is the cause; the aborted scan is
        // only its symptom.
        let summary = written?;
        if cancelled {
            return Err(ExportError::Cancelled);
        }
        match scanned {
            Ok(()) | Err(StoreError::Aborted(_)) => {}
            Err(e) => return Err(e.into()),
        }
        progress(Progress {
            done: summary.records,
            total: summary.records,
        });
        Ok(summary)
    })
}

/// The sink: maps each user of each batch to cells and writes them; hands batches back.
fn sink<W: Write>(
    spec: &ExportSpec,
    out: W,
    filled: mpsc::Receiver<Vec<User>>,
    emptied: mpsc::Sender<Vec<User>>,
) -> Result<ExportSummary> {
    let out = io::BufWriter::with_capacity(256 * 1024, out);
    match &spec.gzip {
        Some(name) => {
            let (gz, summary) = write_records(spec, gzip_writer(out, name), filled, emptied)?;
            gz.finish()?.flush()?;
            Ok(summary)
        }
        None => {
            let (mut out, summary) = write_records(spec, out, filled, emptied)?;
            out.flush()?;
            Ok(summary)
        }
    }
}

fn write_records<W: Write>(
    spec: &ExportSpec,
    out: W,
    filled: mpsc::Receiver<Vec<User>>,
    emptied: mpsc::Sender<Vec<User>>,
) -> Result<(W, ExportSummary)> {
    let headers = spec
        .columns
        .as_ref()
        .map(|cols| cols.iter().map(|c| c.header.clone()).collect());
    let mut writer = RecordWriter::new(out, &spec.writer, headers)?;
    for batch in filled {
        for user in &batch {
            match &spec.columns {
                Some(columns) => {
                    for column in columns {
                        writer.write_cell(&user.resolve(&column.path))?;
                    }
                    writer.end_record()?;
                }
                None => writer.write_profile(user)?,
            }
        }
        // The source may have finished already; then the batch is simply dropped.
        let _ = emptied.send(batch);
    }
    let records = writer.records();
    Ok((writer.finish()?, ExportSummary { records }))
}
