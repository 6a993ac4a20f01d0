//! The export engine.
//!
//! Every export — `userbridge export`, `POST /api/v2/jobs/users-exports` and the web page —
//! is an [`ExportRequest`] validated into one [`ExportSpec`] and run by [`run`]:
//!
//! ```text
//! store scan (source thread) ──bounded channel of user batches──► field mapping ──► RecordWriter (sink)
//! ```
//!
//! Memory stays flat: at most [`CHANNEL_BATCHES`] batches of [`BATCH_SIZE`] users are in
//! flight, whatever the size of the directory.

mod spec;

use std::io::{self, Write};
use std::sync::mpsc;

use userbridge_formats::{FormatError, RecordWriter, gzip_writer};
use userbridge_model::{FieldValue, User};
use userbridge_store::{Store, StoreError};

pub use spec::{
    Column, ConnectionSelector, DEFAULT_FIELDS, ExportOptions, ExportRequest, ExportSpec,
    FieldRequest,
};

/// Users per batch sent from the store scan to the writer.
pub const BATCH_SIZE: usize = 512;
/// Batches the channel holds before the scan waits for the writer.
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
pub fn run<W: Write>(
    store: &dyn Store,
    spec: &ExportSpec,
    out: W,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<ExportSummary> {
    let scan = spec.scan();
    let total = store.count_scan(&scan)?;
    let (sender, receiver) = mpsc::sync_channel::<Vec<User>>(CHANNEL_BATCHES);

    std::thread::scope(|scope| {
        let source = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH_SIZE);
            let result = store.scan_users(&scan, &mut |user| {
                batch.push(user);
                if batch.len() == BATCH_SIZE {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_SIZE));
                    // A closed channel means the sink stopped: end the scan quietly.
                    sender
                        .send(full)
                        .map_err(|_| StoreError::Aborted("export stopped".into()))?;
                }
                Ok(())
            });
            match result {
                Ok(()) => {
                    if !batch.is_empty() {
                        let _ = sender.send(batch);
                    }
                    Ok(())
                }
                Err(StoreError::Aborted(_)) => Ok(()),
                Err(e) => Err(e),
            }
        });

        let written = write_all(spec, out, receiver, total, progress);
        let scanned = source
            .join()
            .unwrap_or_else(|_| Err(StoreError::Aborted("the store scan panicked".into())));
        let summary = written?;
        scanned?;
        Ok(summary)
    })
}

/// The sink: maps each user to cells and writes them.
fn write_all<W: Write>(
    spec: &ExportSpec,
    out: W,
    batches: mpsc::Receiver<Vec<User>>,
    total: u64,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<ExportSummary> {
    let out = io::BufWriter::with_capacity(256 * 1024, out);
    match &spec.gzip {
        Some(name) => {
            let gz = write_records(spec, gzip_writer(out, name), batches, total, progress)?;
            let mut out = gz.0.finish()?;
            out.flush()?;
            Ok(gz.1)
        }
        None => {
            let (mut out, summary) = write_records(spec, out, batches, total, progress)?;
            out.flush()?;
            Ok(summary)
        }
    }
}

fn write_records<W: Write>(
    spec: &ExportSpec,
    out: W,
    batches: mpsc::Receiver<Vec<User>>,
    total: u64,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<(W, ExportSummary)> {
    let headers = spec
        .columns
        .as_ref()
        .map(|cols| cols.iter().map(|c| c.header.clone()).collect());
    let mut writer = RecordWriter::new(out, &spec.writer, headers)?;
    let mut done = 0u64;
    if !progress(Progress { done, total }) {
        return Err(ExportError::Cancelled);
    }
    for batch in batches {
        for user in &batch {
            match &spec.columns {
                Some(columns) => {
                    for column in columns {
                        writer.write_cell(&resolve(user, column))?;
                    }
                    writer.end_record()?;
                }
                None => writer.write_profile(user)?,
            }
        }
        done += batch.len() as u64;
        if !progress(Progress {
            done,
            total: total.max(done),
        }) {
            return Err(ExportError::Cancelled);
        }
    }
    let records = writer.records();
    Ok((writer.finish()?, ExportSummary { records }))
}

fn resolve<'u>(user: &'u User, column: &Column) -> FieldValue<'u> {
    user.resolve(&column.path)
}
