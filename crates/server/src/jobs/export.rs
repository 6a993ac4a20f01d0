//! Export jobs: the API body ↔ [`ExportRequest`] mapping, and running one job.
//!
//! The stored job spec is the normalised API body, so a job resumed after a restart is
//! rebuilt by the same parser that accepted it.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use userbridge_export::{
    ConnectionSelector, ExportError, ExportOptions, ExportRequest, ExportSpec, FieldRequest,
    Progress,
};
use userbridge_model::{ExportFormat, Job, ids};

use crate::error::ApiError;
use crate::state::{AppState, LiveProgress};

const BODY_KEYS: &[&str] = &["connection_id", "format", "limit", "fields", "options"];
const OPTION_KEYS: &[&str] = &[
    "formula_escape",
    "date_format",
    "delimiter",
    "bom",
    "crlf",
    "flatten_newlines",
];

fn invalid(property: &str, problem: &str) -> ApiError {
    ApiError::invalid_body(property, problem)
}

fn string_field(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, ApiError> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(path, "Expected type string")),
    }
}

fn bool_field(map: &Map<String, Value>, key: &str) -> Result<bool, ApiError> {
    match map.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(&format!("options.{key}"), "Expected type boolean")),
    }
}

/// Parses a `POST /api/v2/jobs/users-exports` body (`management-api.md` §7.1).
/// Returns the request and the API format name to echo.
pub fn parse_body(body: &Value, tenant: &str) -> Result<(ExportRequest, String), ApiError> {
    let Value::Object(map) = body else {
        return Err(invalid("", "Expected type object"));
    };
    if let Some(unknown) = map.keys().find(|k| !BODY_KEYS.contains(&k.as_str())) {
        return Err(invalid(unknown, "Additional properties not allowed"));
    }
    let format_name = string_field(map, "format", "format")?.unwrap_or_else(|| "json".into());
    let format = ExportFormat::from_api(&format_name)
        .map_err(|_| invalid("format", "Must be one of json, csv, tsv, json_array"))?;
    let mut request = ExportRequest::new(format);
    request.gzip = Some(format!("{tenant}.{}", format.api_extension()));
    if let Some(id) = string_field(map, "connection_id", "connection_id")? {
        if !ids::is_connection_id(&id) {
            return Err(invalid(
                "connection_id",
                "String does not match pattern ^con_[A-Za-z0-9]{16}$",
            ));
        }
        request.connection = Some(ConnectionSelector::Id(id));
    }
    match map.get("limit") {
        None => {}
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => request.limit = Some(n),
            _ => {
                return Err(invalid(
                    "limit",
                    "Must be an integer greater than or equal to 1",
                ));
            }
        },
    }
    match map.get("fields") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("fields[{i}]");
                let Value::Object(field) = item else {
                    return Err(invalid(&path, "Expected type object"));
                };
                if let Some(k) = field.keys().find(|k| *k != "name" && *k != "export_as") {
                    return Err(invalid(
                        &format!("{path}.{k}"),
                        "Additional properties not allowed",
                    ));
                }
                let name =
                    string_field(field, "name", &format!("{path}.name"))?.ok_or_else(|| {
                        invalid(&format!("{path}.name"), "Missing required property: name")
                    })?;
                let export_as = string_field(field, "export_as", &format!("{path}.export_as"))?;
                request.fields.push(FieldRequest { name, export_as });
            }
        }
        Some(_) => return Err(invalid("fields", "Expected type array")),
    }
    match map.get("options") {
        None => {}
        Some(Value::Object(options)) => {
            if let Some(k) = options.keys().find(|k| !OPTION_KEYS.contains(&k.as_str())) {
                return Err(invalid(
                    &format!("options.{k}"),
                    "Additional properties not allowed",
                ));
            }
            request.options = ExportOptions {
                delimiter: string_field(options, "delimiter", "options.delimiter")?,
                bom: bool_field(options, "bom")?,
                crlf: bool_field(options, "crlf")?,
                flatten_newlines: bool_field(options, "flatten_newlines")?,
                formula_escape: string_field(options, "formula_escape", "options.formula_escape")?,
                date_format: string_field(options, "date_format", "options.date_format")?,
            };
        }
        Some(_) => return Err(invalid("options", "Expected type object")),
    }
    Ok((request, format_name))
}

/// Maps a validation failure of the engine to the API's 400/404.
pub fn api_error(err: ExportError) -> ApiError {
    match err {
        ExportError::Invalid { field, message } => {
            let property = match field.as_str() {
                "delimiter" | "formula_escape" | "date_format" => format!("options.{field}"),
                _ => field,
            };
            invalid(&property, &message)
        }
        ExportError::UnknownConnection(_) => ApiError::connection_not_found(),
        other => ApiError::from(other),
    }
}

/// The job's stored spec: the normalised body, with the applied field list.
pub fn spec_json(body: &Value, format_name: &str, spec: &ExportSpec) -> Value {
    let mut echo = Map::new();
    echo.insert("format".into(), Value::String(format_name.into()));
    if let Some(limit) = spec.limit {
        echo.insert("limit".into(), json!(limit));
    }
    let fields: Vec<Value> = match &spec.columns {
        Some(columns) => columns
            .iter()
            .map(|c| {
                if c.header == c.path.as_str() {
                    json!({ "name": c.path.as_str() })
                } else {
                    json!({ "name": c.path.as_str(), "export_as": c.header })
                }
            })
            .collect(),
        None => Vec::new(),
    };
    echo.insert("fields".into(), Value::Array(fields));
    if let Some(options) = body.get("options") {
        echo.insert("options".into(), options.clone());
    }
    if let Some(id) = &spec.connection_id {
        echo.insert("connection_id".into(), Value::String(id.clone()));
    }
    Value::Object(echo)
}

/// Where a job's files live.
pub fn job_dir(state: &AppState, job_id: &str) -> PathBuf {
    state.config.jobs_dir().join(job_id)
}

/// The download file name of an export job (`<tenant>.csv.gz` / `<tenant>.json.gz`).
pub fn file_name(state: &AppState, spec: &Value) -> String {
    let format = spec.get("format").and_then(Value::as_str).unwrap_or("json");
    let extension = ExportFormat::from_api(format).map_or("json", ExportFormat::api_extension);
    format!("{}.{extension}.gz", state.config.tenant)
}

/// Runs an export job to completion on the current (blocking) thread.
/// Returns the number of records written.
pub fn run(state: &AppState, job: &Job) -> Result<u64, String> {
    let (request, _) = parse_body(&job.spec, &state.config.tenant).map_err(|e| e.message)?;
    let spec = ExportSpec::validate(&request, state.store.as_ref()).map_err(|e| e.to_string())?;
    let dir = job_dir(state, &job.id);
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let final_path = dir.join(file_name(state, &job.spec));
    // Written beside its final name and renamed when complete: a crash never leaves a
    // truncated file behind a download link.
    let partial = dir.join("export.partial");
    let file =
        fs::File::create(&partial).map_err(|e| format!("cannot create the export file: {e}"))?;

    let started = Instant::now();
    let mut last_saved = Instant::now();
    let mut on_progress = |p: Progress| {
        state.set_live_progress(
            &job.id,
            Some(LiveProgress {
                started,
                done: p.done,
                total: p.total,
            }),
        );
        if last_saved.elapsed() >= Duration::from_millis(500) {
            last_saved = Instant::now();
            let _ = state.store.set_job_progress(&job.id, p.done, p.total);
        }
        true
    };
    let summary = userbridge_export::run(state.store.as_ref(), &spec, &file, &mut on_progress)
        .map_err(|e| e.to_string())?;
    let mut file = file;
    file.flush()
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot save the export: {e}"))?;
    fs::rename(&partial, &final_path).map_err(|e| format!("cannot save the export: {e}"))?;
    Ok(summary.records)
}
