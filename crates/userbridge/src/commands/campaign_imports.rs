//! `userbridge campaign imports …` and `userbridge campaign tables …`: the Data Import engine
//! and campaign tables on the data directory's store.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use userbridge_campaign::delimited::{SniffOverrides, delimiter_from_text, sniff_with};
use userbridge_campaign::imports::{
    self, DialectSpec, ImportDefinition, Mapping, SourceColumn, TargetSpec, Thresholds, saved,
};
use userbridge_campaign::values::{ColumnSpec, ColumnType, DateFormat};
use userbridge_campaign::{DocPath, Documents};
use userbridge_server::campaign_imports::BUSY;
use userbridge_store::{ImportRunRecord, RowFilter, SqliteStore, Store};

use crate::cli::{CreateImportArgs, ImportsCommand, TablesCommand};

pub fn imports(
    store: Arc<SqliteStore>,
    docs: &Documents,
    command: ImportsCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        ImportsCommand::Create(args) => {
            let definition = match &args.from {
                Some(file) => read_definition(file)?,
                None => definition_from_args(*args)?,
            };
            let saved = saved::create(store.as_ref(), docs, &definition)?;
            println!("{}", saved.id);
        }
        ImportsCommand::Ls => {
            for record in store.import_definitions()? {
                let d: ImportDefinition = serde_json::from_str(&record.definition)
                    .with_context(|| format!("definition {} is unreadable", record.id))?;
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    record.id,
                    record.name,
                    record.version,
                    d.document,
                    d.target.table,
                    d.mode.as_str()
                );
            }
        }
        ImportsCommand::Show { id } => {
            let saved = saved::load(store.as_ref(), &id)?;
            let json = saved::saved_json(&saved.record)?;
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        ImportsCommand::Update { id, from } => {
            let definition = read_definition(&from)?;
            let saved = saved::replace(store.as_ref(), docs, &id, &definition)?;
            println!("{} version {}", saved.id, saved.version);
        }
        ImportsCommand::Rm { id } => {
            saved::delete(store.as_ref(), &id, &BUSY)?;
            println!("deleted {id}");
        }
        ImportsCommand::Duplicate { id, name } => {
            let copy = saved::duplicate(store.as_ref(), &id, name.as_deref())?;
            println!("{}", copy.id);
        }
        ImportsCommand::Export { id } => {
            let json = saved::export_json(&saved::load(store.as_ref(), &id)?)?;
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        ImportsCommand::Report { id } => {
            let run = store
                .import_run(&id)?
                .with_context(|| format!("no run or process {id}"))?;
            if run.report.is_empty() {
                let why = run.message.as_deref().unwrap_or(&run.state);
                bail!("run {id} has no report ({why})");
            }
            println!("{}", run.report.trim_end());
        }
        ImportsCommand::Preview {
            path,
            delimiter,
            qualifier,
            encoding,
            header,
            skip_rows,
        } => {
            // The same dialect object the API takes, through the same parser.
            let mut dialect = serde_json::Map::new();
            let mut chosen = |key: &str, value: Option<serde_json::Value>| {
                if let Some(v) = value {
                    dialect.insert(key.to_string(), v);
                }
            };
            chosen("delimiter", delimiter.map(Into::into));
            chosen(
                "qualifier",
                qualifier.map(|q| {
                    if q == "none" {
                        serde_json::Value::Null
                    } else {
                        q.into()
                    }
                }),
            );
            chosen("encoding", encoding.map(Into::into));
            chosen("header", header.map(|h| (h == "yes").into()));
            chosen("skip_rows", skip_rows.map(Into::into));
            let overrides = SniffOverrides::from_json(&dialect.into())
                .map_err(|e| anyhow::anyhow!("preview {path}: {e}"))?;
            let (info, file) = docs.open(&DocPath::parse(&path)?)?;
            let s = sniff_with(file, info.size, &overrides)
                .with_context(|| format!("cannot read {path}"))?;
            let json = s.to_json();
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        ImportsCommand::Run {
            id,
            document,
            dry_run,
        } => {
            let saved::Saved {
                record,
                mut definition,
            } = saved::load(store.as_ref(), &id)?;
            if let Some(document) = document {
                definition.document = document;
            }
            let mut valid = definition.validate(store.as_ref(), docs)?;
            valid.id = Some(record.id.clone());
            valid.version = Some(record.version);
            let report = run_with_progress(store.as_ref(), docs, &valid, dry_run)?;
            let json = serde_json::to_string_pretty(&report)?;
            store.save_import_run(&ImportRunRecord {
                id: report.process_id.clone(),
                definition_id: record.id,
                definition_version: record.version,
                state: report.state.clone(),
                started_at: report.started_at.clone(),
                report: json.clone(),
                dry_run,
                document: None,
                message: None,
            })?;
            println!("{json}");
            return Ok(match report.state.as_str() {
                "completed" => ExitCode::SUCCESS,
                "completed_with_rejects" => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A definition from a JSON file or stdin (`-`), bare or as `show` prints it.
fn read_definition(file: &str) -> anyhow::Result<ImportDefinition> {
    let text = if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the definition from stdin")?;
        text
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{file} is not JSON"))?;
    saved::parse_definition(value)
        .map_err(|e| anyhow::anyhow!("{file}: not an import definition: {e}"))
}

fn one_char(what: &str, text: &str) -> anyhow::Result<char> {
    delimiter_from_text(text).map_err(|_| {
        anyhow::anyhow!("{what} must be one character (or tab, comma, semicolon, pipe): {text:?}")
    })
}

/// Parses `SOURCE=TARGET:TYPE[:FORMAT]`; `#N` as SOURCE is position N. The format may itself
/// contain `:` (e.g. `%d/%m/%Y %H:%M`).
fn parse_map(text: &str) -> anyhow::Result<Mapping> {
    let (source, rest) = text
        .split_once('=')
        .with_context(|| format!("--map {text:?}: expected SOURCE=TARGET:TYPE[:FORMAT]"))?;
    let mut parts = rest.splitn(3, ':');
    let target = parts.next().unwrap_or_default();
    let kind = parts
        .next()
        .with_context(|| format!("--map {text:?}: the type is missing (TARGET:TYPE)"))?;
    let column_type: ColumnType = kind
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--map {text:?}: {e}"))?;
    let mut column = ColumnSpec::new(target, column_type);
    if let Some(format) = parts.next() {
        let format: DateFormat = format
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--map {text:?}: {e}"))?;
        column.format = Some(format);
    }
    let source = match source.strip_prefix('#').map(str::parse::<usize>) {
        Some(Ok(n)) => SourceColumn::Position(n),
        _ => SourceColumn::Name(source.to_string()),
    };
    Ok(Mapping { source, column })
}

fn definition_from_args(args: CreateImportArgs) -> anyhow::Result<ImportDefinition> {
    let mut mapping = args
        .map
        .iter()
        .map(|m| parse_map(m))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for target in &args.strip_apostrophe {
        let column = mapping
            .iter_mut()
            .find(|m| m.column.name == *target)
            .with_context(|| {
                format!("--strip-apostrophe {target:?}: no --map names that target column")
            })?;
        column.column.strip_leading_apostrophe = true;
    }
    let qualifier = match args.qualifier.to_ascii_lowercase().as_str() {
        "none" | "" => None,
        q => Some(one_char("--qualifier", q)?),
    };
    // clap requires these unless --from is given, and --from goes elsewhere.
    let required = |value: Option<String>, flag: &str| {
        value.with_context(|| format!("imports create: {flag} is required (or --from FILE)"))
    };
    Ok(ImportDefinition {
        name: required(args.name, "--name")?,
        document: required(args.document, "--document")?,
        dialect: DialectSpec {
            encoding: args.encoding,
            delimiter: one_char("--delimiter", &args.delimiter)?,
            qualifier,
            header: !args.no_header,
            skip_rows: args.skip_rows,
        },
        target: TargetSpec {
            table: required(args.table, "--table")?,
            create: args.create_table,
        },
        mapping,
        key: args.key,
        mode: args.mode.parse().map_err(anyhow::Error::msg)?,
        duplicates: args.duplicates.parse().map_err(anyhow::Error::msg)?,
        clear_token: args.clear_token,
        blank_overwrites: args.blank_overwrites,
        thresholds: Thresholds {
            max_rejected_rows: args.max_rejected_rows,
            max_rejected_percent: args.max_rejected_percent,
            abort_if_first_rows_rejected: Some(args.abort_if_first_rows_rejected)
                .filter(|&n| n > 0),
        },
        verify_headers: args.verify_headers.parse().map_err(anyhow::Error::msg)?,
        // Read from the document when the definition is saved.
        expected_headers: None,
    })
}

/// A TSV cell: tabs and line breaks become spaces.
fn tsv(value: &str) -> String {
    value.replace(['\t', '\n', '\r'], " ")
}

pub fn tables(store: Arc<SqliteStore>, command: TablesCommand) -> anyhow::Result<ExitCode> {
    match command {
        TablesCommand::Ls => {
            for t in store.campaign_tables()? {
                println!(
                    "{}\t{}\t{}\t{}",
                    t.name,
                    t.rows,
                    t.columns.len(),
                    t.key.join(",")
                );
            }
        }
        TablesCommand::Show { table } => {
            let t = store
                .campaign_table(&table)?
                .with_context(|| format!("no campaign table {table}"))?;
            let json = userbridge_campaign::tables::describe(&t);
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        TablesCommand::Rows {
            table,
            filter,
            limit,
            offset,
        } => {
            let t = store
                .campaign_table(&table)?
                .with_context(|| format!("no campaign table {table}"))?;
            let filter = filter
                .map(|f| RowFilter::parse(&f))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--where {e}"))?;
            let rows = store.campaign_rows(&t.name, filter.as_ref(), offset, limit)?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let header: Vec<String> = t.columns.iter().map(|c| tsv(&c.name)).collect();
            writeln!(out, "{}", header.join("\t"))?;
            for row in rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|v| tsv(&userbridge_campaign::tables::text(v)))
                    .collect();
                writeln!(out, "{}", cells.join("\t"))?;
            }
            out.flush()?;
        }
        TablesCommand::Export {
            table,
            format,
            output,
        } => {
            let t = store
                .campaign_table(&table)?
                .with_context(|| format!("no campaign table {table}"))?;
            let format = userbridge_campaign::tables::export_format(&format)
                .map_err(|e| anyhow::anyhow!("--{e}"))?;
            let out: Box<dyn Write> = if output == "-" {
                Box::new(std::io::BufWriter::new(std::io::stdout()))
            } else {
                Box::new(std::io::BufWriter::new(
                    std::fs::File::create(&output)
                        .with_context(|| format!("cannot create {output}"))?,
                ))
            };
            let mut out = userbridge_campaign::tables::export(store.as_ref(), &t, format, out)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs an import; on a terminal, a bar on standard error follows its progress by bytes read
/// (RUN-4), then names the applying phase.
fn run_with_progress(
    store: &dyn Store,
    docs: &Documents,
    valid: &imports::ValidImport,
    dry_run: bool,
) -> anyhow::Result<imports::Report> {
    let Some(bar) = crate::progress::bar("reading") else {
        return Ok(imports::run(store, docs, valid, dry_run)?);
    };
    let control = imports::RunControl::default();
    let report = std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            imports::run_with(store, docs, valid, dry_run, imports::new_run_id(), &control)
        });
        while !run.is_finished() {
            let p = control.progress();
            bar.set_length(p.bytes_total);
            bar.set_position(p.bytes_read);
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        run.join().unwrap_or_else(|_| {
            Err(userbridge_campaign::CampaignError::Internal(
                "the run panicked".into(),
            ))
        })
    });
    bar.finish_and_clear();
    Ok(report?)
}
