//! `userbridge import`: flags → [`ImportRequest`] → [`ImportSpec`] → the import engine.
//!
//! Exit codes: 0 every user imported, 2 some users failed, 1 the import could not run.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use userbridge_import::engine::{self, BatchSink, Checkpoint, FailedRecord};
use userbridge_import::reader::InputFormat;
use userbridge_import::{ImportError, ImportRequest, ImportSpec};
use userbridge_store::{ConnectionSelector, SqliteStore, WriteTx};

use crate::cli::ImportArgs;
use crate::progress;

/// Writes failed users to the `--errors` file and drives the progress bar.
struct CliSink {
    errors: Option<BufWriter<File>>,
    bar: Option<indicatif::ProgressBar>,
}

impl BatchSink for CliSink {
    fn batch(
        &mut self,
        _tx: &mut dyn WriteTx,
        _checkpoint: &Checkpoint,
        failed: &[FailedRecord],
    ) -> userbridge_import::Result<()> {
        if let Some(out) = &mut self.errors {
            for record in failed {
                serde_json::to_writer(&mut *out, record).map_err(io::Error::from)?;
                out.write_all(b"\n")?;
            }
            // Flushed inside the batch's transaction: the file never lags what is committed.
            out.flush()?;
        }
        Ok(())
    }

    fn progress(&mut self, done: u64, total: u64) -> bool {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
        }
        true
    }
}

/// `COLUMN=PATH`, split at the last `=` (a column name may hold `=`, a path may not
/// outside quotes — and quoted keys with `=` are rare enough to ask for the other split).
fn column(text: &str) -> anyhow::Result<(String, String)> {
    userbridge_import::column_mapping(text)
        .with_context(|| format!("--field {text:?}: expected 'COLUMN=PATH'"))
}

pub fn run(store: &SqliteStore, data_dir: &Path, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let format: InputFormat = args.format.parse().context("--format")?;
    // Standard input is spooled to a file: the engine reads the input twice.
    let spooled;
    let file = if args.file == "-" {
        std::fs::create_dir_all(data_dir)?;
        spooled =
            tempfile::NamedTempFile::new_in(data_dir).context("cannot spool standard input")?;
        io::copy(&mut io::stdin().lock(), &mut spooled.as_file())
            .context("cannot read standard input")?;
        spooled.path().to_path_buf()
    } else {
        Path::new(&args.file).to_path_buf()
    };
    let mut request = ImportRequest::new(file, ConnectionSelector::Name(args.connection.clone()));
    request.upsert = args.upsert;
    request.format = format;
    request.dry_run = args.dry_run;
    request.max_decompressed_bytes = args.max_decompressed_bytes;
    request.batch_size = args.batch_size;
    request.columns = args
        .fields
        .iter()
        .map(|f| column(f))
        .collect::<anyhow::Result<_>>()?;
    let spec = ImportSpec::validate(&request, store)?;

    let errors = match &args.errors {
        Some(path) => {
            Some(BufWriter::new(File::create(path).with_context(|| {
                format!("cannot create {}", path.display())
            })?))
        }
        None => None,
    };
    let mut sink = CliSink {
        errors,
        bar: progress::bar("importing"),
    };
    let summary =
        engine::run(store, &spec, Checkpoint::default(), &mut sink).map_err(|e| match e {
            ImportError::Read(read) => {
                anyhow::anyhow!("{}: {read}; nothing was imported", args.file)
            }
            other => other.into(),
        })?;
    if let Some(bar) = sink.bar.take() {
        bar.finish_and_clear();
    }
    let verb = if args.dry_run { "would be: " } else { "" };
    println!(
        "{verb}inserted {}, updated {}, failed {}, total {}",
        summary.inserted, summary.updated, summary.failed, summary.total
    );
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
