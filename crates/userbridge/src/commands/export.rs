//! `userbridge export`: flags → [`ExportRequest`] → [`ExportSpec`] → the export engine.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::json;
use userbridge_export::{
    ConnectionSelector, ExportOptions, ExportRequest, ExportSpec, FieldRequest,
};
use userbridge_model::ExportFormat;
use userbridge_store::{AuditEvent, SqliteStore, Store};

use crate::cli::ExportArgs;
use crate::progress;

/// `PATH=COLUMN` or `PATH`. The path may itself hold `=` only inside a quoted key, so the
/// split is at the first `=` outside `["…"]`.
fn field(text: &str) -> FieldRequest {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '=' if !in_quotes => {
                return FieldRequest {
                    name: text[..i].to_string(),
                    export_as: Some(text[i + 1..].to_string()),
                };
            }
            _ => {}
        }
    }
    FieldRequest {
        name: text.to_string(),
        export_as: None,
    }
}

pub fn request(args: &ExportArgs) -> anyhow::Result<ExportRequest> {
    let format = ExportFormat::from_cli(&args.format).context("--format")?;
    let mut request = ExportRequest::new(format);
    request.fields = args.fields.iter().map(|f| field(f)).collect();
    request.default_fields = args.default_fields;
    request.connection = args.connection.clone().map(ConnectionSelector::Name);
    request.limit = args.limit;
    request.options = ExportOptions {
        delimiter: args.delimiter.clone(),
        bom: args.bom,
        crlf: args.crlf,
        flatten_newlines: args.flatten_newlines,
        formula_escape: args.formula_escape.clone(),
        date_format: args.date_format.clone(),
    };
    if args.gzip {
        let inner = match args.output.as_str() {
            "-" => "users".to_string(),
            path => PathBuf::from(path)
                .file_name()
                .map(|n| n.to_string_lossy().trim_end_matches(".gz").to_string())
                .unwrap_or_else(|| "users".into()),
        };
        request.gzip = Some(inner);
    }
    request.include_secrets = args.include_secrets;
    Ok(request)
}

/// Creates the output file; with secrets, readable by its owner only (mode 0600 when it is
/// created, and a regular file that existed is narrowed to it).
fn create_output(path: &Path, secrets: bool) -> anyhow::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secrets {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        if file.metadata().is_ok_and(|m| m.is_file()) {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot make {} private", path.display()))?;
        }
        return Ok(file);
    }
    options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

const TERMINAL_REFUSED: &str = "--include-secrets writes password hashes: refusing to write them to a terminal (use -o FILE, or a pipe)";

pub fn run(store: &SqliteStore, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let request = request(&args)?;
    let spec = ExportSpec::validate(&request, store)?;
    if args.include_secrets && args.output == "-" && io::stdout().is_terminal() {
        bail!(TERMINAL_REFUSED);
    }
    let bar = progress::bar("exporting");
    let mut on_progress = |p: userbridge_export::Progress| {
        if let Some(bar) = &bar {
            bar.set_length(p.total);
            bar.set_position(p.done);
        }
        true
    };
    let summary = if args.output == "-" {
        let stdout = io::stdout();
        userbridge_export::run(store, &spec, stdout, &mut on_progress)?
    } else {
        let path = PathBuf::from(&args.output);
        let file = create_output(&path, args.include_secrets)?;
        if args.include_secrets && file.is_terminal() {
            bail!("{} is a terminal: {TERMINAL_REFUSED}", path.display());
        }
        match userbridge_export::run(store, &spec, &file, &mut on_progress) {
            Ok(summary) => {
                (&file)
                    .flush()
                    .with_context(|| format!("cannot write {}", path.display()))?;
                summary
            }
            Err(e) => {
                // Never leave a partial file that looks like a finished export.
                let _ = std::fs::remove_file(&path);
                return Err(e).with_context(|| format!("export to {} failed", path.display()));
            }
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
        eprintln!("exported {} users", summary.records);
    }
    let detail = json!({
        "format": args.format,
        "records": summary.records,
        "connection": spec.connection_name,
        "include_secrets": args.include_secrets,
    });
    store.record_audit(&AuditEvent::new(
        super::CLI_ACTOR,
        "users_export.run",
        &args.output,
        detail,
    ))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_flags_split_at_the_first_unquoted_equals() {
        assert_eq!(
            field("email=Email Address"),
            FieldRequest {
                name: "email".into(),
                export_as: Some("Email Address".into())
            }
        );
        assert_eq!(
            field("email"),
            FieldRequest {
                name: "email".into(),
                export_as: None
            }
        );
        assert_eq!(
            field(r#"user_metadata["a=b"]=AB"#),
            FieldRequest {
                name: r#"user_metadata["a=b"]"#.into(),
                export_as: Some("AB".into())
            }
        );
        assert_eq!(
            field("created_at=Created=At"),
            FieldRequest {
                name: "created_at".into(),
                export_as: Some("Created=At".into())
            }
        );
    }
}
